/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * labels.h: class names of a model file. `tsl.labels` in the file's
 * metadata is a JSON array of strings in class-id order; a class it does not
 * name (or a file without it) is called class_N.
 */
#pragma once

#include <glib.h>

#include "../io/safetensors.h"

G_BEGIN_DECLS

/* num_classes names (a GPtrArray of strings, freed with it); NULL with a
 * TSL_ERROR_FORMAT error naming the file when tsl.labels is not JSON. */
GPtrArray *tsl_model_labels (const TslSafetensors *st, int num_classes, GError **error);

G_END_DECLS

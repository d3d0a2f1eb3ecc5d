/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * features.h: loading a video's feature sequence from the files the tools
 * take: `FILE.npy` holding [T, C] (one vector per row, as feature
 * extractors write them), or `FILE.safetensors:NAME` naming a [C, T] or
 * [1, C, T] tensor (the layout of the reference dumps). Either way the
 * result is channels-first [C, T] float32, the layout ActionFormer reads.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Returns [C, T] (g_free it) and sets *channels = C, *length = T. Any
 * float dtype is converted; NaN or infinite values are TSL_ERROR_FORMAT
 * naming the file and the first bad position. */
float *tsl_features_load (const char *spec, int *channels, int *length, GError **error);

G_END_DECLS

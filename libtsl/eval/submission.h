/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * eval/submission.h: prediction files for the detection metric.
 *
 * Written and read: the Perception Test submission form, an object keyed
 * by video id,
 *   {"VID": {"sound_localisation": [{"label": "3", "score": 0.91,
 *                                    "timestamps": [2.0, 12.5]}, ...]}, ...}
 * with the label id as a decimal string (an integer is accepted when
 * reading) and timestamps in seconds. Videos appear in the order of their
 * first prediction, predictions in input order.
 *
 * Also read: a flat list, as the reference mAP fixtures are written,
 *   [{"video_id": "VID", "label_id": 3, "start": 2.0, "end": 12.5,
 *     "score": 0.91}, ...]
 * Other members are ignored in both forms.
 *
 * Reading keeps file order, which decides how the metric breaks score ties.
 * Errors are TSL_ERROR_IO (unreadable file) or TSL_ERROR_FORMAT naming the
 * file, the video or list position and the field, e.g. "p.json: video 'v1':
 * sound_localisation[0].label: '3a' is not an integer label id".
 */
#pragma once

#include <glib.h>

#include "map.h"

G_BEGIN_DECLS

/* A GArray of TslPrediction (see tsl_predictions_new), either form. */
GArray *tsl_submission_load (const char *path, GError **error);
/* The same on text in memory; `name` stands for the file in messages. */
GArray *tsl_submission_parse (const char *text, size_t len, const char *name, GError **error);

/* The submission form of preds[0, n), replacing `path` atomically; numbers
 * are written so that they read back exactly. TSL_ERROR_CONFIG (nothing
 * written) when a start, end or score is not finite. */
gboolean tsl_submission_write (const char *path, const TslPrediction *preds, int n,
                               GError **error);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * decode/seconds.h: from feature-grid units to video seconds, as
 * happyharrycn/actionformer_release libs/modeling/meta_archs.py
 * (LocPointTransformer.postprocessing, commit 61ea7eb) converts and clamps
 * the final segments.
 *
 * For every boundary x (start and end alike), in float32:
 *   x = (x * feat_stride + 0.5 * num_frames) / fps
 *   x <= 0         ->  x * 0        (a negative value becomes -0.0)
 *   x >= duration  ->  x * 0 + duration, with duration rounded to float32
 * feat_stride, 0.5 * num_frames (computed in double), fps and duration are
 * each rounded to float32 first, as PyTorch does with Python scalars in
 * float32 tensor arithmetic. Scores and labels are left alone.
 */
#pragma once

#include <glib.h>

#include "segment.h"

G_BEGIN_DECLS

typedef struct {
    double fps;         /* video frames per second */
    double duration_s;  /* video duration, seconds */
    double feat_stride; /* video frames between consecutive feature vectors */
    double num_frames;  /* video frames each feature vector sees */
} TslDecodeTiming;

/* Converts segs[0, n) in place from grid units to seconds. */
void tsl_decode_grid_to_seconds (TslSegment *segs /* [n] */, int n, const TslDecodeTiming *timing);

G_END_DECLS

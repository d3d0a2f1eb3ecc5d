/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/assign.h: ActionFormer's label assignment for one video: which
 * class each point of the point table (points.h) must predict and the
 * boundary distances it must regress. It reproduces label_points_single_video
 * of happyharrycn/actionformer_release (commit 61ea7eb9,
 * libs/modeling/meta_archs.py), float32 operation for operation, so its
 * targets equal the official ones bit for bit:
 *
 * For a point at t with stride s and regression range [lo, hi], and a
 * ground-truth segment [a, b] (grid units):
 *   left = t - a, right = b - t;
 *   inside:   'radius': with c = 0.5 (a + b), r = s * radius,
 *                       min(t - max(c - r, a), min(c + r, b) - t) > 0;
 *             'none':   min(left, right) > 0 (strictly inside);
 *   in range: lo <= max(left, right) <= hi (both ends inclusive).
 * Among the segments a point matches (inside and in range), let m be the
 * shortest length b - a. Every matching segment of length <= m + 1e-3
 * sets its label in the point's class row (multi-hot, 0/1; equal labels
 * count once), and the offsets are (left, right) / s of the FIRST segment
 * (lowest index) of length m. A point that matches nothing is negative:
 * its class row is 0 and its offsets are those of segment 0 (meaningless,
 * but what the official code leaves there). A video without segments gets
 * all-zero classes and offsets.
 *
 * Layout: gt_cls [FT, K] row-major, gt_offsets [FT, 2] (left, right), in
 * stride units, FT = points rows. Both are overwritten. Host memory.
 */
#pragma once

#include <glib.h>

#include "points.h"

G_BEGIN_DECLS

typedef enum {
    TSL_CENTER_SAMPLE_NONE,   /* "none": any point strictly inside a segment */
    TSL_CENTER_SAMPLE_RADIUS, /* "radius": only points near the segment centre */
} TslCenterSample;

/* The official train_cfg values that assignment uses. */
typedef struct {
    int num_classes;             /* K */
    TslCenterSample center_sample;
    double center_sample_radius; /* in strides; rounded to float32 as the official code does */
} TslTrainAssignConfig;

/* Official defaults for K classes: center_sample 'radius', radius 1.5. */
void tsl_train_assign_config_init (TslTrainAssignConfig *cfg, int num_classes);

/* Targets of one video with n_segments ground-truth segments (n_segments
 * may be 0: segments and labels may then be NULL). TSL_ERROR_FORMAT naming
 * the segment when a label is outside [0, K) (the official one-hot
 * encoding refuses it). */
gboolean tsl_train_assign (float *gt_cls /* [FT, K] */, float *gt_offsets /* [FT, 2] */,
                           const TslTrainPoints *pts, const float *segments /* [N, 2] */,
                           const int *labels /* [N] */, int n_segments,
                           const TslTrainAssignConfig *cfg, GError **error);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/assign.c: label assignment for one video; the rule, the reference
 * and the layout are in assign.h.
 *
 * Each point is handled on its own: pass 1 finds the shortest matching
 * segment (first on ties, as torch.min over the segment axis), pass 2
 * sets the labels of every matching segment within 1e-3 of it. Every
 * quantity is a float32 expression in the official order: the radius and
 * the 1e-3 are rounded to float32 first (PyTorch casts a Python scalar to
 * the tensor's dtype), and nothing is fused into a multiply-add.
 */
#include "assign.h"

#include <math.h>
#include <string.h>

#include "../error.h"

/* GCC fuses a * b + c across statements when the target has FMA; the
 * reference rounds every product first. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

void
tsl_train_assign_config_init (TslTrainAssignConfig *cfg, int num_classes)
{
    cfg->num_classes = num_classes;
    cfg->center_sample = TSL_CENTER_SAMPLE_RADIUS;
    cfg->center_sample_radius = 1.5;
}

/* The length of segment seg for the point row, or INFINITY when the point
 * does not match it (outside the sampled part or out of range). */
static float
matched_length (const float *row /* [4] */, const float *seg /* [2] */, TslCenterSample mode,
                float radius)
{
    const float t = row[TSL_POINT_T], stride = row[TSL_POINT_STRIDE];
    const float start = seg[0], end = seg[1];
    const float left = t - start, right = end - t;
    gboolean inside;

    if (mode == TSL_CENTER_SAMPLE_RADIUS) {
        const float centre = 0.5f * (start + end);
        const float low = centre - stride * radius;
        const float high = centre + stride * radius;
        inside = fminf (t - fmaxf (low, start), fminf (high, end) - t) > 0.0f;
    } else {
        inside = fminf (left, right) > 0.0f;
    }
    const float reach = fmaxf (left, right);
    if (!inside || !(reach >= row[TSL_POINT_RANGE_MIN]) || !(reach <= row[TSL_POINT_RANGE_MAX]))
        return INFINITY;
    return end - start;
}

gboolean
tsl_train_assign (float *gt_cls, float *gt_offsets, const TslTrainPoints *pts,
                  const float *segments, const int *labels, int n_segments,
                  const TslTrainAssignConfig *cfg, GError **error)
{
    const int K = cfg->num_classes;
    const float radius = (float) cfg->center_sample_radius;
    const float tie = (float) 1e-3;

    g_return_val_if_fail (n_segments == 0 || (segments != NULL && labels != NULL), FALSE);
    for (int j = 0; j < n_segments; j++) {
        if (labels[j] < 0 || labels[j] >= K) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                         "label assignment: segment %d [%g, %g] has label %d, outside 0..%d", j,
                         segments[2 * j], segments[2 * j + 1], labels[j], K - 1);
            return FALSE;
        }
    }
    memset (gt_cls, 0, sizeof (float) * pts->n_points * K);
    memset (gt_offsets, 0, sizeof (float) * pts->n_points * 2);
    if (n_segments == 0)
        return TRUE;

    for (int i = 0; i < pts->n_points; i++) {
        const float *row = pts->rows + (size_t) i * TSL_POINT_COLUMNS; /* [4] */
        float *cls_i = gt_cls + (size_t) i * K;                         /* [K] */
        float *offsets_i = gt_offsets + (size_t) i * 2;                 /* [2] */
        float shortest = INFINITY;
        int first = 0;

        /* pass 1: the shortest matching segment, first on ties */
        for (int j = 0; j < n_segments; j++) {
            const float len = matched_length (row, segments + 2 * j, cfg->center_sample, radius);
            if (len < shortest) {
                shortest = len;
                first = j;
            }
        }
        /* pass 2: labels of all matching segments within the tie margin */
        if (shortest < INFINITY) {
            const float limit = shortest + tie;
            for (int j = 0; j < n_segments; j++) {
                const float len =
                    matched_length (row, segments + 2 * j, cfg->center_sample, radius);
                if (len <= limit && len < INFINITY)
                    cls_i[labels[j]] = 1.0f;
            }
        }
        const float t = row[TSL_POINT_T], stride = row[TSL_POINT_STRIDE];
        offsets_i[0] = (t - segments[2 * first]) / stride;
        offsets_i[1] = (segments[2 * first + 1] - t) / stride;
    }
    return TRUE;
}

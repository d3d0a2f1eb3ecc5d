/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * decode/candidates.h: the candidate segments of one FPN level, as
 * happyharrycn/actionformer_release libs/modeling/meta_archs.py
 * (LocPointTransformer.inference_single_video, commit 61ea7eb) selects them
 * before NMS.
 *
 * Per level with stride s (grid units between its points, 2^L for the
 * default scale factor 2), K classes and T points:
 *   1. score[t, k] = sigmoid(logit[k, t]) * mask[t], in float32 (the
 *      sigmoid rounded as the reference's, see sigmoid.h), flattened in
 *      [T, K] order (flat index t * K + k);
 *   2. keep score > (float) pre_nms_thresh;
 *   3. sort the kept scores descending (torch.sort's order, ties included:
 *      see score-sort.h) and keep the first min(pre_nms_topk, n); the cap
 *      is per level, not per video;
 *   4. segment = [t - offset[0, t] * s, t + offset[1, t] * s] with the point
 *      at grid position t = i * s, in float32;
 *   5. keep end - start > (float) duration_thresh.
 * Survivors are appended in that order. A video's candidate list is levels
 * 0, 1, ... appended one after the other.
 *
 * Layout: channels-first, as the heads output them: logits or scores
 * [K, T], offsets [2, T] (row 0: distance to the start, row 1: distance to
 * the end, in units of s, after the head's Scale and ReLU), mask [T] float,
 * 1 = valid point, 0 = padding (NULL: all valid).
 */
#pragma once

#include <glib.h>

#include "config.h"
#include "segment.h"

G_BEGIN_DECLS

/* Appends the level's candidates (grid units) to `out`, a GArray of
 * TslSegment. cls_logits is the level's whole [K, T] buffer of one video
 * (tsl_decode_sigmoid's rounding depends on the position in it). The
 * config must pass tsl_decode_config_check(). */
void tsl_decode_candidates (GArray *out, const float *cls_logits /* [K, T] */,
                            const float *offsets /* [2, T] */, const float *mask /* [T] or NULL */,
                            int K, int T, int stride, const TslDecodeConfig *config);

/* Same, from probabilities already passed through the sigmoid. */
void tsl_decode_candidates_from_scores (GArray *out, const float *cls_scores /* [K, T] */,
                                        const float *offsets /* [2, T] */,
                                        const float *mask /* [T] or NULL */, int K, int T,
                                        int stride, const TslDecodeConfig *config);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * decode/score-sort.h: sorting (score, index) pairs by descending score in
 * exactly the order ActionFormer's reference post-processing produces.
 *
 * The reference (happyharrycn/actionformer_release, libs/modeling/
 * meta_archs.py inference_single_video, libs/utils/nms.py batched_nms, and
 * libs/utils/csrc/nms_cpu.cpp nms_1d_cpu) sorts scores with
 * torch.sort(descending=True). PyTorch (1.x, CPU) implements that
 * non-stable sort as libstdc++'s std::sort on (value, index) pairs with a
 * "NaN first, then greater" comparison. std::sort is an introsort, so among
 * EQUAL scores the resulting order is neither the input order nor its
 * reverse: it depends on the whole array. tsl_decode_sort_desc repeats the
 * libstdc++ algorithm step for step (median-of-three pivot moved to the
 * front, unguarded Hoare partition, depth limit 2 * floor(log2 n) with a
 * heap sort fallback, final insertion sort over runs of 16), so ties come
 * out in the reference order too. With distinct scores any correct sort
 * gives the same result.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    float score;
    int index; /* position of the score in the caller's array */
} TslScoreIndex;

/* Sorts items[0, n) in place: NaN scores first, then descending score; ties
 * in the order libstdc++'s std::sort leaves them. */
void tsl_decode_sort_desc (TslScoreIndex *items /* [n] */, int n);

G_END_DECLS

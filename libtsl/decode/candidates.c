/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * decode/candidates.c: per-level candidate selection before NMS; the steps,
 * their order and the reference are in candidates.h. Everything is float32
 * arithmetic in the reference's order, so the candidates match it bit for
 * bit: thresholds are rounded to float32 before comparing (PyTorch casts a
 * Python scalar to the tensor's dtype), and the products offset * stride
 * are kept out of fused multiply-adds.
 */
#include "candidates.h"

#include "score-sort.h"
#include "sigmoid.h"

/* GCC fuses a * b + c across statements when the target has FMA; the
 * reference rounds the product first. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

static void
select_level (GArray *out, const float *scores_tk /* [T, K], masked */,
              const float *offsets /* [2, T] */, int K, int T, int stride,
              const TslDecodeConfig *config)
{
    const float pre_nms_thresh = (float) config->pre_nms_thresh;
    const float duration_thresh = (float) config->duration_thresh;
    const float stride_f = (float) stride;
    const size_t n_flat = (size_t) T * K;
    TslScoreIndex *kept = g_new (TslScoreIndex, n_flat);
    int n_kept = 0;

    /* pass 1: threshold, in flat [T, K] order */
    for (size_t i = 0; i < n_flat; i++) {
        if (scores_tk[i] > pre_nms_thresh)
            kept[n_kept++] = (TslScoreIndex) { scores_tk[i], (int) i };
    }

    /* pass 2: sort descending, keep the top k */
    tsl_decode_sort_desc (kept, n_kept);
    const int n_top = MIN (config->pre_nms_topk, n_kept);

    /* pass 3: decode the segments, drop the short ones */
    const float *off_start = offsets;
    const float *off_end = offsets + T;
    for (int j = 0; j < n_top; j++) {
        const int point = kept[j].index / K;
        const int label = kept[j].index % K;
        const float t = (float) (point * stride);
        const float left = off_start[point] * stride_f;
        const float right = off_end[point] * stride_f;
        TslSegment seg = { t - left, t + right, kept[j].score, label };

        if (seg.end - seg.start > duration_thresh)
            g_array_append_val (out, seg);
    }
    g_free (kept);
}

void
tsl_decode_candidates (GArray *out, const float *cls_logits, const float *offsets,
                       const float *mask, int K, int T, int stride,
                       const TslDecodeConfig *config)
{
    float *scores_kt = g_new (float, (size_t) K * T);

    tsl_decode_sigmoid (scores_kt, cls_logits, (size_t) K * T);
    tsl_decode_candidates_from_scores (out, scores_kt, offsets, mask, K, T, stride, config);
    g_free (scores_kt);
}

void
tsl_decode_candidates_from_scores (GArray *out, const float *cls_scores, const float *offsets,
                                   const float *mask, int K, int T, int stride,
                                   const TslDecodeConfig *config)
{
    float *scores_tk = g_new (float, (size_t) T * K);

    for (int t = 0; t < T; t++) {
        const float mask_t = mask ? mask[t] : 1.0f;
        float *scores_t = scores_tk + (size_t) t * K;
        for (int k = 0; k < K; k++)
            scores_t[k] = cls_scores[(size_t) k * T + t] * mask_t;
    }
    select_level (out, scores_tk, offsets, K, T, stride, config);
    g_free (scores_tk);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda/attention.cu: full multi-head self-attention over N tokens, forward
 * only (the VideoMAE V2 ViT at inference), as timm's Attention:
 * softmax(scale * q k^T) v per head. Layout and semantics: TslAttentionFn in
 * ../ops.h (CPU version: cpu/attention.c); qkv is [B, N, 3 * C] with q, k,
 * v of head h in the columns s * C + h * Dh .. + Dh - 1, out is [B, N, C]
 * (overwritten).
 *
 * Per batch item, all heads at once: the heads' q, k and v are strided
 * [N, Dh] views of qkv (leading dimension 3 C, Dh floats from one head to
 * the next), so one strided batched product gives the [H, N, N] scores in
 * the workspace, the softmax kernel (softmax.cu) normalises them in place,
 * and a second product writes every head's [N, Dh] result straight into
 * its columns of out (leading dimension C).
 */
#include "cuda-ops.h"
#include "cuda-common.h"

/* ---- launchers ---- */

void
tsl_cuda_attention (TslBackend *be, float *out, const float *qkv, int B, int N, int C, int H,
                    float scale)
{
    const int Dh = C / H;
    const long long scores_per_head = (long long) N * N;
    float *scores;  /* [H, N, N] */

    if (B <= 0 || N <= 0 || H <= 0)
        return;
    scores = (float *) tsl_backend_workspace (be, (size_t) H * scores_per_head * sizeof (float));
    if (scores == NULL)
        return;
    for (int b = 0; b < B; b++) {
        const float *qkv_b = qkv + (size_t) b * N * 3 * C;  /* [N, 3C] */
        float *out_b = out + (size_t) b * N * C;            /* [N, C] */

        /* scores[h] = scale * q_h @ k_h^T */
        tsl_cuda_gemm_ld (be, scores, N, scores_per_head, qkv_b, 3 * C, Dh, qkv_b + C, 3 * C, Dh,
                          H, N, N, Dh, FALSE, TRUE, scale, 0.0f);
        tsl_cuda_softmax (be, scores, scores, H * N, N);
        /* out_b[:, h Dh ..] = scores[h] @ v_h */
        tsl_cuda_gemm_ld (be, out_b, C, Dh, scores, N, scores_per_head, qkv_b + 2 * C, 3 * C, Dh,
                          H, N, Dh, N, FALSE, FALSE, 1.0f, 0.0f);
    }
}

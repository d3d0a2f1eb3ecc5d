/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/local-attention.c: ActionFormer's banded masked self-attention
 * (LocalMaskedMHCA in libs/modeling/blocks.py of happyharrycn/actionformer_release),
 * forward and backward. Layout and semantics: TslLocalAttentionFn in ../ops.h.
 *
 * q, k, v and out are channels-first [B, C, T] with C = H * Dh, so the block
 * of one (b, h) is a contiguous [Dh, T] matrix. Each op first transposes
 * the blocks it reads into the workspace as [T, Dh] (one row per time step,
 * contiguous dot products), works there in parallel over t, and transposes
 * its results back. att[b, h, t, j] is the weight of key t - W/2 + j, 0 for
 * keys outside [0, T) and for whole rows of masked queries.
 *
 * Backward ADDS into dq, dk and dv (the caller zeroes them). With
 * datt[t, j] = dout[t] . v[key] and ds = att * (datt - sum_j att datt):
 * dq[t] += scale sum_j ds[t, j] k[key], dk[key] += scale ds[t, j] q[t] and
 * dv[key] += att[t, j] dout[t]. The last two are gathered per key s (the
 * queries that see key s are t = s + W/2 - j) so that every thread writes
 * its own rows.
 */
#include <math.h>

#include "cpu-ops.h"

#define LOCAL_ATTENTION_TILE 32

/* dst[c, r] = src[r, c] (or += when accumulate) */
static void
local_attention_transpose (float *dst /* [cols, rows] */, const float *src /* [rows, cols] */,
                           int rows, int cols, gboolean accumulate)
{
#pragma omp parallel for collapse(2)
    for (int r0 = 0; r0 < rows; r0 += LOCAL_ATTENTION_TILE) {
        for (int c0 = 0; c0 < cols; c0 += LOCAL_ATTENTION_TILE) {
            const int r1 = MIN (r0 + LOCAL_ATTENTION_TILE, rows);
            const int c1 = MIN (c0 + LOCAL_ATTENTION_TILE, cols);

            for (int c = c0; c < c1; c++) {
                float *dst_c = dst + (size_t) c * rows;

                for (int r = r0; r < r1; r++) {
                    const float value = src[(size_t) r * cols + c];

                    dst_c[r] = accumulate ? dst_c[r] + value : value;
                }
            }
        }
    }
}

static float
local_attention_dot (const float *a /* [n] */, const float *b /* [n] */, int n)
{
    float sum = 0.0f;

#pragma omp simd reduction(+ : sum)
    for (int i = 0; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

/* The window slots j whose key t - W/2 + j lies in [0, T): [*j_begin, *j_end). */
static void
local_attention_window (int t, int T, int W, int *j_begin, int *j_end)
{
    *j_begin = MAX (0, W / 2 - t);
    *j_end = MIN (W, T - t + W / 2);
}

void
tsl_cpu_local_attention (TslBackend *be, float *out, float *att, const float *q, const float *k,
                         const float *v, const float *mask, int B, int C, int T, int H, int W,
                         float scale)
{
    const int Dh = C / H;
    const size_t block = (size_t) T * Dh;
    float *ws = tsl_backend_workspace (be, 4 * block * sizeof (float));

    if (ws == NULL)
        return;
    float *q_t = ws, *k_t = ws + block, *v_t = ws + 2 * block; /* [T, Dh] each */
    float *out_t = ws + 3 * block;                              /* [T, Dh] */
    for (int b = 0; b < B; b++) {
        const float *mask_b = mask + (size_t) b * T;

        for (int h = 0; h < H; h++) {
            const size_t offset = ((size_t) b * C + (size_t) h * Dh) * T;
            float *att_bh = att + ((size_t) b * H + h) * T * W;

            local_attention_transpose (q_t, q + offset, Dh, T, FALSE);
            local_attention_transpose (k_t, k + offset, Dh, T, FALSE);
            local_attention_transpose (v_t, v + offset, Dh, T, FALSE);

#pragma omp parallel for
            for (int t = 0; t < T; t++) {
                const float *q_tt = q_t + (size_t) t * Dh;
                float *att_t = att_bh + (size_t) t * W;
                float *out_tt = out_t + (size_t) t * Dh;
                float max_score = -INFINITY, sum = 0.0f;
                int j_begin, j_end;

                for (int d = 0; d < Dh; d++)
                    out_tt[d] = 0.0f;
                for (int j = 0; j < W; j++)
                    att_t[j] = 0.0f;
                if (mask_b[t] == 0.0f)
                    continue; /* a masked query's row stays 0 */
                local_attention_window (t, T, W, &j_begin, &j_end);

                /* pass 1: scores of the keys inside [0, T), -1e4 for masked keys */
                for (int j = j_begin; j < j_end; j++) {
                    const int key = t - W / 2 + j;
                    float score = scale * local_attention_dot (q_tt, k_t + (size_t) key * Dh, Dh);

                    if (mask_b[key] == 0.0f)
                        score += -1e4f;
                    att_t[j] = score;
                    max_score = MAX (max_score, score);
                }
                /* pass 2: softmax over those keys only */
                for (int j = j_begin; j < j_end; j++) {
                    att_t[j] = expf (att_t[j] - max_score);
                    sum += att_t[j];
                }
                for (int j = j_begin; j < j_end; j++)
                    att_t[j] /= sum;
                /* pass 3: out[t] = sum over keys of att v[key] */
                for (int j = j_begin; j < j_end; j++) {
                    const float *v_key = v_t + (size_t) (t - W / 2 + j) * Dh;
                    const float att_tj = att_t[j];

#pragma omp simd
                    for (int d = 0; d < Dh; d++)
                        out_tt[d] += att_tj * v_key[d];
                }
            }
            local_attention_transpose (out + offset, out_t, T, Dh, FALSE);
        }
    }
}

/* ---- backward ---- */

void
tsl_cpu_local_attention_backward (TslBackend *be, float *dq, float *dk, float *dv,
                                  const float *dout, const float *att, const float *q,
                                  const float *k, const float *v, int B, int C, int T, int H,
                                  int W, float scale)
{
    const int Dh = C / H;
    const size_t block = (size_t) T * Dh;
    float *ws = tsl_backend_workspace (be, (7 * block + (size_t) T * W) * sizeof (float));

    if (ws == NULL)
        return;
    float *q_t = ws, *k_t = ws + block, *v_t = ws + 2 * block; /* [T, Dh] each */
    float *dout_t = ws + 3 * block;                             /* [T, Dh] */
    float *dq_t = ws + 4 * block, *dk_t = ws + 5 * block;       /* [T, Dh] each */
    float *dv_t = ws + 6 * block;                               /* [T, Dh] */
    float *dscore = ws + 7 * block;                             /* [T, W] */
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < H; h++) {
            const size_t offset = ((size_t) b * C + (size_t) h * Dh) * T;
            const float *att_bh = att + ((size_t) b * H + h) * T * W;

            local_attention_transpose (q_t, q + offset, Dh, T, FALSE);
            local_attention_transpose (k_t, k + offset, Dh, T, FALSE);
            local_attention_transpose (v_t, v + offset, Dh, T, FALSE);
            local_attention_transpose (dout_t, dout + offset, Dh, T, FALSE);

            /* pass 1, per query t: dscore through the softmax, then dq[t] */
#pragma omp parallel for
            for (int t = 0; t < T; t++) {
                const float *att_t = att_bh + (size_t) t * W;
                const float *dout_tt = dout_t + (size_t) t * Dh;
                float *dscore_t = dscore + (size_t) t * W;
                float *dq_tt = dq_t + (size_t) t * Dh;
                float att_dot_datt = 0.0f;
                int j_begin, j_end;

                local_attention_window (t, T, W, &j_begin, &j_end);
                for (int j = 0; j < W; j++)
                    dscore_t[j] = 0.0f;
                for (int d = 0; d < Dh; d++)
                    dq_tt[d] = 0.0f;
                for (int j = j_begin; j < j_end; j++) {
                    const int key = t - W / 2 + j;

                    dscore_t[j] = local_attention_dot (dout_tt, v_t + (size_t) key * Dh, Dh);
                    att_dot_datt += att_t[j] * dscore_t[j];
                }
                for (int j = j_begin; j < j_end; j++) {
                    const float *k_key = k_t + (size_t) (t - W / 2 + j) * Dh;
                    const float ds = att_t[j] * (dscore_t[j] - att_dot_datt);

                    dscore_t[j] = ds;
#pragma omp simd
                    for (int d = 0; d < Dh; d++)
                        dq_tt[d] += scale * ds * k_key[d];
                }
            }

            /* pass 2, per key s: gather from the queries t = s + W/2 - j */
#pragma omp parallel for
            for (int s = 0; s < T; s++) {
                float *dk_s = dk_t + (size_t) s * Dh;
                float *dv_s = dv_t + (size_t) s * Dh;

                for (int d = 0; d < Dh; d++) {
                    dk_s[d] = 0.0f;
                    dv_s[d] = 0.0f;
                }
                for (int j = 0; j < W; j++) {
                    const int t = s + W / 2 - j;

                    if (t < 0 || t >= T)
                        continue;
                    const float ds = scale * dscore[(size_t) t * W + j];
                    const float att_tj = att_bh[(size_t) t * W + j];
                    const float *q_tt = q_t + (size_t) t * Dh;
                    const float *dout_tt = dout_t + (size_t) t * Dh;

#pragma omp simd
                    for (int d = 0; d < Dh; d++) {
                        dk_s[d] += ds * q_tt[d];
                        dv_s[d] += att_tj * dout_tt[d];
                    }
                }
            }

            local_attention_transpose (dq + offset, dq_t, T, Dh, TRUE);
            local_attention_transpose (dk + offset, dk_t, T, Dh, TRUE);
            local_attention_transpose (dv + offset, dv_t, T, Dh, TRUE);
        }
    }
}

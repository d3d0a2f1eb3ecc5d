/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/attention.c: full multi-head self-attention over N tokens, forward
 * only (the VideoMAE V2 ViT runs it at inference), as the Attention module
 * of its blocks: softmax(scale * q k^T) v per head, the q/k/v biases already
 * added by the qkv projection. Layout and semantics: TslAttentionFn in
 * ../ops.h; qkv is [B, N, 3 * C] with q, k, v of head h in the columns
 * s * C + h * Dh .. s * C + h * Dh + Dh - 1, out is [B, N, C] (overwritten).
 *
 * The per-head q, k and v are read in place as strided [N, Dh] matrices
 * (leading dimension 3 * C) and the result is written in place into out
 * (leading dimension C), so the only scratch is the [N, N] score matrix of
 * one (b, h), reused for every head. The softmax leaves its rows
 * unnormalised and the division by the row sum is applied to the [N, Dh]
 * output instead, which saves one pass over the scores.
 */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cpu-ops.h"

/* e^x for x <= 88, written so that the loops calling it vectorise (libm's
 * expf is one call per element and made the softmax the slowest stage).
 * x = n ln2 + r with n an integer and |r| <= ln2 / 2; e^r is its Taylor
 * series to r^7 (relative error below 1e-7 on that interval) and 2^n goes
 * straight into the exponent bits. x is first raised to -87, below which
 * e^x is no longer a normal float; comparing float bits as unsigned
 * integers does that, since negative floats have the larger bit patterns
 * and among them the larger magnitude has the larger pattern. */
static inline float
attention_exp (float x)
{
    const float round_shift = 12582912.0f;    /* 1.5 * 2^23: x + it rounds x to an integer */
    const float ln2_high = 0.693359375f;      /* ln2 to 9 bits, so n * ln2_high is exact */
    const float ln2_low = -2.12194440e-4f;    /* ln2 - ln2_high */
    const uint32_t minus_87_bits = 0xc2ae0000u; /* -87.0f */
    uint32_t x_bits, scale_bits;
    float n, r, poly, scale;

    memcpy (&x_bits, &x, sizeof x);
    x_bits = MIN (x_bits, minus_87_bits);
    memcpy (&x, &x_bits, sizeof x);
    n = (x * 1.44269504f + round_shift) - round_shift; /* round (x / ln2) */
    r = x - n * ln2_high - n * ln2_low;
    poly = 1.0f / 5040.0f;
    poly = poly * r + 1.0f / 720.0f;
    poly = poly * r + 1.0f / 120.0f;
    poly = poly * r + 1.0f / 24.0f;
    poly = poly * r + 1.0f / 6.0f;
    poly = poly * r + 0.5f;
    poly = poly * r + 1.0f;
    poly = poly * r + 1.0f;
    scale_bits = (uint32_t) ((int32_t) n + 127) << 23;
    memcpy (&scale, &scale_bits, sizeof scale);
    return poly * scale;
}

/* s[n, :] = exp (s[n, :] - max of the row), inv_sum[n] = 1 / its sum; the
 * division is left to the caller, which applies it to the smaller output */
static void
attention_softmax_rows (float *s /* [N, N] */, float *inv_sum /* [N] */, int N)
{
#pragma omp parallel for
    for (int n = 0; n < N; n++) {
        float *s_n = s + (size_t) n * N;
        float max_score = -INFINITY, sum = 0.0f;

#pragma omp simd reduction(max : max_score)
        for (int m = 0; m < N; m++)
            max_score = MAX (max_score, s_n[m]);
#pragma omp simd
        for (int m = 0; m < N; m++)
            s_n[m] = attention_exp (s_n[m] - max_score);
#pragma omp simd reduction(+ : sum)
        for (int m = 0; m < N; m++)
            sum += s_n[m];
        inv_sum[n] = 1.0f / sum;
    }
}

void
tsl_cpu_attention (TslBackend *be, float *out, const float *qkv, int B, int N, int C, int H,
                   float scale)
{
    const int Dh = C / H;
    float *ws = tsl_backend_workspace (be, ((size_t) N * N + N) * sizeof (float));

    if (ws == NULL)
        return;
    float *s = ws;                        /* [N, N] */
    float *inv_sum = ws + (size_t) N * N; /* [N] */
    for (int b = 0; b < B; b++) {
        const float *qkv_b = qkv + (size_t) b * N * 3 * C;
        float *out_b = out + (size_t) b * N * C;

        for (int h = 0; h < H; h++) {
            const float *q_bh = qkv_b + (size_t) h * Dh;         /* [N, Dh], ld 3C */
            const float *k_bh = qkv_b + (size_t) C + h * Dh;     /* [N, Dh], ld 3C */
            const float *v_bh = qkv_b + (size_t) 2 * C + h * Dh; /* [N, Dh], ld 3C */

            /* s = scale * q k^T */
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, N, N, Dh, scale, q_bh, 3 * C,
                         k_bh, 3 * C, 0.0f, s, N);
            attention_softmax_rows (s, inv_sum, N);
            /* out[:, h * Dh ..] = s v, then each row divided by its sum */
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, N, Dh, N, 1.0f, s, N, v_bh,
                         3 * C, 0.0f, out_b + (size_t) h * Dh, C);
#pragma omp parallel for
            for (int n = 0; n < N; n++) {
                float *out_bnh = out_b + (size_t) n * C + (size_t) h * Dh;
                const float inv_sum_n = inv_sum[n];

                for (int d = 0; d < Dh; d++)
                    out_bnh[d] *= inv_sum_n;
            }
        }
    }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/layernorm.c: layer normalisation over channels, channels-first
 * [B, C, T], and its backward. Semantics: TslLayerNormFn in ../ops.h; it is
 * ActionFormer's channels-first LayerNorm (libs/modeling/blocks.py,
 * LayerNorm.forward): mean over C, biased variance of the deviations,
 * out = (x - mean) / sqrt(var + eps) * gamma[c] + beta[c]. Token rows [N, D]
 * come in as [N, D, 1].
 *
 * Two kernels share the maths:
 * - rows (T == 1): the channels of one (b, t) are contiguous, so each
 *   normalised vector is one contiguous loop; threads split the rows.
 * - columns (T > 1): the channels of one (b, t) are T floats apart. The
 *   kernel walks a block of LAYERNORM_TIME_BLOCK time steps at once, with
 *   the time step innermost and one accumulator per time step, so every
 *   load is contiguous and vectorises; threads split (b, time block). The
 *   forward and backward blocks and the per-row parameter-gradient sums
 *   are compiled per vector ISA (TSL_VECTOR_CLONES, vector-math.h).
 * Statistics are computed in two passes (mean, then the mean of the squared
 * deviations), which stays accurate when the mean is large.
 *
 * The forward overwrites out, mean and rstd. The backward adds into dx,
 * dgamma and dbeta. dgamma and dbeta sum over b and t in a separate pass,
 * parallel over channels, so that no two threads write the same channel.
 */
#include <math.h>

#include "cpu-ops.h"
#include "vector-math.h"

/* below this many elements, starting threads costs more than it saves */
#define LAYERNORM_PARALLEL_MIN 16384

/* time steps per block in the columns kernel: the accumulators stay in
 * registers / L1 and a block of C rows of x stays in L2 for the next pass */
#define LAYERNORM_TIME_BLOCK 64

/* channels per block when the rows kernel sums dgamma and dbeta */
#define LAYERNORM_CHANNEL_BLOCK 64

/* ---- rows: T == 1 ---- */

static void
layernorm_forward_rows (float *out /* [N, C] */, float *mean /* [N] */, float *rstd /* [N] */,
                        const float *x /* [N, C] */, const float *gamma /* [C] */,
                        const float *beta /* [C] */, int N, int C, float eps)
{
    #pragma omp parallel for if ((size_t) N * C >= LAYERNORM_PARALLEL_MIN)
    for (int n = 0; n < N; n++) {
        const float *x_n = x + (size_t) n * C;  /* [C] */
        float *out_n = out + (size_t) n * C;    /* [C] */
        float sum = 0.0f, sum_sq = 0.0f;

        #pragma omp simd reduction (+:sum)
        for (int c = 0; c < C; c++)
            sum += x_n[c];
        const float mean_n = sum / (float) C;
        #pragma omp simd reduction (+:sum_sq)
        for (int c = 0; c < C; c++)
            sum_sq += (x_n[c] - mean_n) * (x_n[c] - mean_n);
        const float rstd_n = 1.0f / sqrtf (sum_sq / (float) C + eps);

        #pragma omp simd
        for (int c = 0; c < C; c++)
            out_n[c] = (x_n[c] - mean_n) * rstd_n * gamma[c] + beta[c];
        mean[n] = mean_n;
        rstd[n] = rstd_n;
    }
}

static void
layernorm_backward_rows (float *dx /* [N, C] */, float *dgamma /* [C] */, float *dbeta /* [C] */,
                         const float *dout /* [N, C] */, const float *x /* [N, C] */,
                         const float *gamma /* [C] */, const float *mean /* [N] */,
                         const float *rstd /* [N] */, int N, int C)
{
    const int n_blocks = (C + LAYERNORM_CHANNEL_BLOCK - 1) / LAYERNORM_CHANNEL_BLOCK;

    /* dx: each row n alone writes dx[n, :] */
    #pragma omp parallel for if ((size_t) N * C >= LAYERNORM_PARALLEL_MIN)
    for (int n = 0; n < N; n++) {
        const float *x_n = x + (size_t) n * C;        /* [C] */
        const float *dout_n = dout + (size_t) n * C;  /* [C] */
        float *dx_n = dx + (size_t) n * C;            /* [C] */
        const float mean_n = mean[n], rstd_n = rstd[n];
        float sum_g = 0.0f, sum_g_xhat = 0.0f;

        /* g = dout * gamma is the gradient with respect to xhat */
        #pragma omp simd reduction (+:sum_g, sum_g_xhat)
        for (int c = 0; c < C; c++) {
            const float g = dout_n[c] * gamma[c];
            sum_g += g;
            sum_g_xhat += g * (x_n[c] - mean_n) * rstd_n;
        }
        const float mean_g = sum_g / (float) C, mean_g_xhat = sum_g_xhat / (float) C;
        #pragma omp simd
        for (int c = 0; c < C; c++) {
            const float xhat = (x_n[c] - mean_n) * rstd_n;
            dx_n[c] += rstd_n * (dout_n[c] * gamma[c] - mean_g - xhat * mean_g_xhat);
        }
    }

    /* dgamma, dbeta: each channel block alone writes its channels */
    #pragma omp parallel for if ((size_t) N * C >= LAYERNORM_PARALLEL_MIN)
    for (int block = 0; block < n_blocks; block++) {
        const int c0 = block * LAYERNORM_CHANNEL_BLOCK;
        const int width = MIN (C - c0, LAYERNORM_CHANNEL_BLOCK);
        double acc_gamma[LAYERNORM_CHANNEL_BLOCK] = { 0 };
        double acc_beta[LAYERNORM_CHANNEL_BLOCK] = { 0 };

        for (int n = 0; n < N; n++) {
            const float *x_n = x + (size_t) n * C + c0;        /* [width] */
            const float *dout_n = dout + (size_t) n * C + c0;  /* [width] */
            const float mean_n = mean[n], rstd_n = rstd[n];
            #pragma omp simd
            for (int j = 0; j < width; j++) {
                acc_gamma[j] += dout_n[j] * (x_n[j] - mean_n) * rstd_n;
                acc_beta[j] += dout_n[j];
            }
        }
        for (int j = 0; j < width; j++) {
            dgamma[c0 + j] += (float) acc_gamma[j];
            dbeta[c0 + j] += (float) acc_beta[j];
        }
    }
}

/* ---- columns: T > 1 ---- */

/* One block of `width` <= LAYERNORM_TIME_BLOCK time steps: x, out point
 * at the block's first column of a [C, T] item, mean and rstd at its first
 * step. */
static TSL_VECTOR_CLONES void
layernorm_forward_block (float *out /* [C, T] */, float *mean /* [width] */,
                         float *rstd /* [width] */, const float *x /* [C, T] */,
                         const float *gamma /* [C] */, const float *beta /* [C] */, int C, int T,
                         int width, float eps)
{
    float mean_t[LAYERNORM_TIME_BLOCK] = { 0 };
    float rstd_t[LAYERNORM_TIME_BLOCK] = { 0 };

    /* pass 1: mean over c, one accumulator per time step */
    for (int c = 0; c < C; c++) {
        const float *x_c = x + (size_t) c * T;  /* [width] */
        #pragma omp simd
        for (int j = 0; j < width; j++)
            mean_t[j] += x_c[j];
    }
    for (int j = 0; j < width; j++)
        mean_t[j] /= (float) C;

    /* pass 2: biased variance from the deviations (rstd_t holds the sum for now) */
    for (int c = 0; c < C; c++) {
        const float *x_c = x + (size_t) c * T;  /* [width] */
        #pragma omp simd
        for (int j = 0; j < width; j++)
            rstd_t[j] += (x_c[j] - mean_t[j]) * (x_c[j] - mean_t[j]);
    }
    for (int j = 0; j < width; j++)
        rstd_t[j] = 1.0f / sqrtf (rstd_t[j] / (float) C + eps);

    /* pass 3: normalise, scale, shift */
    for (int c = 0; c < C; c++) {
        const float *x_c = x + (size_t) c * T;  /* [width] */
        float *out_c = out + (size_t) c * T;    /* [width] */
        const float gamma_c = gamma[c], beta_c = beta[c];
        #pragma omp simd
        for (int j = 0; j < width; j++)
            out_c[j] = (x_c[j] - mean_t[j]) * rstd_t[j] * gamma_c + beta_c;
    }
    for (int j = 0; j < width; j++) {
        mean[j] = mean_t[j];
        rstd[j] = rstd_t[j];
    }
}

static void
layernorm_forward_columns (float *out /* [B, C, T] */, float *mean /* [B, T] */,
                           float *rstd /* [B, T] */, const float *x /* [B, C, T] */,
                           const float *gamma /* [C] */, const float *beta /* [C] */,
                           int B, int C, int T, float eps)
{
    const int n_blocks = (T + LAYERNORM_TIME_BLOCK - 1) / LAYERNORM_TIME_BLOCK;

    /* each (b, time block) alone writes out[b, :, block], mean and rstd[b, block] */
    #pragma omp parallel for collapse (2) if ((size_t) B * C * T >= LAYERNORM_PARALLEL_MIN)
    for (int b = 0; b < B; b++) {
        for (int block = 0; block < n_blocks; block++) {
            const int t0 = block * LAYERNORM_TIME_BLOCK;
            const size_t offset = (size_t) b * C * T + t0;

            layernorm_forward_block (out + offset, mean + (size_t) b * T + t0,
                                     rstd + (size_t) b * T + t0, x + offset, gamma, beta, C, T,
                                     MIN (T - t0, LAYERNORM_TIME_BLOCK), eps);
        }
    }
}

/* dx for one block of `width` <= LAYERNORM_TIME_BLOCK time steps: x, dout,
 * dx point at the block's first column of a [C, T] item, mean and rstd at
 * its first step. Without contraction, so that g - mean(g) is exactly 0
 * when every g is the same (one channel). */
static TSL_VECTOR_CLONES TSL_NO_CONTRACT void
layernorm_backward_block (float *dx /* [C, T] */, const float *dout /* [C, T] */,
                          const float *x /* [C, T] */, const float *gamma /* [C] */,
                          const float *mean /* [width] */, const float *rstd /* [width] */,
                          int C, int T, int width)
{
    float mean_g[LAYERNORM_TIME_BLOCK] = { 0 };
    float mean_g_xhat[LAYERNORM_TIME_BLOCK] = { 0 };

    /* pass 1: means over c of g = dout * gamma and of g * xhat */
    for (int c = 0; c < C; c++) {
        const float *x_c = x + (size_t) c * T;        /* [width] */
        const float *dout_c = dout + (size_t) c * T;  /* [width] */
        const float gamma_c = gamma[c];
        #pragma omp simd
        for (int j = 0; j < width; j++) {
            const float g = dout_c[j] * gamma_c;
            mean_g[j] += g;
            mean_g_xhat[j] += g * (x_c[j] - mean[j]) * rstd[j];
        }
    }
    for (int j = 0; j < width; j++) {
        mean_g[j] /= (float) C;
        mean_g_xhat[j] /= (float) C;
    }

    /* pass 2: dx += rstd * (g - mean(g) - xhat * mean(g * xhat)) */
    for (int c = 0; c < C; c++) {
        const float *x_c = x + (size_t) c * T;        /* [width] */
        const float *dout_c = dout + (size_t) c * T;  /* [width] */
        float *dx_c = dx + (size_t) c * T;            /* [width] */
        const float gamma_c = gamma[c];
        #pragma omp simd
        for (int j = 0; j < width; j++) {
            const float xhat = (x_c[j] - mean[j]) * rstd[j];
            dx_c[j] += rstd[j] * (dout_c[j] * gamma_c - mean_g[j] - xhat * mean_g_xhat[j]);
        }
    }
}

/* The sums over t of dout * xhat and of dout for one row of one item. */
static TSL_VECTOR_CLONES void
layernorm_param_grads_row (float *sum_gamma, float *sum_beta, const float *dout /* [T] */,
                           const float *x /* [T] */, const float *mean /* [T] */,
                           const float *rstd /* [T] */, int T)
{
    float part_gamma = 0.0f, part_beta = 0.0f;

    #pragma omp simd reduction (+:part_gamma, part_beta)
    for (int t = 0; t < T; t++) {
        part_gamma += dout[t] * (x[t] - mean[t]) * rstd[t];
        part_beta += dout[t];
    }
    *sum_gamma = part_gamma;
    *sum_beta = part_beta;
}

static void
layernorm_backward_columns (float *dx /* [B, C, T] */, float *dgamma /* [C] */,
                            float *dbeta /* [C] */, const float *dout /* [B, C, T] */,
                            const float *x /* [B, C, T] */, const float *gamma /* [C] */,
                            const float *mean /* [B, T] */, const float *rstd /* [B, T] */,
                            int B, int C, int T)
{
    const int n_blocks = (T + LAYERNORM_TIME_BLOCK - 1) / LAYERNORM_TIME_BLOCK;

    /* dx: each (b, time block) alone writes dx[b, :, block] */
    #pragma omp parallel for collapse (2) if ((size_t) B * C * T >= LAYERNORM_PARALLEL_MIN)
    for (int b = 0; b < B; b++) {
        for (int block = 0; block < n_blocks; block++) {
            const int t0 = block * LAYERNORM_TIME_BLOCK;
            const size_t offset = (size_t) b * C * T + t0;

            layernorm_backward_block (dx + offset, dout + offset, x + offset, gamma,
                                      mean + (size_t) b * T + t0, rstd + (size_t) b * T + t0, C,
                                      T, MIN (T - t0, LAYERNORM_TIME_BLOCK));
        }
    }

    /* dgamma, dbeta: each channel c alone writes dgamma[c] and dbeta[c] */
    #pragma omp parallel for if ((size_t) B * C * T >= LAYERNORM_PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
        double acc_gamma = 0.0, acc_beta = 0.0;

        for (int b = 0; b < B; b++) {
            const size_t offset = ((size_t) b * C + c) * T;
            float part_gamma, part_beta;

            layernorm_param_grads_row (&part_gamma, &part_beta, dout + offset, x + offset,
                                       mean + (size_t) b * T, rstd + (size_t) b * T, T);
            acc_gamma += part_gamma;
            acc_beta += part_beta;
        }
        dgamma[c] += (float) acc_gamma;
        dbeta[c] += (float) acc_beta;
    }
}

/* ---- ops ---- */

void
tsl_cpu_layernorm (TslBackend *be, float *out, float *mean, float *rstd, const float *x,
                   const float *gamma, const float *beta, int B, int C, int T, float eps)
{
    if (T == 1)
        layernorm_forward_rows (out, mean, rstd, x, gamma, beta, B, C, eps);
    else
        layernorm_forward_columns (out, mean, rstd, x, gamma, beta, B, C, T, eps);
}

void
tsl_cpu_layernorm_backward (TslBackend *be, float *dx, float *dgamma, float *dbeta,
                            const float *dout, const float *x, const float *gamma,
                            const float *mean, const float *rstd, int B, int C, int T)
{
    if (T == 1)
        layernorm_backward_rows (dx, dgamma, dbeta, dout, x, gamma, mean, rstd, B, C);
    else
        layernorm_backward_columns (dx, dgamma, dbeta, dout, x, gamma, mean, rstd, B, C, T);
}

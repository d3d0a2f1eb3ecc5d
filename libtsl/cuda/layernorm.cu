/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda/layernorm.cu: layer normalisation over channels, channels-first
 * [B, C, T], and its backward. Semantics: TslLayerNormFn in ../ops.h; it is
 * ActionFormer's channels-first LayerNorm: mean over C, biased variance of
 * the deviations (two passes, as the CPU version cpu/layernorm.c),
 * out = (x - mean) * rstd * gamma[c] + beta[c], with mean and rstd saved.
 *
 * Two layouts, as on the CPU:
 * - columns (T > 1): the channels of one (b, t) are T floats apart. A block
 *   takes 32 consecutive time steps (threadIdx.x, so every warp load is
 *   contiguous) and splits the channels over 8 slices (threadIdx.y); the
 *   slices' partial sums meet in shared memory.
 * - rows (T == 1, token rows [N, D, 1]): one warp per row, shuffles.
 *
 * The forward overwrites out, mean and rstd. The backward adds into dx,
 * dgamma and dbeta: dx by the same layouts (each (b, t) is owned by one
 * column of a block or one warp), dgamma and dbeta by one block per channel.
 */
#include "cuda-ops.h"
#include "cuda-common.h"

#define LAYERNORM_TILE_T 32    /* time steps per block, one per lane */
#define LAYERNORM_SLICES 8     /* channel slices per block, one per warp */
#define LAYERNORM_ROWS_PER_BLOCK 4

/* ---- kernels ---- */

/* grid (time tiles, B), block (LAYERNORM_TILE_T, LAYERNORM_SLICES) */
__global__ void
layernorm_columns_forward_kernel (float *out /* [B, C, T] */, float *mean /* [B, T] */,
                                  float *rstd /* [B, T] */, const float *x /* [B, C, T] */,
                                  const float *gamma /* [C] */, const float *beta /* [C] */,
                                  int C, int T, float eps)
{
    __shared__ float partial[LAYERNORM_SLICES][LAYERNORM_TILE_T];
    __shared__ float mean_tile[LAYERNORM_TILE_T], rstd_tile[LAYERNORM_TILE_T];
    const int lane = threadIdx.x, slice = threadIdx.y, b = blockIdx.y;
    const int t = blockIdx.x * LAYERNORM_TILE_T + lane;
    const bool active = t < T;
    const float *x_bt = x + (size_t) b * C * T + t;  /* x[b, c, t] = x_bt[c * T] */
    float *out_bt = out + (size_t) b * C * T + t;
    float acc = 0.0f;

    /* pass 1: mean over c */
    if (active)
        for (int c = slice; c < C; c += LAYERNORM_SLICES)
            acc += x_bt[(size_t) c * T];
    partial[slice][lane] = acc;
    __syncthreads ();
    if (slice == 0) {
        float sum = 0.0f;
        for (int s = 0; s < LAYERNORM_SLICES; s++)
            sum += partial[s][lane];
        mean_tile[lane] = sum / (float) C;
    }
    __syncthreads ();
    const float mean_t = mean_tile[lane];

    /* pass 2: biased variance of the deviations (slice 0 read `partial`
     * before the barrier above, so it may be refilled) */
    acc = 0.0f;
    if (active) {
        for (int c = slice; c < C; c += LAYERNORM_SLICES) {
            const float d = x_bt[(size_t) c * T] - mean_t;
            acc += d * d;
        }
    }
    partial[slice][lane] = acc;
    __syncthreads ();
    if (slice == 0) {
        float sum = 0.0f;
        for (int s = 0; s < LAYERNORM_SLICES; s++)
            sum += partial[s][lane];
        const float rstd_t = 1.0f / sqrtf (sum / (float) C + eps);
        rstd_tile[lane] = rstd_t;
        if (active) {
            mean[(size_t) b * T + t] = mean_t;
            rstd[(size_t) b * T + t] = rstd_t;
        }
    }
    __syncthreads ();
    const float rstd_t = rstd_tile[lane];

    /* pass 3: normalise, scale, shift */
    if (!active)
        return;
    for (int c = slice; c < C; c += LAYERNORM_SLICES) {
        const size_t i = (size_t) c * T;
        out_bt[i] = (x_bt[i] - mean_t) * rstd_t * gamma[c] + beta[c];
    }
}

/* dx += rstd * (g - mean_c(g) - xhat * mean_c(g * xhat)), g = dout * gamma;
 * same grid and block as the forward */
__global__ void
layernorm_columns_backward_kernel (float *dx /* [B, C, T] */, const float *dout /* [B, C, T] */,
                                   const float *x /* [B, C, T] */, const float *gamma /* [C] */,
                                   const float *mean /* [B, T] */, const float *rstd /* [B, T] */,
                                   int C, int T)
{
    __shared__ float partial_g[LAYERNORM_SLICES][LAYERNORM_TILE_T];
    __shared__ float partial_gx[LAYERNORM_SLICES][LAYERNORM_TILE_T];
    __shared__ float mean_g_tile[LAYERNORM_TILE_T], mean_gx_tile[LAYERNORM_TILE_T];
    const int lane = threadIdx.x, slice = threadIdx.y, b = blockIdx.y;
    const int t = blockIdx.x * LAYERNORM_TILE_T + lane;
    const bool active = t < T;
    const size_t offset = (size_t) b * C * T + t;
    const float *x_bt = x + offset;        /* x[b, c, t] = x_bt[c * T] */
    const float *dout_bt = dout + offset;
    float *dx_bt = dx + offset;
    const float mean_t = active ? mean[(size_t) b * T + t] : 0.0f;
    const float rstd_t = active ? rstd[(size_t) b * T + t] : 0.0f;
    float acc_g = 0.0f, acc_gx = 0.0f;

    /* pass 1: sums over c of g and g * xhat */
    if (active) {
        for (int c = slice; c < C; c += LAYERNORM_SLICES) {
            const size_t i = (size_t) c * T;
            const float g = dout_bt[i] * gamma[c];
            acc_g += g;
            acc_gx += g * (x_bt[i] - mean_t) * rstd_t;
        }
    }
    partial_g[slice][lane] = acc_g;
    partial_gx[slice][lane] = acc_gx;
    __syncthreads ();
    if (slice == 0) {
        float sum_g = 0.0f, sum_gx = 0.0f;
        for (int s = 0; s < LAYERNORM_SLICES; s++) {
            sum_g += partial_g[s][lane];
            sum_gx += partial_gx[s][lane];
        }
        mean_g_tile[lane] = sum_g / (float) C;
        mean_gx_tile[lane] = sum_gx / (float) C;
    }
    __syncthreads ();

    /* pass 2: dx */
    if (!active)
        return;
    const float mean_g = mean_g_tile[lane], mean_gx = mean_gx_tile[lane];
    for (int c = slice; c < C; c += LAYERNORM_SLICES) {
        const size_t i = (size_t) c * T;
        const float xhat = (x_bt[i] - mean_t) * rstd_t;
        dx_bt[i] += rstd_t * (dout_bt[i] * gamma[c] - mean_g - xhat * mean_gx);
    }
}

/* one warp per row n of [N, C] */
__global__ void
layernorm_rows_forward_kernel (float *out /* [N, C] */, float *mean /* [N] */,
                               float *rstd /* [N] */, const float *x /* [N, C] */,
                               const float *gamma /* [C] */, const float *beta /* [C] */,
                               int N, int C, float eps)
{
    const int lane = threadIdx.x % 32;
    const size_t n = (size_t) blockIdx.x * LAYERNORM_ROWS_PER_BLOCK + threadIdx.x / 32;

    if (n >= (size_t) N)
        return;  /* the whole warp leaves together */
    const float *x_n = x + n * C;  /* [C] */
    float *out_n = out + n * C;    /* [C] */
    float sum = 0.0f, sum_sq = 0.0f;

    for (int c = lane; c < C; c += 32)
        sum += x_n[c];
    const float mean_n = tsl_warp_sum (sum) / (float) C;
    for (int c = lane; c < C; c += 32) {
        const float d = x_n[c] - mean_n;
        sum_sq += d * d;
    }
    const float rstd_n = 1.0f / sqrtf (tsl_warp_sum (sum_sq) / (float) C + eps);
    for (int c = lane; c < C; c += 32)
        out_n[c] = (x_n[c] - mean_n) * rstd_n * gamma[c] + beta[c];
    if (lane == 0) {
        mean[n] = mean_n;
        rstd[n] = rstd_n;
    }
}

__global__ void
layernorm_rows_backward_kernel (float *dx /* [N, C] */, const float *dout /* [N, C] */,
                                const float *x /* [N, C] */, const float *gamma /* [C] */,
                                const float *mean /* [N] */, const float *rstd /* [N] */, int N,
                                int C)
{
    const int lane = threadIdx.x % 32;
    const size_t n = (size_t) blockIdx.x * LAYERNORM_ROWS_PER_BLOCK + threadIdx.x / 32;

    if (n >= (size_t) N)
        return;
    const float *x_n = x + n * C;        /* [C] */
    const float *dout_n = dout + n * C;  /* [C] */
    float *dx_n = dx + n * C;            /* [C] */
    const float mean_n = mean[n], rstd_n = rstd[n];
    float sum_g = 0.0f, sum_gx = 0.0f;

    for (int c = lane; c < C; c += 32) {
        const float g = dout_n[c] * gamma[c];
        sum_g += g;
        sum_gx += g * (x_n[c] - mean_n) * rstd_n;
    }
    const float mean_g = tsl_warp_sum (sum_g) / (float) C;
    const float mean_gx = tsl_warp_sum (sum_gx) / (float) C;
    for (int c = lane; c < C; c += 32) {
        const float xhat = (x_n[c] - mean_n) * rstd_n;
        dx_n[c] += rstd_n * (dout_n[c] * gamma[c] - mean_g - xhat * mean_gx);
    }
}

/* one block per channel c: dgamma[c] += sum dout * xhat, dbeta[c] += sum dout */
__global__ void
layernorm_param_backward_kernel (float *dgamma /* [C] */, float *dbeta /* [C] */,
                                 const float *dout /* [B, C, T] */, const float *x /* [B, C, T] */,
                                 const float *mean /* [B, T] */, const float *rstd /* [B, T] */,
                                 int B, int C, int T)
{
    const int c = blockIdx.x;
    const size_t count = (size_t) B * T;
    float acc_gamma = 0.0f, acc_beta = 0.0f;

    for (size_t i = threadIdx.x; i < count; i += blockDim.x) {
        const size_t b = i / T, t = i % T;
        const size_t idx = (b * C + c) * T + t;
        const float g = dout[idx];
        acc_gamma += g * (x[idx] - mean[i]) * rstd[i];
        acc_beta += g;
    }
    acc_gamma = tsl_block_sum (acc_gamma);
    acc_beta = tsl_block_sum (acc_beta);
    if (threadIdx.x == 0) {
        dgamma[c] += acc_gamma;
        dbeta[c] += acc_beta;
    }
}

/* ---- launchers ---- */

void
tsl_cuda_layernorm (TslBackend *be, float *out, float *mean, float *rstd, const float *x,
                    const float *gamma, const float *beta, int B, int C, int T, float eps)
{
    cudaStream_t stream = tsl_cuda_stream (be);

    if (B <= 0 || T <= 0)
        return;
    if (T == 1) {
        layernorm_rows_forward_kernel<<<TSL_CEIL_DIV (B, LAYERNORM_ROWS_PER_BLOCK),
                                        32 * LAYERNORM_ROWS_PER_BLOCK, 0, stream>>> (
            out, mean, rstd, x, gamma, beta, B, C, eps);
    } else {
        const dim3 grid (TSL_CEIL_DIV (T, LAYERNORM_TILE_T), B);
        const dim3 block (LAYERNORM_TILE_T, LAYERNORM_SLICES);
        layernorm_columns_forward_kernel<<<grid, block, 0, stream>>> (out, mean, rstd, x, gamma,
                                                                      beta, C, T, eps);
    }
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_layernorm_backward (TslBackend *be, float *dx, float *dgamma, float *dbeta,
                             const float *dout, const float *x, const float *gamma,
                             const float *mean, const float *rstd, int B, int C, int T)
{
    cudaStream_t stream = tsl_cuda_stream (be);

    if (B <= 0 || C <= 0 || T <= 0)
        return;
    if (T == 1) {
        layernorm_rows_backward_kernel<<<TSL_CEIL_DIV (B, LAYERNORM_ROWS_PER_BLOCK),
                                         32 * LAYERNORM_ROWS_PER_BLOCK, 0, stream>>> (
            dx, dout, x, gamma, mean, rstd, B, C);
    } else {
        const dim3 grid (TSL_CEIL_DIV (T, LAYERNORM_TILE_T), B);
        const dim3 block (LAYERNORM_TILE_T, LAYERNORM_SLICES);
        layernorm_columns_backward_kernel<<<grid, block, 0, stream>>> (dx, dout, x, gamma, mean,
                                                                       rstd, C, T);
    }
    if (!TSL_CUDA_CHECK_LAUNCH (be))
        return;
    layernorm_param_backward_kernel<<<C, TSL_CUDA_BLOCK, 0, stream>>> (dgamma, dbeta, dout, x,
                                                                       mean, rstd, B, C, T);
    TSL_CUDA_CHECK_LAUNCH (be);
}

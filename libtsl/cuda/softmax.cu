/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda/softmax.cu: softmax over the last axis of [rows, n], and its
 * backward. Semantics: TslSoftmaxFn in ../ops.h (CPU version:
 * cpu/softmax.c).
 *
 * One warp per row; lanes stride along the row and combine with shuffles.
 * The running maximum starts at -INFINITY, so -INFINITY entries get exactly
 * 0 and a row that is entirely -INFINITY gives zeros. The forward may run in
 * place (out == x; attention.cu relies on it): each lane reads an element in
 * the last pass right before writing it, and the earlier passes only read.
 * The backward adds out * (dout - sum(dout * out)) into dx.
 */
#include "cuda-ops.h"
#include "cuda-common.h"

/* rows per block: one warp each */
#define SOFTMAX_ROWS_PER_BLOCK 4

/* ---- kernels ---- */

__global__ void
softmax_kernel (float *out /* [rows, n] */, const float *x /* [rows, n] */, int rows, int n)
{
    const int lane = threadIdx.x % 32;
    const size_t row = (size_t) blockIdx.x * SOFTMAX_ROWS_PER_BLOCK + threadIdx.x / 32;

    if (row >= (size_t) rows)
        return;  /* the whole warp leaves together */
    const float *x_r = x + row * n;  /* [n] */
    float *out_r = out + row * n;    /* [n] */
    float max_r = -INFINITY, sum_r = 0.0f;

    /* pass 1: maximum */
    for (int j = lane; j < n; j += 32)
        max_r = fmaxf (max_r, x_r[j]);
    max_r = tsl_warp_max (max_r);
    if (max_r == -INFINITY) {
        for (int j = lane; j < n; j += 32)
            out_r[j] = 0.0f;
        return;
    }
    /* pass 2: sum of exponentials */
    for (int j = lane; j < n; j += 32)
        sum_r += expf (x_r[j] - max_r);
    sum_r = tsl_warp_sum (sum_r);
    /* pass 3: normalise */
    const float inv_sum = 1.0f / sum_r;
    for (int j = lane; j < n; j += 32)
        out_r[j] = expf (x_r[j] - max_r) * inv_sum;
}

__global__ void
softmax_backward_kernel (float *dx /* [rows, n] */, const float *dout /* [rows, n] */,
                         const float *out /* [rows, n] */, int rows, int n)
{
    const int lane = threadIdx.x % 32;
    const size_t row = (size_t) blockIdx.x * SOFTMAX_ROWS_PER_BLOCK + threadIdx.x / 32;

    if (row >= (size_t) rows)
        return;
    const float *dout_r = dout + row * n;  /* [n] */
    const float *out_r = out + row * n;    /* [n] */
    float *dx_r = dx + row * n;            /* [n] */
    float dot = 0.0f;

    for (int j = lane; j < n; j += 32)
        dot += dout_r[j] * out_r[j];
    dot = tsl_warp_sum (dot);
    for (int j = lane; j < n; j += 32)
        dx_r[j] += out_r[j] * (dout_r[j] - dot);
}

/* ---- launchers ---- */

void
tsl_cuda_softmax (TslBackend *be, float *out, const float *x, int rows, int n)
{
    if (rows <= 0 || n <= 0)
        return;
    softmax_kernel<<<TSL_CEIL_DIV (rows, SOFTMAX_ROWS_PER_BLOCK), 32 * SOFTMAX_ROWS_PER_BLOCK, 0,
                     tsl_cuda_stream (be)>>> (out, x, rows, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_softmax_backward (TslBackend *be, float *dx, const float *dout, const float *out,
                           int rows, int n)
{
    if (rows <= 0 || n <= 0)
        return;
    softmax_backward_kernel<<<TSL_CEIL_DIV (rows, SOFTMAX_ROWS_PER_BLOCK),
                              32 * SOFTMAX_ROWS_PER_BLOCK, 0, tsl_cuda_stream (be)>>> (
        dx, dout, out, rows, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

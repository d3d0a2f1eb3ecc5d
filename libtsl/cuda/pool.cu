/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda/pool.cu: down-sampling over time, channels-first [B, C, T]: max
 * pooling (ActionFormer's FPN down-sampling) with its backward, and the
 * nearest down-sampling of the padding masks. Semantics: TslMaxPool1dFn and
 * TslMaskDownsampleFn in ../ops.h; edge cases as the CPU version
 * cpu/pool.c (PyTorch's MaxPool1d):
 * - the window of output o covers input steps o * stride - padding + k for
 *   k < K; steps outside [0, T) act as -inf; the first maximum wins ties and
 *   a NaN wins over any number; argmax holds the winning step t (within the
 *   row), and the first step inside [0, T) when nothing beats -inf;
 * - the mask source index is computed in float as F.interpolate does:
 *   min((int) floorf(i * ((float) T / To)), T - 1), the scale being
 *   rounded on the host exactly as the CPU version rounds it.
 *
 * Forward ops overwrite their outputs. The backward adds dout into dx at the
 * saved argmax positions; overlapping windows can send two outputs to the
 * same input, so it adds with atomicAdd (the order of those few additions,
 * and so the last bit, may vary between runs).
 */
#include "cuda-ops.h"
#include "cuda-common.h"

/* ---- kernels ---- */

/* one thread per output (b, c, o) */
__global__ void
maxpool1d_kernel (float *out /* [B, C, To] */, int32_t *argmax /* [B, C, To] */,
                  const float *x /* [B, C, T] */, int T, int To, int K, int stride, int padding,
                  size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const size_t bc = idx / To;
    const int o = idx % To;
    const float *x_bc = x + bc * T;  /* [T] */
    const int start = o * stride - padding;
    const int lo = max (start, 0), hi = min (start + K, T);
    float best = -INFINITY;
    int best_t = lo;

    for (int t = lo; t < hi; t++) {
        const float v = x_bc[t];
        if (v > best || isnan (v)) {
            best = v;
            best_t = t;
        }
    }
    out[idx] = best;
    argmax[idx] = best_t;
}

/* one thread per output (b, c, o): dx[b, c, argmax] += dout */
__global__ void
maxpool1d_backward_kernel (float *dx /* [B, C, T] */, const float *dout /* [B, C, To] */,
                           const int32_t *argmax /* [B, C, To] */, int T, int To, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const size_t bc = idx / To;
    atomicAdd (dx + bc * T + argmax[idx], dout[idx]);
}

/* one thread per output (b, i) */
__global__ void
mask_downsample_kernel (float *out /* [B, To] */, const float *mask /* [B, T] */, int T, int To,
                        float scale, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const size_t b = idx / To;
    const int i = idx % To;
    const int src = min ((int) floorf ((float) i * scale), T - 1);
    out[idx] = mask[b * T + src];
}

/* ---- launchers ---- */

static unsigned int
flat_grid (size_t n)
{
    return (unsigned int) TSL_CEIL_DIV (n, (size_t) TSL_CUDA_BLOCK);
}

void
tsl_cuda_maxpool1d (TslBackend *be, float *out, int32_t *argmax, const float *x, int B, int C,
                    int T, int To, int K, int stride, int padding)
{
    const size_t n = (size_t) B * C * To;

    if (n == 0)
        return;
    maxpool1d_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (
        out, argmax, x, T, To, K, stride, padding, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_maxpool1d_backward (TslBackend *be, float *dx, const float *dout, const int32_t *argmax,
                             int B, int C, int T, int To)
{
    const size_t n = (size_t) B * C * To;

    if (n == 0)
        return;
    maxpool1d_backward_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (
        dx, dout, argmax, T, To, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_mask_downsample (TslBackend *be, float *out, const float *mask, int B, int T, int To)
{
    const size_t n = (size_t) B * To;
    const float scale = (float) T / (float) To;

    if (n == 0)
        return;
    mask_downsample_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (
        out, mask, T, To, scale, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

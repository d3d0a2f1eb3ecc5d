/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda/elementwise.cu: bias add, add, multiply, scale, per-channel scale and
 * the mean over tokens, with their backward ops. Semantics and layouts: the
 * "elementwise" section of ../ops.h (the CPU versions are cpu/elementwise.c
 * and cpu/mean.c). Per-channel tensors are channels-first [B, C, T].
 *
 * Forward ops overwrite their output (scale may run in place: each thread
 * reads its element before writing it). Backward ops add (+=) into every d*
 * buffer and skip the ones documented "or NULL" when NULL. Per-channel
 * gradients (dbias, ds) are reduced by one block per channel, which also
 * adds that channel's dx, so no two threads write the same element.
 */
#include "cuda-ops.h"
#include "cuda-common.h"

/* ---- kernels ---- */

__global__ void
bias_add_kernel (float *out /* [B, C, T] */, const float *x /* [B, C, T] */,
                 const float *bias /* [C] */, int C, int T, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    out[idx] = x[idx] + bias[(idx / T) % C];
}

__global__ void
channel_scale_kernel (float *out /* [B, C, T] */, const float *x /* [B, C, T] */,
                      const float *s /* [C] */, int C, int T, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    out[idx] = x[idx] * s[(idx / T) % C];
}

/* One block per channel c (blockIdx.x):
 * dx[b, c, t] += dout[b, c, t] * (s ? s[c] : 1)         (dx may be NULL)
 * dsum[c] += sum over b, t of dout * (x ? x[b, c, t] : 1) (dsum may be NULL) */
__global__ void
channel_backward_kernel (float *dx /* [B, C, T] or NULL */, float *dsum /* [C] or NULL */,
                         const float *dout /* [B, C, T] */, const float *x /* [B, C, T] or NULL */,
                         const float *s /* [C] or NULL */, int B, int C, int T)
{
    const int c = blockIdx.x;
    const size_t count = (size_t) B * T;
    const float s_c = s ? s[c] : 1.0f;
    float partial = 0.0f;

    for (size_t i = threadIdx.x; i < count; i += blockDim.x) {
        const size_t b = i / T, t = i % T;
        const size_t idx = (b * C + c) * T + t;
        const float g = dout[idx];

        partial += x ? g * x[idx] : g;
        if (dx)
            dx[idx] += g * s_c;
    }
    if (dsum == NULL)
        return;  /* uniform over the block: nobody reaches the barrier */
    const float total = tsl_block_sum (partial);
    if (threadIdx.x == 0)
        dsum[c] += total;
}

__global__ void
add_kernel (float *out /* [n] */, const float *a /* [n] */, const float *b /* [n] */, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    out[idx] = a[idx] + b[idx];
}

__global__ void
add_backward_kernel (float *da /* [n] or NULL */, float *db /* [n] or NULL */,
                     const float *dout /* [n] */, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    if (da)
        da[idx] += dout[idx];
    if (db)
        db[idx] += dout[idx];
}

__global__ void
mul_kernel (float *out /* [n] */, const float *a /* [n] */, const float *b /* [n] */, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    out[idx] = a[idx] * b[idx];
}

__global__ void
mul_backward_kernel (float *da /* [n] or NULL */, float *db /* [n] or NULL */,
                     const float *dout /* [n] */, const float *a /* [n] */,
                     const float *b /* [n] */, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    if (da)
        da[idx] += dout[idx] * b[idx];
    if (db)
        db[idx] += dout[idx] * a[idx];
}

/* out may equal x */
__global__ void
scale_kernel (float *out /* [n] */, const float *x /* [n] */, float s, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    out[idx] = s * x[idx];
}

__global__ void
scale_backward_kernel (float *dx /* [n] */, const float *dout /* [n] */, float s,
                       size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    dx[idx] += s * dout[idx];
}

/* one thread per (a, c); consecutive threads read consecutive c */
__global__ void
mean_kernel (float *out /* [A, C] */, const float *x /* [A, N, C] */, int A, int N, int C)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= (size_t) A * C)
        return;
    const size_t a = idx / C, c = idx % C;
    const float *x_a = x + a * N * C;  /* [N, C] */
    double sum = 0.0;

    for (int n = 0; n < N; n++)
        sum += x_a[(size_t) n * C + c];
    out[idx] = (float) (sum / N);
}

__global__ void
mean_backward_kernel (float *dx /* [A, N, C] */, const float *dout /* [A, C] */, int N, int C,
                      size_t total)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= total)
        return;
    const size_t a = idx / ((size_t) N * C), c = idx % C;
    dx[idx] += dout[a * C + c] / (float) N;
}

/* ---- launchers ---- */

static unsigned int
flat_grid (size_t n)
{
    return (unsigned int) TSL_CEIL_DIV (n, (size_t) TSL_CUDA_BLOCK);
}

void
tsl_cuda_bias_add (TslBackend *be, float *out, const float *x, const float *bias, int B, int C,
                   int T)
{
    const size_t n = (size_t) B * C * T;

    if (n == 0)
        return;
    bias_add_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (out, x, bias, C,
                                                                                 T, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_bias_add_backward (TslBackend *be, float *dx, float *dbias, const float *dout, int B,
                            int C, int T)
{
    if (C == 0)
        return;
    channel_backward_kernel<<<C, TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (dx, dbias, dout,
                                                                             NULL, NULL, B, C, T);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_add (TslBackend *be, float *out, const float *a, const float *b, size_t n)
{
    if (n == 0)
        return;
    add_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (out, a, b, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_add_backward (TslBackend *be, float *da, float *db, const float *dout, size_t n)
{
    if (n == 0 || (da == NULL && db == NULL))
        return;
    add_backward_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (da, db,
                                                                                     dout, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_mul (TslBackend *be, float *out, const float *a, const float *b, size_t n)
{
    if (n == 0)
        return;
    mul_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (out, a, b, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_mul_backward (TslBackend *be, float *da, float *db, const float *dout, const float *a,
                       const float *b, size_t n)
{
    if (n == 0 || (da == NULL && db == NULL))
        return;
    mul_backward_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (da, db, dout,
                                                                                     a, b, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_scale (TslBackend *be, float *out, const float *x, float s, size_t n)
{
    if (n == 0)
        return;
    scale_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (out, x, s, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_scale_backward (TslBackend *be, float *dx, const float *dout, float s, size_t n)
{
    if (n == 0)
        return;
    scale_backward_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (dx, dout,
                                                                                       s, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_channel_scale (TslBackend *be, float *out, const float *x, const float *s, int B, int C,
                        int T)
{
    const size_t n = (size_t) B * C * T;

    if (n == 0)
        return;
    channel_scale_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (out, x, s,
                                                                                      C, T, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_channel_scale_backward (TslBackend *be, float *dx, float *ds, const float *dout,
                                 const float *x, const float *s, int B, int C, int T)
{
    if (C == 0 || (dx == NULL && ds == NULL))
        return;
    channel_backward_kernel<<<C, TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (dx, ds, dout, x, s,
                                                                             B, C, T);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_mean (TslBackend *be, float *out, const float *x, int A, int N, int C)
{
    const size_t n = (size_t) A * C;

    if (n == 0)
        return;
    mean_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (out, x, A, N, C);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_mean_backward (TslBackend *be, float *dx, const float *dout, int A, int N, int C)
{
    const size_t total = (size_t) A * N * C;

    if (total == 0)
        return;
    mean_backward_kernel<<<flat_grid (total), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (
        dx, dout, N, C, total);
    TSL_CUDA_CHECK_LAUNCH (be);
}

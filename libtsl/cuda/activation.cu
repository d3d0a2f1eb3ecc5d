/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda/activation.cu: GELU (exact erf form, as torch.nn.GELU()), ReLU and
 * the logistic sigmoid over flat arrays, with their backward ops. Semantics:
 * TslActivationFn and TslActivationBackwardFn in ../ops.h (CPU version:
 * cpu/activation.c, whose formulas these follow term for term).
 *
 * Forward ops overwrite out (out may equal x). Backward ops add
 * dout * f'(.) into dx: GELU and ReLU read the forward input x, sigmoid reads
 * the forward output y. ReLU's derivative at exactly 0 is 0, as in PyTorch.
 */
#include "cuda-ops.h"
#include "cuda-common.h"

#define INV_SQRT_2 0.70710678118654752440f    /* 1 / sqrt(2) */
#define INV_SQRT_2PI 0.39894228040143267794f  /* 1 / sqrt(2 pi) */

/* ---- kernels ---- */

__global__ void
gelu_kernel (float *out /* [n] */, const float *x /* [n] */, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const float x_i = x[idx];
    out[idx] = 0.5f * x_i * (1.0f + erff (x_i * INV_SQRT_2));
}

/* d/dx [x Phi(x)] = Phi(x) + x phi(x) */
__global__ void
gelu_backward_kernel (float *dx /* [n] */, const float *dout /* [n] */,
                      const float *x /* [n] */, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const float x_i = x[idx];
    const float cdf = 0.5f * (1.0f + erff (x_i * INV_SQRT_2));
    const float pdf = INV_SQRT_2PI * expf (-0.5f * x_i * x_i);
    dx[idx] += dout[idx] * (cdf + x_i * pdf);
}

__global__ void
relu_kernel (float *out /* [n] */, const float *x /* [n] */, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const float x_i = x[idx];
    out[idx] = x_i < 0.0f ? 0.0f : x_i;  /* NaN passes through */
}

__global__ void
relu_backward_kernel (float *dx /* [n] */, const float *dout /* [n] */,
                      const float *x /* [n] */, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    dx[idx] += x[idx] > 0.0f ? dout[idx] : 0.0f;
}

/* for very negative x, expf overflows to +inf and the result is a clean 0 */
__global__ void
sigmoid_kernel (float *out /* [n] */, const float *x /* [n] */, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    out[idx] = 1.0f / (1.0f + expf (-x[idx]));
}

__global__ void
sigmoid_backward_kernel (float *dx /* [n] */, const float *dout /* [n] */,
                         const float *y /* [n] */, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const float y_i = y[idx];
    dx[idx] += dout[idx] * y_i * (1.0f - y_i);
}

/* ---- launchers ---- */

static unsigned int
flat_grid (size_t n)
{
    return (unsigned int) TSL_CEIL_DIV (n, (size_t) TSL_CUDA_BLOCK);
}

void
tsl_cuda_gelu (TslBackend *be, float *out, const float *x, size_t n)
{
    if (n == 0)
        return;
    gelu_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (out, x, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_gelu_backward (TslBackend *be, float *dx, const float *dout, const float *x, size_t n)
{
    if (n == 0)
        return;
    gelu_backward_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (dx, dout, x,
                                                                                      n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_relu (TslBackend *be, float *out, const float *x, size_t n)
{
    if (n == 0)
        return;
    relu_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (out, x, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_relu_backward (TslBackend *be, float *dx, const float *dout, const float *x, size_t n)
{
    if (n == 0)
        return;
    relu_backward_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (dx, dout, x,
                                                                                      n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_sigmoid (TslBackend *be, float *out, const float *x, size_t n)
{
    if (n == 0)
        return;
    sigmoid_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (out, x, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_sigmoid_backward (TslBackend *be, float *dx, const float *dout, const float *y,
                           size_t n)
{
    if (n == 0)
        return;
    sigmoid_backward_kernel<<<flat_grid (n), TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (dx, dout,
                                                                                         y, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda/optimizer.cu: what a training step does to the parameters once the
 * gradients are known (TslSumSquaresFn, TslAdamWFn, TslEmaFn in ../ops.h;
 * CPU version: cpu/optimizer.c, whose float operations these repeat):
 * - sum_squares: squared L2 norm, accumulated in double;
 * - adamw: PyTorch 1.13's _single_tensor_adamw; the scalar factors are
 *   computed on the host in double and rounded to float once, as on the CPU;
 * - ema: ema = decay * ema + (1 - decay) * param.
 * Layout: flat arrays of n floats; param, m, v and ema are updated in place.
 *
 * This file also holds the deterministic two-pass sum used by the losses
 * (tsl_cuda_sum_partials in cuda-common.h): each block of the first pass
 * writes one double partial sum into the workspace, and a single block adds
 * the partials in a fixed order and stores the float result.
 */
#include "cuda-ops.h"
#include "cuda-common.h"

/* ---- kernels ---- */

/* one block: out[0] = (float) sum of partials[0 .. n) */
__global__ void
sum_partials_kernel (float *out /* [1] */, const double *partials /* [n] */, int n)
{
    double acc = 0.0;

    for (int i = threadIdx.x; i < n; i += blockDim.x)
        acc += partials[i];
    acc = tsl_block_sum (acc);
    if (threadIdx.x == 0)
        out[0] = (float) acc;
}

/* grid-stride: partials[block] = sum of x^2 over the block's elements */
__global__ void
sum_squares_kernel (double *partials /* [gridDim.x] */, const float *x /* [n] */, size_t n)
{
    double acc = 0.0;

    for (size_t i = (size_t) blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t) gridDim.x * blockDim.x)
        acc += (double) x[i] * x[i];
    acc = tsl_block_sum (acc);
    if (threadIdx.x == 0)
        partials[blockIdx.x] = acc;
}

__global__ void
adamw_kernel (float *param /* [n] */, float *m /* [n] */, float *v /* [n] */,
              const float *grad /* [n] */, size_t n, float beta1, float beta2, float one_minus_b1,
              float one_minus_b2, float eps, float decay, float neg_step_size,
              float bias_correction2_sqrt)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const float g = grad[idx];
    const float m_i = m[idx] * beta1 + one_minus_b1 * g;
    const float v_i = v[idx] * beta2 + one_minus_b2 * g * g;
    const float denom = sqrtf (v_i) / bias_correction2_sqrt + eps;

    m[idx] = m_i;
    v[idx] = v_i;
    param[idx] = param[idx] * decay + (neg_step_size * m_i) / denom;
}

__global__ void
ema_kernel (float *ema /* [n] */, const float *param /* [n] */, size_t n, float decay, float take)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    ema[idx] = decay * ema[idx] + take * param[idx];
}

/* ---- launchers ---- */

int
tsl_cuda_reduce_blocks (size_t n)
{
    return (int) CLAMP (TSL_CEIL_DIV (n, (size_t) TSL_CUDA_BLOCK), (size_t) 1,
                        (size_t) TSL_CUDA_REDUCE_MAX_BLOCKS);
}

void
tsl_cuda_sum_partials (TslBackend *be, float *out, const double *partials, int n_partials)
{
    sum_partials_kernel<<<1, TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (out, partials,
                                                                         n_partials);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_sum_squares (TslBackend *be, float *out, const float *x, size_t n)
{
    const int blocks = tsl_cuda_reduce_blocks (n);
    double *partials = (double *) tsl_backend_workspace (be, blocks * sizeof (double));

    if (partials == NULL)
        return;
    sum_squares_kernel<<<blocks, TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (partials, x, n);
    if (TSL_CUDA_CHECK_LAUNCH (be))
        tsl_cuda_sum_partials (be, out, partials, blocks);
}

void
tsl_cuda_adamw (TslBackend *be, float *param, float *m, float *v, const float *grad, size_t n,
                double lr, double beta1_d, double beta2_d, double eps_d, double weight_decay,
                int step)
{
    const float decay = (float) (1.0 - lr * weight_decay);
    const float beta1 = (float) beta1_d, beta2 = (float) beta2_d, eps = (float) eps_d;
    const float one_minus_b1 = (float) (1.0 - beta1_d);
    const float one_minus_b2 = (float) (1.0 - beta2_d);
    const double bias_correction1 = 1.0 - pow (beta1_d, step);
    const double bias_correction2 = 1.0 - pow (beta2_d, step);
    const float neg_step_size = (float) (-lr / bias_correction1);
    const float bias_correction2_sqrt = (float) sqrt (bias_correction2);

    if (n == 0)
        return;
    adamw_kernel<<<(unsigned int) TSL_CEIL_DIV (n, (size_t) TSL_CUDA_BLOCK), TSL_CUDA_BLOCK, 0,
                   tsl_cuda_stream (be)>>> (param, m, v, grad, n, beta1, beta2, one_minus_b1,
                                            one_minus_b2, eps, decay, neg_step_size,
                                            bias_correction2_sqrt);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_ema (TslBackend *be, float *ema, const float *param, size_t n, double decay_d)
{
    const float decay = (float) decay_d;
    const float take = (float) (1.0 - decay_d);

    if (n == 0)
        return;
    ema_kernel<<<(unsigned int) TSL_CEIL_DIV (n, (size_t) TSL_CUDA_BLOCK), TSL_CUDA_BLOCK, 0,
                 tsl_cuda_stream (be)>>> (ema, param, n, decay, take);
    TSL_CUDA_CHECK_LAUNCH (be);
}

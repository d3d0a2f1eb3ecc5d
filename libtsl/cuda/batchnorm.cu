/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda/batchnorm.cu: batch normalisation in inference form (running
 * statistics), channels-first [B, C, S] with S the flattened spatial size,
 * as torch.nn.BatchNorm1d/2d in eval mode. Semantics: TslBatchNormFn in
 * ../ops.h (CPU version: cpu/batchnorm.c). Overwrites out; there is no
 * backward op.
 */
#include "cuda-ops.h"
#include "cuda-common.h"

/* ---- kernels ---- */

__global__ void
batchnorm_kernel (float *out /* [B, C, S] */, const float *x /* [B, C, S] */,
                  const float *mean /* [C] */, const float *var /* [C] */,
                  const float *gamma /* [C] */, const float *beta /* [C] */, int C, int S,
                  float eps, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const size_t c = (idx / S) % C;
    const float scale_c = gamma[c] / sqrtf (var[c] + eps);
    out[idx] = (x[idx] - mean[c]) * scale_c + beta[c];
}

/* ---- launchers ---- */

void
tsl_cuda_batchnorm (TslBackend *be, float *out, const float *x, const float *mean,
                    const float *var, const float *gamma, const float *beta, int B, int C, int S,
                    float eps)
{
    const size_t n = (size_t) B * C * S;

    if (n == 0)
        return;
    batchnorm_kernel<<<(unsigned int) TSL_CEIL_DIV (n, (size_t) TSL_CUDA_BLOCK), TSL_CUDA_BLOCK, 0,
                       tsl_cuda_stream (be)>>> (out, x, mean, var, gamma, beta, C, S, eps, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/activation.c: GELU (the exact erf form of torch.nn.GELU(), not the
 * tanh approximation), ReLU and the logistic sigmoid, elementwise over flat
 * arrays, with their backward ops. Semantics: TslActivationFn and
 * TslActivationBackwardFn in ../ops.h.
 *
 * Forward ops overwrite out (out may equal x). Backward ops add
 * dout * f'(.) into dx: GELU and ReLU read the forward input x, sigmoid reads
 * the forward output y. ReLU's derivative at exactly 0 is taken as 0, as in
 * PyTorch.
 */
#include <math.h>

#include "cpu-ops.h"

/* below this many elements, starting threads costs more than it saves */
#define ACTIVATION_PARALLEL_MIN 16384

#define INV_SQRT_2 0.70710678118654752440f     /* 1 / sqrt(2) */
#define INV_SQRT_2PI 0.39894228040143267794f   /* 1 / sqrt(2 pi) */

void
tsl_cpu_gelu (TslBackend *be, float *out, const float *x, size_t n)
{
    #pragma omp parallel for if (n >= ACTIVATION_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = 0.5f * x[i] * (1.0f + erff (x[i] * INV_SQRT_2));
}

void
tsl_cpu_gelu_backward (TslBackend *be, float *dx, const float *dout, const float *x, size_t n)
{
    /* d/dx [x Phi(x)] = Phi(x) + x phi(x), with Phi the normal CDF and phi its density */
    #pragma omp parallel for if (n >= ACTIVATION_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) {
        const float cdf = 0.5f * (1.0f + erff (x[i] * INV_SQRT_2));
        const float pdf = INV_SQRT_2PI * expf (-0.5f * x[i] * x[i]);
        dx[i] += dout[i] * (cdf + x[i] * pdf);
    }
}

void
tsl_cpu_relu (TslBackend *be, float *out, const float *x, size_t n)
{
    #pragma omp parallel for simd if (n >= ACTIVATION_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] < 0.0f ? 0.0f : x[i];  /* NaN passes through, as in PyTorch */
}

void
tsl_cpu_relu_backward (TslBackend *be, float *dx, const float *dout, const float *x, size_t n)
{
    #pragma omp parallel for simd if (n >= ACTIVATION_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        dx[i] += x[i] > 0.0f ? dout[i] : 0.0f;
}

void
tsl_cpu_sigmoid (TslBackend *be, float *out, const float *x, size_t n)
{
    /* for very negative x, expf overflows to +inf and the result is a clean 0 */
    #pragma omp parallel for if (n >= ACTIVATION_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = 1.0f / (1.0f + expf (-x[i]));
}

void
tsl_cpu_sigmoid_backward (TslBackend *be, float *dx, const float *dout, const float *y, size_t n)
{
    #pragma omp parallel for simd if (n >= ACTIVATION_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        dx[i] += dout[i] * y[i] * (1.0f - y[i]);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/optimizer.c: what a training step does to the parameters once the
 * gradients are known (TslSumSquaresFn, TslAdamWFn, TslEmaFn in ../ops.h).
 *
 * - sum_squares: squared L2 norm of one tensor, accumulated in double; the
 *   caller adds those of all tensors, takes the root and scales the
 *   gradients, as torch.nn.utils.clip_grad_norm_ does.
 * - adamw: PyTorch 1.13's _single_tensor_adamw (torch/optim/adamw.py) in
 *   its order of float32 operations: decay the parameter, update both
 *   moments, then p += (-step_size * m) / (sqrt(v) / sqrt(1 - b2^step) + eps)
 *   with step_size = lr / (1 - b1^step). The scalar factors are computed in
 *   double, as Python does, and rounded to float once.
 * - ema: the weight average of ActionFormer's ModelEma,
 *   ema = decay * ema + (1 - decay) * param.
 *
 * Layout: flat float arrays of n elements. param, m, v and ema are updated
 * in place; grad and param (for ema) are read only.
 */
#include <math.h>

#include "cpu-ops.h"

void
tsl_cpu_sum_squares (TslBackend *be, float *out, const float *x, size_t n)
{
    double sum = 0.0;

#pragma omp parallel for reduction(+ : sum)
    for (size_t i = 0; i < n; i++)
        sum += (double) x[i] * x[i];
    out[0] = (float) sum;
}

void
tsl_cpu_adamw (TslBackend *be, float *param, float *m, float *v, const float *grad, size_t n,
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

#pragma omp parallel for
    for (size_t i = 0; i < n; i++) {
        const float g = grad[i];
        const float m_i = m[i] * beta1 + one_minus_b1 * g;
        const float v_i = v[i] * beta2 + one_minus_b2 * g * g;
        const float denom = sqrtf (v_i) / bias_correction2_sqrt + eps;

        m[i] = m_i;
        v[i] = v_i;
        param[i] = param[i] * decay + (neg_step_size * m_i) / denom;
    }
}

void
tsl_cpu_ema (TslBackend *be, float *ema, const float *param, size_t n, double decay_d)
{
    const float decay = (float) decay_d;
    const float take = (float) (1.0 - decay_d);

#pragma omp parallel for
    for (size_t i = 0; i < n; i++)
        ema[i] = decay * ema[i] + take * param[i];
}

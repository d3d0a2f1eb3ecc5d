/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda/losses.cu: the two training losses of ActionFormer and their
 * gradients, as summed losses over points (TslFocalLossFn, TslDiouLossFn in
 * ../ops.h). The per-element formulas are those of the CPU version
 * cpu/losses.c, term for term (sigmoid_focal_loss and ctr_diou_loss_1d of
 * the official code, reduction 'sum'):
 * - focal: stable BCE-with-logits ce = max(x, 0) - x y + log(1 + exp(-|x|)),
 *   1 - p taken as sigmoid(-x), a_t only when alpha >= 0;
 * - DIoU: union and enclosing length clamped from below at eps;
 * - ties of min / max send half of the gradient to each side, and
 *   clamp(min=eps) passes the gradient when its input is >= eps (PyTorch).
 *
 * Layout: logits and targets [N, K], one row per point; pred and target
 * [N, 2] as (left, right) distances; valid / weight [N] multiply a point's
 * term (0 skips it, NULL means all 1).
 *
 * Forward: each element's term is computed in float, summed in double by a
 * grid-stride kernel into per-block partials (workspace) and then by one
 * block in a fixed order (tsl_cuda_sum_partials), so the loss does not
 * depend on timing; loss[0] is overwritten. Backward ADDS
 * dloss * d(loss)/d(input) into dlogits / dpred, one thread per element.
 */
#include "cuda-ops.h"
#include "cuda-common.h"

/* ---- kernels ---- */

typedef struct {
    float p;    /* sigmoid(x) */
    float pn;   /* 1 - p, computed as sigmoid(-x) */
    float ce;   /* BCE-with-logits */
    float q;    /* 1 - p_t = p (1 - y) + (1 - p) y */
    float a_t;  /* alpha y + (1 - alpha)(1 - y), or 1 when alpha < 0 */
} FocalTerms;

__device__ __forceinline__ FocalTerms
focal_terms (float x, float y, float alpha)
{
    FocalTerms f;

    f.p = 1.0f / (1.0f + expf (-x));
    f.pn = 1.0f / (1.0f + expf (x));
    f.ce = fmaxf (x, 0.0f) - x * y + log1pf (expf (-fabsf (x)));
    f.q = f.p * (1.0f - y) + f.pn * y;
    f.a_t = alpha >= 0.0f ? alpha * y + (1.0f - alpha) * (1.0f - y) : 1.0f;
    return f;
}

/* grid-stride over the N * K elements: partials[block] = sum of w a_t ce q^gamma */
__global__ void
focal_loss_kernel (double *partials /* [gridDim.x] */, const float *logits /* [N, K] */,
                   const float *targets /* [N, K] */, const float *valid /* [N] or NULL */, int K,
                   float alpha, float gamma, size_t n)
{
    double acc = 0.0;

    for (size_t i = (size_t) blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t) gridDim.x * blockDim.x) {
        const float w = valid ? valid[i / K] : 1.0f;

        if (w == 0.0f)
            continue;
        const FocalTerms f = focal_terms (logits[i], targets[i], alpha);
        acc += (double) w * (f.a_t * f.ce * powf (f.q, gamma));
    }
    acc = tsl_block_sum (acc);
    if (threadIdx.x == 0)
        partials[blockIdx.x] = acc;
}

/* d/dx [a_t ce q^gamma] = a_t ((p - y) q^gamma + ce gamma q^(gamma - 1) dq/dx),
 * dq/dx = (1 - 2 y) p (1 - p); the second part is 0 for gamma = 0 and q = 0 */
__global__ void
focal_loss_backward_kernel (float *dlogits /* [N, K] */, const float *logits /* [N, K] */,
                            const float *targets /* [N, K] */, const float *valid /* [N] or NULL */,
                            int K, float alpha, float gamma, float dloss, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const float w = valid ? valid[idx / K] : 1.0f;
    if (w == 0.0f)
        return;
    const float y = targets[idx];
    const FocalTerms f = focal_terms (logits[idx], y, alpha);
    float grad = (f.p - y) * powf (f.q, gamma);

    if (gamma != 0.0f && f.q > 0.0f) {
        const float dq = (1.0f - 2.0f * y) * f.p * f.pn;
        grad += f.ce * gamma * powf (f.q, gamma - 1.0f) * dq;
    }
    dlogits[idx] += dloss * w * f.a_t * grad;
}

/* grid-stride over points: partials[block] = sum of w (1 - i/U + (rho/C)^2) */
__global__ void
diou_loss_kernel (double *partials /* [gridDim.x] */, const float *pred /* [N, 2] */,
                  const float *target /* [N, 2] */, const float *weight /* [N] or NULL */, int N,
                  float eps)
{
    double acc = 0.0;

    for (int n = blockIdx.x * blockDim.x + threadIdx.x; n < N; n += gridDim.x * blockDim.x) {
        const float w = weight ? weight[n] : 1.0f;

        if (w == 0.0f)
            continue;
        const float lp = pred[2 * n], rp = pred[2 * n + 1];
        const float lg = target[2 * n], rg = target[2 * n + 1];
        const float inter = fminf (lp, lg) + fminf (rp, rg);
        const float uni = (lp + rp) + (lg + rg) - inter;
        const float enclose = fmaxf (lp, lg) + fmaxf (rp, rg);
        const float rho = 0.5f * (rp - lp - rg + lg);
        const float rho_c = rho / fmaxf (enclose, eps);

        acc += (double) w * (1.0f - inter / fmaxf (uni, eps) + rho_c * rho_c);
    }
    acc = tsl_block_sum (acc);
    if (threadIdx.x == 0)
        partials[blockIdx.x] = acc;
}

/* d min(a, b) / da and d max(a, b) / da, with PyTorch's even split on ties */
__device__ __forceinline__ float
min_grad (float a, float b)
{
    return a < b ? 1.0f : (a == b ? 0.5f : 0.0f);
}

__device__ __forceinline__ float
max_grad (float a, float b)
{
    return a > b ? 1.0f : (a == b ? 0.5f : 0.0f);
}

/* one thread per point; the derivation is in cpu/losses.c */
__global__ void
diou_loss_backward_kernel (float *dpred /* [N, 2] */, const float *pred /* [N, 2] */,
                           const float *target /* [N, 2] */, const float *weight /* [N] or NULL */,
                           int N, float eps, float dloss)
{
    const int n = blockIdx.x * blockDim.x + threadIdx.x;

    if (n >= N)
        return;
    const float w = weight ? weight[n] : 1.0f;
    if (w == 0.0f)
        return;
    const float lp = pred[2 * n], rp = pred[2 * n + 1];
    const float lg = target[2 * n], rg = target[2 * n + 1];
    const float inter = fminf (lp, lg) + fminf (rp, rg);
    const float uni = (lp + rp) + (lg + rg) - inter;
    const float enclose = fmaxf (lp, lg) + fmaxf (rp, rg);
    const float rho = 0.5f * (rp - lp - rg + lg);
    const float U = fmaxf (uni, eps), C = fmaxf (enclose, eps);

    /* partial derivatives of the loss with respect to i, u, c and rho */
    const float d_inter = -1.0f / U;
    const float d_uni = uni >= eps ? inter / (U * U) : 0.0f;
    const float d_enclose = enclose >= eps ? -2.0f * rho * rho / (C * C * C) : 0.0f;
    const float d_rho = 2.0f * rho / (C * C);

    const float di_l = min_grad (lp, lg), di_r = min_grad (rp, rg);
    const float dc_l = max_grad (lp, lg), dc_r = max_grad (rp, rg);
    const float g_l = d_inter * di_l + d_uni * (1.0f - di_l) + d_enclose * dc_l - 0.5f * d_rho;
    const float g_r = d_inter * di_r + d_uni * (1.0f - di_r) + d_enclose * dc_r + 0.5f * d_rho;

    dpred[2 * n] += dloss * w * g_l;
    dpred[2 * n + 1] += dloss * w * g_r;
}

/* ---- launchers ---- */

void
tsl_cuda_focal_loss (TslBackend *be, float *loss, const float *logits, const float *targets,
                     const float *valid, int N, int K, float alpha, float gamma)
{
    const size_t n = (size_t) N * K;
    const int blocks = tsl_cuda_reduce_blocks (n);
    double *partials = (double *) tsl_backend_workspace (be, blocks * sizeof (double));

    if (partials == NULL)
        return;
    focal_loss_kernel<<<blocks, TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (
        partials, logits, targets, valid, K, alpha, gamma, n);
    if (TSL_CUDA_CHECK_LAUNCH (be))
        tsl_cuda_sum_partials (be, loss, partials, blocks);
}

void
tsl_cuda_focal_loss_backward (TslBackend *be, float *dlogits, const float *logits,
                              const float *targets, const float *valid, int N, int K, float alpha,
                              float gamma, float dloss)
{
    const size_t n = (size_t) N * K;

    if (n == 0)
        return;
    focal_loss_backward_kernel<<<(unsigned int) TSL_CEIL_DIV (n, (size_t) TSL_CUDA_BLOCK),
                                 TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (
        dlogits, logits, targets, valid, K, alpha, gamma, dloss, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_diou_loss (TslBackend *be, float *loss, const float *pred, const float *target,
                    const float *weight, int N, float eps)
{
    const int blocks = tsl_cuda_reduce_blocks ((size_t) MAX (N, 0));
    double *partials = (double *) tsl_backend_workspace (be, blocks * sizeof (double));

    if (partials == NULL)
        return;
    diou_loss_kernel<<<blocks, TSL_CUDA_BLOCK, 0, tsl_cuda_stream (be)>>> (partials, pred, target,
                                                                           weight, N, eps);
    if (TSL_CUDA_CHECK_LAUNCH (be))
        tsl_cuda_sum_partials (be, loss, partials, blocks);
}

void
tsl_cuda_diou_loss_backward (TslBackend *be, float *dpred, const float *pred, const float *target,
                             const float *weight, int N, float eps, float dloss)
{
    if (N <= 0)
        return;
    diou_loss_backward_kernel<<<TSL_CEIL_DIV (N, TSL_CUDA_BLOCK), TSL_CUDA_BLOCK, 0,
                                tsl_cuda_stream (be)>>> (dpred, pred, target, weight, N, eps,
                                                         dloss);
    TSL_CUDA_CHECK_LAUNCH (be);
}

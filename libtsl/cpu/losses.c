/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/losses.c: the two training losses of ActionFormer and their gradients,
 * as summed losses over points (TslFocalLossFn, TslDiouLossFn in ../ops.h).
 *
 * They reproduce sigmoid_focal_loss and ctr_diou_loss_1d of the official
 * ActionFormer code (libs/modeling/losses.py, reduction 'sum'):
 * - focal: BCE-with-logits in its stable form
 *   ce = max(x, 0) - x y + log(1 + exp(-|x|)); targets may be soft; the
 *   class weight a_t only applies when alpha >= 0;
 * - DIoU: the union and the enclosing length are clamped from below at eps
 *   before they divide.
 * Each per-element term is computed in float (1 - p is taken as
 * sigmoid(-x), so it keeps its precision when p is near 1); the sums
 * accumulate in double and one float is written to loss[0].
 *
 * Layout: logits and targets [N, K] row-major, one row per point;
 * pred and target [N, 2] as (left, right) distances; valid / weight [N]
 * multiply a point's term (0 skips it, NULL means all 1).
 *
 * Backward ops ADD dloss * d(loss)/d(input) into dlogits / dpred.
 * Non-smooth points follow PyTorch autograd: torch.min / torch.max of two
 * equal values send half of the gradient to each side, and clamp(min=eps)
 * passes the gradient when its input is >= eps.
 */
#include <math.h>

#include "cpu-ops.h"

/* ---- sigmoid focal loss ---- */

typedef struct {
    float p;    /* sigmoid(x) */
    float pn;   /* 1 - p, computed as sigmoid(-x) */
    float ce;   /* BCE-with-logits */
    float q;    /* 1 - p_t = p (1 - y) + (1 - p) y */
    float a_t;  /* alpha y + (1 - alpha)(1 - y), or 1 when alpha < 0 */
} FocalTerms;

static inline FocalTerms
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

void
tsl_cpu_focal_loss (TslBackend *be, float *loss, const float *logits, const float *targets,
                    const float *valid, int N, int K, float alpha, float gamma)
{
    double sum = 0.0;

#pragma omp parallel for reduction(+ : sum)
    for (int n = 0; n < N; n++) {
        const float w = valid != NULL ? valid[n] : 1.0f;
        const float *x_n = logits + (size_t) n * K;   /* [K] */
        const float *y_n = targets + (size_t) n * K;  /* [K] */
        double row = 0.0;

        if (w == 0.0f)
            continue;
        for (int k = 0; k < K; k++) {
            FocalTerms f = focal_terms (x_n[k], y_n[k], alpha);
            row += f.a_t * f.ce * powf (f.q, gamma);
        }
        sum += w * row;
    }
    loss[0] = (float) sum;
}

/* d/dx [a_t ce q^gamma] = a_t ((p - y) q^gamma + ce gamma q^(gamma - 1) dq/dx)
 * with dce/dx = p - y and dq/dx = (1 - 2 y) p (1 - p). The second part is 0
 * for gamma = 0 (as PyTorch's pow backward) and where q = 0. */
void
tsl_cpu_focal_loss_backward (TslBackend *be, float *dlogits, const float *logits,
                             const float *targets, const float *valid, int N, int K,
                             float alpha, float gamma, float dloss)
{
#pragma omp parallel for
    for (int n = 0; n < N; n++) {
        const float w = valid != NULL ? valid[n] : 1.0f;
        const float *x_n = logits + (size_t) n * K;   /* [K] */
        const float *y_n = targets + (size_t) n * K;  /* [K] */
        float *dx_n = dlogits + (size_t) n * K;       /* [K] */

        if (w == 0.0f)
            continue;
        for (int k = 0; k < K; k++) {
            const float y = y_n[k];
            FocalTerms f = focal_terms (x_n[k], y, alpha);
            float grad = (f.p - y) * powf (f.q, gamma);

            if (gamma != 0.0f && f.q > 0.0f) {
                float dq = (1.0f - 2.0f * y) * f.p * f.pn;
                grad += f.ce * gamma * powf (f.q, gamma - 1.0f) * dq;
            }
            dx_n[k] += dloss * w * f.a_t * grad;
        }
    }
}

/* ---- 1-D centre DIoU loss ---- */

/* d min(a, b) / da, with PyTorch's even split on ties */
static inline float
min_grad (float a, float b)
{
    return a < b ? 1.0f : (a == b ? 0.5f : 0.0f);
}

/* d max(a, b) / da, with PyTorch's even split on ties */
static inline float
max_grad (float a, float b)
{
    return a > b ? 1.0f : (a == b ? 0.5f : 0.0f);
}

void
tsl_cpu_diou_loss (TslBackend *be, float *loss, const float *pred, const float *target,
                   const float *weight, int N, float eps)
{
    double sum = 0.0;

#pragma omp parallel for reduction(+ : sum)
    for (int n = 0; n < N; n++) {
        const float w = weight != NULL ? weight[n] : 1.0f;
        const float lp = pred[2 * n], rp = pred[2 * n + 1];
        const float lg = target[2 * n], rg = target[2 * n + 1];

        if (w == 0.0f)
            continue;
        const float inter = fminf (lp, lg) + fminf (rp, rg);
        const float uni = (lp + rp) + (lg + rg) - inter;
        const float enclose = fmaxf (lp, lg) + fmaxf (rp, rg);
        const float rho = 0.5f * (rp - lp - rg + lg);
        const float rho_c = rho / fmaxf (enclose, eps);

        sum += w * (1.0f - inter / fmaxf (uni, eps) + rho_c * rho_c);
    }
    loss[0] = (float) sum;
}

/* With U = max(u, eps), C = max(c, eps):
 * dL/dlp = -di/U + i/U^2 [u >= eps] du - rho/C^2 - 2 rho^2/C^3 [c >= eps] dc
 * where di = dmin(lp, lg), du = 1 - di, dc = dmax(lp, lg); the same for rp
 * with +rho/C^2 (rho grows with rp and shrinks with lp). */
void
tsl_cpu_diou_loss_backward (TslBackend *be, float *dpred, const float *pred, const float *target,
                            const float *weight, int N, float eps, float dloss)
{
#pragma omp parallel for
    for (int n = 0; n < N; n++) {
        const float w = weight != NULL ? weight[n] : 1.0f;
        const float lp = pred[2 * n], rp = pred[2 * n + 1];
        const float lg = target[2 * n], rg = target[2 * n + 1];

        if (w == 0.0f)
            continue;
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
}

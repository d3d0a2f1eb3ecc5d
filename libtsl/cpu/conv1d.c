/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/conv1d.c: 1-D convolution over time, forward and backward, as
 * PyTorch's nn.Conv1d (zero padding on both ends, stride, groups) followed
 * by ActionFormer's MaskedConv1D multiplication by the output mask.
 * Layout and semantics: TslConv1dFn in ../ops.h; x is [B, Cin, Tin], w is
 * [Cout, Cin / groups, K], out is [B, Cout, Tout].
 *
 * Four forward paths:
 * - pointwise (K = 1, stride 1, no padding): x[b] is already the column
 *   matrix, so each group is one sgemm;
 * - depthwise (groups = Cin = Cout > 1): direct loops along t, in parallel
 *   over channels, bias and mask applied while the row is in L1;
 * - shifted taps (stride 1, groups 1, Cout < Tout): the weights split per
 *   tap into the workspace, w_tap[k] = w[:, :, k], then one sgemm per tap
 *   on a strided view of x shifted by k - padding, accumulating (beta 1)
 *   over the output times whose tap reads inside x. This skips im2col's
 *   K-fold copy of x, which moves more memory than the weight split when
 *   Cout < Tout;
 * - everything else: im2col of one batch item into the workspace,
 *   col[i * K + k, t] = x[b, i, t * stride - padding + k], then one sgemm
 *   per group, out[g] = w[g] @ col[g].
 *
 * Backward multiplies dout by the mask first and ADDS into dx, dw and
 * dbias (the caller zeroes them), dbias += sum of dout, on the forward's
 * paths:
 * - shifted taps (same condition): per tap k, over the output times whose
 *   tap reads inside x, dw_tap[k] += dout @ (x shifted by k - padding)^T
 *   summed over the batch in the workspace and then added into dw[:, :, k],
 *   and dx shifted by k - padding += w_tap[k]^T @ dout (beta 1 straight
 *   into a strided view of dx), so neither the column matrix nor its
 *   gradient is ever written;
 * - otherwise dw[g] += dout[g] @ col[g]^T, and dcol[g] = w[g]^T @ dout[g]
 *   scattered back into dx (col2im).
 */
#include <cblas.h>
#include <string.h>

#include "cpu-ops.h"
#include "vector-math.h"

/* The output times t whose tap k reads inside x, [*t_begin, *t_end):
 * 0 <= t * stride - padding + k < Tin. */
static void
conv1d_tap_range (int k, int stride, int padding, int Tin, int Tout, int *t_begin, int *t_end)
{
    int first = padding - k;           /* smallest allowed t * stride */
    int last = Tin - 1 + padding - k;  /* largest allowed t * stride */
    int begin = first > 0 ? (first + stride - 1) / stride : 0;
    int end = last >= 0 ? MIN (last / stride + 1, Tout) : 0;

    *t_begin = MIN (begin, end);
    *t_end = end;
}

static gboolean
conv1d_is_pointwise (int K, int stride, int padding)
{
    return K == 1 && stride == 1 && padding == 0;
}

/* Stride 1, one group, K > 1: one sgemm per tap on shifted views of x
 * when splitting the weights per tap (Cout Cin K floats) moves less
 * memory than im2col would (Cin K Tout floats), i.e. when Cout < Tout. */
static gboolean
conv1d_use_shifted_taps (int Cin, int Cout, int Tout, int K, int stride, int groups)
{
    return K > 1 && stride == 1 && groups == 1 && Cout < Tout;
}

static gboolean
conv1d_is_depthwise (int Cin, int Cout, int groups)
{
    return groups > 1 && groups == Cin && groups == Cout;
}

/* col[i * K + k, t] = x[i, t * stride - padding + k], 0 outside x */
static void
conv1d_im2col (float *col /* [Cin * K, Tout] */, const float *x /* [Cin, Tin] */, int Cin, int Tin,
               int Tout, int K, int stride, int padding)
{
#pragma omp parallel for
    for (int row = 0; row < Cin * K; row++) {
        const int i = row / K, k = row % K;
        const float *x_i = x + (size_t) i * Tin;
        float *col_row = col + (size_t) row * Tout;
        int t_begin, t_end;

        conv1d_tap_range (k, stride, padding, Tin, Tout, &t_begin, &t_end);
        for (int t = 0; t < t_begin; t++)
            col_row[t] = 0.0f;
        for (int t = t_begin; t < t_end; t++)
            col_row[t] = x_i[t * stride - padding + k];
        for (int t = t_end; t < Tout; t++)
            col_row[t] = 0.0f;
    }
}

/* dx[i, t * stride - padding + k] += dcol[i * K + k, t] */
static void
conv1d_col2im_add (float *dx /* [Cin, Tin] */, const float *dcol /* [Cin * K, Tout] */, int Cin,
                   int Tin, int Tout, int K, int stride, int padding)
{
    /* over input channels i: this iteration alone writes dx[i, :] */
#pragma omp parallel for
    for (int i = 0; i < Cin; i++) {
        float *dx_i = dx + (size_t) i * Tin;

        for (int k = 0; k < K; k++) {
            const float *dcol_row = dcol + ((size_t) i * K + k) * Tout;
            int t_begin, t_end;

            conv1d_tap_range (k, stride, padding, Tin, Tout, &t_begin, &t_end);
            for (int t = t_begin; t < t_end; t++)
                dx_i[t * stride - padding + k] += dcol_row[t];
        }
    }
}

/* out[o, t] = mask[t] * (out[o, t] + bias[o]), either of them NULL */
static void
conv1d_bias_mask (float *out /* [Cout, Tout] */, const float *bias /* [Cout] or NULL */,
                  const float *mask /* [Tout] or NULL */, int Cout, int Tout)
{
    if (bias == NULL && mask == NULL)
        return;
#pragma omp parallel for
    for (int o = 0; o < Cout; o++) {
        float *out_o = out + (size_t) o * Tout;
        const float bias_o = bias ? bias[o] : 0.0f;

        if (mask) {
#pragma omp simd
            for (int t = 0; t < Tout; t++)
                out_o[t] = (out_o[t] + bias_o) * mask[t];
        } else {
#pragma omp simd
            for (int t = 0; t < Tout; t++)
                out_o[t] += bias_o;
        }
    }
}

/* One depthwise row: out[t] = mask[t] * (bias + sum over k of
 * w[k] * x[t * stride - padding + k]), taps outside x skipped, mask NULL
 * meaning 1. The row stays in L1 across the K tap passes. */
static TSL_VECTOR_CLONES void
conv1d_depthwise_row (float *out /* [Tout] */, const float *x /* [Tin] */, const float *w /* [K] */,
                      float bias, const float *mask /* [Tout] or NULL */, int Tin, int Tout, int K,
                      int stride, int padding)
{
    for (int t = 0; t < Tout; t++)
        out[t] = bias;
    for (int k = 0; k < K; k++) {
        const float w_k = w[k];
        const int shift = k - padding;
        int t_begin, t_end;

        conv1d_tap_range (k, stride, padding, Tin, Tout, &t_begin, &t_end);
#pragma omp simd
        for (int t = t_begin; t < t_end; t++)
            out[t] += w_k * x[t * stride + shift];
    }
    if (mask) {
#pragma omp simd
        for (int t = 0; t < Tout; t++)
            out[t] *= mask[t];
    }
}

/* out[b, c, t] = mask[b, t] * (bias[c] + sum over k of
 *                w[c, k] * x[b, c, t * stride - padding + k]) */
static void
conv1d_depthwise_forward (float *out /* [B, C, Tout] */, const float *x /* [B, C, Tin] */,
                          const float *w /* [C, 1, K] */, const float *bias /* [C] or NULL */,
                          const float *mask /* [B, Tout] or NULL */, int B, int C, int Tin,
                          int Tout, int K, int stride, int padding)
{
#pragma omp parallel for collapse(2)
    for (int b = 0; b < B; b++) {
        for (int c = 0; c < C; c++) {
            conv1d_depthwise_row (out + ((size_t) b * C + c) * Tout, x + ((size_t) b * C + c) * Tin,
                                  w + (size_t) c * K, bias ? bias[c] : 0.0f,
                                  mask ? mask + (size_t) b * Tout : NULL, Tin, Tout, K, stride,
                                  padding);
        }
    }
}

/* Per-tap weights: w_tap[k, o, i] = w[o, i, k] (groups 1) */
static void
conv1d_split_taps (float *w_tap /* [K, Cout, Cin] */, const float *w /* [Cout, Cin, K] */,
                   int Cout, int Cin, int K)
{
#pragma omp parallel for
    for (int o = 0; o < Cout; o++) {
        for (int k = 0; k < K; k++) {
            const float *w_o = w + (size_t) o * Cin * K + k;          /* stride K */
            float *w_tap_o = w_tap + ((size_t) k * Cout + o) * Cin;  /* [Cin] */

            for (int i = 0; i < Cin; i++)
                w_tap_o[i] = w_o[(size_t) i * K];
        }
    }
}

/* out = sum over taps k of w_tap[k] @ x shifted by k - padding, one sgemm
 * per tap on a strided view of x: the output times t whose tap reads
 * inside x take x[:, t - padding + k] (stride 1, groups 1). A tap that
 * covers every output time goes first with beta 0; without one, out is
 * zeroed first. */
static void
conv1d_shifted_taps (float *out /* [Cout, Tout] */, const float *x /* [Cin, Tin] */,
                     const float *w_tap /* [K, Cout, Cin] */, int Cin, int Cout, int Tin,
                     int Tout, int K, int padding)
{
    int first = -1;

    for (int k = 0; k < K && first < 0; k++) {
        int t_begin, t_end;

        conv1d_tap_range (k, 1, padding, Tin, Tout, &t_begin, &t_end);
        if (t_begin == 0 && t_end == Tout)
            first = k;
    }
    if (first < 0) {
#pragma omp parallel for
        for (int o = 0; o < Cout; o++) {
            for (int t = 0; t < Tout; t++)
                out[(size_t) o * Tout + t] = 0.0f;
        }
    }
    for (int step = 0; step < K; step++) {
        /* the covering tap first, then the others in order */
        const int k = first < 0 ? step : step == 0 ? first : step <= first ? step - 1 : step;
        int t_begin, t_end;

        conv1d_tap_range (k, 1, padding, Tin, Tout, &t_begin, &t_end);
        if (t_end <= t_begin)
            continue;
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, Cout, t_end - t_begin, Cin, 1.0f,
                     w_tap + (size_t) k * Cout * Cin, Cin, x + t_begin - padding + k, Tin,
                     first < 0 || step > 0 ? 1.0f : 0.0f, out + t_begin, Tout);
    }
}

void
tsl_cpu_conv1d (TslBackend *be, float *out, const float *x, const float *w, const float *bias,
                const float *mask, int B, int Cin, int Cout, int Tin, int Tout, int K, int stride,
                int padding, int groups)
{
    const int Cin_g = Cin / groups, Cout_g = Cout / groups;
    const gboolean pointwise = conv1d_is_pointwise (K, stride, padding);
    float *col = NULL; /* [Cin * K, Tout] */

    if (conv1d_is_depthwise (Cin, Cout, groups)) {
        conv1d_depthwise_forward (out, x, w, bias, mask, B, Cin, Tin, Tout, K, stride, padding);
        return;
    }
    if (conv1d_use_shifted_taps (Cin, Cout, Tout, K, stride, groups)) {
        float *w_tap = tsl_backend_workspace (be, (size_t) K * Cout * Cin * sizeof (float));

        if (w_tap == NULL)
            return;
        conv1d_split_taps (w_tap, w, Cout, Cin, K);
        for (int b = 0; b < B; b++) {
            float *out_b = out + (size_t) b * Cout * Tout;

            conv1d_shifted_taps (out_b, x + (size_t) b * Cin * Tin, w_tap, Cin, Cout, Tin, Tout, K,
                                 padding);
            conv1d_bias_mask (out_b, bias, mask ? mask + (size_t) b * Tout : NULL, Cout, Tout);
        }
        return;
    }
    if (!pointwise) {
        col = tsl_backend_workspace (be, (size_t) Cin * K * Tout * sizeof (float));
        if (col == NULL)
            return;
    }
    for (int b = 0; b < B; b++) {
        const float *x_b = x + (size_t) b * Cin * Tin;
        float *out_b = out + (size_t) b * Cout * Tout;
        const float *col_b = x_b; /* pointwise: x[b] is its own column matrix */

        if (!pointwise) {
            conv1d_im2col (col, x_b, Cin, Tin, Tout, K, stride, padding);
            col_b = col;
        }
        for (int g = 0; g < groups; g++) {
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, Cout_g, Tout, Cin_g * K, 1.0f,
                         w + (size_t) g * Cout_g * Cin_g * K, Cin_g * K,
                         col_b + (size_t) g * Cin_g * K * Tout, Tout, 0.0f,
                         out_b + (size_t) g * Cout_g * Tout, Tout);
        }
        conv1d_bias_mask (out_b, bias, mask ? mask + (size_t) b * Tout : NULL, Cout, Tout);
    }
}

/* ---- backward ---- */

/* dm[c, t] = dout[c, t] * mask[t] for one batch item */
static void
conv1d_mask_dout (float *dm /* [C, Tout] */, const float *dout /* [C, Tout] */,
                  const float *mask /* [Tout] */, int C, int Tout)
{
#pragma omp parallel for
    for (int c = 0; c < C; c++) {
        const float *dout_c = dout + (size_t) c * Tout;
        float *dm_c = dm + (size_t) c * Tout;

#pragma omp simd
        for (int t = 0; t < Tout; t++)
            dm_c[t] = dout_c[t] * mask[t];
    }
}

/* dbias[c] += sum over t of dm[c, t] for one batch item */
static void
conv1d_dbias_add (float *dbias /* [C] */, const float *dm /* [C, Tout] */, int C, int Tout)
{
    /* over channels c: this iteration alone writes dbias[c] */
#pragma omp parallel for
    for (int c = 0; c < C; c++) {
        const float *dm_c = dm + (size_t) c * Tout;
        float sum = 0.0f;

#pragma omp simd reduction(+ : sum)
        for (int t = 0; t < Tout; t++)
            sum += dm_c[t];
        dbias[c] += sum;
    }
}

/* Depthwise, from the masked dout dm:
 * dx[b, c, t * stride - padding + k] += w[c, k] dm[b, c, t],
 * dw[c, k] += sum over b, t of dm[b, c, t] x[b, c, t * stride - padding + k]. */
static void
conv1d_depthwise_backward (float *dx /* [B, C, Tin] or NULL */, float *dw /* [C, 1, K] */,
                           const float *dm /* [B, C, Tout] */, const float *x /* [B, C, Tin] */,
                           const float *w /* [C, 1, K] */, int B, int C, int Tin, int Tout, int K,
                           int stride, int padding)
{
    /* over channels c: this iteration alone writes dx[:, c, :] and dw[c] */
#pragma omp parallel for
    for (int c = 0; c < C; c++) {
        for (int b = 0; b < B; b++) {
            const float *dm_bc = dm + ((size_t) b * C + c) * Tout;
            const float *x_bc = x + ((size_t) b * C + c) * Tin;
            float *dx_bc = dx ? dx + ((size_t) b * C + c) * Tin : NULL;

            for (int k = 0; k < K; k++) {
                const float w_ck = w[(size_t) c * K + k];
                const int shift = k - padding;
                float dw_ck = 0.0f;
                int t_begin, t_end;

                conv1d_tap_range (k, stride, padding, Tin, Tout, &t_begin, &t_end);
#pragma omp simd reduction(+ : dw_ck)
                for (int t = t_begin; t < t_end; t++)
                    dw_ck += dm_bc[t] * x_bc[t * stride + shift];
                dw[(size_t) c * K + k] += dw_ck;
                if (dx_bc == NULL)
                    continue;
#pragma omp simd
                for (int t = t_begin; t < t_end; t++)
                    dx_bc[t * stride + shift] += w_ck * dm_bc[t];
            }
        }
    }
}

/* dw[o, i, k] += dw_tap[k, o, i] (groups 1) */
static void
conv1d_add_taps (float *dw /* [Cout, Cin, K] */, const float *dw_tap /* [K, Cout, Cin] */,
                 int Cout, int Cin, int K)
{
    /* over output channels o: this iteration alone writes dw[o] */
#pragma omp parallel for
    for (int o = 0; o < Cout; o++) {
        for (int k = 0; k < K; k++) {
            float *dw_o = dw + (size_t) o * Cin * K + k;                      /* stride K */
            const float *dw_tap_o = dw_tap + ((size_t) k * Cout + o) * Cin;  /* [Cin] */

            for (int i = 0; i < Cin; i++)
                dw_o[(size_t) i * K] += dw_tap_o[i];
        }
    }
}

/* Shifted-tap backward of one batch item from its masked dout dm: per tap
 * k over the output times t whose tap reads inside x,
 *   dw_tap[k] (+)= dm[:, t] @ x[:, t - padding + k]^T   (beta 0 when first),
 *   dx[:, t - padding + k] += w_tap[k]^T @ dm[:, t]      (dx, w_tap non-NULL). */
static void
conv1d_shifted_taps_backward (float *dx /* [Cin, Tin] or NULL */,
                              float *dw_tap /* [K, Cout, Cin] */, const float *dm /* [Cout, Tout] */,
                              const float *x /* [Cin, Tin] */,
                              const float *w_tap /* [K, Cout, Cin] or NULL */, int Cin, int Cout,
                              int Tin, int Tout, int K, int padding, gboolean first)
{
    for (int k = 0; k < K; k++) {
        float *dw_tap_k = dw_tap + (size_t) k * Cout * Cin;  /* [Cout, Cin] */
        int t_begin, t_end;

        conv1d_tap_range (k, 1, padding, Tin, Tout, &t_begin, &t_end);
        if (t_end <= t_begin) {
            if (first)
                memset (dw_tap_k, 0, sizeof (float) * Cout * Cin);
            continue;
        }
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, Cout, Cin, t_end - t_begin, 1.0f,
                     dm + t_begin, Tout, x + t_begin - padding + k, Tin, first ? 0.0f : 1.0f,
                     dw_tap_k, Cin);
        if (dx == NULL)
            continue;
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, Cin, t_end - t_begin, Cout, 1.0f,
                     w_tap + (size_t) k * Cout * Cin, Cin, dm + t_begin, Tout, 1.0f,
                     dx + t_begin - padding + k, Tin);
    }
}

void
tsl_cpu_conv1d_backward (TslBackend *be, float *dx, float *dw, float *dbias, const float *dout,
                         const float *x, const float *w, const float *mask, int B, int Cin,
                         int Cout, int Tin, int Tout, int K, int stride, int padding, int groups)
{
    const int Cin_g = Cin / groups, Cout_g = Cout / groups;
    const gboolean depthwise = conv1d_is_depthwise (Cin, Cout, groups);
    const gboolean pointwise = !depthwise && conv1d_is_pointwise (K, stride, padding);
    const gboolean taps = conv1d_use_shifted_taps (Cin, Cout, Tout, K, stride, groups);
    const size_t tap_floats = (size_t) K * Cout * Cin;
    /* depthwise masks all of dout at once, the sgemm paths one batch item at a time */
    const size_t masked_floats = mask ? (size_t) (depthwise ? B : 1) * Cout * Tout : 0;
    const size_t col_floats = depthwise || pointwise ? 0
                              : taps ? (dx ? 2 : 1) * tap_floats : (size_t) Cin * K * Tout;
    float *masked_dout = NULL; /* [B or 1, Cout, Tout] when mask */
    float *col = NULL;         /* [Cin * K, Tout] for im2col, then reused as dcol;
                                * shifted taps: dw_tap [K, Cout, Cin], then w_tap when dx */

    if (masked_floats + col_floats > 0) {
        float *ws = tsl_backend_workspace (be, (masked_floats + col_floats) * sizeof (float));

        if (ws == NULL)
            return;
        masked_dout = mask ? ws : NULL;
        col = col_floats ? ws + masked_floats : NULL;
    }
    if (taps && dx != NULL)
        conv1d_split_taps (col + tap_floats, w, Cout, Cin, K);

    if (depthwise) {
        const float *dm = dout; /* [B, C, Tout] */

        if (mask) {
            for (int b = 0; b < B; b++)
                conv1d_mask_dout (masked_dout + (size_t) b * Cout * Tout,
                                  dout + (size_t) b * Cout * Tout, mask + (size_t) b * Tout, Cout,
                                  Tout);
            dm = masked_dout;
        }
        for (int b = 0; b < B && dbias; b++)
            conv1d_dbias_add (dbias, dm + (size_t) b * Cout * Tout, Cout, Tout);
        conv1d_depthwise_backward (dx, dw, dm, x, w, B, Cin, Tin, Tout, K, stride, padding);
        return;
    }

    for (int b = 0; b < B; b++) {
        const float *x_b = x + (size_t) b * Cin * Tin;
        const float *dm = dout + (size_t) b * Cout * Tout; /* [Cout, Tout] */
        const float *col_b = x_b; /* pointwise: x[b] is its own column matrix */

        if (mask) {
            conv1d_mask_dout (masked_dout, dm, mask + (size_t) b * Tout, Cout, Tout);
            dm = masked_dout;
        }
        if (dbias)
            conv1d_dbias_add (dbias, dm, Cout, Tout);
        if (taps) {
            conv1d_shifted_taps_backward (dx ? dx + (size_t) b * Cin * Tin : NULL, col, dm, x_b,
                                          dx ? col + tap_floats : NULL, Cin, Cout, Tin, Tout, K,
                                          padding, b == 0);
            continue;
        }
        if (!pointwise) {
            conv1d_im2col (col, x_b, Cin, Tin, Tout, K, stride, padding);
            col_b = col;
        }
        /* dw[g] += dm[g] @ col[g]^T */
        for (int g = 0; g < groups; g++) {
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, Cout_g, Cin_g * K, Tout, 1.0f,
                         dm + (size_t) g * Cout_g * Tout, Tout,
                         col_b + (size_t) g * Cin_g * K * Tout, Tout, 1.0f,
                         dw + (size_t) g * Cout_g * Cin_g * K, Cin_g * K);
        }
        if (dx == NULL)
            continue;
        /* dcol[g] = w[g]^T @ dm[g]; pointwise: dcol is dx[b] itself, added to */
        for (int g = 0; g < groups; g++) {
            float *dcol_g = pointwise ? dx + (size_t) b * Cin * Tin + (size_t) g * Cin_g * Tin
                                      : col + (size_t) g * Cin_g * K * Tout;

            cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, Cin_g * K, Tout, Cout_g, 1.0f,
                         w + (size_t) g * Cout_g * Cin_g * K, Cin_g * K,
                         dm + (size_t) g * Cout_g * Tout, Tout, pointwise ? 1.0f : 0.0f, dcol_g,
                         Tout);
        }
        if (!pointwise)
            conv1d_col2im_add (dx + (size_t) b * Cin * Tin, col, Cin, Tin, Tout, K, stride,
                               padding);
    }
    if (taps)
        conv1d_add_taps (dw, col, Cout, Cin, K);
}

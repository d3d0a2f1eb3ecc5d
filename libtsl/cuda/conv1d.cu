/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda/conv1d.cu: 1-D convolution over time, forward and backward, as
 * PyTorch's nn.Conv1d (zero padding on both ends, stride, groups) followed
 * by ActionFormer's MaskedConv1D multiplication by the output mask.
 * Layout and semantics: TslConv1dFn in ../ops.h; x is [B, Cin, Tin], w is
 * [Cout, Cin / groups, K], out is [B, Cout, Tout] (CPU version:
 * cpu/conv1d.c).
 *
 * Two paths:
 * - groups == 1: im2col into the workspace, col[i * K + k, t] =
 *   x[b, i, t * stride - padding + k] (0 outside x), then cuBLAS. The
 *   forward keeps one [Cin * K, Tout] block per batch item and runs one
 *   strided batched product out[b] = w @ col[b] (a pointwise conv, K = 1
 *   with stride 1 and no padding, reads x directly). The backward lays col
 *   out as [Cin * K, B, Tout] and the masked dout as dm = [Cout, B, Tout],
 *   so that dw += dm @ col^T and dcol = w^T @ dm are single products over
 *   all batch items; dcol reuses col's memory (the stream orders the two
 *   products) and is gathered back into dx (col2im).
 * - groups > 1 (depthwise and grouped): direct kernels, one thread per
 *   output (forward) or per input element (dx), one block per weight (dw).
 *
 * Forward: out = mask * (conv + bias), overwritten. Backward multiplies
 * dout by the mask and ADDS into dx, dw and dbias (the caller zeroes them);
 * dx and dbias may be NULL. Every kernel gathers, so each thread or block
 * alone writes its element.
 */
#include "cuda-ops.h"
#include "cuda-common.h"

/* ---- kernels ---- */

/* col[row * row_stride + b * batch_stride + t] = x[b, i, t * stride - padding + k]
 * with row = i * K + k; one thread per (b, row, t) */
__global__ void
conv1d_im2col_kernel (float *col, const float *x /* [B, Cin, Tin] */, int Cin, int Tin, int Tout,
                      int K, int stride, int padding, size_t row_stride, size_t batch_stride,
                      size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const int t = idx % Tout;
    const size_t row = (idx / Tout) % ((size_t) Cin * K);
    const size_t b = idx / ((size_t) Cin * K * Tout);
    const int i = row / K, k = row % K;
    const int tin = t * stride - padding + k;

    col[row * row_stride + b * batch_stride + t] =
        tin >= 0 && tin < Tin ? x[(b * Cin + i) * Tin + tin] : 0.0f;
}

/* out[b, o, t] = mask[b, t] * (out[b, o, t] + bias[o]); bias, mask may be NULL */
__global__ void
conv1d_bias_mask_kernel (float *out /* [B, Cout, Tout] */, const float *bias /* [Cout] or NULL */,
                         const float *mask /* [B, Tout] or NULL */, int Cout, int Tout, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const size_t t = idx % Tout, b = idx / ((size_t) Cout * Tout);
    const int o = (idx / Tout) % Cout;
    float value = out[idx] + (bias ? bias[o] : 0.0f);

    if (mask)
        value *= mask[b * Tout + t];
    out[idx] = value;
}

/* one thread per output (b, o, t) */
__global__ void
conv1d_grouped_forward_kernel (float *out /* [B, Cout, Tout] */, const float *x /* [B, Cin, Tin] */,
                               const float *w /* [Cout, Cin_g, K] */,
                               const float *bias /* [Cout] or NULL */,
                               const float *mask /* [B, Tout] or NULL */, int Cin, int Cout,
                               int Tin, int Tout, int K, int stride, int padding, int groups,
                               size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const int Cin_g = Cin / groups, Cout_g = Cout / groups;
    const int t = idx % Tout;
    const int o = (idx / Tout) % Cout;
    const size_t b = idx / ((size_t) Cout * Tout);
    const int g = o / Cout_g;
    const float *x_bg = x + (b * Cin + (size_t) g * Cin_g) * Tin;  /* [Cin_g, Tin] */
    const float *w_o = w + (size_t) o * Cin_g * K;                /* [Cin_g, K] */
    const int start = t * stride - padding;
    const int k_begin = max (0, -start), k_end = min (K, Tin - start);
    float acc = 0.0f;

    for (int i = 0; i < Cin_g; i++) {
        const float *x_i = x_bg + (size_t) i * Tin;  /* [Tin] */
        const float *w_oi = w_o + (size_t) i * K;    /* [K] */
        for (int k = k_begin; k < k_end; k++)
            acc += w_oi[k] * x_i[start + k];
    }
    acc += bias ? bias[o] : 0.0f;
    if (mask)
        acc *= mask[b * Tout + t];
    out[idx] = acc;
}

/* dm[o, b, t] = dout[b, o, t] * mask[b, t] (mask may be NULL); one thread per dm element */
__global__ void
conv1d_masked_dout_kernel (float *dm /* [Cout, B, Tout] */, const float *dout /* [B, Cout, Tout] */,
                           const float *mask /* [B, Tout] or NULL */, int B, int Cout, int Tout,
                           size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const size_t t = idx % Tout;
    const size_t b = (idx / Tout) % B;
    const size_t o = idx / ((size_t) B * Tout);
    const float g = dout[(b * Cout + o) * Tout + t];

    dm[idx] = mask ? g * mask[b * Tout + t] : g;
}

/* dx[b, i, tin] += sum over k of dcol[i * K + k, b, t] for t * stride - padding + k = tin;
 * dcol is [Cin * K, B, Tout]; one thread per (b, i, tin) */
__global__ void
conv1d_col2im_kernel (float *dx /* [B, Cin, Tin] */, const float *dcol, int B, int Cin, int Tin,
                      int Tout, int K, int stride, int padding, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const int tin = idx % Tin;
    const size_t i = (idx / Tin) % Cin;
    const size_t b = idx / ((size_t) Cin * Tin);
    const size_t row_stride = (size_t) B * Tout;
    float acc = 0.0f;

    for (int k = 0; k < K; k++) {
        const int shifted = tin + padding - k;  /* t * stride */
        if (shifted < 0 || shifted % stride != 0)
            continue;
        const int t = shifted / stride;
        if (t < Tout)
            acc += dcol[(i * K + k) * row_stride + b * Tout + t];
    }
    dx[idx] += acc;
}

/* one block per output channel o: dbias[o] += sum over b, t of dout * mask */
__global__ void
conv1d_dbias_kernel (float *dbias /* [Cout] */, const float *dout /* [B, Cout, Tout] */,
                     const float *mask /* [B, Tout] or NULL */, int B, int Cout, int Tout)
{
    const int o = blockIdx.x;
    const size_t count = (size_t) B * Tout;
    float acc = 0.0f;

    for (size_t j = threadIdx.x; j < count; j += blockDim.x) {
        const size_t b = j / Tout, t = j % Tout;
        const float g = dout[(b * Cout + o) * Tout + t];
        acc += mask ? g * mask[j] : g;
    }
    acc = tsl_block_sum (acc);
    if (threadIdx.x == 0)
        dbias[o] += acc;
}

/* groups > 1: dx[b, c, tin] += sum over the group's outputs o and taps k
 * with t * stride - padding + k = tin of w[o, i, k] * dm[b, o, t];
 * one thread per (b, c, tin) */
__global__ void
conv1d_grouped_backward_input_kernel (float *dx /* [B, Cin, Tin] */,
                                      const float *dout /* [B, Cout, Tout] */,
                                      const float *w /* [Cout, Cin_g, K] */,
                                      const float *mask /* [B, Tout] or NULL */, int Cin, int Cout,
                                      int Tin, int Tout, int K, int stride, int padding,
                                      int groups, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const int Cin_g = Cin / groups, Cout_g = Cout / groups;
    const int tin = idx % Tin;
    const int c = (idx / Tin) % Cin;
    const size_t b = idx / ((size_t) Cin * Tin);
    const int g = c / Cin_g, i = c % Cin_g;
    float acc = 0.0f;

    for (int k = 0; k < K; k++) {
        const int shifted = tin + padding - k;  /* t * stride */
        if (shifted < 0 || shifted % stride != 0)
            continue;
        const int t = shifted / stride;
        if (t >= Tout)
            continue;
        const float m = mask ? mask[b * Tout + t] : 1.0f;
        for (int o = g * Cout_g; o < (g + 1) * Cout_g; o++)
            acc += w[((size_t) o * Cin_g + i) * K + k] * (dout[(b * Cout + o) * Tout + t] * m);
    }
    dx[idx] += acc;
}

/* groups > 1: one block per weight (o, i, k):
 * dw[o, i, k] += sum over b, t of dm[b, o, t] * x[b, g Cin_g + i, t * stride - padding + k] */
__global__ void
conv1d_grouped_backward_weight_kernel (float *dw /* [Cout, Cin_g, K] */,
                                       const float *dout /* [B, Cout, Tout] */,
                                       const float *x /* [B, Cin, Tin] */,
                                       const float *mask /* [B, Tout] or NULL */, int B, int Cin,
                                       int Cout, int Tin, int Tout, int K, int stride, int padding,
                                       int groups)
{
    const int Cin_g = Cin / groups, Cout_g = Cout / groups;
    const size_t weight = blockIdx.x;  /* (o * Cin_g + i) * K + k */
    const int k = weight % K;
    const int i = (weight / K) % Cin_g;
    const int o = weight / ((size_t) K * Cin_g);
    const int c = (o / Cout_g) * Cin_g + i;
    const size_t count = (size_t) B * Tout;
    float acc = 0.0f;

    for (size_t j = threadIdx.x; j < count; j += blockDim.x) {
        const size_t b = j / Tout;
        const int t = j % Tout;
        const int tin = t * stride - padding + k;
        if (tin < 0 || tin >= Tin)
            continue;
        const float g = dout[(b * Cout + o) * Tout + t] * (mask ? mask[j] : 1.0f);
        acc += g * x[(b * Cin + c) * Tin + tin];
    }
    acc = tsl_block_sum (acc);
    if (threadIdx.x == 0)
        dw[weight] += acc;
}

/* ---- launchers ---- */

static unsigned int
flat_grid (size_t n)
{
    return (unsigned int) TSL_CEIL_DIV (n, (size_t) TSL_CUDA_BLOCK);
}

void
tsl_cuda_conv1d (TslBackend *be, float *out, const float *x, const float *w, const float *bias,
                 const float *mask, int B, int Cin, int Cout, int Tin, int Tout, int K, int stride,
                 int padding, int groups)
{
    cudaStream_t stream = tsl_cuda_stream (be);
    const size_t n_out = (size_t) B * Cout * Tout;
    const int taps = Cin * K;
    const gboolean pointwise = K == 1 && stride == 1 && padding == 0;
    const float *col = x;  /* pointwise: x[b] is its own column matrix */
    int ld_col = Tin;
    long long col_stride = (long long) Cin * Tin;

    if (n_out == 0)
        return;
    if (groups > 1) {
        conv1d_grouped_forward_kernel<<<flat_grid (n_out), TSL_CUDA_BLOCK, 0, stream>>> (
            out, x, w, bias, mask, Cin, Cout, Tin, Tout, K, stride, padding, groups, n_out);
        TSL_CUDA_CHECK_LAUNCH (be);
        return;
    }
    if (!pointwise) {
        const size_t n_col = (size_t) B * taps * Tout;
        float *ws = (float *) tsl_backend_workspace (be, n_col * sizeof (float));

        if (ws == NULL)
            return;
        /* [B, Cin * K, Tout]: row stride Tout, batch stride Cin * K * Tout */
        conv1d_im2col_kernel<<<flat_grid (n_col), TSL_CUDA_BLOCK, 0, stream>>> (
            ws, x, Cin, Tin, Tout, K, stride, padding, Tout, (size_t) taps * Tout, n_col);
        if (!TSL_CUDA_CHECK_LAUNCH (be))
            return;
        col = ws;
        ld_col = Tout;
        col_stride = (long long) taps * Tout;
    }
    /* out[b] [Cout, Tout] = w [Cout, Cin K] @ col[b] [Cin K, Tout] */
    tsl_cuda_gemm_ld (be, out, Tout, (long long) Cout * Tout, w, taps, 0, col, ld_col, col_stride,
                      B, Cout, Tout, taps, FALSE, FALSE, 1.0f, 0.0f);
    if (bias == NULL && mask == NULL)
        return;
    conv1d_bias_mask_kernel<<<flat_grid (n_out), TSL_CUDA_BLOCK, 0, stream>>> (out, bias, mask,
                                                                               Cout, Tout, n_out);
    TSL_CUDA_CHECK_LAUNCH (be);
}

static void
conv1d_grouped_backward (TslBackend *be, float *dx, float *dw, const float *dout, const float *x,
                         const float *w, const float *mask, int B, int Cin, int Cout, int Tin,
                         int Tout, int K, int stride, int padding, int groups)
{
    cudaStream_t stream = tsl_cuda_stream (be);
    const size_t n_weights = (size_t) Cout * (Cin / groups) * K;
    const size_t n_in = (size_t) B * Cin * Tin;

    if (n_weights > 0) {
        conv1d_grouped_backward_weight_kernel<<<(unsigned int) n_weights, TSL_CUDA_BLOCK, 0,
                                                stream>>> (dw, dout, x, mask, B, Cin, Cout, Tin,
                                                           Tout, K, stride, padding, groups);
        if (!TSL_CUDA_CHECK_LAUNCH (be))
            return;
    }
    if (dx == NULL || n_in == 0)
        return;
    conv1d_grouped_backward_input_kernel<<<flat_grid (n_in), TSL_CUDA_BLOCK, 0, stream>>> (
        dx, dout, w, mask, Cin, Cout, Tin, Tout, K, stride, padding, groups, n_in);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_conv1d_backward (TslBackend *be, float *dx, float *dw, float *dbias, const float *dout,
                          const float *x, const float *w, const float *mask, int B, int Cin,
                          int Cout, int Tin, int Tout, int K, int stride, int padding, int groups)
{
    cudaStream_t stream = tsl_cuda_stream (be);
    const int taps = Cin * K;
    const size_t bt = (size_t) B * Tout;  /* columns of dm and col */
    const size_t n_dm = (size_t) Cout * bt, n_col = (size_t) taps * bt;
    float *ws, *dm, *col;

    if (B <= 0 || Cout <= 0 || Tout <= 0)
        return;
    if (dbias) {
        conv1d_dbias_kernel<<<Cout, TSL_CUDA_BLOCK, 0, stream>>> (dbias, dout, mask, B, Cout,
                                                                  Tout);
        if (!TSL_CUDA_CHECK_LAUNCH (be))
            return;
    }
    if (groups > 1) {
        conv1d_grouped_backward (be, dx, dw, dout, x, w, mask, B, Cin, Cout, Tin, Tout, K, stride,
                                 padding, groups);
        return;
    }

    ws = (float *) tsl_backend_workspace (be, (n_dm + n_col) * sizeof (float));
    if (ws == NULL)
        return;
    dm = ws;            /* [Cout, B, Tout] */
    col = ws + n_dm;    /* [Cin * K, B, Tout], then dcol */
    conv1d_masked_dout_kernel<<<flat_grid (n_dm), TSL_CUDA_BLOCK, 0, stream>>> (dm, dout, mask, B,
                                                                                Cout, Tout, n_dm);
    if (!TSL_CUDA_CHECK_LAUNCH (be))
        return;
    /* row stride B * Tout, batch stride Tout */
    conv1d_im2col_kernel<<<flat_grid (n_col), TSL_CUDA_BLOCK, 0, stream>>> (
        col, x, Cin, Tin, Tout, K, stride, padding, bt, Tout, n_col);
    if (!TSL_CUDA_CHECK_LAUNCH (be))
        return;
    /* dw [Cout, Cin K] += dm [Cout, B Tout] @ col^T */
    tsl_cuda_gemm_ld (be, dw, taps, 0, dm, (int) bt, 0, col, (int) bt, 0, 1, Cout, taps, (int) bt,
                      FALSE, TRUE, 1.0f, 1.0f);
    if (dx == NULL)
        return;
    /* dcol [Cin K, B Tout] = w^T @ dm, into col's memory */
    tsl_cuda_gemm_ld (be, col, (int) bt, 0, w, taps, 0, dm, (int) bt, 0, 1, taps, (int) bt, Cout,
                      TRUE, FALSE, 1.0f, 0.0f);
    const size_t n_in = (size_t) B * Cin * Tin;
    if (n_in == 0)
        return;
    conv1d_col2im_kernel<<<flat_grid (n_in), TSL_CUDA_BLOCK, 0, stream>>> (
        dx, col, B, Cin, Tin, Tout, K, stride, padding, n_in);
    TSL_CUDA_CHECK_LAUNCH (be);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda/conv2d.cu: 2-D convolution, forward only (the audio ResNet and the
 * ViT patch embedding run it at inference), as nn.Conv2d with explicit
 * top/left zero padding; the bottom/right padding is whatever Ho and Wo
 * imply. Layout and semantics: TslConv2dFn in ../ops.h; NCHW, x is
 * [B, Cin, H, W], w is [Cout, Cin, KH, KW], out is [B, Cout, Ho, Wo]
 * (overwritten). CPU version: cpu/conv2d.c.
 *
 * Batch items are unfolded into the workspace (im2col) a chunk at a time,
 * col[b][(i * KH + kh) * KW + kw, oh * Wo + ow] =
 *     x[b, i, oh * stride_h - pad_top + kh, ow * stride_w - pad_left + kw]
 * (0 outside x), at most TSL_CONV2D_CHUNK_BYTES per chunk, and each chunk is
 * one strided batched product out[b] = w @ col[b] with w viewed as
 * [Cout, Cin * KH * KW]. A 1x1 kernel with stride 1, no padding and the
 * same output size needs no unfold. The bias is added afterwards.
 */
#include "cuda-ops.h"
#include "cuda-common.h"

/* largest unfolded chunk kept in the workspace */
#define TSL_CONV2D_CHUNK_BYTES ((size_t) 256 << 20)

/* ---- kernels ---- */

/* one thread per col element (b - b0, row, p), for batch items b0 .. b0 + chunk - 1 */
__global__ void
conv2d_im2col_kernel (float *col /* [chunk, Cin * KH * KW, Ho * Wo] */,
                      const float *x /* [chunk, Cin, H, W], from item b0 */, int Cin, int H, int W,
                      int KH, int KW, int stride_h, int stride_w, int pad_top, int pad_left,
                      int Ho, int Wo, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const size_t plane = (size_t) Ho * Wo, taps = (size_t) Cin * KH * KW;
    const size_t p = idx % plane;
    const size_t row = (idx / plane) % taps;
    const size_t b = idx / (plane * taps);
    const int oh = p / Wo, ow = p % Wo;
    const int i = row / (KH * KW), kh = (row / KW) % KH, kw = row % KW;
    const int ih = oh * stride_h - pad_top + kh, iw = ow * stride_w - pad_left + kw;

    col[idx] = ih >= 0 && ih < H && iw >= 0 && iw < W
                   ? x[((b * Cin + i) * H + ih) * W + iw]
                   : 0.0f;
}

/* ---- launchers ---- */

void
tsl_cuda_conv2d (TslBackend *be, float *out, const float *x, const float *w, const float *bias,
                 int B, int Cin, int H, int W, int Cout, int KH, int KW, int stride_h,
                 int stride_w, int pad_top, int pad_left, int Ho, int Wo)
{
    cudaStream_t stream = tsl_cuda_stream (be);
    const int taps = Cin * KH * KW;
    const size_t plane = (size_t) Ho * Wo;
    const size_t in_item = (size_t) Cin * H * W, col_item = (size_t) taps * plane;
    const gboolean unfolded = KH == 1 && KW == 1 && stride_h == 1 && stride_w == 1 &&
                              pad_top == 0 && pad_left == 0 && Ho == H && Wo == W;
    int chunk = B;
    float *col = NULL;

    if (B <= 0 || Cout <= 0 || plane == 0)
        return;
    if (!unfolded) {
        chunk = (int) CLAMP (TSL_CONV2D_CHUNK_BYTES / MAX (col_item * sizeof (float), 1),
                             (size_t) 1, (size_t) B);
        col = (float *) tsl_backend_workspace (be, (size_t) chunk * col_item * sizeof (float));
        if (col == NULL)
            return;
    }
    for (int b0 = 0; b0 < B; b0 += chunk) {
        const int n_items = MIN (chunk, B - b0);
        const float *col_b = x + (size_t) b0 * in_item;  /* 1x1: x[b] is its own col */

        if (!unfolded) {
            const size_t n = (size_t) n_items * col_item;
            conv2d_im2col_kernel<<<(unsigned int) TSL_CEIL_DIV (n, (size_t) TSL_CUDA_BLOCK),
                                   TSL_CUDA_BLOCK, 0, stream>>> (
                col, x + (size_t) b0 * in_item, Cin, H, W, KH, KW, stride_h, stride_w, pad_top,
                pad_left, Ho, Wo, n);
            if (!TSL_CUDA_CHECK_LAUNCH (be))
                return;
            col_b = col;
        }
        /* out[b] [Cout, plane] = w [Cout, taps] @ col[b] [taps, plane] */
        tsl_cuda_gemm_ld (be, out + (size_t) b0 * Cout * plane, (int) plane,
                          (long long) Cout * plane, w, taps, 0, col_b, (int) plane,
                          (long long) col_item, n_items, Cout, (int) plane, taps, FALSE, FALSE,
                          1.0f, 0.0f);
    }
    if (bias != NULL)
        tsl_cuda_bias_add (be, out, out, bias, B, Cout, (int) plane);
}

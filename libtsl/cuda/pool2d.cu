/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda/pool2d.cu: 2-D max pooling, NCHW, forward only: the max pool of the
 * audio ResNet's stem. Semantics: TslMaxPool2dFn in ../ops.h; edge cases as
 * the CPU version cpu/pool2d.c: positions outside the image take no part
 * (-inf padding), a NaN wins, a window entirely outside gives -inf.
 * Overwrites out.
 */
#include "cuda-ops.h"
#include "cuda-common.h"

/* ---- kernels ---- */

/* one thread per output (b, c, oh, ow) */
__global__ void
maxpool2d_kernel (float *out /* [B, C, Ho, Wo] */, const float *x /* [B, C, H, W] */, int H,
                  int W, int KH, int KW, int stride_h, int stride_w, int pad_top, int pad_left,
                  int Ho, int Wo, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const size_t bc = idx / ((size_t) Ho * Wo);
    const int oh = (int) (idx / Wo % Ho), ow = (int) (idx % Wo);
    const float *x_bc = x + bc * H * W;  /* [H, W] */
    const int h0 = oh * stride_h - pad_top, w0 = ow * stride_w - pad_left;
    const int h_lo = max (h0, 0), h_hi = min (h0 + KH, H);
    const int w_lo = max (w0, 0), w_hi = min (w0 + KW, W);
    float best = -INFINITY;

    for (int h = h_lo; h < h_hi; h++) {
        for (int w = w_lo; w < w_hi; w++) {
            const float v = x_bc[(size_t) h * W + w];
            if (v > best || isnan (v))
                best = v;
        }
    }
    out[idx] = best;
}

/* ---- launchers ---- */

void
tsl_cuda_maxpool2d (TslBackend *be, float *out, const float *x, int B, int C, int H, int W,
                    int KH, int KW, int stride_h, int stride_w, int pad_top, int pad_left, int Ho,
                    int Wo)
{
    const size_t n = (size_t) B * C * Ho * Wo;

    if (n == 0)
        return;
    maxpool2d_kernel<<<(unsigned int) TSL_CEIL_DIV (n, (size_t) TSL_CUDA_BLOCK), TSL_CUDA_BLOCK,
                       0, tsl_cuda_stream (be)>>> (out, x, H, W, KH, KW, stride_h, stride_w,
                                                   pad_top, pad_left, Ho, Wo, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

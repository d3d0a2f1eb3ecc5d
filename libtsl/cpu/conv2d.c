/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/conv2d.c: 2-D convolution, forward only (the audio ResNet and the
 * ViT patch embedding run it at inference), as PyTorch's nn.Conv2d with
 * explicit top/left zero padding; the bottom/right padding is whatever Ho
 * and Wo imply, which is how TensorFlow's 'SAME' padding is reproduced
 * (tsl_conv2d_same_padding() in ../ops.c).
 * Layout and semantics: TslConv2dFn in ../ops.h; NCHW, x is [B, Cin, H, W],
 * w is [Cout, Cin, KH, KW], out is [B, Cout, Ho, Wo] (overwritten).
 *
 * Each batch item is unfolded into the workspace (im2col),
 * col[(i * KH + kh) * KW + kw, oh * Wo + ow] =
 *     x[b, i, oh * stride_h - pad_top + kh, ow * stride_w - pad_left + kw],
 * and multiplied by w viewed as [Cout, Cin * KH * KW] in one sgemm.
 * A 1x1 kernel with stride 1, no padding and the same size needs no unfold.
 */
#include <cblas.h>

#include "cpu-ops.h"

/* see the header comment; 0 outside x */
static void
conv2d_im2col (float *col /* [Cin * KH * KW, Ho * Wo] */, const float *x /* [Cin, H, W] */,
               int Cin, int H, int W, int KH, int KW, int stride_h, int stride_w, int pad_top,
               int pad_left, int Ho, int Wo)
{
#pragma omp parallel for
    for (int row = 0; row < Cin * KH * KW; row++) {
        const int i = row / (KH * KW), kh = row / KW % KH, kw = row % KW;
        const float *x_i = x + (size_t) i * H * W;
        float *col_row = col + (size_t) row * Ho * Wo;

        for (int oh = 0; oh < Ho; oh++) {
            const int ih = oh * stride_h - pad_top + kh;
            float *col_oh = col_row + (size_t) oh * Wo;

            if (ih < 0 || ih >= H) {
                for (int ow = 0; ow < Wo; ow++)
                    col_oh[ow] = 0.0f;
                continue;
            }
            const float *x_ih = x_i + (size_t) ih * W;
            for (int ow = 0; ow < Wo; ow++) {
                const int iw = ow * stride_w - pad_left + kw;

                col_oh[ow] = iw >= 0 && iw < W ? x_ih[iw] : 0.0f;
            }
        }
    }
}

void
tsl_cpu_conv2d (TslBackend *be, float *out, const float *x, const float *w, const float *bias,
                int B, int Cin, int H, int W, int Cout, int KH, int KW, int stride_h, int stride_w,
                int pad_top, int pad_left, int Ho, int Wo)
{
    const int taps = Cin * KH * KW;
    const size_t plane = (size_t) Ho * Wo;
    const gboolean unfolded = KH == 1 && KW == 1 && stride_h == 1 && stride_w == 1 &&
                              pad_top == 0 && pad_left == 0 && Ho == H && Wo == W;
    float *col = NULL; /* [Cin * KH * KW, Ho * Wo] */

    if (!unfolded) {
        col = tsl_backend_workspace (be, (size_t) taps * plane * sizeof (float));
        if (col == NULL)
            return;
    }
    for (int b = 0; b < B; b++) {
        const float *x_b = x + (size_t) b * Cin * H * W;
        float *out_b = out + (size_t) b * Cout * plane;
        const float *col_b = x_b; /* 1x1: x[b] is its own column matrix */

        if (!unfolded) {
            conv2d_im2col (col, x_b, Cin, H, W, KH, KW, stride_h, stride_w, pad_top, pad_left, Ho,
                           Wo);
            col_b = col;
        }
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, Cout, (int) plane, taps, 1.0f, w,
                     taps, col_b, (int) plane, 0.0f, out_b, (int) plane);
        if (bias == NULL)
            continue;
#pragma omp parallel for
        for (int o = 0; o < Cout; o++) {
            float *out_bo = out_b + (size_t) o * plane;

#pragma omp simd
            for (size_t s = 0; s < plane; s++)
                out_bo[s] += bias[o];
        }
    }
}

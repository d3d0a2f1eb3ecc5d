/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/pool2d.c: 2-D max pooling, NCHW, forward only: the max pool of the
 * audio ResNet's stem (3x3, stride 2, TensorFlow 'SAME' padding, as
 * hk.max_pool in deepmind-research mmv/models/resnet.py ResNetV2).
 * Semantics: TslMaxPool2dFn in ../ops.h.
 *
 * Positions outside the image take no part in a window (TensorFlow pads
 * max pooling with -inf); a NaN wins over any number; a window that lies
 * entirely outside gives -inf. Overwrites out. Threads split the (b, c)
 * planes, which are disjoint.
 */
#include <math.h>

#include "cpu-ops.h"

/* below this many window taps, starting threads costs more than it saves */
#define POOL2D_PARALLEL_MIN 16384

void
tsl_cpu_maxpool2d (TslBackend *be, float *out, const float *x, int B, int C, int H, int W,
                   int KH, int KW, int stride_h, int stride_w, int pad_top, int pad_left, int Ho,
                   int Wo)
{
    const size_t planes = (size_t) B * C;

    #pragma omp parallel for if (planes * Ho * Wo * KH * KW >= POOL2D_PARALLEL_MIN)
    for (size_t bc = 0; bc < planes; bc++) {
        const float *x_bc = x + bc * H * W;        /* [H, W] */
        float *out_bc = out + bc * Ho * Wo;        /* [Ho, Wo] */

        for (int oh = 0; oh < Ho; oh++) {
            const int h0 = oh * stride_h - pad_top;
            const int h_lo = MAX (h0, 0), h_hi = MIN (h0 + KH, H);

            for (int ow = 0; ow < Wo; ow++) {
                const int w0 = ow * stride_w - pad_left;
                const int w_lo = MAX (w0, 0), w_hi = MIN (w0 + KW, W);
                float best = -INFINITY;

                for (int h = h_lo; h < h_hi; h++) {
                    const float *x_h = x_bc + (size_t) h * W;
                    for (int w = w_lo; w < w_hi; w++) {
                        if (x_h[w] > best || isnan (x_h[w]))
                            best = x_h[w];
                    }
                }
                out_bc[(size_t) oh * Wo + ow] = best;
            }
        }
    }
}

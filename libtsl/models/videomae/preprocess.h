/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * videomae/preprocess.h: the frame transform of the official VideoMAE V2
 * temporal-detection feature extraction (extract_tad_feature.py:
 * ToFloatTensorInZeroOne then Resize((S, S))): 8-bit RGB values divided by
 * 255, each frame resized on its own to S x S by bilinear interpolation
 * with align_corners false and no antialiasing (torch.nn.functional.
 * interpolate), aspect ratio not kept, no crop, no mean/std
 * normalisation. For output index d of an axis of `in` pixels:
 * src = max ((d + 0.5) * in / out - 0.5, 0), i0 = floor (src),
 * i1 = min (i0 + 1, in - 1), weights 1 - (src - i0) and src - i0, with
 * in / out rounded to float as PyTorch rounds it.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Where the three colour bytes of a pixel sit in a packed frame. */
typedef struct {
    int pixel_stride;   /* bytes from one pixel to the next (3 for RGB, 4 for RGBx) */
    int offset[3];      /* byte offsets of R, G and B inside a pixel */
} TslPixelLayout;

/* Precomputed interpolation of one axis (in -> out). */
typedef struct {
    int in, out;
    int *i0, *i1;       /* [out] source indices */
    float *w0, *w1;     /* [out] their weights */
} TslResizeAxis;

void tsl_resize_axis_init (TslResizeAxis *axis, int in, int out);
void tsl_resize_axis_clear (TslResizeAxis *axis);

/* out[c * channel_stride + y * out_w + x] = the bilinear value of channel c
 * (R, G, B for c = 0, 1, 2) at output pixel (y, x), in [0, 1]. rows are
 * row_stride bytes apart; the frame is rows->in x cols->in pixels. */
void tsl_videomae_resize_frame (float *out /* [3, ..., out_h, out_w] */, size_t channel_stride,
                                const uint8_t *pixels /* [in_h, row_stride] */,
                                size_t row_stride, const TslPixelLayout *layout,
                                const TslResizeAxis *rows, const TslResizeAxis *cols);

G_END_DECLS

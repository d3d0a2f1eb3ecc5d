/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * videomae/preprocess.c: the official frame transform (see preprocess.h).
 * A frame is first interpolated along its width into a float row buffer
 * per needed source row, then the two source rows of every output row are
 * blended; each value is the same weighted sum as PyTorch's, up to float
 * rounding.
 */
#include "preprocess.h"

#include <math.h>

void
tsl_resize_axis_init (TslResizeAxis *axis, int in, int out)
{
    /* scale = (float) in / out as PyTorch forms it; the source position is
     * then formed from it in double, which reproduces PyTorch's weights
     * (checked on non-representable scales such as 44 / 24) */
    const double scale = (float) in / (float) out;

    axis->in = in;
    axis->out = out;
    axis->i0 = g_new (int, out);
    axis->i1 = g_new (int, out);
    axis->w0 = g_new (float, out);
    axis->w1 = g_new (float, out);
    for (int d = 0; d < out; d++) {
        double src = MAX (scale * (d + 0.5) - 0.5, 0.0);
        int i0 = MIN ((int) src, in - 1);
        float lambda = (float) MIN (src - i0, 1.0);

        axis->i0[d] = i0;
        axis->i1[d] = MIN (i0 + 1, in - 1);
        axis->w1[d] = lambda;
        axis->w0[d] = 1.0f - lambda;
    }
}

void
tsl_resize_axis_clear (TslResizeAxis *axis)
{
    g_clear_pointer (&axis->i0, g_free);
    g_clear_pointer (&axis->i1, g_free);
    g_clear_pointer (&axis->w0, g_free);
    g_clear_pointer (&axis->w1, g_free);
}

/* row_out[c, x] = the width-interpolated values of source row y, in [0, 1] */
static void
interpolate_row (float *row_out /* [3, out_w] */, const uint8_t *row /* [in_w pixels] */,
                 const TslPixelLayout *layout, const TslResizeAxis *cols)
{
    for (int c = 0; c < 3; c++) {
        const uint8_t *channel = row + layout->offset[c];
        float *out_c = row_out + (size_t) c * cols->out;

        for (int x = 0; x < cols->out; x++) {
            float v0 = channel[(size_t) cols->i0[x] * layout->pixel_stride] / 255.0f;
            float v1 = channel[(size_t) cols->i1[x] * layout->pixel_stride] / 255.0f;
            out_c[x] = cols->w0[x] * v0 + cols->w1[x] * v1;
        }
    }
}

void
tsl_videomae_resize_frame (float *out, size_t channel_stride, const uint8_t *pixels,
                           size_t row_stride, const TslPixelLayout *layout,
                           const TslResizeAxis *rows, const TslResizeAxis *cols)
{
#pragma omp parallel
    {
        float *top = g_new (float, 3 * (size_t) cols->out);
        float *bottom = g_new (float, 3 * (size_t) cols->out);

#pragma omp for
        for (int y = 0; y < rows->out; y++) {
            const float w0 = rows->w0[y], w1 = rows->w1[y];

            interpolate_row (top, pixels + (size_t) rows->i0[y] * row_stride, layout, cols);
            interpolate_row (bottom, pixels + (size_t) rows->i1[y] * row_stride, layout, cols);
            for (int c = 0; c < 3; c++) {
                const float *top_c = top + (size_t) c * cols->out;
                const float *bottom_c = bottom + (size_t) c * cols->out;
                float *out_cy = out + c * channel_stride + (size_t) y * cols->out;

                for (int x = 0; x < cols->out; x++)
                    out_cy[x] = w0 * top_c[x] + w1 * bottom_c[x];
            }
        }
        g_free (top);
        g_free (bottom);
    }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/pool2d.c against a plain loop in double written from the
 * definition in ops.h: windows (oh * stride_h - pad_top + kh,
 * ow * stride_w - pad_left + kw), positions outside the image ignored.
 *
 * Cases: the audio ResNet's stem pool (3x3, stride 2, TensorFlow 'SAME'
 * padding from tsl_conv2d_same_padding) on odd and even sizes, where
 * 'SAME' pads only at the bottom/right or on both sides; rectangular
 * kernels and strides; overlapping windows with explicit padding;
 * windows larger than the image; a size large enough to run threaded.
 * Inputs are normal values, so a window that wrongly reads a padded zero
 * shows up wherever all its real values are negative. Max pooling only
 * selects, so the comparison is exact. One case puts a NaN and -inf
 * values in the input: the NaN must win its windows.
 */
#include <math.h>

#include "testutil.h"
#include "cpu/cpu-ops.h"

typedef struct {
    int B, C, H, W, KH, KW, stride_h, stride_w;
    gboolean same;          /* TensorFlow 'SAME' padding, else pad_top/pad_left below */
    int pad_top, pad_left;  /* explicit padding (bottom/right follow from Ho/Wo) */
    int Ho, Wo;             /* explicit output size when !same */
    gboolean nan;           /* plant a NaN and some -inf */
} Pool2dCase;

static const Pool2dCase cases[] = {
    { 2, 3, 75, 40, 3, 3, 2, 2, TRUE },       /* the stem: 150 x 80 log-mel after the conv */
    { 1, 4, 19, 8, 3, 3, 2, 2, TRUE },        /* odd height: padding at the bottom only */
    { 2, 2, 6, 7, 3, 3, 2, 2, TRUE },         /* even height: one row of padding at the top */
    { 1, 1, 1, 1, 3, 3, 2, 2, TRUE },         /* a 1 x 1 image */
    { 3, 2, 11, 13, 2, 4, 1, 3, TRUE },       /* rectangular kernel and strides */
    { 2, 3, 9, 10, 3, 3, 1, 1, FALSE, 1, 1, 9, 10 },  /* overlapping, explicit padding */
    { 1, 2, 5, 4, 7, 6, 2, 2, FALSE, 3, 2, 2, 2 },    /* windows larger than the image */
    { 1, 2, 10, 9, 3, 3, 2, 2, TRUE, .nan = TRUE },
    { 4, 64, 75, 40, 3, 3, 2, 2, TRUE },      /* threaded */
};

static void
case_geometry (const Pool2dCase *c, int *pad_top, int *pad_left, int *Ho, int *Wo)
{
    if (c->same) {
        tsl_conv2d_same_padding (c->H, c->KH, c->stride_h, pad_top, Ho);
        tsl_conv2d_same_padding (c->W, c->KW, c->stride_w, pad_left, Wo);
    } else {
        *pad_top = c->pad_top;
        *pad_left = c->pad_left;
        *Ho = c->Ho;
        *Wo = c->Wo;
    }
}

static void
test_maxpool2d_case (gconstpointer data)
{
    const Pool2dCase *c = data;
    int pad_top, pad_left, Ho, Wo;
    TslTestRng rng;
    TslBackend *be = tsl_backend_new ("cpu", NULL);

    case_geometry (c, &pad_top, &pad_left, &Ho, &Wo);
    const size_t n_in = (size_t) c->B * c->C * c->H * c->W;
    const size_t n_out = (size_t) c->B * c->C * Ho * Wo;
    float *x = g_new (float, n_in);          /* [B, C, H, W] */
    double *ref = g_new (double, n_out);     /* [B, C, Ho, Wo] */
    float *out = tsl_test_alloc_guarded (n_out);

    tsl_test_rng_init (&rng, 7000 + n_in);
    tsl_test_fill_normal (&rng, x, n_in, 1.0f);
    if (c->nan) {
        x[c->W + 3] = NAN;
        x[0] = x[1] = -INFINITY;
    }
    for (size_t bc = 0; bc < (size_t) c->B * c->C; bc++) {
        for (int oh = 0; oh < Ho; oh++) {
            for (int ow = 0; ow < Wo; ow++) {
                double best = -INFINITY;
                for (int kh = 0; kh < c->KH; kh++) {
                    for (int kw = 0; kw < c->KW; kw++) {
                        const int h = oh * c->stride_h - pad_top + kh;
                        const int w = ow * c->stride_w - pad_left + kw;
                        if (h < 0 || h >= c->H || w < 0 || w >= c->W)
                            continue;
                        const double v = x[(bc * c->H + h) * c->W + w];
                        if (isnan (v) || isnan (best))
                            best = NAN;
                        else
                            best = MAX (best, v);
                    }
                }
                ref[(bc * Ho + oh) * Wo + ow] = best;
            }
        }
    }

    tsl_cpu_maxpool2d (be, out, x, c->B, c->C, c->H, c->W, c->KH, c->KW, c->stride_h,
                       c->stride_w, pad_top, pad_left, Ho, Wo);
    if (c->nan) {
        /* NaN never passes check_close: compare the NaN pattern, then the rest */
        for (size_t i = 0; i < n_out; i++) {
            g_assert_cmpint (isnan (out[i]), ==, isnan (ref[i]));
            if (isnan (ref[i]))
                out[i] = 0.0f, ref[i] = 0.0;
        }
    }
    tsl_test_check_close ("maxpool2d", out, ref, n_out, 0.0, 0.0);
    tsl_test_free_guarded ("maxpool2d out", out, n_out);
    g_free (x);
    g_free (ref);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++) {
        const Pool2dCase *c = &cases[i];
        g_autofree char *path = g_strdup_printf (
            "/cpu/maxpool2d/%zu-B%d-C%d-%dx%d-k%dx%d-s%dx%d%s%s", i, c->B, c->C, c->H, c->W,
            c->KH, c->KW, c->stride_h, c->stride_w, c->same ? "-same" : "",
            c->nan ? "-nan" : "");
        g_test_add_data_func (path, c, test_maxpool2d_case);
    }
    return g_test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/conv2d.c against double-precision direct loops: TensorFlow
 * 'SAME' padding (from tsl_conv2d_same_padding) on odd and even inputs with
 * strides 1 and 2 and kernels 1, 3 and 7, explicit asymmetric padding with
 * non-square kernels and strides, the 1x1 path that skips the unfold, B > 1,
 * with and without bias. The output is guarded against writes past its end.
 */
#include "testutil.h"
#include "cpu/cpu-ops.h"

typedef struct {
    int B, Cin, H, W, Cout, KH, KW, stride_h, stride_w;
    gboolean same;          /* TensorFlow 'SAME'; else the padding below on both sides */
    int pad_h, pad_w;
    gboolean bias;
} Conv2dCase;

static const Conv2dCase cases[] = {
    /* B Cin H   W  Cout KH KW sh sw same  ph pw bias */
    { 1, 1, 1, 1, 1, 1, 1, 1, 1, TRUE, 0, 0, FALSE },    /* one pixel */
    { 2, 3, 8, 6, 5, 1, 1, 1, 1, TRUE, 0, 0, TRUE },     /* 1x1: no unfold */
    { 1, 4, 9, 8, 3, 1, 1, 2, 2, TRUE, 0, 0, TRUE },     /* 1x1 stride 2, odd and even */
    { 2, 3, 9, 9, 4, 3, 3, 1, 1, TRUE, 0, 0, TRUE },     /* odd, stride 1 */
    { 1, 5, 8, 8, 6, 3, 3, 2, 2, TRUE, 0, 0, FALSE },    /* even, stride 2: pad 0 top, 1 bottom */
    { 2, 2, 9, 9, 3, 3, 3, 2, 2, TRUE, 0, 0, TRUE },     /* odd, stride 2: pad 1 on both */
    { 1, 3, 11, 11, 4, 7, 7, 1, 1, TRUE, 0, 0, TRUE },   /* K 7, odd, stride 1 */
    { 2, 3, 16, 16, 8, 7, 7, 2, 2, TRUE, 0, 0, TRUE },   /* ResNet stem shape, even */
    { 1, 2, 10, 7, 5, 7, 7, 2, 2, TRUE, 0, 0, FALSE },   /* K 7 larger than W padding */
    { 1, 2, 4, 3, 3, 7, 7, 1, 2, TRUE, 0, 0, TRUE },     /* kernel larger than the input */
    { 2, 3, 13, 10, 4, 3, 5, 2, 1, FALSE, 1, 2, TRUE },  /* explicit, non-square */
    { 1, 6, 12, 8, 7, 2, 2, 2, 2, FALSE, 0, 0, TRUE },   /* patchify, no padding */
};

/* ---- double-precision reference ---- */

static void
conv2d_reference (double *out /* [B, Cout, Ho, Wo] */, const float *x /* [B, Cin, H, W] */,
                  const float *w /* [Cout, Cin, KH, KW] */, const float *bias /* [Cout] or NULL */,
                  const Conv2dCase *c, int pad_top, int pad_left, int Ho, int Wo)
{
    for (int b = 0; b < c->B; b++)
        for (int o = 0; o < c->Cout; o++)
            for (int oh = 0; oh < Ho; oh++)
                for (int ow = 0; ow < Wo; ow++) {
                    double acc = bias ? bias[o] : 0.0;

                    for (int i = 0; i < c->Cin; i++)
                        for (int kh = 0; kh < c->KH; kh++)
                            for (int kw = 0; kw < c->KW; kw++) {
                                int ih = oh * c->stride_h - pad_top + kh;
                                int iw = ow * c->stride_w - pad_left + kw;

                                if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W)
                                    continue;
                                acc += (double) w[(((size_t) o * c->Cin + i) * c->KH + kh) *
                                                      c->KW + kw] *
                                       x[(((size_t) b * c->Cin + i) * c->H + ih) * c->W + iw];
                            }
                    out[(((size_t) b * c->Cout + o) * Ho + oh) * Wo + ow] = acc;
                }
}

static void
test_conv2d_case (gconstpointer data)
{
    const Conv2dCase *c = data;
    int pad_top = c->pad_h, pad_left = c->pad_w, Ho, Wo;
    g_autoptr (GError) error = NULL;
    TslBackend *be = tsl_backend_new ("cpu", &error);
    TslTestRng rng;

    g_assert_no_error (error);
    if (c->same) {
        tsl_conv2d_same_padding (c->H, c->KH, c->stride_h, &pad_top, &Ho);
        tsl_conv2d_same_padding (c->W, c->KW, c->stride_w, &pad_left, &Wo);
    } else {
        Ho = (c->H + 2 * c->pad_h - c->KH) / c->stride_h + 1;
        Wo = (c->W + 2 * c->pad_w - c->KW) / c->stride_w + 1;
    }

    const size_t n_x = (size_t) c->B * c->Cin * c->H * c->W;
    const size_t n_w = (size_t) c->Cout * c->Cin * c->KH * c->KW;
    const size_t n_out = (size_t) c->B * c->Cout * Ho * Wo;
    float *x = g_new (float, n_x), *w = g_new (float, n_w);
    float *bias = c->bias ? g_new (float, c->Cout) : NULL;
    float *out = tsl_test_alloc_guarded (n_out);
    double *ref = g_new (double, n_out);

    tsl_test_rng_init (&rng, 7 + c->H * 13 + c->KH);
    tsl_test_fill_normal (&rng, x, n_x, 1.0f);
    tsl_test_fill_normal (&rng, w, n_w, 1.0f);
    tsl_test_fill_normal (&rng, out, n_out, 1.0f); /* must be overwritten */
    if (bias)
        tsl_test_fill_normal (&rng, bias, c->Cout, 1.0f);

    conv2d_reference (ref, x, w, bias, c, pad_top, pad_left, Ho, Wo);
    tsl_cpu_conv2d (be, out, x, w, bias, c->B, c->Cin, c->H, c->W, c->Cout, c->KH, c->KW,
                    c->stride_h, c->stride_w, pad_top, pad_left, Ho, Wo);
    /* float sums of Cin * KH * KW products of unit normals */
    tsl_test_check_close ("conv2d out", out, ref, n_out, 1e-5 * c->Cin * c->KH * c->KW, 1e-5);

    tsl_test_free_guarded ("conv2d out", out, n_out);
    g_free (x);
    g_free (w);
    g_free (bias);
    g_free (ref);
    tsl_backend_free (be);
}

/* TensorFlow's values: out = ceil(in / stride), the odd pixel of an odd
 * total goes to the bottom/right */
static void
test_same_padding (void)
{
    static const struct {
        int in, k, stride, pad_before, out;
    } rows[] = {
        { 8, 3, 2, 0, 4 }, { 9, 3, 2, 1, 5 }, { 9, 3, 1, 1, 9 }, { 8, 1, 2, 0, 4 },
        { 224, 7, 2, 2, 112 }, { 10, 7, 2, 2, 5 }, { 4, 7, 1, 3, 4 },
    };

    for (guint i = 0; i < G_N_ELEMENTS (rows); i++) {
        int pad_before, out;

        tsl_conv2d_same_padding (rows[i].in, rows[i].k, rows[i].stride, &pad_before, &out);
        g_assert_cmpint (out, ==, rows[i].out);
        g_assert_cmpint (pad_before, ==, rows[i].pad_before);
    }
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/cpu/conv2d/same_padding", test_same_padding);
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        const Conv2dCase *c = &cases[i];
        g_autofree char *path = g_strdup_printf (
            "/cpu/conv2d/b%d_ci%d_%dx%d_co%d_k%dx%d_s%dx%d_%s%s", c->B, c->Cin, c->H, c->W,
            c->Cout, c->KH, c->KW, c->stride_h, c->stride_w, c->same ? "same" : "explicit",
            c->bias ? "_bias" : "");
        g_test_add_data_func (path, c, test_conv2d_case);
    }
    return g_test_run ();
}

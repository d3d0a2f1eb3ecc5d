/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/conv1d.c against double-precision direct loops, forward and
 * backward, over every path of the op: pointwise (K = 1, stride 1, no
 * padding), depthwise (groups = Cin = Cout), one sgemm per tap on shifted
 * views (stride 1, groups 1, Cout < Tout; with and without a tap that
 * covers every output time) and im2col + sgemm (groups 1, 2, 3 and channel
 * multipliers), with odd lengths, stride 2 on odd T,
 * padding 0/1/2, kernels 1/3/5, B > 1, and masks whose tails are padding.
 * Backward is also checked against finite differences of
 * loss = sum(out * r) (so dout = r), and for its accumulate rule: it must
 * add into dx, dw and dbias, never overwrite them.
 */
#include <string.h>

#include "testutil.h"
#include "cpu/cpu-ops.h"

typedef struct {
    int B, Cin, Cout, Tin, K, stride, padding, groups;
    gboolean bias;    /* with bias (and dbias) */
    gboolean mask;    /* with an output mask whose tails are padding */
    gboolean want_dx; /* backward asks for dx (else passes NULL) */
} Conv1dCase;

static const Conv1dCase cases[] = {
    /* B  Cin Cout Tin K  s  p  groups  bias   mask   dx */
    { 1, 1, 1, 1, 1, 1, 0, 1, TRUE, FALSE, TRUE },      /* smallest pointwise */
    { 2, 12, 9, 23, 1, 1, 0, 1, TRUE, TRUE, TRUE },     /* pointwise, one sgemm */
    { 2, 12, 6, 23, 1, 1, 0, 3, FALSE, TRUE, TRUE },    /* pointwise, 3 groups */
    { 1, 16, 8, 33, 1, 2, 0, 1, TRUE, FALSE, TRUE },    /* K 1 with stride 2 */
    { 2, 5, 7, 37, 3, 1, 1, 1, TRUE, TRUE, TRUE },      /* the ActionFormer conv */
    { 3, 4, 6, 16, 5, 1, 0, 2, FALSE, FALSE, FALSE },   /* groups 2, no padding, no dx */
    { 2, 6, 4, 37, 3, 2, 1, 2, TRUE, TRUE, TRUE },      /* stride 2 on odd T */
    { 2, 3, 5, 9, 5, 2, 2, 1, TRUE, TRUE, TRUE },       /* K 5, padding 2, stride 2 */
    { 1, 3, 4, 5, 3, 1, 0, 1, FALSE, TRUE, TRUE },      /* no padding, short T */
    { 1, 4, 8, 13, 3, 1, 1, 4, TRUE, TRUE, TRUE },      /* groups = Cin, 2 outputs each */
    { 3, 8, 8, 29, 5, 1, 2, 8, TRUE, TRUE, TRUE },      /* depthwise K 5 */
    { 2, 8, 8, 31, 3, 2, 1, 8, FALSE, TRUE, TRUE },     /* depthwise stride 2, odd T */
    { 1, 4, 4, 2, 5, 1, 2, 4, TRUE, TRUE, TRUE },       /* depthwise, T shorter than K */
    { 2, 6, 6, 19, 1, 1, 0, 6, TRUE, TRUE, FALSE },     /* depthwise K 1, no dx */
    { 2, 32, 24, 101, 3, 1, 1, 1, TRUE, TRUE, TRUE },   /* wider */
    { 1, 24, 24, 67, 3, 2, 1, 24, TRUE, TRUE, TRUE },   /* depthwise downsampling */
    { 2, 9, 5, 40, 5, 1, 2, 1, TRUE, TRUE, TRUE },      /* shifted taps, middle tap first */
    { 1, 4, 3, 17, 2, 1, 1, 1, TRUE, TRUE, TRUE },      /* shifted taps, none covers all t */
    { 2, 6, 3, 20, 3, 1, 2, 1, FALSE, TRUE, TRUE },     /* shifted taps, padding past K / 2 */
    { 2, 7, 5, 26, 3, 1, 1, 1, TRUE, TRUE, FALSE },     /* shifted taps, no dx */
    { 2, 3, 2, 1, 5, 1, 3, 1, TRUE, TRUE, TRUE },       /* shifted taps, two read nothing */
    { 2, 6, 40, 30, 3, 1, 1, 1, TRUE, TRUE, TRUE },     /* Cout >= Tout: im2col */
};

static int
conv1d_case_tout (const Conv1dCase *c)
{
    return (c->Tin + 2 * c->padding - c->K) / c->stride + 1;
}

/* mask[b, t] = 1 for t < the valid length of b, which shrinks with b */
static void
fill_mask (float *mask /* [B, T] */, int B, int T)
{
    for (int b = 0; b < B; b++) {
        int valid = MAX (1, T - b * (T / 3 + 1));

        for (int t = 0; t < T; t++)
            mask[(size_t) b * T + t] = t < valid ? 1.0f : 0.0f;
    }
}

/* ---- double-precision references ---- */

static void
conv1d_reference (double *out /* [B, Cout, Tout] */, const float *x /* [B, Cin, Tin] */,
                  const float *w /* [Cout, Cin / G, K] */, const float *bias /* [Cout] or NULL */,
                  const float *mask /* [B, Tout] or NULL */, const Conv1dCase *c)
{
    const int Tout = conv1d_case_tout (c);
    const int Cin_g = c->Cin / c->groups, Cout_g = c->Cout / c->groups;

    for (int b = 0; b < c->B; b++) {
        for (int o = 0; o < c->Cout; o++) {
            const int g = o / Cout_g;

            for (int t = 0; t < Tout; t++) {
                double acc = bias ? bias[o] : 0.0;

                for (int i = 0; i < Cin_g; i++) {
                    for (int k = 0; k < c->K; k++) {
                        int ti = t * c->stride - c->padding + k;

                        if (ti < 0 || ti >= c->Tin)
                            continue;
                        acc += (double) w[((size_t) o * Cin_g + i) * c->K + k] *
                               x[((size_t) b * c->Cin + g * Cin_g + i) * c->Tin + ti];
                    }
                }
                out[((size_t) b * c->Cout + o) * Tout + t] =
                    mask ? acc * mask[(size_t) b * Tout + t] : acc;
            }
        }
    }
}

/* the gradients of sum(out * dout), each zeroed first */
static void
conv1d_backward_reference (double *dx /* [B, Cin, Tin] */, double *dw /* [Cout, Cin / G, K] */,
                           double *dbias /* [Cout] */, const float *dout /* [B, Cout, Tout] */,
                           const float *x /* [B, Cin, Tin] */,
                           const float *w /* [Cout, Cin / G, K] */,
                           const float *mask /* [B, Tout] or NULL */, const Conv1dCase *c)
{
    const int Tout = conv1d_case_tout (c);
    const int Cin_g = c->Cin / c->groups, Cout_g = c->Cout / c->groups;

    memset (dx, 0, sizeof (double) * c->B * c->Cin * c->Tin);
    memset (dw, 0, sizeof (double) * c->Cout * Cin_g * c->K);
    memset (dbias, 0, sizeof (double) * c->Cout);
    for (int b = 0; b < c->B; b++) {
        for (int o = 0; o < c->Cout; o++) {
            const int g = o / Cout_g;

            for (int t = 0; t < Tout; t++) {
                double dm = dout[((size_t) b * c->Cout + o) * Tout + t];

                if (mask)
                    dm *= mask[(size_t) b * Tout + t];
                dbias[o] += dm;
                for (int i = 0; i < Cin_g; i++) {
                    for (int k = 0; k < c->K; k++) {
                        int ti = t * c->stride - c->padding + k;
                        size_t wi = ((size_t) o * Cin_g + i) * c->K + k;
                        size_t xi = ((size_t) b * c->Cin + g * Cin_g + i) * c->Tin + ti;

                        if (ti < 0 || ti >= c->Tin)
                            continue;
                        dw[wi] += dm * x[xi];
                        dx[xi] += dm * w[wi];
                    }
                }
            }
        }
    }
}

/* ---- finite differences ---- */

typedef struct {
    TslBackend *be;
    const Conv1dCase *c;
    float *out, *x, *w, *bias, *mask, *r;
} Conv1dLoss;

static double
conv1d_loss (void *data)
{
    Conv1dLoss *l = data;
    const Conv1dCase *c = l->c;
    const int Tout = conv1d_case_tout (c);
    const size_t n_out = (size_t) c->B * c->Cout * Tout;
    double loss = 0.0;

    tsl_cpu_conv1d (l->be, l->out, l->x, l->w, l->bias, l->mask, c->B, c->Cin, c->Cout, c->Tin,
                    Tout, c->K, c->stride, c->padding, c->groups);
    for (size_t i = 0; i < n_out; i++)
        loss += (double) l->out[i] * l->r[i];
    return loss;
}

/* expected[i] = before[i] + ref[i] */
static double *
sum_of (const float *before, const double *ref, size_t n)
{
    double *expected = g_new (double, n);

    for (size_t i = 0; i < n; i++)
        expected[i] = (double) before[i] + ref[i];
    return expected;
}

static void
test_conv1d_case (gconstpointer data)
{
    const Conv1dCase *c = data;
    const int Tout = conv1d_case_tout (c);
    const int Cin_g = c->Cin / c->groups;
    const size_t n_x = (size_t) c->B * c->Cin * c->Tin;
    const size_t n_w = (size_t) c->Cout * Cin_g * c->K;
    const size_t n_out = (size_t) c->B * c->Cout * Tout;
    /* float sums of n products of unit normals: rounding grows like sqrt(n) ulp */
    const double fwd_atol = 1e-5 * Cin_g * c->K;
    const double dw_atol = 1e-5 * c->B * Tout, dx_atol = 1e-5 * c->Cout * c->K;
    g_autoptr (GError) error = NULL;
    TslBackend *be = tsl_backend_new ("cpu", &error);
    TslTestRng rng;
    float *x = g_new (float, n_x), *w = g_new (float, n_w), *r = g_new (float, n_out);
    float *bias = c->bias ? g_new (float, c->Cout) : NULL;
    float *mask = c->mask ? g_new (float, (size_t) c->B * Tout) : NULL;
    float *out = tsl_test_alloc_guarded (n_out);
    float *dx = tsl_test_alloc_guarded (n_x), *dw = tsl_test_alloc_guarded (n_w);
    float *dbias = tsl_test_alloc_guarded (c->Cout);
    float *acc_dx = tsl_test_alloc_guarded (n_x), *acc_dw = tsl_test_alloc_guarded (n_w);
    float *acc_dbias = tsl_test_alloc_guarded (c->Cout);
    double *ref_out = g_new (double, n_out), *ref_dx = g_new (double, n_x);
    double *ref_dw = g_new (double, n_w), *ref_dbias = g_new (double, c->Cout);

    g_assert_no_error (error);
    g_assert_cmpint (Tout, >=, 1);
    tsl_test_rng_init (&rng, 1000 + c->Cin * 31 + c->Tin * 7 + c->groups);
    tsl_test_fill_normal (&rng, x, n_x, 1.0f);
    tsl_test_fill_normal (&rng, w, n_w, 1.0f);
    tsl_test_fill_normal (&rng, r, n_out, 1.0f);
    tsl_test_fill_normal (&rng, out, n_out, 1.0f); /* forward must overwrite this */
    if (bias)
        tsl_test_fill_normal (&rng, bias, c->Cout, 1.0f);
    if (mask)
        fill_mask (mask, c->B, Tout);

    /* forward */
    conv1d_reference (ref_out, x, w, bias, mask, c);
    tsl_cpu_conv1d (be, out, x, w, bias, mask, c->B, c->Cin, c->Cout, c->Tin, Tout, c->K,
                    c->stride, c->padding, c->groups);
    tsl_test_check_close ("conv1d out", out, ref_out, n_out, fwd_atol, 1e-5);

    /* backward from zeroed gradients, dout = r */
    conv1d_backward_reference (ref_dx, ref_dw, ref_dbias, r, x, w, mask, c);
    tsl_cpu_conv1d_backward (be, c->want_dx ? dx : NULL, dw, c->bias ? dbias : NULL, r, x, w,
                             mask, c->B, c->Cin, c->Cout, c->Tin, Tout, c->K, c->stride,
                             c->padding, c->groups);
    if (c->want_dx)
        tsl_test_check_close ("conv1d dx", dx, ref_dx, n_x, dx_atol, 1e-5);
    tsl_test_check_close ("conv1d dw", dw, ref_dw, n_w, dw_atol, 1e-5);
    if (c->bias)
        tsl_test_check_close ("conv1d dbias", dbias, ref_dbias, c->Cout, dw_atol, 1e-5);

    /* accumulate rule: into random gradients, backward adds the same amounts */
    {
        tsl_test_fill_normal (&rng, acc_dx, n_x, 1.0f);
        tsl_test_fill_normal (&rng, acc_dw, n_w, 1.0f);
        tsl_test_fill_normal (&rng, acc_dbias, c->Cout, 1.0f);
        g_autofree double *want_dx = sum_of (acc_dx, ref_dx, n_x);
        g_autofree double *want_dw = sum_of (acc_dw, ref_dw, n_w);
        g_autofree double *want_dbias = sum_of (acc_dbias, ref_dbias, c->Cout);

        tsl_cpu_conv1d_backward (be, c->want_dx ? acc_dx : NULL, acc_dw,
                                 c->bias ? acc_dbias : NULL, r, x, w, mask, c->B, c->Cin, c->Cout,
                                 c->Tin, Tout, c->K, c->stride, c->padding, c->groups);
        if (c->want_dx)
            tsl_test_check_close ("conv1d dx accumulated", acc_dx, want_dx, n_x, dx_atol, 1e-5);
        tsl_test_check_close ("conv1d dw accumulated", acc_dw, want_dw, n_w, dw_atol, 1e-5);
        if (c->bias)
            tsl_test_check_close ("conv1d dbias accumulated", acc_dbias, want_dbias, c->Cout,
                                  dw_atol, 1e-5);
    }

    /* finite differences; the loss is linear in every input, so eps can be
     * large and the error is float rounding of the loss over 2 eps */
    {
        Conv1dLoss loss = { be, c, out, x, w, bias, mask, r };

        if (c->want_dx)
            tsl_test_check_gradient ("conv1d dx numeric", conv1d_loss, &loss, x, dx, n_x, 64,
                                     0.05f, 2e-3, 1e-3);
        tsl_test_check_gradient ("conv1d dw numeric", conv1d_loss, &loss, w, dw, n_w, 64, 0.05f,
                                 2e-3, 1e-3);
        if (c->bias)
            tsl_test_check_gradient ("conv1d dbias numeric", conv1d_loss, &loss, bias, dbias,
                                     c->Cout, 64, 0.05f, 2e-3, 1e-3);
    }

    tsl_test_free_guarded ("conv1d out", out, n_out);
    tsl_test_free_guarded ("conv1d dx", dx, n_x);
    tsl_test_free_guarded ("conv1d dw", dw, n_w);
    tsl_test_free_guarded ("conv1d dbias", dbias, c->Cout);
    tsl_test_free_guarded ("conv1d dx accumulated", acc_dx, n_x);
    tsl_test_free_guarded ("conv1d dw accumulated", acc_dw, n_w);
    tsl_test_free_guarded ("conv1d dbias accumulated", acc_dbias, c->Cout);
    g_free (x);
    g_free (w);
    g_free (r);
    g_free (bias);
    g_free (mask);
    g_free (ref_out);
    g_free (ref_dx);
    g_free (ref_dw);
    g_free (ref_dbias);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        const Conv1dCase *c = &cases[i];
        g_autofree char *path = g_strdup_printf (
            "/cpu/conv1d/b%d_ci%d_co%d_t%d_k%d_s%d_p%d_g%d%s%s%s", c->B, c->Cin, c->Cout, c->Tin,
            c->K, c->stride, c->padding, c->groups, c->bias ? "_bias" : "",
            c->mask ? "_mask" : "", c->want_dx ? "" : "_nodx");
        g_test_add_data_func (path, c, test_conv1d_case);
    }
    return g_test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/pool.c against plain loops written from PyTorch's definitions.
 *
 * maxpool1d: windows o * stride - padding + k, -inf outside [0, T), first
 * index on ties; out and argmax must match exactly, over odd T, K even and
 * odd, padding 0 .. K / 2, and ActionFormer's (K 3, stride 2, padding 1).
 * Inputs are distinct values (a shuffled ramp), except in the tie cases,
 * which draw from three values to check the first-index rule, and one row
 * of NaN, signed zeros and -inf (NaN wins, -0 ties +0). The backward
 * is checked against scattering dout to argmax, for its accumulate rule
 * (dx prefilled), and by finite differences of loss = sum(out * r), whose
 * step stays below half the gap between inputs.
 *
 * mask_downsample: F.interpolate(mode='nearest') source indices as PyTorch
 * computes them in float, for power-of-two ratios (ActionFormer's FPN),
 * odd ratios and equal sizes; the mask holds distinct values so that any
 * wrong source index shows.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "cpu/cpu-ops.h"

/* ---- maxpool1d ---- */

typedef struct {
    int B, C, T, K, stride, padding;
    gboolean ties;  /* inputs from {0, 1, 2}: many equal maxima */
} MaxPoolCase;

static const MaxPoolCase pool_cases[] = {
    { 1, 1, 1, 1, 1, 0, FALSE },
    { 2, 3, 17, 3, 2, 1, FALSE },    /* ActionFormer's downsampling, odd T */
    { 2, 5, 16, 3, 2, 1, FALSE },
    { 1, 2, 7, 2, 2, 0, FALSE },     /* even K, no padding, T left over */
    { 3, 4, 10, 5, 1, 2, FALSE },    /* overlapping windows */
    { 2, 3, 9, 4, 3, 2, FALSE },     /* even K with padding K / 2 */
    { 2, 1, 23, 3, 2, 1, TRUE },
    { 3, 2, 30, 4, 1, 2, TRUE },
    { 2, 64, 2561, 3, 2, 1, FALSE }, /* large enough to run threaded */
};

/* values are spaced 0.01 apart: the step must not reorder them */
#define GRAD_EPS 4e-3f
/* piecewise linear away from ties: exact up to the rounding of x +- eps
 * (inputs up to 13, ulp 1e-6, over 2 eps) */
#define GRAD_ATOL 1e-3
#define GRAD_RTOL 1e-3
#define GRAD_CHECKS 64

static int
pool_out_length (const MaxPoolCase *c)
{
    return (c->T + 2 * c->padding - c->K) / c->stride + 1;
}

typedef struct {
    TslBackend *be;
    const MaxPoolCase *c;
    int To;
    float *x;          /* [B, C, T] */
    float *out;        /* [B, C, To] */
    int32_t *argmax;   /* [B, C, To] */
    const float *r;    /* [B, C, To] loss weights = dout */
} LossContext;

static double
weighted_sum_loss (void *data)
{
    LossContext *ctx = data;
    const MaxPoolCase *c = ctx->c;
    const size_t n_out = (size_t) c->B * c->C * ctx->To;
    double loss = 0.0;

    tsl_cpu_maxpool1d (ctx->be, ctx->out, ctx->argmax, ctx->x, c->B, c->C, c->T, ctx->To, c->K,
                       c->stride, c->padding);
    for (size_t i = 0; i < n_out; i++)
        loss += (double) ctx->out[i] * ctx->r[i];
    return loss;
}

static void
test_maxpool_case (gconstpointer data)
{
    const MaxPoolCase *c = data;
    const int B = c->B, C = c->C, T = c->T, To = pool_out_length (c);
    const size_t n_in = (size_t) B * C * T, n_out = (size_t) B * C * To;
    TslTestRng rng;
    TslBackend *be = tsl_backend_new ("cpu", NULL);
    float *x = g_new (float, n_in);                                /* [B, C, T] */
    float *r = g_new (float, n_out);                               /* [B, C, To] */
    float *prefill = g_new (float, n_in), *dx = g_new0 (float, n_in);
    float *out = tsl_test_alloc_guarded (n_out);
    /* int32 argmax in a guarded float buffer: same size, canaries around it */
    int32_t *argmax = (int32_t *) tsl_test_alloc_guarded (n_out);
    int32_t *ref_argmax = g_new (int32_t, n_out);
    double *ref = g_new (double, n_out), *ref_dx = g_new0 (double, n_in);
    size_t wrong_argmax = 0;

    tsl_test_rng_init (&rng, 1000 + n_in + c->ties);
    if (c->ties) {
        for (size_t i = 0; i < n_in; i++)
            x[i] = (float) tsl_test_rng_int (&rng, 0, 2);
    } else {
        /* each row a shuffled ramp: distinct values 0.01 apart, centred on 0 */
        for (size_t bc = 0; bc < (size_t) B * C; bc++) {
            float *x_bc = x + bc * T;
            for (int t = 0; t < T; t++)
                x_bc[t] = 0.01f * (float) (t - T / 2);
            for (int t = T - 1; t > 0; t--) {
                int j = tsl_test_rng_int (&rng, 0, t);
                float tmp = x_bc[t];
                x_bc[t] = x_bc[j];
                x_bc[j] = tmp;
            }
        }
    }
    tsl_test_fill_normal (&rng, r, n_out, 1.0f);
    tsl_test_fill_normal (&rng, prefill, n_in, 1.0f);

    for (size_t bc = 0; bc < (size_t) B * C; bc++) {
        for (int o = 0; o < To; o++) {
            double best = -INFINITY;
            int best_t = -1;
            for (int k = 0; k < c->K; k++) {
                int t = o * c->stride - c->padding + k;
                if (t >= 0 && t < T && x[bc * T + t] > best) {
                    best = x[bc * T + t];
                    best_t = t;
                }
            }
            ref[bc * To + o] = best;
            ref_argmax[bc * To + o] = best_t;
            ref_dx[bc * T + best_t] += r[bc * To + o];
        }
    }

    tsl_cpu_maxpool1d (be, out, argmax, x, B, C, T, To, c->K, c->stride, c->padding);
    tsl_test_check_close ("maxpool1d", out, ref, n_out, 0.0, 0.0);
    for (size_t i = 0; i < n_out; i++) {
        if (argmax[i] != ref_argmax[i]) {
            if (wrong_argmax < 5)
                printf ("# maxpool1d argmax[%zu]: got %d, want %d  NOT OK\n", i, argmax[i],
                        ref_argmax[i]);
            wrong_argmax++;
        }
    }
    printf ("# maxpool1d argmax: %zu of %zu wrong %s\n", wrong_argmax, n_out,
            wrong_argmax ? "NOT OK" : "OK");
    if (wrong_argmax)
        g_test_fail ();

    /* backward: dout scattered to argmax, up to K float terms per input */
    tsl_cpu_maxpool1d_backward (be, dx, r, argmax, B, C, T, To);
    tsl_test_check_close ("maxpool1d dx", dx, ref_dx, n_in, 1e-6, 1e-6);
    if (!c->ties) {
        LossContext ctx = { be, c, To, x, out, argmax, r };
        tsl_test_check_gradient ("maxpool1d grad x", weighted_sum_loss, &ctx, x, dx, n_in,
                                 GRAD_CHECKS, GRAD_EPS, GRAD_ATOL, GRAD_RTOL);
        tsl_cpu_maxpool1d (be, out, argmax, x, B, C, T, To, c->K, c->stride, c->padding);
    }

    memcpy (dx, prefill, n_in * sizeof (float));
    tsl_cpu_maxpool1d_backward (be, dx, r, argmax, B, C, T, To);
    for (size_t i = 0; i < n_in; i++)
        ref_dx[i] += prefill[i];
    tsl_test_check_close ("maxpool1d dx accumulates", dx, ref_dx, n_in, 1e-6, 1e-6);

    tsl_test_free_guarded ("maxpool1d out", out, n_out);
    tsl_test_free_guarded ("maxpool1d argmax", (float *) argmax, n_out);
    g_free (x);
    g_free (r);
    g_free (prefill);
    g_free (dx);
    g_free (ref_argmax);
    g_free (ref);
    g_free (ref_dx);
    tsl_backend_free (be);
}

/* ---- mask_downsample ---- */

typedef struct {
    int B, T, To;
    int pin_i, pin_src;  /* a known source index, or pin_i = -1 */
} DownsampleCase;

static const DownsampleCase downsample_cases[] = {
    { 1, 1, 1, -1, 0 },
    { 2, 5, 5, -1, 0 },        /* equal sizes: a copy */
    { 2, 16, 8, 7, 14 },
    { 2, 2560, 1280, -1, 0 },  /* ActionFormer's FPN: stride 2 per level */
    { 3, 2560, 80, 79, 2528 }, /* five levels down */
    { 2, 100, 7, -1, 0 },      /* ratio 100 / 7, not representable in float */
    { 2, 1000, 3, -1, 0 },
    { 1, 7, 3, 2, 4 },
    /* float(26 / 22) rounds down, so 11 * scale = 12.99..: PyTorch reads
     * index 12 where exact arithmetic gives 13 */
    { 1, 26, 22, 11, 12 },
};

static void
test_mask_downsample_case (gconstpointer data)
{
    const DownsampleCase *c = data;
    const int B = c->B, T = c->T, To = c->To;
    TslBackend *be = tsl_backend_new ("cpu", NULL);
    float *mask = g_new (float, (size_t) B * T);      /* [B, T] */
    float *out = tsl_test_alloc_guarded ((size_t) B * To);
    double *ref = g_new (double, (size_t) B * To);
    const float scale = (float) T / (float) To;       /* PyTorch's float scale */

    /* distinct values: each one names its own (b, t) */
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            mask[(size_t) b * T + t] = (float) (b * 10000 + t);
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < To; i++) {
            int src = (int) floorf ((float) i * scale);
            if (src > T - 1)
                src = T - 1;
            /* for integer ratios, the float formula must agree with exact arithmetic */
            if (T % To == 0)
                g_assert_cmpint (src, ==, (int) ((gint64) i * T / To));
            ref[(size_t) b * To + i] = mask[(size_t) b * T + src];
        }
    }

    tsl_cpu_mask_downsample (be, out, mask, B, T, To);
    tsl_test_check_close ("mask_downsample", out, ref, (size_t) B * To, 0.0, 0.0);
    if (c->pin_i >= 0 && out[c->pin_i] != mask[c->pin_src]) {
        printf ("# mask_downsample: out[%d] = %g, want mask[%d] = %g  NOT OK\n", c->pin_i,
                out[c->pin_i], c->pin_src, mask[c->pin_src]);
        g_test_fail ();
    }

    tsl_test_free_guarded ("mask_downsample", out, (size_t) B * To);
    g_free (mask);
    g_free (ref);
    tsl_backend_free (be);
}

/* NaN, signed zeros and -inf inside and at the edges of the windows: a
 * larger value or any NaN replaces the best so far (a later NaN wins over
 * an earlier one), -0 and +0 tie (the first stays), and a window of -inf
 * keeps its first index. out is compared bit for bit. */
static void
test_maxpool_special (void)
{
    static const int configs[][3] = { { 3, 2, 1 }, { 3, 1, 1 }, { 2, 2, 0 }, { 4, 1, 2 } };
    const float x[] = { 1.0f, NAN, 2.0f, -0.0f, 0.0f, -INFINITY, -INFINITY, -INFINITY,
                        3.0f, NAN, NAN, 0.5f, 0.0f, -0.0f };
    const int T = G_N_ELEMENTS (x);
    TslBackend *be = tsl_backend_new ("cpu", NULL);

    for (guint c = 0; c < G_N_ELEMENTS (configs); c++) {
        const int K = configs[c][0], stride = configs[c][1], padding = configs[c][2];
        const int To = (T + 2 * padding - K) / stride + 1;
        float out[G_N_ELEMENTS (x) + 2];      /* To <= T + 1 with padding K / 2 */
        int32_t argmax[G_N_ELEMENTS (x) + 2];

        g_assert_cmpint (To, <=, T + 2);

        tsl_cpu_maxpool1d (be, out, argmax, x, 1, 1, T, To, K, stride, padding);
        for (int o = 0; o < To; o++) {
            const int start = o * stride - padding;
            float best = -INFINITY;
            int best_t = MAX (start, 0);

            for (int t = MAX (start, 0); t < MIN (start + K, T); t++) {
                if (x[t] > best || isnan (x[t])) {
                    best = x[t];
                    best_t = t;
                }
            }
            if (memcmp (&out[o], &best, sizeof best) != 0 || argmax[o] != best_t)
                printf ("# K %d stride %d padding %d, output %d: got %g at %d, want %g at %d\n",
                        K, stride, padding, o, out[o], argmax[o], best, best_t);
            g_assert_true (memcmp (&out[o], &best, sizeof best) == 0);
            g_assert_cmpint (argmax[o], ==, best_t);
        }
    }
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS (pool_cases); i++) {
        const MaxPoolCase *c = &pool_cases[i];
        g_autofree char *path =
            g_strdup_printf ("/cpu/pool/maxpool1d/b%d_c%d_t%d_k%d_s%d_p%d%s", c->B, c->C, c->T,
                             c->K, c->stride, c->padding, c->ties ? "_ties" : "");
        g_test_add_data_func (path, c, test_maxpool_case);
    }
    g_test_add_func ("/cpu/pool/maxpool1d/special", test_maxpool_special);
    for (guint i = 0; i < G_N_ELEMENTS (downsample_cases); i++) {
        const DownsampleCase *c = &downsample_cases[i];
        g_autofree char *path =
            g_strdup_printf ("/cpu/pool/mask_downsample/b%d_t%d_to%d", c->B, c->T, c->To);
        g_test_add_data_func (path, c, test_mask_downsample_case);
    }
    return g_test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/softmax.c against a double-precision softmax over odd row
 * lengths, n = 1, rows with a large offset (which overflow without the max
 * subtraction), and masked cases: -INFINITY entries, which must come out as
 * exactly 0, and a row that is entirely -INFINITY, which must come out as
 * zeros. The backward is checked against the double formula at the op's own
 * output, for its accumulate rule (dx prefilled) and by finite differences
 * of loss = sum(out * r). The output is guarded against writes past its end.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "cpu/cpu-ops.h"

typedef struct {
    int rows, n;
    gboolean masked;  /* -INFINITY entries, and row 0 entirely -INFINITY */
} SoftmaxCase;

static const SoftmaxCase cases[] = {
    { 1, 1, FALSE },
    { 5, 1, FALSE },     /* one entry per row: all ones */
    { 3, 7, FALSE },
    { 17, 129, FALSE },
    { 64, 300, FALSE },  /* large enough to run threaded */
    { 2, 1, TRUE },      /* a fully masked row next to a plain one */
    { 6, 9, TRUE },
    { 40, 257, TRUE },
};

/* expf and the row sum: a few ulp per term plus the rounding of the sum */
#define FORWARD_ATOL 1e-8
#define FORWARD_RTOL 2e-5
/* dout - dot can cancel; dot sums n products of O(1) terms */
#define BACKWARD_ATOL 1e-6
#define BACKWARD_RTOL 1e-5
/* smooth: eps^2 truncation error plus the rounding of out, over 2 eps */
#define GRAD_EPS 1e-2f
#define GRAD_ATOL 1e-4
#define GRAD_RTOL 1e-3
#define GRAD_CHECKS 64

typedef struct {
    TslBackend *be;
    const SoftmaxCase *c;
    float *x;         /* [rows, n] */
    float *out;       /* [rows, n] */
    const float *r;   /* [rows, n] loss weights = dout */
} LossContext;

static double
weighted_sum_loss (void *data)
{
    LossContext *ctx = data;
    const size_t total = (size_t) ctx->c->rows * ctx->c->n;
    double loss = 0.0;

    tsl_cpu_softmax (ctx->be, ctx->out, ctx->x, ctx->c->rows, ctx->c->n);
    for (size_t i = 0; i < total; i++)
        loss += (double) ctx->out[i] * ctx->r[i];
    return loss;
}

static void
reference_softmax (double *ref /* [rows, n] */, const float *x /* [rows, n] */, int rows, int n)
{
    for (int row = 0; row < rows; row++) {
        const float *x_r = x + (size_t) row * n;
        double *ref_r = ref + (size_t) row * n;
        double max = -INFINITY, sum = 0.0;

        for (int j = 0; j < n; j++)
            max = MAX (max, (double) x_r[j]);
        for (int j = 0; j < n; j++) {
            ref_r[j] = max == -INFINITY ? 0.0 : exp ((double) x_r[j] - max);
            sum += ref_r[j];
        }
        for (int j = 0; j < n && sum > 0.0; j++)
            ref_r[j] /= sum;
    }
}

static void
test_softmax_case (gconstpointer data)
{
    const SoftmaxCase *c = data;
    const int rows = c->rows, n = c->n;
    const size_t total = (size_t) rows * n;
    TslTestRng rng;
    TslBackend *be = tsl_backend_new ("cpu", NULL);
    float *x = g_new (float, total), *r = g_new (float, total);  /* [rows, n] */
    float *prefill = g_new (float, total), *dx = g_new0 (float, total);
    float *out = tsl_test_alloc_guarded (total);
    double *ref = g_new (double, total), *ref_dx = g_new (double, total);

    tsl_test_rng_init (&rng, 700 + total + c->masked);
    tsl_test_fill_normal (&rng, x, total, 2.0f);
    tsl_test_fill_normal (&rng, r, total, 1.0f);
    tsl_test_fill_normal (&rng, prefill, total, 1.0f);
    /* the last row sits far above 0: expf overflows without the max subtraction */
    for (int j = 0; j < n && rows > 1; j++)
        x[(size_t) (rows - 1) * n + j] += 100.0f;
    if (c->masked) {
        for (int j = 0; j < n; j++)
            x[j] = -INFINITY;
        for (size_t i = n; i < total; i++) {
            /* about a third of the other entries, but never a row's first */
            if (i % n != 0 && tsl_test_rng_uniform (&rng) < 0.3)
                x[i] = -INFINITY;
        }
    }

    reference_softmax (ref, x, rows, n);
    tsl_cpu_softmax (be, out, x, rows, n);
    tsl_test_check_close ("softmax", out, ref, total, FORWARD_ATOL, FORWARD_RTOL);
    if (c->masked) {
        gboolean exact_zeros = TRUE;
        for (size_t i = 0; i < total; i++)
            exact_zeros &= x[i] != -INFINITY || out[i] == 0.0f;
        if (!exact_zeros) {
            printf ("# softmax: a -INFINITY entry did not give exactly 0  NOT OK\n");
            g_test_fail ();
        }
    }

    /* backward from zero, at the op's own output */
    for (int row = 0; row < rows; row++) {
        const size_t o = (size_t) row * n;
        double dot = 0.0;
        for (int j = 0; j < n; j++)
            dot += (double) r[o + j] * out[o + j];
        for (int j = 0; j < n; j++)
            ref_dx[o + j] = (double) out[o + j] * (r[o + j] - dot);
    }
    tsl_cpu_softmax_backward (be, dx, r, out, rows, n);
    tsl_test_check_close ("softmax dx", dx, ref_dx, total, BACKWARD_ATOL, BACKWARD_RTOL);

    float *y = g_memdup2 (out, total * sizeof (float));
    LossContext ctx = { be, c, x, out, r };
    tsl_test_check_gradient ("softmax grad x", weighted_sum_loss, &ctx, x, dx, total,
                             GRAD_CHECKS, GRAD_EPS, GRAD_ATOL, GRAD_RTOL);

    memcpy (dx, prefill, total * sizeof (float));
    tsl_cpu_softmax_backward (be, dx, r, y, rows, n);
    for (size_t i = 0; i < total; i++)
        ref_dx[i] += prefill[i];
    tsl_test_check_close ("softmax dx accumulates", dx, ref_dx, total, BACKWARD_ATOL,
                          BACKWARD_RTOL);

    tsl_test_free_guarded ("softmax", out, total);
    g_free (x);
    g_free (y);
    g_free (r);
    g_free (prefill);
    g_free (dx);
    g_free (ref);
    g_free (ref_dx);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        const SoftmaxCase *c = &cases[i];
        g_autofree char *path = g_strdup_printf ("/cpu/softmax/rows%d_n%d%s", c->rows, c->n,
                                                 c->masked ? "_masked" : "");
        g_test_add_data_func (path, c, test_softmax_case);
    }
    return g_test_run ();
}

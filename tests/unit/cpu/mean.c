/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/mean.c: out[a, c] = mean over n of x[a, n, c] against a double
 * loop, over odd sizes, N = 1, C = 1 and channel counts past one block; the
 * backward against dout / N, its accumulate rule (dx prefilled), and a
 * finite-difference check of loss = sum(out * r).
 */
#include <string.h>

#include "testutil.h"
#include "cpu/cpu-ops.h"

typedef struct {
    int A, N, C;
} MeanCase;

static const MeanCase cases[] = {
    { 1, 1, 1 },
    { 2, 3, 5 },
    { 3, 1, 70 },     /* one token: the mean is a copy */
    { 2, 17, 1 },     /* one channel */
    { 2, 197, 67 },   /* channels past one block of 64 */
    { 5, 101, 130 },  /* large enough to run threaded */
};

/* the sum is taken in double, so only the final rounding to float remains */
#define MEAN_ATOL 1e-7
#define MEAN_RTOL 1e-6
/* dx = prefill + dout / N: two float roundings of N(0, 1)-sized values */
#define GRAD_ATOL_EXACT 1e-6
#define GRAD_RTOL_EXACT 1e-6
/* the loss is linear in x: finite differences only see forward rounding */
#define GRAD_EPS 1e-2f
#define GRAD_ATOL 2e-5
#define GRAD_RTOL 1e-4
#define GRAD_CHECKS 48

typedef struct {
    TslBackend *be;
    const MeanCase *c;
    float *x;         /* [A, N, C] */
    float *out;       /* [A, C] */
    const float *r;   /* [A, C] loss weights = dout */
} LossContext;

static double
weighted_sum_loss (void *data)
{
    LossContext *ctx = data;
    const size_t n_out = (size_t) ctx->c->A * ctx->c->C;
    double loss = 0.0;

    tsl_cpu_mean (ctx->be, ctx->out, ctx->x, ctx->c->A, ctx->c->N, ctx->c->C);
    for (size_t i = 0; i < n_out; i++)
        loss += (double) ctx->out[i] * ctx->r[i];
    return loss;
}

static void
test_mean_case (gconstpointer data)
{
    const MeanCase *c = data;
    const int A = c->A, N = c->N, C = c->C;
    const size_t n_in = (size_t) A * N * C, n_out = (size_t) A * C;
    TslTestRng rng;
    TslBackend *be = tsl_backend_new ("cpu", NULL);
    float *x = g_new (float, n_in);          /* [A, N, C] */
    float *r = g_new (float, n_out);         /* [A, C] */
    float *prefill = g_new (float, n_in);    /* [A, N, C] */
    float *dx = g_new0 (float, n_in);        /* [A, N, C] */
    float *out = tsl_test_alloc_guarded (n_out);
    double *ref = g_new0 (double, n_out), *ref_dx = g_new (double, n_in);

    tsl_test_rng_init (&rng, 500 + n_in);
    tsl_test_fill_normal (&rng, x, n_in, 1.0f);
    tsl_test_fill_normal (&rng, r, n_out, 1.0f);
    tsl_test_fill_normal (&rng, prefill, n_in, 1.0f);
    for (int a = 0; a < A; a++) {
        for (int n = 0; n < N; n++) {
            for (int ch = 0; ch < C; ch++) {
                size_t i = ((size_t) a * N + n) * C + ch;
                ref[(size_t) a * C + ch] += (double) x[i] / N;
                ref_dx[i] = (double) prefill[i] + (double) r[(size_t) a * C + ch] / N;
            }
        }
    }

    tsl_cpu_mean (be, out, x, A, N, C);
    tsl_test_check_close ("mean", out, ref, n_out, MEAN_ATOL, MEAN_RTOL);

    tsl_cpu_mean_backward (be, dx, r, A, N, C);
    LossContext ctx = { be, c, x, out, r };
    tsl_test_check_gradient ("mean grad x", weighted_sum_loss, &ctx, x, dx, n_in, GRAD_CHECKS,
                             GRAD_EPS, GRAD_ATOL, GRAD_RTOL);

    memcpy (dx, prefill, n_in * sizeof (float));
    tsl_cpu_mean_backward (be, dx, r, A, N, C);
    tsl_test_check_close ("mean dx accumulates", dx, ref_dx, n_in, GRAD_ATOL_EXACT,
                          GRAD_RTOL_EXACT);

    tsl_test_free_guarded ("mean", out, n_out);
    g_free (x);
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
        const MeanCase *c = &cases[i];
        g_autofree char *path = g_strdup_printf ("/cpu/mean/a%d_n%d_c%d", c->A, c->N, c->C);
        g_test_add_data_func (path, c, test_mean_case);
    }
    return g_test_run ();
}

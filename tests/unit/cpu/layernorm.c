/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/layernorm.c (channels-first [B, C, T], normalised over C)
 * against a double-precision computation, through both of its kernels:
 * T = 1 (token rows) and T > 1 (time blocks, with T not a multiple of the
 * block). Cases cover C = 1, B > 1, a large mean (the two-pass variance),
 * inputs whose variance is close to eps, for eps = 1e-5 and 1e-6 (so a
 * wrong eps shows), and ActionFormer's size C = 512, T = 2560, which must
 * match the double computation to about 1e-5 relative.
 *
 * The forward's out, mean and rstd are checked. The backward's dx, dgamma
 * and dbeta are checked against the double formulas at the saved mean and
 * rstd, for the accumulate rule (all three prefilled), and by finite
 * differences of loss = sum(out * r) with respect to x, gamma and beta.
 */
#include <math.h>
#include <string.h>

#include "testutil.h"
#include "cpu/cpu-ops.h"

typedef struct {
    int B, C, T;
    float eps;
    float x_std, x_offset;  /* x = x_offset + x_std * N(0, 1) */
    double out_atol;        /* forward out against double */
    gboolean gradients;     /* run the backward checks */
    const char *why;        /* what the case is for */
} LayerNormCase;

/* With x ~ N(0, 1) the float statistics are good to a few ulp times
 * sqrt(C), which out inherits: 2e-6 absolute. An offset m adds about
 * m * 6e-8 * sqrt(C) to the error of the mean. */
static const LayerNormCase cases[] = {
    { 1, 1, 1, 1e-5f, 1.0f, 0.0f, 2e-6, TRUE, "one channel: out = beta" },
    { 2, 5, 1, 1e-5f, 1.0f, 0.0f, 2e-6, TRUE, "token rows" },
    { 37, 70, 1, 1e-6f, 1.0f, 0.0f, 2e-6, TRUE, "token rows, more than one channel block" },
    { 2, 1, 13, 1e-5f, 1.0f, 0.0f, 2e-6, TRUE, "one channel, time blocks" },
    { 1, 7, 3, 1e-5f, 1.0f, 0.0f, 2e-6, TRUE, "short time axis" },
    { 2, 33, 67, 1e-6f, 1.0f, 0.0f, 2e-6, TRUE, "T past one time block" },
    { 3, 130, 129, 1e-5f, 1.0f, 0.0f, 2e-6, TRUE, "threaded, three time blocks" },
    { 2, 48, 70, 1e-5f, 1.0f, 20.0f, 2e-5, TRUE, "large mean" },
    { 9, 48, 1, 1e-5f, 1.0f, 20.0f, 2e-5, TRUE, "large mean, token rows" },
    { 2, 40, 77, 1e-5f, 3e-3f, 0.0f, 2e-6, TRUE, "variance near eps = 1e-5" },
    { 2, 40, 77, 1e-6f, 3e-3f, 0.0f, 2e-6, TRUE, "variance near eps, eps = 1e-6" },
    { 11, 40, 1, 1e-6f, 1e-3f, 0.0f, 2e-6, TRUE, "variance near eps, token rows" },
    { 2, 512, 2560, 1e-5f, 2.0f, 1.0f, 1e-5, FALSE, "ActionFormer size, 1e-5 relative" },
};

/* mean and rstd: a few ulp times sqrt(C) */
#define STATS_RTOL 1e-5
/* backward against double at the same saved statistics */
#define DX_ATOL 1e-5
#define DX_RTOL 1e-5
/* dgamma, dbeta sum B*T terms of size up to |xhat| */
#define DPARAM_ATOL 2e-5
#define DPARAM_RTOL 1e-5
/* smooth loss; the step is scaled by x_std, and float rounding of the C
 * outputs of a column over 2 eps is small next to max |grad| */
#define GRAD_EPS_PER_STD 1e-2f
#define GRAD_ATOL 1e-4
#define GRAD_RTOL 2e-3
#define GRAD_CHECKS 48

typedef struct {
    TslBackend *be;
    const LayerNormCase *c;
    float *x, *gamma, *beta;  /* [B, C, T], [C], [C]: perturbed by the checker */
    float *out;               /* [B, C, T] */
    float *mean, *rstd;       /* [B, T] */
    const float *r;           /* [B, C, T] loss weights = dout */
} LossContext;

static double
weighted_sum_loss (void *data)
{
    LossContext *ctx = data;
    const LayerNormCase *c = ctx->c;
    const size_t n = (size_t) c->B * c->C * c->T;
    double loss = 0.0;

    tsl_cpu_layernorm (ctx->be, ctx->out, ctx->mean, ctx->rstd, ctx->x, ctx->gamma, ctx->beta,
                       c->B, c->C, c->T, c->eps);
    for (size_t i = 0; i < n; i++)
        loss += (double) ctx->out[i] * ctx->r[i];
    return loss;
}

/* double layer norm over c for every (b, t) */
static void
reference_forward (double *out /* [B, C, T] */, double *mean /* [B, T] */,
                   double *rstd /* [B, T] */, const float *x /* [B, C, T] */,
                   const float *gamma, const float *beta, int B, int C, int T, double eps)
{
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const float *x_bt = x + (size_t) b * C * T + t;  /* stride T */
            double *out_bt = out + (size_t) b * C * T + t;   /* stride T */
            double sum = 0.0, sum_sq = 0.0;

            for (int c = 0; c < C; c++)
                sum += x_bt[(size_t) c * T];
            const double m = sum / C;
            for (int c = 0; c < C; c++)
                sum_sq += (x_bt[(size_t) c * T] - m) * (x_bt[(size_t) c * T] - m);
            const double s = 1.0 / sqrt (sum_sq / C + eps);
            for (int c = 0; c < C; c++)
                out_bt[(size_t) c * T] = (x_bt[(size_t) c * T] - m) * s * gamma[c] + beta[c];
            mean[(size_t) b * T + t] = m;
            rstd[(size_t) b * T + t] = s;
        }
    }
}

/* double backward at the given (float) statistics; adds into the refs */
static void
reference_backward (double *dx /* [B, C, T] */, double *dgamma /* [C] */, double *dbeta /* [C] */,
                    const float *dout, const float *x, const float *gamma, const float *mean,
                    const float *rstd, int B, int C, int T)
{
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const size_t o = (size_t) b * C * T + t;
            const double m = mean[(size_t) b * T + t], s = rstd[(size_t) b * T + t];
            double mean_g = 0.0, mean_g_xhat = 0.0;

            for (int c = 0; c < C; c++) {
                const size_t i = o + (size_t) c * T;
                const double xhat = (x[i] - m) * s, g = (double) dout[i] * gamma[c];
                mean_g += g / C;
                mean_g_xhat += g * xhat / C;
                dgamma[c] += (double) dout[i] * xhat;
                dbeta[c] += dout[i];
            }
            for (int c = 0; c < C; c++) {
                const size_t i = o + (size_t) c * T;
                const double xhat = (x[i] - m) * s, g = (double) dout[i] * gamma[c];
                dx[i] += s * (g - mean_g - xhat * mean_g_xhat);
            }
        }
    }
}

static void
test_layernorm_case (gconstpointer data)
{
    const LayerNormCase *c = data;
    const int B = c->B, C = c->C, T = c->T;
    const size_t n = (size_t) B * C * T, n_stats = (size_t) B * T;
    TslTestRng rng;
    TslBackend *be = tsl_backend_new ("cpu", NULL);
    float *x = g_new (float, n);                                 /* [B, C, T] */
    float *gamma = g_new (float, C), *beta = g_new (float, C);  /* [C] */
    float *out = tsl_test_alloc_guarded (n);
    float *mean = tsl_test_alloc_guarded (n_stats), *rstd = tsl_test_alloc_guarded (n_stats);
    double *ref = g_new (double, n);
    double *ref_mean = g_new (double, n_stats), *ref_rstd = g_new (double, n_stats);

    tsl_test_rng_init (&rng, 800 + n + C);
    tsl_test_fill_normal (&rng, x, n, c->x_std);
    for (size_t i = 0; i < n; i++)
        x[i] += c->x_offset;
    tsl_test_fill_uniform (&rng, gamma, C, 0.5f, 1.5f);
    tsl_test_fill_normal (&rng, beta, C, 0.5f);

    g_test_message ("%s", c->why);
    reference_forward (ref, ref_mean, ref_rstd, x, gamma, beta, B, C, T, c->eps);
    tsl_cpu_layernorm (be, out, mean, rstd, x, gamma, beta, B, C, T, c->eps);
    tsl_test_check_close ("layernorm out", out, ref, n, c->out_atol, c->out_atol);
    tsl_test_check_close ("layernorm mean", mean, ref_mean, n_stats,
                          1e-6 * MAX (c->x_std, fabsf (c->x_offset)), STATS_RTOL);
    tsl_test_check_close ("layernorm rstd", rstd, ref_rstd, n_stats, 0.0, STATS_RTOL);

    if (c->gradients) {
        float *r = g_new (float, n);                     /* [B, C, T] */
        float *prefill_x = g_new (float, n);             /* [B, C, T] */
        float *prefill_gamma = g_new (float, C), *prefill_beta = g_new (float, C);
        float *dx = g_new0 (float, n), *dgamma = g_new0 (float, C), *dbeta = g_new0 (float, C);
        double *ref_dx = g_new0 (double, n);
        double *ref_dgamma = g_new0 (double, C), *ref_dbeta = g_new0 (double, C);
        const float grad_eps = GRAD_EPS_PER_STD * c->x_std;

        tsl_test_fill_normal (&rng, r, n, 1.0f);
        tsl_test_fill_normal (&rng, prefill_x, n, 1.0f);
        tsl_test_fill_normal (&rng, prefill_gamma, C, 1.0f);
        tsl_test_fill_normal (&rng, prefill_beta, C, 1.0f);

        /* backward from zero */
        reference_backward (ref_dx, ref_dgamma, ref_dbeta, r, x, gamma, mean, rstd, B, C, T);
        tsl_cpu_layernorm_backward (be, dx, dgamma, dbeta, r, x, gamma, mean, rstd, B, C, T);
        tsl_test_check_close ("layernorm dx", dx, ref_dx, n, DX_ATOL / c->x_std, DX_RTOL);
        tsl_test_check_close ("layernorm dgamma", dgamma, ref_dgamma, C, DPARAM_ATOL,
                              DPARAM_RTOL);
        tsl_test_check_close ("layernorm dbeta", dbeta, ref_dbeta, C, DPARAM_ATOL, DPARAM_RTOL);

        /* finite differences of the whole forward, statistics recomputed */
        LossContext ctx = { be, c, x, gamma, beta, out, mean, rstd, r };
        tsl_test_check_gradient ("layernorm grad x", weighted_sum_loss, &ctx, x, dx, n,
                                 GRAD_CHECKS, grad_eps, GRAD_ATOL, GRAD_RTOL);
        tsl_test_check_gradient ("layernorm grad gamma", weighted_sum_loss, &ctx, gamma, dgamma,
                                 C, GRAD_CHECKS, GRAD_EPS_PER_STD, GRAD_ATOL, GRAD_RTOL);
        tsl_test_check_gradient ("layernorm grad beta", weighted_sum_loss, &ctx, beta, dbeta, C,
                                 GRAD_CHECKS, GRAD_EPS_PER_STD, GRAD_ATOL, GRAD_RTOL);

        /* accumulate: prefill all three, the result must be prefill + gradient */
        tsl_cpu_layernorm (be, out, mean, rstd, x, gamma, beta, B, C, T, c->eps);
        memcpy (dx, prefill_x, n * sizeof (float));
        memcpy (dgamma, prefill_gamma, C * sizeof (float));
        memcpy (dbeta, prefill_beta, C * sizeof (float));
        tsl_cpu_layernorm_backward (be, dx, dgamma, dbeta, r, x, gamma, mean, rstd, B, C, T);
        for (size_t i = 0; i < n; i++)
            ref_dx[i] += prefill_x[i];
        for (int ch = 0; ch < C; ch++) {
            ref_dgamma[ch] += prefill_gamma[ch];
            ref_dbeta[ch] += prefill_beta[ch];
        }
        tsl_test_check_close ("layernorm dx accumulates", dx, ref_dx, n, DX_ATOL / c->x_std,
                              DX_RTOL);
        tsl_test_check_close ("layernorm dgamma accumulates", dgamma, ref_dgamma, C,
                              DPARAM_ATOL, DPARAM_RTOL);
        tsl_test_check_close ("layernorm dbeta accumulates", dbeta, ref_dbeta, C, DPARAM_ATOL,
                              DPARAM_RTOL);

        g_free (r);
        g_free (prefill_x);
        g_free (prefill_gamma);
        g_free (prefill_beta);
        g_free (dx);
        g_free (dgamma);
        g_free (dbeta);
        g_free (ref_dx);
        g_free (ref_dgamma);
        g_free (ref_dbeta);
    }

    tsl_test_free_guarded ("layernorm out", out, n);
    tsl_test_free_guarded ("layernorm mean", mean, n_stats);
    tsl_test_free_guarded ("layernorm rstd", rstd, n_stats);
    g_free (x);
    g_free (gamma);
    g_free (beta);
    g_free (ref);
    g_free (ref_mean);
    g_free (ref_rstd);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        const LayerNormCase *c = &cases[i];
        g_autofree char *path =
            g_strdup_printf ("/cpu/layernorm/b%d_c%d_t%d_eps%g_std%g_offset%g", c->B, c->C, c->T,
                             c->eps, c->x_std, c->x_offset);
        g_test_add_data_func (path, c, test_layernorm_case);
    }
    return g_test_run ();
}

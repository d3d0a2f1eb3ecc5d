/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/batchnorm.c (inference form, [B, C, S]) against a double
 * computation, over odd sizes, S = 1, C = 1 and two eps values. One channel
 * has a running variance of exactly 0, so that its result is decided by eps
 * alone. The output is guarded against writes past its end.
 */
#include <math.h>

#include "testutil.h"
#include "cpu/cpu-ops.h"

typedef struct {
    int B, C, S;
    float eps;
} BatchNormCase;

static const BatchNormCase cases[] = {
    { 1, 1, 1, 1e-5f },
    { 2, 3, 5, 1e-5f },
    { 3, 17, 1, 1e-3f },     /* one position per channel */
    { 2, 1, 33, 1e-3f },     /* one channel */
    { 2, 64, 49, 1e-5f },    /* 7 x 7 feature maps */
    { 4, 33, 1001, 1e-3f },  /* large enough to run threaded */
};

/* a handful of float roundings of terms up to max_term; the output can
 * cancel to near 0, so the bound is absolute in units of max_term */
#define ULPS_OF_MAX_TERM 5e-7
#define BATCHNORM_RTOL 1e-6

static void
test_batchnorm_case (gconstpointer data)
{
    const BatchNormCase *c = data;
    const int B = c->B, C = c->C, S = c->S;
    const size_t n = (size_t) B * C * S;
    TslTestRng rng;
    TslBackend *be = tsl_backend_new ("cpu", NULL);
    float *x = g_new (float, n);                                     /* [B, C, S] */
    float *mean = g_new (float, C), *var = g_new (float, C);        /* [C] */
    float *gamma = g_new (float, C), *beta = g_new (float, C);      /* [C] */
    float *out = tsl_test_alloc_guarded (n);
    double *ref = g_new (double, n);
    double max_term = 0.0;

    tsl_test_rng_init (&rng, 900 + n);
    tsl_test_fill_normal (&rng, x, n, 1.0f);
    tsl_test_fill_normal (&rng, mean, C, 0.5f);
    tsl_test_fill_uniform (&rng, var, C, 0.5f, 2.0f);
    tsl_test_fill_uniform (&rng, gamma, C, -1.5f, 1.5f);
    tsl_test_fill_normal (&rng, beta, C, 1.0f);
    /* scale = gamma / sqrt(eps): about 1 for eps = 1e-5, 0.1 for eps = 1e-3 */
    var[C / 2] = 0.0f;
    gamma[C / 2] = 3e-3f;

    for (int b = 0; b < B; b++) {
        for (int ch = 0; ch < C; ch++) {
            const double scale = gamma[ch] / sqrt ((double) var[ch] + c->eps);
            for (int s = 0; s < S; s++) {
                const size_t i = ((size_t) b * C + ch) * S + s;
                const double term = ((double) x[i] - mean[ch]) * scale;
                ref[i] = term + beta[ch];
                max_term = MAX (max_term, fabs (term) + fabs (beta[ch]));
            }
        }
    }
    tsl_cpu_batchnorm (be, out, x, mean, var, gamma, beta, B, C, S, c->eps);
    tsl_test_check_close ("batchnorm", out, ref, n, ULPS_OF_MAX_TERM * max_term, BATCHNORM_RTOL);

    tsl_test_free_guarded ("batchnorm", out, n);
    g_free (x);
    g_free (mean);
    g_free (var);
    g_free (gamma);
    g_free (beta);
    g_free (ref);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        const BatchNormCase *c = &cases[i];
        g_autofree char *path =
            g_strdup_printf ("/cpu/batchnorm/b%d_c%d_s%d_eps%g", c->B, c->C, c->S, c->eps);
        g_test_add_data_func (path, c, test_batchnorm_case);
    }
    return g_test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/optimizer.c: sum of squares, AdamW and the weight EMA against
 * double-precision loops written from the formulas in ops.h.
 *
 * AdamW runs several consecutive steps (step counts from 1) with and without
 * weight decay and compares the parameter and both moments after every step,
 * so a wrong bias correction or a wrong step count shows at once. The double
 * reference takes the same float hyper-parameters, so only rounding differs.
 * Every in-place buffer is guarded against writes past its end.
 */
#include <math.h>

#include "testutil.h"
#include "cpu/cpu-ops.h"

/* ---- sum of squares ---- */

static const size_t sum_squares_sizes[] = { 1, 7, 1000, 100003 };

static void
test_sum_squares_case (gconstpointer data)
{
    const size_t n = *(const size_t *) data;
    g_autoptr (GError) error = NULL;
    TslBackend *be = tsl_backend_new ("cpu", &error);
    TslTestRng rng;
    float *x = g_new (float, n);
    float *out = tsl_test_alloc_guarded (1);
    double ref = 0.0;

    g_assert_no_error (error);
    tsl_test_rng_init (&rng, 300 + n);
    tsl_test_fill_normal (&rng, x, n, 0.3f);
    for (size_t i = 0; i < n; i++)
        ref += (double) x[i] * x[i];

    tsl_cpu_sum_squares (be, out, x, n);
    /* a double sum rounded once to float: half an ulp, plus the change in
     * double summation order under threads */
    tsl_test_check_close ("sum_squares", out, &ref, 1, 0.0, 1e-7);

    tsl_test_free_guarded ("sum_squares", out, 1);
    g_free (x);
    tsl_backend_free (be);
}

/* ---- AdamW ---- */

typedef struct {
    size_t n;
    float lr, weight_decay;
    int steps;
} AdamWCase;

static const AdamWCase adamw_cases[] = {
    { 1, 1e-3f, 0.05f, 5 },
    { 7, 1e-3f, 0.0f, 5 },
    { 1001, 1e-3f, 0.05f, 20 },
    { 4099, 0.1f, 0.05f, 12 },
    { 333, 0.1f, 0.0f, 12 },
};

static void
test_adamw_case (gconstpointer data)
{
    const AdamWCase *c = data;
    const size_t n = c->n;
    const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    g_autoptr (GError) error = NULL;
    TslBackend *be = tsl_backend_new ("cpu", &error);
    TslTestRng rng;
    float *param = tsl_test_alloc_guarded (n);
    float *m = tsl_test_alloc_guarded (n);
    float *v = tsl_test_alloc_guarded (n);
    float *grad = g_new (float, n);
    double *p_ref = g_new (double, n), *m_ref = g_new0 (double, n), *v_ref = g_new0 (double, n);

    g_assert_no_error (error);
    tsl_test_rng_init (&rng, 400 + n);
    tsl_test_fill_normal (&rng, param, n, 1.0f);
    for (size_t i = 0; i < n; i++)
        p_ref[i] = param[i];

    for (int step = 1; step <= c->steps; step++) {
        double bc1 = 1.0 - pow (beta1, step), bc2 = 1.0 - pow (beta2, step);

        tsl_test_fill_normal (&rng, grad, n, 0.1f * step);
        grad[n / 2] = 0.0f;  /* a zero gradient: the update is eps-limited */
        for (size_t i = 0; i < n; i++) {
            double g = grad[i];
            p_ref[i] *= 1.0 - (double) c->lr * c->weight_decay;
            m_ref[i] = beta1 * m_ref[i] + (1.0 - beta1) * g;
            v_ref[i] = beta2 * v_ref[i] + (1.0 - beta2) * g * g;
            p_ref[i] -= c->lr / bc1 * m_ref[i] / (sqrt (v_ref[i]) / sqrt (bc2) + eps);
        }

        tsl_cpu_adamw (be, param, m, v, grad, n, c->lr, beta1, beta2, eps, c->weight_decay, step);

        /* each step adds about one float rounding to every value, and an
         * update of lr times a ratio m / sqrt(v) known to a few 1e-7 (more
         * where m cancels as the gradient changes sign, hence the atols) */
        g_autofree char *name_p = g_strdup_printf ("adamw step %d param", step);
        g_autofree char *name_m = g_strdup_printf ("adamw step %d m", step);
        g_autofree char *name_v = g_strdup_printf ("adamw step %d v", step);
        tsl_test_check_close (name_p, param, p_ref, n, 1e-7 + 2e-6 * c->lr * step, 1e-6);
        tsl_test_check_close (name_m, m, m_ref, n, 1e-8 * step, 1e-5);
        tsl_test_check_close (name_v, v, v_ref, n, 1e-10 * step, 1e-5);
    }

    tsl_test_free_guarded ("adamw param", param, n);
    tsl_test_free_guarded ("adamw m", m, n);
    tsl_test_free_guarded ("adamw v", v, n);
    g_free (grad);
    g_free (p_ref);
    g_free (m_ref);
    g_free (v_ref);
    tsl_backend_free (be);
}

/* ---- weight EMA ---- */

typedef struct {
    size_t n;
    double decay;
} EmaCase;

static const EmaCase ema_cases[] = {
    { 1, 0.999 },
    { 7, 0.9 },
    { 10007, 0.9999 },
};

static void
test_ema_case (gconstpointer data)
{
    const EmaCase *c = data;
    g_autoptr (GError) error = NULL;
    TslBackend *be = tsl_backend_new ("cpu", &error);
    TslTestRng rng;
    float *ema = tsl_test_alloc_guarded (c->n);
    float *param = g_new (float, c->n);
    double *ref = g_new (double, c->n);

    g_assert_no_error (error);
    tsl_test_rng_init (&rng, 500 + c->n);
    tsl_test_fill_normal (&rng, ema, c->n, 1.0f);
    tsl_test_fill_normal (&rng, param, c->n, 1.0f);
    for (size_t i = 0; i < c->n; i++)
        ref[i] = c->decay * (double) ema[i] + (1.0 - c->decay) * param[i];

    tsl_cpu_ema (be, ema, param, c->n, c->decay);
    /* two float products and a sum: a couple of ulps */
    tsl_test_check_close ("ema", ema, ref, c->n, 1e-7, 3e-7);

    tsl_test_free_guarded ("ema", ema, c->n);
    g_free (param);
    g_free (ref);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS (sum_squares_sizes); i++) {
        g_autofree char *path = g_strdup_printf ("/cpu/sum_squares/n%zu", sum_squares_sizes[i]);
        g_test_add_data_func (path, &sum_squares_sizes[i], test_sum_squares_case);
    }
    for (guint i = 0; i < G_N_ELEMENTS (adamw_cases); i++) {
        const AdamWCase *c = &adamw_cases[i];
        g_autofree char *path = g_strdup_printf ("/cpu/adamw/n%zu_lr%g_wd%g_steps%d", c->n, c->lr,
                                                 c->weight_decay, c->steps);
        g_test_add_data_func (path, c, test_adamw_case);
    }
    for (guint i = 0; i < G_N_ELEMENTS (ema_cases); i++) {
        const EmaCase *c = &ema_cases[i];
        g_autofree char *path = g_strdup_printf ("/cpu/ema/n%zu_decay%g", c->n, c->decay);
        g_test_add_data_func (path, c, test_ema_case);
    }
    return g_test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * testutil.c: see testutil.h.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define TSL_TEST_CANARY 0x7fc0dead /* a NaN payload no op writes */
#define TSL_TEST_SHOW 5            /* mismatching pairs printed */

void
tsl_test_rng_init (TslTestRng *rng, guint64 seed)
{
    rng->state = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    if (rng->state == 0)
        rng->state = 1;
}

static guint64
rng_next (TslTestRng *rng)
{
    guint64 x = rng->state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng->state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

double
tsl_test_rng_uniform (TslTestRng *rng)
{
    return (double) (rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
}

double
tsl_test_rng_normal (TslTestRng *rng)
{
    /* Box-Muller; u1 in (0, 1] so the log is finite */
    double u1 = 1.0 - tsl_test_rng_uniform (rng);
    double u2 = tsl_test_rng_uniform (rng);

    return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

int
tsl_test_rng_int (TslTestRng *rng, int lo, int hi)
{
    return lo + (int) (rng_next (rng) % (guint64) (hi - lo + 1));
}

void
tsl_test_fill_uniform (TslTestRng *rng, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float) tsl_test_rng_uniform (rng);
}

void
tsl_test_fill_normal (TslTestRng *rng, float *x, size_t n, float stddev)
{
    for (size_t i = 0; i < n; i++)
        x[i] = stddev * (float) tsl_test_rng_normal (rng);
}

/* ---- comparisons ---- */

typedef double (*ValueAt) (const void *array, size_t i);

static double
float_at (const void *array, size_t i)
{
    return ((const float *) array)[i];
}

static double
double_at (const void *array, size_t i)
{
    return ((const double *) array)[i];
}

static gboolean
check_close (const char *name, const float *got, const void *ref, ValueAt ref_at, size_t n,
             double atol, double rtol)
{
    double max_abs = 0.0, max_rel = 0.0;
    size_t bad = 0;

    for (size_t i = 0; i < n; i++) {
        double r = ref_at (ref, i);
        double g = got[i];
        double diff = fabs (g - r);
        gboolean ok = diff <= atol + rtol * fabs (r);  /* false for NaN */

        if (!isnan (diff)) {
            max_abs = MAX (max_abs, diff);
            if (r != 0.0)
                max_rel = MAX (max_rel, diff / fabs (r));
        }
        if (!ok) {
            if (bad < TSL_TEST_SHOW)
                printf ("# %s[%zu]: got %.9g, want %.9g  NOT OK\n", name, i, g, r);
            bad++;
        }
    }
    printf ("# %s: %zu values, max abs diff %.3g, max rel diff %.3g (atol %.1g, rtol %.1g) %s\n",
            name, n, max_abs, max_rel, atol, rtol, bad ? "NOT OK" : "OK");
    if (bad) {
        printf ("# %s: %zu of %zu values out of tolerance\n", name, bad, n);
        g_test_fail ();
    }
    return bad == 0;
}

gboolean
tsl_test_check_close (const char *name, const float *got, const double *ref, size_t n,
                      double atol, double rtol)
{
    return check_close (name, got, ref, double_at, n, atol, rtol);
}

gboolean
tsl_test_check_close_f (const char *name, const float *got, const float *ref, size_t n,
                        double atol, double rtol)
{
    return check_close (name, got, ref, float_at, n, atol, rtol);
}

double
tsl_test_nmse (const float *ref, const float *got, size_t n)
{
    double err = 0.0, norm = 0.0;

    for (size_t i = 0; i < n; i++) {
        if (!isfinite (ref[i]) || !isfinite (got[i]))
            return INFINITY;
        err += ((double) ref[i] - got[i]) * ((double) ref[i] - got[i]);
        norm += (double) ref[i] * ref[i];
    }
    if (norm == 0.0)
        return err == 0.0 ? 0.0 : INFINITY;
    return err / norm;
}

/* ---- guarded buffers ---- */

float *
tsl_test_alloc_guarded (size_t n)
{
    guint32 *raw = g_new (guint32, n + 2 * TSL_TEST_GUARD);

    for (size_t i = 0; i < TSL_TEST_GUARD; i++) {
        raw[i] = TSL_TEST_CANARY;
        raw[TSL_TEST_GUARD + n + i] = TSL_TEST_CANARY;
    }
    memset (raw + TSL_TEST_GUARD, 0, n * sizeof (float));
    return (float *) (raw + TSL_TEST_GUARD);
}

gboolean
tsl_test_free_guarded (const char *name, float *x, size_t n)
{
    guint32 *raw = (guint32 *) x - TSL_TEST_GUARD;
    size_t changed = 0;

    for (size_t i = 0; i < TSL_TEST_GUARD; i++) {
        changed += raw[i] != TSL_TEST_CANARY;
        changed += raw[TSL_TEST_GUARD + n + i] != TSL_TEST_CANARY;
    }
    g_free (raw);
    if (changed) {
        printf ("# %s: %zu guard floats around the output were overwritten  NOT OK\n", name,
                changed);
        g_test_fail ();
    }
    return changed == 0;
}

/* ---- finite-difference gradients ---- */

gboolean
tsl_test_check_gradient (const char *name, TslTestLossFn loss, void *ctx, float *x,
                         const float *analytic, size_t n, size_t max_checks, float eps,
                         double atol, double rtol)
{
    size_t step = n <= max_checks ? 1 : n / max_checks;
    double max_ana = 0.0, max_err = 0.0;
    size_t bad = 0, checked = 0;

    for (size_t i = 0; i < n; i++)
        max_ana = MAX (max_ana, fabs (analytic[i]));
    for (size_t i = 0; i < n && checked < max_checks; i += step, checked++) {
        float saved = x[i];
        double up, down, num;

        x[i] = saved + eps;
        up = loss (ctx);
        x[i] = saved - eps;
        down = loss (ctx);
        x[i] = saved;
        num = (up - down) / (2.0 * (double) eps);
        double err = fabs (num - analytic[i]);
        if (!(err <= atol + rtol * max_ana)) {
            if (bad < TSL_TEST_SHOW)
                printf ("# %s grad[%zu]: numeric %.7g, analytic %.7g  NOT OK\n", name, i, num,
                        analytic[i]);
            bad++;
        }
        if (!isnan (err))
            max_err = MAX (max_err, err);
    }
    printf ("# %s: %zu gradient entries checked, max |num - ana| %.3g, max |ana| %.3g %s\n", name,
            checked, max_err, max_ana, bad ? "NOT OK" : "OK");
    if (bad || checked == 0)
        g_test_fail ();
    return bad == 0 && checked > 0;
}

TslBackend *
tsl_test_backend (void)
{
    const char *name = g_getenv ("TSL_TEST_BACKEND");
    g_autoptr (GError) error = NULL;
    TslBackend *be = tsl_backend_new (name != NULL ? name : "cpu", &error);

    g_assert_no_error (error);
    return be;
}

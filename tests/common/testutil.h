/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * testutil.h: what every libtsl test needs: a seeded random generator,
 * comparisons that print their work (first mismatching pairs, maximum
 * absolute and relative error), the normalised error used to compare
 * backends, guarded buffers that catch writes past the end, and a
 * finite-difference gradient checker.
 *
 * Tests are GTest programs (TAP output under meson). A failed check prints
 * its report and marks the test failed through g_test_fail().
 */
#pragma once

#include <glib.h>
#include <stddef.h>

#include "backend.h"

G_BEGIN_DECLS

/* ---- random numbers (xorshift64*, reproducible across platforms) ---- */

typedef struct {
    guint64 state;
} TslTestRng;

void tsl_test_rng_init (TslTestRng *rng, guint64 seed);
double tsl_test_rng_uniform (TslTestRng *rng);         /* [0, 1) */
double tsl_test_rng_normal (TslTestRng *rng);          /* N(0, 1) */
int tsl_test_rng_int (TslTestRng *rng, int lo, int hi); /* [lo, hi] */
void tsl_test_fill_uniform (TslTestRng *rng, float *x, size_t n, float lo, float hi);
void tsl_test_fill_normal (TslTestRng *rng, float *x, size_t n, float stddev);

/* ---- backends ---- */

/* The backend named by TSL_TEST_BACKEND (default "cpu"); aborts the test
 * program when it cannot be created. */
TslBackend *tsl_test_backend (void);

/* ---- comparisons ---- */

/* |got - ref| <= atol + rtol * |ref| everywhere (NaN never passes). On
 * failure prints the first mismatches with their index, and the maximum
 * absolute and relative differences, then calls g_test_fail(). */
gboolean tsl_test_check_close (const char *name, const float *got, const double *ref, size_t n,
                               double atol, double rtol);
/* Same for two float arrays. */
gboolean tsl_test_check_close_f (const char *name, const float *got, const float *ref, size_t n,
                                 double atol, double rtol);

/* mse(ref, got) / mse(ref, 0); 0 when both are all zero; INFINITY on a
 * NaN or an infinity in either. */
double tsl_test_nmse (const float *ref, const float *got, size_t n);

/* ---- guarded buffers ---- */

/* n floats with TSL_TEST_GUARD canary floats on each side (host memory). */
#define TSL_TEST_GUARD 1024
float *tsl_test_alloc_guarded (size_t n);
/* FALSE (and a report) when a canary changed. Frees the buffer. */
gboolean tsl_test_free_guarded (const char *name, float *x, size_t n);

/* ---- finite-difference gradients ---- */

/* loss(ctx) must run the forward from the current parameter values and
 * return a scalar (accumulate it in double). */
typedef double (*TslTestLossFn) (void *ctx);

/* Compares analytic[i] with (loss(x_i + eps) - loss(x_i - eps)) / (2 eps)
 * for up to max_checks elements of x spread over the array (all when
 * n <= max_checks). Passes when |num - ana| <= atol + rtol * max|ana|.
 * x is restored afterwards. */
gboolean tsl_test_check_gradient (const char *name, TslTestLossFn loss, void *ctx, float *x,
                                  const float *analytic, size_t n, size_t max_checks, float eps,
                                  double atol, double rtol);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests eval/numpy-sum.c against np.sum itself: every case of
 * tests/data/eval/numpy-order.safetensors (sizes 1 .. 1000, magnitudes
 * 1e-8 .. 1e8 of both signs, so that the order of additions changes the
 * rounding) must be equal bit for bit. Plus a hand case where pairwise and
 * left-to-right summation differ.
 */
#include <stdio.h>

#include "eval/numpy-sum.h"
#include "numpy-fixtures.h"
#include "testutil.h"

/* eight terms: ((1e16 + 1) + (1 + 1)) ... differs from left to right */
static void
test_pairwise_order (void)
{
    const double x[9] = { 1e16, 1.0, 1.0, 1.0, -1e16, 1.0, 1.0, 1.0, 0.5 };
    double sequential = 0.0;

    for (int i = 0; i < 9; i++)
        sequential += x[i];
    /* r = x[0..7]; ((1e16 + 1) + (1 + 1)) + ((-1e16 + 1) + (1 + 1)) + 0.5 */
    const double pairwise = (((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]))) +
                            x[8];
    g_assert_cmpfloat (pairwise, !=, sequential);
    g_assert_cmpfloat (tsl_numpy_sum (x, 9), ==, pairwise);
    g_assert_cmpfloat (tsl_numpy_sum (x, 0), ==, 0.0);
}

static void
test_numpy_cases (void)
{
    g_autoptr (TslSafetensors) st = numpy_fixtures_open ();
    size_t n_off, n_val, n_res;
    g_autofree gint64 *offsets = numpy_fixtures_i64 (st, "sum.offsets", &n_off);
    g_autofree double *values = numpy_fixtures_f64 (st, "sum.values", &n_val);
    g_autofree double *result = numpy_fixtures_f64 (st, "sum.result", &n_res);

    g_assert_cmpuint (n_res + 1, ==, n_off);
    for (size_t c = 0; c < n_res; c++) {
        const int n = (int) (offsets[c + 1] - offsets[c]);
        const double got = tsl_numpy_sum (values + offsets[c], n);
        if (got != result[c]) {
            printf ("# case %zu (n = %d): %.17g, np.sum gives %.17g\n", c, n, got, result[c]);
            g_test_fail ();
        }
    }
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/eval/numpy-sum/pairwise-order", test_pairwise_order);
    g_test_add_func ("/eval/numpy-sum/numpy-cases", test_numpy_cases);
    return g_test_run ();
}

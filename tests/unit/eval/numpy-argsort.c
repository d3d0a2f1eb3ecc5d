/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests eval/numpy-argsort.c against np.argsort itself: every case of
 * tests/data/eval/numpy-order.safetensors (NumPy 1.24.2, written by
 * make-tie-fixtures.py) must come out index for index. The cases are full
 * of ties (sizes 1 .. 1000, one to many distinct values, all equal, sorted,
 * reversed, -0.0 with +0.0, NaN) and include three inputs that drive
 * NumPy's introsort into its heap sort fallback. Plus hand-checked small
 * cases: n <= 16 is a stable insertion sort.
 */
#include <math.h>
#include <stdio.h>

#include "eval/numpy-argsort.h"
#include "numpy-fixtures.h"
#include "testutil.h"

static gboolean
expect_order (const char *what, const int *got, const gint64 *want, int n)
{
    for (int i = 0; i < n; i++) {
        if (got[i] != want[i]) {
            printf ("# %s (n = %d): position %d holds index %d, np.argsort puts %" G_GINT64_FORMAT
                    " there\n", what, n, i, got[i], want[i]);
            g_test_fail ();
            return FALSE;
        }
    }
    return TRUE;
}

/* n <= 16: insertion sort keeps equal values in input order */
static void
test_small_stable (void)
{
    const double values[] = { 0.5, 0.7, 0.5, 0.9, 0.7, 0.5, 0.1, 0.5 };
    const gint64 want[] = { 6, 0, 2, 5, 7, 1, 4, 3 };
    int order[G_N_ELEMENTS (values)];

    tsl_numpy_argsort (order, values, G_N_ELEMENTS (values));
    expect_order ("small", order, want, G_N_ELEMENTS (want));
}

/* NaN after every number; -0.0 equals +0.0 */
static void
test_nan_and_zero (void)
{
    const double values[] = { NAN, 1.0, -0.0, NAN, 0.0, -1.0 };
    const gint64 want[] = { 5, 2, 4, 1, 0, 3 };
    int order[G_N_ELEMENTS (values)];

    tsl_numpy_argsort (order, values, G_N_ELEMENTS (values));
    expect_order ("nan", order, want, G_N_ELEMENTS (want));
}

static void
test_empty_and_one (void)
{
    const double one = 3.0;
    int order[1] = { 7 };

    tsl_numpy_argsort (order, NULL, 0);
    g_assert_cmpint (order[0], ==, 7);
    tsl_numpy_argsort (order, &one, 1);
    g_assert_cmpint (order[0], ==, 0);
}

/* every NumPy-made case, index for index */
static void
test_numpy_cases (void)
{
    g_autoptr (TslSafetensors) st = numpy_fixtures_open ();
    size_t n_off, n_val, n_res;
    g_autofree gint64 *offsets = numpy_fixtures_i64 (st, "argsort.offsets", &n_off);
    g_autofree double *values = numpy_fixtures_f64 (st, "argsort.values", &n_val);
    g_autofree gint64 *result = numpy_fixtures_i64 (st, "argsort.result", &n_res);
    g_autofree int *order = g_new (int, MAX (n_val, 1));
    const char *heap_cases = tsl_safetensors_get_metadata (st, "argsort.heap-fallback-cases");
    int n_unstable = 0, n_large = 0;

    g_assert_cmpuint (n_val, ==, n_res);
    for (size_t c = 0; c + 1 < n_off; c++) {
        const int n = (int) (offsets[c + 1] - offsets[c]);
        const double *v = values + offsets[c];
        const gint64 *want = result + offsets[c];
        g_autofree char *what = g_strdup_printf ("case %zu", c);

        tsl_numpy_argsort (order, v, n);
        if (!expect_order (what, order, want, n))
            return;
        /* count the cases where ties are NOT in input order, to show the
         * fixtures test more than a stable sort */
        for (int i = 1; i < n; i++) {
            if (v[want[i]] == v[want[i - 1]] && want[i] < want[i - 1]) {
                n_unstable++;
                break;
            }
        }
        n_large += n > 16;
    }
    printf ("# %zu cases (%d longer than 16), %d with ties out of input order; heap fallback "
            "in cases %s\n", n_off - 1, n_large, n_unstable, heap_cases);
    g_assert_cmpint (n_unstable, >, 100);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/eval/numpy-argsort/small-stable", test_small_stable);
    g_test_add_func ("/eval/numpy-argsort/nan-and-zero", test_nan_and_zero);
    g_test_add_func ("/eval/numpy-argsort/empty-and-one", test_empty_and_one);
    g_test_add_func ("/eval/numpy-argsort/numpy-cases", test_numpy_cases);
    return g_test_run ();
}

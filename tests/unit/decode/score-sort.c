/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests decode/score-sort.c: random arrays must come out sorted and
 * permuted; arrays with ties must come out in libstdc++ std::sort's order
 * (the order torch.sort(descending=True) gives on the CPU). The expected
 * orders below were printed by std::sort itself (g++ 12, libstdc++) on the
 * same inputs with the comparator "a.score > b.score".
 */
#include <math.h>
#include <stdio.h>

#include "decode/score-sort.h"
#include "testutil.h"

static void
expect_order (const char *what, const TslScoreIndex *items, const int *want, int n)
{
    for (int i = 0; i < n; i++) {
        if (items[i].index != want[i]) {
            printf ("# %s: position %d holds index %d, std::sort puts %d there\n", what, i,
                    items[i].index, want[i]);
            g_test_fail ();
            return;
        }
    }
}

static void
fill_items (TslScoreIndex *items, const float *scores, int n)
{
    for (int i = 0; i < n; i++)
        items[i] = (TslScoreIndex) { scores[i], i };
}

/* n <= 16: insertion sort only, which keeps equal scores in input order */
static void
test_ties_small (void)
{
    const float scores[] = { 0.5f, 0.7f, 0.5f, 0.9f, 0.7f, 0.5f, 0.1f };
    const int want[] = { 3, 1, 4, 0, 2, 5, 6 };
    TslScoreIndex items[G_N_ELEMENTS (scores)];

    fill_items (items, scores, G_N_ELEMENTS (scores));
    tsl_decode_sort_desc (items, G_N_ELEMENTS (scores));
    expect_order ("ties-small", items, want, G_N_ELEMENTS (want));
}

/* 17 and 20 equal scores: one partition step, then insertion; not stable */
static void
test_ties_all_equal (void)
{
    const int want17[] = { 8, 16, 15, 14, 13, 12, 11, 10, 9, 0, 7, 6, 5, 4, 3, 2, 1 };
    const int want20[] = { 10, 19, 18, 17, 16, 15, 14, 13, 12, 11, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
    TslScoreIndex items[20];

    for (int i = 0; i < 20; i++)
        items[i] = (TslScoreIndex) { 0.25f, i };
    tsl_decode_sort_desc (items, 17);
    expect_order ("equal-17", items, want17, 17);
    for (int i = 0; i < 20; i++)
        items[i] = (TslScoreIndex) { 0.25f, i };
    tsl_decode_sort_desc (items, 20);
    expect_order ("equal-20", items, want20, 20);
}

/* An input built by McIlroy's quicksort adversary against std::sort (values
 * halved to create ties): the partitions degenerate, the depth limit
 * 2 * floor(log2 48) = 10 runs out and the heap sort fallback finishes.
 * Ties (e.g. -1 at 3 and 25, -20 at 16 and 23) end in std::sort's order. */
static void
test_heap_fallback (void)
{
    const float scores[48] = {
        -19, 0,   -18, -1,  -24, -2,  -19, -3,  -21, -4,  -18, -5,  -22, -6,  -17, -7,
        -20, -8,  -10, -9,  -23, -22, -21, -20, 0,   -1,  -2,  -3,  -4,  -5,  -6,  -7,
        -8,  -9,  -17, -15, -16, -14, -15, -13, -14, -12, -13, -11, -12, -10, -11, -16,
    };
    const int want[48] = {
        1,  24, 3,  25, 5,  26, 7,  27, 9,  28, 11, 29, 13, 30, 15, 31,
        17, 32, 19, 33, 45, 18, 43, 46, 44, 41, 39, 42, 37, 40, 35, 38,
        36, 47, 14, 34, 10, 2,  6,  0,  23, 16, 8,  22, 21, 12, 20, 4,
    };
    TslScoreIndex items[48];

    fill_items (items, scores, 48);
    tsl_decode_sort_desc (items, 48);
    expect_order ("heap-fallback", items, want, 48);
}

/* NaN sorts first, as in PyTorch's descending comparator */
static void
test_nan_first (void)
{
    const float scores[] = { 0.5f, NAN, 0.9f };
    const int want[] = { 1, 2, 0 };
    TslScoreIndex items[3];

    fill_items (items, scores, 3);
    tsl_decode_sort_desc (items, 3);
    expect_order ("nan", items, want, 3);
}

static const int random_sizes[] = { 0, 1, 2, 16, 17, 33, 100, 1000, 5003 };

/* distinct or few-valued random scores: descending and a permutation */
static void
test_random (gconstpointer data)
{
    const int n = *(const int *) data;
    TslScoreIndex *items = g_new (TslScoreIndex, MAX (n, 1));
    gboolean *seen = g_new0 (gboolean, MAX (n, 1));
    TslTestRng rng;

    tsl_test_rng_init (&rng, 99 + n);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < n; i++) {
            /* round 0: continuous values; round 1: 7 distinct values */
            float s = (float) tsl_test_rng_uniform (&rng);
            items[i] = (TslScoreIndex) { round ? floorf (s * 7.0f) : s, i };
            seen[i] = FALSE;
        }
        tsl_decode_sort_desc (items, n);
        for (int i = 0; i < n; i++) {
            g_assert_true (items[i].index >= 0 && items[i].index < n && !seen[items[i].index]);
            seen[items[i].index] = TRUE;
            if (i > 0)
                g_assert_cmpfloat (items[i - 1].score, >=, items[i].score);
        }
    }
    g_free (items);
    g_free (seen);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/decode/score-sort/ties-small", test_ties_small);
    g_test_add_func ("/decode/score-sort/ties-all-equal", test_ties_all_equal);
    g_test_add_func ("/decode/score-sort/heap-fallback", test_heap_fallback);
    g_test_add_func ("/decode/score-sort/nan-first", test_nan_first);
    for (guint i = 0; i < G_N_ELEMENTS (random_sizes); i++) {
        g_autofree char *path = g_strdup_printf ("/decode/score-sort/random/n%d", random_sizes[i]);
        g_test_add_data_func (path, &random_sizes[i], test_random);
    }
    return g_test_run ();
}

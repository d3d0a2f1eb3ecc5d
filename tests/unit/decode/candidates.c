/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests decode/candidates.c: hand-made levels whose answers are worked out
 * below (thresholds strict, mask, per-level top-k, duration filter, ties,
 * [T, K] flattening), random logits against a double-precision reference,
 * and, when the reference data is there, the pre-NMS candidates of the
 * official implementation bit for bit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "golden.h"
#include "testutil.h"

static GArray *
segment_array (void)
{
    return g_array_new (FALSE, FALSE, sizeof (TslSegment));
}

static void
expect_segments (const char *what, GArray *got, const TslSegment *want, int n)
{
    const TslSegment *g = (const TslSegment *) got->data;

    if ((int) got->len != n) {
        printf ("# %s: %u segments, expected %d\n", what, got->len, n);
        g_test_fail ();
        return;
    }
    for (int i = 0; i < n; i++) {
        if (g[i].start != want[i].start || g[i].end != want[i].end ||
            g[i].score != want[i].score || g[i].label != want[i].label) {
            printf ("# %s[%d]: got [%g, %g] %g label %d, expected [%g, %g] %g label %d\n", what, i,
                    g[i].start, g[i].end, g[i].score, g[i].label, want[i].start, want[i].end,
                    want[i].score, want[i].label);
            g_test_fail ();
        }
    }
}

/* K = 2 classes, T = 4 points, stride 2: points at grid 0, 2, 4, 6.
 * Scores (rows = class):   t=0    t=1    t=2    t=3
 *                   k=0   0.5    0.25   0.75   0.9375 (masked)
 *                   k=1   0.125  0.5    0.0625 0.875  (masked)
 * pre_nms_thresh 0.25 (0.25 itself is NOT kept: strict), point 3 masked.
 * Kept, flat [T, K] index order: (0,0) 0.5, (1,1) 0.5, (2,0) 0.75.
 * Sorted descending, the 0.5 tie keeps flat order for n <= 16:
 *   (2,0) 0.75, (0,0) 0.5, (1,1) 0.5.
 * Offsets (units of stride 2): start row {1, 0.5, 0.25, 9}, end row
 * {2, 0.5, 0.0078125, 9}:
 *   (2,0): [4 - 0.5, 4 + 0.015625] = [3.5, 4.015625], length 0.515625
 *   (0,0): [0 - 2, 0 + 4] = [-2, 4], length 6
 *   (1,1): [2 - 1, 2 + 1] = [1, 3], length 2
 * duration_thresh 0.515625 drops (2,0) (length not > threshold). */
static void
test_hand_level (void)
{
    const float scores[2 * 4] = { 0.5f, 0.25f, 0.75f, 0.9375f, 0.125f, 0.5f, 0.0625f, 0.875f };
    const float offsets[2 * 4] = { 1.0f, 0.5f, 0.25f, 9.0f, 2.0f, 0.5f, 0.0078125f, 9.0f };
    const float mask[4] = { 1.0f, 1.0f, 1.0f, 0.0f };
    TslDecodeConfig config;
    g_autoptr (GArray) got = segment_array ();
    g_autoptr (GArray) got_short = segment_array ();

    tsl_decode_config_init (&config);
    config.pre_nms_thresh = 0.25;
    config.duration_thresh = 0.05;
    tsl_decode_candidates_from_scores (got, scores, offsets, mask, 2, 4, 2, &config);
    const TslSegment want[] = {
        { 3.5f, 4.015625f, 0.75f, 0 },
        { -2.0f, 4.0f, 0.5f, 0 },
        { 1.0f, 3.0f, 0.5f, 1 },
    };
    expect_segments ("hand", got, want, G_N_ELEMENTS (want));

    config.duration_thresh = 0.515625;
    tsl_decode_candidates_from_scores (got_short, scores, offsets, mask, 2, 4, 2, &config);
    expect_segments ("hand/duration", got_short, want + 1, 2);
}

/* pre_nms_topk applies per level: two levels with 3 candidates each and
 * top-k 2 give 2 + 2, in level order; appending keeps earlier content. */
static void
test_topk_per_level (void)
{
    /* K = 1, T = 3, offsets 1 everywhere */
    const float level0[3] = { 0.2f, 0.6f, 0.4f };
    const float level1[3] = { 0.9f, 0.3f, 0.7f };
    const float offsets[2 * 3] = { 1, 1, 1, 1, 1, 1 };
    TslDecodeConfig config;
    g_autoptr (GArray) got = segment_array ();

    tsl_decode_config_init (&config);
    config.pre_nms_topk = 2;
    tsl_decode_candidates_from_scores (got, level0, offsets, NULL, 1, 3, 1, &config);
    tsl_decode_candidates_from_scores (got, level1, offsets, NULL, 1, 3, 2, &config);
    /* level 0 (stride 1): t = 1 (0.6) -> [0, 2], t = 2 (0.4) -> [1, 3];
     * level 1 (stride 2): t = 0 (0.9) -> [-2, 2], t = 4 (0.7) -> [2, 6] */
    const TslSegment want[] = {
        { 0.0f, 2.0f, 0.6f, 0 },
        { 1.0f, 3.0f, 0.4f, 0 },
        { -2.0f, 2.0f, 0.9f, 0 },
        { 2.0f, 6.0f, 0.7f, 0 },
    };
    expect_segments ("topk", got, want, G_N_ELEMENTS (want));
}

/* 20 equal scores: more than the 16 that insertion sort handles alone, so
 * the introsort partition runs and the tie order is NOT the input order.
 * libstdc++'s std::sort (hence torch.sort and the reference) leaves equal
 * elements 0..19 as 10, 19, 18, ..., 11, 0, 9, 8, ..., 1 (printed by
 * std::sort itself). Point t's segment is [t, t + 1]. */
static void
test_ties_many (void)
{
    enum { T = 20 };
    static const int want_order[T] = { 10, 19, 18, 17, 16, 15, 14, 13, 12, 11,
                                       0,  9,  8,  7,  6,  5,  4,  3,  2,  1 };
    float scores[T], offsets[2 * T];
    TslDecodeConfig config;
    g_autoptr (GArray) got = segment_array ();

    for (int t = 0; t < T; t++) {
        scores[t] = 0.5f;
        offsets[t] = 0.0f;
        offsets[T + t] = 1.0f;
    }
    tsl_decode_config_init (&config);
    tsl_decode_candidates_from_scores (got, scores, offsets, NULL, 1, T, 1, &config);
    g_assert_cmpuint (got->len, ==, T);
    for (int i = 0; i < T; i++) {
        const TslSegment *s = &g_array_index (got, TslSegment, i);
        g_assert_cmpfloat (s->start, ==, (float) want_order[i]);
        g_assert_cmpfloat (s->end, ==, (float) want_order[i] + 1.0f);
    }
}

typedef struct {
    int K, T, stride;
    double thresh;
    int topk;
} RandomCase;

static const RandomCase random_cases[] = {
    { 1, 1, 1, 0.001, 5000 },
    { 3, 37, 1, 0.3, 5000 },
    { 5, 64, 4, 0.5, 5000 },
    { 7, 129, 2, 0.2, 50 },  /* top-k binds */
    { 97, 13, 32, 0.6, 5000 }, /* many classes, few points */
};

typedef struct {
    double score, start, end;
    int flat;
} RefCandidate;

static int
compare_ref (const void *a, const void *b)
{
    const RefCandidate *x = a, *y = b;

    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->flat > y->flat) - (x->flat < y->flat);
}

/* random logits / offsets / masked tail against a double reference */
static void
test_random_case (gconstpointer data)
{
    const RandomCase *c = data;
    const int n_flat = c->K * c->T;
    float *logits = g_new (float, n_flat);
    float *offsets = g_new (float, 2 * c->T);
    float *mask = g_new (float, c->T);
    RefCandidate *ref = g_new (RefCandidate, n_flat);
    TslTestRng rng;
    TslDecodeConfig config;
    g_autoptr (GArray) got = segment_array ();
    int n_ref = 0;

    tsl_test_rng_init (&rng, 7 + c->K * 1000 + c->T);
    tsl_test_fill_normal (&rng, logits, n_flat, 2.0f);
    tsl_test_fill_uniform (&rng, offsets, 2 * c->T, 0.0f, 3.0f);
    for (int t = 0; t < c->T; t++)
        mask[t] = t < c->T - c->T / 4 ? 1.0f : 0.0f; /* masked tail */
    tsl_decode_config_init (&config);
    config.pre_nms_thresh = c->thresh;
    config.pre_nms_topk = c->topk;

    for (int t = 0; t < c->T; t++) {
        for (int k = 0; k < c->K; k++) {
            const double p = mask[t] / (1.0 + exp (-(double) logits[k * c->T + t]));
            const double center = (double) t * c->stride;
            if (p > c->thresh)
                ref[n_ref++] = (RefCandidate) { p, center - offsets[t] * c->stride,
                                                center + offsets[c->T + t] * c->stride,
                                                t * c->K + k };
        }
    }
    qsort (ref, n_ref, sizeof (RefCandidate), compare_ref);
    n_ref = MIN (n_ref, c->topk);
    int n_want = 0;
    for (int i = 0; i < n_ref; i++) {
        if (ref[i].end - ref[i].start > 0.05)
            ref[n_want++] = ref[i];
    }

    tsl_decode_candidates (got, logits, offsets, mask, c->K, c->T, c->stride, &config);
    g_assert_cmpint ((int) got->len, ==, n_want);
    for (int i = 0; i < n_want; i++) {
        const TslSegment *s = &g_array_index (got, TslSegment, i);
        /* float32 sigmoid: within a few ulp of the double value */
        g_assert_cmpfloat_with_epsilon (s->score, ref[i].score, 4e-7 * ref[i].score + 1e-12);
        g_assert_cmpint (s->label, ==, ref[i].flat % c->K);
        /* one float32 rounding of a product and of a sum */
        g_assert_cmpfloat_with_epsilon (s->start, ref[i].start, 1e-5 * (1 + fabs (ref[i].start)));
        g_assert_cmpfloat_with_epsilon (s->end, ref[i].end, 1e-5 * (1 + fabs (ref[i].end)));
    }
    g_free (logits);
    g_free (offsets);
    g_free (mask);
    g_free (ref);
}

/* the official pre-NMS candidates, from the stored head outputs */
static void
test_golden (gconstpointer data)
{
    const int video = GPOINTER_TO_INT (data);
    g_autoptr (TslSafetensors) st = golden_open_video (video);
    TslDecodeLevel levels[GOLDEN_N_LEVELS];
    TslDecodeConfig config;
    g_autoptr (GArray) got = segment_array ();

    if (st == NULL)
        return;
    golden_af1_config (&config);
    golden_read_levels (st, levels);
    for (int l = 0; l < GOLDEN_N_LEVELS; l++)
        tsl_decode_candidates (got, levels[l].cls_logits, levels[l].offsets, levels[l].mask,
                               GOLDEN_N_CLASSES, levels[l].T, levels[l].stride, &config);
    golden_check_segments ("prenms", (const TslSegment *) got->data, (int) got->len, st,
                           "prenms");
    golden_free_levels (levels);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/decode/candidates/hand-level", test_hand_level);
    g_test_add_func ("/decode/candidates/topk-per-level", test_topk_per_level);
    g_test_add_func ("/decode/candidates/ties-many", test_ties_many);
    for (guint i = 0; i < G_N_ELEMENTS (random_cases); i++) {
        const RandomCase *c = &random_cases[i];
        g_autofree char *path = g_strdup_printf ("/decode/candidates/random/k%d_t%d_s%d_top%d",
                                                 c->K, c->T, c->stride, c->topk);
        g_test_add_data_func (path, c, test_random_case);
    }
    for (int v = 0; v < GOLDEN_N_VIDEOS; v++) {
        g_autofree char *path = g_strdup_printf ("/decode/candidates/golden/af1_video%d", v);
        g_test_add_data_func (path, GINT_TO_POINTER (v), test_golden);
    }
    return g_test_run ();
}

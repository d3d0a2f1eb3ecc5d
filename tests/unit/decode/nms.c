/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests decode/nms.c with hand-made candidates whose results are worked
 * out in the comments (decays recomputed here in double precision, with
 * the reference's lengths end - start + 1e-6), cases that make the
 * reference's permutation rules visible in the output order (the selected
 * segment SWAPS with the current position; a dropped one is replaced by
 * the LAST), hard, linear and class-agnostic NMS with voting, and, when
 * the reference data is there, the official NMS output and final seconds
 * bit for bit.
 */
#include <math.h>
#include <stdio.h>

#include "golden.h"
#include "testutil.h"

#define EPS_LENGTH 1e-6 /* added to every length by the reference kernel */

typedef struct {
    double start, end, score;
    int label;
} Expected;

static GArray *
run_nms (const TslSegment *candidates, int n, const TslDecodeConfig *config)
{
    GArray *out = g_array_new (FALSE, FALSE, sizeof (TslSegment));
    g_autoptr (GError) error = NULL;

    g_assert_true (tsl_decode_config_check (config, &error));
    tsl_decode_nms (out, candidates, n, config);
    return out;
}

/* float32 results against double expectations: a few roundings each */
static void
expect_segments (const char *what, GArray *got, const Expected *want, int n)
{
    const double rtol = 2e-6;

    if ((int) got->len != n) {
        printf ("# %s: %u segments, expected %d\n", what, got->len, n);
        g_test_fail ();
        return;
    }
    for (int i = 0; i < n; i++) {
        const TslSegment *g = &g_array_index (got, TslSegment, i);
        const Expected *w = &want[i];
        if (g->label != w->label || fabs (g->start - w->start) > rtol * (1 + fabs (w->start)) ||
            fabs (g->end - w->end) > rtol * (1 + fabs (w->end)) ||
            fabs (g->score - w->score) > rtol * fabs (w->score)) {
            printf ("# %s[%d]: got [%.9g, %.9g] %.9g label %d, expected [%.9g, %.9g] %.9g "
                    "label %d\n",
                    what, i, g->start, g->end, g->score, g->label, w->start, w->end, w->score,
                    w->label);
            g_test_fail ();
        }
    }
}

/* IoU as the reference kernel computes it, in double */
static double
kernel_iou (double s1, double e1, double s2, double e2)
{
    const double inter = MAX (0.0, MIN (e1, e2) - MAX (s1, s2));

    return inter / ((e1 - s1 + EPS_LENGTH) + (e2 - s2 + EPS_LENGTH) - inter);
}

static void
soft_config (TslDecodeConfig *config, double sigma)
{
    tsl_decode_config_init (config);
    config->sigma = sigma;
    config->min_score = 0.001;
}

/* one class, two overlapping segments: A [0, 10] 0.9 is picked, B [5, 15]
 * 0.8 decays by exp(-IoU^2 / 0.5), IoU = 5 / (10 + 10 + 2e-6 - 5) */
static void
test_two_overlapping (void)
{
    const TslSegment cands[] = { { 5, 15, 0.8f, 2 }, { 0, 10, 0.9f, 2 } };
    TslDecodeConfig config;

    soft_config (&config, 0.5);
    g_autoptr (GArray) got = run_nms (cands, 2, &config);
    const double iou = kernel_iou (0, 10, 5, 15);
    const Expected want[] = {
        { 0, 10, 0.9f, 2 },
        { 5, 15, 0.8f * exp (-iou * iou / 0.5), 2 },
    };
    expect_segments ("two-overlapping", got, want, 2);
}

/* Short segments make the 1e-6 in the lengths visible: IoU of [0, 0.02]
 * and [0.01, 0.03] is 0.01 / 0.030002 = 0.33331 instead of 1/3, which
 * moves the decayed score by 3e-5 relative, far above the tolerance. */
static void
test_length_epsilon (void)
{
    const TslSegment cands[] = { { 0.0f, 0.02f, 0.9f, 0 }, { 0.01f, 0.03f, 0.8f, 0 } };
    TslDecodeConfig config;

    soft_config (&config, 0.5);
    g_autoptr (GArray) got = run_nms (cands, 2, &config);
    const double iou = kernel_iou (0.0f, 0.02f, 0.01f, 0.03f);
    const Expected want[] = {
        { 0.0f, 0.02f, 0.9f, 0 },
        { 0.01f, 0.03f, 0.8f * exp (-iou * iou / 0.5), 0 },
    };
    expect_segments ("length-epsilon", got, want, 2);
}

/* Swap rule. Input A 0.9, P 0.3, Q 0.3, R 0.6, disjoint (weights 1).
 * Round 0 picks A. Round 1 picks R at position 3 and SWAPS it with
 * position 1: [A, R, Q, P]. Round 2: Q and P tie, the first (Q) wins.
 * The final sort keeps tie order for n <= 16, so the output is A R Q P;
 * shifting instead of swapping would give A R P Q. */
static void
test_swap_rule (void)
{
    const TslSegment cands[] = {
        { 0, 10, 0.9f, 0 },     /* A */
        { 100, 110, 0.3f, 0 },  /* P */
        { 200, 210, 0.3f, 0 },  /* Q */
        { 300, 310, 0.6f, 0 },  /* R */
    };
    TslDecodeConfig config;

    soft_config (&config, 0.5);
    g_autoptr (GArray) got = run_nms (cands, 4, &config);
    const Expected want[] = {
        { 0, 10, 0.9f, 0 }, { 300, 310, 0.6f, 0 }, { 200, 210, 0.3f, 0 }, { 100, 110, 0.3f, 0 },
    };
    expect_segments ("swap-rule", got, want, 4);
}

/* Move-last rule. Input A 0.9, B = A's copy 0.5, C, D, E 0.3 each,
 * disjoint from A. sigma 0.1: B decays to 0.5 * exp(-1 / 0.1) = 2.3e-5
 * < min_score and is dropped by moving the LAST element (E) into its slot:
 * [A, E, C, D]. The ties then resolve in that order: A E C D (erasing B
 * and shifting would give A C D E). */
static void
test_move_last_rule (void)
{
    const TslSegment cands[] = {
        { 0, 10, 0.9f, 1 },     /* A */
        { 0, 10, 0.5f, 1 },     /* B */
        { 100, 110, 0.3f, 1 },  /* C */
        { 200, 210, 0.3f, 1 },  /* D */
        { 300, 310, 0.3f, 1 },  /* E */
    };
    TslDecodeConfig config;

    soft_config (&config, 0.1);
    g_autoptr (GArray) got = run_nms (cands, 5, &config);
    const Expected want[] = {
        { 0, 10, 0.9f, 1 },
        { 300, 310, 0.3f, 1 },
        { 100, 110, 0.3f, 1 },
        { 200, 210, 0.3f, 1 },
    };
    expect_segments ("move-last-rule", got, want, 4);
}

/* Classes are suppressed separately, in ascending id, then merged by
 * score. Class 0: [0, 10] 0.8 and [50, 60] 0.6 (disjoint). Class 1:
 * [0, 10] 0.9 and [2, 12] 0.7 decayed by IoU 8 / 12. The class-0 copy of
 * [0, 10] does not decay. max_seg_num 3 cuts the last one. */
static void
test_multiclass (void)
{
    const TslSegment cands[] = {
        { 0, 10, 0.9f, 1 },
        { 0, 10, 0.8f, 0 },
        { 2, 12, 0.7f, 1 },
        { 50, 60, 0.6f, 0 },
    };
    TslDecodeConfig config;

    soft_config (&config, 0.5);
    g_autoptr (GArray) got = run_nms (cands, 4, &config);
    const double iou = kernel_iou (0, 10, 2, 12);
    const Expected want[] = {
        { 0, 10, 0.9f, 1 },
        { 0, 10, 0.8f, 0 },
        { 50, 60, 0.6f, 0 },
        { 2, 12, 0.7f * exp (-iou * iou / 0.5), 1 },
    };
    expect_segments ("multiclass", got, want, 4);

    config.max_seg_num = 3;
    g_autoptr (GArray) cut = run_nms (cands, 4, &config);
    expect_segments ("multiclass/max-seg-num", cut, want, 3);
}

/* Hard NMS, iou_threshold 0.1, min_score 0.001. D (score 0.0005) is
 * filtered first. A [0, 10] 0.9 is kept; C [1, 11] has IoU 9/11 with it
 * and goes. B [8, 20] has IoU 2 / 20 = 0.1 without the 1e-6 terms, but
 * 2 / 20.0000019 = 0.09999999 < 0.1f with them, so B stays. */
static void
test_hard (void)
{
    const TslSegment cands[] = {
        { 30, 40, 0.0005f, 0 }, /* D */
        { 1, 11, 0.7f, 0 },     /* C */
        { 8, 20, 0.8f, 0 },     /* B */
        { 0, 10, 0.9f, 0 },     /* A */
    };
    TslDecodeConfig config;

    tsl_decode_config_init (&config);
    config.nms_method = TSL_NMS_HARD;
    config.min_score = 0.001;
    g_autoptr (GArray) got = run_nms (cands, 4, &config);
    const Expected want[] = { { 0, 10, 0.9f, 0 }, { 8, 20, 0.8f, 0 } };
    expect_segments ("hard", got, want, 2);
}

/* Linear soft-NMS, iou_threshold 0.1. Round 0 picks A [0, 10] 0.9:
 * B [5, 15] has IoU 1/3 -> 0.8 * (1 - IoU); C [9, 30] has IoU 1/30 < 0.1
 * and keeps 0.7. Round 1 picks C: IoU(C, B) = 6 / 25 -> B *= 1 - 0.24. */
static void
test_linear (void)
{
    const TslSegment cands[] = { { 0, 10, 0.9f, 0 }, { 5, 15, 0.8f, 0 }, { 9, 30, 0.7f, 0 } };
    TslDecodeConfig config;

    tsl_decode_config_init (&config);
    config.nms_method = TSL_NMS_SOFT_LINEAR;
    config.min_score = 0.001;
    g_autoptr (GArray) got = run_nms (cands, 3, &config);
    const double b_after_a = 0.8f * (1.0 - kernel_iou (0, 10, 5, 15));
    const Expected want[] = {
        { 0, 10, 0.9f, 0 },
        { 9, 30, 0.7f, 0 },
        { 5, 15, b_after_a * (1.0 - kernel_iou (9, 30, 5, 15)), 0 },
    };
    expect_segments ("linear", got, want, 3);
}

/* Class-agnostic soft-NMS (sigma 0.5) with voting at 0.75.
 * A [0, 10] 0.9 label 0, B [1, 11] 0.6 label 1, C [50, 60] 0.5 label 2.
 * Suppression: A; C (disjoint, 0.5); B decayed by IoU 9/11.
 * Voting uses plain lengths and the INPUT scores: A and B overlap by
 * 9/11 >= 0.75, so both become (0.9 * seg_A + 0.6 * seg_B) / 1.5 =
 * [0.4, 10.4]; C only sees itself. */
static void
test_class_agnostic_voting (void)
{
    const TslSegment cands[] = { { 0, 10, 0.9f, 0 }, { 1, 11, 0.6f, 1 }, { 50, 60, 0.5f, 2 } };
    TslDecodeConfig config;

    soft_config (&config, 0.5);
    config.multiclass = FALSE;
    g_autoptr (GArray) got = run_nms (cands, 3, &config);
    const double iou = kernel_iou (0, 10, 1, 11);
    const double w_a = 0.9f, w_b = 0.6f;
    const double voted_start = (w_a * 0 + w_b * 1) / (w_a + w_b);
    const double voted_end = (w_a * 10 + w_b * 11) / (w_a + w_b);
    const Expected want[] = {
        { voted_start, voted_end, 0.9f, 0 },
        { 50, 60, 0.5f, 2 },
        { voted_start, voted_end, 0.6f * exp (-iou * iou / 0.5), 1 },
    };
    expect_segments ("class-agnostic-voting", got, want, 3);

    /* without voting the boundaries stay */
    config.voting_thresh = 0.0;
    g_autoptr (GArray) plain = run_nms (cands, 3, &config);
    const Expected want_plain[] = {
        { 0, 10, 0.9f, 0 },
        { 50, 60, 0.5f, 2 },
        { 1, 11, 0.6f * exp (-iou * iou / 0.5), 1 },
    };
    expect_segments ("class-agnostic", plain, want_plain, 3);
}

/* "none" passes everything through, in order, without the max_seg_num cut */
static void
test_none_and_empty (void)
{
    const TslSegment cands[] = { { 0, 10, 0.1f, 0 }, { 0, 10, 0.9f, 0 }, { 1, 2, 0.5f, 3 } };
    TslDecodeConfig config;

    tsl_decode_config_init (&config);
    config.nms_method = TSL_NMS_NONE;
    config.max_seg_num = 1;
    g_autoptr (GArray) got = run_nms (cands, 3, &config);
    const Expected want[] = { { 0, 10, 0.1f, 0 }, { 0, 10, 0.9f, 0 }, { 1, 2, 0.5f, 3 } };
    expect_segments ("none", got, want, 3);

    tsl_decode_config_init (&config);
    g_autoptr (GArray) empty = run_nms (cands, 0, &config);
    g_assert_cmpuint (empty->len, ==, 0);
}

/* the official soft-NMS output from the official candidates, then seconds */
static void
test_golden (gconstpointer data)
{
    const int video = GPOINTER_TO_INT (data);
    g_autoptr (TslSafetensors) st = golden_open_video (video);
    TslDecodeConfig config;
    TslDecodeTiming timing;
    size_t n_seg, n_score, n_label;

    if (st == NULL)
        return;
    golden_af1_config (&config);
    golden_timing (st, &timing);
    g_autofree float *seg = golden_read (st, "prenms_segments", &n_seg);
    g_autofree float *score = golden_read (st, "prenms_scores", &n_score);
    g_autofree float *label = golden_read (st, "prenms_labels", &n_label);
    g_assert_cmpuint (n_seg, ==, 2 * n_score);
    g_assert_cmpuint (n_label, ==, n_score);
    TslSegment *cands = g_new (TslSegment, n_score);
    for (size_t i = 0; i < n_score; i++)
        cands[i] = (TslSegment) { seg[2 * i], seg[2 * i + 1], score[i], (int) label[i] };

    g_autoptr (GArray) got = run_nms (cands, (int) n_score, &config);
    golden_check_segments ("nms", (const TslSegment *) got->data, (int) got->len, st, "nms");
    tsl_decode_grid_to_seconds ((TslSegment *) got->data, (int) got->len, &timing);
    golden_check_segments ("final", (const TslSegment *) got->data, (int) got->len, st, "final");
    g_free (cands);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/decode/nms/two-overlapping", test_two_overlapping);
    g_test_add_func ("/decode/nms/length-epsilon", test_length_epsilon);
    g_test_add_func ("/decode/nms/swap-rule", test_swap_rule);
    g_test_add_func ("/decode/nms/move-last-rule", test_move_last_rule);
    g_test_add_func ("/decode/nms/multiclass", test_multiclass);
    g_test_add_func ("/decode/nms/hard", test_hard);
    g_test_add_func ("/decode/nms/linear", test_linear);
    g_test_add_func ("/decode/nms/class-agnostic-voting", test_class_agnostic_voting);
    g_test_add_func ("/decode/nms/none-and-empty", test_none_and_empty);
    for (int v = 0; v < GOLDEN_N_VIDEOS; v++) {
        g_autofree char *path = g_strdup_printf ("/decode/nms/golden/af1_video%d", v);
        g_test_add_data_func (path, GINT_TO_POINTER (v), test_golden);
    }
    return g_test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests decode/seconds.c: the grid-to-seconds formula against double
 * precision, and the reference's clamping: values <= 0 become +-0 with the
 * sign of the value (x * 0), values >= the duration become the duration
 * rounded to float32.
 */
#include <math.h>
#include <stdio.h>

#include "decode/seconds.h"
#include "testutil.h"

static const TslDecodeTiming af1_timing = {
    .fps = 30.0, .duration_s = 106.66666666666667, .feat_stride = 16.0, .num_frames = 16.0,
};

typedef struct {
    float grid;
    const char *expect; /* "neg0", "pos0", "duration" or "value" */
} SecondsCase;

static const SecondsCase cases[] = {
    { -1.0f, "neg0" },        /* (-16 + 8) / 30 < 0: -0.2667 * 0 = -0.0 */
    { -1e30f, "neg0" },
    { -0.5f, "pos0" },        /* (-8 + 8) / 30 = +0, and +0 * 0 = +0 */
    { 0.0f, "value" },        /* 8 / 30 */
    { 37.25f, "value" },
    { 199.49f, "value" },     /* 106.661 s, just inside */
    { 199.5f, "duration" },   /* 3200 / 30 = 106.666664f >= (float) duration */
    { 1e6f, "duration" },
};

static void
test_af1_cases (void)
{
    const float duration_f = (float) af1_timing.duration_s;

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        const SecondsCase *c = &cases[i];
        TslSegment seg = { c->grid, c->grid, 0.5f, 3 };

        tsl_decode_grid_to_seconds (&seg, 1, &af1_timing);
        g_assert_cmpfloat (seg.start, ==, seg.end);
        g_assert_cmpfloat (seg.score, ==, 0.5f);
        g_assert_cmpint (seg.label, ==, 3);
        if (g_str_equal (c->expect, "neg0")) {
            g_assert_true (seg.start == 0.0f && signbit (seg.start));
        } else if (g_str_equal (c->expect, "pos0")) {
            g_assert_true (seg.start == 0.0f && !signbit (seg.start));
        } else if (g_str_equal (c->expect, "duration")) {
            g_assert_cmpfloat (seg.start, ==, duration_f);
        } else {
            /* three float32 roundings: within 2 ulp of the exact value */
            const double ref = ((double) c->grid * 16.0 + 8.0) / 30.0;
            g_assert_cmpfloat_with_epsilon (seg.start, ref, 2.5e-7 * fabs (ref));
            g_assert_cmpfloat (seg.start, <, duration_f);
        }
    }
}

/* The exact float32 operation order: ((x * 16) + 8) / 30 with every step
 * rounded; 0.1 * 16 = 1.6000000238... exercises the rounding of each step. */
static void
test_rounding_order (void)
{
    const float x = 0.1f;
    const float want = ((x * 16.0f) + 8.0f) / 30.0f;
    TslSegment seg = { x, x, 1.0f, 0 };

    tsl_decode_grid_to_seconds (&seg, 1, &af1_timing);
    g_assert_cmpfloat (seg.start, ==, want);
}

/* a non-integer frame rate and an odd window: 0.5 * 15 = 7.5 frames */
static void
test_other_timing (void)
{
    const TslDecodeTiming timing = {
        .fps = 29.97, .duration_s = 12.5, .feat_stride = 4.0, .num_frames = 15.0,
    };
    TslSegment segs[2] = { { 3.0f, 50.0f, 0.5f, 0 }, { 90.0f, 95.0f, 0.5f, 1 } };

    tsl_decode_grid_to_seconds (segs, 2, &timing);
    const double ref_start = (3.0 * 4.0 + 7.5) / 29.97, ref_end = (50.0 * 4.0 + 7.5) / 29.97;
    g_assert_cmpfloat_with_epsilon (segs[0].start, ref_start, 2.5e-7 * ref_start);
    g_assert_cmpfloat_with_epsilon (segs[0].end, ref_end, 2.5e-7 * ref_end);
    /* (90 * 4 + 7.5) / 29.97 = 12.26 < 12.5; (95 * 4 + 7.5) / 29.97 = 12.93 -> 12.5 */
    g_assert_cmpfloat (segs[1].start, <, 12.5f);
    g_assert_cmpfloat (segs[1].end, ==, 12.5f);
}

/* +inf >= duration, and inf * 0 + duration is NaN in the reference too */
static void
test_infinity (void)
{
    TslSegment seg = { 0.0f, INFINITY, 1.0f, 0 };

    tsl_decode_grid_to_seconds (&seg, 1, &af1_timing);
    g_assert_true (isnan (seg.end));
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/decode/seconds/af1-cases", test_af1_cases);
    g_test_add_func ("/decode/seconds/rounding-order", test_rounding_order);
    g_test_add_func ("/decode/seconds/other-timing", test_other_timing);
    g_test_add_func ("/decode/seconds/infinity", test_infinity);
    return g_test_run ();
}

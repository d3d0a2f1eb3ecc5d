/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests decode/decode.c and decode/config.c: the reference defaults, the
 * range checks, method names, a small video through the whole pipeline,
 * and, when the reference data is there, the official final output (in
 * seconds) from the stored head outputs, bit for bit.
 */
#include <math.h>
#include <stdio.h>

#include "golden.h"
#include "testutil.h"

static void
test_config_defaults (void)
{
    TslDecodeConfig config;
    g_autoptr (GError) error = NULL;

    tsl_decode_config_init (&config);
    g_assert_cmpfloat (config.pre_nms_thresh, ==, 0.001);
    g_assert_cmpint (config.pre_nms_topk, ==, 5000);
    g_assert_cmpfloat (config.duration_thresh, ==, 0.05);
    g_assert_cmpint (config.nms_method, ==, TSL_NMS_SOFT);
    g_assert_cmpfloat (config.sigma, ==, 0.5);
    g_assert_cmpfloat (config.min_score, ==, 0.01);
    g_assert_cmpint (config.max_seg_num, ==, 1000);
    g_assert_cmpfloat (config.iou_threshold, ==, 0.1);
    g_assert_true (config.multiclass);
    g_assert_cmpfloat (config.voting_thresh, ==, 0.75);
    g_assert_true (tsl_decode_config_check (&config, &error));
    g_assert_no_error (error);
}

static void
test_config_check (void)
{
    TslDecodeConfig config;

    for (int field = 0; field < 5; field++) {
        g_autoptr (GError) error = NULL;
        tsl_decode_config_init (&config);
        switch (field) {
        case 0: config.pre_nms_topk = 0; break;
        case 1: config.max_seg_num = -1; break;
        case 2: config.sigma = 0.0; break;
        case 3: config.min_score = NAN; break;
        case 4: config.nms_method = (TslNmsMethod) 17; break;
        }
        g_assert_false (tsl_decode_config_check (&config, &error));
        g_assert_error (error, TSL_ERROR, TSL_ERROR_CONFIG);
    }
    /* sigma only matters to Gaussian soft-NMS */
    tsl_decode_config_init (&config);
    config.sigma = 0.0;
    config.nms_method = TSL_NMS_HARD;
    g_assert_true (tsl_decode_config_check (&config, NULL));
}

static void
test_method_names (void)
{
    const char *names[] = { "none", "hard", "soft", "linear" };
    TslNmsMethod method;
    g_autoptr (GError) error = NULL;

    for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
        g_assert_true (tsl_nms_method_from_name (names[i], &method, NULL));
        g_assert_cmpstr (tsl_nms_method_name (method), ==, names[i]);
    }
    g_assert_false (tsl_nms_method_from_name ("Soft", &method, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_CONFIG);
}

/* One level, K = 2, T = 4, stride 1. Only class 1 at point 2 has a large
 * logit (sigmoid(3) = 0.9526); offsets 1 and 2 give [1, 4] grid units,
 * i.e. [(16 + 8) / 30, (64 + 8) / 30] = [0.8, 2.4] s. The masked point 3
 * (logit 5) is ignored; every other logit is -10 (score 4.5e-5 <= 0.001). */
static void
test_pipeline_small (void)
{
    const float logits[2 * 4] = { -10, -10, -10, -10, -10, -10, 3, 5 };
    const float offsets[2 * 4] = { 0, 0, 1, 0, 0, 0, 2, 0 };
    const float mask[4] = { 1, 1, 1, 0 };
    const TslDecodeLevel level = { logits, offsets, mask, 4, 1 };
    const TslDecodeTiming timing = { 30.0, 10.0, 16.0, 16.0 };
    TslDecodeConfig config;
    g_autoptr (GError) error = NULL;

    tsl_decode_config_init (&config);
    g_autoptr (GArray) events = tsl_decode_video (&level, 1, 2, &timing, &config, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (events->len, ==, 1);
    const TslSegment *e = &g_array_index (events, TslSegment, 0);
    g_assert_cmpint (e->label, ==, 1);
    g_assert_cmpfloat_with_epsilon (e->score, 1.0 / (1.0 + exp (-3.0)), 1e-6);
    g_assert_cmpfloat_with_epsilon (e->start, 0.8, 1e-6);
    g_assert_cmpfloat_with_epsilon (e->end, 2.4, 1e-6);

    config.max_seg_num = 0;
    g_autoptr (GError) config_error = NULL;
    g_assert_null (tsl_decode_video (&level, 1, 2, &timing, &config, &config_error));
    g_assert_error (config_error, TSL_ERROR, TSL_ERROR_CONFIG);
}

/* the official final output from the stored head outputs */
static void
test_golden (gconstpointer data)
{
    const int video = GPOINTER_TO_INT (data);
    g_autoptr (TslSafetensors) st = golden_open_video (video);
    TslDecodeLevel levels[GOLDEN_N_LEVELS];
    TslDecodeConfig config;
    TslDecodeTiming timing;
    g_autoptr (GError) error = NULL;

    if (st == NULL)
        return;
    golden_af1_config (&config);
    golden_timing (st, &timing);
    golden_read_levels (st, levels);
    g_autoptr (GArray) events = tsl_decode_video (levels, GOLDEN_N_LEVELS, GOLDEN_N_CLASSES,
                                                  &timing, &config, &error);
    g_assert_no_error (error);
    golden_check_segments ("final", (const TslSegment *) events->data, (int) events->len, st,
                           "final");
    golden_free_levels (levels);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/decode/config/defaults", test_config_defaults);
    g_test_add_func ("/decode/config/check", test_config_check);
    g_test_add_func ("/decode/config/method-names", test_method_names);
    g_test_add_func ("/decode/video/small", test_pipeline_small);
    for (int v = 0; v < GOLDEN_N_VIDEOS; v++) {
        g_autofree char *path = g_strdup_printf ("/decode/video/golden/af1_video%d", v);
        g_test_add_data_func (path, GINT_TO_POINTER (v), test_golden);
    }
    return g_test_run ();
}

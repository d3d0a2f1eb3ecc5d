/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests eval/map.c, the Perception Test detection mAP:
 * - hand-computed cases, one behaviour each: a single class, IoU exactly at
 *   a threshold (0.5 matches; 0.3 does not match np.linspace's
 *   0.30000000000000004 but matches a literal 0.3), duplicate GT and
 *   duplicate predictions, a class with GT but no prediction, predictions
 *   on an unknown video / of an unknown class / on a video of another
 *   split, the label remapping of ids absent from the GT, score ties in
 *   both input orders, top-kx recall;
 * - tsl_map_linspace against np.linspace, and a class of 24 predictions
 *   with three tied score levels ranked as np.argsort ranks them (both
 *   from tests/data/eval/numpy-order.safetensors, written by NumPy 1.24);
 * - the reference cases MAP1 and MAP2 of ../shared/golden/actionformer
 *   (when present; TSL_GOLDEN_DIR overrides the place): every mAP, the
 *   average, every per-class AP and mean recall, and MAP1 with the
 *   prediction list reversed (only the order of equal scores changes).
 */
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eval/map.h"
#include "eval/submission.h"
#include "numpy-fixtures.h"
#include "testutil.h"

/* ---- helpers ---- */

/* Ground truth from Perception Test JSON text (timestamps in microseconds). */
static TslAnnotations *
gt_from_text (const char *text)
{
    g_autoptr (GError) error = NULL;
    TslAnnotations *gt = tsl_annotations_parse (text, strlen (text), "gt",
                                                TSL_ANNOTATIONS_PERCEPTION_TEST, NULL, &error);

    g_assert_no_error (error);
    return gt;
}

static TslMapResult *
evaluate (const TslAnnotations *gt, GArray *preds, const double *thresholds, int T)
{
    g_autoptr (GError) error = NULL;
    double defaults[TSL_MAP_DEFAULT_N_THRESHOLDS];

    if (thresholds == NULL) {
        tsl_map_default_thresholds (defaults);
        thresholds = defaults;
        T = TSL_MAP_DEFAULT_N_THRESHOLDS;
    }
    TslMapResult *r = tsl_map_evaluate (gt, "valid", (const TslPrediction *) preds->data,
                                        (int) preds->len, thresholds, T, &error);
    g_assert_no_error (error);
    return r;
}

/* |got - want| <= tol, printed on failure. */
static gboolean
expect_value (const char *what, double got, double want, double tol)
{
    if (fabs (got - want) <= tol)
        return TRUE;
    printf ("# %s: got %.17g, expected %.17g (difference %.3g)\n", what, got, want,
            fabs (got - want));
    g_test_fail ();
    return FALSE;
}

static double
ap_at (const TslMapResult *r, int t, int k)
{
    return r->ap[(size_t) t * r->n_classes + k];
}

/* Hand-computed values are evaluated here with the same float64
 * operations as the metric, so they must agree to the last bit. */
#define EXACT 0.0

/* ---- hand-computed cases ---- */

static const char *gt_one_class =
    "{\"v1\": {\"metadata\": {\"split\": \"valid\"}, \"sound_localisation\": ["
    "  {\"label\": \"door\", \"label_id\": 0, \"timestamps\": [0, 10000000]},"
    "  {\"label\": \"door\", \"label_id\": 0, \"timestamps\": [20000000, 30000000]}]}}";

/* TP, FP, TP: precision 1, 1/2, 2/3; recall 1/2, 1/2, 1;
 * envelope 1, 2/3, 2/3: AP = 1/2 * 1 + 1/2 * 2/3 at every threshold */
static void
test_single_class (void)
{
    g_autoptr (TslAnnotations) gt = gt_from_text (gt_one_class);
    g_autoptr (GArray) preds = tsl_predictions_new ();

    tsl_predictions_add (preds, "v1", 0, 0.0, 10.0, 0.9);
    tsl_predictions_add (preds, "v1", 0, 40.0, 50.0, 0.8);
    tsl_predictions_add (preds, "v1", 0, 20.0, 30.0, 0.7);
    g_autoptr (TslMapResult) r = evaluate (gt, preds, NULL, 0);
    const double want = 0.0 + (0.5 * 1.0 + 0.5 * (2.0 / 3.0));

    g_assert_cmpint (r->n_classes, ==, 1);
    g_assert_cmpint (r->n_gt[0], ==, 2);
    g_assert_cmpint (r->n_predictions[0], ==, 3);
    for (int t = 0; t < r->n_thresholds; t++)
        expect_value ("ap", ap_at (r, t, 0), want, EXACT);
    expect_value ("mAP[0]", r->map[0], want, EXACT);
    expect_value ("average", r->average_map, want, EXACT);
}

/* [9, 12] against GT [2, 12]: IoU 3/10 = 0.3 < 0.30000000000000004 (the
 * third default threshold), but >= a literal 0.3. [20, 22] against
 * [20, 24]: IoU 0.5 matches at 0.5. */
static void
test_iou_at_threshold (void)
{
    static const char *text =
        "{\"v1\": {\"metadata\": {\"split\": \"valid\"}, \"sound_localisation\": ["
        "  {\"label\": \"door\", \"label_id\": 0, \"timestamps\": [2000000, 12000000]},"
        "  {\"label\": \"bell\", \"label_id\": 1, \"timestamps\": [20000000, 24000000]}]}}";
    g_autoptr (TslAnnotations) gt = gt_from_text (text);
    g_autoptr (GArray) preds = tsl_predictions_new ();
    double thresholds[TSL_MAP_DEFAULT_N_THRESHOLDS];
    const double literal[] = { 0.3 };

    tsl_map_default_thresholds (thresholds);
    g_assert_cmpfloat (thresholds[2], ==, 0.30000000000000004);
    g_assert_cmpfloat (thresholds[2], !=, 0.3);
    tsl_predictions_add (preds, "v1", 0, 9.0, 12.0, 0.5);
    tsl_predictions_add (preds, "v1", 1, 20.0, 22.0, 0.5);
    g_autoptr (TslMapResult) r = evaluate (gt, preds, NULL, 0);
    for (int t = 0; t < 5; t++) {
        g_autofree char *what = g_strdup_printf ("class 0 (IoU 0.3) at %.17g", thresholds[t]);
        expect_value (what, ap_at (r, t, 0), t < 2 ? 1.0 : 0.0, EXACT);
        expect_value ("class 1 (IoU 0.5)", ap_at (r, t, 1), 1.0, EXACT);
    }
    g_autoptr (TslMapResult) r_literal = evaluate (gt, preds, literal, 1);
    expect_value ("IoU 0.3 at a literal 0.3", ap_at (r_literal, 0, 0), 1.0, EXACT);
}

/* Duplicate GT is kept: one exact prediction finds one of two equal GT
 * (recall 1/2, AP 1/2); two equal predictions take both (AP 1). Two equal
 * predictions of a single GT: the second is a false positive after the
 * first has reached recall 1, so AP stays 1. */
static void
test_duplicates (void)
{
    static const char *text =
        "{\"v1\": {\"metadata\": {\"split\": \"valid\"}, \"sound_localisation\": ["
        "  {\"label\": \"door\", \"label_id\": 0, \"timestamps\": [1000000, 5000000]},"
        "  {\"label\": \"door\", \"label_id\": 0, \"timestamps\": [1000000, 5000000]},"
        "  {\"label\": \"bell\", \"label_id\": 1, \"timestamps\": [7000000, 9000000]}]}}";
    g_autoptr (TslAnnotations) gt = gt_from_text (text);
    g_autoptr (GArray) one = tsl_predictions_new ();
    g_autoptr (GArray) two = tsl_predictions_new ();

    tsl_predictions_add (one, "v1", 0, 1.0, 5.0, 0.8);
    tsl_predictions_add (one, "v1", 1, 7.0, 9.0, 0.8);
    tsl_predictions_add (one, "v1", 1, 7.0, 9.0, 0.7);
    g_autoptr (TslMapResult) r1 = evaluate (gt, one, NULL, 0);
    g_assert_cmpint (r1->n_gt[0], ==, 2);
    expect_value ("one prediction, duplicate GT", ap_at (r1, 0, 0), 0.5, EXACT);
    expect_value ("duplicate prediction, one GT", ap_at (r1, 0, 1), 1.0, EXACT);

    tsl_predictions_add (two, "v1", 0, 1.0, 5.0, 0.8);
    tsl_predictions_add (two, "v1", 0, 1.0, 5.0, 0.8);
    g_autoptr (TslMapResult) r2 = evaluate (gt, two, NULL, 0);
    expect_value ("two predictions, duplicate GT", ap_at (r2, 0, 0), 1.0, EXACT);
}

/* A class with GT but no prediction scores 0 and still counts in the mean. */
static void
test_class_without_predictions (void)
{
    static const char *text =
        "{\"v1\": {\"metadata\": {\"split\": \"valid\"}, \"sound_localisation\": ["
        "  {\"label\": \"door\", \"label_id\": 0, \"timestamps\": [0, 4000000]},"
        "  {\"label\": \"bell\", \"label_id\": 1, \"timestamps\": [5000000, 9000000]}]}}";
    g_autoptr (TslAnnotations) gt = gt_from_text (text);
    g_autoptr (GArray) preds = tsl_predictions_new ();

    tsl_predictions_add (preds, "v1", 0, 0.0, 4.0, 0.9);
    g_autoptr (TslMapResult) r = evaluate (gt, preds, NULL, 0);
    g_assert_cmpint (r->n_classes, ==, 2);
    g_assert_cmpint (r->n_predictions[1], ==, 0);
    expect_value ("class 0", ap_at (r, 0, 0), 1.0, EXACT);
    expect_value ("class 1", ap_at (r, 0, 1), 0.0, EXACT);
    expect_value ("mAP", r->map[0], 0.5, EXACT);
    expect_value ("recall@1x", r->mean_recall[0], 0.5, EXACT);
}

/* Ranked 0.9 (video of the train split: its GT is not evaluated), 0.8
 * (video absent from the GT), 0.5 (TP): precision 0, 0, 1/3, recall 0, 0,
 * 1: AP 1/3. Label 7 (no GT, >= K) is never evaluated. */
static void
test_unknown_video_class_split (void)
{
    static const char *text =
        "{\"v1\": {\"metadata\": {\"split\": \"valid\"}, \"sound_localisation\": ["
        "  {\"label\": \"door\", \"label_id\": 0, \"timestamps\": [0, 10000000]}]},"
        " \"v2\": {\"metadata\": {\"split\": \"train\"}, \"sound_localisation\": ["
        "  {\"label\": \"door\", \"label_id\": 0, \"timestamps\": [0, 10000000]},"
        "  {\"label\": \"bell\", \"label_id\": 4, \"timestamps\": [0, 10000000]}]}}";
    g_autoptr (TslAnnotations) gt = gt_from_text (text);
    g_autoptr (GArray) preds = tsl_predictions_new ();

    tsl_predictions_add (preds, "v1", 0, 0.0, 10.0, 0.5);
    tsl_predictions_add (preds, "v2", 0, 0.0, 10.0, 0.9);
    tsl_predictions_add (preds, "v9", 0, 0.0, 10.0, 0.8);
    tsl_predictions_add (preds, "v1", 7, 0.0, 10.0, 0.95);
    g_autoptr (TslMapResult) r = evaluate (gt, preds, NULL, 0);
    g_assert_cmpint (r->n_classes, ==, 1); /* label 4 exists only in the train split */
    g_assert_cmpint (r->n_gt_videos, ==, 1);
    g_assert_cmpint (r->n_predictions[0], ==, 3);
    expect_value ("ap", ap_at (r, 0, 0), 0.0 + 1.0 * (1.0 / 3.0), EXACT);
}

/* GT ids 2 and 5 become class indices 0 and 1. A prediction of id 1 (no
 * GT has it) keeps 1 and is scored as class index 1, i.e. id 5, as the
 * reference's pandas replace does; id 9 is never evaluated. */
static void
test_label_remapping (void)
{
    static const char *text =
        "{\"v1\": {\"metadata\": {\"split\": \"valid\"}, \"sound_localisation\": ["
        "  {\"label\": \"door\", \"label_id\": 2, \"timestamps\": [0, 4000000]},"
        "  {\"label\": \"bell\", \"label_id\": 5, \"timestamps\": [5000000, 9000000]}]}}";
    g_autoptr (TslAnnotations) gt = gt_from_text (text);
    g_autoptr (GArray) preds = tsl_predictions_new ();

    tsl_predictions_add (preds, "v1", 2, 0.0, 4.0, 0.9);
    tsl_predictions_add (preds, "v1", 1, 5.0, 9.0, 0.9);
    tsl_predictions_add (preds, "v1", 9, 5.0, 9.0, 0.9);
    g_autoptr (TslMapResult) r = evaluate (gt, preds, NULL, 0);
    g_assert_cmpint (r->n_classes, ==, 2);
    g_assert_cmpint (r->class_label_ids[0], ==, 2);
    g_assert_cmpint (r->class_label_ids[1], ==, 5);
    g_assert_cmpint (r->n_predictions[1], ==, 1);
    expect_value ("id 2", ap_at (r, 0, 0), 1.0, EXACT);
    expect_value ("id 1 scored as id 5", ap_at (r, 0, 1), 1.0, EXACT);
}

/* Two predictions with the same score, a TP and a FP (<= 16 predictions:
 * the later in input order ranks first). TP first in the input: FP ranked
 * first, AP = 1/2; TP second: TP ranked first, AP = 1. */
static void
test_ties_both_directions (void)
{
    g_autoptr (TslAnnotations) gt = gt_from_text (gt_one_class);

    for (int tp_first = 0; tp_first < 2; tp_first++) {
        g_autoptr (GArray) preds = tsl_predictions_new ();
        for (int i = 0; i < 2; i++) {
            if ((i == 0) == tp_first)
                tsl_predictions_add (preds, "v1", 0, 0.0, 10.0, 0.99);
            else
                tsl_predictions_add (preds, "v1", 0, 40.0, 50.0, 0.99);
        }
        tsl_predictions_add (preds, "v1", 0, 20.0, 30.0, 0.5);
        g_autoptr (TslMapResult) r = evaluate (gt, preds, NULL, 0);
        /* TP first in input -> FP, TP, TP: p 0, 1/2, 2/3, r 0, 1/2, 1 */
        const double want = tp_first ? 0.0 + (0.5 * (2.0 / 3.0) + 0.5 * (2.0 / 3.0))
                                     : 0.0 + (0.5 * 1.0 + 0.5 * (2.0 / 3.0));
        expect_value (tp_first ? "TP first in input" : "FP first in input", ap_at (r, 0, 0), want,
                      EXACT);
    }
}

/* Top-kx recall: a video with 1 GT and 3 predictions ranked FP, TP, FP:
 * top-1x (first 1) misses, top-5x (first 5) finds it. */
static void
test_topk_recall (void)
{
    static const char *text =
        "{\"v1\": {\"metadata\": {\"split\": \"valid\"}, \"sound_localisation\": ["
        "  {\"label\": \"door\", \"label_id\": 0, \"timestamps\": [0, 10000000]}]}}";
    g_autoptr (TslAnnotations) gt = gt_from_text (text);
    g_autoptr (GArray) preds = tsl_predictions_new ();

    tsl_predictions_add (preds, "v1", 0, 50.0, 60.0, 0.9);
    tsl_predictions_add (preds, "v1", 0, 0.0, 10.0, 0.8);
    tsl_predictions_add (preds, "v1", 0, 70.0, 80.0, 0.7);
    g_autoptr (TslMapResult) r = evaluate (gt, preds, NULL, 0);
    g_assert_cmpint (r->top_k[0], ==, 1);
    g_assert_cmpint (r->top_k[1], ==, 5);
    expect_value ("recall@1x", r->recall[0], 0.0, EXACT);
    expect_value ("recall@5x", r->recall[1], 1.0, EXACT);
}

static void
test_errors (void)
{
    static const char *text =
        "{\"v1\": {\"metadata\": {\"split\": \"train\"}, \"sound_localisation\": ["
        "  {\"label\": \"door\", \"label_id\": 0, \"timestamps\": [0, 10000000]}]},"
        " \"v2\": {\"metadata\": {\"split\": \"valid\"}}}";
    g_autoptr (TslAnnotations) gt = gt_from_text (text);
    g_autoptr (GArray) preds = tsl_predictions_new ();
    g_autoptr (GError) error = NULL;
    const double threshold = 0.5;

    g_assert_null (tsl_map_evaluate (gt, "valid", NULL, 0, &threshold, 1, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_CONFIG);
    g_assert_nonnull (strstr (error->message, "no ground-truth segment in split 'valid'"));
    g_clear_error (&error);
    g_assert_null (tsl_map_evaluate (gt, "TRAIN", NULL, 0, &threshold, 0, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_CONFIG);
    g_clear_error (&error);
    /* split names compare case-insensitively, as the reference lower-cases them */
    g_autoptr (TslMapResult) r = tsl_map_evaluate (gt, "TRAIN", NULL, 0, &threshold, 1, &error);
    g_assert_no_error (error);
    g_assert_cmpint (r->n_classes, ==, 1);
    expect_value ("no predictions", r->average_map, 0.0, EXACT);
}

/* ---- NumPy-made fixtures ---- */

static void
test_linspace (void)
{
    g_autoptr (TslSafetensors) st = numpy_fixtures_open ();
    size_t n_args, n_off, n_res;
    g_autofree double *args = numpy_fixtures_f64 (st, "linspace.args", &n_args);
    g_autofree gint64 *offsets = numpy_fixtures_i64 (st, "linspace.offsets", &n_off);
    g_autofree double *want = numpy_fixtures_f64 (st, "linspace.result", &n_res);
    g_autofree double *got = g_new (double, n_res);

    for (size_t c = 0; c + 1 < n_off; c++) {
        const int num = (int) args[3 * c + 2];
        g_assert_cmpint (num, ==, (int) (offsets[c + 1] - offsets[c]));
        tsl_map_linspace (got + offsets[c], args[3 * c], args[3 * c + 1], num);
        for (int i = 0; i < num; i++) {
            g_autofree char *what = g_strdup_printf ("linspace(%.17g, %.17g, %d)[%d]",
                                                     args[3 * c], args[3 * c + 1], num, i);
            /* bit for bit (a negative tolerance makes expect_value report and fail) */
            if (memcmp (&got[offsets[c] + i], &want[offsets[c] + i], sizeof (double)) != 0)
                expect_value (what, got[offsets[c] + i], want[offsets[c] + i], -1.0);
        }
    }
}

/* Reference AP of one ranked list: each TP adds 1 / n_gt of recall at the
 * best precision at or after its rank (the interpolated envelope). */
static double
reference_ap (const gboolean *tp_at_rank, int n, int n_gt)
{
    double ap = 0.0, best = 0.0;
    int tp = 0;
    g_autofree double *precision = g_new (double, n);

    for (int r = 0; r < n; r++) {
        tp += tp_at_rank[r];
        precision[r] = (double) tp / (r + 1);
    }
    for (int r = n - 1; r >= 0; r--) {
        best = MAX (best, precision[r]);
        if (tp_at_rank[r])
            ap += best / n_gt;
    }
    return ap;
}

/* 24 predictions of one class, scores 0.9 x7, 0.6 x9, 0.3 x8 shuffled
 * (> 16, so NumPy's partitioning decides the order of ties). Prediction i
 * is a TP (it matches GT segment i exactly) when i % 3 == 0, else it lies
 * far from every GT. 10 GT segments. The AP must be the one of NumPy's
 * ranking, which differs from the one of a stable sort reversed. */
static void
test_tie_class_numpy_order (void)
{
    g_autoptr (TslSafetensors) st = numpy_fixtures_open ();
    size_t n_scores, n_rank;
    g_autofree double *scores = numpy_fixtures_f64 (st, "tie_class.scores", &n_scores);
    g_autofree gint64 *ranking = numpy_fixtures_i64 (st, "tie_class.ranking", &n_rank);
    g_autoptr (GString) text =
        g_string_new ("{\"v1\": {\"metadata\": {\"split\": \"valid\"}, \"sound_localisation\": [");
    g_autoptr (GArray) preds = tsl_predictions_new ();
    const int n = (int) n_scores, n_gt = 10;
    gboolean tp_numpy[24], tp_stable[24];

    g_assert_cmpint (n, ==, 24);
    g_assert_cmpuint (n_rank, ==, n_scores);
    for (int g = 0; g < n_gt; g++)
        g_string_append_printf (text, "%s{\"label\": \"door\", \"label_id\": 0, "
                                "\"timestamps\": [%d, %d]}", g ? ", " : "",
                                g * 10000000, g * 10000000 + 5000000);
    g_string_append (text, "]}}");
    g_autoptr (TslAnnotations) gt = gt_from_text (text->str);
    for (int i = 0; i < n; i++) {
        const double start = i % 3 == 0 ? (i / 3) * 10.0 : 1000.0 + 10.0 * i;
        tsl_predictions_add (preds, "v1", 0, start, start + 5.0, scores[i]);
    }

    /* the stable order reversed: descending score, later input first on ties */
    int stable_rank[24];
    for (int r = 0; r < n; r++)
        stable_rank[r] = r;
    for (int a = 0; a < n; a++) {
        for (int b = a + 1; b < n; b++) {
            int x = stable_rank[a], y = stable_rank[b];
            if (scores[y] > scores[x] || (scores[y] == scores[x] && y > x)) {
                stable_rank[a] = y;
                stable_rank[b] = x;
            }
        }
    }
    for (int r = 0; r < n; r++) {
        tp_numpy[r] = ranking[r] % 3 == 0;
        tp_stable[r] = stable_rank[r] % 3 == 0;
    }
    const double want = reference_ap (tp_numpy, n, n_gt);
    const double stable = reference_ap (tp_stable, n, n_gt);
    g_assert_cmpfloat (fabs (want - stable), >, 1e-3); /* the case tells the orders apart */

    g_autoptr (TslMapResult) r = evaluate (gt, preds, NULL, 0);
    for (int t = 0; t < r->n_thresholds; t++)
        expect_value ("AP with NumPy's tie order", ap_at (r, t, 0), want,
                      1e-12 /* reference_ap adds in another order */);
}

/* ---- reference cases MAP1 / MAP2 ---- */

static char *
golden_path (const char *file)
{
    const char *env = g_getenv ("TSL_GOLDEN_DIR");
    const char *data = g_getenv ("TSL_TEST_DATA");
    g_autofree char *dir = NULL;

    if (env != NULL)
        dir = g_build_filename (env, "actionformer", NULL);
    else if (data != NULL) /* <source>/tests/data -> <source>/../shared/golden */
        dir = g_build_filename (data, "..", "..", "..", "shared", "golden", "actionformer",
                                NULL);
    return dir ? g_build_filename (dir, file, NULL) : NULL;
}

static double
json_number (JsonNode *node)
{
    return json_node_get_value_type (node) == G_TYPE_INT64 ? (double) json_node_get_int (node)
                                                           : json_node_get_double (node);
}

/* Compares r with the numbers of an *_expected.json: mAP [T], average_mAP,
 * ap_per_class [T][K], mRecall_top1x_top5x [T][2]. Exact: the reference
 * numbers are float64 results of the same operations in the same order. */
static void
check_expected (const TslMapResult *r, JsonObject *expected, const char *name)
{
    JsonArray *map = json_object_get_array_member (expected, "mAP");
    JsonArray *ap = json_object_get_array_member (expected, "ap_per_class");
    JsonArray *recall = json_object_get_array_member (expected, "mRecall_top1x_top5x");
    JsonArray *thresholds = json_object_get_array_member (expected, "tiou_thresholds");
    const double tol = 1e-12; /* float64, same operations in the same order: exact in practice */
    char what[128];

    g_assert_cmpint ((int) json_array_get_length (map), ==, r->n_thresholds);
    for (int t = 0; t < r->n_thresholds; t++) {
        const double thr = r->thresholds[t];
        JsonArray *ap_t = json_array_get_array_element (ap, t);
        JsonArray *recall_t = json_array_get_array_element (recall, t);

        g_snprintf (what, sizeof what, "%s: threshold %d", name, t);
        expect_value (what, thr, json_number (json_array_get_element (thresholds, t)), 0.0);
        g_snprintf (what, sizeof what, "%s: mAP @%.1f", name, thr);
        expect_value (what, r->map[t], json_number (json_array_get_element (map, t)), tol);
        g_assert_cmpint ((int) json_array_get_length (ap_t), ==, r->n_classes);
        for (int k = 0; k < r->n_classes; k++) {
            g_snprintf (what, sizeof what, "%s: AP @%.1f class %d", name, thr, k);
            expect_value (what, ap_at (r, t, k), json_number (json_array_get_element (ap_t, k)),
                          tol);
        }
        for (int kk = 0; kk < TSL_MAP_N_TOP_K; kk++) {
            g_snprintf (what, sizeof what, "%s: recall@%dx @%.1f", name, r->top_k[kk], thr);
            expect_value (what, r->mean_recall[(size_t) t * TSL_MAP_N_TOP_K + kk],
                          json_number (json_array_get_element (recall_t, kk)), tol);
        }
    }
    g_snprintf (what, sizeof what, "%s: average mAP", name);
    expect_value (what, r->average_map, json_object_get_double_member (expected, "average_mAP"),
                  tol);
}

static JsonParser *
load_expected (const char *file)
{
    g_autofree char *path = golden_path (file);
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;

    json_parser_load_from_file (parser, path, &error);
    g_assert_no_error (error);
    return g_steal_pointer (&parser);
}

static void
test_golden (gconstpointer data)
{
    const char *case_name = data; /* "map1" or "map2" */
    g_autofree char *gt_path = golden_path ("map1_gt.json");
    g_autofree char *pred_file = g_strdup_printf ("%s_pred.json", case_name);
    g_autofree char *pred_path = golden_path (pred_file);
    g_autofree char *expected_file = g_strdup_printf ("%s_expected.json", case_name);
    g_autoptr (GError) error = NULL;
    double thresholds[TSL_MAP_DEFAULT_N_THRESHOLDS];

    if (gt_path == NULL || !g_file_test (gt_path, G_FILE_TEST_EXISTS)) {
        g_test_skip ("golden mAP data absent (set TSL_GOLDEN_DIR)");
        return;
    }
    g_autoptr (TslAnnotations) gt = tsl_annotations_load (gt_path, &error);
    g_assert_no_error (error);
    g_autoptr (GArray) preds = tsl_submission_load (pred_path, &error);
    g_assert_no_error (error);
    g_autoptr (JsonParser) parser = load_expected (expected_file);
    JsonObject *expected = json_node_get_object (json_parser_get_root (parser));

    tsl_map_default_thresholds (thresholds);
    g_autoptr (TslMapResult) r =
        tsl_map_evaluate (gt, "valid", (const TslPrediction *) preds->data, (int) preds->len,
                          thresholds, TSL_MAP_DEFAULT_N_THRESHOLDS, &error);
    g_assert_no_error (error);
    g_assert_cmpint ((int) preds->len, ==,
                     (int) json_object_get_int_member (expected, "n_predictions"));
    check_expected (r, expected, case_name);
    printf ("# %s: average mAP %.17g\n", case_name, r->average_map);

    if (!json_object_has_member (expected, "tie_order_check"))
        return;
    /* the same predictions in reverse order: only equal scores change places */
    JsonObject *check = json_object_get_object_member (expected, "tie_order_check");
    JsonArray *map_reversed = json_object_get_array_member (check, "mAP_reversed_input");
    const int n = (int) preds->len;
    g_autofree TslPrediction *reversed = g_new (TslPrediction, n);
    for (int i = 0; i < n; i++)
        reversed[i] = g_array_index (preds, TslPrediction, n - 1 - i); /* borrowed ids */
    g_autoptr (TslMapResult) rr = tsl_map_evaluate (gt, "valid", reversed, n, thresholds,
                                                    TSL_MAP_DEFAULT_N_THRESHOLDS, &error);
    g_assert_no_error (error);
    for (int t = 0; t < rr->n_thresholds; t++)
        expect_value ("reversed input: mAP", rr->map[t],
                      json_number (json_array_get_element (map_reversed, t)), 1e-12);
    expect_value ("reversed input: average mAP", rr->average_map,
                  json_object_get_double_member (check, "average_mAP_reversed_input"), 1e-12);
    printf ("# %s reversed: average mAP %.17g\n", case_name, rr->average_map);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/eval/map/single-class", test_single_class);
    g_test_add_func ("/eval/map/iou-at-threshold", test_iou_at_threshold);
    g_test_add_func ("/eval/map/duplicates", test_duplicates);
    g_test_add_func ("/eval/map/class-without-predictions", test_class_without_predictions);
    g_test_add_func ("/eval/map/unknown-video-class-split", test_unknown_video_class_split);
    g_test_add_func ("/eval/map/label-remapping", test_label_remapping);
    g_test_add_func ("/eval/map/ties-both-directions", test_ties_both_directions);
    g_test_add_func ("/eval/map/topk-recall", test_topk_recall);
    g_test_add_func ("/eval/map/errors", test_errors);
    g_test_add_func ("/eval/map/linspace", test_linspace);
    g_test_add_func ("/eval/map/tie-class-numpy-order", test_tie_class_numpy_order);
    g_test_add_data_func ("/eval/map/golden/map1", "map1", test_golden);
    g_test_add_data_func ("/eval/map/golden/map2", "map2", test_golden);
    return g_test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests eval/submission.c:
 * - reading the submission form (label as a string or an integer, videos
 *   and entries in file order, video without a list) and the flat list
 *   form, field by field;
 * - writing: the text layout, numbers that read back bit for bit (0.1,
 *   0.30000000000000004, 1e-05, 2.0, negative zero, huge and tiny values),
 *   video ids that need escapes, grouping by video in first-appearance
 *   order, refusal of non-finite values (nothing written);
 * - one malformed file per rule: the GError code and that the message
 *   names the file, the video or position and the field.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "eval/submission.h"
#include "testutil.h"

static char *tmp_dir;

static GArray *
parse (const char *text, GError **error)
{
    return tsl_submission_parse (text, strlen (text), "p.json", error);
}

static void
expect_prediction (const GArray *preds, guint i, const char *video_id, int label_id,
                   double start, double end, double score)
{
    g_assert_cmpuint (i, <, preds->len);
    const TslPrediction *p = &g_array_index (preds, TslPrediction, i);
    g_assert_cmpstr (p->video_id, ==, video_id);
    g_assert_cmpint (p->label_id, ==, label_id);
    g_assert_cmpfloat (p->start_s, ==, start);
    g_assert_cmpfloat (p->end_s, ==, end);
    g_assert_cmpfloat (p->score, ==, score);
}

static void
test_read_submission (void)
{
    static const char *text =
        "{\"vb\": {\"sound_localisation\": ["
        "   {\"label\": \"3\", \"score\": 0.5, \"timestamps\": [1.25, 2], \"extra\": 1},"
        "   {\"label\": 4, \"score\": 1, \"timestamps\": [0, 0.1]}]},"
        " \"va\": {\"sound_localisation\": [{\"label\": \"-2\", \"score\": 0.25,"
        "                                   \"timestamps\": [3, 4]}]},"
        " \"vc\": {\"action_localisation\": []},"
        " \"vd\": {\"sound_localisation\": null}}";
    g_autoptr (GError) error = NULL;
    g_autoptr (GArray) preds = parse (text, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (preds->len, ==, 3);
    expect_prediction (preds, 0, "vb", 3, 1.25, 2.0, 0.5);
    expect_prediction (preds, 1, "vb", 4, 0.0, 0.1, 1.0);
    expect_prediction (preds, 2, "va", -2, 3.0, 4.0, 0.25);
}

static void
test_read_list (void)
{
    static const char *text =
        "[{\"video_id\": \"v2\", \"label_id\": 1, \"start\": 16.452, \"end\": 20.711,"
        "  \"score\": 0.1963, \"label\": \"ignored\"},"
        " {\"video_id\": \"v1\", \"label_id\": 0, \"start\": 0, \"end\": 3.5, \"score\": 0.99}]";
    g_autoptr (GError) error = NULL;
    g_autoptr (GArray) preds = parse (text, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (preds->len, ==, 2);
    expect_prediction (preds, 0, "v2", 1, 16.452, 20.711, 0.1963);
    expect_prediction (preds, 1, "v1", 0, 0.0, 3.5, 0.99);

    g_autoptr (GArray) empty = parse ("[]", &error);
    g_assert_no_error (error);
    g_assert_cmpuint (empty->len, ==, 0);
}

static void
test_write_round_trip (void)
{
    g_autoptr (GArray) preds = tsl_predictions_new ();
    g_autoptr (GError) error = NULL;
    g_autofree char *path = g_build_filename (tmp_dir, "out.json", NULL);
    g_autofree char *text = NULL;

    tsl_predictions_add (preds, "v\"1\\", 3, 0.1, 0.30000000000000004, 1e-05);
    tsl_predictions_add (preds, "v2", 0, 2.0, 1e300, 5e-324);
    tsl_predictions_add (preds, "v\"1\\", 7, -0.0, 123456789.125, 0.9999999999999999);
    g_assert_true (tsl_submission_write (path, (const TslPrediction *) preds->data,
                                         (int) preds->len, &error));
    g_assert_no_error (error);
    g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
    g_assert_cmpstr (text, ==,
                     "{\n"
                     " \"v\\\"1\\\\\": {\"sound_localisation\": [\n"
                     "  {\"label\": \"3\", \"score\": 1e-05, \"timestamps\": [0.1, "
                     "0.30000000000000004]},\n"
                     "  {\"label\": \"7\", \"score\": 0.9999999999999999, \"timestamps\": "
                     "[-0.0, 123456789.125]}\n"
                     " ]},\n"
                     " \"v2\": {\"sound_localisation\": [\n"
                     "  {\"label\": \"0\", \"score\": 5e-324, \"timestamps\": [2.0, 1e+300]}\n"
                     " ]}\n"
                     "}\n");

    g_autoptr (GArray) back = tsl_submission_load (path, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (back->len, ==, 3);
    /* grouped by video, first appearance order */
    const int from[3] = { 0, 2, 1 };
    for (guint i = 0; i < 3; i++) {
        const TslPrediction *p = &g_array_index (preds, TslPrediction, from[i]);
        const TslPrediction *q = &g_array_index (back, TslPrediction, i);
        g_assert_cmpstr (q->video_id, ==, p->video_id);
        g_assert_cmpint (q->label_id, ==, p->label_id);
        g_assert_cmpmem (&q->start_s, sizeof (double), &p->start_s, sizeof (double));
        g_assert_cmpmem (&q->end_s, sizeof (double), &p->end_s, sizeof (double));
        g_assert_cmpmem (&q->score, sizeof (double), &p->score, sizeof (double));
    }

    /* nothing at all */
    g_assert_true (tsl_submission_write (path, NULL, 0, &error));
    g_clear_pointer (&text, g_free);
    g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
    g_assert_cmpstr (text, ==, "{}\n");
}

static void
test_write_not_finite (void)
{
    g_autoptr (GArray) preds = tsl_predictions_new ();
    g_autoptr (GError) error = NULL;
    g_autofree char *path = g_build_filename (tmp_dir, "nan.json", NULL);

    tsl_predictions_add (preds, "v1", 0, 0.0, 1.0, 0.5);
    tsl_predictions_add (preds, "v2", 0, 0.0, INFINITY, 0.5);
    g_assert_false (tsl_submission_write (path, (const TslPrediction *) preds->data,
                                          (int) preds->len, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_CONFIG);
    g_assert_nonnull (strstr (error->message, "prediction 1 (video 'v2')"));
    g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

typedef struct {
    const char *name;
    const char *text;
    const char *message; /* a part of the expected message */
} Malformed;

/* one submission entry of video v1 */
#define ENTRY(fields) "{\"v1\": {\"sound_localisation\": [{" fields "}]}}"

static const Malformed malformed[] = {
    { "not-json", "{\"v1\": ", "p.json: " },
    { "duplicate-key", "{\"v1\": {}, \"v1\": {}}", "p.json: " },
    { "top-level", "3", "p.json: the top level is an integer, expected an object" },
    { "video-not-object", "{\"v1\": []}",
      "p.json: video 'v1': expected an object, found an array" },
    { "list-not-array", "{\"v1\": {\"sound_localisation\": {}}}",
      "p.json: video 'v1': sound_localisation: expected an array, found an object" },
    { "entry-not-object", "{\"v1\": {\"sound_localisation\": [1]}}",
      "p.json: video 'v1': sound_localisation[0]: expected an object, found an integer" },
    { "label-missing", ENTRY ("\"score\": 1, \"timestamps\": [0, 1]"),
      "p.json: video 'v1': sound_localisation[0].label: missing" },
    { "label-not-integer", ENTRY ("\"label\": \"3a\", \"score\": 1, \"timestamps\": [0, 1]"),
      "p.json: video 'v1': sound_localisation[0].label: '3a' is not an integer label id" },
    { "label-float", ENTRY ("\"label\": 3.5, \"score\": 1, \"timestamps\": [0, 1]"),
      "sound_localisation[0].label: expected an integer, found a number" },
    { "score-string", ENTRY ("\"label\": \"3\", \"score\": \"1\", \"timestamps\": [0, 1]"),
      "sound_localisation[0].score: expected a number, found a string" },
    { "timestamps-three", ENTRY ("\"label\": \"3\", \"score\": 1, \"timestamps\": [0, 1, 2]"),
      "sound_localisation[0].timestamps: expected an array of two numbers" },
    { "list-video-missing", "[{\"label_id\": 1, \"start\": 0, \"end\": 1, \"score\": 1}]",
      "p.json: [0].video_id: missing" },
    { "list-label-float",
      "[{\"video_id\": \"v\", \"label_id\": 1.0, \"start\": 0, \"end\": 1, \"score\": 1}]",
      "p.json: [0].label_id: expected an integer, found a number" },
    { "list-label-huge",
      "[{\"video_id\": \"v\", \"label_id\": 4294967296, \"start\": 0, \"end\": 1, "
      "\"score\": 1}]",
      "p.json: [0].label_id: 4294967296 is outside" },
    { "list-end-null",
      "[{\"video_id\": \"v\", \"label_id\": 1, \"start\": 0, \"end\": null, \"score\": 1}]",
      "p.json: [0].end: is null" },
    { "list-entry-string", "[\"v\"]", "p.json: [0]: expected an object, found a string" },
};

static void
test_malformed (gconstpointer data)
{
    const Malformed *m = data;
    g_autoptr (GError) error = NULL;
    g_autoptr (GArray) preds = parse (m->text, &error);

    g_assert_null (preds);
    g_assert_error (error, TSL_ERROR, TSL_ERROR_FORMAT);
    if (strstr (error->message, m->message) == NULL)
        g_error ("message '%s' lacks '%s'", error->message, m->message);
}

static void
test_missing_file (void)
{
    g_autoptr (GError) error = NULL;
    g_autofree char *path = g_build_filename (tmp_dir, "absent.json", NULL);

    g_assert_null (tsl_submission_load (path, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_IO);
    g_assert_true (g_str_has_prefix (error->message, path));
}

int
main (int argc, char **argv)
{
    int status;

    g_test_init (&argc, &argv, NULL);
    tmp_dir = g_dir_make_tmp ("tsl-submission-XXXXXX", NULL);
    g_assert_nonnull (tmp_dir);
    g_test_add_func ("/eval/submission/read-submission", test_read_submission);
    g_test_add_func ("/eval/submission/read-list", test_read_list);
    g_test_add_func ("/eval/submission/write-round-trip", test_write_round_trip);
    g_test_add_func ("/eval/submission/write-not-finite", test_write_not_finite);
    g_test_add_func ("/eval/submission/missing-file", test_missing_file);
    for (guint i = 0; i < G_N_ELEMENTS (malformed); i++) {
        g_autofree char *path = g_strdup_printf ("/eval/submission/malformed/%s",
                                                 malformed[i].name);
        g_test_add_data_func (path, &malformed[i], test_malformed);
    }
    status = g_test_run ();
    g_autofree char *out = g_build_filename (tmp_dir, "out.json", NULL);
    g_remove (out);
    g_rmdir (tmp_dir);
    g_free (tmp_dir);
    return status;
}

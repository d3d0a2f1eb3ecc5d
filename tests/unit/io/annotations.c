/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests io/annotations.c:
 * - a Perception Test file: videos and segments in file order, split,
 *   frame rate, frame count, duration, microseconds to seconds (by
 *   division: 16287000 -> 16.287 exactly as Python's 16287000 / 1e6),
 *   another task list, a video without its list or with null;
 * - an ActivityNet-style file: subset, duration, optional fps, segments
 *   in seconds;
 * - format detection by content, from files, and a missing file;
 * - label names by id, split matching (case-insensitive), lookup by id;
 * - one malformed file per rule: the error code and that the message
 *   names the file, the video and the field.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "io/annotations.h"
#include "testutil.h"

static char *tmp_dir;

static const char *perception_test_text =
    "{\"vid_b\": {\"metadata\": {\"split\": \"valid\", \"video_id\": \"vid_b\","
    "             \"num_frames\": 930, \"frame_rate\": 30.0},"
    "             \"sound_localisation\": ["
    "    {\"id\": 0, \"label\": \"animal\", \"label_id\": 5,"
    "     \"timestamps\": [16287000, 16794000]},"
    "    {\"id\": 1, \"label\": \"human speech\", \"label_id\": 0,"
    "     \"timestamps\": [25747000.0, 27935000]}],"
    "             \"action_localisation\": ["
    "    {\"label\": \"run\", \"label_id\": 2, \"timestamps\": [1000000, 2500000]}]},"
    " \"vid_a\": {\"metadata\": {\"split\": \"Train\", \"num_frames\": 10,"
    "             \"frame_rate\": 25}},"
    " \"vid_c\": {\"metadata\": {\"split\": \"valid\"}, \"sound_localisation\": null}}";

static const char *activitynet_text =
    "{\"version\": \"1.3\", \"database\": {"
    "  \"v_2\": {\"subset\": \"validation\", \"duration\": 120.5, \"fps\": 29.97,"
    "          \"annotations\": [{\"label\": \"door\", \"label_id\": 3, \"segment\": [2.0, 12.25],"
    "                             \"segment(frames)\": [60, 367]},"
    "                            {\"label\": \"bell\", \"label_id\": 1, \"segment\": [0, 1]}]},"
    "  \"v_1\": {\"subset\": \"training\", \"duration\": 10,"
    "          \"annotations\": []},"
    "  \"v_3\": {\"subset\": \"validation\"}}}";

static TslAnnotations *
parse (const char *text, TslAnnotationsFormat format, const char *task, GError **error)
{
    return tsl_annotations_parse (text, strlen (text), "gt.json", format, task, error);
}

static const TslAnnotationSegment *
segment (const TslAnnotationVideo *video, guint i)
{
    g_assert_cmpuint (i, <, video->segments->len);
    return &g_array_index (video->segments, TslAnnotationSegment, i);
}

static void
test_perception_test (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (TslAnnotations) ann =
        parse (perception_test_text, TSL_ANNOTATIONS_PERCEPTION_TEST, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpint (ann->format, ==, TSL_ANNOTATIONS_PERCEPTION_TEST);
    g_assert_cmpuint (ann->videos->len, ==, 3);
    const TslAnnotationVideo *b = g_ptr_array_index (ann->videos, 0);
    const TslAnnotationVideo *a = g_ptr_array_index (ann->videos, 1);
    const TslAnnotationVideo *c = g_ptr_array_index (ann->videos, 2);
    g_assert_cmpstr (b->video_id, ==, "vid_b");
    g_assert_cmpstr (a->video_id, ==, "vid_a");
    g_assert_cmpstr (c->video_id, ==, "vid_c");
    g_assert_true (tsl_annotations_find (ann, "vid_a") == a);
    g_assert_null (tsl_annotations_find (ann, "vid_x"));

    g_assert_cmpstr (b->split, ==, "valid");
    g_assert_cmpfloat (b->fps, ==, 30.0);
    g_assert_cmpint (b->num_frames, ==, 930);
    g_assert_cmpfloat (b->duration_s, ==, 31.0);
    g_assert_cmpuint (b->segments->len, ==, 2);
    g_assert_cmpfloat (segment (b, 0)->start_s, ==, 16287000 / 1e6);
    g_assert_cmpfloat (segment (b, 0)->start_s, ==, 16.287);
    g_assert_cmpfloat (segment (b, 0)->end_s, ==, 16.794);
    g_assert_cmpint (segment (b, 0)->label_id, ==, 5);
    g_assert_cmpstr (segment (b, 0)->label, ==, "animal");
    g_assert_cmpfloat (segment (b, 1)->start_s, ==, 25.747);
    g_assert_cmpstr (segment (b, 1)->label, ==, "human speech");

    g_assert_cmpfloat (a->duration_s, ==, 0.4);
    g_assert_cmpuint (a->segments->len, ==, 0); /* no list: no segments, no error */
    g_assert_cmpuint (c->segments->len, ==, 0);
    g_assert_cmpint (c->num_frames, ==, -1);
    g_assert_cmpfloat (c->fps, ==, 0.0);
    g_assert_cmpfloat (c->duration_s, ==, 0.0);

    g_assert_true (tsl_annotation_video_in_split (a, "train"));
    g_assert_false (tsl_annotation_video_in_split (a, "valid"));
    g_assert_true (tsl_annotation_video_in_split (a, NULL));
    g_assert_cmpstr (tsl_annotations_label_name (ann, 0), ==, "human speech");
    g_assert_null (tsl_annotations_label_name (ann, 2));

    /* another task list */
    g_autoptr (TslAnnotations) actions =
        parse (perception_test_text, TSL_ANNOTATIONS_PERCEPTION_TEST, "action_localisation",
               &error);
    g_assert_no_error (error);
    const TslAnnotationVideo *ab = g_ptr_array_index (actions->videos, 0);
    g_assert_cmpuint (ab->segments->len, ==, 1);
    g_assert_cmpfloat (segment (ab, 0)->end_s, ==, 2.5);
    g_assert_cmpstr (tsl_annotations_label_name (actions, 2), ==, "run");
}

static void
test_activitynet (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (TslAnnotations) ann =
        parse (activitynet_text, TSL_ANNOTATIONS_ACTIVITYNET, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (ann->videos->len, ==, 3);
    const TslAnnotationVideo *v2 = g_ptr_array_index (ann->videos, 0);
    const TslAnnotationVideo *v1 = g_ptr_array_index (ann->videos, 1);
    const TslAnnotationVideo *v3 = g_ptr_array_index (ann->videos, 2);
    g_assert_cmpstr (v2->video_id, ==, "v_2");
    g_assert_cmpstr (v2->split, ==, "validation");
    g_assert_cmpfloat (v2->duration_s, ==, 120.5);
    g_assert_cmpfloat (v2->fps, ==, 29.97);
    g_assert_cmpint (v2->num_frames, ==, -1);
    g_assert_cmpuint (v2->segments->len, ==, 2);
    g_assert_cmpfloat (segment (v2, 0)->start_s, ==, 2.0);
    g_assert_cmpfloat (segment (v2, 0)->end_s, ==, 12.25);
    g_assert_cmpint (segment (v2, 0)->label_id, ==, 3);
    g_assert_cmpstr (segment (v2, 1)->label, ==, "bell");
    g_assert_cmpstr (v1->split, ==, "training");
    g_assert_cmpfloat (v1->duration_s, ==, 10.0);
    g_assert_cmpfloat (v1->fps, ==, 0.0);
    g_assert_cmpuint (v1->segments->len, ==, 0);
    g_assert_cmpuint (v3->segments->len, ==, 0);
}

static char *
write_tmp (const char *name, const char *text)
{
    char *path = g_build_filename (tmp_dir, name, NULL);

    g_assert_true (g_file_set_contents (path, text, -1, NULL));
    return path;
}

static void
test_files_and_detection (void)
{
    g_autoptr (GError) error = NULL;
    g_autofree char *pt = write_tmp ("pt.json", perception_test_text);
    g_autofree char *an = write_tmp ("an.json", activitynet_text);
    g_autofree char *absent = g_build_filename (tmp_dir, "absent.json", NULL);

    g_autoptr (TslAnnotations) a = tsl_annotations_load (pt, &error);
    g_assert_no_error (error);
    g_assert_cmpint (a->format, ==, TSL_ANNOTATIONS_PERCEPTION_TEST);
    g_assert_cmpstr (a->path, ==, pt);
    g_autoptr (TslAnnotations) b = tsl_annotations_load (an, &error);
    g_assert_no_error (error);
    g_assert_cmpint (b->format, ==, TSL_ANNOTATIONS_ACTIVITYNET);
    g_assert_cmpuint (b->videos->len, ==, 3);
    g_autoptr (TslAnnotations) c = tsl_annotations_load_activitynet (an, &error);
    g_assert_no_error (error);
    g_autoptr (TslAnnotations) d = tsl_annotations_load_perception_test (pt, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (d->videos->len, ==, 3);

    /* a Perception Test reading of an ActivityNet file names the problem */
    g_assert_null (tsl_annotations_load_perception_test (an, NULL, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "video 'version': expected an object"));
    g_clear_error (&error);

    g_assert_null (tsl_annotations_load (absent, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_IO);
    g_assert_true (g_str_has_prefix (error->message, absent));
    g_remove (pt);
    g_remove (an);
}

typedef struct {
    const char *name;
    TslAnnotationsFormat format;
    const char *text;
    const char *message; /* a part of the expected message */
} Malformed;

#define PT TSL_ANNOTATIONS_PERCEPTION_TEST
#define AN TSL_ANNOTATIONS_ACTIVITYNET
#define META "\"metadata\": {\"split\": \"valid\"}"
/* video v of the valid split with more metadata fields */
#define METADATA(fields) "{\"v\": {\"metadata\": {\"split\": \"valid\", " fields "}}}"
/* one sound_localisation entry of video v */
#define SOUND(fields) "{\"v\": {" META ", \"sound_localisation\": [{" fields "}]}}"
/* ActivityNet-style file with one video v */
#define DATABASE(video) "{\"database\": {\"v\": " video "}}"

static const Malformed malformed[] = {
    { "not-json", PT, "{\"v\": {", "gt.json: " },
    { "duplicate-video", PT, "{\"v\": {" META "}, \"v\": {" META "}}", "gt.json: " },
    { "top-level-array", PT, "[]", "gt.json: the top level is an array, expected an object" },
    { "video-not-object", PT, "{\"v\": 1}",
      "gt.json: video 'v': expected an object, found an integer" },
    { "metadata-missing", PT, "{\"v\": {}}", "gt.json: video 'v': metadata: missing" },
    { "split-missing", PT, "{\"v\": {\"metadata\": {}}}",
      "gt.json: video 'v': metadata.split: missing" },
    { "split-number", PT, "{\"v\": {\"metadata\": {\"split\": 1}}}",
      "gt.json: video 'v': metadata.split: expected a string, found an integer" },
    { "num-frames-float", PT, METADATA ("\"num_frames\": 9.5"),
      "gt.json: video 'v': metadata.num_frames: expected an integer, found a number" },
    { "num-frames-negative", PT, METADATA ("\"num_frames\": -1"),
      "gt.json: video 'v': metadata.num_frames: -1 is outside" },
    { "frame-rate-string", PT, METADATA ("\"frame_rate\": \"30\""),
      "gt.json: video 'v': metadata.frame_rate: expected a number, found a string" },
    { "frame-rate-negative", PT, METADATA ("\"frame_rate\": -30"),
      "gt.json: video 'v': metadata.frame_rate: -30 is negative" },
    { "list-not-array", PT, "{\"v\": {" META ", \"sound_localisation\": {}}}",
      "gt.json: video 'v': sound_localisation: expected an array, found an object" },
    { "entry-not-object", PT, "{\"v\": {" META ", \"sound_localisation\": [[]]}}",
      "gt.json: video 'v': sound_localisation[0]: expected an object, found an array" },
    { "label-missing", PT, SOUND ("\"label_id\": 1, \"timestamps\": [0, 1]"),
      "gt.json: video 'v': sound_localisation[0].label: missing" },
    { "label-id-string", PT,
      SOUND ("\"label\": \"a\", \"label_id\": \"1\", \"timestamps\": [0, 1]"),
      "gt.json: video 'v': sound_localisation[0].label_id: expected an integer, found a string" },
    { "timestamps-missing", PT, SOUND ("\"label\": \"a\", \"label_id\": 1"),
      "gt.json: video 'v': sound_localisation[0].timestamps: missing" },
    { "timestamps-one", PT, SOUND ("\"label\": \"a\", \"label_id\": 1, \"timestamps\": [0]"),
      "gt.json: video 'v': sound_localisation[0].timestamps: expected an array of two numbers" },
    { "timestamps-string", PT,
      SOUND ("\"label\": \"a\", \"label_id\": 1, \"timestamps\": [0, \"1\"]"),
      "sound_localisation[0].timestamps: expected an array of two numbers" },
    { "an-database-missing", AN, "{\"version\": 1}", "gt.json: database: missing" },
    { "an-database-array", AN, "{\"database\": []}",
      "gt.json: database: expected an object, found an array" },
    { "an-subset-missing", AN, DATABASE ("{}"), "gt.json: video 'v': subset: missing" },
    { "an-duration-string", AN, DATABASE ("{\"subset\": \"s\", \"duration\": \"9\"}"),
      "gt.json: video 'v': duration: expected a number, found a string" },
    { "an-fps-negative", AN, DATABASE ("{\"subset\": \"s\", \"fps\": -1}"),
      "gt.json: video 'v': fps: -1 is negative" },
    { "an-segment-missing", AN,
      DATABASE ("{\"subset\": \"s\", \"annotations\": [{\"label\": \"a\", \"label_id\": 0}]}"),
      "gt.json: video 'v': annotations[0].segment: missing" },
    { "an-label-id-huge", AN,
      DATABASE ("{\"subset\": \"s\", \"annotations\": [{\"label\": \"a\", "
                "\"label_id\": 9999999999, \"segment\": [0, 1]}]}"),
      "gt.json: video 'v': annotations[0].label_id: 9999999999 is outside" },
};

static void
test_malformed (gconstpointer data)
{
    const Malformed *m = data;
    g_autoptr (GError) error = NULL;
    g_autoptr (TslAnnotations) ann = parse (m->text, m->format, NULL, &error);

    g_assert_null (ann);
    g_assert_error (error, TSL_ERROR, TSL_ERROR_FORMAT);
    if (strstr (error->message, m->message) == NULL)
        g_error ("message '%s' lacks '%s'", error->message, m->message);
}

int
main (int argc, char **argv)
{
    int status;

    g_test_init (&argc, &argv, NULL);
    tmp_dir = g_dir_make_tmp ("tsl-annotations-XXXXXX", NULL);
    g_assert_nonnull (tmp_dir);
    g_test_add_func ("/io/annotations/perception-test", test_perception_test);
    g_test_add_func ("/io/annotations/activitynet", test_activitynet);
    g_test_add_func ("/io/annotations/files-and-detection", test_files_and_detection);
    for (guint i = 0; i < G_N_ELEMENTS (malformed); i++) {
        g_autofree char *path = g_strdup_printf ("/io/annotations/malformed/%s",
                                                 malformed[i].name);
        g_test_add_data_func (path, &malformed[i], test_malformed);
    }
    status = g_test_run ();
    g_rmdir (tmp_dir);
    g_free (tmp_dir);
    return status;
}

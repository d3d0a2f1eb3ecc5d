/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tslfeaturesrc.c: GstHarness tests of tslfeaturesrc: the caps (dim, and
 * rate and window from the properties, the defaults or a model's
 * tsl.config), every buffer's PTS, duration, offsets, flags and contents,
 * the TIME segment, EOS after the last vector, the DURATION query, and the
 * errors for a missing file, a corrupt file and NaN features.
 *
 * The feature files are written by the test: feature d of vector t is
 * t + d / 100, so that a transposed or shifted row is caught.
 */
#include <gst/check/gstharness.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <math.h>
#include <string.h>

#include "io/npy.h"
#include "io/safetensors.h"

#define T_FEATS 37
#define D_FEATS 5

static gchar *tmp_dir;

static gfloat
feature_value (gint t, gint d)
{
  return (gfloat) t + (gfloat) d / 100.0f;
}

static gchar *
tmp_path (const gchar *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* features.npy [T, D], features.safetensors with "chw" [D, T], "batched"
 * [1, D, T] and "nan" [D, T] (one NaN), garbage.npy, and model.safetensors
 * whose tsl.config gives default_fps 25, feat_stride 4, num_frames 8. */
static void
write_files (void)
{
  g_autofree gfloat *rows = g_new (gfloat, T_FEATS * D_FEATS);
  g_autofree gfloat *chw = g_new (gfloat, T_FEATS * D_FEATS);
  g_autofree gfloat *nan = g_new (gfloat, T_FEATS * D_FEATS);
  g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
  g_autoptr (TslSafetensorsWriter) m = tsl_safetensors_writer_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *npy = tmp_path ("features.npy");
  g_autofree gchar *st = tmp_path ("features.safetensors");
  g_autofree gchar *garbage = tmp_path ("garbage.npy");
  g_autofree gchar *model = tmp_path ("model.safetensors");
  const int64_t rows_shape[2] = { T_FEATS, D_FEATS };
  const int chw_shape[2] = { D_FEATS, T_FEATS };
  const int batched_shape[3] = { 1, D_FEATS, T_FEATS };
  const int one = 1;
  const gfloat zero = 0.0f;

  for (gint t = 0; t < T_FEATS; t++)
    for (gint d = 0; d < D_FEATS; d++) {
      rows[t * D_FEATS + d] = feature_value (t, d);
      chw[d * T_FEATS + t] = feature_value (t, d);
    }
  memcpy (nan, chw, sizeof (gfloat) * T_FEATS * D_FEATS);
  nan[2 * T_FEATS + 9] = NAN;

  g_assert_true (tsl_npy_write_f32 (npy, 2, rows_shape, rows, &error));
  g_assert_true (tsl_safetensors_writer_add_f32 (w, "chw", 2, chw_shape, chw, &error));
  g_assert_true (tsl_safetensors_writer_add_f32 (w, "batched", 3, batched_shape, chw, &error));
  g_assert_true (tsl_safetensors_writer_add_f32 (w, "nan", 2, chw_shape, nan, &error));
  g_assert_true (tsl_safetensors_writer_save (w, st, &error));
  g_assert_true (g_file_set_contents (garbage, "this is not a .npy file", -1, &error));
  tsl_safetensors_writer_set_metadata (m, "tsl.model", "actionformer");
  tsl_safetensors_writer_set_metadata (m, "tsl.config",
      "{\"dataset\": {\"default_fps\": 25, \"feat_stride\": 4, \"num_frames\": 8}}");
  g_assert_true (tsl_safetensors_writer_add_f32 (m, "unused", 1, &one, &zero, &error));
  g_assert_true (tsl_safetensors_writer_save (m, model, &error));
}

static void
remove_files (void)
{
  const gchar *names[] = { "features.npy", "features.safetensors", "garbage.npy",
    "model.safetensors"
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree gchar *path = tmp_path (names[i]);
    g_remove (path);
  }
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
}

/* A playing source harness on `location`, with extra properties given as
 * name, value pairs ending in NULL. */
static GstHarness *
start_source (const gchar *location, const gchar *first_property, ...)
{
  GstElement *src = gst_element_factory_make ("tslfeaturesrc", NULL);
  GstHarness *h;
  va_list args;

  g_assert_nonnull (src);
  g_object_set (src, "location", location, NULL);
  va_start (args, first_property);
  if (first_property != NULL)
    g_object_set_valist (G_OBJECT (src), first_property, args);
  va_end (args);
  h = gst_harness_new_with_element (src, NULL, "src");
  gst_object_unref (src);
  gst_harness_play (h);
  return h;
}

/* Checks the caps on the harness and returns the buffers up to EOS. */
static GPtrArray *
pull_all (GstHarness *h, gint dim, gint rate_n, gint rate_d, guint64 window_ns)
{
  GPtrArray *buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
  gboolean saw_segment = FALSE, saw_eos = FALSE;
  GstStructure *s;
  GstBuffer *buf;
  GstEvent *ev;
  GstCaps *caps;
  gint got_dim, got_n, got_d;
  guint64 got_window;

  while (TRUE) {
    g_assert_true (gst_harness_pull_until_eos (h, &buf));
    if (buf == NULL)
      break;
    g_ptr_array_add (buffers, buf);
  }

  caps = gst_pad_get_current_caps (h->sinkpad);
  g_assert_nonnull (caps);
  g_assert_true (gst_caps_is_fixed (caps));
  s = gst_caps_get_structure (caps, 0);
  g_assert_cmpstr (gst_structure_get_name (s), ==, "application/x-tsl-features");
  g_assert_true (gst_structure_get_int (s, "dim", &got_dim));
  g_assert_true (gst_structure_get_fraction (s, "rate", &got_n, &got_d));
  g_assert_true (gst_structure_get_uint64 (s, "window", &got_window));
  g_assert_cmpint (got_dim, ==, dim);
  /* 30/16 and 15/8 are the same rate */
  g_assert_cmpint ((gint64) got_n * rate_d, ==, (gint64) rate_n * got_d);
  g_assert_cmpuint (got_window, ==, window_ns);
  gst_caps_unref (caps);

  /* the harness may flag EOS a moment before it queues the event: wait */
  while (!saw_eos) {
    ev = gst_harness_pull_event (h);
    g_assert_nonnull (ev);
    if (GST_EVENT_TYPE (ev) == GST_EVENT_SEGMENT) {
      const GstSegment *segment;

      gst_event_parse_segment (ev, &segment);
      g_assert_cmpint (segment->format, ==, GST_FORMAT_TIME);
      g_assert_cmpuint (segment->start, ==, 0);
      g_assert_cmpuint (segment->time, ==, 0);
      saw_segment = TRUE;
    }
    saw_eos = GST_EVENT_TYPE (ev) == GST_EVENT_EOS;
    gst_event_unref (ev);
  }
  g_assert_true (saw_segment);
  return buffers;
}

/* Every buffer: N vectors, PTS first / R, duration (first + N) / R -
 * first / R, offsets, DISCONT on the first only, rows equal to the file's;
 * together exactly T vectors. */
static void
check_buffers (GPtrArray *buffers, guint vectors_per_buffer, gint rate_n, gint rate_d)
{
  gint first = 0;

  g_assert_cmpuint (buffers->len, ==,
      (T_FEATS + vectors_per_buffer - 1) / vectors_per_buffer);
  for (guint b = 0; b < buffers->len; b++) {
    GstBuffer *buf = g_ptr_array_index (buffers, b);
    const gint n = MIN ((gint) vectors_per_buffer, T_FEATS - first);
    const GstClockTime pts = gst_util_uint64_scale (first, GST_SECOND * rate_d, rate_n);
    const GstClockTime end = gst_util_uint64_scale (first + n, GST_SECOND * rate_d, rate_n);
    GstMapInfo map;

    g_assert_cmpuint (gst_buffer_get_size (buf), ==, (gsize) n * D_FEATS * sizeof (gfloat));
    g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, pts);
    g_assert_cmpuint (GST_BUFFER_DURATION (buf), ==, end - pts);
    g_assert_cmpuint (GST_BUFFER_OFFSET (buf), ==, first);
    g_assert_cmpuint (GST_BUFFER_OFFSET_END (buf), ==, first + n);
    g_assert_cmpint (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT), ==, b == 0);
    g_assert_true (gst_buffer_map (buf, &map, GST_MAP_READ));
    for (gint t = 0; t < n; t++)
      for (gint d = 0; d < D_FEATS; d++)
        g_assert_cmpfloat (((const gfloat *) map.data)[t * D_FEATS + d], ==,
            feature_value (first + t, d));
    gst_buffer_unmap (buf, &map);
    first += n;
  }
  g_assert_cmpint (first, ==, T_FEATS);
}

/* .npy [T, D] with explicit rate, window and vectors-per-buffer. */
static void
test_npy_properties (void)
{
  g_autofree gchar *npy = tmp_path ("features.npy");
  GstHarness *h = start_source (npy, "vectors-per-buffer", 8, "rate", 25, 2,
      "window", (guint64) 80 * GST_MSECOND, NULL);
  g_autoptr (GPtrArray) buffers = pull_all (h, D_FEATS, 25, 2, 80 * GST_MSECOND);
  gint64 duration = -1;

  check_buffers (buffers, 8, 25, 2);
  g_assert_true (gst_element_query_duration (h->element, GST_FORMAT_TIME, &duration));
  g_assert_cmpint (duration, ==, gst_util_uint64_scale (T_FEATS, GST_SECOND * 2, 25));
  gst_harness_teardown (h);
}

/* safetensors [D, T] and [1, D, T] with the defaults: 30/16 vectors per
 * second, a window of 16/30 s, 16 vectors per buffer. */
static void
test_safetensors_defaults (void)
{
  const gchar *names[] = { "chw", "batched" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree gchar *st = tmp_path ("features.safetensors");
    g_autofree gchar *spec = g_strdup_printf ("%s:%s", st, names[i]);
    GstHarness *h = start_source (spec, NULL);
    g_autoptr (GPtrArray) buffers = pull_all (h, D_FEATS, 30, 16, 533333333);

    check_buffers (buffers, 16, 30, 16);
    gst_harness_teardown (h);
  }
}

/* model=: rate = default_fps / feat_stride = 25/4, window = num_frames /
 * default_fps = 320 ms; an explicit rate still wins over the model. */
static void
test_model_defaults (void)
{
  g_autofree gchar *npy = tmp_path ("features.npy");
  g_autofree gchar *model = tmp_path ("model.safetensors");
  GstHarness *h = start_source (npy, "model", model, NULL);
  g_autoptr (GPtrArray) buffers = pull_all (h, D_FEATS, 25, 4, 320 * GST_MSECOND);

  check_buffers (buffers, 16, 25, 4);
  gst_harness_teardown (h);

  h = start_source (npy, "model", model, "rate", 5, 1, NULL);
  g_autoptr (GPtrArray) explicit_rate = pull_all (h, D_FEATS, 5, 1, 320 * GST_MSECOND);
  check_buffers (explicit_rate, 16, 5, 1);
  gst_harness_teardown (h);
}

/* READY -> PAUSED fails with an element error of `domain`/`code` whose
 * message contains `words`. */
static void
check_start_error (const gchar *location, GQuark domain, gint code, const gchar *words)
{
  GstElement *src = gst_element_factory_make ("tslfeaturesrc", NULL);
  GstBus *bus = gst_bus_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *debug = NULL;
  GstMessage *msg;

  gst_element_set_bus (src, bus);
  if (location != NULL)
    g_object_set (src, "location", location, NULL);
  g_assert_cmpint (gst_element_set_state (src, GST_STATE_PAUSED), ==, GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, &debug);
  g_test_message ("%s: %s", location, error->message);
  g_assert_true (g_error_matches (error, domain, code));
  g_assert_nonnull (strstr (error->message, words));
  gst_message_unref (msg);
  gst_element_set_state (src, GST_STATE_NULL);
  gst_element_set_bus (src, NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
}

static void
test_bad_files (void)
{
  g_autofree gchar *missing = tmp_path ("missing.npy");
  g_autofree gchar *garbage = tmp_path ("garbage.npy");
  g_autofree gchar *st = tmp_path ("features.safetensors");
  g_autofree gchar *nan = g_strdup_printf ("%s:nan", st);
  g_autofree gchar *absent = g_strdup_printf ("%s:absent", st);

  check_start_error (NULL, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, "No feature file");
  check_start_error (missing, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, "missing.npy");
  check_start_error (garbage, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ, "garbage.npy");
  check_start_error (nan, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ, "NaN");
  check_start_error (absent, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ, "absent");
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  tmp_dir = g_dir_make_tmp ("tslfeaturesrc-XXXXXX", &error);
  g_assert_no_error (error);
  write_files ();

  g_test_add_func ("/tslfeaturesrc/npy-properties", test_npy_properties);
  g_test_add_func ("/tslfeaturesrc/safetensors-defaults", test_safetensors_defaults);
  g_test_add_func ("/tslfeaturesrc/model-defaults", test_model_defaults);
  g_test_add_func ("/tslfeaturesrc/bad-files", test_bad_files);
  status = g_test_run ();

  remove_files ();
  return status;
}

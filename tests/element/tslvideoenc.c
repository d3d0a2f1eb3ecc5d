/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tslvideoenc.c: GstHarness tests of tslvideoenc on the project's VideoMAE
 * fixture (tests/data/videomae-fixture.safetensors, from
 * tools/make-videomae-fixture.py: clips of T = 6 frames at 24 x 24, 36
 * features). The reference for every vector is built here, independently
 * of the element: frames are transformed one by one with the official
 * transform (its parity is checked in tests/parity/videomae.c), stacked
 * into the clip [3, T, S, S] that the expected grid says, and run through
 * a direct libtsl forward.
 *
 *   caps        dim, rate = fps / stride, window = T / fps
 *   drop/pad    stride 4 over 23 frames: floor ((23 - T) / 4) + 1 whole
 *               clips with partial-clip=drop; one more (last frame
 *               repeated) with pad; values, PTS, durations, offsets
 *   batch       batch-size 2 gives the same vectors in buffers of 2 (the
 *               last one partial, pushed before EOS)
 *   gap         a timestamp jump and a GAP event repeat the last frame so
 *               that clips stay on the time grid; an early frame is dropped
 *   formats     BGRx gives exactly the RGB result; I420 goes through the
 *               converter and gives finite vectors on the same grid
 *   caps-change RGB switching to BGRx mid-stream changes nothing; a
 *               framerate change mid-stream is a NEGOTIATION error
 *   latency     adds (T + (batch-size - 1) x stride) frames
 *   errors      a missing model file, caps without a framerate
 *   states      NULL -> PLAYING -> NULL three times, same output
 */
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <math.h>
#include <string.h>

#include "backend.h"
#include "io/safetensors.h"
#include "models/videomae/model.h"
#include "models/videomae/preprocess.h"
#include "testutil.h"

#define T_CLIP 6                /* the fixture's all_frames */
#define S_SIZE 24               /* its img_size */
#define C_DIM 36                /* its embed_dim */
#define WIDTH 20                /* input frames: upscaled, not square */
#define HEIGHT 14
#define FPS 30
#define BASE_PTS (2 * GST_SECOND)
/* the element runs the same code on the same floats; only OpenMP/BLAS
 * scheduling could change the last bits */
#define FEATURE_ATOL 1e-5

static gchar *model_path;
static TslBackend *ref_backend;
static TslVideoMae *ref_net;

static GstClockTime
frame_time (guint64 f)
{
  return gst_util_uint64_scale (f, GST_SECOND, FPS);
}

/* Pixel bytes of frame `id`: deterministic noise, RGB order. */
static void
frame_rgb (guint id, guint8 *rgb /* [HEIGHT, WIDTH, 3] */)
{
  TslTestRng rng;

  tsl_test_rng_init (&rng, 1000 + id);
  for (gsize i = 0; i < WIDTH * HEIGHT * 3; i++)
    rgb[i] = (guint8) tsl_test_rng_int (&rng, 0, 255);
}

static GstBuffer *
frame_buffer (guint id, const gchar *format, guint64 grid_index)
{
  guint8 rgb[WIDTH * HEIGHT * 3];
  GstVideoInfo info;
  GstBuffer *buf;
  GstMapInfo map;

  frame_rgb (id, rgb);
  gst_video_info_set_format (&info, gst_video_format_from_string (format), WIDTH, HEIGHT);
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  memset (map.data, 128, map.size);
  for (gint y = 0; y < HEIGHT; y++)
    for (gint x = 0; x < WIDTH; x++) {
      const guint8 *p = rgb + (y * WIDTH + x) * 3;
      if (g_str_equal (format, "RGB")) {
        memcpy (map.data + y * GST_VIDEO_INFO_PLANE_STRIDE (&info, 0) + x * 3, p, 3);
      } else if (g_str_equal (format, "BGRx")) {
        guint8 *q = map.data + y * GST_VIDEO_INFO_PLANE_STRIDE (&info, 0) + x * 4;
        q[0] = p[2];
        q[1] = p[1];
        q[2] = p[0];
      } else {                  /* I420: only the luma varies */
        map.data[y * GST_VIDEO_INFO_PLANE_STRIDE (&info, 0) + x] = p[0];
      }
    }
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = BASE_PTS + frame_time (grid_index);
  GST_BUFFER_DURATION (buf) = frame_time (grid_index + 1) - frame_time (grid_index);
  return buf;
}

/* Expected features of the clips whose frames are ids[k * stride ..
 * k * stride + T - 1] (ids: frame id on each grid position), k < n_clips. */
static gfloat *
reference_features (const guint *ids, gint stride, gint n_clips)
{
  const gsize plane = S_SIZE * S_SIZE;
  const TslPixelLayout rgb_layout = { 3, { 0, 1, 2 } };
  g_autofree gfloat *clips = g_new (gfloat, (gsize) n_clips * 3 * T_CLIP * plane);
  gfloat *features = g_new (gfloat, (gsize) n_clips * C_DIM);
  g_autoptr (GError) error = NULL;
  TslResizeAxis rows, cols;
  guint8 rgb[WIDTH * HEIGHT * 3];

  tsl_resize_axis_init (&rows, HEIGHT, S_SIZE);
  tsl_resize_axis_init (&cols, WIDTH, S_SIZE);
  for (gint k = 0; k < n_clips; k++)
    for (gint t = 0; t < T_CLIP; t++) {
      frame_rgb (ids[k * stride + t], rgb);
      /* channel c of frame t sits at clip[k][c][t] */
      tsl_videomae_resize_frame (clips + ((gsize) k * 3 * T_CLIP + t) * plane,
          (gsize) T_CLIP * plane, rgb, WIDTH * 3, &rgb_layout, &rows, &cols);
    }
  tsl_resize_axis_clear (&rows);
  tsl_resize_axis_clear (&cols);
  g_assert_true (tsl_videomae_forward (ref_net, features, clips, n_clips, NULL, NULL, &error));
  g_assert_no_error (error);
  return features;
}

/* ---- harness helpers ---- */

static GstHarness *
new_harness (gint stride, gint batch, const gchar *partial, GstBus **bus)
{
  GstElement *e = gst_element_factory_make ("tslvideoenc", NULL);
  GstHarness *h;

  g_assert_nonnull (e);
  gst_util_set_object_arg (G_OBJECT (e), "backend", "cpu");
  gst_util_set_object_arg (G_OBJECT (e), "partial-clip", partial);
  g_object_set (e, "model", model_path, "stride", stride, "batch-size", batch, NULL);
  *bus = gst_bus_new ();
  gst_element_set_bus (e, *bus);
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  return h;
}

static void
free_harness (GstHarness *h, GstBus *bus)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

  if (msg != NULL) {
    g_autoptr (GError) error = NULL;
    gst_message_parse_error (msg, &error, NULL);
    g_test_message ("unexpected error: %s", error->message);
    g_test_fail ();
    gst_message_unref (msg);
  }
  gst_element_set_bus (h->element, NULL);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

static void
set_caps (GstHarness *h, const gchar *format)
{
  g_autofree gchar *caps = g_strdup_printf ("video/x-raw, format=%s, width=%d, height=%d, "
      "framerate=%d/1", format, WIDTH, HEIGHT, FPS);
  gst_harness_set_src_caps_str (h, caps);
}

/* Pops every output buffer into one [n, C] array, checking that vector
 * k's PTS is the time of frame k * stride and that buffers tile the grid.
 * The number of buffers goes to *n_buffers. */
static gfloat *
pull_all (GstHarness *h, gint stride, gint *n_vectors, gint *n_buffers)
{
  GArray *all = g_array_new (FALSE, FALSE, sizeof (gfloat));
  GstBuffer *buf;
  gint n = 0;

  *n_buffers = 0;
  while ((buf = gst_harness_try_pull (h)) != NULL) {
    GstMapInfo map;
    gint count;

    gst_buffer_map (buf, &map, GST_MAP_READ);
    g_assert_cmpuint (map.size % (C_DIM * sizeof (gfloat)), ==, 0);
    count = (gint) (map.size / (C_DIM * sizeof (gfloat)));
    g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, BASE_PTS + frame_time ((guint64) n * stride));
    g_assert_cmpuint (GST_BUFFER_DURATION (buf), ==,
        frame_time ((guint64) (n + count) * stride) - frame_time ((guint64) n * stride));
    g_assert_cmpuint (GST_BUFFER_OFFSET (buf), ==, n);
    g_assert_cmpuint (GST_BUFFER_OFFSET_END (buf), ==, n + count);
    g_assert_true (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT) == (n == 0));
    g_array_append_vals (all, map.data, count * C_DIM);
    gst_buffer_unmap (buf, &map);
    gst_buffer_unref (buf);
    n += count;
    (*n_buffers)++;
  }
  *n_vectors = n;
  return (gfloat *) g_array_free (all, FALSE);
}

/* Pushes frames 0 .. n - 1 (id = grid index) and EOS. */
static void
push_frames (GstHarness *h, const gchar *format, gint n)
{
  for (gint f = 0; f < n; f++)
    g_assert_cmpint (gst_harness_push (h, frame_buffer (f, format, f)), ==, GST_FLOW_OK);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
}

/* ---- tests ---- */

static void
test_caps (void)
{
  GstBus *bus;
  GstHarness *h = new_harness (4, 1, "pad", &bus);
  g_autoptr (GstCaps) caps = NULL;
  const GstStructure *s;
  gint dim, rate_n, rate_d;
  guint64 window;
  guint clip_frames;

  set_caps (h, "RGB");
  caps = gst_pad_get_current_caps (h->sinkpad);
  g_assert_nonnull (caps);
  s = gst_caps_get_structure (caps, 0);
  g_assert_true (gst_structure_get_int (s, "dim", &dim));
  g_assert_true (gst_structure_get_fraction (s, "rate", &rate_n, &rate_d));
  g_assert_true (gst_structure_get_uint64 (s, "window", &window));
  g_assert_cmpint (dim, ==, C_DIM);
  g_assert_cmpint (rate_n * 4, ==, rate_d * FPS);      /* 30 / 4 */
  g_assert_cmpuint (window, ==, frame_time (T_CLIP));
  g_object_get (h->element, "clip-frames", &clip_frames, NULL);
  g_assert_cmpuint (clip_frames, ==, T_CLIP);
  free_harness (h, bus);
}

/* stride 4 over 23 frames, with and without the padded last clip */
static void
check_clips (gint batch, const gchar *partial)
{
  const gint stride = 4, n_frames = 23;
  const gboolean pad = g_str_equal (partial, "pad");
  const gint expect = (n_frames - T_CLIP) / stride + 1 + (pad ? 1 : 0);
  guint ids[32];
  GstBus *bus;
  GstHarness *h = new_harness (stride, batch, partial, &bus);
  gint n, n_buffers;

  for (gint i = 0; i < 32; i++)
    ids[i] = (guint) MIN (i, n_frames - 1);     /* the padded clip repeats frame 22 */
  set_caps (h, "RGB");
  push_frames (h, "RGB", n_frames);
  g_autofree gfloat *got = pull_all (h, stride, &n, &n_buffers);
  g_autofree gfloat *want = reference_features (ids, stride, expect);
  g_assert_cmpint (n, ==, expect);
  g_assert_cmpint (n_buffers, ==, (expect + batch - 1) / batch);
  tsl_test_check_close_f (partial, got, want, (gsize) n * C_DIM, FEATURE_ATOL, 0.0);
  free_harness (h, bus);
}

static void
test_drop (void)
{
  check_clips (1, "drop");
}

static void
test_pad (void)
{
  check_clips (1, "pad");
}

static void
test_batch (void)
{
  check_clips (2, "pad");
  check_clips (3, "drop");
}

/* Frames 0..7, then frame 10 (8 and 9 repeat 7), a frame for position 9
 * again (dropped), frames 11..17, a GAP to position 20 (18, 19 repeat 17),
 * EOS with drop: clips start at 0, 6, 12. */
static void
test_gap (void)
{
  const gint stride = T_CLIP;
  guint ids[24];
  GstBus *bus;
  GstHarness *h = new_harness (stride, 1, "drop", &bus);
  gint n, n_buffers;

  for (gint i = 0; i < 24; i++)
    ids[i] = (guint) (i == 8 || i == 9 ? 7 : i >= 18 ? 17 : i);
  set_caps (h, "RGB");
  for (gint f = 0; f < 8; f++)
    g_assert_cmpint (gst_harness_push (h, frame_buffer (f, "RGB", f)), ==, GST_FLOW_OK);
  g_assert_cmpint (gst_harness_push (h, frame_buffer (10, "RGB", 10)), ==, GST_FLOW_OK);
  g_assert_cmpint (gst_harness_push (h, frame_buffer (99, "RGB", 9)), ==, GST_FLOW_OK);
  for (gint f = 11; f < 18; f++)
    g_assert_cmpint (gst_harness_push (h, frame_buffer (f, "RGB", f)), ==, GST_FLOW_OK);
  g_assert_true (gst_harness_push_event (h, gst_event_new_gap (BASE_PTS + frame_time (18),
              frame_time (20) - frame_time (18))));
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  g_autofree gfloat *got = pull_all (h, stride, &n, &n_buffers);
  g_autofree gfloat *want = reference_features (ids, stride, 3);
  g_assert_cmpint (n, ==, 3);
  tsl_test_check_close_f ("gap", got, want, (gsize) n * C_DIM, FEATURE_ATOL, 0.0);
  free_harness (h, bus);
}

static gfloat *
run_format (const gchar *format, gint *n)
{
  GstBus *bus;
  GstHarness *h = new_harness (4, 1, "drop", &bus);
  gint n_buffers;
  gfloat *got;

  set_caps (h, format);
  push_frames (h, format, 14);
  got = pull_all (h, 4, n, &n_buffers);
  free_harness (h, bus);
  return got;
}

static void
test_formats (void)
{
  gint n_rgb, n_bgrx, n_i420;
  g_autofree gfloat *rgb = run_format ("RGB", &n_rgb);
  g_autofree gfloat *bgrx = run_format ("BGRx", &n_bgrx);
  g_autofree gfloat *i420 = run_format ("I420", &n_i420);

  g_assert_cmpint (n_rgb, ==, (14 - T_CLIP) / 4 + 1);
  g_assert_cmpint (n_bgrx, ==, n_rgb);
  g_assert_cmpint (n_i420, ==, n_rgb);
  tsl_test_check_close_f ("BGRx vs RGB", bgrx, rgb, (gsize) n_rgb * C_DIM, 0.0, 0.0);
  for (gint i = 0; i < n_i420 * C_DIM; i++)
    g_assert_true (isfinite (i420[i]));
  /* the luma-only I420 frames are other pictures: the vectors must differ */
  g_assert_cmpfloat (tsl_test_nmse (rgb, i420, (gsize) n_rgb * C_DIM), >, 1e-6);
}

/* A format change in the middle of a stream (RGB -> BGRx, same pictures)
 * changes nothing downstream; a framerate change is refused. */
static void
test_caps_change (void)
{
  gint n_rgb, n, n_buffers;
  g_autofree gfloat *rgb = run_format ("RGB", &n_rgb);
  g_autofree gfloat *mixed = NULL;
  g_autofree gchar *other_rate = g_strdup_printf ("video/x-raw, format=RGB, width=%d, "
      "height=%d, framerate=25/1", WIDTH, HEIGHT);
  GstBus *bus;
  GstHarness *h = new_harness (4, 1, "drop", &bus);
  GstMessage *msg;

  set_caps (h, "RGB");
  for (gint f = 0; f < 7; f++)
    g_assert_cmpint (gst_harness_push (h, frame_buffer (f, "RGB", f)), ==, GST_FLOW_OK);
  set_caps (h, "BGRx");
  for (gint f = 7; f < 14; f++)
    g_assert_cmpint (gst_harness_push (h, frame_buffer (f, "BGRx", f)), ==, GST_FLOW_OK);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  mixed = pull_all (h, 4, &n, &n_buffers);
  g_assert_cmpint (n, ==, n_rgb);
  tsl_test_check_close_f ("RGB then BGRx", mixed, rgb, (gsize) n * C_DIM, 0.0, 0.0);
  free_harness (h, bus);

  h = new_harness (4, 1, "drop", &bus);
  set_caps (h, "RGB");
  g_assert_cmpint (gst_harness_push (h, frame_buffer (0, "RGB", 0)), ==, GST_FLOW_OK);
  gst_harness_set_src_caps_str (h, other_rate);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  {
    g_autoptr (GError) error = NULL;
    gst_message_parse_error (msg, &error, NULL);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, "30/1"));
    g_assert_nonnull (strstr (error->message, "25/1"));
  }
  gst_message_unref (msg);
  gst_element_set_bus (h->element, NULL);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

static void
test_latency (void)
{
  GstBus *bus;
  GstHarness *h = new_harness (4, 3, "pad", &bus);

  set_caps (h, "RGB");
  g_assert_cmpuint (gst_harness_query_latency (h), ==, frame_time (T_CLIP + 2 * 4));
  free_harness (h, bus);
}

static void
test_missing_model (void)
{
  GstElement *e = gst_element_factory_make ("tslvideoenc", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  g_autoptr (GError) error = NULL;

  g_object_set (e, "model", "/nonexistent/model.safetensors", NULL);
  gst_element_set_bus (e, bus);
  g_assert_cmpint (gst_element_set_state (e, GST_STATE_PAUSED), ==, GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  g_test_message ("%s", error->message);
  g_assert_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "/nonexistent/model.safetensors"));
  gst_message_unref (msg);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
}

/* framerate 0/1 (variable rate) matches no template: the caps are refused
 * and the first frame is not negotiated */
static void
test_no_framerate (void)
{
  GstElement *e = gst_element_factory_make ("tslvideoenc", NULL);
  GstHarness *h;

  gst_util_set_object_arg (G_OBJECT (e), "backend", "cpu");
  g_object_set (e, "model", model_path, NULL);
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  gst_harness_set_src_caps_str (h, "video/x-raw, format=RGB, width=20, height=14, "
      "framerate=0/1");
  g_assert_cmpint (gst_harness_push (h, frame_buffer (0, "RGB", 0)), ==,
      GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (h);
}

static void
test_states (void)
{
  GstBus *bus;
  GstHarness *h = new_harness (4, 2, "pad", &bus);
  g_autofree gfloat *first = NULL;
  gint n_first = 0;

  for (gint round = 0; round < 3; round++) {
    gint n, n_buffers;
    g_autofree gfloat *got = NULL;

    if (round > 0) {
      g_autofree gchar *stream_id = g_strdup_printf ("cycle-%d", round);

      g_assert_cmpint (gst_element_set_state (h->element, GST_STATE_NULL), ==,
          GST_STATE_CHANGE_SUCCESS);
      gst_harness_play (h);
      /* the element's pads lost their sticky events when it went to NULL */
      g_assert_true (gst_harness_push_event (h, gst_event_new_stream_start (stream_id)));
    }
    set_caps (h, "RGB");
    push_frames (h, "RGB", 15);
    got = pull_all (h, 4, &n, &n_buffers);
    if (round == 0) {
      first = g_steal_pointer (&got);
      n_first = n;
    } else {
      g_assert_cmpint (n, ==, n_first);
      tsl_test_check_close_f ("same output", got, first, (gsize) n * C_DIM, 0.0, 0.0);
    }
  }
  free_harness (h, bus);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TslSafetensors) st = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  model_path = g_build_filename (g_getenv ("TSL_TEST_DATA"), "videomae-fixture.safetensors",
      NULL);
  st = tsl_safetensors_open (model_path, &error);
  g_assert_no_error (error);
  ref_backend = tsl_backend_new ("cpu", &error);
  g_assert_no_error (error);
  ref_net = tsl_videomae_new (ref_backend, st, 8, &error);
  g_assert_no_error (error);

  g_test_add_func ("/tslvideoenc/caps", test_caps);
  g_test_add_func ("/tslvideoenc/drop", test_drop);
  g_test_add_func ("/tslvideoenc/pad", test_pad);
  g_test_add_func ("/tslvideoenc/batch", test_batch);
  g_test_add_func ("/tslvideoenc/gap", test_gap);
  g_test_add_func ("/tslvideoenc/formats", test_formats);
  g_test_add_func ("/tslvideoenc/caps-change", test_caps_change);
  g_test_add_func ("/tslvideoenc/latency", test_latency);
  g_test_add_func ("/tslvideoenc/missing-model", test_missing_model);
  g_test_add_func ("/tslvideoenc/no-framerate", test_no_framerate);
  g_test_add_func ("/tslvideoenc/states", test_states);
  status = g_test_run ();

  tsl_videomae_free (ref_net);
  tsl_backend_free (ref_backend);
  g_free (model_path);
  return status;
}

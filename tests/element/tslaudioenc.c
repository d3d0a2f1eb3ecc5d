/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tslaudioenc.c: GstHarness tests of tslaudioenc on the project's audio
 * fixture (tests/data/audio-fixture.safetensors, from
 * tools/make-audio-fixture.py: 8 kHz, windows of 200 samples). The
 * reference for every vector is built here, independently of the element:
 * the window of samples centred on the vector's time, zeros off the
 * stream, through a direct libtsl forward.
 *
 *   caps        the model's rate gives dim/rate/window caps; the sink pad
 *               offers only that rate once loaded, and refuses another
 *   vectors     odd buffer sizes, rate 40/1 (hop 200) and the default 15/8:
 *               count (every vector whose PTS lies in the stream), values,
 *               PTS, durations, offsets, DISCONT on the first only
 *   batch       batch-size 3 gives the same vectors in buffers of 3
 *   gap         a timestamp jump and a GAP event become silence; an
 *               overlapping buffer loses its overlap
 *   latency     adds 1 / (2 R) + window / (2 rate) + (batch - 1) / R
 *   states      NULL -> PLAYING -> NULL three times, same output
 */
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <math.h>
#include <string.h>

#include "backend.h"
#include "models/audio/model.h"
#include "testutil.h"

#define SAMPLE_RATE 8000        /* the fixture's */
#define BASE_PTS (GST_SECOND / 2)
#define FEATURE_ATOL 1e-5       /* same code, same floats; BLAS scheduling only */

static gchar *model_path;
static TslBackend *ref_backend;
static TslAudioModel *ref_net;
static gint window;             /* the fixture's window_samples */
static gint dim;

static GstClockTime
samples_to_time (guint64 n)
{
  return gst_util_uint64_scale (n, GST_SECOND, SAMPLE_RATE);
}

/* Sample i of the test signal. */
static gfloat
signal_at (guint64 i)
{
  return (gfloat) (0.5 * sin (0.013 * i) + 0.25 * sin (0.171 * i + 1.0));
}

/* Expected vectors for a grid where grid[i] is the sample value (n_grid
 * samples), at rate rate_n / rate_d. */
static gfloat *
reference_features (const gfloat *grid, gint n_grid, gint rate_n, gint rate_d, gint *count)
{
  GArray *windows = g_array_new (FALSE, TRUE, sizeof (gfloat));
  g_autoptr (GError) error = NULL;
  gfloat *features;
  gint k = 0;

  /* every vector whose PTS k / R lies inside the stream */
  while ((gdouble) k * rate_d / rate_n * SAMPLE_RATE < n_grid) {
    const gint64 centre = (gint64) llround ((k + 0.5) * SAMPLE_RATE * rate_d / rate_n);
    const gint64 start = centre - window / 2;

    for (gint i = 0; i < window; i++) {
      const gint64 s = start + i;
      const gfloat v = s >= 0 && s < n_grid ? grid[s] : 0.0f;
      g_array_append_val (windows, v);
    }
    k++;
  }
  *count = k;
  features = g_new (gfloat, (gsize) MAX (k, 1) * dim);
  if (k > 0)
    g_assert_true (tsl_audio_model_forward (ref_net, (const gfloat *) windows->data, k, window,
            features, &error));
  g_assert_no_error (error);
  g_array_unref (windows);
  return features;
}

/* ---- harness helpers ---- */

static GstHarness *
new_harness (gint rate_n, gint rate_d, gint batch, GstBus **bus)
{
  GstElement *e = gst_element_factory_make ("tslaudioenc", NULL);
  GstHarness *h;

  g_assert_nonnull (e);
  gst_util_set_object_arg (G_OBJECT (e), "backend", "cpu");
  g_object_set (e, "model", model_path, "rate", rate_n, rate_d, "batch-size", batch, NULL);
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
set_caps (GstHarness *h, gint rate)
{
  g_autofree gchar *caps = g_strdup_printf ("audio/x-raw, format=F32LE, layout=interleaved, "
      "channels=1, rate=%d", rate);
  gst_harness_set_src_caps_str (h, caps);
}

/* Pushes signal samples [first, first + n) as one buffer at grid position
 * `at` (PTS = BASE_PTS + at / rate). */
static void
push_samples (GstHarness *h, guint64 first, guint64 n, guint64 at)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, n * sizeof (gfloat), NULL);
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (guint64 i = 0; i < n; i++)
    ((gfloat *) map.data)[i] = signal_at (first + i);
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = BASE_PTS + samples_to_time (at);
  GST_BUFFER_DURATION (buf) = samples_to_time (at + n) - samples_to_time (at);
  g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_OK);
}

/* Pops every buffer into one [n, dim] array, checking PTS, durations,
 * offsets and flags against the grid of rate R. */
static gfloat *
pull_all (GstHarness *h, gint rate_n, gint rate_d, gint *n_vectors, gint *n_buffers)
{
  GArray *all = g_array_new (FALSE, FALSE, sizeof (gfloat));
  GstBuffer *buf;
  gint n = 0;

  *n_buffers = 0;
  while ((buf = gst_harness_try_pull (h)) != NULL) {
    GstMapInfo map;
    gint count;

    gst_buffer_map (buf, &map, GST_MAP_READ);
    count = (gint) (map.size / (dim * sizeof (gfloat)));
    g_assert_cmpuint (map.size, ==, (gsize) count * dim * sizeof (gfloat));
    g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, BASE_PTS + gst_util_uint64_scale (n,
            GST_SECOND * rate_d, rate_n));
    g_assert_cmpuint (GST_BUFFER_DURATION (buf), ==,
        gst_util_uint64_scale (n + count, GST_SECOND * rate_d, rate_n) -
        gst_util_uint64_scale (n, GST_SECOND * rate_d, rate_n));
    g_assert_cmpuint (GST_BUFFER_OFFSET (buf), ==, n);
    g_assert_cmpuint (GST_BUFFER_OFFSET_END (buf), ==, n + count);
    g_assert_true (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT) == (n == 0));
    g_array_append_vals (all, map.data, count * dim);
    gst_buffer_unmap (buf, &map);
    gst_buffer_unref (buf);
    n += count;
    (*n_buffers)++;
  }
  *n_vectors = n;
  return (gfloat *) g_array_free (all, FALSE);
}

/* Pushes n_grid signal samples in buffers of odd sizes, then EOS, and
 * compares with the reference. */
static void
check_stream (gint rate_n, gint rate_d, gint batch, gint n_grid)
{
  g_autofree gfloat *grid = g_new (gfloat, n_grid);
  const gint sizes[] = { 97, 333, 1, 250, 1024 };
  GstBus *bus;
  GstHarness *h = new_harness (rate_n, rate_d, batch, &bus);
  gint n, n_buffers, expect;
  guint64 pos = 0;

  for (gint i = 0; i < n_grid; i++)
    grid[i] = signal_at (i);
  set_caps (h, SAMPLE_RATE);
  for (gint b = 0; pos < (guint64) n_grid; b++) {
    const guint64 size = MIN ((guint64) sizes[b % G_N_ELEMENTS (sizes)], n_grid - pos);
    push_samples (h, pos, size, pos);
    pos += size;
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  g_autofree gfloat *got = pull_all (h, rate_n, rate_d, &n, &n_buffers);
  g_autofree gfloat *want = reference_features (grid, n_grid, rate_n, rate_d, &expect);
  g_assert_cmpint (n, ==, expect);
  g_assert_cmpint (n_buffers, ==, (expect + batch - 1) / batch);
  tsl_test_check_close_f ("vectors", got, want, (gsize) n * dim, FEATURE_ATOL, 0.0);
  free_harness (h, bus);
}

/* ---- tests ---- */

static void
test_caps (void)
{
  GstBus *bus;
  GstHarness *h = new_harness (15, 8, 1, &bus);
  g_autoptr (GstCaps) caps = NULL;
  const GstStructure *s;
  gint out_dim, rate_n, rate_d;
  guint64 window_ns;
  g_autoptr (GstCaps) offered = NULL;
  g_autofree gchar *offered_text = NULL;
  gint rate;

  set_caps (h, SAMPLE_RATE);
  caps = gst_pad_get_current_caps (h->sinkpad);
  s = gst_caps_get_structure (caps, 0);
  g_assert_true (gst_structure_get_int (s, "dim", &out_dim));
  g_assert_true (gst_structure_get_fraction (s, "rate", &rate_n, &rate_d));
  g_assert_true (gst_structure_get_uint64 (s, "window", &window_ns));
  g_assert_cmpint (out_dim, ==, dim);
  g_assert_cmpint (rate_n, ==, 15);
  g_assert_cmpint (rate_d, ==, 8);
  g_assert_cmpuint (window_ns, ==, gst_util_uint64_scale (GST_SECOND, 8, 15));
  gst_element_set_bus (h->element, NULL);
  gst_harness_teardown (h);
  gst_object_unref (bus);

  /* once loaded, the sink pad offers the model's rate only, which is what
   * audioresample upstream negotiates against; 16 kHz is refused */
  h = new_harness (15, 8, 1, &bus);
  offered = gst_pad_query_caps (h->element->sinkpads->data, NULL);
  offered_text = gst_caps_to_string (offered);
  g_test_message ("offered %s", offered_text);
  g_assert_true (gst_structure_get_int (gst_caps_get_structure (offered, 0), "rate", &rate));
  g_assert_cmpint (rate, ==, SAMPLE_RATE);
  set_caps (h, 16000);
  g_assert_cmpint (gst_harness_push (h, gst_buffer_new_allocate (NULL, 64, NULL)), ==,
      GST_FLOW_NOT_NEGOTIATED);
  gst_element_set_bus (h->element, NULL);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

static void
test_vectors (void)
{
  check_stream (40, 1, 1, 2345);        /* hop 200 samples, not a whole number of hops */
  check_stream (15, 8, 1, 9000);        /* the default grid, 1.125 s */
  check_stream (40, 1, 1, 150);         /* shorter than one window */
}

static void
test_batch (void)
{
  check_stream (40, 1, 3, 2345);
}

/* grid: samples 0..999, 500 samples of silence (timestamp jump), samples
 * 1500..1999 of which the first 100 overlap again (dropped), a GAP to 2600 */
static void
test_gap (void)
{
  const gint n_grid = 2600;
  g_autofree gfloat *grid = g_new0 (gfloat, n_grid);
  GstBus *bus;
  GstHarness *h = new_harness (40, 1, 2, &bus);
  gint n, n_buffers, expect;

  for (gint i = 0; i < 1000; i++)
    grid[i] = signal_at (i);
  for (gint i = 1500; i < 2100; i++)
    grid[i] = signal_at (i);
  set_caps (h, SAMPLE_RATE);
  push_samples (h, 0, 1000, 0);
  push_samples (h, 1500, 500, 1500);
  push_samples (h, 1900, 200, 1900);    /* 100 of them overlap 1900..1999 */
  g_assert_true (gst_harness_push_event (h, gst_event_new_gap (BASE_PTS +
              samples_to_time (2100), samples_to_time (n_grid) - samples_to_time (2100))));
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  g_autofree gfloat *got = pull_all (h, 40, 1, &n, &n_buffers);
  g_autofree gfloat *want = reference_features (grid, n_grid, 40, 1, &expect);
  g_assert_cmpint (n, ==, expect);
  tsl_test_check_close_f ("gap", got, want, (gsize) n * dim, FEATURE_ATOL, 0.0);
  free_harness (h, bus);
}

static void
test_latency (void)
{
  GstBus *bus;
  GstHarness *h = new_harness (40, 1, 3, &bus);

  set_caps (h, SAMPLE_RATE);
  g_assert_cmpuint (gst_harness_query_latency (h), ==, GST_SECOND / 80 +
      samples_to_time (window / 2) + 2 * GST_SECOND / 40);
  free_harness (h, bus);
}

static void
test_states (void)
{
  GstBus *bus;
  GstHarness *h = new_harness (40, 1, 2, &bus);
  g_autofree gfloat *first = NULL;
  gint n_first = 0;

  for (gint round = 0; round < 3; round++) {
    g_autofree gfloat *got = NULL;
    gint n, n_buffers;

    if (round > 0) {
      g_autofree gchar *stream_id = g_strdup_printf ("cycle-%d", round);

      g_assert_cmpint (gst_element_set_state (h->element, GST_STATE_NULL), ==,
          GST_STATE_CHANGE_SUCCESS);
      gst_harness_play (h);
      g_assert_true (gst_harness_push_event (h, gst_event_new_stream_start (stream_id)));
    }
    set_caps (h, SAMPLE_RATE);
    push_samples (h, 0, 1234, 0);
    g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
    got = pull_all (h, 40, 1, &n, &n_buffers);
    if (round == 0) {
      first = g_steal_pointer (&got);
      n_first = n;
    } else {
      g_assert_cmpint (n, ==, n_first);
      tsl_test_check_close_f ("same output", got, first, (gsize) n * dim, 0.0, 0.0);
    }
  }
  free_harness (h, bus);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  model_path = g_build_filename (g_getenv ("TSL_TEST_DATA"), "audio-fixture.safetensors", NULL);
  ref_backend = tsl_backend_new ("cpu", &error);
  g_assert_no_error (error);
  ref_net = tsl_audio_model_load (ref_backend, model_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tsl_audio_model_sample_rate (ref_net), ==, SAMPLE_RATE);
  window = tsl_audio_model_window_samples (ref_net);
  dim = tsl_audio_model_output_dim (ref_net);

  g_test_add_func ("/tslaudioenc/caps", test_caps);
  g_test_add_func ("/tslaudioenc/vectors", test_vectors);
  g_test_add_func ("/tslaudioenc/batch", test_batch);
  g_test_add_func ("/tslaudioenc/gap", test_gap);
  g_test_add_func ("/tslaudioenc/latency", test_latency);
  g_test_add_func ("/tslaudioenc/states", test_states);
  status = g_test_run ();

  tsl_audio_model_free (ref_net);
  tsl_backend_free (ref_backend);
  g_free (model_path);
  return status;
}

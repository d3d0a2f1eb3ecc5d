/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tslfuse.c: GstHarness tests of tslfuse. The streams carry vectors whose
 * values are linear functions of the time they stand for, so that linear
 * interpolation must reproduce the function exactly and every expected
 * value is known in closed form:
 *
 *   same-grid    two streams on the same grid pass through unchanged,
 *                concatenated in pad order; output caps sum the dims
 *   rates        the second stream at another rate and phase (and in
 *                buffers of other sizes) is interpolated at the first's
 *                times; before its first vector it holds that vector
 *   ends-early   a stream that ends early holds its last vector; every
 *                vector of the first stream comes out, then EOS
 *   three-pads   three streams, dims 2 + 3 + 1, in request order
 */
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <math.h>
#include <string.h>

#include "testutil.h"

/* exact up to float rounding of values of order 10 */
#define FUSE_ATOL 1e-5

/* Stream s, channel c at time t (seconds): a different line per channel. */
static gdouble
line_value (gint s, gint c, gdouble t)
{
  return (s + 1) * 0.5 + c - (c + 1) * 0.75 * t * (s % 2 ? -1 : 1);
}

typedef struct {
  gint dim;
  gint rate_n, rate_d;          /* vectors per second */
  GstClockTime window;          /* ns */
  GstClockTime first_pts;
} Stream;

static gdouble
stream_vector_time (const Stream *st, guint64 k)
{
  return (st->first_pts + gst_util_uint64_scale (k, GST_SECOND * st->rate_d, st->rate_n) +
      st->window / 2) / (gdouble) GST_SECOND;
}

static void
set_caps (GstHarness *h, const Stream *st)
{
  g_autofree gchar *caps = g_strdup_printf ("application/x-tsl-features, dim=(int)%d, "
      "rate=(fraction)%d/%d, window=(guint64)%" G_GUINT64_FORMAT, st->dim, st->rate_n,
      st->rate_d, st->window);
  gst_harness_set_src_caps_str (h, caps);
}

/* Pushes vectors [first, first + n) of stream s as one buffer. */
static void
push_vectors (GstHarness *h, const Stream *st, gint s, guint64 first, gint n)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, (gsize) n * st->dim * sizeof (gfloat), NULL);
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (gint k = 0; k < n; k++)
    for (gint c = 0; c < st->dim; c++)
      ((gfloat *) map.data)[k * st->dim + c] =
          (gfloat) line_value (s, c, stream_vector_time (st, first + k));
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = st->first_pts + gst_util_uint64_scale (first,
      GST_SECOND * st->rate_d, st->rate_n);
  GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (first + n, GST_SECOND * st->rate_d,
      st->rate_n) - gst_util_uint64_scale (first, GST_SECOND * st->rate_d, st->rate_n);
  g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_OK);
}

/* Pushes n vectors of stream s in buffers of `per_buffer`, then EOS. */
static void
push_stream (GstHarness *h, const Stream *st, gint s, gint n, gint per_buffer)
{
  for (gint k = 0; k < n; k += per_buffer)
    push_vectors (h, st, s, k, MIN (per_buffer, n - k));
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
}

/* Harnesses on sink_0 .. sink_{n-1} of one tslfuse; hs[0] owns the src. */
static void
new_harnesses (GstHarness **hs, gint n)
{
  hs[0] = gst_harness_new_with_padnames ("tslfuse", "sink_0", "src");
  for (gint i = 1; i < n; i++) {
    g_autofree gchar *name = g_strdup_printf ("sink_%d", i);
    hs[i] = gst_harness_new_with_element (hs[0]->element, name, NULL);
  }
}

static void
free_harnesses (GstHarness **hs, gint n)
{
  for (gint i = n - 1; i >= 0; i--)
    gst_harness_teardown (hs[i]);
}

/* Pulls output buffers until EOS and checks every vector: the first
 * stream's own values, then each other stream's line at the first
 * stream's time, clamped to [first, last] of its vector times. Returns
 * the number of vectors. */
static gint
check_output (GstHarness *h, const Stream *streams, const gint *n_vectors, gint n_streams)
{
  gint out_dim = 0, seen = 0;
  GstEvent *event;

  for (gint s = 0; s < n_streams; s++)
    out_dim += streams[s].dim;
  for (;;) {
    GstBuffer *buf = gst_harness_pull (h);
    GstMapInfo map;
    gint count;

    g_assert_nonnull (buf);
    gst_buffer_map (buf, &map, GST_MAP_READ);
    count = (gint) (map.size / (out_dim * sizeof (gfloat)));
    g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, streams[0].first_pts +
        gst_util_uint64_scale (seen, GST_SECOND * streams[0].rate_d, streams[0].rate_n));
    for (gint k = 0; k < count; k++) {
      const gfloat *row = (const gfloat *) map.data + (gsize) k * out_dim;
      const gdouble t = stream_vector_time (&streams[0], seen + k);
      gint offset = 0;

      for (gint s = 0; s < n_streams; s++) {
        const gdouble t_first = stream_vector_time (&streams[s], 0);
        const gdouble t_last = stream_vector_time (&streams[s], n_vectors[s] - 1);
        const gdouble ts = CLAMP (t, t_first, t_last);

        for (gint c = 0; c < streams[s].dim; c++) {
          const gdouble want = line_value (s, c, ts);
          if (fabs (row[offset + c] - want) > FUSE_ATOL) {
            g_test_message ("vector %d (t %.4f s), stream %d channel %d: got %.6f, want %.6f",
                seen + k, t, s, c, row[offset + c], want);
            g_test_fail ();
          }
        }
        offset += streams[s].dim;
      }
    }
    gst_buffer_unmap (buf, &map);
    gst_buffer_unref (buf);
    seen += count;
    if (seen >= n_vectors[0])
      break;
  }
  /* then EOS, after the stream-start, caps and segment events */
  while ((event = gst_harness_pull_event (h)) != NULL) {
    const gboolean eos = GST_EVENT_TYPE (event) == GST_EVENT_EOS;
    gst_event_unref (event);
    if (eos)
      break;
  }
  g_assert_null (gst_harness_try_pull (h));
  return seen;
}

typedef struct {
  GstHarness *h;
  const Stream *stream;
  gint index, n, per_buffer;
} Pusher;

static gpointer
push_thread (gpointer data)
{
  Pusher *p = data;

  push_stream (p->h, p->stream, p->index, p->n, p->per_buffer);
  return NULL;
}

/* Each stream is pushed from a thread of its own, as from its own
 * upstream: an aggregator pad takes the next buffer only once the last
 * has been used. */
static void
check_fusion (const Stream *streams, const gint *n_vectors, const gint *per_buffer,
    gint n_streams)
{
  GstHarness *hs[4];
  Pusher pushers[4];
  GThread *threads[4];
  g_autoptr (GstCaps) caps = NULL;
  gint dim_sum = 0, out_dim;

  new_harnesses (hs, n_streams);
  for (gint s = 0; s < n_streams; s++) {
    set_caps (hs[s], &streams[s]);
    dim_sum += streams[s].dim;
  }
  for (gint s = 0; s < n_streams; s++) {
    pushers[s] = (Pusher) { hs[s], &streams[s], s, n_vectors[s], per_buffer[s] };
    threads[s] = g_thread_new ("push", push_thread, &pushers[s]);
  }
  g_assert_cmpint (check_output (hs[0], streams, n_vectors, n_streams), ==, n_vectors[0]);
  for (gint s = 0; s < n_streams; s++)
    g_thread_join (threads[s]);
  caps = gst_pad_get_current_caps (hs[0]->sinkpad);
  g_assert_nonnull (caps);
  g_assert_true (gst_structure_get_int (gst_caps_get_structure (caps, 0), "dim", &out_dim));
  g_assert_cmpint (out_dim, ==, dim_sum);
  free_harnesses (hs, n_streams);
}

static void
test_same_grid (void)
{
  const Stream streams[2] = {
    {3, 15, 8, 533333333, GST_SECOND},
    {2, 15, 8, 533333333, GST_SECOND},
  };
  const gint n[2] = { 12, 12 }, per[2] = { 4, 5 };

  check_fusion (streams, n, per, 2);
}

static void
test_rates (void)
{
  /* video-like 1.875 vectors/s against audio-like 5/s starting 0.3 s earlier */
  const Stream streams[2] = {
    {2, 15, 8, 533333333, GST_SECOND},
    {3, 5, 1, 200000000, 700 * GST_MSECOND},
  };
  const gint n[2] = { 9, 26 }, per[2] = { 2, 7 };

  check_fusion (streams, n, per, 2);
}

static void
test_ends_early (void)
{
  const Stream streams[2] = {
    {2, 2, 1, 500000000, 0},
    {2, 3, 1, 333333333, 0},
  };
  const gint n[2] = { 10, 6 }, per[2] = { 3, 6 };

  check_fusion (streams, n, per, 2);
}

static void
test_three_pads (void)
{
  const Stream streams[3] = {
    {2, 4, 1, 250000000, 0},
    {3, 10, 1, 100000000, 0},
    {1, 1, 1, GST_SECOND, 0},
  };
  const gint n[3] = { 16, 40, 4 }, per[3] = { 16, 3, 1 };

  check_fusion (streams, n, per, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/tslfuse/same-grid", test_same_grid);
  g_test_add_func ("/tslfuse/rates", test_rates);
  g_test_add_func ("/tslfuse/ends-early", test_ends_early);
  g_test_add_func ("/tslfuse/three-pads", test_three_pads);
  return g_test_run ();
}

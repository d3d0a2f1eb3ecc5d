/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tslactionformer.c: GstHarness tests of tslactionformer on the project's
 * ActionFormer fixture (tests/data/actionformer-fixture.safetensors, from
 * tools/make-actionformer-fixture.py: input_dim 12, 3 classes, 4 levels,
 * max_seq_len 64, and the reference per-level outputs of video0, T = 50).
 *
 *   caps          dim 12 gives scores caps with classes, levels, rate and
 *                 window; dim 13 is a CORE NEGOTIATION error naming 13 and 12
 *   offline       the one scores buffer equals the reference logits, offsets
 *                 and masks within 1e-4; header, PTS (= first feature's),
 *                 duration; nothing comes out before EOS, and the buffer is
 *                 out before EOS is forwarded
 *   gap           a GAP event, a timestamp jump and an overlapping buffer,
 *                 offline and streaming: the output equals a direct libtsl
 *                 forward on the features with zeros in the gaps and the
 *                 overlap dropped; a GAP first sets the grid's origin
 *   flush         FLUSH_STOP forgets what came before
 *   streaming     for several (window, hop): each window comes out as soon
 *                 as its last feature is in, the commit ranges tile [0, T)
 *                 exactly once, offsets/PTS/lengths follow the contract, the
 *                 scores equal a direct forward on the window's features,
 *                 and buffers of 7 vectors give the same output as 1
 *   latency       streaming adds (m + hop) / R to upstream's latency,
 *                 offline adds nothing
 *   errors        NaN features (STREAM FAILED naming the vector), an offline
 *                 stream longer than the model takes, a missing model file,
 *                 hop > window, a streaming window longer than the model takes
 *   states        NULL -> PLAYING -> NULL three times on one element, with a
 *                 whole stream each time, giving the same output
 */
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <math.h>
#include <string.h>

#include "backend.h"
#include "gsttslscores.h"
#include "io/safetensors.h"
#include "models/actionformer/model.h"
#include "testutil.h"

#define D_IN 12                 /* the fixture's input_dim */
#define K_CLASSES 3
#define N_LEVELS 4
#define T_VIDEO 50              /* video0 */
#define RATE_N 15               /* 30 fps / feat_stride 16 */
#define RATE_D 8
#define WINDOW_NS G_GUINT64_CONSTANT (533333333)        /* 16 frames at 30 fps */
#define FEATURES_CAPS "application/x-tsl-features, dim=(int)12, rate=(fraction)15/8, " \
    "window=(guint64)533333333"
/* the first feature's PTS in most tests: not 0, so that PTS bugs show */
#define BASE_PTS (3 * GST_SECOND)

static gchar *model_path;
static TslSafetensors *fixture;
static TslBackend *ref_backend;
static TslActionFormer *ref_net;        /* direct libtsl forward, the reference */
static gfloat video_rows[T_VIDEO * D_IN];       /* video0.feats as rows [T, D] */

static GstClockTime
index_to_time (guint64 index)
{
  return gst_util_uint64_scale (index, GST_SECOND * RATE_D, RATE_N);
}

/* ---- harness helpers ---- */

/* A playing tslactionformer (CPU) in a harness, its bus in *bus. */
static GstHarness *
new_harness (const gchar *mode, guint window, guint hop, GstBus **bus)
{
  GstElement *e = gst_element_factory_make ("tslactionformer", NULL);
  GstHarness *h;

  g_assert_nonnull (e);
  gst_util_set_object_arg (G_OBJECT (e), "mode", mode);
  gst_util_set_object_arg (G_OBJECT (e), "backend", "cpu");
  g_object_set (e, "model", model_path, "window", window, "hop", hop, NULL);
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

/* Pushes rows [n, D] as one buffer whose first vector has grid index
 * `index` (PTS = BASE_PTS + index / R). */
static GstFlowReturn
push_rows (GstHarness *h, const gfloat *rows, guint64 index, gint n)
{
  GstBuffer *buf = gst_buffer_new_memdup (rows, (gsize) n * D_IN * sizeof (gfloat));

  GST_BUFFER_PTS (buf) = BASE_PTS + index_to_time (index);
  GST_BUFFER_DURATION (buf) = index_to_time (index + n) - index_to_time (index);
  return gst_harness_push (h, buf);
}

/* Pushes video rows [first, first + n) in buffers of `per_buffer`. */
static void
push_video (GstHarness *h, gint first, gint n, gint per_buffer)
{
  for (gint i = first; i < first + n; i += per_buffer)
    g_assert_cmpint (push_rows (h, video_rows + (gsize) i * D_IN, i,
            MIN (per_buffer, first + n - i)), ==, GST_FLOW_OK);
}

/* Every buffer the harness holds, then asserts that EOS has arrived. */
static GPtrArray *
pull_until_eos (GstHarness *h)
{
  GPtrArray *buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
  GstBuffer *buf;

  while (TRUE) {
    g_assert_true (gst_harness_pull_until_eos (h, &buf));
    if (buf == NULL)
      break;
    g_ptr_array_add (buffers, buf);
  }
  return buffers;
}

/* A mapped scores buffer and its arrays. */
typedef struct {
  GstMapInfo map;
  GstBuffer *buf;
  const GstTslScoresHeader *header;
  const float *cls[GST_TSL_SCORES_MAX_LEVELS];
  const float *off[GST_TSL_SCORES_MAX_LEVELS];
  const float *mask[GST_TSL_SCORES_MAX_LEVELS];
} Scores;

static void
scores_map (Scores *s, GstBuffer *buf)
{
  s->buf = buf;
  g_assert_true (gst_buffer_map (buf, &s->map, GST_MAP_READ));
  g_assert_true (gst_tsl_scores_parse (s->map.data, s->map.size, &s->header, s->cls, s->off,
          s->mask));
  g_assert_cmpint (s->header->num_classes, ==, K_CLASSES);
  g_assert_cmpint (s->header->n_levels, ==, N_LEVELS);
}

static void
scores_unmap (Scores *s)
{
  gst_buffer_unmap (s->buf, &s->map);
}

/* Every level of `s` against a direct forward on rows [T, D]. */
static void
check_against_forward (const Scores *s, const gfloat *rows, gint T, const gchar *what)
{
  g_autofree gfloat *chw = g_new (gfloat, (gsize) T * D_IN);
  g_autoptr (GError) error = NULL;
  TslActionFormerOutput out;

  for (gint t = 0; t < T; t++)
    for (gint d = 0; d < D_IN; d++)
      chw[(gsize) d * T + t] = rows[(gsize) t * D_IN + d];
  g_assert_true (tsl_actionformer_forward (ref_net, chw, T, &out, &error));
  g_assert_cmpint (out.n_levels, ==, s->header->n_levels);
  for (gint l = 0; l < out.n_levels; l++) {
    const gsize T_l = (gsize) out.level_len[l];
    g_autofree gchar *cls = g_strdup_printf ("%s cls_logits.%d", what, l);
    g_autofree gchar *off = g_strdup_printf ("%s reg_offsets.%d", what, l);
    g_autofree gchar *mask = g_strdup_printf ("%s mask.%d", what, l);

    g_assert_cmpint (s->header->levels[l].T, ==, out.level_len[l]);
    g_assert_cmpint (s->header->levels[l].stride, ==, 1 << l);
    /* the same code on the same input: only summation order could differ */
    tsl_test_check_close_f (cls, s->cls[l], out.cls_logits[l], K_CLASSES * T_l, 1e-6, 1e-6);
    tsl_test_check_close_f (off, s->off[l], out.reg_offsets[l], 2 * T_l, 1e-6, 1e-6);
    tsl_test_check_close_f (mask, s->mask[l], out.mask[l], T_l, 0, 0);
  }
}

/* The next ERROR message on the bus: checks its domain, code and that its
 * message holds every word of `words` (NULL-terminated). */
static void
expect_error (GstBus *bus, GQuark domain, gint code, const gchar *const *words)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  g_test_message ("error: %s", error->message);
  g_assert_true (g_error_matches (error, domain, code));
  for (gint i = 0; words[i] != NULL; i++)
    g_assert_nonnull (strstr (error->message, words[i]));
  gst_message_unref (msg);
}

/* ---- tests ---- */

static void
test_caps (void)
{
  GstBus *bus;
  GstHarness *h = new_harness ("offline", 0, 0, &bus);
  GstCaps *caps;
  const GstStructure *s;
  gint classes, levels, rate_n, rate_d;
  guint64 window;

  gst_harness_set_src_caps_str (h, FEATURES_CAPS);
  caps = gst_pad_get_current_caps (h->sinkpad);
  g_assert_nonnull (caps);
  s = gst_caps_get_structure (caps, 0);
  g_assert_cmpstr (gst_structure_get_name (s), ==, GST_TSL_SCORES_CAPS_NAME);
  g_assert_true (gst_structure_get_int (s, "classes", &classes));
  g_assert_true (gst_structure_get_int (s, "levels", &levels));
  g_assert_true (gst_structure_get_fraction (s, "rate", &rate_n, &rate_d));
  g_assert_true (gst_structure_get_uint64 (s, "window", &window));
  g_assert_cmpint (classes, ==, K_CLASSES);
  g_assert_cmpint (levels, ==, N_LEVELS);
  g_assert_cmpint (rate_n, ==, RATE_N);
  g_assert_cmpint (rate_d, ==, RATE_D);
  g_assert_cmpuint (window, ==, WINDOW_NS);
  gst_caps_unref (caps);
  free_harness (h, bus);
}

static void
test_caps_wrong_dim (void)
{
  GstBus *bus;
  GstHarness *h = new_harness ("offline", 0, 0, &bus);
  const gchar *words[] = { "13", "12", NULL };

  GstPad *sinkpad = gst_element_get_static_pad (h->element, "sink");

  /* a sticky event counts as pushed once stored on the harness' pad */
  gst_harness_push_event (h, gst_event_new_caps (gst_caps_from_string
          ("application/x-tsl-features, dim=(int)13, rate=(fraction)15/8, "
              "window=(guint64)533333333")));
  expect_error (bus, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION, words);
  /* refused: neither the element's sink nor its source has caps */
  g_assert_null (gst_pad_get_current_caps (sinkpad));
  g_assert_null (gst_pad_get_current_caps (h->sinkpad));
  gst_object_unref (sinkpad);
  free_harness (h, bus);
}

/* Offline: one buffer, at EOS, equal to the fixture's reference outputs. */
static void
test_offline_reference (void)
{
  GstBus *bus;
  GstHarness *h = new_harness ("offline", 0, 0, &bus);
  g_autoptr (GPtrArray) buffers = NULL;
  g_autoptr (GError) error = NULL;
  Scores s;

  gst_harness_set_src_caps_str (h, FEATURES_CAPS);
  push_video (h, 0, T_VIDEO, 7);
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 0);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  /* EOS is handled synchronously: the buffer is out before EOS went on */
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 1);
  buffers = pull_until_eos (h);
  g_assert_cmpuint (buffers->len, ==, 1);

  scores_map (&s, g_ptr_array_index (buffers, 0));
  g_assert_cmpint (s.header->valid_len, ==, T_VIDEO);
  g_assert_cmpint (s.header->commit_start, ==, 0);
  g_assert_cmpint (s.header->commit_end, ==, T_VIDEO);
  g_assert_cmpuint (s.header->stream_offset, ==, 0);
  g_assert_cmpuint (s.header->stream_len, ==, T_VIDEO);
  g_assert_true (s.header->final);
  g_assert_cmpuint (GST_BUFFER_PTS (s.buf), ==, BASE_PTS);
  g_assert_cmpuint (GST_BUFFER_DURATION (s.buf), ==, index_to_time (T_VIDEO));
  g_assert_true (GST_BUFFER_FLAG_IS_SET (s.buf, GST_BUFFER_FLAG_DISCONT));
  for (gint l = 0; l < N_LEVELS; l++) {
    const gint T_l = s.header->levels[l].T;
    g_autofree gchar *cls = g_strdup_printf ("video0.cls_logits.%d", l);
    g_autofree gchar *off = g_strdup_printf ("video0.reg_offsets.%d", l);
    g_autofree gchar *mask = g_strdup_printf ("video0.mask.%d", l);
    g_autofree gfloat *ref_cls = g_new (gfloat, K_CLASSES * T_l);
    g_autofree gfloat *ref_off = g_new (gfloat, 2 * T_l);
    g_autofree gfloat *ref_mask = g_new (gfloat, T_l);

    g_assert_cmpint (T_l, ==, 64 >> l);
    g_assert_true (tsl_safetensors_read_f32 (fixture, cls, ref_cls, K_CLASSES * T_l, &error));
    g_assert_true (tsl_safetensors_read_f32 (fixture, off, ref_off, 2 * T_l, &error));
    g_assert_true (tsl_safetensors_read_f32 (fixture, mask, ref_mask, T_l, &error));
    /* PyTorch reference vs libtsl: float32 sums in another order */
    tsl_test_check_close_f (cls, s.cls[l], ref_cls, K_CLASSES * T_l, 1e-4, 0);
    tsl_test_check_close_f (off, s.off[l], ref_off, 2 * T_l, 1e-4, 0);
    tsl_test_check_close_f (mask, s.mask[l], ref_mask, T_l, 0, 0);
  }
  scores_unmap (&s);
  free_harness (h, bus);
}

/* A GAP event over [20, 26), a PTS jump over [30, 35), and a buffer that
 * starts two vectors before the end of the grid (at 41 when the grid ends
 * at 43), then EOS. The grid this must give is written to expected
 * [GAP_LEN, D]: zeros in both gaps, the two overlapping vectors dropped. */
#define GAP_LEN 48

static void
push_gap_scenario (GstHarness *h, gfloat *expected)
{
  gfloat overlap[7 * D_IN];

  memcpy (expected, video_rows, GAP_LEN * D_IN * sizeof (gfloat));
  memset (expected + 20 * D_IN, 0, 6 * D_IN * sizeof (gfloat));
  memset (expected + 30 * D_IN, 0, 5 * D_IN * sizeof (gfloat));
  /* [41, 48): two vectors that must not replace 41 and 42, then 43 .. 47 */
  for (gint i = 0; i < 2 * D_IN; i++)
    overlap[i] = 100.0f;
  memcpy (overlap + 2 * D_IN, video_rows + 43 * D_IN, 5 * D_IN * sizeof (gfloat));

  gst_harness_set_src_caps_str (h, FEATURES_CAPS);
  push_video (h, 0, 20, 5);
  g_assert_true (gst_harness_push_event (h, gst_event_new_gap (BASE_PTS + index_to_time (20),
              index_to_time (26) - index_to_time (20))));
  push_video (h, 26, 4, 4);
  push_video (h, 35, 8, 4);     /* [35, 43) */
  g_assert_cmpint (push_rows (h, overlap, 41, 7), ==, GST_FLOW_OK);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
}

static void
test_gap (void)
{
  GstBus *bus;
  GstHarness *h = new_harness ("offline", 0, 0, &bus);
  g_autoptr (GPtrArray) buffers = NULL;
  gfloat expected[GAP_LEN * D_IN];
  Scores s;

  push_gap_scenario (h, expected);
  buffers = pull_until_eos (h);
  g_assert_cmpuint (buffers->len, ==, 1);
  scores_map (&s, g_ptr_array_index (buffers, 0));
  g_assert_cmpint (s.header->valid_len, ==, GAP_LEN);
  g_assert_cmpint (s.header->commit_end, ==, GAP_LEN);
  g_assert_cmpuint (GST_BUFFER_PTS (s.buf), ==, BASE_PTS);
  check_against_forward (&s, expected, GAP_LEN, "gap");
  scores_unmap (&s);
  free_harness (h, bus);
}

/* The same in streaming mode (window 16, hop 6): every window sees the
 * zeros at their grid positions, and the commit ranges still tile. */
static void
test_gap_streaming (void)
{
  GstBus *bus;
  GstHarness *h = new_harness ("streaming", 16, 6, &bus);
  g_autoptr (GPtrArray) buffers = NULL;
  gfloat expected[GAP_LEN * D_IN];
  guint64 covered = 0;

  push_gap_scenario (h, expected);
  buffers = pull_until_eos (h);
  /* windows at 0, 6, .., 30 (ending at 46 <= 48), then the final one */
  g_assert_cmpuint (buffers->len, ==, 7);
  for (guint k = 0; k < buffers->len; k++) {
    g_autofree gchar *what = g_strdup_printf ("gap window %u", k);
    Scores s;

    scores_map (&s, g_ptr_array_index (buffers, k));
    g_assert_cmpuint (GST_BUFFER_PTS (s.buf), ==,
        BASE_PTS + index_to_time (s.header->stream_offset));
    g_assert_cmpuint (s.header->stream_offset + s.header->commit_start, ==, covered);
    covered = s.header->stream_offset + s.header->commit_end;
    check_against_forward (&s, expected + s.header->stream_offset * D_IN,
        s.header->valid_len, what);
    scores_unmap (&s);
  }
  g_assert_cmpuint (covered, ==, GAP_LEN);
  free_harness (h, bus);
}

/* A GAP before any buffer sets the grid's origin. */
static void
test_gap_first (void)
{
  GstBus *bus;
  GstHarness *h = new_harness ("offline", 0, 0, &bus);
  g_autoptr (GPtrArray) buffers = NULL;
  gfloat expected[T_VIDEO * D_IN];
  Scores s;

  memcpy (expected, video_rows, sizeof (expected));
  memset (expected, 0, 3 * D_IN * sizeof (gfloat));
  gst_harness_set_src_caps_str (h, FEATURES_CAPS);
  g_assert_true (gst_harness_push_event (h, gst_event_new_gap (BASE_PTS, index_to_time (3))));
  push_video (h, 3, T_VIDEO - 3, 16);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  buffers = pull_until_eos (h);
  g_assert_cmpuint (buffers->len, ==, 1);
  scores_map (&s, g_ptr_array_index (buffers, 0));
  g_assert_cmpuint (GST_BUFFER_PTS (s.buf), ==, BASE_PTS);
  g_assert_cmpint (s.header->valid_len, ==, T_VIDEO);
  check_against_forward (&s, expected, T_VIDEO, "gap-first");
  scores_unmap (&s);
  free_harness (h, bus);
}

static void
test_flush (void)
{
  GstBus *bus;
  GstHarness *h = new_harness ("offline", 0, 0, &bus);
  g_autoptr (GPtrArray) buffers = NULL;
  GstSegment segment;
  Scores s;

  gst_harness_set_src_caps_str (h, FEATURES_CAPS);
  push_video (h, 30, 20, 5);
  g_assert_true (gst_harness_push_event (h, gst_event_new_flush_start ()));
  g_assert_true (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  g_assert_true (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  push_video (h, 0, T_VIDEO, 9);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  buffers = pull_until_eos (h);
  g_assert_cmpuint (buffers->len, ==, 1);
  scores_map (&s, g_ptr_array_index (buffers, 0));
  g_assert_cmpint (s.header->valid_len, ==, T_VIDEO);
  g_assert_cmpuint (GST_BUFFER_PTS (s.buf), ==, BASE_PTS);
  check_against_forward (&s, video_rows, T_VIDEO, "after flush");
  scores_unmap (&s);
  free_harness (h, bus);
}

typedef struct {
  guint window, hop;            /* properties (0 = default) */
  gint w, h;                    /* what they resolve to for the fixture */
} StreamingCase;

static const StreamingCase streaming_cases[] = {
  {16, 6, 16, 6},               /* m = 5 */
  {15, 4, 15, 4},               /* odd window - hop: m = 5 rounds down */
  {16, 16, 16, 16},             /* no overlap, m = 0 */
  {16, 1, 16, 1},               /* a window per feature */
  {20, 0, 20, 10},              /* hop = window / 2 */
  {0, 0, 64, 32},               /* window = max_seq_len > T: only the final window */
  {50, 25, 50, 25},             /* the last window ends exactly at T */
};

static void
test_streaming (gconstpointer data)
{
  const StreamingCase *c = data;
  const gint m = (c->w - c->h) / 2;
  GstBus *bus;
  GstHarness *h = new_harness ("streaming", c->window, c->hop, &bus);
  g_autoptr (GPtrArray) buffers = NULL;
  g_autoptr (GPtrArray) chunked = NULL;
  guint64 covered = 0;
  gint n_windows = 0;

  gst_harness_set_src_caps_str (h, FEATURES_CAPS);
  /* one feature per buffer: window k must come out with feature k h + w - 1 */
  for (gint i = 0; i < T_VIDEO; i++) {
    push_video (h, i, 1, 1);
    if (i + 1 >= c->w && (i + 1 - c->w) % c->h == 0)
      n_windows++;
    g_assert_cmpuint (gst_harness_buffers_received (h), ==, n_windows);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, n_windows + 1);
  buffers = pull_until_eos (h);
  g_assert_cmpuint (buffers->len, ==, n_windows + 1);

  for (guint k = 0; k < buffers->len; k++) {
    const gboolean final = k + 1 == buffers->len;
    const guint64 offset = final ? (guint64) MAX (T_VIDEO - c->w, 0) : k * c->h;
    const gint len = final ? T_VIDEO - (gint) offset : c->w;
    g_autofree gchar *what = g_strdup_printf ("window %u", k);
    Scores s;

    scores_map (&s, g_ptr_array_index (buffers, k));
    g_assert_cmpint (s.header->final, ==, final);
    g_assert_cmpuint (s.header->stream_offset, ==, offset);
    g_assert_cmpint (s.header->valid_len, ==, len);
    g_assert_cmpuint (s.header->stream_len, ==, final ? T_VIDEO : offset + c->w);
    g_assert_cmpuint (GST_BUFFER_PTS (s.buf), ==, BASE_PTS + index_to_time (offset));
    g_assert_cmpuint (GST_BUFFER_DURATION (s.buf), ==,
        index_to_time (offset + len) - index_to_time (offset));
    if (!final) {
      g_assert_cmpint (s.header->commit_start, ==, k == 0 ? 0 : m);
      g_assert_cmpint (s.header->commit_end, ==, m + c->h);
    }
    /* the commit ranges, in stream positions, follow each other from 0 */
    g_assert_cmpuint (offset + s.header->commit_start, ==, covered);
    covered = offset + s.header->commit_end;
    check_against_forward (&s, video_rows + offset * D_IN, len, what);
    scores_unmap (&s);
  }
  g_assert_cmpuint (covered, ==, T_VIDEO);
  free_harness (h, bus);

  /* buffers of 7 vectors (several windows may end in one): the same output */
  h = new_harness ("streaming", c->window, c->hop, &bus);
  gst_harness_set_src_caps_str (h, FEATURES_CAPS);
  push_video (h, 0, T_VIDEO, 7);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  chunked = pull_until_eos (h);
  g_assert_cmpuint (chunked->len, ==, buffers->len);
  for (guint k = 0; k < buffers->len; k++) {
    GstBuffer *a = g_ptr_array_index (buffers, k), *b = g_ptr_array_index (chunked, k);
    GstMapInfo map;

    g_assert_cmpuint (GST_BUFFER_PTS (a), ==, GST_BUFFER_PTS (b));
    g_assert_cmpuint (gst_buffer_get_size (a), ==, gst_buffer_get_size (b));
    g_assert_true (gst_buffer_map (a, &map, GST_MAP_READ));
    g_assert_cmpint (gst_buffer_memcmp (b, 0, map.data, map.size), ==, 0);
    gst_buffer_unmap (a, &map);
  }
  free_harness (h, bus);
}

static void
test_latency (void)
{
  const GstClockTime upstream = 20 * GST_MSECOND;
  GstBus *bus;
  GstHarness *h = new_harness ("streaming", 16, 6, &bus);

  gst_harness_set_src_caps_str (h, FEATURES_CAPS);
  gst_harness_set_upstream_latency (h, upstream);
  /* m + hop = 5 + 6 vectors at 15/8 per second */
  g_assert_cmpuint (gst_harness_query_latency (h), ==, upstream + index_to_time (11));
  free_harness (h, bus);

  h = new_harness ("offline", 0, 0, &bus);
  gst_harness_set_src_caps_str (h, FEATURES_CAPS);
  gst_harness_set_upstream_latency (h, upstream);
  g_assert_cmpuint (gst_harness_query_latency (h), ==, upstream);
  free_harness (h, bus);
}

static void
test_nan (void)
{
  GstBus *bus;
  GstHarness *h = new_harness ("offline", 0, 0, &bus);
  gfloat rows[4 * D_IN];
  const gchar *words[] = { "Feature 5", "vector 13", "NaN", NULL };

  gst_harness_set_src_caps_str (h, FEATURES_CAPS);
  push_video (h, 0, 10, 5);
  memcpy (rows, video_rows + 10 * D_IN, sizeof (rows));
  rows[3 * D_IN + 5] = NAN;
  g_assert_cmpint (push_rows (h, rows, 10, 4), ==, GST_FLOW_ERROR);
  expect_error (bus, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED, words);
  free_harness (h, bus);
}

/* Offline, a stream longer than the model takes (max_seq_len 64 x
 * max_buffer_len_factor 6 = 384 features) fails as soon as it gets there. */
static void
test_offline_too_long (void)
{
  GstBus *bus;
  GstHarness *h = new_harness ("offline", 0, 0, &bus);
  const gchar *words[] = { "385", "384", "mode=streaming", NULL };
  gint index = 0;

  gst_harness_set_src_caps_str (h, FEATURES_CAPS);
  while (index + T_VIDEO <= 384) {
    g_assert_cmpint (push_rows (h, video_rows, index, T_VIDEO), ==, GST_FLOW_OK);
    index += T_VIDEO;
  }
  g_assert_cmpint (push_rows (h, video_rows, index, 384 - index), ==, GST_FLOW_OK);
  g_assert_cmpint (push_rows (h, video_rows, 384, 1), ==, GST_FLOW_ERROR);
  expect_error (bus, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED, words);
  free_harness (h, bus);
}

/* READY -> PAUSED fails with the given error. */
static void
check_load_error (const gchar *model, const gchar *mode, guint window, guint hop, GQuark domain,
    gint code, const gchar *const *words)
{
  GstElement *e = gst_element_factory_make ("tslactionformer", NULL);
  GstBus *bus = gst_bus_new ();

  gst_element_set_bus (e, bus);
  gst_util_set_object_arg (G_OBJECT (e), "mode", mode);
  g_object_set (e, "model", model, "window", window, "hop", hop, NULL);
  g_assert_cmpint (gst_element_set_state (e, GST_STATE_PAUSED), ==, GST_STATE_CHANGE_FAILURE);
  expect_error (bus, domain, code, words);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
}

static void
test_load_errors (void)
{
  const gchar *missing[] = { "no-such-model.safetensors", NULL };
  const gchar *hop[] = { "hop", "9", "8", NULL };
  const gchar *too_long[] = { "1000", NULL };

  check_load_error ("no-such-model.safetensors", "offline", 0, 0, GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_NOT_FOUND, missing);
  check_load_error (model_path, "streaming", 8, 9, GST_LIBRARY_ERROR,
      GST_LIBRARY_ERROR_SETTINGS, hop);
  /* max_seq_len 64 x max_buffer_len_factor 6 = 384 features at most */
  check_load_error (model_path, "streaming", 1000, 0, GST_LIBRARY_ERROR,
      GST_LIBRARY_ERROR_SETTINGS, too_long);
}

/* One element, three times NULL -> PLAYING -> NULL with a whole stream:
 * the model is loaded anew each time and gives the same output. */
static void
test_state_cycles (void)
{
  GstBus *bus;
  GstHarness *h = new_harness ("offline", 0, 0, &bus);

  for (gint round = 0; round < 3; round++) {
    g_autoptr (GPtrArray) buffers = NULL;
    g_autofree gchar *stream_id = g_strdup_printf ("cycle-%d", round);
    Scores s;

    if (round > 0) {
      /* the element's pads lost their sticky events when it went to NULL */
      g_assert_true (gst_harness_push_event (h, gst_event_new_stream_start (stream_id)));
    }
    gst_harness_set_src_caps_str (h, FEATURES_CAPS);
    push_video (h, 0, T_VIDEO, 16);
    g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
    buffers = pull_until_eos (h);
    g_assert_cmpuint (buffers->len, ==, 1);
    scores_map (&s, g_ptr_array_index (buffers, 0));
    check_against_forward (&s, video_rows, T_VIDEO, "cycle");
    scores_unmap (&s);
    g_assert_cmpint (gst_element_set_state (h->element, GST_STATE_NULL), ==,
        GST_STATE_CHANGE_SUCCESS);
    gst_harness_play (h);
  }
  free_harness (h, bus);
}

/* ---- set-up ---- */

static void
load_fixture (void)
{
  const gchar *dir = g_getenv ("TSL_TEST_DATA");
  g_autoptr (GError) error = NULL;
  gfloat chw[D_IN * T_VIDEO];

  g_assert_nonnull (dir);
  model_path = g_build_filename (dir, "actionformer-fixture.safetensors", NULL);
  fixture = tsl_safetensors_open (model_path, &error);
  g_assert_no_error (error);
  g_assert_true (tsl_safetensors_read_f32 (fixture, "video0.feats", chw, D_IN * T_VIDEO,
          &error));
  for (gint t = 0; t < T_VIDEO; t++)
    for (gint d = 0; d < D_IN; d++)
      video_rows[t * D_IN + d] = chw[d * T_VIDEO + t];
  ref_backend = tsl_backend_new ("cpu", &error);
  g_assert_no_error (error);
  ref_net = tsl_actionformer_new (ref_backend, fixture, &error);
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  load_fixture ();

  g_test_add_func ("/tslactionformer/caps", test_caps);
  g_test_add_func ("/tslactionformer/caps-wrong-dim", test_caps_wrong_dim);
  g_test_add_func ("/tslactionformer/offline-reference", test_offline_reference);
  g_test_add_func ("/tslactionformer/gap", test_gap);
  g_test_add_func ("/tslactionformer/gap-streaming", test_gap_streaming);
  g_test_add_func ("/tslactionformer/gap-first", test_gap_first);
  g_test_add_func ("/tslactionformer/flush", test_flush);
  for (guint i = 0; i < G_N_ELEMENTS (streaming_cases); i++) {
    const StreamingCase *c = &streaming_cases[i];
    g_autofree gchar *name = g_strdup_printf ("/tslactionformer/streaming/window=%u,hop=%u",
        c->window, c->hop);
    g_test_add_data_func (name, c, test_streaming);
  }
  g_test_add_func ("/tslactionformer/latency", test_latency);
  g_test_add_func ("/tslactionformer/nan", test_nan);
  g_test_add_func ("/tslactionformer/offline-too-long", test_offline_too_long);
  g_test_add_func ("/tslactionformer/load-errors", test_load_errors);
  g_test_add_func ("/tslactionformer/state-cycles", test_state_cycles);
  status = g_test_run ();

  tsl_actionformer_free (ref_net);
  tsl_backend_free (ref_backend);
  tsl_safetensors_close (fixture);
  g_free (model_path);
  return status;
}

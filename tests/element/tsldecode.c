/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tsldecode.c: GstHarness tests of the tsldecode element
 * (plugins/gsttsldecode.c): known scores in, known events out, on every
 * output path (buffer, meta, bus message, JSON, caption text), bad caps and
 * bad buffers, the streaming contract (tiled windows against one offline
 * window, no event twice, EOS and FLUSH), state changes and meta copies.
 *
 * Scores are built by hand from a "scene": blobs of points of one level
 * whose class logit is high and whose offsets all point at one segment;
 * every other logit is -20 (probability 2e-9, far below any threshold).
 * Stream grid g (level-0 feature index) stands for g / R + W / 2 seconds;
 * here R = 2 vectors per second and W = 0.5 s.
 */
#include <glib/gstdio.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "gsttsldecode.h"
#include "gsttslmeta.h"
#include "gsttslscores.h"
#include "io/safetensors.h"

#define RATE_N 2
#define RATE_D 1
#define WINDOW_NS (GST_SECOND / 2)
#define LOW_LOGIT (-20.0f)

typedef struct {
  gint label;
  gint level;
  gint first_grid, end_grid;    /* points of the level at stream grid [first, end) */
  gdouble seg_start, seg_end;   /* the segment they all point at, stream grid */
  gfloat logit;
} Blob;

typedef struct {
  gint K, L;
  const Blob *blobs;
  gint n_blobs;
} Scene;

typedef struct {
  guint64 offset;               /* stream grid of the window's first feature */
  gint len;                     /* features in the window */
  gint commit_start, commit_end;        /* relative to the window */
  guint64 stream_len;
  gboolean final;
} Window;

typedef struct {
  gint label_id;
  gdouble score;
  GstClockTime start, end;
  gint batch;                   /* how many scores buffers had been pushed when it came out */
} Event;

/* ---- building scores buffers ---- */

static void
fill_header (GstTslScoresHeader *h, const Scene *scene, const Window *w)
{
  const gint pad_to = 1 << (scene->L - 1);
  const gint padded = (w->len + pad_to - 1) / pad_to * pad_to;

  memset (h, 0, sizeof (*h));
  h->version = GST_TSL_SCORES_VERSION;
  h->num_classes = scene->K;
  h->n_levels = scene->L;
  h->valid_len = w->len;
  h->commit_start = w->commit_start;
  h->commit_end = w->commit_end;
  h->stream_offset = w->offset;
  h->stream_len = w->stream_len;
  h->final = w->final;
  for (gint l = 0; l < scene->L; l++) {
    h->levels[l].stride = 1 << l;
    h->levels[l].T = padded >> l;
  }
}

static GstBuffer *
make_scores (const Scene *scene, const Window *w)
{
  GstTslScoresHeader h;
  GstBuffer *buf;
  GstMapInfo map;
  gsize size;
  float *p;

  fill_header (&h, scene, w);
  size = gst_tsl_scores_size (&h);
  g_assert_cmpuint (size, >, 0);
  buf = gst_buffer_new_allocate (NULL, size, NULL);
  g_assert_true (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  memcpy (map.data, &h, sizeof (h));
  p = (float *) (map.data + sizeof (h));
  for (gint l = 0; l < scene->L; l++) {
    const gint T = h.levels[l].T, stride = h.levels[l].stride;
    float *logits = p, *off = p + (gsize) scene->K * T, *mask = off + 2 * T;

    for (gint t = 0; t < T; t++) {
      const gint64 g = (gint64) w->offset + (gint64) t * stride;

      for (gint k = 0; k < scene->K; k++)
        logits[k * T + t] = LOW_LOGIT;
      off[t] = off[T + t] = 1.0f;
      mask[t] = (gint64) t * stride < w->len ? 1.0f : 0.0f;
      for (gint b = 0; b < scene->n_blobs; b++) {
        const Blob *blob = &scene->blobs[b];

        if (blob->level != l || g < blob->first_grid || g >= blob->end_grid)
          continue;
        logits[blob->label * T + t] = blob->logit;
        off[t] = (float) ((g - blob->seg_start) / stride);
        off[T + t] = (float) ((blob->seg_end - g) / stride);
      }
    }
    p = mask + T;
  }
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = gst_util_uint64_scale (w->offset, GST_SECOND * RATE_D, RATE_N);
  GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (w->len, GST_SECOND * RATE_D, RATE_N);
  return buf;
}

static GstCaps *
scores_caps (gint classes, gint levels)
{
  return gst_caps_new_simple (GST_TSL_SCORES_CAPS_NAME, "classes", G_TYPE_INT, classes,
      "levels", G_TYPE_INT, levels, "rate", GST_TYPE_FRACTION, RATE_N, RATE_D,
      "window", G_TYPE_UINT64, (guint64) WINDOW_NS, NULL);
}

/* A harness on a tsldecode with the given properties (NULL-terminated
 * name / value pairs), caps set, a private bus. */
static GstHarness *
decode_harness (const Scene *scene, GstBus **bus, const gchar *first_prop, ...)
{
  GstElement *el = gst_element_factory_make ("tsldecode", NULL);
  GstHarness *h;
  va_list args;

  g_assert_nonnull (el);
  va_start (args, first_prop);
  if (first_prop != NULL)
    g_object_set_valist (G_OBJECT (el), first_prop, args);
  va_end (args);
  h = gst_harness_new_with_element (el, "sink", "src");
  gst_object_unref (el);
  *bus = gst_bus_new ();
  gst_element_set_bus (h->element, *bus);
  if (scene != NULL)
    gst_harness_set_src_caps (h, scores_caps (scene->K, scene->L));
  return h;
}

static void
harness_done (GstHarness *h, GstBus *bus)
{
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

/* Pulls every buffer waiting at the harness; appends its event. */
static void
pull_events (GstHarness *h, GArray *events, gint batch)
{
  guint n = gst_harness_buffers_in_queue (h);

  for (guint i = 0; i < n; i++) {
    GstBuffer *buf = gst_harness_pull (h);
    GstTslEventMeta *meta = gst_buffer_get_tsl_event_meta (buf);
    Event ev;

    g_assert_nonnull (meta);
    ev = (Event) { meta->label_id, meta->score, meta->start, meta->end, batch };
    g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, meta->start);
    g_assert_cmpuint (GST_BUFFER_DURATION (buf), ==, meta->end - meta->start);
    g_array_append_val (events, ev);
    gst_buffer_unref (buf);
  }
}

/* Decodes the windows in order with the given latency (ns) and NMS;
 * returns every event, tagged with the number of windows pushed before it came out. */
static GArray *
decode_windows (const Scene *scene, const Window *windows, gint n_windows, guint64 latency_ns,
    GstTslDecodeNmsMethod nms_method)
{
  GArray *events = g_array_new (FALSE, FALSE, sizeof (Event));
  GstBus *bus;
  GstHarness *h = decode_harness (scene, &bus, "latency", latency_ns, "nms-method", nms_method,
      NULL);

  for (gint i = 0; i < n_windows; i++) {
    g_assert_cmpint (gst_harness_push (h, make_scores (scene, &windows[i])), ==, GST_FLOW_OK);
    pull_events (h, events, i + 1);
  }
  g_assert_null (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR));
  harness_done (h, bus);
  return events;
}

static gint
compare_events (gconstpointer pa, gconstpointer pb)
{
  const Event *a = pa, *b = pb;

  if (a->start != b->start)
    return a->start < b->start ? -1 : 1;
  if (a->end != b->end)
    return a->end < b->end ? -1 : 1;
  if (a->label_id != b->label_id)
    return a->label_id < b->label_id ? -1 : 1;
  return a->score > b->score ? -1 : a->score < b->score;
}

/* The same events, whatever batches they came in. */
static void
assert_same_events (const GArray *got_batches, const GArray *want_batches)
{
  g_autoptr (GArray) got = g_array_copy ((GArray *) got_batches);
  g_autoptr (GArray) want = g_array_copy ((GArray *) want_batches);

  g_array_sort (got, compare_events);
  g_array_sort (want, compare_events);
  g_assert_cmpuint (got->len, ==, want->len);
  for (guint i = 0; i < got->len; i++) {
    const Event *a = &g_array_index (got, Event, i), *b = &g_array_index (want, Event, i);

    g_assert_cmpint (a->label_id, ==, b->label_id);
    g_assert_cmpuint (a->start, ==, b->start);
    g_assert_cmpuint (a->end, ==, b->end);
    /* the sigmoid is rounded by position in each window's buffer (1-2 ulp) */
    g_assert_cmpfloat_with_epsilon (a->score, b->score, 1e-5);
  }
}

/* ---- the known answer ---- */

/* Class 2 high at level-0 points 20 .. 29, all pointing at [20, 30]: with
 * min-score 0.2 soft-NMS keeps the first of the ten identical candidates
 * (the rest decay by exp(-1 / 0.5) to 0.13), so exactly one event:
 * start 20 / 2 + 0.25 = 10.25 s, end 30 / 2 + 0.25 = 15.25 s, score
 * sigmoid(3). */
static const Blob known_blobs[] = {
  {2, 0, 20, 30, 20.0, 30.0, 3.0f},
};

static const Scene known_scene = { 4, 2, known_blobs, G_N_ELEMENTS (known_blobs) };
static const Window known_window = { 0, 64, 0, 64, 64, TRUE };

#define KNOWN_START (10 * GST_SECOND + GST_SECOND / 4)
#define KNOWN_END (15 * GST_SECOND + GST_SECOND / 4)
#define KNOWN_SCORE (1.0 / (1.0 + exp (-3.0)))

static void
check_known_meta (GstBuffer *buf, const gchar *label)
{
  GstTslEventMeta *meta = gst_buffer_get_tsl_event_meta (buf);

  g_assert_nonnull (meta);
  g_assert_cmpstr (meta->label, ==, label);
  g_assert_cmpint (meta->label_id, ==, 2);
  g_assert_cmpfloat_with_epsilon (meta->score, KNOWN_SCORE, 1e-6);
  g_assert_cmpuint (meta->start, ==, KNOWN_START);
  g_assert_cmpuint (meta->end, ==, KNOWN_END);
}

static void
check_known_message (GstBus *bus, const gchar *label)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
  const GstStructure *s;
  const gchar *got_label;
  gint label_id;
  gdouble score;
  guint64 start, end, stream_time, running_time;

  g_assert_nonnull (msg);
  s = gst_message_get_structure (msg);
  g_assert_cmpstr (gst_structure_get_name (s), ==, "tsl-event");
  got_label = gst_structure_get_string (s, "label");
  g_assert_cmpstr (got_label, ==, label);
  g_assert_true (gst_structure_get_int (s, "label-id", &label_id));
  g_assert_cmpint (label_id, ==, 2);
  g_assert_true (gst_structure_get_double (s, "score", &score));
  g_assert_cmpfloat_with_epsilon (score, KNOWN_SCORE, 1e-6);
  g_assert_true (gst_structure_get_uint64 (s, "start", &start));
  g_assert_true (gst_structure_get_uint64 (s, "end", &end));
  g_assert_true (gst_structure_get_uint64 (s, "stream-time", &stream_time));
  g_assert_true (gst_structure_get_uint64 (s, "running-time", &running_time));
  g_assert_cmpuint (start, ==, KNOWN_START);
  g_assert_cmpuint (end, ==, KNOWN_END);
  /* the default segment: stream time and running time equal buffer time */
  g_assert_cmpuint (stream_time, ==, KNOWN_START);
  g_assert_cmpuint (running_time, ==, KNOWN_START);
  gst_message_unref (msg);
  g_assert_null (gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT));
}

static void
test_known_answer_json (void)
{
  GstBus *bus;
  GstHarness *h = decode_harness (&known_scene, &bus, "min-score", 0.2, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  GstBuffer *buf;
  GstMapInfo map;
  GstCaps *caps;
  JsonObject *obj;

  g_assert_cmpint (gst_harness_push (h, make_scores (&known_scene, &known_window)), ==,
      GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 1);

  caps = gst_pad_get_current_caps (h->sinkpad);
  g_assert_nonnull (caps);
  g_assert_cmpstr (gst_structure_get_name (gst_caps_get_structure (caps, 0)), ==,
      "application/x-json");
  gst_caps_unref (caps);

  buf = gst_harness_pull (h);
  g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, KNOWN_START);
  g_assert_cmpuint (GST_BUFFER_DURATION (buf), ==, KNOWN_END - KNOWN_START);
  check_known_meta (buf, "class_2");
  check_known_message (bus, "class_2");

  /* one JSON object on one newline-terminated line */
  g_assert_true (gst_buffer_map (buf, &map, GST_MAP_READ));
  g_assert_cmpuint (map.size, >, 1);
  g_assert_cmpint (map.data[map.size - 1], ==, '\n');
  g_assert_null (memchr (map.data, '\n', map.size - 1));
  g_assert_true (json_parser_load_from_data (parser, (const gchar *) map.data, map.size, NULL));
  gst_buffer_unmap (buf, &map);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  obj = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (obj, "label"), ==, "class_2");
  g_assert_cmpint (json_object_get_int_member (obj, "label_id"), ==, 2);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (obj, "score"), KNOWN_SCORE,
      1e-6);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (obj, "start"), 10.25, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (obj, "end"), 15.25, 1e-9);
  gst_buffer_unref (buf);

  g_assert_null (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR));
  harness_done (h, bus);
}

static void
test_known_answer_text (void)
{
  GstBus *bus;
  GstHarness *h = decode_harness (&known_scene, &bus, "min-score", 0.2, "format",
      GST_TSL_DECODE_FORMAT_TEXT, NULL);
  GstBuffer *buf;
  GstMapInfo map;
  GstCaps *caps, *want;

  g_assert_cmpint (gst_harness_push (h, make_scores (&known_scene, &known_window)), ==,
      GST_FLOW_OK);
  caps = gst_pad_get_current_caps (h->sinkpad);
  want = gst_caps_from_string ("text/x-raw, format=(string)utf8");
  g_assert_true (gst_caps_is_equal (caps, want));
  gst_caps_unref (want);
  gst_caps_unref (caps);

  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 1);
  buf = gst_harness_pull (h);
  g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, KNOWN_START);
  g_assert_cmpuint (GST_BUFFER_DURATION (buf), ==, KNOWN_END - KNOWN_START);
  g_assert_true (gst_buffer_map (buf, &map, GST_MAP_READ));
  g_assert_cmpmem (map.data, map.size, "class_2 (0.95)", strlen ("class_2 (0.95)"));
  gst_buffer_unmap (buf, &map);
  check_known_meta (buf, "class_2");
  gst_buffer_unref (buf);
  check_known_message (bus, "class_2");
  harness_done (h, bus);
}

/* The same event through hard NMS (enum property), in a window whose
 * memory is not aligned for the header. */
static void
test_known_answer_unaligned (void)
{
  GstBus *bus;
  GstHarness *h = decode_harness (&known_scene, &bus, "nms-method",
      GST_TSL_DECODE_NMS_HARD, NULL);
  GstBuffer *aligned = make_scores (&known_scene, &known_window);
  GstBuffer *shifted, *buf;
  GstMapInfo map;
  guint8 *bytes;

  g_assert_true (gst_buffer_map (aligned, &map, GST_MAP_READ));
  bytes = g_malloc (map.size + 1);
  memcpy (bytes + 1, map.data, map.size);
  shifted = gst_buffer_new ();
  gst_buffer_append_memory (shifted, gst_memory_new_wrapped (0, bytes, map.size + 1, 1,
          map.size, bytes, g_free));
  gst_buffer_unmap (aligned, &map);
  gst_buffer_copy_into (shifted, aligned, GST_BUFFER_COPY_TIMESTAMPS, 0, -1);
  gst_buffer_unref (aligned);

  g_assert_cmpint (gst_harness_push (h, shifted), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 1);
  buf = gst_harness_pull (h);
  check_known_meta (buf, "class_2");
  gst_buffer_unref (buf);
  harness_done (h, bus);
}

/* ---- the model file: labels and test_cfg defaults ---- */

static gchar *
write_model (void)
{
  g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
  g_autoptr (GError) error = NULL;
  gchar *path;
  gint fd = g_file_open_tmp ("tsldecode-XXXXXX.safetensors", &path, &error);
  const float unused[1] = { 0.0f };
  const gint shape[1] = { 1 };

  g_assert_no_error (error);
  close (fd);
  tsl_safetensors_writer_set_metadata (w, "tsl.model", "actionformer");
  tsl_safetensors_writer_set_metadata (w, "tsl.config",
      "{\"dataset\": {\"num_classes\": 4}, \"test_cfg\": {\"min_score\": 0.2}}");
  tsl_safetensors_writer_set_metadata (w, "tsl.labels", "[\"dog\", \"cat\", \"siren\"]");
  g_assert_true (tsl_safetensors_writer_add_f32 (w, "unused", 1, shape, unused, &error));
  g_assert_true (tsl_safetensors_writer_save (w, path, &error));
  g_assert_no_error (error);
  return path;
}

/* Labels from tsl.labels (class_3 where it names none), min_score 0.2 from
 * test_cfg: the known answer without setting min-score. */
static void
test_model_labels (void)
{
  g_autofree gchar *model = write_model ();
  GstBus *bus;
  GstHarness *h = decode_harness (&known_scene, &bus, "model", model, NULL);
  GstBuffer *buf;

  g_assert_cmpint (gst_harness_push (h, make_scores (&known_scene, &known_window)), ==,
      GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 1);
  buf = gst_harness_pull (h);
  check_known_meta (buf, "siren");
  gst_buffer_unref (buf);
  check_known_message (bus, "siren");
  harness_done (h, bus);
  g_unlink (model);
}

/* Pushes caps the element refuses, and the segment data needs after them. */
static void
push_refused_caps (GstHarness *h, GstCaps *caps)
{
  GstSegment segment;

  /* a sticky event counts as pushed once stored: the refusal shows as an
   * error and as not-negotiated data */
  gst_harness_push_event (h, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_harness_push_event (h, gst_event_new_segment (&segment));
}

/* Scores with 3 classes for a model of 4: the caps are refused with an
 * error naming both. */
static void
test_model_wrong_classes (void)
{
  g_autofree gchar *model = write_model ();
  GstBus *bus;
  GstHarness *h = decode_harness (NULL, &bus, "model", model, NULL);
  GstMessage *msg;
  g_autoptr (GError) error = NULL;

  push_refused_caps (h, scores_caps (3, 2));
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  g_assert_nonnull (strstr (error->message, "3 classes"));
  g_assert_nonnull (strstr (error->message, "has 4"));
  gst_message_unref (msg);
  g_assert_cmpint (gst_harness_push (h, make_scores (&known_scene, &known_window)), ==,
      GST_FLOW_NOT_NEGOTIATED);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
  harness_done (h, bus);
  g_unlink (model);
}

/* ---- bad input ---- */

static void
expect_error (GstBus *bus, const gchar *fragment)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  if (strstr (error->message, fragment) == NULL)
    g_error ("error \"%s\" does not mention \"%s\"", error->message, fragment);
  gst_message_unref (msg);
}

/* caps with 3 classes, buffer with 4; caps with 1 level, buffer with 2 */
static void
test_header_disagrees_with_caps (void)
{
  GstBus *bus;
  GstHarness *h = decode_harness (NULL, &bus, NULL);

  gst_harness_set_src_caps (h, scores_caps (3, 2));
  g_assert_cmpint (gst_harness_push (h, make_scores (&known_scene, &known_window)), ==,
      GST_FLOW_ERROR);
  expect_error (bus, "4 classes but the caps say 3");

  gst_harness_set_src_caps (h, scores_caps (4, 1));
  g_assert_cmpint (gst_harness_push (h, make_scores (&known_scene, &known_window)), ==,
      GST_FLOW_ERROR);
  expect_error (bus, "2 levels but the caps say 1");
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
  harness_done (h, bus);
}

static void
test_caps_without_rate (void)
{
  GstBus *bus;
  GstHarness *h = decode_harness (NULL, &bus, NULL);
  GstCaps *caps = gst_caps_from_string (GST_TSL_SCORES_CAPS_NAME ", classes=(int)4, levels=(int)2");

  push_refused_caps (h, caps);
  expect_error (bus, "rate");
  g_assert_cmpint (gst_harness_push (h, make_scores (&known_scene, &known_window)), ==,
      GST_FLOW_NOT_NEGOTIATED);
  harness_done (h, bus);
}

typedef void (*Corrupt) (GstTslScoresHeader *h, gsize *size);

static void
corrupt_truncate (GstTslScoresHeader *h, gsize *size)
{
  *size -= 4;
}

static void
corrupt_header_only (GstTslScoresHeader *h, gsize *size)
{
  *size = sizeof (*h) - 1;
}

static void
corrupt_version (GstTslScoresHeader *h, gsize *size)
{
  h->version = 2;
}

static void
corrupt_levels (GstTslScoresHeader *h, gsize *size)
{
  h->n_levels = GST_TSL_SCORES_MAX_LEVELS + 1;
}

static void
corrupt_huge_T (GstTslScoresHeader *h, gsize *size)
{
  h->levels[1].T = G_MAXINT32;
}

static void
corrupt_stride (GstTslScoresHeader *h, gsize *size)
{
  h->levels[1].stride = 0;
}

static void
corrupt_commit (GstTslScoresHeader *h, gsize *size)
{
  h->commit_end = h->valid_len + 1;
}

static void
corrupt_commit_order (GstTslScoresHeader *h, gsize *size)
{
  h->commit_start = 10;
  h->commit_end = 5;
}

static void
corrupt_stream_len (GstTslScoresHeader *h, gsize *size)
{
  h->stream_offset = 8;
}

static void
corrupt_valid_len (GstTslScoresHeader *h, gsize *size)
{
  h->valid_len = h->levels[0].T + 1;
}

/* Truncated, garbage and inconsistent buffers: an error each, never a
 * crash, and the element decodes a good buffer afterwards. */
static void
test_bad_buffers (void)
{
  const Corrupt corrupt[] = {
    corrupt_truncate, corrupt_header_only, corrupt_version, corrupt_levels, corrupt_huge_T,
    corrupt_stride, corrupt_commit, corrupt_commit_order, corrupt_stream_len,
    corrupt_valid_len,
  };
  GstBus *bus;
  GstHarness *h = decode_harness (&known_scene, &bus, "min-score", 0.2, NULL);
  GRand *rand = g_rand_new_with_seed (7);

  for (guint i = 0; i < G_N_ELEMENTS (corrupt); i++) {
    GstBuffer *buf = make_scores (&known_scene, &known_window);
    GstMapInfo map;
    gsize size = gst_buffer_get_size (buf);

    g_assert_true (gst_buffer_map (buf, &map, GST_MAP_WRITE));
    corrupt[i] ((GstTslScoresHeader *) map.data, &size);
    gst_buffer_unmap (buf, &map);
    gst_buffer_set_size (buf, size);
    g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_ERROR);
    expect_error (bus, "Invalid scores buffer");
  }
  for (guint i = 0; i < 20; i++) {
    const gsize size = g_rand_int_range (rand, 0, 2048);
    guint8 *bytes = g_malloc (size + 1);
    GstBuffer *buf;

    for (gsize j = 0; j < size; j++)
      bytes[j] = (guint8) g_rand_int (rand);
    buf = gst_buffer_new_wrapped (bytes, size);
    GST_BUFFER_PTS (buf) = 0;
    g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_ERROR);
    expect_error (bus, "Invalid scores buffer");
  }
  g_rand_free (rand);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
  g_assert_null (gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT));

  g_assert_cmpint (gst_harness_push (h, make_scores (&known_scene, &known_window)), ==,
      GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 1);
  harness_done (h, bus);
}

static void
test_no_timestamp (void)
{
  GstBus *bus;
  GstHarness *h = decode_harness (&known_scene, &bus, NULL);
  GstBuffer *untimed = make_scores (&known_scene, &known_window);

  GST_BUFFER_PTS (untimed) = GST_CLOCK_TIME_NONE;
  g_assert_cmpint (gst_harness_push (h, untimed), ==, GST_FLOW_ERROR);
  expect_error (bus, "timestamp");
  harness_done (h, bus);
}

/* Infinite offsets and NaN logits in a valid buffer: such points are
 * skipped, the rest is decoded. */
static void
test_non_finite_values (void)
{
  GstBus *bus;
  GstHarness *h = decode_harness (&known_scene, &bus, "min-score", 0.2, NULL);
  GstBuffer *buf = make_scores (&known_scene, &known_window), *out;
  GstMapInfo map;
  float *level0;
  const gint T = 64;

  g_assert_true (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  level0 = (float *) (map.data + sizeof (GstTslScoresHeader));
  for (gint t = 40; t < 50; t++) {
    level0[1 * T + t] = 5.0f;   /* class 1 high, with infinite offsets */
    level0[4 * T + t] = INFINITY;
    level0[5 * T + t] = INFINITY;
    level0[0 * T + t] = NAN;
  }
  gst_buffer_unmap (buf, &map);
  g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 1);
  out = gst_harness_pull (h);
  check_known_meta (out, "class_2");
  gst_buffer_unref (out);
  harness_done (h, bus);
}

/* ---- streaming ---- */

/* Four blobs: class 1 early, class 2 across the first commit boundary
 * with a shorter class 2 blob overlapping it (soft-NMS between windows),
 * class 0 at level 1 near the end. */
static const Blob stream_blobs[] = {
  {1, 0, 6, 14, 5.0, 15.0, 2.5f},
  {2, 0, 26, 38, 24.0, 40.0, 3.0f},
  {2, 0, 30, 36, 28.0, 36.0, 1.5f},
  {0, 1, 44, 56, 42.0, 58.0, 2.0f},
};

static const Scene stream_scene = { 3, 2, stream_blobs, G_N_ELEMENTS (stream_blobs) };

/* 64 features: offline, and two windows of 40 whose commits tile it */
static const Window offline_64 = { 0, 64, 0, 64, 64, TRUE };
static const Window two_windows[] = {
  {0, 40, 0, 32, 40, FALSE},
  {24, 40, 8, 40, 64, TRUE},
};

/* 80 features: offline, and window 32 / hop 16 (m = 8) */
static const Window offline_80 = { 0, 80, 0, 80, 80, TRUE };
static const Window four_windows[] = {
  {0, 32, 0, 24, 32, FALSE},
  {16, 32, 8, 24, 48, FALSE},
  {32, 32, 8, 24, 64, FALSE},
  {48, 32, 8, 32, 80, TRUE},
};

/* Latency longer than the stream: nothing before the final window, then
 * exactly the offline events; without NMS, exactly the offline candidates
 * (each point decoded from one window only). */
static void
test_streaming_equals_offline (void)
{
  const GstTslDecodeNmsMethod methods[] = { GST_TSL_DECODE_NMS_MODEL, GST_TSL_DECODE_NMS_NONE };

  for (guint m = 0; m < G_N_ELEMENTS (methods); m++) {
    g_autoptr (GArray) offline =
        decode_windows (&stream_scene, &offline_64, 1, 100 * GST_SECOND, methods[m]);
    g_autoptr (GArray) streamed =
        decode_windows (&stream_scene, two_windows, 2, 100 * GST_SECOND, methods[m]);

    g_assert_cmpuint (offline->len, >=, 4);
    for (guint i = 0; i < streamed->len; i++)
      g_assert_cmpint (g_array_index (streamed, Event, i).batch, ==, 2);
    assert_same_events (streamed, offline);
  }
}

/* The default latency (10 s = 20 grid) is longer than any candidate
 * reaches back (16 grid): the class 1 events leave after the window whose
 * frontier passes 15 + 20 grid (the second), the short class 2 event
 * after the third, and the events are those of the offline decoding. */
static void
test_streaming_early_exact (void)
{
  g_autoptr (GArray) offline = decode_windows (&stream_scene, &offline_80, 1, 10 * GST_SECOND,
      GST_TSL_DECODE_NMS_MODEL);
  g_autoptr (GArray) streamed = decode_windows (&stream_scene, four_windows, 4, 10 * GST_SECOND,
      GST_TSL_DECODE_NMS_MODEL);
  g_autoptr (GArray) sorted = g_array_new (FALSE, FALSE, sizeof (Event));
  guint early = 0;

  for (guint i = 0; i < streamed->len; i++) {
    const Event *ev = &g_array_index (streamed, Event, i);

    if (ev->label_id == 1)
      g_assert_cmpint (ev->batch, ==, 2);
    if (ev->batch < 4)
      early++;
  }
  g_assert_cmpuint (early, >, 0);
  assert_same_events (streamed, offline);
}

/* No latency: events leave as soon as the frontier passes their end, and
 * none comes out twice (two batches never share an event). */
static void
test_streaming_no_duplicates (void)
{
  g_autoptr (GArray) streamed = decode_windows (&stream_scene, four_windows, 4, 0,
      GST_TSL_DECODE_NMS_MODEL);
  guint before_final = 0;

  for (guint i = 0; i < streamed->len; i++) {
    const Event *a = &g_array_index (streamed, Event, i);

    if (a->batch < 4)
      before_final++;
    for (guint j = i + 1; j < streamed->len; j++) {
      const Event *b = &g_array_index (streamed, Event, j);

      if (a->batch != b->batch)
        g_assert_false (a->label_id == b->label_id && a->start == b->start
            && a->end == b->end);
    }
    if (i > 0 && a->batch == g_array_index (streamed, Event, i - 1).batch)
      g_assert_cmpuint (g_array_index (streamed, Event, i - 1).start, <=, a->start);
  }
  g_assert_cmpuint (before_final, >, 0);
}

/* A streaming window without its final successor: EOS emits its events
 * before EOS itself leaves. */
static void
test_eos_flushes_pending (void)
{
  g_autoptr (GArray) offline = decode_windows (&stream_scene, &offline_64, 1, 0,
      GST_TSL_DECODE_NMS_MODEL);
  GstBus *bus;
  GstHarness *h = decode_harness (&stream_scene, &bus, NULL);
  GstEvent *ev;
  gboolean saw_eos = FALSE;
  guint n;

  g_assert_cmpint (gst_harness_push (h, make_scores (&stream_scene, &two_windows[0])), ==,
      GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  n = gst_harness_buffers_in_queue (h);
  g_assert_cmpuint (n, >, 0);
  g_assert_cmpuint (n, <, offline->len);
  while ((ev = gst_harness_try_pull_event (h)) != NULL) {
    saw_eos |= GST_EVENT_TYPE (ev) == GST_EVENT_EOS;
    gst_event_unref (ev);
  }
  g_assert_true (saw_eos);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, n);
  harness_done (h, bus);
}

/* FLUSH_STOP forgets the pending events; GAP passes through. */
static void
test_flush_and_gap (void)
{
  GstBus *bus;
  GstHarness *h = decode_harness (&stream_scene, &bus, NULL);
  GstEvent *ev;
  GstSegment segment;
  gboolean saw_gap = FALSE;

  g_assert_cmpint (gst_harness_push (h, make_scores (&stream_scene, &two_windows[0])), ==,
      GST_FLOW_OK);
  g_assert_true (gst_harness_push_event (h, gst_event_new_flush_start ()));
  g_assert_true (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  g_assert_true (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  g_assert_true (gst_harness_push_event (h, gst_event_new_gap (0, GST_SECOND)));
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
  while ((ev = gst_harness_try_pull_event (h)) != NULL) {
    saw_gap |= GST_EVENT_TYPE (ev) == GST_EVENT_GAP;
    gst_event_unref (ev);
  }
  g_assert_true (saw_gap);
  harness_done (h, bus);
}

/* A DISCONT buffer emits what the stream before it left pending, then
 * decodes on its own. */
static void
test_discont_drains (void)
{
  GstBus *bus;
  GstHarness *h = decode_harness (&known_scene, &bus, "min-score", 0.2, NULL);
  const Window first = { 0, 64, 0, 32, 64, FALSE };
  GstBuffer *again = make_scores (&known_scene, &known_window);
  GstBuffer *buf;

  g_assert_cmpint (gst_harness_push (h, make_scores (&known_scene, &first)), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
  GST_BUFFER_FLAG_SET (again, GST_BUFFER_FLAG_DISCONT);
  g_assert_cmpint (gst_harness_push (h, again), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 2);
  for (gint i = 0; i < 2; i++) {
    buf = gst_harness_pull (h);
    check_known_meta (buf, "class_2");
    gst_buffer_unref (buf);
  }
  harness_done (h, bus);
}

static void
test_latency_query (void)
{
  GstBus *bus;
  GstHarness *h = decode_harness (&known_scene, &bus, "latency", (guint64) 3 * GST_SECOND,
      NULL);

  g_assert_cmpuint (gst_harness_query_latency (h), ==, 3 * GST_SECOND);
  harness_done (h, bus);
}

/* ---- states and meta ---- */

static void
test_state_cycles (void)
{
  g_autofree gchar *model = write_model ();
  GstElement *el = gst_element_factory_make ("tsldecode", NULL);

  g_object_set (el, "model", model, NULL);
  for (gint i = 0; i < 3; i++) {
    g_assert_cmpint (gst_element_set_state (el, GST_STATE_PLAYING), ==,
        GST_STATE_CHANGE_SUCCESS);
    g_assert_cmpint (gst_element_set_state (el, GST_STATE_NULL), ==, GST_STATE_CHANGE_SUCCESS);
  }
  gst_object_unref (el);
  g_unlink (model);
}

/* A bad setting fails READY->PAUSED with an error on the bus. */
static void
test_bad_model_fails_start (void)
{
  GstElement *el = gst_element_factory_make ("tsldecode", NULL);
  GstBus *bus = gst_bus_new ();

  gst_element_set_bus (el, bus);
  g_object_set (el, "model", "/nonexistent/model.safetensors", NULL);
  g_assert_cmpint (gst_element_set_state (el, GST_STATE_PAUSED), ==,
      GST_STATE_CHANGE_FAILURE);
  expect_error (bus, "model.safetensors");
  gst_element_set_state (el, GST_STATE_NULL);
  gst_element_set_bus (el, NULL);
  gst_object_unref (bus);
  gst_object_unref (el);
}

static void
test_meta_survives_copy (void)
{
  GstBus *bus;
  GstHarness *h = decode_harness (&known_scene, &bus, "min-score", 0.2, NULL);
  GstBuffer *buf, *copy, *deep;

  g_assert_cmpint (gst_harness_push (h, make_scores (&known_scene, &known_window)), ==,
      GST_FLOW_OK);
  buf = gst_harness_pull (h);
  copy = gst_buffer_copy (buf);
  deep = gst_buffer_copy_deep (buf);
  gst_buffer_unref (buf);
  check_known_meta (copy, "class_2");
  check_known_meta (deep, "class_2");
  gst_buffer_unref (copy);
  gst_buffer_unref (deep);
  harness_done (h, bus);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);

  g_test_add_func ("/tsldecode/known-answer/json", test_known_answer_json);
  g_test_add_func ("/tsldecode/known-answer/text", test_known_answer_text);
  g_test_add_func ("/tsldecode/known-answer/unaligned", test_known_answer_unaligned);
  g_test_add_func ("/tsldecode/model/labels", test_model_labels);
  g_test_add_func ("/tsldecode/model/wrong-classes", test_model_wrong_classes);
  g_test_add_func ("/tsldecode/errors/header-disagrees", test_header_disagrees_with_caps);
  g_test_add_func ("/tsldecode/errors/caps-without-rate", test_caps_without_rate);
  g_test_add_func ("/tsldecode/errors/bad-buffers", test_bad_buffers);
  g_test_add_func ("/tsldecode/errors/no-timestamp", test_no_timestamp);
  g_test_add_func ("/tsldecode/errors/non-finite", test_non_finite_values);
  g_test_add_func ("/tsldecode/errors/bad-model", test_bad_model_fails_start);
  g_test_add_func ("/tsldecode/streaming/equals-offline", test_streaming_equals_offline);
  g_test_add_func ("/tsldecode/streaming/early-exact", test_streaming_early_exact);
  g_test_add_func ("/tsldecode/streaming/no-duplicates", test_streaming_no_duplicates);
  g_test_add_func ("/tsldecode/edges/eos", test_eos_flushes_pending);
  g_test_add_func ("/tsldecode/edges/flush-gap", test_flush_and_gap);
  g_test_add_func ("/tsldecode/edges/discont", test_discont_drains);
  g_test_add_func ("/tsldecode/latency-query", test_latency_query);
  g_test_add_func ("/tsldecode/states", test_state_cycles);
  g_test_add_func ("/tsldecode/meta-copy", test_meta_survives_copy);
  return g_test_run ();
}

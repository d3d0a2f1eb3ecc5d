/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslactionformer.c: tslactionformer. Keeps the incoming feature vectors
 * on a uniform grid (vector i starts at first + i / R; missing time is
 * filled with zero vectors), runs tsl_actionformer_forward (libtsl, the
 * eval forward of happyharrycn/actionformer_release) over windows of that
 * grid, and copies each TslActionFormerOutput into one
 * application/x-tsl-scores buffer (gsttslscores.h).
 *
 * Layouts: the stream carries rows [N, D]; the grid is kept as rows
 * [n, D] too; the network reads channels-first [D, T], so each window is
 * transposed into a scratch array just before its forward.
 */

/**
 * SECTION:element-tslactionformer
 * @title: tslactionformer
 *
 * Runs an ActionFormer model (a `.safetensors` file with `tsl.config`
 * metadata, see `gst-tsl-train info`) over a feature stream and outputs,
 * per inference window, every pyramid level's class logits and boundary
 * offsets, for tsldecode to turn into events.
 *
 * Sink caps: `application/x-tsl-features, dim=(int)D, rate=(fraction)R,
 * window=(guint64)W`. D must be the model's input_dim; another value is a
 * CORE NEGOTIATION error naming both numbers.
 *
 * Source caps: `application/x-tsl-scores, classes=(int)K, levels=(int)L,
 * rate=(fraction)R, window=(guint64)W`, with K and L from the model and R
 * and W copied from the sink caps. Buffers: gsttslscores.h.
 *
 * ## Modes
 *
 * `mode=offline` (default): every feature is kept until EOS; then the
 * model runs once over all T of them and ONE buffer is pushed (commit range
 * [0, T), final, stream offset 0, PTS = time of the first feature,
 * duration T / R). This is what `gst-tsl-train predict` computes on the
 * same features. The model bounds T (at most max_seq_len x
 * max_buffer_len_factor after padding): a longer stream is a STREAM FAILED
 * error as soon as it grows past that. The element answers only at EOS, so
 * offline mode does not suit live pipelines.
 *
 * `mode=streaming`: with window w (`window`, or the model's max_seq_len)
 * and hop h (`hop`, or w / 2), window k covers the stream's features
 * [k h, k h + w) and runs as soon as its last feature has arrived. It
 * answers for grid positions [k h + m, k h + m + h), m = (w - h) / 2, so
 * that every position is decoded with context on both sides; window 0
 * answers from 0. At EOS a final window over the last min(w, T) features
 * answers for the rest, up to T, and is flagged final. A buffer's commit
 * range is relative to its first feature, its PTS is that feature's time
 * and its duration covers the window's features.
 *
 * ## Time grid, gaps, bad values
 *
 * Feature i of the stream stands for first + i / R, where first is the
 * PTS of the first buffer (or the start of a GAP event that comes before
 * any buffer). A buffer whose PTS lies k vectors (rounded to the nearest)
 * past the end of the grid is preceded by k zero vectors, and a GAP event
 * adds zero vectors up to its end, so that grid positions stay tied to
 * time in both modes. Vectors of a buffer that starts before the end of
 * the grid would sit on positions already filled: they are dropped, with a
 * warning. A buffer without PTS continues the grid. A NaN or infinite
 * feature is a STREAM FAILED error naming its vector, feature and time.
 *
 * ## Events and queries
 *
 * EOS runs the pending work (offline: the whole stream; streaming: the
 * final window) and pushes its buffer before EOS goes downstream. FLUSH_STOP
 * discards everything received. In streaming mode the LATENCY query adds
 * (m + h) / R to upstream's minimum and maximum: the longest a committed
 * position waits for its window.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 tslfeaturesrc location=video.npy ! \
 *     tslactionformer model=model.safetensors ! \
 *     tsldecode model=model.safetensors format=json ! filesink location=events.jsonl
 * ]|
 */
#include "gsttslactionformer.h"

#include <math.h>
#include <string.h>

#include "gsttslbackend.h"
#include "gsttsllatency.h"
#include "gsttslscores.h"
#include "io/safetensors.h"
#include "models/actionformer/model.h"

GST_DEBUG_CATEGORY_STATIC (gst_tsl_action_former_debug);
#define GST_CAT_DEFAULT gst_tsl_action_former_debug

#define DEFAULT_BACKEND GST_TSL_BACKEND_AUTO
#define DEFAULT_MODE GST_TSL_ACTION_FORMER_MODE_OFFLINE
#define DEFAULT_WINDOW 0        /* the model's max_seq_len */
#define DEFAULT_HOP 0           /* window / 2 */

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_BACKEND,
  PROP_MODE,
  PROP_WINDOW,
  PROP_HOP,
};

struct _GstTslActionFormer
{
  GstElement parent;

  GstPad *sinkpad;
  GstPad *srcpad;

  /* properties; protected by the object lock */
  gchar *prop_model;            /* model file path */
  GstTslBackend prop_backend;
  GstTslActionFormerMode prop_mode;
  guint prop_window;            /* features per inference, 0 = max_seq_len */
  guint prop_hop;               /* features between inferences, 0 = window / 2 */

  /* the model, loaded at READY->PAUSED and freed at PAUSED->READY; the
   * scalars are read by the LATENCY query under the object lock */
  TslBackend *be;
  TslActionFormer *net;
  const TslActionFormerConfig *config;  /* of net */
  gchar *model_path;            /* the file net came from */
  GstTslActionFormerMode mode;
  gint window;                  /* w: features per streaming inference */
  gint hop;                     /* h: features between two streaming inferences */
  gint margin;                  /* m = (w - h) / 2: context before a commit range */

  /* stream format from the sink caps; written under the object lock */
  gint dim;                     /* D, 0 before caps */
  gint rate_n, rate_d;          /* R, vectors per second */
  guint64 window_ns;            /* W, ns */

  /* the feature grid; streaming thread only */
  GstSegment segment;           /* last SEGMENT from upstream */
  GArray *feats;                /* float [n_features - kept_start, D] */
  guint64 kept_start;           /* grid index of the first vector in feats */
  guint64 n_features;           /* vectors on the grid, gap zeros included */
  GstClockTime first_pts;       /* time of grid index 0; NONE before data */
  guint64 next_start;           /* streaming: first index of the next window */
  guint64 committed;            /* grid positions [0, committed) answered for */
  gboolean discont;             /* the next scores buffer starts a new stream */
  gfloat *chw;                  /* [D, T] forward input scratch */
  gsize chw_floats;             /* floats allocated in chw */
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("application/x-tsl-features, dim=(int)[1, MAX], "
        "rate=(fraction)[1/MAX, MAX]"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_TSL_SCORES_CAPS_NAME ", classes=(int)[1, MAX], "
        "levels=(int)[1, 16], rate=(fraction)[1/MAX, MAX]"));

G_DEFINE_TYPE (GstTslActionFormer, gst_tsl_action_former, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (tslactionformer, "tslactionformer", GST_RANK_NONE,
    GST_TYPE_TSL_ACTION_FORMER);

GType
gst_tsl_action_former_mode_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_TSL_ACTION_FORMER_MODE_OFFLINE, "One inference over the whole stream at EOS",
        "offline"},
    {GST_TSL_ACTION_FORMER_MODE_STREAMING, "Sliding windows as features arrive", "streaming"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstTslActionFormerMode", values));
  return type;
}

/* Duration of n grid vectors at rate R. */
static GstClockTime
gst_tsl_action_former_vectors_to_time (GstTslActionFormer *self, guint64 n)
{
  return gst_util_uint64_scale (n, GST_SECOND * (guint64) self->rate_d, (guint64) self->rate_n);
}

/* Forgets every feature: the next buffer starts a new grid. */
static void
gst_tsl_action_former_reset_grid (GstTslActionFormer *self)
{
  g_array_set_size (self->feats, 0);
  self->kept_start = 0;
  self->n_features = 0;
  self->first_pts = GST_CLOCK_TIME_NONE;
  self->next_start = 0;
  self->committed = 0;
  self->discont = TRUE;
}

/* ---- model ---- */

/* The longest padded input the model takes (the official point
 * generator's buffer): max_seq_len x max_buffer_len_factor. */
static gdouble
gst_tsl_action_former_longest_input (const TslActionFormerConfig *config)
{
  return ceil (config->max_seq_len * config->max_buffer_len_factor);
}

/* Streaming mode's window and hop from the properties (0: the defaults),
 * checked against the longest input the model takes. */
static gboolean
gst_tsl_action_former_plan_windows (GstTslActionFormer *self, TslActionFormer *net,
    const gchar *path, guint prop_window, guint prop_hop, gint *window, gint *hop)
{
  const TslActionFormerConfig *config = tsl_actionformer_get_config (net);
  const gdouble longest = gst_tsl_action_former_longest_input (config);
  g_autoptr (GError) error = NULL;
  gint padded;

  *window = prop_window > 0 ? (gint) prop_window : config->max_seq_len;
  *hop = prop_hop > 0 ? (gint) prop_hop : MAX (*window / 2, 1);
  padded = tsl_actionformer_config_padded_len (config, *window);
  if (*hop > *window) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("hop (%d features) is longer than window (%d features)", *hop, *window), (NULL));
    return FALSE;
  }
  if (padded > longest) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("A window of %d features (padded to %d) is longer than the model %s takes (%.0f)",
            *window, padded, path, longest), (NULL));
    return FALSE;
  }
  if (!tsl_actionformer_reserve (net, padded, &error)) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("%s", error->message), (NULL));
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_tsl_action_former_load (GstTslActionFormer *self)
{
  g_autofree gchar *path = NULL;
  g_autoptr (TslSafetensors) st = NULL;
  g_autoptr (GError) error = NULL;
  GstTslBackend backend;
  GstTslActionFormerMode mode;
  const TslActionFormerConfig *config;
  TslActionFormer *net;
  TslBackend *be;
  guint prop_window, prop_hop;
  gint window = 0, hop = 0;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->prop_model);
  backend = self->prop_backend;
  mode = self->prop_mode;
  prop_window = self->prop_window;
  prop_hop = self->prop_hop;
  GST_OBJECT_UNLOCK (self);

  if (path == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("No model file given"),
        ("set the model property"));
    return FALSE;
  }
  st = tsl_safetensors_open (path, &error);
  if (st == NULL) {
    gst_tsl_backend_post_load_error (GST_ELEMENT (self), error);
    return FALSE;
  }
  be = tsl_backend_new (gst_tsl_backend_to_string (backend), &error);
  if (be == NULL) {
    gst_tsl_backend_post_load_error (GST_ELEMENT (self), error);
    return FALSE;
  }
  net = tsl_actionformer_new (be, st, &error);
  if (net == NULL) {
    gst_tsl_backend_post_load_error (GST_ELEMENT (self), error);
    tsl_backend_free (be);
    return FALSE;
  }
  if (mode == GST_TSL_ACTION_FORMER_MODE_STREAMING &&
      !gst_tsl_action_former_plan_windows (self, net, path, prop_window, prop_hop, &window,
          &hop)) {
    tsl_actionformer_free (net);
    tsl_backend_free (be);
    return FALSE;
  }
  config = tsl_actionformer_get_config (net);
  GST_INFO_OBJECT (self, "%s on %s: %d features in, %d classes, %d levels; %s mode, "
      "window %d, hop %d", path, tsl_backend_name (be), config->input_dim, config->num_classes,
      config->n_fpn_levels, mode == GST_TSL_ACTION_FORMER_MODE_STREAMING ? "streaming" :
      "offline", window, hop);

  GST_OBJECT_LOCK (self);
  self->be = be;
  self->net = net;
  self->config = config;
  self->model_path = g_steal_pointer (&path);
  self->mode = mode;
  self->window = window;
  self->hop = hop;
  self->margin = (window - hop) / 2;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static void
gst_tsl_action_former_unload (GstTslActionFormer *self)
{
  GST_OBJECT_LOCK (self);
  g_clear_pointer (&self->net, tsl_actionformer_free);
  g_clear_pointer (&self->be, tsl_backend_free);
  self->config = NULL;
  g_clear_pointer (&self->model_path, g_free);
  self->dim = 0;
  GST_OBJECT_UNLOCK (self);
  g_clear_pointer (&self->chw, g_free);
  self->chw_floats = 0;
  gst_tsl_action_former_reset_grid (self);
}

/* ---- inference ---- */

/* The scores buffer of one forward: header, then per level cls_logits
 * [K, T_l], offsets [2, T_l], mask [T_l] (gsttslscores.h). Positions are
 * grid indices: the window covers [start, start + len) and answers for
 * [commit_start, commit_end). */
static GstBuffer *
gst_tsl_action_former_scores_new (GstTslActionFormer *self, const TslActionFormerOutput *out,
    guint64 start, gint len, guint64 commit_start, guint64 commit_end, gboolean final)
{
  const gint K = self->config->num_classes;
  GstTslScoresHeader header;
  GstMapInfo map;
  GstBuffer *buf;
  guint8 *p;
  gsize size;

  memset (&header, 0, sizeof (header));
  header.version = GST_TSL_SCORES_VERSION;
  header.num_classes = K;
  header.n_levels = out->n_levels;
  header.valid_len = len;
  header.commit_start = (gint32) (commit_start - start);
  header.commit_end = (gint32) (commit_end - start);
  header.stream_offset = start;
  header.stream_len = self->n_features;
  header.final = final;
  for (gint l = 0; l < out->n_levels; l++) {
    header.levels[l].T = out->level_len[l];
    header.levels[l].stride = tsl_actionformer_config_level_stride (self->config, l);
  }
  size = gst_tsl_scores_size (&header);
  g_assert (size > 0);

  buf = gst_buffer_new_allocate (NULL, size, NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  memcpy (map.data, &header, sizeof (header));
  p = map.data + sizeof (header);
  for (gint l = 0; l < out->n_levels; l++) {
    const gsize T_l = (gsize) out->level_len[l];

    memcpy (p, out->cls_logits[l], K * T_l * sizeof (gfloat));
    p += K * T_l * sizeof (gfloat);
    memcpy (p, out->reg_offsets[l], 2 * T_l * sizeof (gfloat));
    p += 2 * T_l * sizeof (gfloat);
    memcpy (p, out->mask[l], T_l * sizeof (gfloat));
    p += T_l * sizeof (gfloat);
  }
  g_assert ((gsize) (p - map.data) == size);
  gst_buffer_unmap (buf, &map);

  GST_BUFFER_PTS (buf) = self->first_pts + gst_tsl_action_former_vectors_to_time (self, start);
  GST_BUFFER_DURATION (buf) = gst_tsl_action_former_vectors_to_time (self, start + len) -
      gst_tsl_action_former_vectors_to_time (self, start);
  GST_BUFFER_OFFSET (buf) = start;
  GST_BUFFER_OFFSET_END (buf) = start + len;
  if (self->discont) {
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    self->discont = FALSE;
  }
  return buf;
}

/* Runs the model on grid vectors [start, start + len), which must still be
 * kept, and pushes the scores, answering for [commit_start, commit_end). */
static GstFlowReturn
gst_tsl_action_former_run_window (GstTslActionFormer *self, guint64 start, gint len,
    guint64 commit_start, guint64 commit_end, gboolean final)
{
  const gint D = self->dim;
  const gfloat *rows = (const gfloat *) self->feats->data + (start - self->kept_start) * D;
  g_autoptr (GError) error = NULL;
  TslActionFormerOutput out;
  GstBuffer *buf;

  g_assert (start >= self->kept_start && start + len <= self->n_features);
  if (self->chw_floats < (gsize) len * D) {
    g_free (self->chw);
    self->chw_floats = (gsize) len * D;
    self->chw = g_new (gfloat, self->chw_floats);
  }
  /* rows [len, D] -> channels-first [D, len] */
  for (gint t = 0; t < len; t++) {
    const gfloat *rows_t = rows + (gsize) t * D;
    for (gint d = 0; d < D; d++)
      self->chw[(gsize) d * len + t] = rows_t[d];
  }
  if (!tsl_actionformer_forward (self->net, self->chw, len, &out, &error)) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("%s", error->message), (NULL));
    return GST_FLOW_ERROR;
  }
  buf = gst_tsl_action_former_scores_new (self, &out, start, len, commit_start, commit_end,
      final);
  GST_DEBUG_OBJECT (self, "window [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") answers for [%"
      G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ")%s, pts %" GST_TIME_FORMAT, start,
      start + len, commit_start, commit_end, final ? " (final)" : "",
      GST_TIME_ARGS (GST_BUFFER_PTS (buf)));
  return gst_pad_push (self->srcpad, buf);
}

/* Streaming: runs every window whose last feature has arrived, then drops
 * the vectors that neither the next window nor a final window can need
 * (a final window reaches back at most `window` vectors from the end). */
static GstFlowReturn
gst_tsl_action_former_run_ready_windows (GstTslActionFormer *self)
{
  GstFlowReturn flow = GST_FLOW_OK;
  guint64 keep_from;

  while (flow == GST_FLOW_OK && self->n_features >= self->next_start + self->window) {
    const guint64 commit_end = self->next_start + self->margin + self->hop;

    flow = gst_tsl_action_former_run_window (self, self->next_start, self->window,
        self->committed, commit_end, FALSE);
    self->committed = commit_end;
    self->next_start += self->hop;
  }
  keep_from = self->n_features >= (guint64) self->window ? self->n_features - self->window : 0;
  keep_from = MIN (keep_from, self->next_start);
  if (keep_from > self->kept_start) {
    g_array_remove_range (self->feats, 0, (guint) ((keep_from - self->kept_start) * self->dim));
    self->kept_start = keep_from;
  }
  return flow;
}

/* Offline: FALSE, or TRUE with an error posted when a stream of n vectors
 * is longer than the model takes. */
static gboolean
gst_tsl_action_former_too_long (GstTslActionFormer *self, guint64 n)
{
  const gdouble longest = gst_tsl_action_former_longest_input (self->config);

  if (n <= (guint64) self->config->max_seq_len ||
      tsl_actionformer_config_padded_len (self->config, (gint) MIN (n, G_MAXINT)) <= longest)
    return FALSE;
  GST_ELEMENT_ERROR (self, STREAM, FAILED,
      ("The stream has grown to %" G_GUINT64_FORMAT " features, longer than the model %s takes "
          "in one piece (%.0f after padding): use mode=streaming", n, self->model_path,
          longest), (NULL));
  return TRUE;
}

/* Appends n vectors to the grid (rows [n, D], or zeros when rows is
 * NULL). In streaming mode they go in pieces that end where the next
 * window ends, each followed by that window, so that a window runs with
 * exactly the features it covers on the grid (whatever the buffer sizes)
 * and a long gap never piles up. */
static GstFlowReturn
gst_tsl_action_former_feed (GstTslActionFormer *self, const gfloat *rows, guint64 n)
{
  const gboolean streaming = self->mode == GST_TSL_ACTION_FORMER_MODE_STREAMING;
  const gsize D = (gsize) self->dim;
  GstFlowReturn flow = GST_FLOW_OK;

  while (n > 0 && flow == GST_FLOW_OK) {
    /* >= 1: run_ready_windows leaves the grid short of the next window's end */
    const guint64 piece = streaming ?
        MIN (n, self->next_start + self->window - self->n_features) : n;

    g_assert (piece > 0);
    if (!streaming && gst_tsl_action_former_too_long (self, self->n_features + piece))
      return GST_FLOW_ERROR;
    if (rows != NULL) {
      g_array_append_vals (self->feats, rows, (guint) (piece * D));
      rows += piece * D;
    } else {
      g_array_set_size (self->feats, self->feats->len + (guint) (piece * D));     /* zeroed */
    }
    self->n_features += piece;
    n -= piece;
    if (streaming)
      flow = gst_tsl_action_former_run_ready_windows (self);
  }
  return flow;
}

/* Grid index of time `pts`: (pts - first) * R rounded to the nearest
 * vector, or the end of the grid for a buffer without a timestamp. */
static guint64
gst_tsl_action_former_grid_index (GstTslActionFormer *self, GstClockTime pts)
{
  if (!GST_CLOCK_TIME_IS_VALID (pts) || !GST_CLOCK_TIME_IS_VALID (self->first_pts))
    return self->n_features;
  if (pts <= self->first_pts)
    return 0;
  return gst_util_uint64_scale_round (pts - self->first_pts, (guint64) self->rate_n,
      GST_SECOND * (guint64) self->rate_d);
}

/* Zero vectors from the end of the grid up to `index`. */
static GstFlowReturn
gst_tsl_action_former_fill_to (GstTslActionFormer *self, guint64 index)
{
  if (index <= self->n_features)
    return GST_FLOW_OK;
  GST_DEBUG_OBJECT (self, "gap: %" G_GUINT64_FORMAT " zero vectors from index %"
      G_GUINT64_FORMAT, index - self->n_features, self->n_features);
  return gst_tsl_action_former_feed (self, NULL, index - self->n_features);
}

/* EOS: the pending work, then a fresh grid. */
static GstFlowReturn
gst_tsl_action_former_drain (GstTslActionFormer *self)
{
  const guint64 n = self->n_features;
  GstFlowReturn flow;
  guint64 start = 0;

  if (n == 0) {
    GST_DEBUG_OBJECT (self, "EOS without features: no scores");
    return GST_FLOW_OK;
  }
  if (self->mode == GST_TSL_ACTION_FORMER_MODE_STREAMING && n > (guint64) self->window)
    start = n - self->window;
  /* offline streams stop growing at the model's limit (too_long) */
  g_assert (n - start <= G_MAXINT);
  flow = gst_tsl_action_former_run_window (self, start, (gint) (n - start), self->committed, n,
      TRUE);
  gst_tsl_action_former_reset_grid (self);
  return flow;
}

/* ---- pads ---- */

static gboolean
gst_tsl_action_former_set_caps (GstTslActionFormer *self, GstCaps *caps)
{
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  GstCaps *src_caps;
  gint dim, rate_n, rate_d;
  guint64 window_ns;
  gboolean ok;

  if (!gst_structure_get_int (s, "dim", &dim) ||
      !gst_structure_get_fraction (s, "rate", &rate_n, &rate_d) ||
      !gst_structure_get_uint64 (s, "window", &window_ns) || rate_n <= 0 || rate_d <= 0) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Feature caps %" GST_PTR_FORMAT " need dim, a positive rate and window", caps),
        (NULL));
    return FALSE;
  }
  if (dim != self->config->input_dim) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Features have %d channels, but the model takes %d", dim, self->config->input_dim),
        ("model %s", self->model_path));
    return FALSE;
  }
  if (self->n_features > 0 && (rate_n != self->rate_n || rate_d != self->rate_d)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Feature rate changed from %d/%d to %d/%d in the middle of a stream", self->rate_n,
            self->rate_d, rate_n, rate_d), (NULL));
    return FALSE;
  }

  GST_OBJECT_LOCK (self);
  self->dim = dim;
  self->rate_n = rate_n;
  self->rate_d = rate_d;
  self->window_ns = window_ns;
  GST_OBJECT_UNLOCK (self);

  src_caps = gst_caps_new_simple (GST_TSL_SCORES_CAPS_NAME,
      "classes", G_TYPE_INT, self->config->num_classes,
      "levels", G_TYPE_INT, self->config->n_fpn_levels,
      "rate", GST_TYPE_FRACTION, rate_n, rate_d,
      "window", G_TYPE_UINT64, window_ns, NULL);
  GST_DEBUG_OBJECT (self, "output caps %" GST_PTR_FORMAT, src_caps);
  ok = gst_pad_set_caps (self->srcpad, src_caps);
  gst_caps_unref (src_caps);
  return ok;
}

static GstFlowReturn
gst_tsl_action_former_chain (GstPad *pad, GstObject *parent, GstBuffer *buf)
{
  GstTslActionFormer *self = GST_TSL_ACTION_FORMER (parent);
  const GstClockTime pts = GST_BUFFER_PTS (buf);
  const gsize vector_bytes = (gsize) self->dim * sizeof (gfloat);
  GstFlowReturn flow = GST_FLOW_OK;
  const gfloat *rows;
  guint64 index, n, skip;
  GstMapInfo map;

  if (self->dim == 0) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("No caps before the first feature buffer"),
        (NULL));
    gst_buffer_unref (buf);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Cannot map a feature buffer"), (NULL));
    gst_buffer_unref (buf);
    return GST_FLOW_ERROR;
  }
  if (map.size % vector_bytes != 0) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Feature buffer of %" G_GSIZE_FORMAT " bytes is "
            "not a whole number of %d-float vectors", map.size, self->dim), (NULL));
    flow = GST_FLOW_ERROR;
    goto out;
  }
  rows = (const gfloat *) map.data;
  n = map.size / vector_bytes;

  if (!GST_CLOCK_TIME_IS_VALID (self->first_pts)) {
    if (GST_CLOCK_TIME_IS_VALID (pts))
      self->first_pts = pts;
    else
      self->first_pts = self->segment.format == GST_FORMAT_TIME ? self->segment.start : 0;
  }
  index = gst_tsl_action_former_grid_index (self, pts);

  for (gsize i = 0; i < n * self->dim; i++) {
    if (!isfinite (rows[i])) {
      const guint64 vector = index + i / self->dim;
      GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Feature %d of vector %" G_GUINT64_FORMAT
              " (at %" GST_TIME_FORMAT ") is %s", (gint) (i % self->dim), vector,
              GST_TIME_ARGS (self->first_pts + gst_tsl_action_former_vectors_to_time (self,
                      vector)), isnan (rows[i]) ? "NaN" : "infinite"), (NULL));
      flow = GST_FLOW_ERROR;
      goto out;
    }
  }

  skip = index < self->n_features ? MIN (n, self->n_features - index) : 0;
  if (skip > 0)
    GST_WARNING_OBJECT (self, "buffer at %" GST_TIME_FORMAT " overlaps the last %"
        G_GUINT64_FORMAT " vectors received: dropping its first %" G_GUINT64_FORMAT,
        GST_TIME_ARGS (pts), self->n_features - index, skip);
  flow = gst_tsl_action_former_fill_to (self, index);
  if (flow == GST_FLOW_OK)
    flow = gst_tsl_action_former_feed (self, rows + skip * self->dim, n - skip);
out:
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  return flow;
}

static gboolean
gst_tsl_action_former_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstTslActionFormer *self = GST_TSL_ACTION_FORMER (parent);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gboolean ok;

      gst_event_parse_caps (event, &caps);
      ok = gst_tsl_action_former_set_caps (self, caps);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_SEGMENT:
      gst_event_copy_segment (event, &self->segment);
      break;
    case GST_EVENT_GAP:{
      GstClockTime ts, duration;

      gst_event_parse_gap (event, &ts, &duration);
      if (self->dim > 0 && GST_CLOCK_TIME_IS_VALID (ts)) {
        const GstClockTime end = ts + (GST_CLOCK_TIME_IS_VALID (duration) ? duration : 0);

        if (!GST_CLOCK_TIME_IS_VALID (self->first_pts))
          self->first_pts = ts;
        GST_DEBUG_OBJECT (self, "GAP %" GST_TIME_FORMAT " - %" GST_TIME_FORMAT,
            GST_TIME_ARGS (ts), GST_TIME_ARGS (end));
        if (gst_tsl_action_former_fill_to (self, gst_tsl_action_former_grid_index (self,
                    end)) != GST_FLOW_OK) {
          gst_event_unref (event);
          return FALSE;
        }
      }
      /* the zeros stand for the gap downstream */
      gst_event_unref (event);
      return TRUE;
    }
    case GST_EVENT_EOS:
      if (self->net != NULL)
        gst_tsl_action_former_drain (self);
      break;
    case GST_EVENT_FLUSH_STOP:
      gst_tsl_action_former_reset_grid (self);
      gst_segment_init (&self->segment, GST_FORMAT_UNDEFINED);
      break;
    default:
      break;
  }
  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_tsl_action_former_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstTslActionFormer *self = GST_TSL_ACTION_FORMER (parent);
  GstClockTime added;
  gboolean streaming;

  if (GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return gst_pad_query_default (pad, parent, query);

  GST_OBJECT_LOCK (self);
  streaming = self->mode == GST_TSL_ACTION_FORMER_MODE_STREAMING && self->net != NULL &&
      self->dim > 0;
  added = streaming ? gst_tsl_action_former_vectors_to_time (self,
      (guint64) (self->margin + self->hop)) : 0;
  GST_OBJECT_UNLOCK (self);

  if (!streaming)
    return gst_pad_query_default (pad, parent, query);
  return gst_tsl_latency_query_add (self->sinkpad, query, added);
}

/* ---- element ---- */

static GstStateChangeReturn
gst_tsl_action_former_change_state (GstElement *element, GstStateChange transition)
{
  GstTslActionFormer *self = GST_TSL_ACTION_FORMER (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      if (!gst_tsl_action_former_load (self))
        return GST_STATE_CHANGE_FAILURE;
      gst_tsl_action_former_reset_grid (self);
      gst_segment_init (&self->segment, GST_FORMAT_UNDEFINED);
      break;
    default:
      break;
  }

  ret = GST_ELEMENT_CLASS (gst_tsl_action_former_parent_class)->change_state (element,
      transition);
  if (ret == GST_STATE_CHANGE_FAILURE) {
    if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
      gst_tsl_action_former_unload (self);
    return ret;
  }

  switch (transition) {
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      gst_tsl_action_former_unload (self);
      break;
    default:
      break;
  }
  return ret;
}

static void
gst_tsl_action_former_set_property (GObject *object, guint prop_id, const GValue *value,
    GParamSpec *pspec)
{
  GstTslActionFormer *self = GST_TSL_ACTION_FORMER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->prop_model);
      self->prop_model = g_value_dup_string (value);
      break;
    case PROP_BACKEND:
      self->prop_backend = g_value_get_enum (value);
      break;
    case PROP_MODE:
      self->prop_mode = g_value_get_enum (value);
      break;
    case PROP_WINDOW:
      self->prop_window = g_value_get_uint (value);
      break;
    case PROP_HOP:
      self->prop_hop = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_tsl_action_former_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstTslActionFormer *self = GST_TSL_ACTION_FORMER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->prop_model);
      break;
    case PROP_BACKEND:
      g_value_set_enum (value, self->prop_backend);
      break;
    case PROP_MODE:
      g_value_set_enum (value, self->prop_mode);
      break;
    case PROP_WINDOW:
      g_value_set_uint (value, self->prop_window);
      break;
    case PROP_HOP:
      g_value_set_uint (value, self->prop_hop);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_tsl_action_former_finalize (GObject *object)
{
  GstTslActionFormer *self = GST_TSL_ACTION_FORMER (object);

  gst_tsl_action_former_unload (self);
  g_array_unref (self->feats);
  g_free (self->prop_model);
  G_OBJECT_CLASS (gst_tsl_action_former_parent_class)->finalize (object);
}

static void
gst_tsl_action_former_class_init (GstTslActionFormerClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags flags =
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;

  GST_DEBUG_CATEGORY_INIT (gst_tsl_action_former_debug, "tslactionformer", 0,
      "TSL ActionFormer inference");

  gobject_class->set_property = gst_tsl_action_former_set_property;
  gobject_class->get_property = gst_tsl_action_former_get_property;
  gobject_class->finalize = gst_tsl_action_former_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "ActionFormer model file (.safetensors with tsl.config metadata; required, loaded "
          "at READY->PAUSED)", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_BACKEND,
      g_param_spec_enum ("backend", "Backend", "Where the network runs",
          GST_TYPE_TSL_BACKEND, DEFAULT_BACKEND, flags));
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "offline: one inference over the whole stream at EOS; streaming: sliding windows",
          GST_TYPE_TSL_ACTION_FORMER_MODE, DEFAULT_MODE, flags));
  g_object_class_install_property (gobject_class, PROP_WINDOW,
      g_param_spec_uint ("window", "Window",
          "Streaming mode: features per inference (vectors; 0 = the model's max_seq_len)",
          0, G_MAXINT, DEFAULT_WINDOW, flags));
  g_object_class_install_property (gobject_class, PROP_HOP,
      g_param_spec_uint ("hop", "Hop",
          "Streaming mode: features between two inferences (vectors, at most window; "
          "0 = window / 2)", 0, G_MAXINT, DEFAULT_HOP, flags));

  gst_element_class_set_static_metadata (element_class, "TSL ActionFormer",
      "Filter/Analyzer", "Runs an ActionFormer model over a feature stream and outputs "
      "per-level class and boundary scores", "gst-tsl developers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_tsl_action_former_change_state);

  gst_type_mark_as_plugin_api (GST_TYPE_TSL_BACKEND, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_TSL_ACTION_FORMER_MODE, 0);
}

static void
gst_tsl_action_former_init (GstTslActionFormer *self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_tsl_action_former_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_tsl_action_former_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (self->srcpad,
      GST_DEBUG_FUNCPTR (gst_tsl_action_former_src_query));
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  self->prop_backend = DEFAULT_BACKEND;
  self->prop_mode = DEFAULT_MODE;
  self->prop_window = DEFAULT_WINDOW;
  self->prop_hop = DEFAULT_HOP;
  self->feats = g_array_new (FALSE, TRUE, sizeof (gfloat));
  self->first_pts = GST_CLOCK_TIME_NONE;
  gst_segment_init (&self->segment, GST_FORMAT_UNDEFINED);
}

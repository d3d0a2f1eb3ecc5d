/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslaudioenc.c: tslaudioenc. Incoming samples are put on a sample grid
 * tied to time (sample i stands for first + i / rate) and kept until no
 * later window needs them. Vector k stands for the instant
 * first + (k + 1/2) / R (R = `rate` vectors per second); its window is the
 * `window` samples centred there, zeros where the window reaches before
 * the first sample or past the last. Windows are gathered into a batch
 * [batch-size, window] that tsl_audio_model_forward turns into vectors.
 */

/**
 * SECTION:element-tslaudioenc
 * @title: tslaudioenc
 *
 * Encodes audio with the MMV audio network (a `.safetensors` model file
 * with `tsl.model` = audio-resnet, from tools/convert-mmv-audio.py or
 * tools/make-random-audio-model.py; docs/audio-model.md): per vector, the
 * log-mel spectrogram of a window of samples through the ResNet-v2 and the
 * chosen head (`head`: the model's default, 'vat' = 256-d for the released
 * configuration).
 *
 * Sink caps: `audio/x-raw, format=F32LE, layout=interleaved, channels=1,
 * rate=` the model's sample rate (48000 for the released model): put
 * `audioconvert ! audioresample` upstream. Another rate is a CORE
 * NEGOTIATION error naming both rates.
 *
 * Source caps: `application/x-tsl-features, dim=(int)D, rate=(fraction)R,
 * window=(guint64)1 / R` (ns). Vector k's PTS is first + k / R, so the
 * time it stands for (PTS + window / 2) is first + (k + 1/2) / R, the
 * centre of its samples. The default R = 15/8 is tslvideoenc's default
 * grid (clips of 16 frames every 16 frames at 30 fps, whose centres are
 * also first + (k + 1/2) x 16 / 30 s), so both streams line up in tslfuse
 * without interpolation.
 *
 * ## Time grid, gaps, end of stream
 *
 * A buffer whose PTS lies more than 1 ms past the end of the sample grid
 * is preceded by silence (zeros) up to it, a GAP event adds silence up to
 * its end, and samples of a buffer that starts more than 1 ms before the
 * end of the grid are dropped where they overlap (debug log), so that the
 * grid stays tied to time. A buffer without PTS continues the grid.
 *
 * At EOS every vector whose PTS lies inside the stream (k / R before its
 * end) is encoded, its window completed with zeros, and the last, possibly
 * partial, batch is pushed before EOS goes downstream. FLUSH_STOP discards
 * everything.
 *
 * The LATENCY query adds the time from a vector's PTS until its window is
 * complete and its batch full: 1 / (2 R) + window / (2 x sample rate) +
 * (batch-size - 1) / R.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=clip.wav ! decodebin ! audioconvert ! audioresample ! \
 *     tslaudioenc model=mmv-audio.safetensors ! fakesink
 * ]|
 */
#include "gsttslaudioenc.h"

#include <string.h>

#include "gsttslbackend.h"
#include "gsttsllatency.h"
#include "models/audio/model.h"

GST_DEBUG_CATEGORY_STATIC (gst_tsl_audio_enc_debug);
#define GST_CAT_DEFAULT gst_tsl_audio_enc_debug

#define DEFAULT_BACKEND GST_TSL_BACKEND_AUTO
#define DEFAULT_HEAD GST_TSL_AUDIO_ENC_HEAD_MODEL
#define DEFAULT_WINDOW 0        /* the model's window_samples */
#define DEFAULT_RATE_N 15       /* tslvideoenc's default grid: 30 fps / 16 */
#define DEFAULT_RATE_D 8
#define DEFAULT_BATCH_SIZE 1
/* timestamp differences below this are jitter, not gaps or overlaps */
#define ALIGNMENT_THRESHOLD (GST_MSECOND)

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_BACKEND,
  PROP_HEAD,
  PROP_WINDOW,
  PROP_RATE,
  PROP_BATCH_SIZE,
};

struct _GstTslAudioEnc
{
  GstElement parent;

  GstPad *sinkpad;
  GstPad *srcpad;

  /* properties; protected by the object lock */
  gchar *prop_model;
  GstTslBackend prop_backend;
  GstTslAudioEncHead prop_head;
  guint prop_window;
  gint prop_rate_n, prop_rate_d;
  guint prop_batch_size;

  /* the model, loaded at READY->PAUSED; the scalars are read by queries
   * under the object lock */
  TslBackend *be;
  TslAudioModel *net;
  gint sample_rate;             /* the model's, 0 before loading */
  gint window;                  /* samples per vector */
  gint rate_n, rate_d;          /* vectors per second */
  gint batch_size;
  gint dim;

  /* sample grid and batch; streaming thread only */
  gboolean have_caps;
  GstSegment segment;
  GstClockTime first_pts;       /* time of sample 0; NONE before data */
  GArray *samples;              /* float, grid samples [kept_start, n_samples) */
  guint64 kept_start;
  guint64 n_samples;
  guint64 next_vector;          /* first vector not yet in a batch */
  gfloat *windows;              /* [batch_size, window] */
  gfloat *features;             /* [batch_size, dim] */
  gint n_batched;
  guint64 batch_first;          /* vector index of windows[0] */
  gboolean discont;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format=(string)F32LE, layout=(string)interleaved, "
        "channels=(int)1, rate=(int)[1, MAX]"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("application/x-tsl-features, dim=(int)[1, MAX], "
        "rate=(fraction)[1/MAX, MAX]"));

G_DEFINE_TYPE (GstTslAudioEnc, gst_tsl_audio_enc, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (tslaudioenc, "tslaudioenc", GST_RANK_NONE, GST_TYPE_TSL_AUDIO_ENC);

GType
gst_tsl_audio_enc_head_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_TSL_AUDIO_ENC_HEAD_MODEL, "The model file's configured head", "model"},
    {GST_TSL_AUDIO_ENC_HEAD_BACKBONE, "Pooled ResNet output", "backbone"},
    {GST_TSL_AUDIO_ENC_HEAD_VA, "Audio-to-video embedding", "va"},
    {GST_TSL_AUDIO_ENC_HEAD_VAT, "Video-audio-text embedding", "vat"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstTslAudioEncHead", values));
  return type;
}

/* Time of vector k relative to the first sample. */
static GstClockTime
gst_tsl_audio_enc_vectors_to_time (GstTslAudioEnc *self, guint64 k)
{
  return gst_util_uint64_scale (k, GST_SECOND * (guint64) self->rate_d, (guint64) self->rate_n);
}

/* Grid sample at which vector k's window starts (may be negative):
 * its centre, sample round ((k + 1/2) x sample_rate / R), minus window / 2. */
static gint64
gst_tsl_audio_enc_window_start (GstTslAudioEnc *self, guint64 k)
{
  const guint64 centre = gst_util_uint64_scale_round (2 * k + 1,
      (guint64) self->sample_rate * self->rate_d, 2 * (guint64) self->rate_n);

  return (gint64) centre - self->window / 2;
}

static void
gst_tsl_audio_enc_reset_grid (GstTslAudioEnc *self)
{
  g_array_set_size (self->samples, 0);
  self->kept_start = 0;
  self->n_samples = 0;
  self->next_vector = 0;
  self->n_batched = 0;
  self->batch_first = 0;
  self->first_pts = GST_CLOCK_TIME_NONE;
  self->discont = TRUE;
}

/* ---- model ---- */

static gboolean
gst_tsl_audio_enc_load (GstTslAudioEnc *self)
{
  static const TslAudioHead heads[] = { 0, TSL_AUDIO_HEAD_BACKBONE, TSL_AUDIO_HEAD_VA,
    TSL_AUDIO_HEAD_VAT
  };
  g_autofree gchar *path = NULL;
  g_autoptr (GError) error = NULL;
  GstTslBackend backend;
  GstTslAudioEncHead head;
  TslAudioModel *net = NULL;
  TslBackend *be;
  gint window, batch_size, rate_n, rate_d;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->prop_model);
  backend = self->prop_backend;
  head = self->prop_head;
  window = (gint) self->prop_window;
  batch_size = (gint) self->prop_batch_size;
  rate_n = self->prop_rate_n;
  rate_d = self->prop_rate_d;
  GST_OBJECT_UNLOCK (self);

  if (path == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("No model file given"),
        ("set the model property"));
    return FALSE;
  }
  if ((be = tsl_backend_new (gst_tsl_backend_to_string (backend), &error)) == NULL ||
      (net = tsl_audio_model_load (be, path, &error)) == NULL) {
    gst_tsl_backend_post_load_error (GST_ELEMENT (self), error);
    if (be != NULL)
      tsl_backend_free (be);
    return FALSE;
  }
  if (window == 0)
    window = tsl_audio_model_window_samples (net);
  if ((head != GST_TSL_AUDIO_ENC_HEAD_MODEL &&
          !tsl_audio_model_set_head (net, heads[head], &error)) ||
      !tsl_audio_model_reserve (net, batch_size, window, &error)) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS, ("%s", error->message), ("model %s", path));
    tsl_audio_model_free (net);
    tsl_backend_free (be);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "%s on %s: %d Hz, windows of %d samples, %d/%d vectors per second, "
      "%d features (%s), batches of %d", path, tsl_backend_name (be),
      tsl_audio_model_sample_rate (net), window, rate_n, rate_d,
      tsl_audio_model_output_dim (net), tsl_audio_head_name (tsl_audio_model_get_head (net)),
      batch_size);

  GST_OBJECT_LOCK (self);
  self->be = be;
  self->net = net;
  self->sample_rate = tsl_audio_model_sample_rate (net);
  self->window = window;
  self->rate_n = rate_n;
  self->rate_d = rate_d;
  self->batch_size = batch_size;
  self->dim = tsl_audio_model_output_dim (net);
  GST_OBJECT_UNLOCK (self);
  self->windows = g_new (gfloat, (gsize) batch_size * window);
  self->features = g_new (gfloat, (gsize) batch_size * self->dim);
  return TRUE;
}

static void
gst_tsl_audio_enc_unload (GstTslAudioEnc *self)
{
  GST_OBJECT_LOCK (self);
  g_clear_pointer (&self->net, tsl_audio_model_free);
  g_clear_pointer (&self->be, tsl_backend_free);
  self->sample_rate = 0;
  GST_OBJECT_UNLOCK (self);
  g_clear_pointer (&self->windows, g_free);
  g_clear_pointer (&self->features, g_free);
  self->have_caps = FALSE;
  gst_tsl_audio_enc_reset_grid (self);
}

/* ---- windows and batches ---- */

static GstFlowReturn
gst_tsl_audio_enc_push_batch (GstTslAudioEnc *self)
{
  const gint n = self->n_batched;
  g_autoptr (GError) error = NULL;
  GstBuffer *buf;

  if (n == 0)
    return GST_FLOW_OK;
  self->n_batched = 0;
  if (!tsl_audio_model_forward (self->net, self->windows, n, self->window, self->features,
          &error)) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("%s", error->message), (NULL));
    return GST_FLOW_ERROR;
  }
  buf = gst_buffer_new_memdup (self->features, (gsize) n * self->dim * sizeof (gfloat));
  GST_BUFFER_PTS (buf) = self->first_pts +
      gst_tsl_audio_enc_vectors_to_time (self, self->batch_first);
  GST_BUFFER_DURATION (buf) = gst_tsl_audio_enc_vectors_to_time (self, self->batch_first + n) -
      gst_tsl_audio_enc_vectors_to_time (self, self->batch_first);
  GST_BUFFER_OFFSET (buf) = self->batch_first;
  GST_BUFFER_OFFSET_END (buf) = self->batch_first + n;
  if (self->discont) {
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    self->discont = FALSE;
  }
  return gst_pad_push (self->srcpad, buf);
}

/* Copies vector next_vector's window (zeros off the grid) into the batch,
 * running a full batch. */
static GstFlowReturn
gst_tsl_audio_enc_take_window (GstTslAudioEnc *self)
{
  const gint64 start = gst_tsl_audio_enc_window_start (self, self->next_vector);
  const gfloat *kept = (const gfloat *) self->samples->data;
  gfloat *out = self->windows + (gsize) self->n_batched * self->window;

  if (self->n_batched == 0)
    self->batch_first = self->next_vector;
  for (gint i = 0; i < self->window; i++) {
    const gint64 s = start + i;
    out[i] = s >= (gint64) self->kept_start && s < (gint64) self->n_samples ?
        kept[s - (gint64) self->kept_start] : 0.0f;
  }
  self->next_vector++;
  self->n_batched++;
  return self->n_batched == self->batch_size ? gst_tsl_audio_enc_push_batch (self) :
      GST_FLOW_OK;
}

/* Takes every window that is complete, then forgets the samples no later
 * window reaches. */
static GstFlowReturn
gst_tsl_audio_enc_take_ready (GstTslAudioEnc *self)
{
  GstFlowReturn flow = GST_FLOW_OK;
  gint64 keep_from;

  while (flow == GST_FLOW_OK && gst_tsl_audio_enc_window_start (self, self->next_vector) +
      self->window <= (gint64) self->n_samples)
    flow = gst_tsl_audio_enc_take_window (self);
  keep_from = MAX (gst_tsl_audio_enc_window_start (self, self->next_vector), 0);
  if (keep_from > (gint64) self->kept_start) {
    const guint drop = (guint) MIN ((guint64) keep_from - self->kept_start,
        (guint64) self->samples->len);
    g_array_remove_range (self->samples, 0, drop);
    self->kept_start += drop;
  }
  return flow;
}

/* Appends n samples (zeros when data is NULL) in pieces of at most one
 * window, taking the windows they complete as they go. */
static GstFlowReturn
gst_tsl_audio_enc_feed (GstTslAudioEnc *self, const gfloat *data, guint64 n)
{
  GstFlowReturn flow = GST_FLOW_OK;

  while (n > 0 && flow == GST_FLOW_OK) {
    const guint piece = (guint) MIN (n, (guint64) self->window);
    const guint old_len = self->samples->len;

    if (data != NULL) {
      g_array_append_vals (self->samples, data, piece);
      data += piece;
    } else {
      g_array_set_size (self->samples, old_len + piece);
      memset ((gfloat *) self->samples->data + old_len, 0, piece * sizeof (gfloat));
    }
    self->n_samples += piece;
    n -= piece;
    flow = gst_tsl_audio_enc_take_ready (self);
  }
  return flow;
}

/* The grid sample a timestamp falls on. */
static guint64
gst_tsl_audio_enc_grid_index (GstTslAudioEnc *self, GstClockTime ts)
{
  if (ts <= self->first_pts)
    return 0;
  return gst_util_uint64_scale_round (ts - self->first_pts, (guint64) self->sample_rate,
      GST_SECOND);
}

/* Silence from the end of the grid up to timestamp ts, when ts lies past
 * it by more than the alignment threshold. */
static GstFlowReturn
gst_tsl_audio_enc_fill_to (GstTslAudioEnc *self, GstClockTime ts)
{
  const guint64 index = gst_tsl_audio_enc_grid_index (self, ts);
  const guint64 threshold = gst_util_uint64_scale (ALIGNMENT_THRESHOLD, self->sample_rate,
      GST_SECOND);

  if (index <= self->n_samples + threshold)
    return GST_FLOW_OK;
  GST_DEBUG_OBJECT (self, "gap: %" G_GUINT64_FORMAT " samples of silence before %"
      GST_TIME_FORMAT, index - self->n_samples, GST_TIME_ARGS (ts));
  return gst_tsl_audio_enc_feed (self, NULL, index - self->n_samples);
}

/* EOS: the vectors whose PTS lies inside the stream, the last batch, a
 * fresh grid. */
static GstFlowReturn
gst_tsl_audio_enc_drain (GstTslAudioEnc *self)
{
  GstFlowReturn flow = GST_FLOW_OK;

  while (flow == GST_FLOW_OK && gst_util_uint64_scale (self->next_vector,
          (guint64) self->sample_rate * self->rate_d, (guint64) self->rate_n) < self->n_samples)
    flow = gst_tsl_audio_enc_take_window (self);
  if (flow == GST_FLOW_OK)
    flow = gst_tsl_audio_enc_push_batch (self);
  gst_tsl_audio_enc_reset_grid (self);
  return flow;
}

/* ---- pads ---- */

static gboolean
gst_tsl_audio_enc_set_caps (GstTslAudioEnc *self, GstCaps *caps)
{
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  GstCaps *src_caps;
  gint rate = 0;
  gboolean ok;

  gst_structure_get_int (s, "rate", &rate);
  if (rate != self->sample_rate) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Audio at %d Hz, but the model takes %d Hz", rate, self->sample_rate),
        ("put audioresample before tslaudioenc"));
    return FALSE;
  }
  self->have_caps = TRUE;
  src_caps = gst_caps_new_simple ("application/x-tsl-features",
      "dim", G_TYPE_INT, self->dim,
      "rate", GST_TYPE_FRACTION, self->rate_n, self->rate_d,
      "window", G_TYPE_UINT64, gst_tsl_audio_enc_vectors_to_time (self, 1), NULL);
  GST_DEBUG_OBJECT (self, "output caps %" GST_PTR_FORMAT, src_caps);
  ok = gst_pad_set_caps (self->srcpad, src_caps);
  gst_caps_unref (src_caps);
  return ok;
}

static GstFlowReturn
gst_tsl_audio_enc_chain (GstPad *pad, GstObject *parent, GstBuffer *buf)
{
  GstTslAudioEnc *self = GST_TSL_AUDIO_ENC (parent);
  const GstClockTime pts = GST_BUFFER_PTS (buf);
  GstFlowReturn flow = GST_FLOW_OK;
  const gfloat *data;
  guint64 n, skip = 0;
  GstMapInfo map;

  if (!self->have_caps) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("No caps before the first audio buffer"),
        (NULL));
    gst_buffer_unref (buf);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Cannot map an audio buffer"), (NULL));
    gst_buffer_unref (buf);
    return GST_FLOW_ERROR;
  }
  data = (const gfloat *) map.data;
  n = map.size / sizeof (gfloat);
  if (!GST_CLOCK_TIME_IS_VALID (self->first_pts)) {
    if (GST_CLOCK_TIME_IS_VALID (pts))
      self->first_pts = pts;
    else
      self->first_pts = self->segment.format == GST_FORMAT_TIME ? self->segment.start : 0;
  }
  if (GST_CLOCK_TIME_IS_VALID (pts)) {
    const guint64 index = gst_tsl_audio_enc_grid_index (self, pts);
    const guint64 threshold = gst_util_uint64_scale (ALIGNMENT_THRESHOLD, self->sample_rate,
        GST_SECOND);

    if (index + threshold < self->n_samples) {
      skip = MIN (n, self->n_samples - index);
      GST_DEBUG_OBJECT (self, "buffer at %" GST_TIME_FORMAT " overlaps the grid: dropping "
          "its first %" G_GUINT64_FORMAT " samples", GST_TIME_ARGS (pts), skip);
    }
    flow = gst_tsl_audio_enc_fill_to (self, pts);
  }
  if (flow == GST_FLOW_OK)
    flow = gst_tsl_audio_enc_feed (self, data + skip, n - skip);
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  return flow;
}

static gboolean
gst_tsl_audio_enc_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstTslAudioEnc *self = GST_TSL_AUDIO_ENC (parent);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gboolean ok;

      gst_event_parse_caps (event, &caps);
      ok = gst_tsl_audio_enc_set_caps (self, caps);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_SEGMENT:
      gst_event_copy_segment (event, &self->segment);
      break;
    case GST_EVENT_GAP:{
      GstClockTime ts, duration;

      gst_event_parse_gap (event, &ts, &duration);
      if (self->have_caps && GST_CLOCK_TIME_IS_VALID (ts)) {
        if (!GST_CLOCK_TIME_IS_VALID (self->first_pts))
          self->first_pts = ts;
        if (gst_tsl_audio_enc_fill_to (self, ts + (GST_CLOCK_TIME_IS_VALID (duration) ?
                    duration : 0)) != GST_FLOW_OK) {
          gst_event_unref (event);
          return FALSE;
        }
      }
      /* the silence stands for the gap downstream */
      gst_event_unref (event);
      return TRUE;
    }
    case GST_EVENT_EOS:
      if (self->net != NULL && self->have_caps && self->n_samples > 0)
        gst_tsl_audio_enc_drain (self);
      break;
    case GST_EVENT_FLUSH_STOP:
      gst_tsl_audio_enc_reset_grid (self);
      gst_segment_init (&self->segment, GST_FORMAT_UNDEFINED);
      break;
    default:
      break;
  }
  return gst_pad_event_default (pad, parent, event);
}

/* Once the model is loaded, only its sample rate is accepted. */
static GstCaps *
gst_tsl_audio_enc_sink_caps (GstTslAudioEnc *self, GstCaps *filter)
{
  GstCaps *caps = gst_pad_get_pad_template_caps (self->sinkpad);

  GST_OBJECT_LOCK (self);
  if (self->sample_rate > 0) {
    caps = gst_caps_make_writable (caps);
    gst_caps_set_simple (caps, "rate", G_TYPE_INT, self->sample_rate, NULL);
  }
  GST_OBJECT_UNLOCK (self);
  if (filter != NULL) {
    GstCaps *filtered = gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (caps);
    caps = filtered;
  }
  return caps;
}

static gboolean
gst_tsl_audio_enc_sink_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstTslAudioEnc *self = GST_TSL_AUDIO_ENC (parent);

  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_CAPS:{
      GstCaps *filter, *caps;

      gst_query_parse_caps (query, &filter);
      caps = gst_tsl_audio_enc_sink_caps (self, filter);
      gst_query_set_caps_result (query, caps);
      gst_caps_unref (caps);
      return TRUE;
    }
    case GST_QUERY_ACCEPT_CAPS:{
      GstCaps *caps, *allowed;

      gst_query_parse_accept_caps (query, &caps);
      allowed = gst_tsl_audio_enc_sink_caps (self, NULL);
      gst_query_set_accept_caps_result (query, gst_caps_is_subset (caps, allowed));
      gst_caps_unref (allowed);
      return TRUE;
    }
    default:
      return gst_pad_query_default (pad, parent, query);
  }
}

static gboolean
gst_tsl_audio_enc_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstTslAudioEnc *self = GST_TSL_AUDIO_ENC (parent);
  GstClockTime added = 0;
  gboolean ready;

  if (GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return gst_pad_query_default (pad, parent, query);

  GST_OBJECT_LOCK (self);
  ready = self->net != NULL;
  if (ready)
    added = gst_util_uint64_scale (GST_SECOND, self->rate_d, 2 * (guint64) self->rate_n) +
        gst_util_uint64_scale (self->window, GST_SECOND, 2 * (guint64) self->sample_rate) +
        gst_tsl_audio_enc_vectors_to_time (self, (guint64) self->batch_size - 1);
  GST_OBJECT_UNLOCK (self);

  if (!ready)
    return gst_pad_query_default (pad, parent, query);
  return gst_tsl_latency_query_add (self->sinkpad, query, added);
}

/* ---- element ---- */

static GstStateChangeReturn
gst_tsl_audio_enc_change_state (GstElement *element, GstStateChange transition)
{
  GstTslAudioEnc *self = GST_TSL_AUDIO_ENC (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    if (!gst_tsl_audio_enc_load (self))
      return GST_STATE_CHANGE_FAILURE;
    gst_tsl_audio_enc_reset_grid (self);
    gst_segment_init (&self->segment, GST_FORMAT_UNDEFINED);
  }
  ret = GST_ELEMENT_CLASS (gst_tsl_audio_enc_parent_class)->change_state (element, transition);
  if ((ret == GST_STATE_CHANGE_FAILURE && transition == GST_STATE_CHANGE_READY_TO_PAUSED) ||
      (ret != GST_STATE_CHANGE_FAILURE && transition == GST_STATE_CHANGE_PAUSED_TO_READY))
    gst_tsl_audio_enc_unload (self);
  return ret;
}

static void
gst_tsl_audio_enc_set_property (GObject *object, guint prop_id, const GValue *value,
    GParamSpec *pspec)
{
  GstTslAudioEnc *self = GST_TSL_AUDIO_ENC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->prop_model);
      self->prop_model = g_value_dup_string (value);
      break;
    case PROP_BACKEND:
      self->prop_backend = g_value_get_enum (value);
      break;
    case PROP_HEAD:
      self->prop_head = g_value_get_enum (value);
      break;
    case PROP_WINDOW:
      self->prop_window = g_value_get_uint (value);
      break;
    case PROP_RATE:
      self->prop_rate_n = gst_value_get_fraction_numerator (value);
      self->prop_rate_d = gst_value_get_fraction_denominator (value);
      break;
    case PROP_BATCH_SIZE:
      self->prop_batch_size = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_tsl_audio_enc_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstTslAudioEnc *self = GST_TSL_AUDIO_ENC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->prop_model);
      break;
    case PROP_BACKEND:
      g_value_set_enum (value, self->prop_backend);
      break;
    case PROP_HEAD:
      g_value_set_enum (value, self->prop_head);
      break;
    case PROP_WINDOW:
      g_value_set_uint (value, self->prop_window);
      break;
    case PROP_RATE:
      gst_value_set_fraction (value, self->prop_rate_n, self->prop_rate_d);
      break;
    case PROP_BATCH_SIZE:
      g_value_set_uint (value, self->prop_batch_size);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_tsl_audio_enc_finalize (GObject *object)
{
  GstTslAudioEnc *self = GST_TSL_AUDIO_ENC (object);

  gst_tsl_audio_enc_unload (self);
  g_array_unref (self->samples);
  g_free (self->prop_model);
  G_OBJECT_CLASS (gst_tsl_audio_enc_parent_class)->finalize (object);
}

static void
gst_tsl_audio_enc_class_init (GstTslAudioEncClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags flags =
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;

  GST_DEBUG_CATEGORY_INIT (gst_tsl_audio_enc_debug, "tslaudioenc", 0,
      "TSL MMV audio encoder");

  gobject_class->set_property = gst_tsl_audio_enc_set_property;
  gobject_class->get_property = gst_tsl_audio_enc_get_property;
  gobject_class->finalize = gst_tsl_audio_enc_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Audio model file (.safetensors with tsl.model audio-resnet; required, loaded at "
          "READY->PAUSED)", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_BACKEND,
      g_param_spec_enum ("backend", "Backend", "Where the network runs",
          GST_TYPE_TSL_BACKEND, DEFAULT_BACKEND, flags));
  g_object_class_install_property (gobject_class, PROP_HEAD,
      g_param_spec_enum ("head", "Head", "Which output of the network the features are",
          GST_TYPE_TSL_AUDIO_ENC_HEAD, DEFAULT_HEAD, flags));
  g_object_class_install_property (gobject_class, PROP_WINDOW,
      g_param_spec_uint ("window", "Window",
          "Samples per vector, centred on its time (0 = the model's window_samples, "
          "3.2 s for the released model)", 0, G_MAXINT / 4, DEFAULT_WINDOW, flags));
  g_object_class_install_property (gobject_class, PROP_RATE,
      gst_param_spec_fraction ("rate", "Rate",
          "Vectors per second (the hop is 1 / rate; 15/8 is tslvideoenc's default grid, "
          "16 frames at 30 fps)", 1, G_MAXINT, G_MAXINT, 1, DEFAULT_RATE_N, DEFAULT_RATE_D,
          flags));
  g_object_class_install_property (gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint ("batch-size", "Batch size",
          "Windows per forward pass: larger batches use the hardware better and add "
          "(batch-size - 1) / rate of latency", 1, 256, DEFAULT_BATCH_SIZE, flags));

  gst_element_class_set_static_metadata (element_class, "TSL MMV audio encoder",
      "Filter/Audio/Analyzer", "Encodes windows of audio into feature vectors with the MMV "
      "audio network (log-mel + ResNet-v2)", "gst-tsl developers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_tsl_audio_enc_change_state);

  gst_type_mark_as_plugin_api (GST_TYPE_TSL_BACKEND, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_TSL_AUDIO_ENC_HEAD, 0);
}

static void
gst_tsl_audio_enc_init (GstTslAudioEnc *self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_tsl_audio_enc_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_tsl_audio_enc_sink_event));
  gst_pad_set_query_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_tsl_audio_enc_sink_query));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (self->srcpad, GST_DEBUG_FUNCPTR (gst_tsl_audio_enc_src_query));
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  self->prop_backend = DEFAULT_BACKEND;
  self->prop_head = DEFAULT_HEAD;
  self->prop_window = DEFAULT_WINDOW;
  self->prop_rate_n = DEFAULT_RATE_N;
  self->prop_rate_d = DEFAULT_RATE_D;
  self->prop_batch_size = DEFAULT_BATCH_SIZE;
  self->samples = g_array_new (FALSE, FALSE, sizeof (gfloat));
  self->first_pts = GST_CLOCK_TIME_NONE;
  gst_segment_init (&self->segment, GST_FORMAT_UNDEFINED);
}

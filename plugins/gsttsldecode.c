/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttsldecode.c: tsldecode, ActionFormer scores in, sound events out.
 * The decoding is libtsl's (decode/decode.h): the per-level candidate
 * selection and the NMS of happyharrycn/actionformer_release
 * (LocPointTransformer.inference_single_video and postprocessing, commit
 * 61ea7eb), run exactly as `gst-tsl-train predict` runs them. This file
 * adds what a stream needs: commit ranges, a pool of candidates across
 * windows, the emission rule, timestamps, meta, messages and formatting.
 *
 * Grid units are level-0 feature indices counted from the stream's first
 * feature (`_grid`); times are nanoseconds (`_ns`) or seconds (`_s`).
 */

/**
 * SECTION:element-tsldecode
 * @title: tsldecode
 * @short_description: turns ActionFormer scores into timed sound events
 *
 * tsldecode reads the per-level class logits and boundary offsets that
 * tslactionformer computes for each inference window
 * (application/x-tsl-scores, classes=(int)K, levels=(int)L,
 * rate=(fraction)R, window=(guint64)W; layout in gsttslscores.h) and finds
 * the sound events in them: score threshold and top-k per FPN level,
 * segment decoding, then NMS, with the parameters of the model's test_cfg
 * unless a property overrides them.
 *
 * Only points whose grid position lies in the window's commit range are
 * read; their candidates join a pool that spans windows, and NMS runs over
 * the pool. A final window (offline mode, or the last window at EOS)
 * emits every remaining event, with its times clamped to the stream, as
 * `gst-tsl-train predict` clamps to the video. While streaming, an event
 * is emitted once its end lies at least #GstTslDecode:latency before the
 * committed frontier (the end of the latest commit range); this is exact
 * when no later candidate reaches back further than that. No event is
 * emitted twice. Candidates ending more than twice the latency before the
 * frontier leave the pool: they can only touch events longer than the
 * latency that are still pending. The events of one batch are pushed in
 * ascending start time.
 *
 * Each event becomes one output buffer with PTS = start and duration =
 * end - start, carrying a #GstTslEventMeta, and is posted on the bus.
 *
 * ## Caps
 *
 * Sink: application/x-tsl-scores, classes=(int)[1, MAX], levels=(int)[1, 16],
 * with rate=(fraction) and window=(guint64) required.
 *
 * Src, by #GstTslDecode:format: application/x-json (one JSON object per
 * buffer, newline-terminated: {"label": string, "label_id": int, "score":
 * double, "start": double, "end": double}, times in seconds of stream
 * time), or text/x-raw, format=utf8 (a caption "label (score)", score with
 * two decimals, for textoverlay or webvttenc).
 *
 * ## Properties
 *
 * #GstTslDecode:model gives the labels and the decoding defaults;
 * #GstTslDecode:format picks the output. Each test_cfg field has a
 * property whose default, -1 (or "model" for #GstTslDecode:nms-method),
 * takes the model's value: #GstTslDecode:pre-nms-thresh,
 * #GstTslDecode:pre-nms-topk, #GstTslDecode:duration-thresh,
 * #GstTslDecode:nms-method, #GstTslDecode:nms-sigma,
 * #GstTslDecode:min-score, #GstTslDecode:max-events,
 * #GstTslDecode:iou-threshold, #GstTslDecode:multiclass,
 * #GstTslDecode:voting-thresh. #GstTslDecode:latency sets the streaming
 * emission delay. All are read at READY->PAUSED.
 *
 * ## Element messages
 *
 * For each event an element message named `tsl-event`, with the fields:
 *
 * * `label` (string): the class name (tsl.labels of the model, or class_N).
 * * `label-id` (int): the class index, 0 .. K - 1.
 * * `score` (double): the event's score after NMS, 0 .. 1.
 * * `start` (guint64): start of the event, ns of stream time.
 * * `end` (guint64): end of the event, ns of stream time.
 * * `stream-time` (guint64): stream time of the start, from the segment.
 * * `running-time` (guint64): running time of the start, from the segment
 *   (GST_CLOCK_TIME_NONE when the start lies outside the segment).
 *
 * ## Stream edges
 *
 * EOS emits every pending event before EOS goes on. A DISCONT buffer
 * emits the pending events of the stream before it and starts afresh, as
 * does a final window; FLUSH_STOP drops them. GAP events are passed on.
 * A buffer whose header disagrees with the caps, or that is truncated or
 * malformed, is an error. The LATENCY query adds #GstTslDecode:latency.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 ... ! tslactionformer model=af.safetensors ! \
 *     tsldecode model=af.safetensors format=text ! fakesink
 * ]| prints nothing but posts a `tsl-event` message per sound event
 * (gst-launch-1.0 -m shows them).
 */
#include "gsttsldecode.h"
#include "gsttsllatency.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "decode/decode.h"
#include "gsttslmeta.h"
#include "gsttslscores.h"
#include "io/safetensors.h"
#include "models/actionformer/config.h"
#include "models/labels.h"

GST_DEBUG_CATEGORY_STATIC (gst_tsl_decode_debug);
#define GST_CAT_DEFAULT gst_tsl_decode_debug

#define DEFAULT_MODEL NULL
#define DEFAULT_FORMAT GST_TSL_DECODE_FORMAT_JSON
#define DEFAULT_FROM_MODEL (-1)
#define DEFAULT_NMS_METHOD GST_TSL_DECODE_NMS_MODEL
#define DEFAULT_LATENCY (10 * GST_SECOND)

enum {
  PROP_0,
  PROP_MODEL,
  PROP_FORMAT,
  PROP_PRE_NMS_THRESH,
  PROP_PRE_NMS_TOPK,
  PROP_DURATION_THRESH,
  PROP_NMS_METHOD,
  PROP_NMS_SIGMA,
  PROP_MIN_SCORE,
  PROP_MAX_EVENTS,
  PROP_IOU_THRESHOLD,
  PROP_MULTICLASS,
  PROP_VOTING_THRESH,
  PROP_LATENCY,
};

struct _GstTslDecode {
  GstElement element;

  GstPad *sinkpad;
  GstPad *srcpad;

  /* properties; protected by the object lock. Negative thresholds and
   * counts, nms_method MODEL and multiclass -1 mean "the model's value". */
  gchar *prop_model;                    /* path of a .safetensors model, or NULL */
  GstTslDecodeFormat prop_format;
  gdouble prop_pre_nms_thresh;          /* probability */
  gint prop_pre_nms_topk;               /* candidates per level */
  gdouble prop_duration_thresh;         /* grid units */
  GstTslDecodeNmsMethod prop_nms_method;
  gdouble prop_nms_sigma;
  gdouble prop_min_score;               /* probability */
  gint prop_max_events;                 /* per class and in total */
  gdouble prop_iou_threshold;
  gint prop_multiclass;                 /* -1 model, 0 all classes at once, 1 per class */
  gdouble prop_voting_thresh;
  guint64 prop_latency_ns;

  /* working settings: set at READY->PAUSED from the properties and the
   * model; read by the streaming thread; latency_ns also by the LATENCY
   * query, under the object lock */
  TslDecodeConfig config;
  GstTslDecodeFormat format;
  guint64 latency_ns;
  GPtrArray *model_labels;              /* [K_model] class names, NULL without a model */
  gint model_classes;                   /* K of the model, 0 without one */

  /* negotiated; streaming thread */
  gint num_classes;                     /* K; 0 before caps */
  gint n_levels;                        /* L */
  gint rate_n, rate_d;                  /* R, feature vectors per second */
  guint64 window_ns;                    /* W, time one feature vector summarises */
  GPtrArray *labels;                    /* [K] class names */
  GstSegment segment;                   /* TIME segment of the scores */

  /* stream state: reset on FLUSH_STOP, DISCONT, after a final window and
   * at PAUSED->READY; streaming thread */
  gboolean have_base;
  gint64 base_ns;                       /* buffer time of stream grid position 0 */
  guint64 stream_len;                   /* features in the stream, latest header */
  GArray *pool;                         /* TslSegment, stream grid units: live candidates */
  gdouble emitted_until_grid;           /* NMS outputs ending at or before this were emitted */
};

struct _GstTslDecodeClass {
  GstElementClass parent_class;
};

/* One event ready to leave the element. */
typedef struct {
  const gchar *label;
  gint label_id;
  gdouble score;
  GstClockTime pts;                     /* buffer time of the start */
  GstClockTime duration;                /* end - start, ns */
  GstClockTime start;                   /* stream time, ns */
  GstClockTime end;                     /* stream time, ns */
  GstClockTime running_time;            /* running time of the start, or NONE */
} GstTslDecodeEvent;

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_TSL_SCORES_CAPS_NAME ", classes=(int)[1, MAX], levels=(int)[1, 16]"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("application/x-json; text/x-raw, format=(string)utf8"));

#define gst_tsl_decode_parent_class parent_class
G_DEFINE_TYPE (GstTslDecode, gst_tsl_decode, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (tsldecode, "tsldecode", GST_RANK_NONE, GST_TYPE_TSL_DECODE);

static void gst_tsl_decode_set_property (GObject *object, guint prop_id, const GValue *value,
    GParamSpec *pspec);
static void gst_tsl_decode_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec);
static void gst_tsl_decode_finalize (GObject *object);
static GstStateChangeReturn gst_tsl_decode_change_state (GstElement *element,
    GstStateChange transition);
static gboolean gst_tsl_decode_sink_event (GstPad *pad, GstObject *parent, GstEvent *event);
static gboolean gst_tsl_decode_src_query (GstPad *pad, GstObject *parent, GstQuery *query);
static GstFlowReturn gst_tsl_decode_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer);

/* ---- enums ---- */

static GType
gst_tsl_decode_format_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_TSL_DECODE_FORMAT_JSON, "JSON lines (application/x-json)", "json"},
    {GST_TSL_DECODE_FORMAT_TEXT, "Caption text (text/x-raw, format=utf8)", "text"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstTslDecodeFormat", values));
  return (GType) type;
}

static GType
gst_tsl_decode_nms_method_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_TSL_DECODE_NMS_MODEL, "The model's test_cfg.nms_method", "model"},
    {GST_TSL_DECODE_NMS_SOFT, "Gaussian soft-NMS", "soft"},
    {GST_TSL_DECODE_NMS_HARD, "Greedy NMS", "hard"},
    {GST_TSL_DECODE_NMS_LINEAR, "Linear soft-NMS", "linear"},
    {GST_TSL_DECODE_NMS_NONE, "No suppression", "none"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstTslDecodeNmsMethod", values));
  return (GType) type;
}

/* ---- class ---- */

static void
gst_tsl_decode_class_init (GstTslDecodeClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;

  GST_DEBUG_CATEGORY_INIT (gst_tsl_decode_debug, "tsldecode", 0, "TSL event decoder");

  gobject_class->set_property = gst_tsl_decode_set_property;
  gobject_class->get_property = gst_tsl_decode_get_property;
  gobject_class->finalize = gst_tsl_decode_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "ActionFormer model file (.safetensors) whose tsl.labels name the classes and whose "
          "tsl.config test_cfg gives the decoding defaults (none: class_N labels and the "
          "reference test_cfg defaults)", DEFAULT_MODEL, flags));
  g_object_class_install_property (gobject_class, PROP_FORMAT,
      g_param_spec_enum ("format", "Format", "What each event buffer holds",
          gst_tsl_decode_format_get_type (), DEFAULT_FORMAT, flags));
  g_object_class_install_property (gobject_class, PROP_PRE_NMS_THRESH,
      g_param_spec_double ("pre-nms-thresh", "Pre-NMS threshold",
          "Keep candidates whose class probability is above this (0 .. 1; negative: the "
          "model's value)", -1.0, 1.0, DEFAULT_FROM_MODEL, flags));
  g_object_class_install_property (gobject_class, PROP_PRE_NMS_TOPK,
      g_param_spec_int ("pre-nms-topk", "Pre-NMS top-k",
          "Keep at most this many candidates per FPN level and window (candidates; 0 or -1: "
          "the model's value)", -1, G_MAXINT, DEFAULT_FROM_MODEL, flags));
  g_object_class_install_property (gobject_class, PROP_DURATION_THRESH,
      g_param_spec_double ("duration-thresh", "Duration threshold",
          "Keep candidates longer than this (feature vectors; negative: the model's value)",
          -1.0, G_MAXDOUBLE, DEFAULT_FROM_MODEL, flags));
  g_object_class_install_property (gobject_class, PROP_NMS_METHOD,
      g_param_spec_enum ("nms-method", "NMS method", "Non-maximum suppression of candidates",
          gst_tsl_decode_nms_method_get_type (), DEFAULT_NMS_METHOD, flags));
  g_object_class_install_property (gobject_class, PROP_NMS_SIGMA,
      g_param_spec_double ("nms-sigma", "NMS sigma",
          "Gaussian soft-NMS decay: score *= exp(-IoU^2 / sigma) (> 0; negative: the model's "
          "value)", -1.0, G_MAXDOUBLE, DEFAULT_FROM_MODEL, flags));
  g_object_class_install_property (gobject_class, PROP_MIN_SCORE,
      g_param_spec_double ("min-score", "Minimum score",
          "Soft-NMS drops a candidate once its decayed score falls below this; hard NMS keeps "
          "scores above it; each class's best candidate always survives (0 .. 1; "
          "negative: the model's value)",
          -1.0, 1.0, DEFAULT_FROM_MODEL, flags));
  g_object_class_install_property (gobject_class, PROP_MAX_EVENTS,
      g_param_spec_int ("max-events", "Maximum events",
          "Keep at most this many events per class and in total per NMS run (events; 0 or -1: "
          "the model's value)", -1, G_MAXINT, DEFAULT_FROM_MODEL, flags));
  g_object_class_install_property (gobject_class, PROP_IOU_THRESHOLD,
      g_param_spec_double ("iou-threshold", "IoU threshold",
          "Overlap at which hard and linear NMS suppress (0 .. 1; negative: the model's "
          "value)", -1.0, 1.0, DEFAULT_FROM_MODEL, flags));
  g_object_class_install_property (gobject_class, PROP_MULTICLASS,
      g_param_spec_int ("multiclass", "Multiclass",
          "NMS per class (1) or over all classes at once (0) (-1: the model's value)",
          -1, 1, DEFAULT_FROM_MODEL, flags));
  g_object_class_install_property (gobject_class, PROP_VOTING_THRESH,
      g_param_spec_double ("voting-thresh", "Voting threshold",
          "Class-agnostic NMS only: average boundaries over candidates with at least this IoU "
          "(0 .. 1, 0 = off; negative: the model's value)", -1.0, 1.0, DEFAULT_FROM_MODEL,
          flags));
  g_object_class_install_property (gobject_class, PROP_LATENCY,
      g_param_spec_uint64 ("latency", "Latency",
          "Streaming: emit an event once its end lies this far before the committed frontier "
          "(ns); added to the LATENCY query", 0, G_MAXUINT64, DEFAULT_LATENCY, flags));

  gst_element_class_set_static_metadata (element_class, "TSL event decoder", "Filter/Analyzer",
      "Turns ActionFormer scores into timed sound events", "gst-tsl developers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  element_class->change_state = GST_DEBUG_FUNCPTR (gst_tsl_decode_change_state);

  gst_type_mark_as_plugin_api (gst_tsl_decode_format_get_type (), 0);
  gst_type_mark_as_plugin_api (gst_tsl_decode_nms_method_get_type (), 0);
}

static void
gst_tsl_decode_init (GstTslDecode *self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_tsl_decode_chain));
  gst_pad_set_event_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_tsl_decode_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (self->srcpad, GST_DEBUG_FUNCPTR (gst_tsl_decode_src_query));
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  self->prop_model = g_strdup (DEFAULT_MODEL);
  self->prop_format = DEFAULT_FORMAT;
  self->prop_pre_nms_thresh = DEFAULT_FROM_MODEL;
  self->prop_pre_nms_topk = DEFAULT_FROM_MODEL;
  self->prop_duration_thresh = DEFAULT_FROM_MODEL;
  self->prop_nms_method = DEFAULT_NMS_METHOD;
  self->prop_nms_sigma = DEFAULT_FROM_MODEL;
  self->prop_min_score = DEFAULT_FROM_MODEL;
  self->prop_max_events = DEFAULT_FROM_MODEL;
  self->prop_iou_threshold = DEFAULT_FROM_MODEL;
  self->prop_multiclass = DEFAULT_FROM_MODEL;
  self->prop_voting_thresh = DEFAULT_FROM_MODEL;
  self->prop_latency_ns = DEFAULT_LATENCY;

  tsl_decode_config_init (&self->config);
  self->format = DEFAULT_FORMAT;
  self->latency_ns = DEFAULT_LATENCY;
  self->pool = g_array_new (FALSE, FALSE, sizeof (TslSegment));
  self->emitted_until_grid = -INFINITY;
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
}

static void
gst_tsl_decode_finalize (GObject *object)
{
  GstTslDecode *self = GST_TSL_DECODE (object);

  g_free (self->prop_model);
  g_clear_pointer (&self->model_labels, g_ptr_array_unref);
  g_clear_pointer (&self->labels, g_ptr_array_unref);
  g_array_unref (self->pool);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_tsl_decode_set_property (GObject *object, guint prop_id, const GValue *value,
    GParamSpec *pspec)
{
  GstTslDecode *self = GST_TSL_DECODE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->prop_model);
      self->prop_model = g_value_dup_string (value);
      break;
    case PROP_FORMAT:
      self->prop_format = g_value_get_enum (value);
      break;
    case PROP_PRE_NMS_THRESH:
      self->prop_pre_nms_thresh = g_value_get_double (value);
      break;
    case PROP_PRE_NMS_TOPK:
      self->prop_pre_nms_topk = g_value_get_int (value);
      break;
    case PROP_DURATION_THRESH:
      self->prop_duration_thresh = g_value_get_double (value);
      break;
    case PROP_NMS_METHOD:
      self->prop_nms_method = g_value_get_enum (value);
      break;
    case PROP_NMS_SIGMA:
      self->prop_nms_sigma = g_value_get_double (value);
      break;
    case PROP_MIN_SCORE:
      self->prop_min_score = g_value_get_double (value);
      break;
    case PROP_MAX_EVENTS:
      self->prop_max_events = g_value_get_int (value);
      break;
    case PROP_IOU_THRESHOLD:
      self->prop_iou_threshold = g_value_get_double (value);
      break;
    case PROP_MULTICLASS:
      self->prop_multiclass = g_value_get_int (value);
      break;
    case PROP_VOTING_THRESH:
      self->prop_voting_thresh = g_value_get_double (value);
      break;
    case PROP_LATENCY:
      self->prop_latency_ns = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_tsl_decode_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstTslDecode *self = GST_TSL_DECODE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->prop_model);
      break;
    case PROP_FORMAT:
      g_value_set_enum (value, self->prop_format);
      break;
    case PROP_PRE_NMS_THRESH:
      g_value_set_double (value, self->prop_pre_nms_thresh);
      break;
    case PROP_PRE_NMS_TOPK:
      g_value_set_int (value, self->prop_pre_nms_topk);
      break;
    case PROP_DURATION_THRESH:
      g_value_set_double (value, self->prop_duration_thresh);
      break;
    case PROP_NMS_METHOD:
      g_value_set_enum (value, self->prop_nms_method);
      break;
    case PROP_NMS_SIGMA:
      g_value_set_double (value, self->prop_nms_sigma);
      break;
    case PROP_MIN_SCORE:
      g_value_set_double (value, self->prop_min_score);
      break;
    case PROP_MAX_EVENTS:
      g_value_set_int (value, self->prop_max_events);
      break;
    case PROP_IOU_THRESHOLD:
      g_value_set_double (value, self->prop_iou_threshold);
      break;
    case PROP_MULTICLASS:
      g_value_set_int (value, self->prop_multiclass);
      break;
    case PROP_VOTING_THRESH:
      g_value_set_double (value, self->prop_voting_thresh);
      break;
    case PROP_LATENCY:
      g_value_set_uint64 (value, self->prop_latency_ns);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ---- settings: model and properties ---- */

/* Reads the decoding defaults and labels of the model at `path`. */
static gboolean
gst_tsl_decode_load_model (GstTslDecode *self, const gchar *path, GError **error)
{
  g_autoptr (TslSafetensors) st = tsl_safetensors_open (path, error);
  TslActionFormerConfig cfg;
  const gchar *config_json;

  if (st == NULL)
    return FALSE;
  config_json = tsl_safetensors_get_metadata (st, "tsl.config");
  if (config_json == NULL) {
    g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: no tsl.config metadata", path);
    return FALSE;
  }
  if (!tsl_actionformer_config_parse (&cfg, config_json, -1, error)) {
    g_prefix_error (error, "%s: tsl.config: ", path);
    return FALSE;
  }
  self->model_labels = tsl_model_labels (st, cfg.num_classes, error);
  if (self->model_labels == NULL)
    return FALSE;
  self->model_classes = cfg.num_classes;
  self->config = cfg.decode;
  GST_INFO_OBJECT (self, "model %s: %d classes", path, cfg.num_classes);
  return TRUE;
}

static TslNmsMethod
gst_tsl_decode_nms_method_to_tsl (GstTslDecodeNmsMethod method, TslNmsMethod model_method)
{
  switch (method) {
    case GST_TSL_DECODE_NMS_SOFT:
      return TSL_NMS_SOFT;
    case GST_TSL_DECODE_NMS_HARD:
      return TSL_NMS_HARD;
    case GST_TSL_DECODE_NMS_LINEAR:
      return TSL_NMS_SOFT_LINEAR;
    case GST_TSL_DECODE_NMS_NONE:
      return TSL_NMS_NONE;
    case GST_TSL_DECODE_NMS_MODEL:
    default:
      return model_method;
  }
}

/* The working settings at READY->PAUSED: the model's test_cfg (or the
 * reference defaults), overridden by every property that is set. The model
 * is read without holding the object lock. */
static gboolean
gst_tsl_decode_apply_settings (GstTslDecode *self, GError **error)
{
  TslDecodeConfig *c = &self->config;
  g_autofree gchar *model = NULL;

  GST_OBJECT_LOCK (self);
  model = g_strdup (self->prop_model);
  GST_OBJECT_UNLOCK (self);

  tsl_decode_config_init (c);
  g_clear_pointer (&self->model_labels, g_ptr_array_unref);
  self->model_classes = 0;
  if (model != NULL && !gst_tsl_decode_load_model (self, model, error))
    return FALSE;

  GST_OBJECT_LOCK (self);
  if (self->prop_pre_nms_thresh >= 0)
    c->pre_nms_thresh = self->prop_pre_nms_thresh;
  if (self->prop_pre_nms_topk > 0)
    c->pre_nms_topk = self->prop_pre_nms_topk;
  if (self->prop_duration_thresh >= 0)
    c->duration_thresh = self->prop_duration_thresh;
  c->nms_method = gst_tsl_decode_nms_method_to_tsl (self->prop_nms_method, c->nms_method);
  if (self->prop_nms_sigma >= 0)
    c->sigma = self->prop_nms_sigma;
  if (self->prop_min_score >= 0)
    c->min_score = self->prop_min_score;
  if (self->prop_max_events > 0)
    c->max_seg_num = self->prop_max_events;
  if (self->prop_iou_threshold >= 0)
    c->iou_threshold = self->prop_iou_threshold;
  if (self->prop_multiclass >= 0)
    c->multiclass = self->prop_multiclass == 1;
  if (self->prop_voting_thresh >= 0)
    c->voting_thresh = self->prop_voting_thresh;
  self->format = self->prop_format;
  self->latency_ns = self->prop_latency_ns;
  GST_OBJECT_UNLOCK (self);

  return tsl_decode_config_check (c, error);
}

/* ---- stream state ---- */

static void
gst_tsl_decode_reset_stream (GstTslDecode *self)
{
  self->have_base = FALSE;
  self->base_ns = 0;
  self->stream_len = 0;
  g_array_set_size (self->pool, 0);
  self->emitted_until_grid = -INFINITY;
}

/* Seconds from the start of the stream's first feature vector to the time
 * grid position g stands for (g / R + W / 2), clamped to [0, stream
 * length] as `gst-tsl-train predict` clamps to [0, duration]. */
static gdouble
gst_tsl_decode_grid_to_s (const GstTslDecode *self, gdouble g_grid)
{
  const gdouble seconds_per_grid = (gdouble) self->rate_d / self->rate_n;
  const gdouble stream_s = (gdouble) self->stream_len * seconds_per_grid;
  const gdouble t_s = g_grid * seconds_per_grid + 0.5 * self->window_ns / GST_SECOND;

  return CLAMP (t_s, 0.0, stream_s);
}

static GstClockTime
gst_tsl_decode_s_to_buffer_time (const GstTslDecode *self, gdouble t_s)
{
  const gint64 t_ns = self->base_ns + (gint64) llround (t_s * GST_SECOND);

  return (GstClockTime) MAX (t_ns, 0);
}

/* Stream time of a buffer time; the buffer time itself when it lies outside
 * the segment. */
static GstClockTime
gst_tsl_decode_stream_time (const GstTslDecode *self, GstClockTime t_ns)
{
  const GstClockTime stream_ns =
      gst_segment_to_stream_time (&self->segment, GST_FORMAT_TIME, t_ns);

  return GST_CLOCK_TIME_IS_VALID (stream_ns) ? stream_ns : t_ns;
}

/* ---- output ---- */

/* The `tsl-event` element message of one event; the caller posts it
 * without holding the object lock. */
static GstMessage *
gst_tsl_decode_event_message_new (GstTslDecode *self, const GstTslDecodeEvent *ev)
{
  GstStructure *s = gst_structure_new ("tsl-event",
      "label", G_TYPE_STRING, ev->label,
      "label-id", G_TYPE_INT, ev->label_id,
      "score", G_TYPE_DOUBLE, ev->score,
      "start", G_TYPE_UINT64, ev->start,
      "end", G_TYPE_UINT64, ev->end,
      "stream-time", G_TYPE_UINT64, ev->start,
      "running-time", G_TYPE_UINT64, ev->running_time,
      NULL);

  return gst_message_new_element (GST_OBJECT (self), s);
}

/* One newline-terminated JSON object, times in seconds of stream time. */
static gchar *
gst_tsl_decode_event_json (const GstTslDecodeEvent *ev)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "label");
  json_builder_add_string_value (b, ev->label);
  json_builder_set_member_name (b, "label_id");
  json_builder_add_int_value (b, ev->label_id);
  json_builder_set_member_name (b, "score");
  json_builder_add_double_value (b, ev->score);
  json_builder_set_member_name (b, "start");
  json_builder_add_double_value (b, (gdouble) ev->start / GST_SECOND);
  json_builder_set_member_name (b, "end");
  json_builder_add_double_value (b, (gdouble) ev->end / GST_SECOND);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  return g_strconcat (text, "\n", NULL);
}

/* "label (0.87)", whatever the locale. */
static gchar *
gst_tsl_decode_event_caption (const GstTslDecodeEvent *ev)
{
  gchar score[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (score, sizeof (score), "%.2f", ev->score);
  return g_strdup_printf ("%s (%s)", ev->label, score);
}

static GstFlowReturn
gst_tsl_decode_push_event (GstTslDecode *self, const TslSegment *seg)
{
  const GstClockTime start_pts = gst_tsl_decode_s_to_buffer_time (self,
      gst_tsl_decode_grid_to_s (self, seg->start));
  const GstClockTime end_pts = MAX (start_pts, gst_tsl_decode_s_to_buffer_time (self,
          gst_tsl_decode_grid_to_s (self, seg->end)));
  GstTslDecodeEvent ev = {
    .label = g_ptr_array_index (self->labels, seg->label),
    .label_id = seg->label,
    .score = seg->score,
    .pts = start_pts,
    .duration = end_pts - start_pts,
    .start = gst_tsl_decode_stream_time (self, start_pts),
    .running_time = gst_segment_to_running_time (&self->segment, GST_FORMAT_TIME, start_pts),
  };
  gchar *text;
  GstBuffer *buf;

  ev.end = ev.start + ev.duration;
  GST_LOG_OBJECT (self, "event %s %.3f %" GST_TIME_FORMAT " - %" GST_TIME_FORMAT, ev.label,
      ev.score, GST_TIME_ARGS (ev.start), GST_TIME_ARGS (ev.end));

  text = self->format == GST_TSL_DECODE_FORMAT_JSON ?
      gst_tsl_decode_event_json (&ev) : gst_tsl_decode_event_caption (&ev);
  buf = gst_buffer_new_wrapped (text, strlen (text));
  GST_BUFFER_PTS (buf) = ev.pts;
  GST_BUFFER_DURATION (buf) = ev.duration;
  gst_buffer_add_tsl_event_meta (buf, ev.label, ev.label_id, ev.score, ev.start, ev.end);

  gst_element_post_message (GST_ELEMENT (self), gst_tsl_decode_event_message_new (self, &ev));
  return gst_pad_push (self->srcpad, buf);
}

static gint
compare_start (gconstpointer a, gconstpointer b)
{
  const TslSegment *x = a, *y = b;

  if (x->start != y->start)
    return x->start < y->start ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  if (x->label != y->label)
    return x->label < y->label ? -1 : 1;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return 0;
}

/* Runs NMS over the pool and pushes, in ascending start, every output
 * event ending in (emitted_until, limit] (grid units). */
static GstFlowReturn
gst_tsl_decode_emit (GstTslDecode *self, gdouble limit_grid)
{
  g_autoptr (GArray) nms = g_array_new (FALSE, FALSE, sizeof (TslSegment));
  g_autoptr (GArray) batch = g_array_new (FALSE, FALSE, sizeof (TslSegment));
  GstFlowReturn ret = GST_FLOW_OK;

  if (!(limit_grid > self->emitted_until_grid))
    return GST_FLOW_OK;
  if (self->pool->len == 0) {
    self->emitted_until_grid = limit_grid;
    return GST_FLOW_OK;
  }

  tsl_decode_nms (nms, (const TslSegment *) self->pool->data, (gint) self->pool->len,
      &self->config);
  for (guint i = 0; i < nms->len; i++) {
    const TslSegment *seg = &g_array_index (nms, TslSegment, i);

    if (seg->end > self->emitted_until_grid && seg->end <= limit_grid)
      g_array_append_val (batch, *seg);
  }
  self->emitted_until_grid = limit_grid;
  g_array_sort (batch, compare_start);
  GST_DEBUG_OBJECT (self, "%u candidates, %u NMS events, %u emitted up to grid %g",
      self->pool->len, nms->len, batch->len, limit_grid);

  for (guint i = 0; i < batch->len && ret == GST_FLOW_OK; i++)
    ret = gst_tsl_decode_push_event (self, &g_array_index (batch, TslSegment, i));
  return ret;
}

/* Emits every pending event and forgets the stream. */
static GstFlowReturn
gst_tsl_decode_drain (GstTslDecode *self)
{
  GstFlowReturn ret = gst_tsl_decode_emit (self, INFINITY);

  gst_tsl_decode_reset_stream (self);
  return ret;
}

/* ---- input ---- */

/* Candidates of the window's points inside its commit range, appended to
 * the pool in stream grid units. Points outside the range get the score
 * -inf, which no threshold keeps, so that every level is still decoded
 * from its whole [K, T] buffer, as the reference rounds its sigmoid. */
static void
gst_tsl_decode_collect (GstTslDecode *self, const GstTslScoresHeader *h,
    const float *const *cls_logits, const float *const *offsets, const float *const *mask)
{
  g_autoptr (GArray) candidates = g_array_new (FALSE, FALSE, sizeof (TslSegment));
  const gint K = h->num_classes;
  const gfloat offset_grid = (gfloat) h->stream_offset;

  for (gint l = 0; l < h->n_levels; l++) {
    const gint T = h->levels[l].T;
    const gint stride = h->levels[l].stride;
    float *scores = g_new (float, (gsize) K * T);       /* [K, T] */

    tsl_decode_sigmoid (scores, cls_logits[l], (gsize) K * T);
    for (gint t = 0; t < T; t++) {
      const gint64 g = (gint64) t * stride;

      if (g >= h->commit_start && g < h->commit_end)
        continue;
      for (gint k = 0; k < K; k++)
        scores[(gsize) k * T + t] = -INFINITY;
    }
    tsl_decode_candidates_from_scores (candidates, scores, offsets[l], mask[l], K, T, stride,
        &self->config);
    g_free (scores);
  }

  for (guint i = 0; i < candidates->len; i++) {
    TslSegment seg = g_array_index (candidates, TslSegment, i);

    if (!isfinite (seg.start) || !isfinite (seg.end) || !isfinite (seg.score))
      continue;
    seg.start += offset_grid;
    seg.end += offset_grid;
    g_array_append_val (self->pool, seg);
  }
  GST_LOG_OBJECT (self, "window at %" G_GUINT64_FORMAT ": %u candidates, pool %u",
      h->stream_offset, candidates->len, self->pool->len);
}

/* Drops the candidates that end more than twice the latency before the
 * frontier. */
static void
gst_tsl_decode_prune (GstTslDecode *self, gdouble cutoff_grid)
{
  guint kept = 0;

  for (guint i = 0; i < self->pool->len; i++) {
    const TslSegment *seg = &g_array_index (self->pool, TslSegment, i);

    if (seg->end >= cutoff_grid)
      g_array_index (self->pool, TslSegment, kept++) = *seg;
  }
  g_array_set_size (self->pool, kept);
}

static GstFlowReturn
gst_tsl_decode_add_window (GstTslDecode *self, GstBuffer *buffer, const GstTslScoresHeader *h,
    const float *const *cls_logits, const float *const *offsets, const float *const *mask)
{
  const gdouble grid_per_ns = (gdouble) self->rate_n / self->rate_d / GST_SECOND;
  const gdouble latency_grid = self->latency_ns * grid_per_ns;
  const gdouble frontier_grid = (gdouble) h->stream_offset + h->commit_end;
  GstFlowReturn ret;

  if (!GST_BUFFER_PTS_IS_VALID (buffer)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Scores buffer without a timestamp"), (NULL));
    return GST_FLOW_ERROR;
  }
  if (!self->have_base) {
    const guint64 offset_ns = gst_util_uint64_scale (h->stream_offset,
        GST_SECOND * (guint64) self->rate_d, self->rate_n);

    self->base_ns = (gint64) GST_BUFFER_PTS (buffer) - (gint64) offset_ns;
    self->have_base = TRUE;
  }
  self->stream_len = h->stream_len;

  gst_tsl_decode_collect (self, h, cls_logits, offsets, mask);
  if (h->final)
    return gst_tsl_decode_drain (self);

  ret = gst_tsl_decode_emit (self, frontier_grid - latency_grid);
  gst_tsl_decode_prune (self, frontier_grid - 2 * latency_grid);
  return ret;
}

static gboolean
gst_tsl_decode_check_header (GstTslDecode *self, const GstTslScoresHeader *h)
{
  if (h->num_classes != self->num_classes) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Scores buffer has %d classes but the caps say %d", h->num_classes, self->num_classes),
        (NULL));
    return FALSE;
  }
  if (h->n_levels != self->n_levels) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Scores buffer has %d levels but the caps say %d", h->n_levels, self->n_levels),
        (NULL));
    return FALSE;
  }
  return TRUE;
}

static GstFlowReturn
gst_tsl_decode_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstTslDecode *self = GST_TSL_DECODE (parent);
  const GstTslScoresHeader *header;
  const float *cls_logits[GST_TSL_SCORES_MAX_LEVELS];
  const float *offsets[GST_TSL_SCORES_MAX_LEVELS];
  const float *mask[GST_TSL_SCORES_MAX_LEVELS];
  g_autofree guint8 *aligned = NULL;
  const guint8 *data;
  GstMapInfo map;
  GstFlowReturn ret = GST_FLOW_OK;

  if (self->num_classes == 0) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("Scores buffer before caps"), (NULL));
    gst_buffer_unref (buffer);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (GST_BUFFER_IS_DISCONT (buffer)) {
    GST_DEBUG_OBJECT (self, "discont: emitting the pending events, starting afresh");
    ret = gst_tsl_decode_drain (self);
    if (ret != GST_FLOW_OK) {
      gst_buffer_unref (buffer);
      return ret;
    }
  }
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Cannot map a scores buffer"), (NULL));
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }

  data = map.data;
  if ((guintptr) data % G_ALIGNOF (GstTslScoresHeader) != 0)
    data = aligned = g_memdup2 (map.data, map.size);
  if (!gst_tsl_scores_parse (data, map.size, &header, cls_logits, offsets, mask)) {
    GST_ELEMENT_ERROR (self, STREAM, DECODE, ("Invalid scores buffer"),
        ("%" G_GSIZE_FORMAT " bytes: wrong version, counts, commit range or size", map.size));
    ret = GST_FLOW_ERROR;
  } else if (!gst_tsl_decode_check_header (self, header)) {
    ret = GST_FLOW_ERROR;
  } else {
    ret = gst_tsl_decode_add_window (self, buffer, header, cls_logits, offsets, mask);
  }

  gst_buffer_unmap (buffer, &map);
  gst_buffer_unref (buffer);
  return ret;
}

/* ---- events and queries ---- */

static GstCaps *
gst_tsl_decode_src_caps (GstTslDecodeFormat format)
{
  if (format == GST_TSL_DECODE_FORMAT_TEXT)
    return gst_caps_new_simple ("text/x-raw", "format", G_TYPE_STRING, "utf8", NULL);
  return gst_caps_new_empty_simple ("application/x-json");
}

/* Reads K, L, R and W from the scores caps and pushes the output caps. */
static gboolean
gst_tsl_decode_set_caps (GstTslDecode *self, GstCaps *caps)
{
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  gint classes = 0, levels = 0, rate_n = 0, rate_d = 0;
  guint64 window_ns = 0;
  GstCaps *src_caps;
  gboolean ok;

  if (!gst_structure_get_int (s, "classes", &classes) || classes < 1
      || !gst_structure_get_int (s, "levels", &levels) || levels < 1
      || levels > GST_TSL_SCORES_MAX_LEVELS
      || !gst_structure_get_fraction (s, "rate", &rate_n, &rate_d) || rate_n <= 0 || rate_d <= 0
      || !gst_structure_get_uint64 (s, "window", &window_ns)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Scores caps need classes, levels, a positive rate and a window"),
        ("caps: %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  if (self->model_classes > 0 && classes != self->model_classes) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Scores have %d classes, but the model has %d", classes, self->model_classes),
        ("caps: %" GST_PTR_FORMAT, caps));
    return FALSE;
  }

  if (self->num_classes != 0 && (classes != self->num_classes || levels != self->n_levels
          || rate_n != self->rate_n || rate_d != self->rate_d
          || window_ns != self->window_ns)) {
    GST_DEBUG_OBJECT (self, "caps changed: emitting the pending events");
    gst_tsl_decode_drain (self);
  }

  g_clear_pointer (&self->labels, g_ptr_array_unref);
  self->labels = g_ptr_array_new_with_free_func (g_free);
  for (gint k = 0; k < classes; k++)
    g_ptr_array_add (self->labels, self->model_labels != NULL ?
        g_strdup (g_ptr_array_index (self->model_labels, k)) :
        g_strdup_printf ("class_%d", k));
  self->num_classes = classes;
  self->n_levels = levels;
  self->rate_n = rate_n;
  self->rate_d = rate_d;
  self->window_ns = window_ns;

  src_caps = gst_tsl_decode_src_caps (self->format);
  ok = gst_pad_push_event (self->srcpad, gst_event_new_caps (src_caps));
  gst_caps_unref (src_caps);
  return ok;
}

static gboolean
gst_tsl_decode_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstTslDecode *self = GST_TSL_DECODE (parent);

  GST_LOG_OBJECT (self, "event %" GST_PTR_FORMAT, event);
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gboolean ok;

      gst_event_parse_caps (event, &caps);
      ok = gst_tsl_decode_set_caps (self, caps);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_SEGMENT:{
      GstSegment segment;

      gst_event_copy_segment (event, &segment);
      if (segment.format != GST_FORMAT_TIME) {
        GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Scores segment is not in TIME format"),
            ("segment: %" GST_PTR_FORMAT, event));
        gst_event_unref (event);
        return FALSE;
      }
      self->segment = segment;
      break;
    }
    case GST_EVENT_EOS:
      /* every pending event goes out before EOS */
      gst_tsl_decode_drain (self);
      break;
    case GST_EVENT_FLUSH_STOP:
      gst_tsl_decode_reset_stream (self);
      gst_segment_init (&self->segment, GST_FORMAT_TIME);
      break;
    default:
      /* GAP and the rest go on unchanged */
      break;
  }
  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_tsl_decode_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstTslDecode *self = GST_TSL_DECODE (parent);

  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_CAPS:{
      GstCaps *filter, *caps;
      GstTslDecodeFormat format;

      GST_OBJECT_LOCK (self);
      format = GST_STATE (self) >= GST_STATE_PAUSED ? self->format : self->prop_format;
      GST_OBJECT_UNLOCK (self);
      caps = gst_tsl_decode_src_caps (format);
      gst_query_parse_caps (query, &filter);
      if (filter != NULL) {
        GstCaps *both = gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);

        gst_caps_unref (caps);
        caps = both;
      }
      gst_query_set_caps_result (query, caps);
      gst_caps_unref (caps);
      return TRUE;
    }
    case GST_QUERY_LATENCY:{
      guint64 latency_ns;

      GST_OBJECT_LOCK (self);
      latency_ns = self->latency_ns;
      GST_OBJECT_UNLOCK (self);
      return gst_tsl_latency_query_add (self->sinkpad, query, latency_ns);
    }
    default:
      return gst_pad_query_default (pad, parent, query);
  }
}

static GstStateChangeReturn
gst_tsl_decode_change_state (GstElement *element, GstStateChange transition)
{
  GstTslDecode *self = GST_TSL_DECODE (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    g_autoptr (GError) error = NULL;

    if (!gst_tsl_decode_apply_settings (self, &error)) {
      GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS, ("%s", error->message), (NULL));
      return GST_STATE_CHANGE_FAILURE;
    }
    self->num_classes = 0;
    gst_segment_init (&self->segment, GST_FORMAT_TIME);
    gst_tsl_decode_reset_stream (self);
  }

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    gst_tsl_decode_reset_stream (self);
    self->num_classes = 0;
    g_clear_pointer (&self->labels, g_ptr_array_unref);
  }
  return ret;
}

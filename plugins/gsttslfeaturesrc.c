/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslfeaturesrc.c: tslfeaturesrc, a feature file played as a feature
 * stream. The file is read whole with tsl_features_load (libtsl/io), which
 * gives channels-first [D, T]; it is transposed once into rows [T, D], and
 * each buffer is a copy of N consecutive rows. Timestamps come from the
 * vector index alone: vector i starts at i / R.
 */

/**
 * SECTION:element-tslfeaturesrc
 * @title: tslfeaturesrc
 *
 * Plays one video's feature sequence, as a feature extractor stored it, as
 * a feature stream.
 *
 * `location` is `FILE.npy` holding float [T, D] (one vector per row), or
 * `FILE.safetensors:NAME` naming a [D, T] or [1, D, T] tensor. Any float
 * dtype is converted to float32; NaN or infinite values are refused.
 *
 * Source caps: `application/x-tsl-features, dim=(int)D, rate=(fraction)R,
 * window=(guint64)W`, R and W from the properties (or from `model`).
 *
 * Buffers: `vectors-per-buffer` vectors (the last buffer may hold fewer) as
 * float32 [N, D], row-major. The buffer whose first vector is i has
 * PTS = i / R, duration = (i + N) / R - i / R, offset i and offset-end
 * i + N; the first buffer is flagged DISCONT. EOS follows the last vector.
 * The segment is a TIME segment starting at 0; the DURATION query answers
 * T / R. The source is not seekable.
 *
 * Errors: RESOURCE NOT_FOUND when `location` is unset or its file (or the
 * `model` file) cannot be opened; RESOURCE READ when a file's contents are
 * not a feature sequence (or not a model configuration). The message is
 * libtsl's, naming the file.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 tslfeaturesrc location=video.npy ! \
 *     tslactionformer model=model.safetensors ! \
 *     tsldecode model=model.safetensors format=json ! filesink location=events.jsonl
 * ]|
 */
#include "gsttslfeaturesrc.h"

#include "io/features.h"
#include "io/safetensors.h"
#include "models/actionformer/config.h"

GST_DEBUG_CATEGORY_STATIC (gst_tsl_feature_src_debug);
#define GST_CAT_DEFAULT gst_tsl_feature_src_debug

#define DEFAULT_RATE_N 30       /* 30 fps video ... */
#define DEFAULT_RATE_D 16       /* ... one vector every 16 frames (VideoMAE clips) */
#define DEFAULT_WINDOW_NS (16 * GST_SECOND / 30)        /* num_frames / fps */
#define DEFAULT_VECTORS_PER_BUFFER 16

enum
{
  PROP_0,
  PROP_LOCATION,
  PROP_RATE,
  PROP_WINDOW,
  PROP_VECTORS_PER_BUFFER,
  PROP_MODEL,
};

struct _GstTslFeatureSrc
{
  GstPushSrc parent;

  /* properties; protected by the object lock */
  gchar *location;
  gchar *model;
  gint prop_rate_n, prop_rate_d;        /* R, vectors per second */
  gboolean rate_set;            /* rate given explicitly: wins over model */
  guint64 prop_window_ns;       /* W, ns */
  gboolean window_set;          /* window given explicitly: wins over model */
  guint prop_vectors_per_buffer;

  /* the stream, set in start(); protected by the object lock (get_caps and
   * queries read it from other threads) */
  gfloat *rows;                 /* [T, D], NULL when stopped */
  gint dim;                     /* D */
  gint length;                  /* T */
  gint rate_n, rate_d;          /* R in use */
  guint64 window_ns;            /* W in use, ns */
  guint vectors_per_buffer;

  gint next;                    /* index of the next vector to send; streaming thread */
};

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("application/x-tsl-features, dim=(int)[1, MAX], "
        "rate=(fraction)[1/MAX, MAX]"));

G_DEFINE_TYPE (GstTslFeatureSrc, gst_tsl_feature_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE (tslfeaturesrc, "tslfeaturesrc", GST_RANK_NONE,
    GST_TYPE_TSL_FEATURE_SRC);

/* Start of vector `index` on the stream's clock: index / R. */
static GstClockTime
gst_tsl_feature_src_index_to_time (GstTslFeatureSrc *self, gint index)
{
  return gst_util_uint64_scale ((guint64) index, GST_SECOND * (guint64) self->rate_d,
      (guint64) self->rate_n);
}

/* A libtsl error as an element error: a file that cannot be opened is
 * NOT_FOUND, one whose contents are wrong is READ. */
static void
gst_tsl_feature_src_post_error (GstTslFeatureSrc *self, const GError *error)
{
  if (g_error_matches (error, TSL_ERROR, TSL_ERROR_IO))
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("%s", error->message), (NULL));
  else
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("%s", error->message), (NULL));
}

/* R = default_fps / feat_stride and W = num_frames / default_fps from the
 * `tsl.config` of a model file. */
static gboolean
gst_tsl_feature_src_read_model_timing (const gchar *model, gint *rate_n, gint *rate_d,
    guint64 *window_ns, GError **error)
{
  g_autoptr (TslSafetensors) st = tsl_safetensors_open (model, error);
  TslActionFormerConfig config;
  const char *json;
  gint fps_n, fps_d;

  if (st == NULL)
    return FALSE;
  json = tsl_safetensors_get_metadata (st, "tsl.config");
  if (json == NULL) {
    g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: no tsl.config metadata", model);
    return FALSE;
  }
  tsl_actionformer_config_init (&config);
  if (!tsl_actionformer_config_parse (&config, json, -1, error)) {
    g_prefix_error (error, "%s: tsl.config: ", model);
    return FALSE;
  }
  if (!(config.default_fps > 0) || config.feat_stride < 1 || config.num_frames < 0) {
    g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
        "%s: the model gives no default fps (dataset.default_fps is null): set rate and window",
        model);
    return FALSE;
  }
  gst_util_double_to_fraction (config.default_fps, &fps_n, &fps_d);
  gst_util_fraction_multiply (fps_n, fps_d, 1, config.feat_stride, rate_n, rate_d);
  *window_ns = gst_util_uint64_scale ((guint64) config.num_frames * (guint64) fps_d, GST_SECOND,
      (guint64) fps_n);
  return TRUE;
}

static gboolean
gst_tsl_feature_src_start (GstBaseSrc *src)
{
  GstTslFeatureSrc *self = GST_TSL_FEATURE_SRC (src);
  g_autofree gchar *location = NULL;
  g_autofree gchar *model = NULL;
  g_autofree gfloat *feats = NULL;
  g_autoptr (GError) error = NULL;
  gint rate_n, rate_d, model_rate_n, model_rate_d, D = 0, T = 0;
  guint64 window_ns, model_window_ns;
  gboolean rate_set, window_set;
  guint vectors_per_buffer;
  gfloat *rows;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  model = g_strdup (self->model);
  rate_n = self->prop_rate_n;
  rate_d = self->prop_rate_d;
  rate_set = self->rate_set;
  window_ns = self->prop_window_ns;
  window_set = self->window_set;
  vectors_per_buffer = self->prop_vectors_per_buffer;
  GST_OBJECT_UNLOCK (self);

  if (location == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("No feature file given"),
        ("set the location property"));
    return FALSE;
  }
  if (model != NULL && (!rate_set || !window_set)) {
    if (!gst_tsl_feature_src_read_model_timing (model, &model_rate_n, &model_rate_d,
            &model_window_ns, &error)) {
      gst_tsl_feature_src_post_error (self, error);
      return FALSE;
    }
    if (!rate_set) {
      rate_n = model_rate_n;
      rate_d = model_rate_d;
    }
    if (!window_set)
      window_ns = model_window_ns;
  }

  feats = tsl_features_load (location, &D, &T, &error);
  if (feats == NULL) {
    gst_tsl_feature_src_post_error (self, error);
    return FALSE;
  }
  /* [D, T] -> [T, D] */
  rows = g_new (gfloat, (gsize) D * T);
  for (gint t = 0; t < T; t++) {
    gfloat *rows_t = rows + (gsize) t * D;
    for (gint d = 0; d < D; d++)
      rows_t[d] = feats[(gsize) d * T + t];
  }
  GST_INFO_OBJECT (self, "%s: %d vectors of %d features at %d/%d per second, window %"
      GST_TIME_FORMAT, location, T, D, rate_n, rate_d, GST_TIME_ARGS (window_ns));

  GST_OBJECT_LOCK (self);
  g_free (self->rows);
  self->rows = rows;
  self->dim = D;
  self->length = T;
  self->rate_n = rate_n;
  self->rate_d = rate_d;
  self->window_ns = window_ns;
  self->vectors_per_buffer = vectors_per_buffer;
  self->next = 0;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_tsl_feature_src_stop (GstBaseSrc *src)
{
  GstTslFeatureSrc *self = GST_TSL_FEATURE_SRC (src);

  GST_OBJECT_LOCK (self);
  g_clear_pointer (&self->rows, g_free);
  self->length = 0;
  self->next = 0;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

/* The fixed caps of the loaded file, or the template before start(). */
static GstCaps *
gst_tsl_feature_src_get_caps (GstBaseSrc *src, GstCaps *filter)
{
  GstTslFeatureSrc *self = GST_TSL_FEATURE_SRC (src);
  GstCaps *caps, *filtered;

  GST_OBJECT_LOCK (self);
  if (self->rows != NULL)
    caps = gst_caps_new_simple ("application/x-tsl-features",
        "dim", G_TYPE_INT, self->dim,
        "rate", GST_TYPE_FRACTION, self->rate_n, self->rate_d,
        "window", G_TYPE_UINT64, self->window_ns, NULL);
  else
    caps = gst_pad_get_pad_template_caps (GST_BASE_SRC_PAD (src));
  GST_OBJECT_UNLOCK (self);

  if (filter == NULL)
    return caps;
  filtered = gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);
  gst_caps_unref (caps);
  return filtered;
}

static gboolean
gst_tsl_feature_src_query (GstBaseSrc *src, GstQuery *query)
{
  GstTslFeatureSrc *self = GST_TSL_FEATURE_SRC (src);
  GstFormat format;

  if (GST_QUERY_TYPE (query) == GST_QUERY_DURATION) {
    gst_query_parse_duration (query, &format, NULL);
    GST_OBJECT_LOCK (self);
    if (format == GST_FORMAT_TIME && self->rows != NULL) {
      gst_query_set_duration (query, GST_FORMAT_TIME,
          gst_tsl_feature_src_index_to_time (self, self->length));
      GST_OBJECT_UNLOCK (self);
      return TRUE;
    }
    GST_OBJECT_UNLOCK (self);
  }
  return GST_BASE_SRC_CLASS (gst_tsl_feature_src_parent_class)->query (src, query);
}

static GstFlowReturn
gst_tsl_feature_src_create (GstPushSrc *psrc, GstBuffer ** outbuf)
{
  GstTslFeatureSrc *self = GST_TSL_FEATURE_SRC (psrc);
  const gint first = self->next;
  GstClockTime pts, end;
  GstBuffer *buf;
  gint n;

  if (first >= self->length) {
    GST_DEBUG_OBJECT (self, "all %d vectors sent", self->length);
    return GST_FLOW_EOS;
  }
  n = MIN ((gint) self->vectors_per_buffer, self->length - first);
  buf = gst_buffer_new_memdup (self->rows + (gsize) first * self->dim,
      (gsize) n * self->dim * sizeof (gfloat));
  pts = gst_tsl_feature_src_index_to_time (self, first);
  end = gst_tsl_feature_src_index_to_time (self, first + n);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = end - pts;
  GST_BUFFER_OFFSET (buf) = first;
  GST_BUFFER_OFFSET_END (buf) = first + n;
  if (first == 0)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  GST_LOG_OBJECT (self, "vectors [%d, %d) at %" GST_TIME_FORMAT, first, first + n,
      GST_TIME_ARGS (pts));
  self->next = first + n;
  *outbuf = buf;
  return GST_FLOW_OK;
}

static void
gst_tsl_feature_src_set_property (GObject *object, guint prop_id, const GValue *value,
    GParamSpec *pspec)
{
  GstTslFeatureSrc *self = GST_TSL_FEATURE_SRC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_free (self->location);
      self->location = g_value_dup_string (value);
      break;
    case PROP_RATE:
      self->prop_rate_n = gst_value_get_fraction_numerator (value);
      self->prop_rate_d = gst_value_get_fraction_denominator (value);
      self->rate_set = TRUE;
      break;
    case PROP_WINDOW:
      self->prop_window_ns = g_value_get_uint64 (value);
      self->window_set = TRUE;
      break;
    case PROP_VECTORS_PER_BUFFER:
      self->prop_vectors_per_buffer = g_value_get_uint (value);
      break;
    case PROP_MODEL:
      g_free (self->model);
      self->model = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_tsl_feature_src_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstTslFeatureSrc *self = GST_TSL_FEATURE_SRC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    case PROP_RATE:
      gst_value_set_fraction (value, self->prop_rate_n, self->prop_rate_d);
      break;
    case PROP_WINDOW:
      g_value_set_uint64 (value, self->prop_window_ns);
      break;
    case PROP_VECTORS_PER_BUFFER:
      g_value_set_uint (value, self->prop_vectors_per_buffer);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_tsl_feature_src_finalize (GObject *object)
{
  GstTslFeatureSrc *self = GST_TSL_FEATURE_SRC (object);

  g_free (self->location);
  g_free (self->model);
  g_free (self->rows);
  G_OBJECT_CLASS (gst_tsl_feature_src_parent_class)->finalize (object);
}

static void
gst_tsl_feature_src_class_init (GstTslFeatureSrcClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);
  const GParamFlags flags =
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;

  GST_DEBUG_CATEGORY_INIT (gst_tsl_feature_src_debug, "tslfeaturesrc", 0,
      "TSL feature file source");

  gobject_class->set_property = gst_tsl_feature_src_set_property;
  gobject_class->get_property = gst_tsl_feature_src_get_property;
  gobject_class->finalize = gst_tsl_feature_src_finalize;

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "Feature file: FILE.npy [T, D] or FILE.safetensors:NAME [D, T] or [1, D, T]",
          NULL, flags));
  g_object_class_install_property (gobject_class, PROP_RATE,
      gst_param_spec_fraction ("rate", "Rate",
          "Feature vectors per second (fraction; default: the model's default_fps / "
          "feat_stride when model is set, else 30/16)",
          1, G_MAXINT, G_MAXINT, 1, DEFAULT_RATE_N, DEFAULT_RATE_D, flags));
  g_object_class_install_property (gobject_class, PROP_WINDOW,
      g_param_spec_uint64 ("window", "Window",
          "Time one vector summarises (ns; default: the model's num_frames / default_fps "
          "when model is set, else 16/30 s)",
          0, G_MAXUINT64, DEFAULT_WINDOW_NS, flags));
  g_object_class_install_property (gobject_class, PROP_VECTORS_PER_BUFFER,
      g_param_spec_uint ("vectors-per-buffer", "Vectors per buffer",
          "Feature vectors in each buffer (the last one may hold fewer)",
          1, G_MAXINT, DEFAULT_VECTORS_PER_BUFFER, flags));
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "ActionFormer model file (.safetensors) whose tsl.config gives the defaults of rate "
          "and window (NULL: no model)", NULL, flags));

  gst_element_class_set_static_metadata (element_class, "TSL feature file source",
      "Source/File", "Plays a stored feature sequence (.npy or .safetensors) as a "
      "feature stream", "gst-tsl developers");
  gst_element_class_add_static_pad_template (element_class, &src_template);

  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_tsl_feature_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_tsl_feature_src_stop);
  basesrc_class->get_caps = GST_DEBUG_FUNCPTR (gst_tsl_feature_src_get_caps);
  basesrc_class->query = GST_DEBUG_FUNCPTR (gst_tsl_feature_src_query);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_tsl_feature_src_create);
}

static void
gst_tsl_feature_src_init (GstTslFeatureSrc *self)
{
  self->prop_rate_n = DEFAULT_RATE_N;
  self->prop_rate_d = DEFAULT_RATE_D;
  self->prop_window_ns = DEFAULT_WINDOW_NS;
  self->prop_vectors_per_buffer = DEFAULT_VECTORS_PER_BUFFER;
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}

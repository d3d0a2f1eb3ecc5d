/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslfuse.c: tslfuse. Every pad keeps a short history of its vectors
 * with the running time each stands for (the centre of its window). The
 * first pad's buffers drive the output: for each of its vectors, at
 * running time t, every other pad is read at t by linear interpolation
 * between the two of its vectors around t, and the pieces are concatenated
 * in pad order. A buffer of the first pad is answered once every other pad
 * has data at or past its last vector's time, or has ended; histories are
 * then trimmed to what later times can still need.
 */

/**
 * SECTION:element-tslfuse
 * @title: tslfuse
 *
 * Fuses feature streams (e.g. tslvideoenc's and tslaudioenc's) into one,
 * as the early fusion of video and audio features that the Perception
 * Test solutions use: the output has the first pad's time grid (its
 * buffers, PTS, rate and window) and dimension D_0 + D_1 + ... in pad
 * order (the order the sink_%u pads were requested, which is the order of
 * `tslfuse name=f ... ! f. ... ! f.` in a launch line).
 *
 * Sink caps (each pad): `application/x-tsl-features, dim=(int)D_i,
 * rate=(fraction)R_i, window=(guint64)W_i`. Source caps: `dim` = the sum,
 * `rate` and `window` of the first pad.
 *
 * ## Alignment
 *
 * Times are running times, so streams from different sources line up as
 * the pipeline clock sees them. Vector k of a buffer with PTS p stands for
 * p + k / R_i + W_i / 2. For an output vector at time t, a stream with
 * vectors at t_a <= t <= t_b contributes v_a + (t - t_a) / (t_b - t_a)
 * (v_b - v_a); before its first vector it contributes its first vector,
 * and after its last one (once it has ended) its last vector. Streams at
 * the same rate and phase therefore pass through unchanged.
 *
 * ## Live pipelines, late and missing streams
 *
 * In a live pipeline an output buffer waits for the other streams at most
 * the aggregator's `latency` past its deadline; the element also reports,
 * in the LATENCY query, the longest interval between two vectors of the
 * other streams (an interpolation needs the vector after t). A stream that
 * has nothing at t by then contributes, per `missing`, its last vector
 * (hold-last, default; zeros if it never sent one) or zeros.
 *
 * EOS goes out when every pad has ended; the first pad's remaining buffers
 * are answered first, so nothing is lost. A pad that ends without ever
 * receiving caps is a STREAM FORMAT error, as is a change of `dim` on a
 * pad in the middle of a stream.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=clip.mp4 ! decodebin name=d \
 *     tslfuse name=f ! tslactionformer model=m.safetensors ! tsldecode ! fakesink \
 *     d. ! queue ! videoconvert ! tslvideoenc model=vit.safetensors ! f. \
 *     d. ! queue ! audioconvert ! audioresample ! tslaudioenc model=audio.safetensors ! f.
 * ]|
 */
#include "gsttslfuse.h"

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_tsl_fuse_debug);
#define GST_CAT_DEFAULT gst_tsl_fuse_debug

#define DEFAULT_MISSING GST_TSL_FUSE_MISSING_HOLD_LAST

enum
{
  PROP_0,
  PROP_MISSING,
};

/* ---- pads ---- */

struct _GstTslFusePad
{
  GstAggregatorPad parent;

  /* stream format; aggregator thread (set from the serialized CAPS event) */
  gint dim;                     /* 0 before caps */
  gint rate_n, rate_d;
  guint64 window_ns;

  /* history: vector k stands for running time times[k] */
  GArray *times;                /* GstClockTime [n] */
  GArray *values;               /* float [n, dim] */
};

G_DEFINE_TYPE (GstTslFusePad, gst_tsl_fuse_pad, GST_TYPE_AGGREGATOR_PAD);

static void
gst_tsl_fuse_pad_clear_history (GstTslFusePad *pad)
{
  g_array_set_size (pad->times, 0);
  g_array_set_size (pad->values, 0);
}

static void
gst_tsl_fuse_pad_finalize (GObject *object)
{
  GstTslFusePad *pad = GST_TSL_FUSE_PAD (object);

  g_array_unref (pad->times);
  g_array_unref (pad->values);
  G_OBJECT_CLASS (gst_tsl_fuse_pad_parent_class)->finalize (object);
}

static void
gst_tsl_fuse_pad_class_init (GstTslFusePadClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gst_tsl_fuse_pad_finalize;
}

static void
gst_tsl_fuse_pad_init (GstTslFusePad *pad)
{
  pad->times = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  pad->values = g_array_new (FALSE, FALSE, sizeof (gfloat));
}

/* Running time that vector k of a buffer with this PTS stands for. */
static GstClockTime
gst_tsl_fuse_pad_vector_time (GstTslFusePad *pad, GstClockTime pts, guint64 k)
{
  GstAggregatorPad *apad = GST_AGGREGATOR_PAD (pad);
  const GstClockTime stream_time = pts + gst_util_uint64_scale (k,
      GST_SECOND * (guint64) pad->rate_d, (guint64) pad->rate_n) + pad->window_ns / 2;

  return gst_segment_to_running_time (&apad->segment, GST_FORMAT_TIME, stream_time);
}

/* Pops the pad's next buffer into its history. FALSE when it had none or
 * the buffer is unusable (no PTS, not whole vectors: dropped with a
 * warning). */
static gboolean
gst_tsl_fuse_pad_take_buffer (GstTslFusePad *pad)
{
  GstBuffer *buf = gst_aggregator_pad_pop_buffer (GST_AGGREGATOR_PAD (pad));
  const gsize vector_bytes = (gsize) pad->dim * sizeof (gfloat);
  GstMapInfo map;
  guint64 n;

  if (buf == NULL)
    return FALSE;
  if (!GST_BUFFER_PTS_IS_VALID (buf) || pad->dim == 0 ||
      !gst_buffer_map (buf, &map, GST_MAP_READ)) {
    GST_WARNING_OBJECT (pad, "dropping a buffer without PTS or caps");
    gst_buffer_unref (buf);
    return FALSE;
  }
  n = map.size / vector_bytes;
  if (map.size % vector_bytes != 0)
    GST_WARNING_OBJECT (pad, "buffer of %" G_GSIZE_FORMAT " bytes is not whole %d-float "
        "vectors: the tail is ignored", map.size, pad->dim);
  for (guint64 k = 0; k < n; k++) {
    const GstClockTime t = gst_tsl_fuse_pad_vector_time (pad, GST_BUFFER_PTS (buf), k);
    g_array_append_val (pad->times, t);
  }
  g_array_append_vals (pad->values, map.data, (guint) (n * pad->dim));
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  return TRUE;
}

static GstClockTime
gst_tsl_fuse_pad_last_time (GstTslFusePad *pad)
{
  return pad->times->len > 0 ?
      g_array_index (pad->times, GstClockTime, pad->times->len - 1) : GST_CLOCK_TIME_NONE;
}

/* Forgets the vectors before the last one at or before t: times from t on
 * never need them. */
static void
gst_tsl_fuse_pad_trim (GstTslFusePad *pad, GstClockTime t)
{
  guint keep_from = 0;

  while (keep_from + 1 < pad->times->len &&
      g_array_index (pad->times, GstClockTime, keep_from + 1) <= t)
    keep_from++;
  if (keep_from > 0) {
    g_array_remove_range (pad->times, 0, keep_from);
    g_array_remove_range (pad->values, 0, keep_from * pad->dim);
  }
}

/* out[0, dim) = the pad's value at running time t (see the SECTION). */
static void
gst_tsl_fuse_pad_sample (GstTslFusePad *pad, GstClockTime t, gboolean ended,
    GstTslFuseMissing missing, gfloat *out)
{
  const GstClockTime *times = (const GstClockTime *) pad->times->data;
  const gfloat *values = (const gfloat *) pad->values->data;
  const guint n = pad->times->len;
  guint b = 0;

  if (n == 0) {
    memset (out, 0, pad->dim * sizeof (gfloat));
    return;
  }
  if (t > times[n - 1]) {
    if (!ended && missing == GST_TSL_FUSE_MISSING_ZEROS)
      memset (out, 0, pad->dim * sizeof (gfloat));
    else
      memcpy (out, values + (gsize) (n - 1) * pad->dim, pad->dim * sizeof (gfloat));
    return;
  }
  while (times[b] < t)
    b++;
  if (b == 0 || times[b] == t) {
    memcpy (out, values + (gsize) b * pad->dim, pad->dim * sizeof (gfloat));
    return;
  }
  /* times[b - 1] < t < times[b] */
  {
    const gfloat *va = values + (gsize) (b - 1) * pad->dim;
    const gfloat *vb = values + (gsize) b * pad->dim;
    const gdouble w = (gdouble) (t - times[b - 1]) / (gdouble) (times[b] - times[b - 1]);

    for (gint d = 0; d < pad->dim; d++)
      out[d] = (gfloat) (va[d] + w * (vb[d] - va[d]));
  }
}

/* ---- element ---- */

struct _GstTslFuse
{
  GstAggregator parent;

  GstTslFuseMissing prop_missing;       /* object lock */

  gint out_dim;                 /* dim of the negotiated src caps, 0 before */
  gboolean first_output;        /* the next output buffer is the first of a stream */
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink_%u",
    GST_PAD_SINK,
    GST_PAD_REQUEST,
    GST_STATIC_CAPS ("application/x-tsl-features, dim=(int)[1, MAX], "
        "rate=(fraction)[1/MAX, MAX]"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("application/x-tsl-features, dim=(int)[1, MAX], "
        "rate=(fraction)[1/MAX, MAX]"));

G_DEFINE_TYPE (GstTslFuse, gst_tsl_fuse, GST_TYPE_AGGREGATOR);
GST_ELEMENT_REGISTER_DEFINE (tslfuse, "tslfuse", GST_RANK_NONE, GST_TYPE_TSL_FUSE);

GType
gst_tsl_fuse_missing_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_TSL_FUSE_MISSING_HOLD_LAST, "The stream's last vector (zeros before any)",
        "hold-last"},
    {GST_TSL_FUSE_MISSING_ZEROS, "Zeros", "zeros"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstTslFuseMissing", values));
  return type;
}

/* The sink pads in request order, as a new list of references. */
static GList *
gst_tsl_fuse_pads (GstTslFuse *self)
{
  GList *pads = NULL;

  GST_OBJECT_LOCK (self);
  for (GList *l = GST_ELEMENT (self)->sinkpads; l != NULL; l = l->next)
    pads = g_list_prepend (pads, gst_object_ref (l->data));
  GST_OBJECT_UNLOCK (self);
  return g_list_reverse (pads);
}

/* The src caps from the pads' caps, and the interpolation latency (the
 * longest interval between two vectors of the other streams); NULL while a
 * pad has no caps. */
static GstCaps *
gst_tsl_fuse_src_caps (GList *pads, gint *dim, GstClockTime *latency)
{
  GstTslFusePad *first = pads->data;

  *dim = 0;
  *latency = 0;
  for (GList *l = pads; l != NULL; l = l->next) {
    GstTslFusePad *pad = l->data;

    if (pad->dim == 0)
      return NULL;
    *dim += pad->dim;
    if (l != pads)
      *latency = MAX (*latency, gst_util_uint64_scale (GST_SECOND, (guint64) pad->rate_d,
              (guint64) pad->rate_n));
  }
  return gst_caps_new_simple ("application/x-tsl-features",
      "dim", G_TYPE_INT, *dim,
      "rate", GST_TYPE_FRACTION, first->rate_n, first->rate_d,
      "window", G_TYPE_UINT64, first->window_ns, NULL);
}

static GstFlowReturn
gst_tsl_fuse_update_src_caps (GstAggregator *agg, GstCaps *downstream, GstCaps **ret)
{
  GstTslFuse *self = GST_TSL_FUSE (agg);
  GList *pads = gst_tsl_fuse_pads (self);
  GstClockTime latency = 0;
  GstCaps *caps = NULL;
  gint dim = 0;

  if (pads != NULL)
    caps = gst_tsl_fuse_src_caps (pads, &dim, &latency);
  g_list_free_full (pads, gst_object_unref);
  if (caps == NULL)
    return GST_AGGREGATOR_FLOW_NEED_DATA;
  if (downstream != NULL && !gst_caps_can_intersect (caps, downstream)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("Downstream does not accept %"
            GST_PTR_FORMAT, caps), (NULL));
    gst_caps_unref (caps);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  GST_INFO_OBJECT (self, "output %" GST_PTR_FORMAT ", interpolation latency %" GST_TIME_FORMAT,
      caps, GST_TIME_ARGS (latency));
  gst_aggregator_set_latency (agg, latency, latency);
  self->out_dim = dim;
  *ret = caps;
  return GST_FLOW_OK;
}

/* The fused buffer for `head`, a buffer of the first pad. */
static GstBuffer *
gst_tsl_fuse_fuse (GstTslFuse *self, GList *pads, GstBuffer *head, GstTslFuseMissing missing)
{
  GstTslFusePad *first = pads->data;
  const gsize n = gst_buffer_get_size (head) / ((gsize) first->dim * sizeof (gfloat));
  GstBuffer *out = gst_buffer_new_allocate (NULL, n * self->out_dim * sizeof (gfloat), NULL);
  GstMapInfo in_map, out_map;

  gst_buffer_map (head, &in_map, GST_MAP_READ);
  gst_buffer_map (out, &out_map, GST_MAP_WRITE);
  for (gsize k = 0; k < n; k++) {
    const GstClockTime t = gst_tsl_fuse_pad_vector_time (first, GST_BUFFER_PTS (head), k);
    gfloat *row = (gfloat *) out_map.data + k * self->out_dim;

    memcpy (row, (const gfloat *) in_map.data + k * first->dim, first->dim * sizeof (gfloat));
    row += first->dim;
    for (GList *l = pads->next; l != NULL; l = l->next) {
      GstTslFusePad *pad = l->data;

      gst_tsl_fuse_pad_sample (pad, t, gst_aggregator_pad_is_eos (GST_AGGREGATOR_PAD (pad)),
          missing, row);
      row += pad->dim;
    }
  }
  gst_buffer_unmap (out, &out_map);
  gst_buffer_unmap (head, &in_map);
  gst_buffer_copy_into (out, head, GST_BUFFER_COPY_TIMESTAMPS | GST_BUFFER_COPY_FLAGS, 0, -1);
  return out;
}

static GstFlowReturn
gst_tsl_fuse_aggregate (GstAggregator *agg, gboolean timeout)
{
  GstTslFuse *self = GST_TSL_FUSE (agg);
  GList *pads = gst_tsl_fuse_pads (self);
  GstFlowReturn flow = GST_FLOW_OK;
  GstTslFuseMissing missing;
  GstTslFusePad *first;
  GstBuffer *head;
  GstClockTime need;
  gboolean waiting = FALSE;

  if (pads == NULL) {
    GST_ELEMENT_ERROR (self, CORE, PAD, ("tslfuse has no sink pads"), (NULL));
    return GST_FLOW_ERROR;
  }
  GST_OBJECT_LOCK (self);
  missing = self->prop_missing;
  GST_OBJECT_UNLOCK (self);
  first = pads->data;
  head = gst_aggregator_pad_peek_buffer (GST_AGGREGATOR_PAD (first));

  if (head == NULL) {
    /* the first stream is over (or live and late): the others' data has
     * no grid to go on; drop it, and end once everything has ended */
    gboolean all_eos = gst_aggregator_pad_is_eos (GST_AGGREGATOR_PAD (first));

    for (GList *l = pads->next; l != NULL; l = l->next) {
      gst_aggregator_pad_drop_buffer (l->data);
      all_eos &= gst_aggregator_pad_is_eos (l->data);
    }
    flow = all_eos ? GST_FLOW_EOS : GST_FLOW_OK;
    goto out;
  }
  if (self->out_dim == 0) {
    for (GList *l = pads; l != NULL; l = l->next) {
      GstTslFusePad *pad = l->data;
      if (pad->dim == 0 && gst_aggregator_pad_is_eos (GST_AGGREGATOR_PAD (pad))) {
        GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Pad %s ended without caps",
                GST_PAD_NAME (pad)), (NULL));
        flow = GST_FLOW_ERROR;
        goto out;
      }
    }
    /* live and a pad without caps yet: nothing can be fused */
    gst_aggregator_pad_drop_buffer (GST_AGGREGATOR_PAD (first));
    goto out;
  }

  /* every other pad must reach the time of head's last vector, or end */
  need = gst_tsl_fuse_pad_vector_time (first, GST_BUFFER_PTS (head),
      gst_buffer_get_size (head) / ((gsize) first->dim * sizeof (gfloat)) - 1);
  for (GList *l = pads->next; l != NULL; l = l->next) {
    GstTslFusePad *pad = l->data;
    GstClockTime last = gst_tsl_fuse_pad_last_time (pad);

    while (!GST_CLOCK_TIME_IS_VALID (last) || last < need) {
      if (!gst_tsl_fuse_pad_take_buffer (pad)) {
        if (!gst_aggregator_pad_is_eos (GST_AGGREGATOR_PAD (pad)) &&
            gst_aggregator_pad_has_buffer (GST_AGGREGATOR_PAD (pad)))
          continue;             /* an unusable buffer was dropped */
        if (!gst_aggregator_pad_is_eos (GST_AGGREGATOR_PAD (pad)) && !timeout)
          waiting = TRUE;
        break;
      }
      last = gst_tsl_fuse_pad_last_time (pad);
    }
  }
  if (waiting)
    goto out;                   /* called again once the pad has data */

  {
    GstBuffer *fused = gst_tsl_fuse_fuse (self, pads, head, missing);

    if (self->first_output) {
      gst_aggregator_update_segment (agg, &GST_AGGREGATOR_PAD (first)->segment);
      GST_BUFFER_FLAG_SET (fused, GST_BUFFER_FLAG_DISCONT);
      self->first_output = FALSE;
    }
    gst_aggregator_pad_drop_buffer (GST_AGGREGATOR_PAD (first));
    for (GList *l = pads->next; l != NULL; l = l->next)
      gst_tsl_fuse_pad_trim (l->data, need);
    GST_LOG_OBJECT (self, "fused %" GST_PTR_FORMAT, fused);
    flow = gst_aggregator_finish_buffer (agg, fused);
  }
out:
  if (head != NULL)
    gst_buffer_unref (head);
  g_list_free_full (pads, gst_object_unref);
  return flow;
}

static gboolean
gst_tsl_fuse_set_pad_caps (GstTslFuse *self, GstTslFusePad *pad, GstCaps *caps)
{
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  gint dim, rate_n, rate_d;
  guint64 window_ns;

  if (!gst_structure_get_int (s, "dim", &dim) ||
      !gst_structure_get_fraction (s, "rate", &rate_n, &rate_d) ||
      !gst_structure_get_uint64 (s, "window", &window_ns) || rate_n <= 0 || rate_d <= 0) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("Feature caps %" GST_PTR_FORMAT " on %s need "
            "dim, a positive rate and window", caps, GST_PAD_NAME (pad)), (NULL));
    return FALSE;
  }
  if (pad->dim != 0 && pad->dim != dim && pad->times->len > 0) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Pad %s changed from %d to %d features in the "
            "middle of a stream", GST_PAD_NAME (pad), pad->dim, dim), (NULL));
    return FALSE;
  }
  pad->dim = dim;
  pad->rate_n = rate_n;
  pad->rate_d = rate_d;
  pad->window_ns = window_ns;
  self->out_dim = 0;            /* until update_src_caps has run again */
  gst_pad_mark_reconfigure (GST_AGGREGATOR_SRC_PAD (self));
  GST_DEBUG_OBJECT (pad, "%d features at %d/%d per second", dim, rate_n, rate_d);
  return TRUE;
}

static gboolean
gst_tsl_fuse_sink_event (GstAggregator *agg, GstAggregatorPad *apad, GstEvent *event)
{
  GstTslFuse *self = GST_TSL_FUSE (agg);
  GstTslFusePad *pad = GST_TSL_FUSE_PAD (apad);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gboolean ok;

      gst_event_parse_caps (event, &caps);
      ok = gst_tsl_fuse_set_pad_caps (self, pad, caps);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_FLUSH_STOP:
      gst_tsl_fuse_pad_clear_history (pad);
      self->first_output = TRUE;
      break;
    default:
      break;
  }
  return GST_AGGREGATOR_CLASS (gst_tsl_fuse_parent_class)->sink_event (agg, apad, event);
}

static gboolean
gst_tsl_fuse_start (GstAggregator *agg)
{
  GstTslFuse *self = GST_TSL_FUSE (agg);

  self->out_dim = 0;
  self->first_output = TRUE;
  return TRUE;
}

static gboolean
gst_tsl_fuse_stop (GstAggregator *agg)
{
  GstTslFuse *self = GST_TSL_FUSE (agg);
  GList *pads = gst_tsl_fuse_pads (self);

  for (GList *l = pads; l != NULL; l = l->next) {
    GstTslFusePad *pad = l->data;
    gst_tsl_fuse_pad_clear_history (pad);
    pad->dim = 0;
  }
  g_list_free_full (pads, gst_object_unref);
  return TRUE;
}

static void
gst_tsl_fuse_set_property (GObject *object, guint prop_id, const GValue *value,
    GParamSpec *pspec)
{
  GstTslFuse *self = GST_TSL_FUSE (object);

  switch (prop_id) {
    case PROP_MISSING:
      GST_OBJECT_LOCK (self);
      self->prop_missing = g_value_get_enum (value);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_tsl_fuse_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstTslFuse *self = GST_TSL_FUSE (object);

  switch (prop_id) {
    case PROP_MISSING:
      GST_OBJECT_LOCK (self);
      g_value_set_enum (value, self->prop_missing);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_tsl_fuse_class_init (GstTslFuseClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstAggregatorClass *agg_class = GST_AGGREGATOR_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_tsl_fuse_debug, "tslfuse", 0, "TSL feature stream fusion");

  gobject_class->set_property = gst_tsl_fuse_set_property;
  gobject_class->get_property = gst_tsl_fuse_get_property;

  g_object_class_install_property (gobject_class, PROP_MISSING,
      g_param_spec_enum ("missing", "Missing",
          "What a stream contributes where it has no data in time (live pipelines)",
          GST_TYPE_TSL_FUSE_MISSING, DEFAULT_MISSING,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata (element_class, "TSL feature fusion",
      "Filter/Analyzer", "Concatenates feature streams on the first stream's time grid, "
      "interpolating the others", "gst-tsl developers");
  gst_element_class_add_static_pad_template_with_gtype (element_class, &sink_template,
      GST_TYPE_TSL_FUSE_PAD);
  gst_element_class_add_static_pad_template_with_gtype (element_class, &src_template,
      GST_TYPE_AGGREGATOR_PAD);

  agg_class->aggregate = GST_DEBUG_FUNCPTR (gst_tsl_fuse_aggregate);
  agg_class->sink_event = GST_DEBUG_FUNCPTR (gst_tsl_fuse_sink_event);
  agg_class->start = GST_DEBUG_FUNCPTR (gst_tsl_fuse_start);
  agg_class->stop = GST_DEBUG_FUNCPTR (gst_tsl_fuse_stop);
  agg_class->update_src_caps = GST_DEBUG_FUNCPTR (gst_tsl_fuse_update_src_caps);
  agg_class->get_next_time = gst_aggregator_simple_get_next_time;

  gst_type_mark_as_plugin_api (GST_TYPE_TSL_FUSE_MISSING, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_TSL_FUSE_PAD, 0);
}

static void
gst_tsl_fuse_init (GstTslFuse *self)
{
  self->prop_missing = DEFAULT_MISSING;
  self->first_output = TRUE;
}

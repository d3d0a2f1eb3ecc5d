/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslvideoenc.c: tslvideoenc. Each incoming frame is put on a frame
 * grid tied to time (frame f stands for first + f / fps), turned into the
 * model's input (RGB in [0, 1], resized to S x S: the official
 * temporal-detection transform, libtsl/models/videomae/preprocess.h) and
 * kept in a ring of the last T frames. When frame k * stride + T - 1
 * arrives, clip k is copied out of the ring into the next slot of a batch
 * [batch-size, 3, T, S, S]; a full batch runs through
 * tsl_videomae_forward and leaves as one features buffer [n, C].
 */

/**
 * SECTION:element-tslvideoenc
 * @title: tslvideoenc
 *
 * Encodes video with a VideoMAE V2 ViT (a `.safetensors` model file with
 * `tsl.model` = videomae, from tools/convert-videomae.py or
 * tools/make-random-videomae.py) into one feature vector per clip, as the
 * official VideoMAE V2 temporal-detection feature extraction does: clips
 * of T consecutive frames (T = the model's all_frames, 16 for every
 * released model; read-only property `clip-frames`), a clip starting every
 * `stride` frames, each frame divided by 255 and resized to the model's
 * S x S (bilinear, no antialiasing, aspect ratio not kept, no crop, no
 * mean/std normalisation), features = the mean-pooled, fc_norm'ed tokens.
 *
 * Sink caps: `video/x-raw` with a fixed, non-zero framerate. Packed RGB
 * formats (RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR) are
 * read in place; the listed YUV and grey formats are first converted to
 * RGB at their own size with GstVideoConverter, which follows the caps'
 * colorimetry. Anything else: put videoconvert upstream.
 *
 * Source caps: `application/x-tsl-features, dim=(int)C, rate=(fraction)
 * fps / stride, window=(guint64)T / fps` (ns). Vector k's PTS is the time
 * of frame k * stride, so the time it stands for (PTS + window / 2) is the
 * centre of its clip: ActionFormer's (k * feat_stride + num_frames / 2) /
 * fps with feat_stride = stride, num_frames = T.
 *
 * ## Time grid, gaps, end of stream
 *
 * Frame f of the grid stands for first + f / fps, first being the PTS of
 * the first frame. A frame whose PTS lies k frames (rounded) past the end
 * of the grid is preceded by k copies of the last frame, and a GAP event
 * extends the grid with copies of the last frame up to its end, so that
 * clip k always starts at first + k * stride / fps. A frame whose PTS lies
 * on a position already filled is dropped (debug log); a frame without
 * PTS continues the grid.
 *
 * At EOS, with `partial-clip=pad` (default) the frames after the last
 * whole clip's start that no whole clip covers become one more clip, the
 * last frame repeated to fill it (so the end of the video is encoded; a
 * video shorter than one clip gives one vector). With `partial-clip=drop`
 * only whole clips are encoded, exactly as the official extraction (a
 * video of n frames gives floor ((n - T) / stride) + 1 vectors). Then the
 * last, possibly partial, batch is pushed before EOS goes downstream.
 * FLUSH_STOP discards everything.
 *
 * The LATENCY query adds the time from a clip's first frame to the push of
 * its batch: (T + (batch-size - 1) x stride) frames.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
 *     tslvideoenc model=vit-s.safetensors ! fakesink
 * ]|
 */
#include "gsttslvideoenc.h"

#include <gst/video/video.h>
#include <string.h>

#include "gsttslbackend.h"
#include "gsttsllatency.h"
#include "io/safetensors.h"
#include "models/videomae/model.h"
#include "models/videomae/preprocess.h"

GST_DEBUG_CATEGORY_STATIC (gst_tsl_video_enc_debug);
#define GST_CAT_DEFAULT gst_tsl_video_enc_debug

#define DEFAULT_BACKEND GST_TSL_BACKEND_AUTO
#define DEFAULT_STRIDE 16
#define DEFAULT_BATCH_SIZE 1
#define DEFAULT_PARTIAL_CLIP GST_TSL_VIDEO_ENC_PARTIAL_CLIP_PAD

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_BACKEND,
  PROP_STRIDE,
  PROP_BATCH_SIZE,
  PROP_PARTIAL_CLIP,
  PROP_CLIP_FRAMES,
};

struct _GstTslVideoEnc
{
  GstElement parent;

  GstPad *sinkpad;
  GstPad *srcpad;

  /* properties; protected by the object lock */
  gchar *prop_model;
  GstTslBackend prop_backend;
  guint prop_stride;
  guint prop_batch_size;
  GstTslVideoEncPartialClip prop_partial_clip;

  /* the model, loaded at READY->PAUSED; the scalars are read by queries
   * and get_property under the object lock */
  TslBackend *be;
  TslVideoMae *net;
  gint clip_frames;             /* T */
  gint size;                    /* S */
  gint dim;                     /* C */
  gint stride;
  gint batch_size;
  GstTslVideoEncPartialClip partial_clip;

  /* input format; streaming thread, fps also under the object lock */
  gboolean have_caps;
  GstVideoInfo in_info;
  gint fps_n, fps_d;
  GstVideoConverter *converter; /* to RGB at the input size, NULL for packed RGB */
  GstVideoInfo rgb_info;
  GstBuffer *rgb;               /* converter output */
  TslResizeAxis rows, cols;

  /* frame grid and batch; streaming thread only */
  GstSegment segment;
  GstClockTime first_pts;       /* time of grid frame 0; NONE before data */
  guint64 n_frames;             /* frames on the grid */
  guint64 n_clips;              /* clips started on the grid that are complete */
  gfloat *ring;                 /* [T, 3, S, S]: frame f in slot f % T */
  gfloat *clips;                /* [batch_size, 3, T, S, S] */
  gfloat *features;             /* [batch_size, C] */
  gint n_batched;               /* clips waiting in `clips` */
  guint64 batch_first;          /* clip index of clips[0] */
  gboolean discont;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-raw, format=(string){ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, "
        "BGRA, ARGB, ABGR, I420, YV12, NV12, NV21, Y42B, Y444, YUY2, UYVY, GRAY8 }, "
        "width=(int)[1, MAX], height=(int)[1, MAX], framerate=(fraction)[1/MAX, MAX]"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("application/x-tsl-features, dim=(int)[1, MAX], "
        "rate=(fraction)[1/MAX, MAX]"));

G_DEFINE_TYPE (GstTslVideoEnc, gst_tsl_video_enc, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (tslvideoenc, "tslvideoenc", GST_RANK_NONE, GST_TYPE_TSL_VIDEO_ENC);

GType
gst_tsl_video_enc_partial_clip_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_TSL_VIDEO_ENC_PARTIAL_CLIP_PAD,
        "One more clip from the remaining frames, the last one repeated", "pad"},
    {GST_TSL_VIDEO_ENC_PARTIAL_CLIP_DROP,
        "Whole clips only, as the official feature extraction", "drop"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstTslVideoEncPartialClip", values));
  return type;
}

/* Time of grid frame f relative to the first frame. */
static GstClockTime
gst_tsl_video_enc_frames_to_time (GstTslVideoEnc *self, guint64 f)
{
  return gst_util_uint64_scale (f, GST_SECOND * (guint64) self->fps_d, (guint64) self->fps_n);
}

static gsize
gst_tsl_video_enc_frame_floats (GstTslVideoEnc *self)
{
  return (gsize) 3 * self->size * self->size;
}

static void
gst_tsl_video_enc_reset_grid (GstTslVideoEnc *self)
{
  self->first_pts = GST_CLOCK_TIME_NONE;
  self->n_frames = 0;
  self->n_clips = 0;
  self->n_batched = 0;
  self->batch_first = 0;
  self->discont = TRUE;
}

/* ---- model ---- */

static gboolean
gst_tsl_video_enc_load (GstTslVideoEnc *self)
{
  g_autofree gchar *path = NULL;
  g_autoptr (TslSafetensors) st = NULL;
  g_autoptr (GError) error = NULL;
  GstTslBackend backend;
  const TslVideoMaeConfig *config;
  TslVideoMae *net;
  TslBackend *be;
  gint batch_size;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->prop_model);
  backend = self->prop_backend;
  batch_size = (gint) self->prop_batch_size;
  self->stride = (gint) self->prop_stride;
  self->partial_clip = self->prop_partial_clip;
  GST_OBJECT_UNLOCK (self);

  if (path == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("No model file given"),
        ("set the model property"));
    return FALSE;
  }
  if ((st = tsl_safetensors_open (path, &error)) == NULL ||
      (be = tsl_backend_new (gst_tsl_backend_to_string (backend), &error)) == NULL) {
    gst_tsl_backend_post_load_error (GST_ELEMENT (self), error);
    return FALSE;
  }
  if ((net = tsl_videomae_new (be, st, batch_size, &error)) == NULL) {
    gst_tsl_backend_post_load_error (GST_ELEMENT (self), error);
    tsl_backend_free (be);
    return FALSE;
  }
  config = tsl_videomae_get_config (net);
  GST_INFO_OBJECT (self, "%s on %s: clips of %d frames at %dx%d, %d features, stride %d, "
      "batches of %d", path, tsl_backend_name (be), config->all_frames, config->img_size,
      config->img_size, config->embed_dim, self->stride, batch_size);

  GST_OBJECT_LOCK (self);
  self->be = be;
  self->net = net;
  self->clip_frames = config->all_frames;
  self->size = config->img_size;
  self->dim = config->embed_dim;
  self->batch_size = batch_size;
  GST_OBJECT_UNLOCK (self);

  self->ring = g_new (gfloat, (gsize) self->clip_frames * gst_tsl_video_enc_frame_floats (self));
  self->clips = g_new (gfloat, (gsize) batch_size * self->clip_frames *
      gst_tsl_video_enc_frame_floats (self));
  self->features = g_new (gfloat, (gsize) batch_size * self->dim);
  return TRUE;
}

static void
gst_tsl_video_enc_clear_format (GstTslVideoEnc *self)
{
  g_clear_pointer (&self->converter, gst_video_converter_free);
  gst_clear_buffer (&self->rgb);
  tsl_resize_axis_clear (&self->rows);
  tsl_resize_axis_clear (&self->cols);
  self->have_caps = FALSE;
}

static void
gst_tsl_video_enc_unload (GstTslVideoEnc *self)
{
  gst_tsl_video_enc_clear_format (self);
  GST_OBJECT_LOCK (self);
  g_clear_pointer (&self->net, tsl_videomae_free);
  g_clear_pointer (&self->be, tsl_backend_free);
  self->clip_frames = 0;
  self->fps_n = 0;
  GST_OBJECT_UNLOCK (self);
  g_clear_pointer (&self->ring, g_free);
  g_clear_pointer (&self->clips, g_free);
  g_clear_pointer (&self->features, g_free);
  gst_tsl_video_enc_reset_grid (self);
}

/* ---- clips and batches ---- */

/* Runs the model on the waiting clips and pushes their vectors. */
static GstFlowReturn
gst_tsl_video_enc_push_batch (GstTslVideoEnc *self)
{
  const gint n = self->n_batched;
  const guint64 first_frame = self->batch_first * self->stride;
  const guint64 end_frame = (self->batch_first + n) * self->stride;
  g_autoptr (GError) error = NULL;
  GstBuffer *buf;

  if (n == 0)
    return GST_FLOW_OK;
  self->n_batched = 0;
  if (!tsl_videomae_forward (self->net, self->features, self->clips, n, NULL, NULL, &error)) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("%s", error->message), (NULL));
    return GST_FLOW_ERROR;
  }
  buf = gst_buffer_new_memdup (self->features, (gsize) n * self->dim * sizeof (gfloat));
  GST_BUFFER_PTS (buf) = self->first_pts + gst_tsl_video_enc_frames_to_time (self, first_frame);
  GST_BUFFER_DURATION (buf) = gst_tsl_video_enc_frames_to_time (self, end_frame) -
      gst_tsl_video_enc_frames_to_time (self, first_frame);
  GST_BUFFER_OFFSET (buf) = self->batch_first;
  GST_BUFFER_OFFSET_END (buf) = self->batch_first + n;
  if (self->discont) {
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    self->discont = FALSE;
  }
  GST_LOG_OBJECT (self, "clips %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT " at %"
      GST_TIME_FORMAT, self->batch_first, self->batch_first + n - 1,
      GST_TIME_ARGS (GST_BUFFER_PTS (buf)));
  return gst_pad_push (self->srcpad, buf);
}

/* Called once frame n_frames - 1 is in the ring: when it ends clip
 * n_clips, copies that clip into the batch, running a full batch. */
static GstFlowReturn
gst_tsl_video_enc_frame_added (GstTslVideoEnc *self)
{
  const gint T = self->clip_frames;
  const gsize plane = (gsize) self->size * self->size;
  const guint64 start = self->n_clips * self->stride;
  gfloat *clip;

  if (self->n_frames < start + T)
    return GST_FLOW_OK;
  if (self->n_batched == 0)
    self->batch_first = self->n_clips;
  /* ring slots [3, S, S] -> clip [3, T, S, S] */
  clip = self->clips + (gsize) self->n_batched * 3 * T * plane;
  for (gint t = 0; t < T; t++) {
    const gfloat *frame = self->ring + ((start + t) % T) * 3 * plane;
    for (gint c = 0; c < 3; c++)
      memcpy (clip + ((gsize) c * T + t) * plane, frame + c * plane, plane * sizeof (gfloat));
  }
  self->n_clips++;
  self->n_batched++;
  return self->n_batched == self->batch_size ? gst_tsl_video_enc_push_batch (self) :
      GST_FLOW_OK;
}

/* Appends copies of the last frame until the grid holds n frames. */
static GstFlowReturn
gst_tsl_video_enc_hold_last_to (GstTslVideoEnc *self, guint64 n)
{
  const gsize floats = gst_tsl_video_enc_frame_floats (self);
  GstFlowReturn flow = GST_FLOW_OK;

  if (self->n_frames == 0 || n <= self->n_frames)
    return GST_FLOW_OK;
  GST_DEBUG_OBJECT (self, "repeating the last frame %" G_GUINT64_FORMAT " times",
      n - self->n_frames);
  while (flow == GST_FLOW_OK && self->n_frames < n) {
    const gfloat *last = self->ring + ((self->n_frames - 1) % self->clip_frames) * floats;
    gfloat *next = self->ring + (self->n_frames % self->clip_frames) * floats;

    if (next != last)
      memcpy (next, last, floats * sizeof (gfloat));
    self->n_frames++;
    flow = gst_tsl_video_enc_frame_added (self);
  }
  return flow;
}

/* The grid frame a PTS falls on (nearest), or the end of the grid. */
static guint64
gst_tsl_video_enc_grid_index (GstTslVideoEnc *self, GstClockTime pts)
{
  if (!GST_CLOCK_TIME_IS_VALID (pts) || !GST_CLOCK_TIME_IS_VALID (self->first_pts))
    return self->n_frames;
  if (pts <= self->first_pts)
    return 0;
  return gst_util_uint64_scale_round (pts - self->first_pts, (guint64) self->fps_n,
      GST_SECOND * (guint64) self->fps_d);
}

/* Resizes a mapped frame into ring slot `slot`. */
static gboolean
gst_tsl_video_enc_store_frame (GstTslVideoEnc *self, GstVideoFrame *frame, gfloat *slot)
{
  GstVideoFrame rgb_frame;
  GstVideoFrame *src = frame;
  TslPixelLayout layout;
  gboolean converted = self->converter != NULL;

  if (converted) {
    if (!gst_video_frame_map (&rgb_frame, &self->rgb_info, self->rgb, GST_MAP_WRITE))
      return FALSE;
    gst_video_converter_frame (self->converter, frame, &rgb_frame);
    src = &rgb_frame;
  }
  layout.pixel_stride = GST_VIDEO_FRAME_COMP_PSTRIDE (src, 0);
  for (gint c = 0; c < 3; c++)
    layout.offset[c] = GST_VIDEO_FRAME_COMP_POFFSET (src, c);
  tsl_videomae_resize_frame (slot, (gsize) self->size * self->size,
      GST_VIDEO_FRAME_PLANE_DATA (src, 0), GST_VIDEO_FRAME_PLANE_STRIDE (src, 0), &layout,
      &self->rows, &self->cols);
  if (converted)
    gst_video_frame_unmap (&rgb_frame);
  return TRUE;
}

/* EOS: the partial clip (partial-clip=pad), the last batch, a fresh grid. */
static GstFlowReturn
gst_tsl_video_enc_drain (GstTslVideoEnc *self)
{
  GstFlowReturn flow = GST_FLOW_OK;
  const guint64 next_start = self->n_clips * self->stride;

  if (self->n_frames > next_start) {
    if (self->partial_clip == GST_TSL_VIDEO_ENC_PARTIAL_CLIP_PAD) {
      GST_DEBUG_OBJECT (self, "EOS: frames %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
          " padded into one more clip", next_start, self->n_frames - 1);
      flow = gst_tsl_video_enc_hold_last_to (self, next_start + self->clip_frames);
    } else {
      GST_DEBUG_OBJECT (self, "EOS: frames %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
          " fill no whole clip and are dropped (partial-clip=drop)", next_start,
          self->n_frames - 1);
    }
  }
  if (flow == GST_FLOW_OK)
    flow = gst_tsl_video_enc_push_batch (self);
  gst_tsl_video_enc_reset_grid (self);
  return flow;
}

/* ---- pads ---- */

static gboolean
gst_tsl_video_enc_set_caps (GstTslVideoEnc *self, GstCaps *caps)
{
  GstVideoInfo info;
  GstCaps *src_caps;
  gboolean ok;

  if (!gst_video_info_from_caps (&info, caps) || info.fps_n <= 0 || info.fps_d <= 0) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Video caps %" GST_PTR_FORMAT " need a fixed, non-zero framerate", caps), (NULL));
    return FALSE;
  }
  if (self->n_frames > 0 && (info.fps_n != self->fps_n || info.fps_d != self->fps_d)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Framerate changed from %d/%d to %d/%d in the middle of a stream", self->fps_n,
            self->fps_d, info.fps_n, info.fps_d), (NULL));
    return FALSE;
  }

  gst_tsl_video_enc_clear_format (self);
  self->in_info = info;
  if (!GST_VIDEO_INFO_IS_RGB (&info) || GST_VIDEO_INFO_N_PLANES (&info) != 1) {
    gst_video_info_set_format (&self->rgb_info, GST_VIDEO_FORMAT_RGB, info.width, info.height);
    /* the converter changes the format only */
    self->rgb_info.fps_n = info.fps_n;
    self->rgb_info.fps_d = info.fps_d;
    self->rgb_info.par_n = info.par_n;
    self->rgb_info.par_d = info.par_d;
    self->converter = gst_video_converter_new (&info, &self->rgb_info, NULL);
    self->rgb = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&self->rgb_info), NULL);
    if (self->converter == NULL) {
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
          ("Cannot convert %s to RGB", gst_video_format_to_string (info.finfo->format)),
          (NULL));
      return FALSE;
    }
  }
  tsl_resize_axis_init (&self->rows, info.height, self->size);
  tsl_resize_axis_init (&self->cols, info.width, self->size);
  self->have_caps = TRUE;

  GST_OBJECT_LOCK (self);
  self->fps_n = info.fps_n;
  self->fps_d = info.fps_d;
  GST_OBJECT_UNLOCK (self);

  src_caps = gst_caps_new_simple ("application/x-tsl-features",
      "dim", G_TYPE_INT, self->dim,
      "rate", GST_TYPE_FRACTION, info.fps_n, info.fps_d * self->stride,
      "window", G_TYPE_UINT64, gst_tsl_video_enc_frames_to_time (self, self->clip_frames),
      NULL);
  GST_DEBUG_OBJECT (self, "%s %dx%d at %d/%d -> %" GST_PTR_FORMAT,
      gst_video_format_to_string (info.finfo->format), info.width, info.height, info.fps_n,
      info.fps_d, src_caps);
  ok = gst_pad_set_caps (self->srcpad, src_caps);
  gst_caps_unref (src_caps);
  return ok;
}

static GstFlowReturn
gst_tsl_video_enc_chain (GstPad *pad, GstObject *parent, GstBuffer *buf)
{
  GstTslVideoEnc *self = GST_TSL_VIDEO_ENC (parent);
  const GstClockTime pts = GST_BUFFER_PTS (buf);
  GstFlowReturn flow = GST_FLOW_OK;
  GstVideoFrame frame;
  guint64 index;
  gfloat *slot;
  gboolean stored;

  if (!self->have_caps) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("No caps before the first frame"), (NULL));
    gst_buffer_unref (buf);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (!GST_CLOCK_TIME_IS_VALID (self->first_pts)) {
    if (GST_CLOCK_TIME_IS_VALID (pts))
      self->first_pts = pts;
    else
      self->first_pts = self->segment.format == GST_FORMAT_TIME ? self->segment.start : 0;
  }
  index = gst_tsl_video_enc_grid_index (self, pts);
  if (index < self->n_frames) {
    GST_DEBUG_OBJECT (self, "frame at %" GST_TIME_FORMAT " falls on grid frame %"
        G_GUINT64_FORMAT ", already filled: dropped", GST_TIME_ARGS (pts), index);
    goto out;
  }
  flow = gst_tsl_video_enc_hold_last_to (self, index);
  if (flow != GST_FLOW_OK)
    goto out;
  if (!gst_video_frame_map (&frame, &self->in_info, buf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Cannot map a video frame of %" G_GSIZE_FORMAT
            " bytes as %s", gst_buffer_get_size (buf),
            gst_video_format_to_string (self->in_info.finfo->format)), (NULL));
    flow = GST_FLOW_ERROR;
    goto out;
  }
  /* every frame is kept, even between clips when stride > T: it may be
   * repeated into a clip across a gap or at EOS */
  slot = self->ring + (self->n_frames % self->clip_frames) *
      gst_tsl_video_enc_frame_floats (self);
  stored = gst_tsl_video_enc_store_frame (self, &frame, slot);
  gst_video_frame_unmap (&frame);
  if (!stored) {
    GST_ELEMENT_ERROR (self, CORE, FAILED, ("Cannot map the RGB conversion buffer"), (NULL));
    flow = GST_FLOW_ERROR;
    goto out;
  }
  self->n_frames++;
  flow = gst_tsl_video_enc_frame_added (self);
out:
  gst_buffer_unref (buf);
  return flow;
}

static gboolean
gst_tsl_video_enc_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstTslVideoEnc *self = GST_TSL_VIDEO_ENC (parent);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gboolean ok;

      gst_event_parse_caps (event, &caps);
      ok = gst_tsl_video_enc_set_caps (self, caps);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_SEGMENT:
      gst_event_copy_segment (event, &self->segment);
      break;
    case GST_EVENT_GAP:{
      GstClockTime ts, duration;

      gst_event_parse_gap (event, &ts, &duration);
      if (self->have_caps && self->n_frames > 0 && GST_CLOCK_TIME_IS_VALID (ts)) {
        const GstClockTime end = ts + (GST_CLOCK_TIME_IS_VALID (duration) ? duration : 0);

        GST_DEBUG_OBJECT (self, "GAP %" GST_TIME_FORMAT " - %" GST_TIME_FORMAT,
            GST_TIME_ARGS (ts), GST_TIME_ARGS (end));
        if (gst_tsl_video_enc_hold_last_to (self,
                gst_tsl_video_enc_grid_index (self, end)) != GST_FLOW_OK) {
          gst_event_unref (event);
          return FALSE;
        }
      }
      /* the repeated frames stand for the gap downstream */
      gst_event_unref (event);
      return TRUE;
    }
    case GST_EVENT_EOS:
      if (self->net != NULL && self->have_caps)
        gst_tsl_video_enc_drain (self);
      break;
    case GST_EVENT_FLUSH_STOP:
      gst_tsl_video_enc_reset_grid (self);
      gst_segment_init (&self->segment, GST_FORMAT_UNDEFINED);
      break;
    default:
      break;
  }
  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_tsl_video_enc_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstTslVideoEnc *self = GST_TSL_VIDEO_ENC (parent);
  GstClockTime added = 0;
  gboolean ready;

  if (GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return gst_pad_query_default (pad, parent, query);

  GST_OBJECT_LOCK (self);
  ready = self->net != NULL && self->fps_n > 0;
  if (ready)
    added = gst_tsl_video_enc_frames_to_time (self, (guint64) self->clip_frames +
        (guint64) (self->batch_size - 1) * self->stride);
  GST_OBJECT_UNLOCK (self);

  if (!ready)
    return gst_pad_query_default (pad, parent, query);
  return gst_tsl_latency_query_add (self->sinkpad, query, added);
}

/* ---- element ---- */

static GstStateChangeReturn
gst_tsl_video_enc_change_state (GstElement *element, GstStateChange transition)
{
  GstTslVideoEnc *self = GST_TSL_VIDEO_ENC (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    if (!gst_tsl_video_enc_load (self))
      return GST_STATE_CHANGE_FAILURE;
    gst_tsl_video_enc_reset_grid (self);
    gst_segment_init (&self->segment, GST_FORMAT_UNDEFINED);
  }
  ret = GST_ELEMENT_CLASS (gst_tsl_video_enc_parent_class)->change_state (element, transition);
  if ((ret == GST_STATE_CHANGE_FAILURE && transition == GST_STATE_CHANGE_READY_TO_PAUSED) ||
      (ret != GST_STATE_CHANGE_FAILURE && transition == GST_STATE_CHANGE_PAUSED_TO_READY))
    gst_tsl_video_enc_unload (self);
  return ret;
}

static void
gst_tsl_video_enc_set_property (GObject *object, guint prop_id, const GValue *value,
    GParamSpec *pspec)
{
  GstTslVideoEnc *self = GST_TSL_VIDEO_ENC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->prop_model);
      self->prop_model = g_value_dup_string (value);
      break;
    case PROP_BACKEND:
      self->prop_backend = g_value_get_enum (value);
      break;
    case PROP_STRIDE:
      self->prop_stride = g_value_get_uint (value);
      break;
    case PROP_BATCH_SIZE:
      self->prop_batch_size = g_value_get_uint (value);
      break;
    case PROP_PARTIAL_CLIP:
      self->prop_partial_clip = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_tsl_video_enc_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstTslVideoEnc *self = GST_TSL_VIDEO_ENC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->prop_model);
      break;
    case PROP_BACKEND:
      g_value_set_enum (value, self->prop_backend);
      break;
    case PROP_STRIDE:
      g_value_set_uint (value, self->prop_stride);
      break;
    case PROP_BATCH_SIZE:
      g_value_set_uint (value, self->prop_batch_size);
      break;
    case PROP_PARTIAL_CLIP:
      g_value_set_enum (value, self->prop_partial_clip);
      break;
    case PROP_CLIP_FRAMES:
      g_value_set_uint (value, (guint) self->clip_frames);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_tsl_video_enc_finalize (GObject *object)
{
  GstTslVideoEnc *self = GST_TSL_VIDEO_ENC (object);

  gst_tsl_video_enc_unload (self);
  g_free (self->prop_model);
  G_OBJECT_CLASS (gst_tsl_video_enc_parent_class)->finalize (object);
}

static void
gst_tsl_video_enc_class_init (GstTslVideoEncClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags flags =
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;

  GST_DEBUG_CATEGORY_INIT (gst_tsl_video_enc_debug, "tslvideoenc", 0,
      "TSL VideoMAE V2 video encoder");

  gobject_class->set_property = gst_tsl_video_enc_set_property;
  gobject_class->get_property = gst_tsl_video_enc_get_property;
  gobject_class->finalize = gst_tsl_video_enc_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "VideoMAE V2 model file (.safetensors with tsl.model videomae; required, loaded at "
          "READY->PAUSED)", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_BACKEND,
      g_param_spec_enum ("backend", "Backend", "Where the network runs",
          GST_TYPE_TSL_BACKEND, DEFAULT_BACKEND, flags));
  g_object_class_install_property (gobject_class, PROP_STRIDE,
      g_param_spec_uint ("stride", "Stride",
          "Frames between the starts of two clips (the feature rate is framerate / stride; "
          "16 matches the official FineAction-style extraction, 4 the THUMOS14 one)",
          1, 4096, DEFAULT_STRIDE, flags));
  g_object_class_install_property (gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint ("batch-size", "Batch size",
          "Clips per forward pass: larger batches use the hardware better and add "
          "(batch-size - 1) x stride frames of latency", 1, 256, DEFAULT_BATCH_SIZE, flags));
  g_object_class_install_property (gobject_class, PROP_PARTIAL_CLIP,
      g_param_spec_enum ("partial-clip", "Partial clip",
          "At EOS, what to do with frames no whole clip covers",
          GST_TYPE_TSL_VIDEO_ENC_PARTIAL_CLIP, DEFAULT_PARTIAL_CLIP, flags));
  g_object_class_install_property (gobject_class, PROP_CLIP_FRAMES,
      g_param_spec_uint ("clip-frames", "Clip frames",
          "Frames per clip: the model's all_frames (0 until the model is loaded)",
          0, G_MAXINT, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_set_static_metadata (element_class, "TSL VideoMAE video encoder",
      "Filter/Video/Analyzer", "Encodes clips of video frames into feature vectors with a "
      "VideoMAE V2 vision transformer", "gst-tsl developers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_tsl_video_enc_change_state);

  gst_type_mark_as_plugin_api (GST_TYPE_TSL_BACKEND, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_TSL_VIDEO_ENC_PARTIAL_CLIP, 0);
}

static void
gst_tsl_video_enc_init (GstTslVideoEnc *self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_tsl_video_enc_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_tsl_video_enc_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (self->srcpad, GST_DEBUG_FUNCPTR (gst_tsl_video_enc_src_query));
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  self->prop_backend = DEFAULT_BACKEND;
  self->prop_stride = DEFAULT_STRIDE;
  self->prop_batch_size = DEFAULT_BATCH_SIZE;
  self->prop_partial_clip = DEFAULT_PARTIAL_CLIP;
  self->first_pts = GST_CLOCK_TIME_NONE;
  gst_segment_init (&self->segment, GST_FORMAT_UNDEFINED);
}

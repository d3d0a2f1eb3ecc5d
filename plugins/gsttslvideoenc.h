/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslvideoenc.h: tslvideoenc, the VideoMAE V2 ViT video encoder:
 * video/x-raw in, application/x-tsl-features out (one vector per clip of
 * the model's frames, a clip every `stride` frames), all maths in
 * libtsl/models/videomae.
 *
 * A plain GstElement with its own chain and event functions rather than a
 * GstBaseTransform: one output vector needs many input frames, frames
 * belong to several clips when stride < clip length, and vectors leave in
 * batches.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* What happens at EOS to frames that do not fill a whole clip. */
typedef enum
{
  GST_TSL_VIDEO_ENC_PARTIAL_CLIP_PAD,   /* one more clip, the last frame repeated */
  GST_TSL_VIDEO_ENC_PARTIAL_CLIP_DROP,  /* whole clips only, as the official extraction */
} GstTslVideoEncPartialClip;

#define GST_TYPE_TSL_VIDEO_ENC_PARTIAL_CLIP (gst_tsl_video_enc_partial_clip_get_type ())
GType gst_tsl_video_enc_partial_clip_get_type (void);

#define GST_TYPE_TSL_VIDEO_ENC (gst_tsl_video_enc_get_type ())
G_DECLARE_FINAL_TYPE (GstTslVideoEnc, gst_tsl_video_enc, GST, TSL_VIDEO_ENC, GstElement)

GST_ELEMENT_REGISTER_DECLARE (tslvideoenc);

G_END_DECLS

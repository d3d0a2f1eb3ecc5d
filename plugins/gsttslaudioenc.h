/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslaudioenc.h: tslaudioenc, the MMV audio encoder: mono float audio
 * in, application/x-tsl-features out (one vector per step of a time grid,
 * each from a window of samples centred on its step), all maths in
 * libtsl/models/audio.
 *
 * A plain GstElement with its own chain and event functions: windows
 * overlap (a 3.2 s window every 0.53 s by default), reach before the
 * stream's start and past its end, and vectors leave in batches.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Which output of the audio network becomes the features. */
typedef enum
{
  GST_TSL_AUDIO_ENC_HEAD_MODEL,         /* the model file's configured head */
  GST_TSL_AUDIO_ENC_HEAD_BACKBONE,      /* the pooled ResNet output (2048) */
  GST_TSL_AUDIO_ENC_HEAD_VA,            /* audio-to-video embedding (512) */
  GST_TSL_AUDIO_ENC_HEAD_VAT,           /* video-audio-text embedding (256) */
} GstTslAudioEncHead;

#define GST_TYPE_TSL_AUDIO_ENC_HEAD (gst_tsl_audio_enc_head_get_type ())
GType gst_tsl_audio_enc_head_get_type (void);

#define GST_TYPE_TSL_AUDIO_ENC (gst_tsl_audio_enc_get_type ())
G_DECLARE_FINAL_TYPE (GstTslAudioEnc, gst_tsl_audio_enc, GST, TSL_AUDIO_ENC, GstElement)

GST_ELEMENT_REGISTER_DECLARE (tslaudioenc);

G_END_DECLS

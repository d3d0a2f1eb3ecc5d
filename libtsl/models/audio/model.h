/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * model.h: the MMV audio encoder (Alayrac et al., "Self-Supervised
 * MultiModal Versatile Networks", NeurIPS 2020) in inference form, as
 * google-deepmind/deepmind-research mmv/models (commit c146166d) builds it:
 *
 *   waveform [N] at 48 kHz --log-mel (logmel.h)--> [F, 80] image, 1 channel
 *   --ResNetV2-50 (resnet.py ResNetV2, depth 50, num_classes None):
 *     initial_conv 7x7 stride 2 'SAME', no bias; max pool 3x3 stride 2
 *     'SAME' (the stem; no normalisation after it);
 *     4 stages of pre-activation bottleneck blocks [3, 4, 6, 3], outputs
 *     256, 512, 1024, 2048, strides 1, 2, 2, 2 (first block of a stage);
 *     a block: BN-ReLU, conv_0 1x1 -> BN-ReLU, conv_1 3x3 (stride) ->
 *     BN-ReLU, conv_2 1x1, plus the shortcut: the input itself, or, when
 *     the channel count changes, shortcut_conv 1x1 (stride) applied to the
 *     first BN-ReLU's output; final BN-ReLU; mean over time and frequency
 *   --> [2048] ('backbone')
 *   --audio_embd: Linear 2048 -> 512 ('va', mm_embeddings.py, the audio to
 *     video head: config_video_audio tovid_head_mode 'linear')
 *   --ReLU, vis_embd: Linear 512 -> 256 with bias, BN ('vat': the 'fac_relu'
 *     graph sends the audio embedding through the video-to-text head,
 *     totxt_head_mode 'linear', totxt_bn_after_proj True).
 *
 * Batch norms use their moving averages (inference form) with eps 1e-5.
 * Convolutions use TensorFlow 'SAME' padding (tsl_conv2d_same_padding).
 * Tensors are NCHW with H = time frames and W = mel bins, which is the
 * official NHWC [B, T, F, 1] layout transposed, so every result matches.
 *
 * Every op runs through the backend's op table; the log-mel front end runs
 * on the host (OpenMP over frames) and its result is uploaded.
 *
 * The model file is safetensors with metadata `tsl.model` = "audio-resnet"
 * and `tsl.config` (config.h); tensor names follow the official parameter
 * tree (docs/audio-model.md has the mapping):
 *   resnet.initial_conv.w                                 [W, 1, 7, 7]
 *   resnet.block_group_<g>.block_<b>.conv_<j>.w           [Cout, Cin, k, k]
 *   resnet.block_group_<g>.block_<b>.shortcut_conv.w      (first blocks)
 *   resnet.block_group_<g>.block_<b>.batch_norm_<j>.{scale,offset,mean,var}
 *   resnet.batch_norm.{scale,offset,mean,var}             (the final one)
 *   audio_embd.final_projection.{w [512, 2048], b [512]}  ('va', 'vat')
 *   vis_embd.final_projection.{w [256, 512], b [256]},
 *   vis_embd.batch_norm.{scale,offset,mean,var}           ('vat')
 * Convolution weights are [out, in, kh, kw] and Linear weights [out, in]
 * (PyTorch's layouts); batch norms hold scale (gamma), offset (beta) and
 * the moving mean and variance, each [C].
 *
 * Memory: parameters are uploaded once; activations live in one arena sized
 * for the largest (batch, frames) seen so far (tsl_audio_model_reserve
 * sizes it in advance); a forward of that size or smaller allocates
 * nothing on the backend.
 */
#pragma once

#include "../../backend.h"
#include "../../io/safetensors.h"
#include "../../tensor.h"
#include "config.h"

G_BEGIN_DECLS

typedef struct _TslAudioModel TslAudioModel;

/* Device tensors of the last forward (tsl_audio_model_activation). */
typedef enum {
    TSL_AUDIO_LOGMEL,   /* [B, F, mel], the network's input */
    TSL_AUDIO_STEM,     /* [B, width, H, W] after the max pool */
    TSL_AUDIO_STAGE,    /* [B, C_g, H_g, W_g] output of stage `index` (before the final BN) */
    TSL_AUDIO_POOLED,   /* [B, 4 * 8 * width] after the final BN-ReLU and the mean */
    TSL_AUDIO_VA,       /* [B, va_dim] */
    TSL_AUDIO_VAT,      /* [B, vat_dim] */
} TslAudioActivation;

/* Opens and loads a model file (`tsl.model` must be "audio-resnet"). The
 * head tensors are loaded when present; the configured head's must be.
 * Missing tensors are TSL_ERROR_FORMAT, wrong shapes TSL_ERROR_SHAPE, both
 * naming the file and the tensor. */
TslAudioModel *tsl_audio_model_load (TslBackend *be, const char *path, GError **error);
/* Same from an open file, with the configuration given by the caller
 * (NULL: the file's tsl.config). */
TslAudioModel *tsl_audio_model_new (TslBackend *be, const TslSafetensors *st,
                                    const TslAudioConfig *config, GError **error);
void tsl_audio_model_free (TslAudioModel *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslAudioModel, tsl_audio_model_free)

const TslAudioConfig *tsl_audio_model_get_config (const TslAudioModel *m);
int tsl_audio_model_sample_rate (const TslAudioModel *m);
/* Samples per window the model was trained on (config window_samples). */
int tsl_audio_model_window_samples (const TslAudioModel *m);
TslAudioHead tsl_audio_model_get_head (const TslAudioModel *m);
/* The size D of one output vector of the current head. */
int tsl_audio_model_output_dim (const TslAudioModel *m);
/* Chooses the output; TSL_ERROR_UNSUPPORTED when the file lacks its tensors. */
gboolean tsl_audio_model_set_head (TslAudioModel *m, TslAudioHead head, GError **error);

/* Frames of the log-mel of N samples. */
int tsl_audio_model_n_frames (const TslAudioModel *m, int N);

/* Sizes the activations for up to B windows of N samples. */
gboolean tsl_audio_model_reserve (TslAudioModel *m, int B, int N, GError **error);

/* The log-mel front end alone (host memory in and out); F = n_frames (N). */
void tsl_audio_model_logmel (TslAudioModel *m, float *logmel /* [B, F, mel] */,
                             const float *waveforms /* [B, N] */, int B, int N);

/* features[b] = the head's output for window b. Host memory. N >= 1.
 * TSL_ERROR_SHAPE when B < 1 or N gives no frame. */
gboolean tsl_audio_model_forward (TslAudioModel *m, const float *waveforms /* [B, N] */, int B,
                                  int N, float *features /* [B, D] */, GError **error);
/* The same from log-mel spectrograms (host memory). */
gboolean tsl_audio_model_forward_logmel (TslAudioModel *m, const float *logmel /* [B, F, mel] */,
                                         int B, int F, float *features /* [B, D] */,
                                         GError **error);

/* The device tensor `which` (stage `index`) of the last forward; NULL
 * before the first forward, for an index out of range, or for a head
 * output the last forward did not compute. */
const TslTensor *tsl_audio_model_activation (const TslAudioModel *m, TslAudioActivation which,
                                             int index);

G_END_DECLS

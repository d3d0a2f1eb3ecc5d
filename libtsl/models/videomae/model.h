/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * videomae/model.h: the VideoMAE V2 ViT encoder (VisionTransformer of
 * OpenGVLab/VideoMAEv2, models/modeling_finetune.py) in eval mode, as the
 * official temporal-detection feature extraction runs it
 * (model.forward_features): a clip [3, T, S, S] of RGB values in [0, 1]
 * becomes one feature vector of embed_dim C.
 *
 *   clip --tubelet patches (Conv3d as a GEMM)--> tokens [N, C]
 *   + fixed sinusoid table --> depth pre-norm blocks:
 *       x += proj (attention (LN1 (x) Wqkv + (q_bias, 0, v_bias)))
 *       x += fc2 (GELU (fc1 (LN2 (x))))        (times gamma_1/2 when layer-scaled)
 *   --> mean over tokens --> fc_norm = feature [C]
 *
 * Token n = (t * S/P + h) * S/P + w (time slowest); a token's input vector
 * is indexed (c, kt, kh, kw), the order of the Conv3d weight. Tensors keep
 * their official state_dict names (patch_embed.proj.weight [C, 3, tubelet,
 * P, P], blocks.{i}.attn.qkv.weight [3C, C], blocks.{i}.attn.q_bias, ...);
 * the classification head, when present, is not used.
 *
 * Memory: parameters are loaded once; activations for up to max_batch
 * clips live in one arena, so a forward allocates nothing.
 */
#pragma once

#include "../../backend.h"
#include "../../io/safetensors.h"
#include "config.h"

G_BEGIN_DECLS

typedef struct _TslVideoMae TslVideoMae;

/* The model of `st` with the configuration of its `tsl.config` metadata,
 * activations sized for batches of up to max_batch clips. Missing tensors
 * are TSL_ERROR_FORMAT, wrong shapes TSL_ERROR_SHAPE (naming the tensor). */
TslVideoMae *tsl_videomae_new (TslBackend *be, const TslSafetensors *st, int max_batch,
                               GError **error);
/* Same with a configuration from the caller (the metadata is not read). */
TslVideoMae *tsl_videomae_new_with_config (TslBackend *be, const TslSafetensors *st,
                                           const TslVideoMaeConfig *config, int max_batch,
                                           GError **error);
void tsl_videomae_free (TslVideoMae *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslVideoMae, tsl_videomae_free)

const TslVideoMaeConfig *tsl_videomae_get_config (const TslVideoMae *m);
int tsl_videomae_max_batch (const TslVideoMae *m);

/* Called after block `block` with its output for clips first ..
 * first + B - 1 of the forward's batch, host memory [B, N, C] valid during
 * the call. */
typedef void (*TslVideoMaeHiddenFunc) (int block, int first, const float *hidden, int B, int N,
                                       int C, gpointer user_data);

/* features[b] = forward_features (clips[b]) for b < B (any B >= 1; batches
 * above max_batch run in several passes). clips and features are host
 * memory. hidden_func may be NULL. */
gboolean tsl_videomae_forward (TslVideoMae *m, float *features /* [B, C] */,
                               const float *clips /* [B, 3, T, S, S] */, int B,
                               TslVideoMaeHiddenFunc hidden_func, gpointer user_data,
                               GError **error);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * videomae/config.h: the hyper-parameters of a VideoMAE V2 ViT encoder
 * (VisionTransformer of OpenGVLab/VideoMAEv2, models/modeling_finetune.py),
 * read from a model file's `tsl.config` JSON. The keys are the official
 * constructor's argument names:
 *
 *   patch_size, tubelet_size, img_size, all_frames, in_chans, embed_dim,
 *   depth, num_heads, mlp_ratio, qkv_bias, init_values, use_mean_pooling,
 *   layernorm_eps (the eps of every LayerNorm; 1e-6 in every official
 *   variant), num_classes (0: no classification head)
 *
 * Absent keys take the official defaults (those of vit_base_patch16_224 at
 * 16 frames, 224 x 224). Unknown keys are ignored, so a configuration that
 * also carries derived values (num_tokens, head_dim, ...) reads unchanged.
 * The configuration may also be wrapped as {"config": {...}}.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    int patch_size;         /* P: spatial patch side, pixels */
    int tubelet_size;       /* frames per token */
    int img_size;           /* S: input frames are S x S */
    int all_frames;         /* T: frames per clip */
    int in_chans;           /* 3 (RGB) */
    int embed_dim;          /* C */
    int depth;              /* transformer blocks */
    int num_heads;          /* H, divides C */
    double mlp_ratio;       /* MLP hidden size = (int) (C * mlp_ratio) */
    gboolean qkv_bias;      /* separate q and v biases (k has none) */
    double init_values;     /* > 0: layer-scale gammas gamma_1, gamma_2 per block */
    gboolean use_mean_pooling; /* features = fc_norm (mean over tokens) */
    double layernorm_eps;
    int num_classes;        /* head size, 0 when the file has no head */
} TslVideoMaeConfig;

void tsl_videomae_config_init (TslVideoMaeConfig *cfg);
/* Parses `json` (len bytes, or NUL-terminated when len < 0) over the
 * defaults and checks it (sizes divide, heads divide C, ...). Errors are
 * TSL_ERROR_CONFIG naming the key, or TSL_ERROR_FORMAT for bad JSON. */
gboolean tsl_videomae_config_parse (TslVideoMaeConfig *cfg, const char *json, gssize len,
                                    GError **error);

/* Tokens per clip: (T / tubelet) * (S / P)^2. */
int tsl_videomae_config_num_tokens (const TslVideoMaeConfig *cfg);
/* (int) (C * mlp_ratio), as Python's int() truncates. */
int tsl_videomae_config_mlp_hidden (const TslVideoMaeConfig *cfg);
/* Input values per token: in_chans * tubelet * P * P. */
int tsl_videomae_config_patch_len (const TslVideoMaeConfig *cfg);

G_END_DECLS

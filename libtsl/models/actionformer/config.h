/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * config.h: every hyper-parameter of an ActionFormer (LocPointTransformer)
 * model, as the official configuration of happyharrycn/actionformer_release
 * (commit 61ea7eb9, libs/core/config.py) spells them, with its defaults.
 *
 * The text parsed is the JSON of a model file's `tsl.config` metadata: the
 * official resolved config dict (sections "dataset", "model", "train_cfg",
 * "test_cfg"), either bare or wrapped as {"config": {...}}. Omitted keys
 * take the official defaults. Where a value appears twice, the copy the
 * official _update_config() gives the model wins: dataset.input_dim /
 * num_classes / max_seq_len over model.*, and the top-level train_cfg /
 * test_cfg over model.train_cfg / model.test_cfg.
 *
 * Parsing only checks what the official constructor asserts; which of the
 * valid models this library can run is decided when a model is loaded
 * (tsl_actionformer_new), which answers TSL_ERROR_UNSUPPORTED otherwise.
 */
#pragma once

#include <glib.h>

#include "../../decode/config.h"

G_BEGIN_DECLS

/* Pyramid levels (= branch blocks + 1) a configuration may ask for. */
#define TSL_ACTIONFORMER_MAX_LEVELS 16

typedef enum {
    TSL_ACTIONFORMER_BACKBONE_CONV_TRANSFORMER, /* "convTransformer" */
    TSL_ACTIONFORMER_BACKBONE_CONV,             /* "conv" */
} TslActionFormerBackbone;

typedef enum {
    TSL_ACTIONFORMER_NECK_IDENTITY, /* "identity": a LayerNorm per level */
    TSL_ACTIONFORMER_NECK_FPN,      /* "fpn": lateral + top-down convolutions */
} TslActionFormerNeck;

typedef struct {
    /* ---- dataset ---- */
    int input_dim;          /* C_in, feature channels of the input */
    int num_classes;        /* K */
    int max_seq_len;        /* eval inputs up to this length are padded to it */
    int feat_stride;        /* video frames between two feature vectors */
    int num_frames;         /* video frames one feature vector covers */
    double default_fps;     /* frames per second; 0 when null (taken from the data) */

    /* ---- model ---- */
    TslActionFormerBackbone backbone_type;
    TslActionFormerNeck fpn_type;
    int n_embd_convs;       /* backbone_arch[0]: embedding convolutions */
    int n_stem_blocks;      /* backbone_arch[1]: transformer blocks at full rate */
    int n_branch_blocks;    /* backbone_arch[2]: downsampling transformer blocks */
    int n_levels;           /* n_branch_blocks + 1 backbone outputs */
    int scale_factor;       /* downsampling between two levels */
    int n_fpn_levels;       /* n_levels - fpn_start_level: levels with heads */
    double regression_range[TSL_ACTIONFORMER_MAX_LEVELS][2]; /* [n_fpn_levels][min, max], grid */
    int n_head;             /* attention heads */
    int mha_win_size[TSL_ACTIONFORMER_MAX_LEVELS]; /* [n_levels]; <= 1: global attention */
    int embd_kernel_size;
    int embd_dim;           /* D */
    gboolean embd_with_ln;
    int fpn_dim;
    gboolean fpn_with_ln;
    int fpn_start_level;
    int head_dim;
    int head_kernel_size;
    int head_num_layers;    /* including the final classifier / regressor */
    gboolean head_with_ln;
    double max_buffer_len_factor; /* longest padded input = max_seq_len * this */
    gboolean use_abs_pe;
    gboolean use_rel_pe;
    double droppath;        /* train_cfg.droppath: > 0 means AffineDropPath scales exist */

    /* ---- test_cfg: post-processing ---- */
    TslDecodeConfig decode;
} TslActionFormerConfig;

/* The official defaults (libs/core/config.py DEFAULTS after _update_config). */
void tsl_actionformer_config_init (TslActionFormerConfig *cfg);

/* Fills cfg from JSON text (len -1: NUL-terminated). TSL_ERROR_FORMAT for
 * text that is not JSON; TSL_ERROR_CONFIG naming the key ("model.n_head")
 * for a value of the wrong type or out of range. */
gboolean tsl_actionformer_config_parse (TslActionFormerConfig *cfg, const char *json, gssize len,
                                        GError **error);

/* Stride of backbone level L relative to the input grid: scale_factor^L. */
int tsl_actionformer_config_level_stride (const TslActionFormerConfig *cfg, int level);

/* Largest stride * (window // 2) * 2 over the pyramid levels (stride alone
 * for global attention): eval inputs longer than max_seq_len are padded to
 * a multiple of it. */
int tsl_actionformer_config_max_div_factor (const TslActionFormerConfig *cfg);

/* The official eval padding of an input of T feature vectors: max_seq_len
 * when T <= max_seq_len, else the next multiple of the max div factor. */
int tsl_actionformer_config_padded_len (const TslActionFormerConfig *cfg, int T);

G_END_DECLS

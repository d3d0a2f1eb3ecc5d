/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train-private.h: what train.c (gradient buffers, train forward) and
 * backward.c share: the activations one train forward saves for the
 * backward, and the backward's scratch buffers, all in the trainer's
 * arena, sized once for max_batch videos padded to max_seq_len.
 * Layouts are channels-first and batched: [B, C, T_L] with D = embd_dim,
 * Tp = max_seq_len, T_L = Tp / scale_factor^L.
 */
#pragma once

#include "actionformer-private.h"
#include "train.h"

G_BEGIN_DECLS

/* LayerNorm output and its saved statistics. */
typedef struct {
    float *out;   /* [B, C, T] */
    float *mean;  /* [B, T] */
    float *rstd;  /* [B, T] */
} TslAfNormSaved;

/* One transformer block (names as in backbone.c). */
typedef struct {
    int T_in, T_out;
    TslAfNormSaved ln1;           /* h = ln1(x), [B, D, T_in] */
    float *qkv_conv[3];           /* depthwise conv outputs [B, D, T_out] */
    TslAfNormSaved qkv_norm[3];   /* their LayerNorms */
    float *qkv[3];                /* 1x1 projections [B, D, T_out] */
    float *att;                   /* [B, H, T_out, W], or [B, H, T_out, T_out] (global) */
    float *v_masked;              /* value * mask [B, D, T_out] (global), else NULL */
    float *attn_out;              /* attention output [B, D, T_out] */
    float *proj_out;              /* proj(attn_out) * mask [B, D, T_out] */
    int32_t *argmax;              /* [B, D, T_out] max-pool winners, or NULL at stride 1 */
    float *skip_masked;           /* skip * mask [B, D, T_out] */
    float *drop_attn_out;         /* drop_path_attn(proj_out) [B, D, T_out] */
    float *residual;              /* r [B, D, T_out] */
    TslAfNormSaved ln2;           /* [B, D, T_out] */
    float *hidden;                /* [B, 4D, T_out] before GELU */
    float *hidden_act;            /* [B, 4D, T_out] after GELU */
    float *mlp_out;               /* mlp(...) * mask [B, D, T_out] */
    float *drop_mlp_out;          /* drop_path_mlp(mlp_out) [B, D, T_out] */
    float *out;                   /* [B, D, T_out] */
    const float *drop_factor[2];  /* [B] per-video factors (0 or 1 / keep_prob) of the
                                   * attention and MLP branches in the last forward,
                                   * or NULL when nothing was dropped */
} TslAfBlockSaved;

/* One layer of a head trunk: conv -> LayerNorm (optional) -> ReLU. */
typedef struct {
    float *conv;                  /* [B, head_dim, T] */
    TslAfNormSaved norm;          /* .out NULL without head_with_ln */
    float *act;                   /* [B, head_dim, T] */
} TslAfHeadLayerSaved;

struct _TslActionFormerTrain {
    TslActionFormer *m;
    int max_batch;
    int batch;                                  /* B of the last forward, 0 before */
    int padded_len;                             /* Tp = max_seq_len */
    int level_len[TSL_ACTIONFORMER_MAX_LEVELS]; /* T_L */
    TslArena arena;

    /* saved by the forward */
    float *input;                               /* [B, C_in, Tp] zero padded */
    float *mask[TSL_ACTIONFORMER_MAX_LEVELS];   /* [B, T_L] */
    float *key_bias[TSL_ACTIONFORMER_MAX_LEVELS]; /* [B, T_L] 0 valid, -inf padded, on
                                                   * levels with global attention, else NULL */
    float *drop_factor;                         /* [n_blocks, 2, B] or NULL (no drop path) */
    float *pe;                                  /* [B, D, Tp] masked, or NULL */
    float **embd_conv;                          /* [n_embd_convs] x [B, D, Tp] */
    TslAfNormSaved *embd_norm;                  /* [n_embd_convs] (.out NULL without LN) */
    float **embd_act;                           /* [n_embd_convs] x [B, D, Tp] after ReLU */
    float *embd_out;                            /* [B, D, Tp] input of the first block */
    TslAfBlockSaved *blocks;                    /* [n_stem_blocks + n_branch_blocks] */
    const float *feats[TSL_ACTIONFORMER_MAX_LEVELS];  /* backbone level L [B, D, T_L] */
    TslAfNormSaved fpn[TSL_ACTIONFORMER_MAX_LEVELS];  /* neck [B, fpn_dim, T_L] */
    TslAfHeadLayerSaved *trunk[2][TSL_ACTIONFORMER_MAX_LEVELS]; /* cls, reg x level x layer */
    float *cls_logits[TSL_ACTIONFORMER_MAX_LEVELS];   /* [B, K, T_L] */
    float *reg_raw[TSL_ACTIONFORMER_MAX_LEVELS];      /* conv output [B, 2, T_L] */
    float *reg_scaled[TSL_ACTIONFORMER_MAX_LEVELS];   /* Scale_L * reg_raw */
    float *reg_offsets[TSL_ACTIONFORMER_MAX_LEVELS];  /* ReLU of that */

    /* backward scratch */
    float *dfeats[TSL_ACTIONFORMER_MAX_LEVELS];       /* [B, D, T_L] */
    float *dstem[2];                                  /* [B, D, Tp] block input gradients */
    float *dtmp[8];                                   /* [B, D, Tp] */
    float *dhidden[2];                                /* [B, 4D, Tp] */
    float *dhead[4];                                  /* [B, max(fpn_dim, head_dim, K, 2), Tp] */
    float *scores[2];  /* [B, H, T_L, T_L] of the longest global-attention level, or NULL:
                        * forward scores; backward d att and d scores */

    /* host staging */
    float *host_input;                          /* [max_batch, C_in, Tp] */
    float *host_mask;                           /* [max_batch, Tp] */
    float *host_pe;                             /* [max_batch, D, Tp] or NULL */
    float *host_drop;                           /* [n_blocks, 2, max_batch] or NULL */
};

struct _TslActionFormerGrads {
    TslBackend *be;
    TslAfParams view;     /* same layout as the model's parameters, pointing into data */
    GPtrArray *names;     /* [n] official names (owned) */
    GArray *tensors;      /* [n] TslTensor borrowing data */
    float *data;          /* [total] device */
    size_t total;
};

/* out[b, c, t] = x[b, c, t] * mask[b, t] (out may equal x) */
void tsl_actionformer_train_apply_mask (TslBackend *be, float *out /* [B, C, T] */,
                                        const float *x /* [B, C, T] */,
                                        const float *mask /* [B, T] */, int B, int C, int T);

G_END_DECLS

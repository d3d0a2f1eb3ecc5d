/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * actionformer-private.h: what model.c (loading), forward.c (arena and
 * forward driver), backbone.c (embedding and transformer blocks) and
 * heads.c (neck and heads) share: the parameter structs, one per official module, holding
 * device pointers into the loaded tensors, and the activations of one
 * forward, all borrowed from the model's arena. Channels-first, batch one:
 * D = embd_dim, Tp = padded length, T_L = Tp / scale_factor^L.
 */
#pragma once

#include <stdint.h>

#include "../../ops.h"
#include "model.h"

G_BEGIN_DECLS

#define TSL_ACTIONFORMER_LN_EPS 1e-5f

/* LayerNorm over channels (official [1, C, 1] parameters, read as [C]). */
typedef struct {
    const float *weight; /* [C] */
    const float *bias;   /* [C] */
} TslAfNorm;

/* nn.Conv1d / MaskedConv1D parameters. */
typedef struct {
    const float *weight; /* [C_out, C_in / groups, K] */
    const float *bias;   /* [C_out] or NULL */
} TslAfConv;

/* One TransformerBlock with its MaskedMHCA / LocalMaskedMHCA. */
typedef struct {
    int stride;                 /* 1 in the stem, scale_factor in the branch */
    int kernel;                 /* depthwise q/k/v kernel: stride + 1, or 3 at stride 1 */
    int window;                 /* attended keys 2 * (w / 2) + 1, or 0 for global attention */
    TslAfNorm ln1, ln2;         /* [D] */
    TslAfConv query_conv;       /* [D, 1, kernel], no bias */
    TslAfConv key_conv;         /* [D, 1, kernel], no bias */
    TslAfConv value_conv;       /* [D, 1, kernel], no bias */
    TslAfNorm query_norm, key_norm, value_norm;
    TslAfConv query, key, value, proj; /* [D, D, 1], [D] */
    TslAfConv mlp_in;           /* [4D, D, 1], [4D] */
    TslAfConv mlp_out;          /* [D, 4D, 1], [D] */
    const float *drop_path_attn; /* [D] or NULL when train_cfg.droppath is 0 */
    const float *drop_path_mlp;  /* [D] or NULL */
} TslAfBlock;

/* PtTransformerClsHead / PtTransformerRegHead, shared by every level. */
typedef struct {
    TslAfConv *conv;  /* [head_num_layers - 1]: [head_dim, fpn_dim or head_dim, k] */
    TslAfNorm *norm;  /* [head_num_layers - 1], or NULL without head_with_ln */
    TslAfConv out;    /* [K or 2, head_dim, k] with bias */
} TslAfHead;

typedef struct {
    TslAfConv *embd;       /* [n_embd_convs]: [D, C_in or D, embd_kernel_size] */
    TslAfNorm *embd_norm;  /* [n_embd_convs], or NULL without embd_with_ln */
    TslAfBlock *blocks;    /* [n_stem_blocks + n_branch_blocks], stem first */
    TslAfNorm fpn_norm[TSL_ACTIONFORMER_MAX_LEVELS]; /* [fpn_dim] when fpn_with_ln */
    TslAfHead cls_head;
    TslAfHead reg_head;
    const float *reg_scale[TSL_ACTIONFORMER_MAX_LEVELS]; /* [1] Scale per level */
} TslAfParams;

/* Activations of one forward at padded length Tp (arena memory). */
typedef struct {
    int padded_len;                                 /* Tp */
    int level_len[TSL_ACTIONFORMER_MAX_LEVELS];     /* T_L */
    TslTensor input;                                /* [C_in, Tp], zero padded */
    TslTensor embd_out;                             /* [D, Tp] */
    TslTensor *stem_out;                            /* [n_stem_blocks] x [D, Tp] */
    TslTensor backbone_feats[TSL_ACTIONFORMER_MAX_LEVELS]; /* [D, T_L]; level 0 aliases */
    TslTensor fpn_feats[TSL_ACTIONFORMER_MAX_LEVELS];      /* [fpn_dim, T_L] */
    TslTensor cls_logits[TSL_ACTIONFORMER_MAX_LEVELS];     /* [K, T_L] */
    TslTensor reg_offsets[TSL_ACTIONFORMER_MAX_LEVELS];    /* [2, T_L] */
    TslTensor mask[TSL_ACTIONFORMER_MAX_LEVELS];           /* [T_L], 1 = valid */
    gboolean all_valid[TSL_ACTIONFORMER_MAX_LEVELS];      /* mask[L] is all 1: no padding */
    float *key_bias[TSL_ACTIONFORMER_MAX_LEVELS];  /* [T_L]: 0 valid, -inf padded */
    float *pe;              /* [D, Tp] masked position embedding, or NULL */

    /* scratch, reused by every block and level */
    float *tmp[7];          /* [D, Tp] each */
    float *hidden;          /* [4D, Tp] MLP hidden layer */
    float *hidden_act;      /* [4D, Tp] after GELU */
    float *att;             /* local [H, T_L, W] or global [H, T_L, T_L], largest block */
    float *scores;          /* [H, T_L, T_L] global attention scores, or NULL */
    int32_t *argmax;        /* [D, Tp / scale_factor] max-pool winners */
    float *mean, *rstd;     /* [Tp] LayerNorm statistics */
    float *head_tmp[3];     /* [max(fpn_dim, head_dim), Tp] each */
} TslAfActivations;

struct _TslActionFormer {
    TslBackend *be;
    TslActionFormerConfig cfg;
    GPtrArray *tensors;        /* loaded parameter tensors (owned) */
    TslAfParams params;
    float *pe_table;           /* [D, max_seq_len] host sinusoid table / sqrt(D), or NULL */

    TslArena arena;            /* activations */
    int reserved_len;          /* longest padded length arena and host buffers fit */
    TslAfActivations act;      /* of the last forward */
    gboolean have_forward;

    /* host staging and results, sized for reserved_len */
    float *host_input;         /* [C_in, Tp] */
    float *host_pe;            /* [D, Tp] */
    float *host_mask;          /* [sum of T_L] */
    float *host_key_bias;      /* [sum of T_L] */
    float *host_out;           /* per level [K, T_L] + [2, T_L] + [fpn_dim, T_L] */
};

/* ---- loading (model.c) ---- */

/* Tensor `name` of exactly this shape, uploaded to the model's backend. */
const float *tsl_actionformer_load_tensor (TslActionFormer *m, const TslSafetensors *st,
                                           const char *name, int ndim, const int *shape,
                                           GError **error);
/* `prefix`.weight and `prefix`.bias, both [1, C, 1]. */
gboolean tsl_actionformer_load_norm (TslActionFormer *m, const TslSafetensors *st,
                                     const char *prefix, int C, TslAfNorm *norm, GError **error);
/* `prefix`.weight [c_out, c_in_per_group, k] and, when with_bias, `prefix`.bias [c_out]. */
gboolean tsl_actionformer_load_conv (TslActionFormer *m, const TslSafetensors *st,
                                     const char *prefix, int c_out, int c_in_per_group, int k,
                                     gboolean with_bias, TslAfConv *conv, GError **error);

/* ---- backbone.c ---- */

gboolean tsl_actionformer_backbone_load (TslActionFormer *m, const TslSafetensors *st,
                                         GError **error);
/* input, masks, key biases and pe are in place; fills embd_out, stem_out
 * and backbone_feats. */
void tsl_actionformer_backbone_forward (TslActionFormer *m);

/* ---- heads.c ---- */

gboolean tsl_actionformer_heads_load (TslActionFormer *m, const TslSafetensors *st,
                                      GError **error);
/* backbone_feats -> fpn_feats, cls_logits, reg_offsets. */
void tsl_actionformer_heads_forward (TslActionFormer *m);

G_END_DECLS

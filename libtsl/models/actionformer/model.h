/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * model.h: the ActionFormer (LocPointTransformer) network in eval mode,
 * loaded from a safetensors file under the official state_dict names of
 * happyharrycn/actionformer_release (commit 61ea7eb9):
 *
 *   features [C_in, T] --pad--> embedding convs --> stem transformer blocks
 *   --> branch blocks (each downsamples by scale_factor) = backbone levels
 *   --> identity neck (LayerNorm per level) --> shared heads per level:
 *   class logits [K, T_L] and boundary offsets [2, T_L] (after Scale, ReLU).
 *
 * Everything is channels-first, batch one. Padding follows the official
 * eval rule (tsl_actionformer_config_padded_len) and padded positions are
 * computed exactly as the official code computes them (masked convolutions
 * zero their outputs, the LayerNorms after them turn those zeros into their
 * biases, and the next convolutions read those values).
 *
 * Supported: backbone convTransformer, neck identity with fpn_start_level 0,
 * local (odd or even window > 1) and global (window <= 1) attention,
 * absolute position embedding, AffineDropPath scales; relative position
 * encoding, the conv backbone and the fpn neck answer TSL_ERROR_UNSUPPORTED.
 *
 * Memory: parameters are loaded once; activations live in one arena sized
 * at load for max_seq_len and grown (once) when a longer input arrives or
 * tsl_actionformer_reserve asks for it. A forward allocates nothing else.
 */
#pragma once

#include "../../backend.h"
#include "../../io/safetensors.h"
#include "../../tensor.h"
#include "config.h"

G_BEGIN_DECLS

typedef struct _TslActionFormer TslActionFormer;

/* Results of one forward, host memory owned by the model and valid until
 * the next forward or tsl_actionformer_free. Level L has T_L = Tp /
 * scale_factor^L positions; masks are 1 for the ceil(T / stride_L) valid
 * positions; every array covers padded positions too. */
typedef struct {
    int n_levels;                                    /* pyramid levels with heads */
    int valid_len;                                   /* T */
    int padded_len;                                  /* Tp */
    int level_len[TSL_ACTIONFORMER_MAX_LEVELS];      /* T_L */
    const float *cls_logits[TSL_ACTIONFORMER_MAX_LEVELS];  /* [K, T_L], before sigmoid */
    const float *reg_offsets[TSL_ACTIONFORMER_MAX_LEVELS]; /* [2, T_L], stride units */
    const float *fpn_feats[TSL_ACTIONFORMER_MAX_LEVELS];   /* [fpn_dim, T_L] */
    const float *mask[TSL_ACTIONFORMER_MAX_LEVELS];        /* [T_L], 1 = valid */
} TslActionFormerOutput;

/* Device tensors of the last forward (see tsl_actionformer_activation). */
typedef enum {
    TSL_ACTIONFORMER_EMBD_OUT,       /* [D, Tp] input of the first stem block (after abs PE) */
    TSL_ACTIONFORMER_STEM_OUT,       /* [D, Tp] output of stem block `index` */
    TSL_ACTIONFORMER_BACKBONE_FEATS, /* [D, T_L] backbone level `index` */
    TSL_ACTIONFORMER_FPN_FEATS,      /* [fpn_dim, T_L] */
    TSL_ACTIONFORMER_CLS_LOGITS,     /* [K, T_L] */
    TSL_ACTIONFORMER_REG_OFFSETS,    /* [2, T_L] */
    TSL_ACTIONFORMER_MASK,           /* [T_L] */
} TslActionFormerActivation;

/* Loads a model whose configuration is the JSON of the file's `tsl.config`
 * metadata (see config.h). Missing tensors are TSL_ERROR_FORMAT, tensors
 * of the wrong shape TSL_ERROR_SHAPE (naming the tensor and both shapes). */
TslActionFormer *tsl_actionformer_new (TslBackend *be, const TslSafetensors *st, GError **error);
/* Same with a configuration given by the caller (the file's metadata is not read). */
TslActionFormer *tsl_actionformer_new_with_config (TslBackend *be, const TslSafetensors *st,
                                                   const TslActionFormerConfig *config,
                                                   GError **error);
void tsl_actionformer_free (TslActionFormer *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslActionFormer, tsl_actionformer_free)

const TslActionFormerConfig *tsl_actionformer_get_config (const TslActionFormer *m);

/* Sizes the activation arena and host buffers for inputs padded to at
 * most max_padded_len, so that later forwards allocate nothing. */
gboolean tsl_actionformer_reserve (TslActionFormer *m, int max_padded_len, GError **error);

/* Runs the network on T feature vectors. TSL_ERROR_SHAPE when T < 1 or
 * when the padded length exceeds max_seq_len * max_buffer_len_factor (the
 * official point generator's limit). */
gboolean tsl_actionformer_forward (TslActionFormer *m,
                                   const float *feats_host /* [C_in, T] */, int T,
                                   TslActionFormerOutput *out, GError **error);

/* The device tensor `which` (level or stem block `index`) of the last
 * forward; NULL before the first forward or for an index out of range. */
const TslTensor *tsl_actionformer_activation (const TslActionFormer *m,
                                              TslActionFormerActivation which, int index);

G_END_DECLS

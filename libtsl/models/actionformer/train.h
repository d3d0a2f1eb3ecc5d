/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train.h: ActionFormer in train mode: a batched forward that keeps every
 * activation its backward needs, the backward pass from the gradients of
 * the per-level outputs to the gradients of every parameter, and the
 * gradient buffers themselves, named as the official state_dict
 * (happyharrycn/actionformer_release 61ea7eb9).
 *
 * Train mode differs from eval (model.h) in three ways, as the official
 * PtTransformer.preprocessing and modules do:
 * - every video of a batch is padded to max_seq_len (longer videos are an
 *   error, as the official training asserts), with one mask per video;
 * - stochastic drop path (AffineDropPath in training, blocks.py drop_path):
 *   the caller passes which residual branches are kept per video (the
 *   random draw is the caller's, see train/droppath.h); a kept branch is
 *   scale * y / keep_prob, a dropped one 0, with keep_prob = 1 -
 *   train_cfg.droppath. Without that pattern AffineDropPath is scale * y,
 *   the official module with drop_prob 0. Dropout draws nothing
 *   (train_cfg.dropout is not read; its official default is 0);
 * - outputs are kept on the device for the losses ([B, K, T_L] logits and
 *   [B, 2, T_L] offsets, channels-first, 0 at padded positions).
 * Local (window > 1) and global (window <= 1, MaskedMHCA) attention both
 * train.
 *
 * Gradients: one device block holding every parameter's gradient in the
 * official parameter order; backward ADDS into it (zero it first with
 * tsl_actionformer_grads_zero). Upstream gradients are device tensors of
 * the outputs' shapes; values at padded positions are ignored (masked).
 */
#pragma once

#include "model.h"

G_BEGIN_DECLS

typedef struct _TslActionFormerGrads TslActionFormerGrads;
typedef struct _TslActionFormerTrain TslActionFormerTrain;

/* ---- parameters ---- */

/* What a parameter is, which decides its initial value and whether the
 * official optimiser decays it (convolution weights only). */
typedef enum {
    TSL_AF_PARAM_CONV_WEIGHT,     /* [C_out, C_in / groups, K] */
    TSL_AF_PARAM_CONV_BIAS,       /* [C_out] */
    TSL_AF_PARAM_NORM_WEIGHT,     /* [1, C, 1] LayerNorm gain */
    TSL_AF_PARAM_NORM_BIAS,       /* [1, C, 1] */
    TSL_AF_PARAM_SCALE,           /* [] Scale of a regression level */
    TSL_AF_PARAM_DROP_PATH_SCALE, /* [1, D, 1] AffineDropPath scale */
} TslActionFormerParamKind;

typedef struct {
    char *name;                 /* official state_dict name */
    TslActionFormerParamKind kind;
    int ndim;
    int shape[3];
} TslActionFormerParamSpec;

/* Every parameter a model of this configuration has, in the official
 * state_dict order (the order of the gradients): a GArray of
 * TslActionFormerParamSpec that frees the names with it. */
GArray *tsl_actionformer_param_specs (const TslActionFormerConfig *cfg);
/* The device buffers of m's parameters in the same order ([n], g_free the
 * array, not the buffers, which m owns). Writing them changes the model. */
float **tsl_actionformer_param_data (TslActionFormer *m, int *n);

/* ---- gradients ---- */

/* Device buffers for the gradient of every parameter of m (zeroed). */
TslActionFormerGrads *tsl_actionformer_grads_new (TslActionFormer *m, GError **error);
void tsl_actionformer_grads_free (TslActionFormerGrads *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslActionFormerGrads, tsl_actionformer_grads_free)

void tsl_actionformer_grads_zero (TslActionFormerGrads *g);
/* Number of parameter tensors, in the official state_dict order. */
int tsl_actionformer_grads_count (const TslActionFormerGrads *g);
/* Official name of parameter i ("backbone.stem.0.ln1.weight", ...). */
const char *tsl_actionformer_grads_name (const TslActionFormerGrads *g, int i);
/* Gradient tensor i (device memory borrowed from g, official shape). */
const TslTensor *tsl_actionformer_grads_tensor (const TslActionFormerGrads *g, int i);
/* Index of the parameter `name`, or -1. */
int tsl_actionformer_grads_find (const TslActionFormerGrads *g, const char *name);
/* The whole gradient block [n] in parameter order. */
float *tsl_actionformer_grads_data (const TslActionFormerGrads *g, size_t *n);

/* ---- train forward and backward ---- */

/* Saved-activation storage for batches of up to max_batch videos; borrows
 * m (free the trainer first). */
TslActionFormerTrain *tsl_actionformer_train_new (TslActionFormer *m, int max_batch,
                                                  GError **error);
void tsl_actionformer_train_free (TslActionFormerTrain *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslActionFormerTrain, tsl_actionformer_train_free)

/* Runs the network on B videos: video b is feats_host[b, :, :lengths[b]]
 * (the columns beyond lengths[b] are not read). 1 <= lengths[b] <=
 * max_seq_len, else TSL_ERROR_SHAPE.
 *
 * drop_keep (host, or NULL: nothing dropped, nothing rescaled):
 * drop_keep[(2 i + j) B + b] is 1 when the attention (j = 0) or MLP
 * (j = 1) branch of transformer block i (stem blocks first, then branch
 * blocks) is kept for video b and 0 when it is dropped; the forward order
 * of the official modules, which draw one value per video each. A kept
 * branch is multiplied by 1 / keep_prob rounded to float (the official
 * code divides by keep_prob: the two can differ in the last bit). Ignored
 * when train_cfg.droppath is 0 (the model has no AffineDropPath). */
gboolean tsl_actionformer_train_forward (TslActionFormerTrain *t,
                                         const float *feats_host /* [B, C_in, T_feats] */,
                                         int T_feats, const int *lengths /* [B] */, int B,
                                         const float *drop_keep /* [n_blocks, 2, B] or NULL */,
                                         GError **error);

/* Outputs and masks of the last train forward at pyramid level `level`:
 * T_L = max_seq_len / scale_factor^level positions; mask 1 = valid. */
typedef struct {
    int batch;                                          /* B */
    int n_levels;
    int level_len[TSL_ACTIONFORMER_MAX_LEVELS];         /* T_L */
    const float *cls_logits[TSL_ACTIONFORMER_MAX_LEVELS];  /* [B, K, T_L] device */
    const float *reg_offsets[TSL_ACTIONFORMER_MAX_LEVELS]; /* [B, 2, T_L] device */
    const float *mask[TSL_ACTIONFORMER_MAX_LEVELS];        /* [B, T_L] device */
} TslActionFormerTrainOutput;

void tsl_actionformer_train_output (const TslActionFormerTrain *t,
                                    TslActionFormerTrainOutput *out);

/* Adds d(loss)/d(parameter) to grads, given d(loss)/d(cls_logits.L) and
 * d(loss)/d(reg_offsets.L) of the last train forward (device, per level
 * [B, K, T_L] and [B, 2, T_L]). */
gboolean tsl_actionformer_backward (TslActionFormerTrain *t,
                                    const float *const *dcls_logits,
                                    const float *const *dreg_offsets,
                                    TslActionFormerGrads *grads, GError **error);

G_END_DECLS

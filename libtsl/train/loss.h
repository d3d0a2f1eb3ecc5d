/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/loss.h: ActionFormer's training losses and their gradients, as the
 * official `losses` of happyharrycn/actionformer_release (commit 61ea7eb9,
 * libs/modeling/meta_archs.py, with sigmoid_focal_loss and
 * ctr_diou_loss_1d of libs/modeling/losses.py) computes them for a batch:
 *
 *   valid     = the level masks concatenated (point i of level L is valid
 *               when i * stride_L < length of its video)
 *   positive  = valid and the point's class row sums to more than 0
 *   num_pos   = number of positive points (a multi-label point counts once)
 *   normaliser <- 0.9 normaliser + (1 - 0.9) max(num_pos, 1)   (double,
 *               updated BEFORE it is used, starting at init_loss_norm)
 *   targets   = gt_cls (1 - ls) + ls / (K + 1)      (label smoothing ls)
 *   cls_loss  = sum over valid points and classes of the focal loss
 *               (alpha 0.25, gamma 2) of the logits, / normaliser
 *   reg_loss  = sum over positive points of the DIoU loss (eps 1e-8) of the
 *               predicted offsets against gt_offsets, / normaliser
 *               (both in stride units: the official code compares them
 *               directly, nothing is decoded)
 *   final     = cls_loss + w reg_loss, w = loss_weight when it is > 0, else
 *               the official automatic balance w = cls_loss / max(reg_loss,
 *               0.01), held constant for the gradient.
 * The scalar arithmetic after the sums is float32 as PyTorch does it (the
 * normaliser and the Python scalars are rounded to float32 where they meet
 * a float32 tensor).
 *
 * Layout: the network outputs stay as the heads write them, per level L,
 * channels-first: cls_logits[L] [B, K, T_L], reg_offsets[L] [B, 2, T_L]
 * (row 0 = distance to the start, row 1 = to the end, stride units), device
 * memory of the backend. Targets are host arrays in the point table's row
 * order (tsl_train_assign per video): gt_cls [B, FT, K], gt_offsets
 * [B, FT, 2]; they are uploaded.
 *
 * The heavy parts run on the backend's op table: the focal loss per level
 * over the [B, K, T_L] logits as they are (targets and valid mask are laid
 * out the same way on the host), the DIoU loss over [B, FT, 2] offsets
 * that a gemm with a 2 x 2 identity transposes from the level tensors (one
 * product by 1 plus one by 0 per value: exact).
 *
 * Gradients: tsl_train_loss_backward ADDS d final / d cls_logits and
 * d final / d reg_offsets into the caller's per-level buffers (the caller
 * zeroes them); padded points get nothing.
 */
#pragma once

#include <glib.h>

#include "../backend.h"
#include "points.h"

G_BEGIN_DECLS

#define TSL_TRAIN_FOCAL_ALPHA 0.25f
#define TSL_TRAIN_FOCAL_GAMMA 2.0f
#define TSL_TRAIN_DIOU_EPS 1e-8f
#define TSL_TRAIN_NORMALIZER_MOMENTUM 0.9

/* The official train_cfg values that the losses use. */
typedef struct {
    int num_classes;        /* K */
    double label_smoothing; /* ls >= 0 */
    double loss_weight;     /* w of the regression loss; <= 0: automatic balance */
    double init_loss_norm;  /* the normaliser before the first batch */
} TslTrainLossConfig;

/* Official defaults for K classes: label_smoothing 0, loss_weight 1,
 * init_loss_norm 2000. */
void tsl_train_loss_config_init (TslTrainLossConfig *cfg, int num_classes);

/* What one forward returns. */
typedef struct {
    float cls_loss;
    float reg_loss;
    float final_loss;
    float reg_weight;  /* w used in final_loss */
    int num_pos;
    double normalizer; /* the normaliser the losses were divided by */
} TslTrainLossValues;

typedef struct _TslTrainLoss TslTrainLoss;

/* Staging buffers for batches of up to max_batch videos padded to the
 * table's length (device and host memory, allocated here once). The
 * normaliser starts at cfg->init_loss_norm. TSL_ERROR_CONFIG for K < 1,
 * label smoothing < 0, a normaliser that is not positive or a loss weight
 * that is not finite. */
TslTrainLoss *tsl_train_loss_new (TslBackend *be, const TslTrainPoints *pts,
                                  const TslTrainLossConfig *cfg, int max_batch, GError **error);
void tsl_train_loss_free (TslTrainLoss *loss);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslTrainLoss, tsl_train_loss_free)

/* The normaliser state (the official model's loss_normalizer attribute),
 * to save with a checkpoint and to restore. */
double tsl_train_loss_get_normalizer (const TslTrainLoss *loss);
void tsl_train_loss_set_normalizer (TslTrainLoss *loss, double normalizer);

/* Updates the normaliser, computes the losses of a batch of B videos of
 * the given lengths (1 .. padded length) and keeps the uploaded targets
 * for tsl_train_loss_backward. TSL_ERROR_SHAPE for B outside
 * 1 .. max_batch or a length outside 1 .. Tp; the backend's sticky error
 * if an op failed. */
gboolean tsl_train_loss_forward (TslTrainLoss *loss, TslTrainLossValues *values,
                                 const float *const *cls_logits /* [L] x [B, K, T_L] */,
                                 const float *const *reg_offsets /* [L] x [B, 2, T_L] */,
                                 const int *lengths /* [B] */,
                                 const float *gt_cls /* [B, FT, K], host */,
                                 const float *gt_offsets /* [B, FT, 2], host */, int B,
                                 GError **error);

/* d final_loss (of the last forward) with respect to the same inputs,
 * added into dcls_logits and dreg_offsets (either may be NULL to skip). */
void tsl_train_loss_backward (TslTrainLoss *loss,
                              float *const *dcls_logits /* [L] x [B, K, T_L] or NULL */,
                              float *const *dreg_offsets /* [L] x [B, 2, T_L] or NULL */,
                              const float *const *cls_logits /* [L] x [B, K, T_L] */,
                              const float *const *reg_offsets /* [L] x [B, 2, T_L] */);

G_END_DECLS

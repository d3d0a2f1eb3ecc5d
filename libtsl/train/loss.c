/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/loss.c: ActionFormer's training losses and gradients; the formulas,
 * the reference and the layouts are in loss.h.
 *
 * Forward: (host) valid mask, positives and num_pos, the normaliser update,
 * targets with label smoothing laid out per level as the logits are
 * ([B, K, T_L], with a per-class copy of each point's valid flag); (backend)
 * the focal loss of each level into sums[L], the level offsets transposed
 * to [B, FT, 2], the DIoU loss of the positives into sums[L]; (host) the
 * float32 scalar arithmetic of the official code on the downloaded sums.
 * Backward runs the op backward of each part with the derivative of
 * final_loss with respect to that sum, and transposes the offset gradient
 * back into the level buffers (gemm with beta 1: an exact add).
 */
#include "loss.h"

#include <math.h>

#include "../error.h"
#include "../ops.h"

/* GCC fuses a * b + c across statements when the target has FMA; the
 * reference rounds every product first (normaliser update, smoothing). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

struct _TslTrainLoss {
    TslBackend *be;
    TslTrainPoints layout;  /* level sizes of the point table (rows not kept) */
    TslTrainLossConfig cfg;
    int max_batch;
    double normalizer;      /* the EMA state */

    /* backend memory, sized for max_batch; per-level blocks start at
     * B * K * level_start[L] */
    float *targets;         /* per level [B, K, T_L] smoothed class targets */
    float *valid_cls;       /* per level [B, K, T_L] valid flag of the point */
    float *positive;        /* [B, FT] 1 = positive point */
    float *gt_offsets;      /* [B, FT, 2] */
    float *pred;            /* [B, FT, 2] predicted offsets, point-major */
    float *dpred;           /* [B, FT, 2] */
    float *identity;        /* [2, 2] */
    float *sums;            /* [L + 1]: focal sum of each level, DIoU sum */

    /* host staging, same layouts */
    float *host_targets;
    float *host_valid_cls;
    float *host_positive;
    float *host_valid;      /* [FT] one video */
    float *host_sums;       /* [L + 1] */

    /* what backward needs from the last forward */
    int batch;
    int num_pos;
    float dcls_sum;         /* d final_loss / d focal sum */
    float dreg_sum;         /* d final_loss / d DIoU sum */
};

void
tsl_train_loss_config_init (TslTrainLossConfig *cfg, int num_classes)
{
    cfg->num_classes = num_classes;
    cfg->label_smoothing = 0.0;
    cfg->loss_weight = 1.0;
    cfg->init_loss_norm = 2000.0;
}

static float *
alloc_floats (TslBackend *be, size_t n, GError **error)
{
    return tsl_backend_alloc (be, n * sizeof (float), error);
}

TslTrainLoss *
tsl_train_loss_new (TslBackend *be, const TslTrainPoints *pts, const TslTrainLossConfig *cfg,
                    int max_batch, GError **error)
{
    static const float identity[4] = { 1.0f, 0.0f, 0.0f, 1.0f };
    const int K = cfg->num_classes, L = pts->n_levels;
    g_autoptr (TslTrainLoss) loss = NULL;

    g_return_val_if_fail (max_batch >= 1, NULL);
    if (K < 1 || !(cfg->label_smoothing >= 0.0) || !(cfg->init_loss_norm > 0.0)
        || !isfinite (cfg->loss_weight)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "training losses: num_classes %d, label_smoothing %g, init_loss_norm %g, "
                     "loss_weight %g (need K >= 1, smoothing >= 0, a positive normaliser, a "
                     "finite weight)", K, cfg->label_smoothing, cfg->init_loss_norm,
                     cfg->loss_weight);
        return NULL;
    }
    loss = g_new0 (TslTrainLoss, 1);
    loss->be = be;
    loss->layout = *pts;
    loss->layout.rows = NULL;
    loss->cfg = *cfg;
    loss->max_batch = max_batch;
    loss->normalizer = cfg->init_loss_norm;

    const size_t n_cls = (size_t) max_batch * pts->n_points * K;
    const size_t n_pts = (size_t) max_batch * pts->n_points;
    if (!(loss->targets = alloc_floats (be, n_cls, error))
        || !(loss->valid_cls = alloc_floats (be, n_cls, error))
        || !(loss->positive = alloc_floats (be, n_pts, error))
        || !(loss->gt_offsets = alloc_floats (be, 2 * n_pts, error))
        || !(loss->pred = alloc_floats (be, 2 * n_pts, error))
        || !(loss->dpred = alloc_floats (be, 2 * n_pts, error))
        || !(loss->identity = alloc_floats (be, 4, error))
        || !(loss->sums = alloc_floats (be, L + 1, error)))
        return NULL;
    tsl_backend_upload (be, loss->identity, identity, sizeof identity);
    loss->host_targets = g_new (float, n_cls);
    loss->host_valid_cls = g_new (float, n_cls);
    loss->host_positive = g_new (float, n_pts);
    loss->host_valid = g_new (float, pts->n_points);
    loss->host_sums = g_new (float, L + 1);
    return g_steal_pointer (&loss);
}

void
tsl_train_loss_free (TslTrainLoss *loss)
{
    if (loss == NULL)
        return;
    tsl_backend_free_memory (loss->be, loss->targets);
    tsl_backend_free_memory (loss->be, loss->valid_cls);
    tsl_backend_free_memory (loss->be, loss->positive);
    tsl_backend_free_memory (loss->be, loss->gt_offsets);
    tsl_backend_free_memory (loss->be, loss->pred);
    tsl_backend_free_memory (loss->be, loss->dpred);
    tsl_backend_free_memory (loss->be, loss->identity);
    tsl_backend_free_memory (loss->be, loss->sums);
    g_free (loss->host_targets);
    g_free (loss->host_valid_cls);
    g_free (loss->host_positive);
    g_free (loss->host_valid);
    g_free (loss->host_sums);
    g_free (loss);
}

double
tsl_train_loss_get_normalizer (const TslTrainLoss *loss)
{
    return loss->normalizer;
}

void
tsl_train_loss_set_normalizer (TslTrainLoss *loss, double normalizer)
{
    loss->normalizer = normalizer;
}

/* Host pass over the batch: valid flags, positives and the smoothed
 * targets in the per-level [B, K, T_L] layout. Returns num_pos. */
static int
stage_targets (TslTrainLoss *loss, const int *lengths, const float *gt_cls, int B)
{
    const TslTrainPoints *pts = &loss->layout;
    const int K = loss->cfg.num_classes, FT = pts->n_points;
    const double ls = loss->cfg.label_smoothing;
    /* gt *= 1 - ls; gt += ls / (K + 1): Python doubles, rounded to float32 */
    const float keep = (float) (1.0 - ls);
    const float add = (float) (ls / (K + 1));
    int num_pos = 0;

    for (int b = 0; b < B; b++) {
        tsl_train_points_valid_mask (pts, lengths[b], loss->host_valid);
        for (int level = 0; level < pts->n_levels; level++) {
            const int T_L = pts->level_len[level], start = pts->level_start[level];
            /* [K, T_L] block of video b in level L */
            const size_t block = (size_t) B * K * start + (size_t) b * K * T_L;

            for (int i = 0; i < T_L; i++) {
                const int point = start + i;
                const float *cls_p = gt_cls + ((size_t) b * FT + point) * K; /* [K] */
                const float valid = loss->host_valid[point];
                float row_sum = 0.0f;

                for (int k = 0; k < K; k++) {
                    float target = cls_p[k] * keep;
                    target = target + add;
                    loss->host_targets[block + (size_t) k * T_L + i] = target;
                    loss->host_valid_cls[block + (size_t) k * T_L + i] = valid;
                    row_sum += cls_p[k];
                }
                const gboolean positive = valid != 0.0f && row_sum > 0.0f;
                loss->host_positive[(size_t) b * FT + point] = positive ? 1.0f : 0.0f;
                num_pos += positive;
            }
        }
    }
    return num_pos;
}

/* pred [B, FT, 2] <- the level offsets [B, 2, T_L], transposed */
static void
gather_offsets (TslTrainLoss *loss, const float *const *reg_offsets, int B)
{
    const TslTrainPoints *pts = &loss->layout;
    const size_t FT = pts->n_points;

    for (int level = 0; level < pts->n_levels; level++) {
        const int T_L = pts->level_len[level];
        loss->be->ops->gemm (loss->be, loss->pred + 2 * (size_t) pts->level_start[level],
                             reg_offsets[level], loss->identity, B, T_L, 2, 2, TRUE, FALSE,
                             1.0f, 0.0f, 2 * (size_t) T_L, 0, 2 * FT);
    }
}

gboolean
tsl_train_loss_forward (TslTrainLoss *loss, TslTrainLossValues *values,
                        const float *const *cls_logits, const float *const *reg_offsets,
                        const int *lengths, const float *gt_cls, const float *gt_offsets, int B,
                        GError **error)
{
    TslBackend *be = loss->be;
    const TslTrainPoints *pts = &loss->layout;
    const int K = loss->cfg.num_classes, L = pts->n_levels;
    const size_t n_cls = (size_t) B * K * pts->n_points, n_pts = (size_t) B * pts->n_points;

    if (B < 1 || B > loss->max_batch) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "training losses: batch of %d videos, 1 to %d are accepted", B,
                     loss->max_batch);
        return FALSE;
    }
    for (int b = 0; b < B; b++) {
        if (lengths[b] < 1 || lengths[b] > pts->padded_len) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                         "training losses: video %d has length %d, 1 to the padded length %d "
                         "are accepted", b, lengths[b], pts->padded_len);
            return FALSE;
        }
    }

    /* host: targets, positives, and the normaliser, updated before use */
    const int num_pos = stage_targets (loss, lengths, gt_cls, B);
    const double momentum = TSL_TRAIN_NORMALIZER_MOMENTUM;
    loss->normalizer = momentum * loss->normalizer + (1.0 - momentum) * MAX (num_pos, 1);

    tsl_backend_upload (be, loss->targets, loss->host_targets, n_cls * sizeof (float));
    tsl_backend_upload (be, loss->valid_cls, loss->host_valid_cls, n_cls * sizeof (float));
    tsl_backend_upload (be, loss->positive, loss->host_positive, n_pts * sizeof (float));
    tsl_backend_upload (be, loss->gt_offsets, gt_offsets, 2 * n_pts * sizeof (float));

    /* backend: the focal loss per level on the logits as they lie, the
     * DIoU loss on the positives */
    for (int level = 0; level < L; level++) {
        const size_t block = (size_t) B * K * pts->level_start[level];
        be->ops->focal_loss (be, loss->sums + level, cls_logits[level], loss->targets + block,
                             loss->valid_cls + block, B * K * pts->level_len[level], 1,
                             TSL_TRAIN_FOCAL_ALPHA, TSL_TRAIN_FOCAL_GAMMA);
    }
    gather_offsets (loss, reg_offsets, B);
    be->ops->diou_loss (be, loss->sums + L, loss->pred, loss->gt_offsets, loss->positive,
                        (int) n_pts, TSL_TRAIN_DIOU_EPS);
    tsl_backend_download (be, loss->host_sums, loss->sums, (L + 1) * sizeof (float));
    if (!tsl_backend_synchronize (be, error))
        return FALSE;

    /* host: the official float32 scalar arithmetic */
    double focal_sum = 0.0;
    for (int level = 0; level < L; level++)
        focal_sum += loss->host_sums[level];
    const float normalizer = (float) loss->normalizer;
    const float cls_loss = (float) focal_sum / normalizer;
    /* without positives the official reg_loss is 0 * sum(), not divided */
    const float reg_loss = num_pos > 0 ? loss->host_sums[L] / normalizer : 0.0f;
    float weight;
    if (loss->cfg.loss_weight > 0.0)
        weight = (float) loss->cfg.loss_weight;
    else
        weight = cls_loss / (float) MAX ((double) reg_loss, 0.01);
    const float weighted = reg_loss * weight;

    values->cls_loss = cls_loss;
    values->reg_loss = reg_loss;
    values->final_loss = cls_loss + weighted;
    values->reg_weight = weight;
    values->num_pos = num_pos;
    values->normalizer = loss->normalizer;

    loss->batch = B;
    loss->num_pos = num_pos;
    loss->dcls_sum = 1.0f / normalizer;
    loss->dreg_sum = weight / normalizer;
    return TRUE;
}

void
tsl_train_loss_backward (TslTrainLoss *loss, float *const *dcls_logits,
                         float *const *dreg_offsets, const float *const *cls_logits,
                         const float *const *reg_offsets)
{
    TslBackend *be = loss->be;
    const TslTrainPoints *pts = &loss->layout;
    const int K = loss->cfg.num_classes, B = loss->batch;
    const size_t FT = pts->n_points, n_pts = (size_t) B * FT;

    g_return_if_fail (B >= 1);
    if (dcls_logits != NULL) {
        for (int level = 0; level < pts->n_levels; level++) {
            const size_t block = (size_t) B * K * pts->level_start[level];
            be->ops->focal_loss_backward (be, dcls_logits[level], cls_logits[level],
                                          loss->targets + block, loss->valid_cls + block,
                                          B * K * pts->level_len[level], 1,
                                          TSL_TRAIN_FOCAL_ALPHA, TSL_TRAIN_FOCAL_GAMMA,
                                          loss->dcls_sum);
        }
    }
    /* without positives reg_loss does not depend on the offsets */
    if (dreg_offsets == NULL || loss->num_pos == 0)
        return;
    gather_offsets (loss, reg_offsets, B);
    tsl_backend_zero (be, loss->dpred, 2 * n_pts * sizeof (float));
    be->ops->diou_loss_backward (be, loss->dpred, loss->pred, loss->gt_offsets, loss->positive,
                                 (int) n_pts, TSL_TRAIN_DIOU_EPS, loss->dreg_sum);
    /* dreg_offsets[L] [B, 2, T_L] += dpred rows of level L, transposed */
    for (int level = 0; level < pts->n_levels; level++) {
        const int T_L = pts->level_len[level];
        be->ops->gemm (be, dreg_offsets[level], loss->identity,
                       loss->dpred + 2 * (size_t) pts->level_start[level], B, 2, T_L, 2, FALSE,
                       TRUE, 1.0f, 1.0f, 0, 2 * FT, 2 * (size_t) T_L);
    }
}

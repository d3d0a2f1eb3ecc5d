/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/trainer.h: ActionFormer training, one optimiser iteration at a
 * time, as the official trainer does it (happyharrycn/actionformer_release,
 * commit 61ea7eb9, libs/utils/train_utils.py make_optimizer,
 * train_one_epoch and ModelEma):
 *
 *   crop every video (crop.h) -> pad to max_seq_len -> targets (assign.h)
 *   -> drop-path draws (droppath.h; when train_cfg.droppath > 0)
 *   -> zero gradients -> train forward -> losses (loss.h) -> backward
 *   -> clip_grad_norm_ when clip_grad_l2norm > 0: total = sqrt (sum of the
 *      per-tensor norms squared), every gradient multiplied by
 *      min (max_norm / (total + 1e-6), 1)
 *   -> AdamW step at the schedule's rate (schedule.h; the first step has
 *      rate warmup_start_lr = 0), weight decay on convolution weights only
 *      (the official groups: Conv1d / Linear weights decay; biases,
 *      LayerNorm parameters, Scale and AffineDropPath scales do not)
 *   -> EMA of every parameter (decay 0.999, starting from the initial
 *      weights) -> scheduler step.
 *
 * Initial weights follow the official constructors: convolution weights
 * uniform in [-1 / sqrt (fan_in), 1 / sqrt (fan_in)] (PyTorch's default),
 * biases 0 except the class head's output bias -log ((1 - p) / p) with p =
 * cls_prior_prob, LayerNorm gains 1, Scale 1, AffineDropPath scales 1e-4.
 * They are drawn from the trainer's generator, so a seed fixes them.
 *
 * One generator (crop.h) drives, in this order per iteration, the crops
 * of the batch's videos and the drop-path draws; per epoch, the shuffle.
 *
 * Everything that decides the rest of a run (weights, EMA, AdamW moments,
 * step count, schedule position, loss normaliser, generator) is in the
 * checkpoint (checkpoint.h), so a resumed run ends with the same weights
 * as an uninterrupted one.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "../backend.h"
#include "../io/safetensors.h"
#include "../models/actionformer/config.h"
#include "assign.h"
#include "crop.h"
#include "loss.h"
#include "schedule.h"

G_BEGIN_DECLS

#define TSL_TRAINER_EMA_DECAY 0.999
#define TSL_TRAINER_DROP_PATH_INIT 1e-4

/* The official configuration sections a run needs (libs/core/config.py
 * names and defaults). */
typedef struct {
    TslActionFormerConfig model;   /* dataset, model, train_cfg.droppath, test_cfg */
    /* dataset */
    char *train_split;             /* dataset.train_split[0], "train" by default */
    double trunc_thresh;           /* 0.5 */
    gboolean use_crop_ratio;       /* dataset.crop_ratio given (null by default) */
    double crop_ratio[2];
    int downsample_rate;           /* 1 */
    gboolean force_upsampling;     /* FALSE */
    /* opt */
    double learning_rate;          /* 1e-3 */
    double weight_decay;           /* 0.0 */
    int epochs;                    /* 30 */
    int warmup_epochs;             /* 5 (warmup must be on) */
    TslScheduleType schedule_type; /* "cosine" or "multistep" */
    int n_schedule_steps;
    int schedule_steps[TSL_SCHEDULE_MAX_MILESTONES];
    double schedule_gamma;         /* 0.1 */
    /* loader */
    int batch_size;                /* 8 */
    /* train_cfg */
    double clip_grad_l2norm;       /* -1: no clipping */
    double cls_prior_prob;         /* 0.01 */
    gboolean stochastic_drop_path; /* TRUE: AffineDropPath drops branches with probability
                                    * train_cfg.droppath, as official training does; FALSE
                                    * trains the scales without dropping (the official
                                    * modules with drop_prob set to 0) */
    TslTrainAssignConfig assign;
    TslTrainLossConfig loss;
} TslTrainerConfig;

/* Parses the official sections of `json` (NUL-terminated): the model part
 * with tsl_actionformer_config_parse, the rest here, omitted keys taking
 * the official defaults. TSL_ERROR_CONFIG naming the key ("opt.epochs") for
 * a wrong type or an unsupported value. */
gboolean tsl_trainer_config_parse (TslTrainerConfig *cfg, const char *json, GError **error);
void tsl_trainer_config_clear (TslTrainerConfig *cfg);

typedef struct _TslTrainer TslTrainer;

/* What one iteration returns. */
typedef struct {
    TslTrainLossValues loss;
    double lr;         /* the rate the AdamW step used */
    double grad_norm;  /* total gradient norm before clipping */
} TslTrainerStep;

/* A model and its optimiser for iters_per_epoch iterations per epoch.
 * The weights are read from `initial` (a model file of cfg's shapes) or,
 * when it is NULL, drawn from `seed` (which also drives shuffling, crops
 * and drop path). config_json is the text cfg came from, kept in
 * checkpoints and model files. */
TslTrainer *tsl_trainer_new (TslBackend *be, const TslTrainerConfig *cfg, const char *config_json,
                             const TslSafetensors *initial, int64_t iters_per_epoch,
                             guint64 seed, GError **error);
void tsl_trainer_free (TslTrainer *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslTrainer, tsl_trainer_free)

/* Optimiser steps taken so far. */
int64_t tsl_trainer_iteration (const TslTrainer *t);

/* A uniform random permutation of 0 .. n - 1 from the trainer's generator
 * (the epoch's sample order). */
void tsl_trainer_shuffle (TslTrainer *t, guint *order /* [n] */, guint n);

/* One iteration on n = batch_size videos (cropped copies are used; the
 * samples are not changed). */
gboolean tsl_trainer_step (TslTrainer *t, const TslTrainSample *const *samples, int n,
                           TslTrainerStep *result, GError **error);

/* The whole state, with `epoch` epochs completed, to a checkpoint file. */
gboolean tsl_trainer_save_checkpoint (TslTrainer *t, const char *path, int64_t epoch,
                                      GError **error);
/* Restores a checkpoint written by a trainer of the same configuration
 * text (TSL_ERROR_CONFIG otherwise); *epoch = epochs completed. */
gboolean tsl_trainer_load_checkpoint (TslTrainer *t, const char *path, int64_t *epoch,
                                      GError **error);

/* The EMA weights as a model file: official tensor names, tsl.model
 * "actionformer", tsl.config (the configuration text) and tsl.labels
 * (labels_json, a JSON array of class names). */
gboolean tsl_trainer_save_model (TslTrainer *t, const char *path, const char *labels_json,
                                 GError **error);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/schedule.h: the learning rate of every training iteration, as the
 * official ActionFormer schedulers give it (happyharrycn/actionformer_release,
 * commit 61ea7eb9, libs/utils/lr_schedulers.py LinearWarmupCosineAnnealingLR
 * and LinearWarmupMultiStepLR, built by libs/utils/train_utils.py
 * make_scheduler with warmup on).
 *
 * The official schedulers are "chainable": each step derives the new rate
 * from the previous one, so rounding accumulates along the run. This module
 * repeats the same recursion in double precision with the same operation
 * order, so every rate is the official value bit for bit (the closed form
 * would differ in the last bits). Steps are counted as the official
 * scheduler's last_epoch: step 0 is the rate before the first optimiser
 * step (warmup_start_lr, 0 by default), and the trainer calls
 * tsl_schedule_step after each optimiser step.
 *
 * Cosine, for step e with warmup W and total M steps (W, M in iterations):
 *   e == 0:          warmup_start_lr
 *   0 < e < W:       lr + (base_lr - warmup_start_lr) / (W - 1)
 *   e == W:          base_lr
 *   (e - 1 - M) % (2 (M - W)) == 0:
 *                    lr + (base_lr - eta_min) (1 - cos (pi / (M - W))) / 2
 *   otherwise:       (1 + cos (pi (e - W) / (M - W)))
 *                    / (1 + cos (pi (e - W - 1) / (M - W))) (lr - eta_min) + eta_min
 * Multistep: the same warmup, then the rate is multiplied by
 * gamma ^ (number of milestones equal to e - W) at each such step.
 *
 * make_scheduler's numbers: W = warmup_epochs * iters_per_epoch, M =
 * (epochs + warmup_epochs) * iters_per_epoch, milestones = schedule_steps *
 * iters_per_epoch, eta_min 1e-8 (the scheduler's default; make_scheduler
 * does not pass one), warmup_start_lr 0.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "../error.h"

G_BEGIN_DECLS

#define TSL_SCHEDULE_MAX_MILESTONES 16
#define TSL_SCHEDULE_DEFAULT_ETA_MIN 1e-8

typedef enum {
    TSL_SCHEDULE_COSINE,
    TSL_SCHEDULE_MULTISTEP,
} TslScheduleType;

typedef struct {
    TslScheduleType type;
    double base_lr;
    double warmup_start_lr;
    double eta_min;       /* cosine only */
    double gamma;         /* multistep only */
    int64_t warmup_steps; /* W >= 1 */
    int64_t max_steps;    /* M > W (cosine only) */
    int n_milestones;     /* multistep only; steps counted after warmup, any order */
    int64_t milestones[TSL_SCHEDULE_MAX_MILESTONES];
} TslScheduleConfig;

typedef struct {
    TslScheduleConfig config;
    int64_t step; /* scheduler steps taken (the official last_epoch) */
    double lr;    /* rate for the next optimiser step */
} TslSchedule;

/* The configuration make_scheduler builds from the "opt" section (warmup
 * on). schedule_steps (epochs after warmup) and gamma only for multistep. */
gboolean tsl_schedule_config_from_epochs (TslScheduleConfig *config, TslScheduleType type,
                                          double learning_rate, int epochs, int warmup_epochs,
                                          int64_t iters_per_epoch, const int *schedule_steps,
                                          int n_schedule_steps, double gamma, GError **error);

/* Checks the configuration (TSL_ERROR_CONFIG naming the field) and sets
 * step 0. */
gboolean tsl_schedule_init (TslSchedule *schedule, const TslScheduleConfig *config,
                            GError **error);
/* One scheduler step: step + 1 and its rate. */
void tsl_schedule_step (TslSchedule *schedule);
/* Replays the recursion from step 0 to `step` (used when resuming). */
void tsl_schedule_seek (TslSchedule *schedule, int64_t step);

G_END_DECLS

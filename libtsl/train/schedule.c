/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/schedule.c: the official chainable warmup + cosine / multistep
 * learning-rate recursion (see schedule.h), in double precision with the
 * official operation order.
 */
#include "schedule.h"

#include <math.h>

gboolean
tsl_schedule_config_from_epochs (TslScheduleConfig *config, TslScheduleType type,
                                 double learning_rate, int epochs, int warmup_epochs,
                                 int64_t iters_per_epoch, const int *schedule_steps,
                                 int n_schedule_steps, double gamma, GError **error)
{
    if (n_schedule_steps < 0 || n_schedule_steps > TSL_SCHEDULE_MAX_MILESTONES) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "opt.schedule_steps: %d entries, at most %d are supported",
                     n_schedule_steps, TSL_SCHEDULE_MAX_MILESTONES);
        return FALSE;
    }
    *config = (TslScheduleConfig) {
        .type = type,
        .base_lr = learning_rate,
        .warmup_start_lr = 0.0,
        .eta_min = TSL_SCHEDULE_DEFAULT_ETA_MIN,
        .gamma = gamma,
        .warmup_steps = (int64_t) warmup_epochs * iters_per_epoch,
        .max_steps = ((int64_t) epochs + warmup_epochs) * iters_per_epoch,
        .n_milestones = type == TSL_SCHEDULE_MULTISTEP ? n_schedule_steps : 0,
    };
    for (int i = 0; i < config->n_milestones; i++)
        config->milestones[i] = (int64_t) schedule_steps[i] * iters_per_epoch;
    TslSchedule probe;
    return tsl_schedule_init (&probe, config, error);
}

gboolean
tsl_schedule_init (TslSchedule *schedule, const TslScheduleConfig *config, GError **error)
{
    if (!(config->base_lr >= 0.0) || !isfinite (config->base_lr)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "opt.learning_rate: %g is not a finite non-negative rate", config->base_lr);
        return FALSE;
    }
    if (config->warmup_steps < 1) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "opt.warmup_epochs: gives %" G_GINT64_FORMAT " warmup iterations, "
                     "at least 1 is needed", config->warmup_steps);
        return FALSE;
    }
    if (config->type == TSL_SCHEDULE_COSINE && config->max_steps <= config->warmup_steps) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "opt.epochs: gives %" G_GINT64_FORMAT " iterations in all, more than the "
                     "%" G_GINT64_FORMAT " warmup iterations are needed",
                     config->max_steps, config->warmup_steps);
        return FALSE;
    }
    if (config->n_milestones < 0 || config->n_milestones > TSL_SCHEDULE_MAX_MILESTONES) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "opt.schedule_steps: %d entries, at most %d are supported",
                     config->n_milestones, TSL_SCHEDULE_MAX_MILESTONES);
        return FALSE;
    }
    schedule->config = *config;
    schedule->step = 0;
    schedule->lr = config->warmup_start_lr;
    return TRUE;
}

static double
cosine_next (const TslScheduleConfig *c, int64_t e, double lr)
{
    int64_t w = c->warmup_steps, m = c->max_steps;
    if ((e - 1 - m) % (2 * (m - w)) == 0)
        return lr + (c->base_lr - c->eta_min) * (1.0 - cos (M_PI / (double) (m - w))) / 2.0;
    return (1.0 + cos (M_PI * (double) (e - w) / (double) (m - w)))
           / (1.0 + cos (M_PI * (double) (e - w - 1) / (double) (m - w)))
           * (lr - c->eta_min) + c->eta_min;
}

static double
multistep_next (const TslScheduleConfig *c, int64_t e, double lr)
{
    int count = 0;
    for (int i = 0; i < c->n_milestones; i++)
        count += c->milestones[i] == e - c->warmup_steps;
    return count == 0 ? lr : lr * pow (c->gamma, count);
}

void
tsl_schedule_step (TslSchedule *schedule)
{
    const TslScheduleConfig *c = &schedule->config;
    int64_t e = ++schedule->step;
    if (e < c->warmup_steps)
        schedule->lr += (c->base_lr - c->warmup_start_lr) / (double) (c->warmup_steps - 1);
    else if (e == c->warmup_steps)
        schedule->lr = c->base_lr;
    else if (c->type == TSL_SCHEDULE_COSINE)
        schedule->lr = cosine_next (c, e, schedule->lr);
    else
        schedule->lr = multistep_next (c, e, schedule->lr);
}

void
tsl_schedule_seek (TslSchedule *schedule, int64_t step)
{
    schedule->step = 0;
    schedule->lr = schedule->config.warmup_start_lr;
    while (schedule->step < step)
        tsl_schedule_step (schedule);
}

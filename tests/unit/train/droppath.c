/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * droppath.c: stochastic drop path in training (train/droppath.h and its
 * use by train/trainer.h):
 *   - rule: for drop probabilities from 0.05 to 0.9 the keep values are,
 *     draw by draw, the official floor(keep_prob + u) with u the top 24
 *     bits of the generator's next value over 2^24, restated here as a
 *     comparison with 1 on a second generator of the same seed; every
 *     value is 0 or 1, exactly n values are drawn, and the dropped share
 *     lies within 5 standard deviations of the probability;
 *   - trainer: a small model with global attention on two levels and
 *     droppath 0.5 gives the same first-step losses for the same seed (the
 *     draws are reproducible) and other losses than the same trainer with
 *     stochastic drop path off (the draws reach the forward); the first
 *     step has learning rate 0, so only the dropped branches differ.
 */
#include <math.h>
#include <stdio.h>

#include "testutil.h"
#include "backend.h"
#include "train/droppath.h"
#include "train/trainer.h"

#define N_DRAWS 200000

static void
test_rule (void)
{
    static const double probabilities[] = { 0.05, 0.1, 0.25, 0.5, 0.9 };

    for (guint c = 0; c < G_N_ELEMENTS (probabilities); c++) {
        const double p = probabilities[c];
        const float keep_prob = (float) (1.0 - p);
        g_autofree float *keep = g_new (float, N_DRAWS);
        TslTrainRng rng, replay;
        size_t dropped = 0, wrong = 0;
        double share, sigma;

        tsl_train_rng_seed (&rng, 1000 + c);
        tsl_train_rng_seed (&replay, 1000 + c);
        tsl_train_drop_path_draw (&rng, p, keep, N_DRAWS);
        for (size_t i = 0; i < N_DRAWS; i++) {
            const float u = (float) ldexp ((double) (tsl_train_rng_next (&replay) >> 40), -24);
            const float sum = keep_prob + u;
            const float want = sum >= 1.0f ? 1.0f : 0.0f;
            wrong += keep[i] != want;
            dropped += keep[i] == 0.0f;
        }
        share = (double) dropped / N_DRAWS;
        sigma = sqrt (p * (1.0 - p) / N_DRAWS);
        printf ("# drop_prob %.2f: %zu of %d dropped (%.5f), %zu differ from the rule\n", p,
                dropped, N_DRAWS, share, wrong);
        g_assert_cmpuint (wrong, ==, 0);
        g_assert_cmpfloat (fabs (share - p), <=, 5.0 * sigma);
        /* exactly N_DRAWS values were taken */
        g_assert_cmpuint (tsl_train_rng_next (&rng), ==, tsl_train_rng_next (&replay));
    }
}

#define TRAINER_CONFIG                                                                     \
    "{\"dataset\": {\"input_dim\": 4, \"num_classes\": 2, \"max_seq_len\": 32,"            \
    " \"feat_stride\": 16, \"num_frames\": 16, \"default_fps\": 30},"                       \
    " \"model\": {\"backbone_arch\": [2, 1, 2], \"embd_dim\": 8, \"fpn_dim\": 8,"          \
    " \"head_dim\": 8, \"n_head\": 2, \"n_mha_win_size\": [-1, 3, -1], \"use_abs_pe\": false," \
    " \"regression_range\": [[0, 4], [4, 8], [8, 10000]]},"                                 \
    " \"opt\": {\"epochs\": 2, \"warmup_epochs\": 1}, \"loader\": {\"batch_size\": 2},"     \
    " \"train_cfg\": {\"droppath\": 0.5, \"clip_grad_l2norm\": 1.0}}"

static TslTrainSample *
make_sample (int index, TslTestRng *rng)
{
    TslTrainSample *s = g_new0 (TslTrainSample, 1);

    s->video_id = g_strdup_printf ("video_%d", index);
    s->n_channels = 4;
    s->length = 32;
    s->feats = g_new (float, 4 * 32);
    tsl_test_fill_normal (rng, s->feats, 4 * 32, 1.0f);
    s->n_segments = 1;
    s->segments = g_new (float, 2);
    s->segments[0] = 5.0f + index;
    s->segments[1] = 15.0f + 3 * index;
    s->labels = g_new (int, 1);
    s->labels[0] = index % 2;
    s->fps = 30.0;
    s->duration = 32 * 16 / 30.0;
    s->feat_stride = 16;
    s->feat_num_frames = 16;
    s->feat_offset = 0.5;
    return s;
}

/* First step of a fresh trainer (seed 5) on samples. */
static TslTrainerStep
first_step (TslBackend *be, gboolean stochastic, TslTrainSample *const *samples)
{
    g_autoptr (GError) error = NULL;
    TslTrainerConfig cfg;
    TslTrainerStep step;

    g_assert_true (tsl_trainer_config_parse (&cfg, TRAINER_CONFIG, &error));
    g_assert_no_error (error);
    cfg.stochastic_drop_path = stochastic;
    g_autoptr (TslTrainer) trainer = tsl_trainer_new (be, &cfg, TRAINER_CONFIG, NULL, 2, 5,
                                                      &error);
    g_assert_no_error (error);
    g_assert_true (tsl_trainer_step (trainer, (const TslTrainSample *const *) samples, 2, &step,
                                     &error));
    g_assert_no_error (error);
    g_assert_cmpfloat (step.lr, ==, 0.0);
    tsl_trainer_config_clear (&cfg);
    return step;
}

static void
test_trainer (void)
{
    g_autoptr (GError) error = NULL;
    TslBackend *be = tsl_backend_new ("cpu", &error);
    TslTestRng rng;
    TslTrainSample *samples[2];
    TslTrainerStep dropped, again, kept;

    g_assert_no_error (error);
    tsl_test_rng_init (&rng, 17);
    for (int b = 0; b < 2; b++)
        samples[b] = make_sample (b, &rng);
    dropped = first_step (be, TRUE, samples);
    again = first_step (be, TRUE, samples);
    kept = first_step (be, FALSE, samples);
    printf ("# first step: loss %.9g, gradient norm %.9g with drop path (again %.9g, %.9g); "
            "%.9g, %.9g without\n", dropped.loss.final_loss, dropped.grad_norm,
            again.loss.final_loss, again.grad_norm, kept.loss.final_loss, kept.grad_norm);
    g_assert_cmpfloat (dropped.loss.final_loss, ==, again.loss.final_loss);
    g_assert_cmpfloat (dropped.grad_norm, ==, again.grad_norm);
    /* the drop-path scales start at 1e-4, so dropping moves both only a
     * little (~1e-6 relative and ~4e-4 relative here), but it moves them */
    g_assert_cmpfloat (dropped.loss.final_loss, !=, kept.loss.final_loss);
    g_assert_cmpfloat (dropped.grad_norm, !=, kept.grad_norm);
    g_assert_true (isfinite (dropped.loss.final_loss) && isfinite (dropped.grad_norm));
    for (int b = 0; b < 2; b++)
        tsl_train_sample_free (samples[b]);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/train/droppath/rule", test_rule);
    g_test_add_func ("/train/droppath/trainer", test_trainer);
    return g_test_run ();
}

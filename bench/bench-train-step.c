/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * bench-train-step.c: times one ActionFormer training iteration (the
 * trainer's own step, as `gst-tsl-train fit` runs it: crop and pad, label
 * assignment, drop-path draws, train forward, focal + DIoU losses,
 * backward, gradient clipping, AdamW, EMA) on a synthetic batch, and the
 * machine's sgemm peak, for bench/train_step.py.
 *
 *   bench-train-step CONFIG.json [RUNS] [BACKEND]
 *
 * CONFIG.json holds the official sections (as `fit --config`); the batch is
 * loader.batch_size videos of input_dim channels, video b of length
 * max_seq_len - b * BENCH_LENGTH_STEP (the first one unpadded), with
 * deterministic pseudo-random features and the ground-truth segments of
 * bench_segments (the same batch bench/train_step.py builds). Weights are
 * the trainer's initial ones (seed 1).
 *
 * Prints one JSON object: median and minimum step seconds over RUNS steps
 * after one warm-up step, the last step's loss, the sgemm peak (GFLOP/s)
 * and the process's peak resident memory (MiB).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench-common.h"

#include "train/trainer.h"

#define BENCH_LENGTH_STEP 460
#define BENCH_SEGMENTS 4

/* Per video: start, end (grid units) and label of each ground-truth
 * segment, scaled to the video's length. */
static const float bench_segments[BENCH_SEGMENTS][3] = {
    { 0.05f, 0.12f, 1 }, { 0.30f, 0.34f, 4 }, { 0.50f, 0.78f, 9 }, { 0.81f, 0.815f, 16 },
};

static TslTrainSample *
synthetic_sample (int b, int C, int T, int num_classes)
{
    TslTrainSample *s = g_new0 (TslTrainSample, 1);

    s->video_id = g_strdup_printf ("bench_%d", b);
    s->n_channels = C;
    s->length = T;
    s->feats = g_new (float, (size_t) C * T);
    for (size_t i = 0; i < (size_t) C * T; i++)
        s->feats[i] = (float) (((i + b) * 2654435761u) % 2001) / 1000.0f - 1.0f;
    s->n_segments = BENCH_SEGMENTS;
    s->segments = g_new (float, 2 * BENCH_SEGMENTS);
    s->labels = g_new (int, BENCH_SEGMENTS);
    for (int i = 0; i < BENCH_SEGMENTS; i++) {
        s->segments[2 * i] = bench_segments[i][0] * T;
        s->segments[2 * i + 1] = bench_segments[i][1] * T;
        s->labels[i] = (int) bench_segments[i][2] % num_classes;
    }
    s->fps = 30;
    s->feat_stride = 16;
    s->feat_num_frames = 16;
    s->feat_offset = 0.5;
    s->duration = T * 16.0 / 30.0;
    return s;
}

int
main (int argc, char **argv)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (TslTrainer) trainer = NULL;
    g_autofree char *config_json = NULL;
    TslTrainerConfig cfg;
    TslTrainerStep step = { 0 };
    TslBackend *be = NULL;

    if (argc < 2) {
        fprintf (stderr, "usage: %s CONFIG.json [RUNS] [BACKEND]\n", argv[0]);
        return 2;
    }
    const int runs = argc > 2 ? atoi (argv[2]) : 3;
    if (!g_file_get_contents (argv[1], &config_json, NULL, &error) ||
        !tsl_trainer_config_parse (&cfg, config_json, &error)) {
        fprintf (stderr, "bench-train-step: %s\n", error->message);
        return 1;
    }
    be = tsl_backend_new (argc > 3 ? argv[3] : "cpu", &error);
    if (be != NULL)
        trainer = tsl_trainer_new (be, &cfg, config_json, NULL, 1000, 1, &error);
    if (trainer == NULL) {
        fprintf (stderr, "bench-train-step: %s\n", error->message);
        return 1;
    }
    const int B = cfg.batch_size;
    TslTrainSample **samples = g_new (TslTrainSample *, B);
    for (int b = 0; b < B; b++)
        samples[b] = synthetic_sample (b, cfg.model.input_dim,
                                       MAX (cfg.model.max_seq_len - b * BENCH_LENGTH_STEP, 1),
                                       cfg.model.num_classes);

    double *seconds = g_new (double, runs);
    for (int run = -1; run < runs; run++) {
        gint64 t0 = g_get_monotonic_time ();
        if (!tsl_trainer_step (trainer, (const TslTrainSample *const *) samples, B, &step,
                               &error)) {
            fprintf (stderr, "bench-train-step: %s\n", error->message);
            return 1;
        }
        if (run >= 0)
            seconds[run] = (g_get_monotonic_time () - t0) / 1e6;
    }
    const double median = bench_median (seconds, runs);
    printf ("{\"backend\": \"%s\", \"batch\": %d, \"T\": %d, \"runs\": %d, \"median_s\": %.6f, "
            "\"min_s\": %.6f, \"final_loss\": %.6g, \"grad_norm\": %.6g, "
            "\"peak_rss_mib\": %.1f, \"sgemm_peak_gflops\": %.1f, \"blas_core\": \"%s\"}\n",
            tsl_backend_name (be), B, cfg.model.max_seq_len, runs, median, seconds[0],
            step.loss.final_loss, step.grad_norm, bench_peak_rss_mib (),
            bench_sgemm_peak_gflops (), openblas_get_corename ());
    for (int b = 0; b < B; b++)
        tsl_train_sample_free (samples[b]);
    g_free (samples);
    g_free (seconds);
    g_clear_pointer (&trainer, tsl_trainer_free);
    tsl_backend_free (be);
    tsl_trainer_config_clear (&cfg);
    return 0;
}

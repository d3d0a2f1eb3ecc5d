/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * bench-audio.c: times the audio encoder (libtsl/models/audio) of a model
 * file on random waveforms, for bench/audio.py.
 *
 *   bench-audio MODEL.safetensors B [RUNS] [BACKEND]
 *
 * Each run encodes B windows of the model's window_samples (3.2 s at
 * 48 kHz for the official configuration), log-mel front end included.
 * Prints one JSON object: median and minimum seconds per run over RUNS
 * runs after one warm-up, the front end's share (median seconds of the
 * log-mel alone), windows per second, and the peak resident memory (MiB).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench-common.h"
#include "models/audio/model.h"

int
main (int argc, char **argv)
{
    g_autoptr (GError) error = NULL;
    TslAudioModel *model = NULL;
    TslBackend *be = NULL;

    if (argc < 3) {
        fprintf (stderr, "usage: %s MODEL.safetensors B [RUNS] [BACKEND]\n", argv[0]);
        return 2;
    }
    const int B = atoi (argv[2]);
    const int runs = argc > 3 ? atoi (argv[3]) : 5;
    be = tsl_backend_new (argc > 4 ? argv[4] : "cpu", &error);
    if (be)
        model = tsl_audio_model_load (be, argv[1], &error);
    if (model == NULL || B < 1 || runs < 1) {
        fprintf (stderr, "bench-audio: %s\n", error ? error->message : "B and RUNS must be >= 1");
        return 1;
    }
    const int N = tsl_audio_model_window_samples (model);
    const int F = tsl_audio_model_n_frames (model, N);
    const int D = tsl_audio_model_output_dim (model);
    const int mel = tsl_audio_model_get_config (model)->logmel.num_mel_bins;
    float *waves = g_new (float, (size_t) B * N);           /* [B, N] */
    float *logmel = g_new (float, (size_t) B * F * mel);    /* [B, F, mel] */
    float *features = g_new (float, (size_t) B * D);        /* [B, D] */
    double *seconds = g_new (double, runs), *frontend = g_new (double, runs);

    for (size_t i = 0; i < (size_t) B * N; i++)
        waves[i] = (float) ((i * 2654435761u) % 2001) / 2000.0f - 0.5f;
    for (int run = -1; run < runs; run++) {
        gint64 t0 = g_get_monotonic_time ();
        if (!tsl_audio_model_forward (model, waves, B, N, features, &error)) {
            fprintf (stderr, "bench-audio: %s\n", error->message);
            return 1;
        }
        gint64 t1 = g_get_monotonic_time ();
        tsl_audio_model_logmel (model, logmel, waves, B, N);
        if (run >= 0) {
            seconds[run] = (t1 - t0) / 1e6;
            frontend[run] = (g_get_monotonic_time () - t1) / 1e6;
        }
    }
    const double median = bench_median (seconds, runs);
    const double frontend_median = bench_median (frontend, runs);
    printf ("{\"backend\": \"%s\", \"B\": %d, \"samples\": %d, \"frames\": %d, \"dim\": %d, "
            "\"runs\": %d, \"median_s\": %.6f, \"min_s\": %.6f, \"frontend_s\": %.6f, "
            "\"windows_per_s\": %.2f, \"peak_rss_mib\": %.1f, \"blas_core\": \"%s\"}\n",
            tsl_backend_name (be), B, N, F, D, runs, median, seconds[0], frontend_median,
            B / median, bench_peak_rss_mib (), openblas_get_corename ());
    g_free (seconds);
    g_free (frontend);
    g_free (waves);
    g_free (logmel);
    g_free (features);
    tsl_audio_model_free (model);
    tsl_backend_free (be);
    return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * bench-videomae.c: times the VideoMAE V2 ViT forward of a model file on
 * random clips, for bench/videomae.py.
 *
 *   bench-videomae MODEL.safetensors CLIPS [RUNS] [BACKEND]
 *
 * Each run encodes CLIPS clips in one call (batches of CLIPS). Prints one
 * JSON object: median and minimum seconds per run over RUNS runs after one
 * warm-up, clips per second, the forward's GFLOP per clip (projections and
 * attention) and achieved TFLOP/s, the sgemm peak (GFLOP/s, CPU), the
 * process's peak resident memory (MiB) and the OpenBLAS core in use.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench-common.h"
#include "io/safetensors.h"
#include "models/videomae/model.h"

/* 2 x multiply-adds of one clip: patch GEMM, per block the four C x C
 * projections, the two MLP layers and the two N x N attention products. */
static double
gflop_per_clip (const TslVideoMaeConfig *cfg)
{
    const double C = cfg->embed_dim, N = tsl_videomae_config_num_tokens (cfg);
    const double hidden = tsl_videomae_config_mlp_hidden (cfg);
    const double per_block = 2 * N * (4 * C * C + 2 * C * hidden) + 4 * N * N * C;

    return (2 * N * C * tsl_videomae_config_patch_len (cfg) + cfg->depth * per_block) / 1e9;
}

int
main (int argc, char **argv)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (TslSafetensors) st = NULL;
    g_autoptr (TslBackend) be = NULL;
    g_autoptr (TslVideoMae) model = NULL;

    if (argc < 3) {
        fprintf (stderr, "usage: %s MODEL.safetensors CLIPS [RUNS] [BACKEND]\n", argv[0]);
        return 2;
    }
    const int clips = MAX (atoi (argv[2]), 1);
    const int runs = argc > 3 ? MAX (atoi (argv[3]), 1) : 3;
    st = tsl_safetensors_open (argv[1], &error);
    if (st)
        be = tsl_backend_new (argc > 4 ? argv[4] : "cpu", &error);
    if (be)
        model = tsl_videomae_new (be, st, clips, &error);
    if (model == NULL) {
        fprintf (stderr, "bench-videomae: %s\n", error->message);
        return 1;
    }
    const TslVideoMaeConfig *cfg = tsl_videomae_get_config (model);
    const size_t n = (size_t) clips * 3 * cfg->all_frames * cfg->img_size * cfg->img_size;
    g_autofree float *input = g_new (float, n);
    g_autofree float *features = g_new (float, (size_t) clips * cfg->embed_dim);
    g_autofree double *seconds = g_new (double, runs);
    for (size_t i = 0; i < n; i++)
        input[i] = (float) ((i * 2654435761u) % 1001) / 1000.0f;

    for (int run = -1; run < runs; run++) {
        gint64 t0 = g_get_monotonic_time ();
        if (!tsl_videomae_forward (model, features, input, clips, NULL, NULL, &error)) {
            fprintf (stderr, "bench-videomae: %s\n", error->message);
            return 1;
        }
        if (run >= 0)
            seconds[run] = (g_get_monotonic_time () - t0) / 1e6;
    }
    const double median = bench_median (seconds, runs);
    const double gflop = gflop_per_clip (cfg);
    printf ("{\"backend\": \"%s\", \"clips\": %d, \"runs\": %d, \"median_s\": %.6f, "
            "\"min_s\": %.6f, \"clips_per_s\": %.3f, \"gflop_per_clip\": %.1f, "
            "\"tflops\": %.3f, \"peak_rss_mib\": %.1f, \"sgemm_peak_gflops\": %.1f, "
            "\"blas_core\": \"%s\"}\n", tsl_backend_name (be), clips, runs, median, seconds[0],
            clips / median, gflop, gflop * clips / median / 1e3, bench_peak_rss_mib (),
            bench_sgemm_peak_gflops (), openblas_get_corename ());
    return 0;
}

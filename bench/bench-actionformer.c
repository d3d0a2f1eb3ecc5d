/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * bench-actionformer.c: times the ActionFormer forward of a model file on
 * random features, and the machine's sgemm peak, for bench/actionformer.py.
 *
 *   bench-actionformer MODEL.safetensors T [RUNS] [BACKEND]
 *
 * Prints one JSON object: median and minimum forward seconds over RUNS runs
 * after one warm-up, the sgemm peak (GFLOP/s, best of several 2048^3
 * products through OpenBLAS) and the process's peak resident memory (MiB).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench-common.h"

#include "io/safetensors.h"
#include "models/actionformer/model.h"

int
main (int argc, char **argv)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (TslSafetensors) st = NULL;
    TslActionFormer *model = NULL;
    TslBackend *be = NULL;
    TslActionFormerOutput out;

    if (argc < 3) {
        fprintf (stderr, "usage: %s MODEL.safetensors T [RUNS] [BACKEND]\n", argv[0]);
        return 2;
    }
    const int T = atoi (argv[2]);
    const int runs = argc > 3 ? atoi (argv[3]) : 5;
    st = tsl_safetensors_open (argv[1], &error);
    if (st)
        be = tsl_backend_new (argc > 4 ? argv[4] : "cpu", &error);
    if (be)
        model = tsl_actionformer_new (be, st, &error);
    if (model == NULL) {
        fprintf (stderr, "bench-actionformer: %s\n", error->message);
        return 1;
    }
    const TslActionFormerConfig *cfg = tsl_actionformer_get_config (model);
    float *feats = g_new (float, (size_t) cfg->input_dim * T);
    for (size_t i = 0; i < (size_t) cfg->input_dim * T; i++)
        feats[i] = (float) ((i * 2654435761u) % 2001) / 1000.0f - 1.0f;

    double *seconds = g_new (double, runs);
    for (int run = -1; run < runs; run++) {
        gint64 t0 = g_get_monotonic_time ();
        if (!tsl_actionformer_forward (model, feats, T, &out, &error)) {
            fprintf (stderr, "bench-actionformer: %s\n", error->message);
            return 1;
        }
        if (run >= 0)
            seconds[run] = (g_get_monotonic_time () - t0) / 1e6;
    }
    const double median = bench_median (seconds, runs);
    printf ("{\"backend\": \"%s\", \"T\": %d, \"runs\": %d, \"median_s\": %.6f, \"min_s\": %.6f, "
            "\"peak_rss_mib\": %.1f, \"sgemm_peak_gflops\": %.1f, \"blas_core\": \"%s\"}\n",
            tsl_backend_name (be), T, runs, median, seconds[0], bench_peak_rss_mib (),
            bench_sgemm_peak_gflops (), openblas_get_corename ());
    g_free (seconds);
    g_free (feats);
    tsl_actionformer_free (model);
    tsl_backend_free (be);
    return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * bench-common.c: see bench-common.h.
 */
#include "bench-common.h"

#include <cblas.h>
#include <stdlib.h>
#include <sys/resource.h>

static int
compare_doubles (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

double
bench_median (double *seconds, int n)
{
    qsort (seconds, n, sizeof (double), compare_doubles);
    return seconds[n / 2];
}

double
bench_sgemm_peak_gflops (void)
{
    const int n = 2048;
    float *a = g_new (float, (size_t) n * n), *b = g_new (float, (size_t) n * n);
    float *c = g_new0 (float, (size_t) n * n);
    double best = 0.0;

    for (size_t i = 0; i < (size_t) n * n; i++) {
        a[i] = (float) ((i * 7 % 13) - 6) / 13.0f;
        b[i] = (float) ((i * 5 % 11) - 5) / 11.0f;
    }
    for (int run = 0; run < 6; run++) {
        gint64 t0 = g_get_monotonic_time ();
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                     c, n);
        double s = (g_get_monotonic_time () - t0) / 1e6;
        best = MAX (best, 2.0 * n * n * (double) n / s / 1e9);
    }
    g_free (a);
    g_free (b);
    g_free (c);
    return best;
}

double
bench_peak_rss_mib (void)
{
    struct rusage usage;

    getrusage (RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024.0;
}

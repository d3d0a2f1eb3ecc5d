/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * bench-common.h: what the benchmark programs share: timing statistics and
 * the machine's sgemm peak, the yardstick their GFLOP/s are read against.
 */
#pragma once

#include <glib.h>

/* Sorts seconds[0, n) and returns the median. */
double bench_median (double *seconds, int n);
/* Best of several 2048^3 single-precision products through OpenBLAS, GFLOP/s. */
double bench_sgemm_peak_gflops (void);
/* This process's peak resident memory, MiB. */
double bench_peak_rss_mib (void);

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/softmax.c: softmax over the last axis of [rows, n], and its backward.
 * Semantics: TslSoftmaxFn in ../ops.h.
 *
 * The running maximum starts at -INFINITY, so -INFINITY entries (masked
 * scores) get exactly 0, and a row that is entirely -INFINITY gives a row of
 * zeros instead of NaN. The forward overwrites out; the backward adds
 * out * (dout - sum(dout * out)) into dx. Rows are independent, so threads
 * split the rows.
 */
#include <math.h>

#include "cpu-ops.h"

/* below this many elements, starting threads costs more than it saves */
#define SOFTMAX_PARALLEL_MIN 16384

void
tsl_cpu_softmax (TslBackend *be, float *out, const float *x, int rows, int n)
{
    #pragma omp parallel for if ((size_t) rows * n >= SOFTMAX_PARALLEL_MIN)
    for (int r = 0; r < rows; r++) {
        const float *x_r = x + (size_t) r * n;  /* [n] */
        float *out_r = out + (size_t) r * n;    /* [n] */
        float max_r = -INFINITY;
        float sum_r = 0.0f;

        /* pass 1: maximum, for a numerically safe exponential */
        #pragma omp simd reduction (max:max_r)
        for (int j = 0; j < n; j++)
            max_r = MAX (max_r, x_r[j]);
        if (max_r == -INFINITY) {
            for (int j = 0; j < n; j++)
                out_r[j] = 0.0f;
            continue;
        }
        /* pass 2: exponentials and their sum */
        for (int j = 0; j < n; j++) {
            out_r[j] = expf (x_r[j] - max_r);
            sum_r += out_r[j];
        }
        /* pass 3: normalise */
        const float inv_sum = 1.0f / sum_r;
        #pragma omp simd
        for (int j = 0; j < n; j++)
            out_r[j] *= inv_sum;
    }
}

void
tsl_cpu_softmax_backward (TslBackend *be, float *dx, const float *dout, const float *out,
                          int rows, int n)
{
    #pragma omp parallel for if ((size_t) rows * n >= SOFTMAX_PARALLEL_MIN)
    for (int r = 0; r < rows; r++) {
        const float *dout_r = dout + (size_t) r * n;  /* [n] */
        const float *out_r = out + (size_t) r * n;    /* [n] */
        float *dx_r = dx + (size_t) r * n;            /* [n] */
        float dot = 0.0f;

        #pragma omp simd reduction (+:dot)
        for (int j = 0; j < n; j++)
            dot += dout_r[j] * out_r[j];
        #pragma omp simd
        for (int j = 0; j < n; j++)
            dx_r[j] += out_r[j] * (dout_r[j] - dot);
    }
}

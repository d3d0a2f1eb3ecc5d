/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/mean.c: mean over the middle axis, out[a, c] = mean over n of
 * x[a, n, c] (the ViT's token pooling), and its backward. Semantics: TslMeanFn
 * in ../ops.h.
 *
 * The forward overwrites out and sums in double, one block of channels of one
 * row a per iteration. The backward adds dout / N into every dx[a, n, c].
 */
#include "cpu-ops.h"

/* below this many elements, starting threads costs more than it saves */
#define MEAN_PARALLEL_MIN 32768

/* channels summed together in one iteration, sized for a stack buffer */
#define MEAN_CHANNEL_BLOCK 64

void
tsl_cpu_mean (TslBackend *be, float *out, const float *x, int A, int N, int C)
{
    const int n_blocks = (C + MEAN_CHANNEL_BLOCK - 1) / MEAN_CHANNEL_BLOCK;

    /* each (a, block) iteration alone writes out[a, block's channels] */
    #pragma omp parallel for collapse (2) if ((size_t) A * N * C >= MEAN_PARALLEL_MIN)
    for (int a = 0; a < A; a++) {
        for (int block = 0; block < n_blocks; block++) {
            const int c0 = block * MEAN_CHANNEL_BLOCK;
            const int width = MIN (C - c0, MEAN_CHANNEL_BLOCK);
            double acc[MEAN_CHANNEL_BLOCK] = { 0 };

            for (int n = 0; n < N; n++) {
                const float *x_an = x + ((size_t) a * N + n) * C + c0;  /* [width] */
                #pragma omp simd
                for (int j = 0; j < width; j++)
                    acc[j] += x_an[j];
            }
            float *out_a = out + (size_t) a * C + c0;  /* [width] */
            for (int j = 0; j < width; j++)
                out_a[j] = (float) (acc[j] / N);
        }
    }
}

void
tsl_cpu_mean_backward (TslBackend *be, float *dx, const float *dout, int A, int N, int C)
{
    const float n_float = (float) N;

    #pragma omp parallel for collapse (2) if ((size_t) A * N * C >= MEAN_PARALLEL_MIN)
    for (int a = 0; a < A; a++) {
        for (int n = 0; n < N; n++) {
            const float *dout_a = dout + (size_t) a * C;   /* [C] */
            float *dx_an = dx + ((size_t) a * N + n) * C;  /* [C] */
            #pragma omp simd
            for (int c = 0; c < C; c++)
                dx_an[c] += dout_a[c] / n_float;
        }
    }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/pool.c: down-sampling over time, channels-first [B, C, T]: max pooling
 * (ActionFormer's FPN downsampling) with its backward, and the nearest
 * down-sampling of the padding masks that goes with it. Semantics:
 * TslMaxPool1dFn and TslMaskDownsampleFn in ../ops.h.
 *
 * Max pooling follows PyTorch's CPU MaxPool1d: the window of output o covers
 * input steps o * stride - padding + k for k < K, steps outside [0, T) act as
 * -inf, the first maximum wins ties, and a NaN wins over any number. PyTorch
 * requires padding <= K / 2, so every window holds at least one real step;
 * argmax stores that step's index t. The mask down-sampling is
 * F.interpolate(mode='nearest'), source index computed as PyTorch does it in
 * float: min((int) floorf(i * ((float) T / To)), T - 1).
 *
 * Forward ops overwrite their outputs; the backward adds dout into dx at the
 * saved argmax positions. Threads split the (b, c) rows, which are disjoint.
 */
#include <math.h>

#include "cpu-ops.h"

/* below this many elements, starting threads costs more than it saves */
#define POOL_PARALLEL_MIN 16384

void
tsl_cpu_maxpool1d (TslBackend *be, float *out, int32_t *argmax, const float *x, int B, int C,
                   int T, int To, int K, int stride, int padding)
{
    #pragma omp parallel for if ((size_t) B * C * To * K >= POOL_PARALLEL_MIN)
    for (size_t bc = 0; bc < (size_t) B * C; bc++) {
        const float *x_bc = x + bc * T;             /* [T] */
        float *out_bc = out + bc * To;              /* [To] */
        int32_t *argmax_bc = argmax + bc * To;      /* [To] */

        for (int o = 0; o < To; o++) {
            const int start = o * stride - padding;
            const int lo = MAX (start, 0), hi = MIN (start + K, T);
            float best = -INFINITY;
            int best_t = lo;

            for (int t = lo; t < hi; t++) {
                if (x_bc[t] > best || isnan (x_bc[t])) {
                    best = x_bc[t];
                    best_t = t;
                }
            }
            out_bc[o] = best;
            argmax_bc[o] = best_t;
        }
    }
}

void
tsl_cpu_maxpool1d_backward (TslBackend *be, float *dx, const float *dout, const int32_t *argmax,
                            int B, int C, int T, int To)
{
    /* each (b, c) row alone writes dx[b, c, :] */
    #pragma omp parallel for if ((size_t) B * C * To >= POOL_PARALLEL_MIN)
    for (size_t bc = 0; bc < (size_t) B * C; bc++) {
        const float *dout_bc = dout + bc * To;          /* [To] */
        const int32_t *argmax_bc = argmax + bc * To;    /* [To] */
        float *dx_bc = dx + bc * T;                     /* [T] */

        for (int o = 0; o < To; o++)
            dx_bc[argmax_bc[o]] += dout_bc[o];
    }
}

void
tsl_cpu_mask_downsample (TslBackend *be, float *out, const float *mask, int B, int T, int To)
{
    const float scale = (float) T / (float) To;

    for (int b = 0; b < B; b++) {
        const float *mask_b = mask + (size_t) b * T;  /* [T] */
        float *out_b = out + (size_t) b * To;         /* [To] */

        for (int i = 0; i < To; i++) {
            const int src = MIN ((int) floorf ((float) i * scale), T - 1);
            out_b[i] = mask_b[src];
        }
    }
}

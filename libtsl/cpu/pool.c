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
 * Windows that lie inside [0, T) are pooled one tap at a time over the
 * whole row with integer selects on the float bits (vector-math.h), which
 * vectorises; the windows clipped by the ends take the plain loop.
 *
 * Forward ops overwrite their outputs; the backward adds dout into dx at the
 * saved argmax positions. Threads split the (b, c) rows, which are disjoint.
 */
#include <math.h>

#include "cpu-ops.h"
#include "vector-math.h"

/* below this many elements, starting threads costs more than it saves */
#define POOL_PARALLEL_MIN 16384

/* An integer that orders like the float, with -0 equal to +0 (the ties of
 * the float comparison) and NaN above everything */
static inline int32_t
maxpool_key (int32_t bits)
{
    if ((bits & 0x7fffffff) > 0x7f800000)
        return INT32_MAX;
    return bits < 0 ? (bits ^ 0x7fffffff) + 1 : bits;
}

/* Outputs [o_begin, o_end) of one row, whose windows lie inside [0, T):
 * the rule of the edge loop (a larger value, or any NaN, replaces the best
 * so far) one window tap at a time over all outputs, with integer selects,
 * so that the loops vectorise. */
static TSL_VECTOR_CLONES void
maxpool1d_row_inside (float *out /* [To] */, int32_t *argmax /* [To] */, const float *x /* [T] */,
                      int o_begin, int o_end, int K, int stride, int padding)
{
    #pragma omp simd
    for (int o = o_begin; o < o_end; o++) {
        out[o] = x[o * stride - padding];
        argmax[o] = o * stride - padding;
    }
    for (int k = 1; k < K; k++) {
        #pragma omp simd
        for (int o = o_begin; o < o_end; o++) {
            const int t = o * stride - padding + k;
            const int32_t bits = tsl_float_bits (x[t]), best_bits = tsl_float_bits (out[o]);
            const int32_t nan = (bits & 0x7fffffff) > 0x7f800000 ? -1 : 0;
            const int32_t take = nan | (maxpool_key (bits) > maxpool_key (best_bits) ? -1 : 0);

            out[o] = tsl_bits_float ((bits & take) | (best_bits & ~take));
            argmax[o] = (t & take) | (argmax[o] & ~take);
        }
    }
}

/* Output o of one row with the window clipped to [0, T) */
static void
maxpool1d_edge (float *out /* [To] */, int32_t *argmax /* [To] */, const float *x /* [T] */,
                int o, int T, int K, int stride, int padding)
{
    const int start = o * stride - padding;
    const int lo = MAX (start, 0), hi = MIN (start + K, T);
    float best = -INFINITY;
    int best_t = lo;

    for (int t = lo; t < hi; t++) {
        if (x[t] > best || isnan (x[t])) {
            best = x[t];
            best_t = t;
        }
    }
    out[o] = best;
    argmax[o] = best_t;
}

void
tsl_cpu_maxpool1d (TslBackend *be, float *out, int32_t *argmax, const float *x, int B, int C,
                   int T, int To, int K, int stride, int padding)
{
    /* outputs whose window starts at or after 0 and ends before T */
    const int inside_begin = MIN ((padding + stride - 1) / stride, To);
    const int inside_end = MAX (inside_begin, MIN (To, T - K + padding < 0 ? 0
                                                         : (T - K + padding) / stride + 1));

    #pragma omp parallel for if ((size_t) B * C * To * K >= POOL_PARALLEL_MIN)
    for (size_t bc = 0; bc < (size_t) B * C; bc++) {
        const float *x_bc = x + bc * T;             /* [T] */
        float *out_bc = out + bc * To;              /* [To] */
        int32_t *argmax_bc = argmax + bc * To;      /* [To] */

        for (int o = 0; o < inside_begin; o++)
            maxpool1d_edge (out_bc, argmax_bc, x_bc, o, T, K, stride, padding);
        maxpool1d_row_inside (out_bc, argmax_bc, x_bc, inside_begin, inside_end, K, stride,
                              padding);
        for (int o = inside_end; o < To; o++)
            maxpool1d_edge (out_bc, argmax_bc, x_bc, o, T, K, stride, padding);
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

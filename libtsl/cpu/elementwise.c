/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/elementwise.c: bias add, add, multiply, scale and per-channel scale,
 * with their backward ops. Semantics and layouts: the "elementwise" section
 * of ../ops.h. Per-channel tensors are channels-first [B, C, T]; token
 * tensors [B, N, C] come in as [B*N, C, 1].
 *
 * Per-channel ops on [B, C, 1] (a mask over the time axis of a [C, T]
 * tensor, viewed as [C, T, 1]) run along the contiguous axis instead of
 * one element per row.
 *
 * Forward ops overwrite their output. Backward ops add (+=) into every d*
 * buffer; a d* documented "or NULL" is skipped when NULL. Per-channel
 * gradients (dbias, ds) are summed over b and t in double, one channel
 * block per thread, so the result does not depend on the thread count.
 */
#include "cpu-ops.h"

/* below this many elements, starting threads costs more than it saves */
#define ELEMENTWISE_PARALLEL_MIN 32768

/* channels per block in the per-channel reductions (one block per thread at a time) */
#define CHANNEL_BLOCK 64

void
tsl_cpu_bias_add (TslBackend *be, float *out, const float *x, const float *bias, int B, int C,
                  int T)
{
    if (T == 1) {
        /* [B, C, 1], e.g. a bias over the key axis of attention scores */
        #pragma omp parallel for if ((size_t) B * C >= ELEMENTWISE_PARALLEL_MIN)
        for (int b = 0; b < B; b++) {
            const float *x_b = x + (size_t) b * C;  /* [C] */
            float *out_b = out + (size_t) b * C;    /* [C] */

            #pragma omp simd
            for (int c = 0; c < C; c++)
                out_b[c] = x_b[c] + bias[c];
        }
        return;
    }
    #pragma omp parallel for collapse (2) if ((size_t) B * C * T >= ELEMENTWISE_PARALLEL_MIN)
    for (int b = 0; b < B; b++) {
        for (int c = 0; c < C; c++) {
            size_t row = ((size_t) b * C + c) * T;
            const float *x_bc = x + row;  /* [T] */
            float *out_bc = out + row;    /* [T] */
            const float bias_c = bias[c];

            #pragma omp simd
            for (int t = 0; t < T; t++)
                out_bc[t] = x_bc[t] + bias_c;
        }
    }
}

/* sum[c] += sum over b, t of a[b, c, t] * (b_or_null ? b_or_null[b, c, t] : 1),
 * accumulated in double per channel. Parallel over blocks of channels: each
 * iteration alone writes its block of sum. */
static void
sum_over_batch_and_time (float *sum /* [C] */, const float *a /* [B, C, T] */,
                         const float *factor /* [B, C, T] or NULL */, int B, int C, int T)
{
    const int n_blocks = (C + CHANNEL_BLOCK - 1) / CHANNEL_BLOCK;

    #pragma omp parallel for if ((size_t) B * C * T >= ELEMENTWISE_PARALLEL_MIN)
    for (int block = 0; block < n_blocks; block++) {
        const int c0 = block * CHANNEL_BLOCK;
        const int c1 = MIN (C, c0 + CHANNEL_BLOCK);
        double acc[CHANNEL_BLOCK] = { 0 };

        for (int b = 0; b < B; b++) {
            for (int c = c0; c < c1; c++) {
                size_t row = ((size_t) b * C + c) * T;
                const float *a_bc = a + row;  /* [T] */
                float partial = 0.0f;

                if (factor != NULL) {
                    const float *factor_bc = factor + row;  /* [T] */
                    #pragma omp simd reduction (+:partial)
                    for (int t = 0; t < T; t++)
                        partial += a_bc[t] * factor_bc[t];
                } else {
                    #pragma omp simd reduction (+:partial)
                    for (int t = 0; t < T; t++)
                        partial += a_bc[t];
                }
                acc[c - c0] += partial;
            }
        }
        for (int c = c0; c < c1; c++)
            sum[c] += (float) acc[c - c0];
    }
}

void
tsl_cpu_bias_add_backward (TslBackend *be, float *dx, float *dbias, const float *dout, int B,
                           int C, int T)
{
    if (dx != NULL)
        tsl_cpu_add_backward (be, dx, NULL, dout, (size_t) B * C * T);
    sum_over_batch_and_time (dbias, dout, NULL, B, C, T);
}

void
tsl_cpu_add (TslBackend *be, float *out, const float *a, const float *b, size_t n)
{
    #pragma omp parallel for simd if (n >= ELEMENTWISE_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void
tsl_cpu_add_backward (TslBackend *be, float *da, float *db, const float *dout, size_t n)
{
    if (da != NULL) {
        #pragma omp parallel for simd if (n >= ELEMENTWISE_PARALLEL_MIN)
        for (size_t i = 0; i < n; i++)
            da[i] += dout[i];
    }
    if (db != NULL) {
        #pragma omp parallel for simd if (n >= ELEMENTWISE_PARALLEL_MIN)
        for (size_t i = 0; i < n; i++)
            db[i] += dout[i];
    }
}

void
tsl_cpu_mul (TslBackend *be, float *out, const float *a, const float *b, size_t n)
{
    #pragma omp parallel for simd if (n >= ELEMENTWISE_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] * b[i];
}

void
tsl_cpu_mul_backward (TslBackend *be, float *da, float *db, const float *dout, const float *a,
                      const float *b, size_t n)
{
    if (da != NULL) {
        #pragma omp parallel for simd if (n >= ELEMENTWISE_PARALLEL_MIN)
        for (size_t i = 0; i < n; i++)
            da[i] += dout[i] * b[i];
    }
    if (db != NULL) {
        #pragma omp parallel for simd if (n >= ELEMENTWISE_PARALLEL_MIN)
        for (size_t i = 0; i < n; i++)
            db[i] += dout[i] * a[i];
    }
}

void
tsl_cpu_scale (TslBackend *be, float *out, const float *x, float s, size_t n)
{
    /* out may equal x: every element is read before it is written */
    #pragma omp parallel for simd if (n >= ELEMENTWISE_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = s * x[i];
}

void
tsl_cpu_scale_backward (TslBackend *be, float *dx, const float *dout, float s, size_t n)
{
    #pragma omp parallel for simd if (n >= ELEMENTWISE_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        dx[i] += s * dout[i];
}

void
tsl_cpu_channel_scale (TslBackend *be, float *out, const float *x, const float *s, int B, int C,
                       int T)
{
    if (T == 1) {
        /* [B, C, 1], e.g. a mask over the time axis of a [C, T] tensor: the
         * scale runs along the contiguous axis */
        #pragma omp parallel for if ((size_t) B * C >= ELEMENTWISE_PARALLEL_MIN)
        for (int b = 0; b < B; b++) {
            const float *x_b = x + (size_t) b * C;  /* [C] */
            float *out_b = out + (size_t) b * C;    /* [C] */

            #pragma omp simd
            for (int c = 0; c < C; c++)
                out_b[c] = x_b[c] * s[c];
        }
        return;
    }
    #pragma omp parallel for collapse (2) if ((size_t) B * C * T >= ELEMENTWISE_PARALLEL_MIN)
    for (int b = 0; b < B; b++) {
        for (int c = 0; c < C; c++) {
            size_t row = ((size_t) b * C + c) * T;
            const float *x_bc = x + row;  /* [T] */
            float *out_bc = out + row;    /* [T] */
            const float s_c = s[c];

            #pragma omp simd
            for (int t = 0; t < T; t++)
                out_bc[t] = x_bc[t] * s_c;
        }
    }
}

void
tsl_cpu_channel_scale_backward (TslBackend *be, float *dx, float *ds, const float *dout,
                                const float *x, const float *s, int B, int C, int T)
{
    if (dx != NULL && T == 1) {
        #pragma omp parallel for if ((size_t) B * C >= ELEMENTWISE_PARALLEL_MIN)
        for (int b = 0; b < B; b++) {
            const float *dout_b = dout + (size_t) b * C;  /* [C] */
            float *dx_b = dx + (size_t) b * C;            /* [C] */

            #pragma omp simd
            for (int c = 0; c < C; c++)
                dx_b[c] += dout_b[c] * s[c];
        }
    } else if (dx != NULL) {
        #pragma omp parallel for collapse (2) if ((size_t) B * C * T >= ELEMENTWISE_PARALLEL_MIN)
        for (int b = 0; b < B; b++) {
            for (int c = 0; c < C; c++) {
                size_t row = ((size_t) b * C + c) * T;
                const float *dout_bc = dout + row;  /* [T] */
                float *dx_bc = dx + row;            /* [T] */
                const float s_c = s[c];

                #pragma omp simd
                for (int t = 0; t < T; t++)
                    dx_bc[t] += dout_bc[t] * s_c;
            }
        }
    }
    if (ds != NULL)
        sum_over_batch_and_time (ds, dout, x, B, C, T);
}

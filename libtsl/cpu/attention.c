/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/attention.c: full multi-head self-attention over N tokens, forward
 * only (the VideoMAE V2 ViT runs it at inference), as the Attention module
 * of its blocks: softmax(scale * q k^T) v per head, the q/k/v biases already
 * added by the qkv projection. Layout and semantics: TslAttentionFn in
 * ../ops.h; qkv is [B, N, 3 * C] with q, k, v of head h in the columns
 * s * C + h * Dh .. s * C + h * Dh + Dh - 1, out is [B, N, C] (overwritten).
 *
 * The per-head q, k and v are read in place as strided [N, Dh] matrices
 * (leading dimension 3 * C) and the result is written in place into out
 * (leading dimension C). Work is split into tiles of ATTENTION_ROWS
 * queries of one (b, h): a tile's scores [rows, N] (800 KiB at N = 1568)
 * stay in the core's cache through the score GEMM, the softmax and the
 * value GEMM, where a whole [N, N] matrix would go to memory and back
 * three times. Tiles run in parallel, one per thread, with
 * single-threaded GEMMs (OpenBLAS does not nest inside a parallel
 * region); each thread has its own score tile in the workspace. The
 * softmax leaves its rows unnormalised and the division by the row sum is
 * applied to the [rows, Dh] output instead, which saves one pass. The
 * softmax is compiled per vector ISA (vector-math.h), as the OpenMP body
 * that calls it is not.
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>

#include "cpu-ops.h"
#include "vector-math.h"

/* queries per tile */
#define ATTENTION_ROWS 128

/* s[n, :] = exp (s[n, :] - max of the row), inv_sum[n] = 1 / its sum; the
 * division is left to the caller, which applies it to the smaller output */
static TSL_VECTOR_CLONES void
attention_softmax_rows (float *s /* [rows, N] */, float *inv_sum /* [rows] */, int rows, int N)
{
    for (int n = 0; n < rows; n++) {
        float *s_n = s + (size_t) n * N;
        float max_score = -INFINITY, sum = 0.0f;

#pragma omp simd reduction(max : max_score)
        for (int m = 0; m < N; m++)
            max_score = MAX (max_score, s_n[m]);
#pragma omp simd
        for (int m = 0; m < N; m++)
            s_n[m] = tsl_exp_nonpositive (s_n[m] - max_score);
#pragma omp simd reduction(+ : sum)
        for (int m = 0; m < N; m++)
            sum += s_n[m];
        inv_sum[n] = 1.0f / sum;
    }
}

void
tsl_cpu_attention (TslBackend *be, float *out, const float *qkv, int B, int N, int C, int H,
                   float scale)
{
    const int Dh = C / H, n_tiles = (N + ATTENTION_ROWS - 1) / ATTENTION_ROWS;
    const int n_threads = omp_get_max_threads ();
    const size_t tile_floats = (size_t) ATTENTION_ROWS * N + ATTENTION_ROWS;
    float *ws = tsl_backend_workspace (be, n_threads * tile_floats * sizeof (float));

    if (ws == NULL)
        return;
    /* one task per (b, h, tile of queries): it alone writes those rows of
     * head h's columns of out, and its thread's own score tile */
#pragma omp parallel for schedule(dynamic)
    for (int task = 0; task < B * H * n_tiles; task++) {
        const int b = task / (H * n_tiles), h = task / n_tiles % H, tile = task % n_tiles;
        const int n0 = tile * ATTENTION_ROWS, rows = MIN (ATTENTION_ROWS, N - n0);
        const float *qkv_b = qkv + (size_t) b * N * 3 * C;
        const float *q_tile = qkv_b + (size_t) n0 * 3 * C + (size_t) h * Dh; /* [rows, Dh], ld 3C */
        const float *k_bh = qkv_b + (size_t) C + h * Dh;                 /* [N, Dh], ld 3C */
        const float *v_bh = qkv_b + (size_t) 2 * C + h * Dh;             /* [N, Dh], ld 3C */
        float *out_tile = out + ((size_t) b * N + n0) * C + (size_t) h * Dh; /* [rows, Dh], ld C */
        float *s = ws + omp_get_thread_num () * tile_floats;               /* [rows, N] */
        float *inv_sum = s + (size_t) ATTENTION_ROWS * N;                   /* [rows] */

        /* s = scale * q k^T */
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, rows, N, Dh, scale, q_tile,
                     3 * C, k_bh, 3 * C, 0.0f, s, N);
        attention_softmax_rows (s, inv_sum, rows, N);
        /* out rows = s v, each divided by its sum */
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, Dh, N, 1.0f, s, N, v_bh,
                     3 * C, 0.0f, out_tile, C);
        for (int n = 0; n < rows; n++) {
            float *out_n = out_tile + (size_t) n * C;
            for (int d = 0; d < Dh; d++)
                out_n[d] *= inv_sum[n];
        }
    }
}

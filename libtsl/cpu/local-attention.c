/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/local-attention.c: ActionFormer's banded masked self-attention
 * (LocalMaskedMHCA in libs/modeling/blocks.py of happyharrycn/actionformer_release),
 * forward and backward. Layout and semantics: TslLocalAttentionFn in ../ops.h.
 *
 * q, k, v and out are channels-first [B, C, T] with C = H * Dh, so the block
 * of one (b, h) is a contiguous [Dh, T] matrix. att[b, h, t, j] is the
 * weight of key t - W/2 + j, 0 for keys outside [0, T) and for whole rows of
 * masked queries.
 *
 * The forward works on the channels-first rows directly, in parallel over
 * (b, h, tile of LOCAL_ATTENTION_QUERY_TILE queries): for every channel d
 * and window slot j, score[j, t] += q[d, t] k[d, t - W/2 + j] runs along t,
 * so the loads are contiguous and the loop vectorises; the softmax and the
 * weighted sum of v run along t the same way, with the scores of the tile
 * ([W, tile] in the workspace, 22 KiB at W = 11) staying in L1. The
 * vectorised tile function is compiled per vector ISA (TSL_VECTOR_CLONES,
 * vector-math.h, which also gives the exp). The backward first
 * transposes the blocks it reads into the workspace as [T, Dh] (one row
 * per time step, contiguous dot products), works there in parallel over t,
 * and transposes its results back.
 *
 * Backward ADDS into dq, dk and dv (the caller zeroes them). With
 * datt[t, j] = dout[t] . v[key] and ds = att * (datt - sum_j att datt):
 * dq[t] += scale sum_j ds[t, j] k[key], dk[key] += scale ds[t, j] q[t] and
 * dv[key] += att[t, j] dout[t]. The last two are gathered per key s (the
 * queries that see key s are t = s + W/2 - j) so that every thread writes
 * its own rows.
 */
#include <math.h>

#include "cpu-ops.h"
#include "vector-math.h"

/* square tile of the backward's transposes */
#define LOCAL_ATTENTION_TILE 32

/* queries per forward work item: long contiguous runs along t, and their
 * [W, tile] scores still fit in L1 for ActionFormer's windows */
#define LOCAL_ATTENTION_QUERY_TILE 512

/* dst[c, r] = src[r, c] (or += when accumulate) */
static void
local_attention_transpose (float *dst /* [cols, rows] */, const float *src /* [rows, cols] */,
                           int rows, int cols, gboolean accumulate)
{
#pragma omp parallel for collapse(2)
    for (int r0 = 0; r0 < rows; r0 += LOCAL_ATTENTION_TILE) {
        for (int c0 = 0; c0 < cols; c0 += LOCAL_ATTENTION_TILE) {
            const int r1 = MIN (r0 + LOCAL_ATTENTION_TILE, rows);
            const int c1 = MIN (c0 + LOCAL_ATTENTION_TILE, cols);

            for (int c = c0; c < c1; c++) {
                float *dst_c = dst + (size_t) c * rows;

                for (int r = r0; r < r1; r++) {
                    const float value = src[(size_t) r * cols + c];

                    dst_c[r] = accumulate ? dst_c[r] + value : value;
                }
            }
        }
    }
}

static float
local_attention_dot (const float *a /* [n] */, const float *b /* [n] */, int n)
{
    float sum = 0.0f;

#pragma omp simd reduction(+ : sum)
    for (int i = 0; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

/* The window slots j whose key t - W/2 + j lies in [0, T): [*j_begin, *j_end). */
static void
local_attention_window (int t, int T, int W, int *j_begin, int *j_end)
{
    *j_begin = MAX (0, W / 2 - t);
    *j_end = MIN (W, T - t + W / 2);
}

/* The tile positions i (query t0 + i) whose window slot j holds a key
 * inside [0, T), key = t0 + i - W/2 + j: [*i_begin, *i_end). */
static void
local_attention_slot_range (int j, int t0, int n, int T, int W, int *i_begin, int *i_end)
{
    *i_begin = MAX (0, W / 2 - j - t0);
    *i_end = MAX (*i_begin, MIN (n, T - t0 - j + W / 2));
}

/* The forward of one (b, h) block for the n <= LOCAL_ATTENTION_QUERY_TILE
 * queries from t0, straight from the channels-first rows: every inner loop
 * runs along time, contiguous in q, k, v and out. score holds the tile's
 * scores, then its weights, slot-major. */
static TSL_VECTOR_CLONES void
local_attention_forward_tile (float *out /* [Dh, T] of (b, h) */, float *att /* [T, W] of (b, h) */,
                              float *score /* [W, LOCAL_ATTENTION_QUERY_TILE] */,
                              const float *q /* [Dh, T] */, const float *k /* [Dh, T] */,
                              const float *v /* [Dh, T] */, const float *mask /* [T] */, int Dh,
                              int T, int W, float scale, int t0, int n)
{
    const int half = W / 2;
    float max_score[LOCAL_ATTENTION_QUERY_TILE], sum[LOCAL_ATTENTION_QUERY_TILE];
    float acc[LOCAL_ATTENTION_QUERY_TILE];

    /* pass 1: score[j, i] = q[:, t] . k[:, key]; slots outside [0, T) stay unused */
    for (int i = 0; i < W * LOCAL_ATTENTION_QUERY_TILE; i++)
        score[i] = 0.0f;
    for (int d = 0; d < Dh; d++) {
        const float *q_d = q + (size_t) d * T + t0;  /* [n] */

        for (int j = 0; j < W; j++) {
            float *score_j = score + j * LOCAL_ATTENTION_QUERY_TILE;  /* [n] */
            const int shift = t0 + j - half;                          /* key of i = 0 */
            const float *k_d = k + (size_t) d * T;                    /* [T] */
            int i_begin, i_end;

            local_attention_slot_range (j, t0, n, T, W, &i_begin, &i_end);
#pragma omp simd
            for (int i = i_begin; i < i_end; i++)
                score_j[i] += q_d[i] * k_d[shift + i];
        }
    }

    /* pass 2: softmax over the slots inside [0, T) of scale * score, with
     * (mask[key] - 1) 1e4 added: -1e4 on padded keys */
    for (int i = 0; i < n; i++) {
        max_score[i] = -INFINITY;
        sum[i] = 0.0f;
    }
    for (int j = 0; j < W; j++) {
        float *score_j = score + j * LOCAL_ATTENTION_QUERY_TILE;
        const int shift = t0 + j - half;
        int i_begin, i_end;

        local_attention_slot_range (j, t0, n, T, W, &i_begin, &i_end);
#pragma omp simd
        for (int i = i_begin; i < i_end; i++) {
            const float s = scale * score_j[i] + (mask[shift + i] - 1.0f) * 1e4f;

            score_j[i] = s;
            max_score[i] = tsl_max (s, max_score[i]);
        }
    }
    for (int j = 0; j < W; j++) {
        float *score_j = score + j * LOCAL_ATTENTION_QUERY_TILE;
        int i_begin, i_end;

        local_attention_slot_range (j, t0, n, T, W, &i_begin, &i_end);
#pragma omp simd
        for (int i = i_begin; i < i_end; i++) {
            const float e = tsl_exp_nonpositive (score_j[i] - max_score[i]);

            score_j[i] = e;
            sum[i] += e;
        }
    }
    /* the query's own slot is always inside, so sum >= 1; a masked query's
     * weights (and so its output) become 0 */
    for (int i = 0; i < n; i++)
        sum[i] = mask[t0 + i] / sum[i];
    for (int j = 0; j < W; j++) {
        float *score_j = score + j * LOCAL_ATTENTION_QUERY_TILE;
        int i_begin, i_end;

        local_attention_slot_range (j, t0, n, T, W, &i_begin, &i_end);
#pragma omp simd
        for (int i = i_begin; i < i_end; i++)
            score_j[i] *= sum[i];
    }

    /* att[t, j], 0 in the slots outside [0, T) */
    for (int i = 0; i < n; i++) {
        float *att_t = att + (size_t) (t0 + i) * W;

        for (int j = 0; j < W; j++) {
            const int key = t0 + i - half + j;

            att_t[j] = key >= 0 && key < T ? score[j * LOCAL_ATTENTION_QUERY_TILE + i] : 0.0f;
        }
    }

    /* pass 3: out[d, t] = sum over the slots of weight * v[d, key] */
    for (int d = 0; d < Dh; d++) {
        const float *v_d = v + (size_t) d * T;  /* [T] */
        float *out_d = out + (size_t) d * T + t0;  /* [n] */

        for (int i = 0; i < n; i++)
            acc[i] = 0.0f;
        for (int j = 0; j < W; j++) {
            const float *score_j = score + j * LOCAL_ATTENTION_QUERY_TILE;
            const int shift = t0 + j - half;
            int i_begin, i_end;

            local_attention_slot_range (j, t0, n, T, W, &i_begin, &i_end);
#pragma omp simd
            for (int i = i_begin; i < i_end; i++)
                acc[i] += score_j[i] * v_d[shift + i];
        }
        for (int i = 0; i < n; i++)
            out_d[i] = acc[i];
    }
}

void
tsl_cpu_local_attention (TslBackend *be, float *out, float *att, const float *q, const float *k,
                         const float *v, const float *mask, int B, int C, int T, int H, int W,
                         float scale)
{
    const int Dh = C / H;
    const int n_tiles = (T + LOCAL_ATTENTION_QUERY_TILE - 1) / LOCAL_ATTENTION_QUERY_TILE;
    const size_t tile_floats = (size_t) W * LOCAL_ATTENTION_QUERY_TILE;
    float *ws = tsl_backend_workspace (be, (size_t) B * H * n_tiles * tile_floats * sizeof (float));

    if (ws == NULL)
        return;
    /* over (b, h, query tile): each iteration alone writes its queries' rows
     * of out and att, and its own score slice of the workspace */
#pragma omp parallel for collapse(3)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < H; h++) {
            for (int tile = 0; tile < n_tiles; tile++) {
                const size_t offset = ((size_t) b * C + (size_t) h * Dh) * T;
                const int t0 = tile * LOCAL_ATTENTION_QUERY_TILE;
                float *score = ws + (((size_t) b * H + h) * n_tiles + tile) * tile_floats;

                local_attention_forward_tile (out + offset, att + ((size_t) b * H + h) * T * W,
                                              score, q + offset, k + offset, v + offset,
                                              mask + (size_t) b * T, Dh, T, W, scale, t0,
                                              MIN (T - t0, LOCAL_ATTENTION_QUERY_TILE));
            }
        }
    }
}

/* ---- backward ---- */

void
tsl_cpu_local_attention_backward (TslBackend *be, float *dq, float *dk, float *dv,
                                  const float *dout, const float *att, const float *q,
                                  const float *k, const float *v, int B, int C, int T, int H,
                                  int W, float scale)
{
    const int Dh = C / H;
    const size_t block = (size_t) T * Dh;
    float *ws = tsl_backend_workspace (be, (7 * block + (size_t) T * W) * sizeof (float));

    if (ws == NULL)
        return;
    float *q_t = ws, *k_t = ws + block, *v_t = ws + 2 * block; /* [T, Dh] each */
    float *dout_t = ws + 3 * block;                             /* [T, Dh] */
    float *dq_t = ws + 4 * block, *dk_t = ws + 5 * block;       /* [T, Dh] each */
    float *dv_t = ws + 6 * block;                               /* [T, Dh] */
    float *dscore = ws + 7 * block;                             /* [T, W] */
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < H; h++) {
            const size_t offset = ((size_t) b * C + (size_t) h * Dh) * T;
            const float *att_bh = att + ((size_t) b * H + h) * T * W;

            local_attention_transpose (q_t, q + offset, Dh, T, FALSE);
            local_attention_transpose (k_t, k + offset, Dh, T, FALSE);
            local_attention_transpose (v_t, v + offset, Dh, T, FALSE);
            local_attention_transpose (dout_t, dout + offset, Dh, T, FALSE);

            /* pass 1, per query t: dscore through the softmax, then dq[t] */
#pragma omp parallel for
            for (int t = 0; t < T; t++) {
                const float *att_t = att_bh + (size_t) t * W;
                const float *dout_tt = dout_t + (size_t) t * Dh;
                float *dscore_t = dscore + (size_t) t * W;
                float *dq_tt = dq_t + (size_t) t * Dh;
                float att_dot_datt = 0.0f;
                int j_begin, j_end;

                local_attention_window (t, T, W, &j_begin, &j_end);
                for (int j = 0; j < W; j++)
                    dscore_t[j] = 0.0f;
                for (int d = 0; d < Dh; d++)
                    dq_tt[d] = 0.0f;
                for (int j = j_begin; j < j_end; j++) {
                    const int key = t - W / 2 + j;

                    dscore_t[j] = local_attention_dot (dout_tt, v_t + (size_t) key * Dh, Dh);
                    att_dot_datt += att_t[j] * dscore_t[j];
                }
                for (int j = j_begin; j < j_end; j++) {
                    const float *k_key = k_t + (size_t) (t - W / 2 + j) * Dh;
                    const float ds = att_t[j] * (dscore_t[j] - att_dot_datt);

                    dscore_t[j] = ds;
#pragma omp simd
                    for (int d = 0; d < Dh; d++)
                        dq_tt[d] += scale * ds * k_key[d];
                }
            }

            /* pass 2, per key s: gather from the queries t = s + W/2 - j */
#pragma omp parallel for
            for (int s = 0; s < T; s++) {
                float *dk_s = dk_t + (size_t) s * Dh;
                float *dv_s = dv_t + (size_t) s * Dh;

                for (int d = 0; d < Dh; d++) {
                    dk_s[d] = 0.0f;
                    dv_s[d] = 0.0f;
                }
                for (int j = 0; j < W; j++) {
                    const int t = s + W / 2 - j;

                    if (t < 0 || t >= T)
                        continue;
                    const float ds = scale * dscore[(size_t) t * W + j];
                    const float att_tj = att_bh[(size_t) t * W + j];
                    const float *q_tt = q_t + (size_t) t * Dh;
                    const float *dout_tt = dout_t + (size_t) t * Dh;

#pragma omp simd
                    for (int d = 0; d < Dh; d++) {
                        dk_s[d] += ds * q_tt[d];
                        dv_s[d] += att_tj * dout_tt[d];
                    }
                }
            }

            local_attention_transpose (dq + offset, dq_t, T, Dh, TRUE);
            local_attention_transpose (dk + offset, dk_t, T, Dh, TRUE);
            local_attention_transpose (dv + offset, dv_t, T, Dh, TRUE);
        }
    }
}

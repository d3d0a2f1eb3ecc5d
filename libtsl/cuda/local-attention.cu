/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda/local-attention.cu: ActionFormer's banded masked self-attention
 * (LocalMaskedMHCA in libs/modeling/blocks.py of
 * happyharrycn/actionformer_release), forward and backward. Layout and
 * semantics: TslLocalAttentionFn in ../ops.h (CPU version:
 * cpu/local-attention.c).
 *
 * q, k, v, out are channels-first [B, C, T], C = H * Dh, so one (b, h) is a
 * [Dh, T] matrix whose rows are contiguous in t: kernels put consecutive t
 * on consecutive threads so that every load of a d row is coalesced.
 * att[b, h, t, j] is the weight of key t - W/2 + j (0 for keys outside
 * [0, T) and for whole rows of masked queries); the W weights of
 * consecutive queries are contiguous.
 *
 * Forward, two kernels:
 * 1. scores and softmax: one block per (b, h, tile of queries); the
 *    block's threads compute the tile's [tile, W] scores (one (query, slot)
 *    pair each, a dot product over d) into shared memory, then one warp per
 *    query takes the softmax with shuffles and writes att;
 * 2. out[b, c, t] = sum over j of att[b, h, t, j] v[b, c, key], one thread
 *    per output.
 * Backward, two kernels, writing only through gathers (deterministic):
 * 1. ds = att * (datt - sum_j att datt) with datt[t, j] = dout[t] . v[key],
 *    blocked like forward kernel 1, into the workspace [B, H, T, W];
 * 2. one thread per (b, c, s): dq[s] += scale sum_j ds[s, j] k[key],
 *    dk[s] += scale sum_j ds[t, j] q[t] and dv[s] += sum_j att[t, j] dout[t]
 *    over the queries t = s + W/2 - j that see key s.
 * Forward overwrites out and att; backward ADDS into dq, dk and dv.
 */
#include "cuda-ops.h"
#include "cuda-common.h"

#define LOCAL_ATTENTION_THREADS 256
#define LOCAL_ATTENTION_MAX_TILE 32
/* the [tile, W] block of scores must fit the default 48 KiB of shared memory */
#define LOCAL_ATTENTION_SMEM_FLOATS 12288

/* ---- kernels ---- */

/* grid (query tiles, B * H), LOCAL_ATTENTION_THREADS threads, tile * W floats of shared memory */
__global__ void
local_attention_scores_kernel (float *att /* [B, H, T, W] */, const float *q /* [B, C, T] */,
                               const float *k /* [B, C, T] */, const float *mask /* [B, T] */,
                               int C, int T, int H, int W, int tile, float scale)
{
    extern __shared__ float scores[];  /* [tile, W] */
    const int bh = blockIdx.y, b = bh / H, h = bh % H, Dh = C / H, half = W / 2;
    const int t0 = blockIdx.x * tile;
    const size_t head = ((size_t) b * C + (size_t) h * Dh) * T;
    const float *q_bh = q + head;  /* [Dh, T] */
    const float *k_bh = k + head;  /* [Dh, T] */
    const float *mask_b = mask + (size_t) b * T;

    /* pass 1: scores of the keys inside [0, T), -1e4 added for masked keys,
     * -inf for keys outside (they come out of the softmax as 0) */
    for (int p = threadIdx.x; p < tile * W; p += blockDim.x) {
        const int qi = p % tile, j = p / tile;
        const int t = t0 + qi, key = t - half + j;
        float score = -INFINITY;

        if (t < T && key >= 0 && key < T) {
            float dot = 0.0f;
            for (int d = 0; d < Dh; d++)
                dot += q_bh[(size_t) d * T + t] * k_bh[(size_t) d * T + key];
            score = scale * dot;
            if (mask_b[key] == 0.0f)
                score += -1e4f;
        }
        scores[qi * W + j] = score;
    }
    __syncthreads ();

    /* pass 2: softmax over the window, one warp per query */
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, n_warps = blockDim.x / 32;
    for (int qi = warp; qi < tile && t0 + qi < T; qi += n_warps) {
        const int t = t0 + qi;
        const float *scores_t = scores + qi * W;            /* [W] */
        float *att_t = att + ((size_t) bh * T + t) * W;     /* [W] */
        float max_score = -INFINITY, sum = 0.0f;

        if (mask_b[t] == 0.0f) {
            for (int j = lane; j < W; j += 32)
                att_t[j] = 0.0f;  /* a masked query's row is 0 */
            continue;
        }
        for (int j = lane; j < W; j += 32)
            max_score = fmaxf (max_score, scores_t[j]);
        max_score = tsl_warp_max (max_score);  /* finite: key t itself is always inside */
        for (int j = lane; j < W; j += 32)
            sum += expf (scores_t[j] - max_score);
        sum = tsl_warp_sum (sum);
        for (int j = lane; j < W; j += 32)
            att_t[j] = expf (scores_t[j] - max_score) / sum;
    }
}

/* one thread per output (b, c, t) */
__global__ void
local_attention_output_kernel (float *out /* [B, C, T] */, const float *att /* [B, H, T, W] */,
                               const float *v /* [B, C, T] */, const float *mask /* [B, T] */,
                               int C, int T, int H, int W, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const int t = idx % T, c = (idx / T) % C;
    const size_t b = idx / ((size_t) C * T);
    const int h = c / (C / H), half = W / 2;
    const int j_begin = max (0, half - t), j_end = min (W, T - t + half);
    const float *att_t = att + ((b * H + h) * T + t) * W;  /* [W] */
    const float *v_bc = v + (b * C + c) * T;                /* [T] */
    float acc = 0.0f;

    if (mask[b * T + t] == 0.0f) {
        out[idx] = 0.0f;
        return;
    }
    for (int j = j_begin; j < j_end; j++)
        acc += att_t[j] * v_bc[t - half + j];
    out[idx] = acc;
}

/* ds = att * (datt - sum_j att datt), datt[t, j] = sum over d of dout[d, t] v[d, key];
 * 0 outside [0, T). Same grid, block and shared memory as the scores kernel. */
__global__ void
local_attention_dscore_kernel (float *dscore /* [B, H, T, W] */,
                               const float *dout /* [B, C, T] */,
                               const float *att /* [B, H, T, W] */, const float *v /* [B, C, T] */,
                               int C, int T, int H, int W, int tile)
{
    extern __shared__ float datt[];  /* [tile, W] */
    const int bh = blockIdx.y, b = bh / H, h = bh % H, Dh = C / H, half = W / 2;
    const int t0 = blockIdx.x * tile;
    const size_t head = ((size_t) b * C + (size_t) h * Dh) * T;
    const float *dout_bh = dout + head;  /* [Dh, T] */
    const float *v_bh = v + head;        /* [Dh, T] */

    /* pass 1: datt of the keys inside [0, T) */
    for (int p = threadIdx.x; p < tile * W; p += blockDim.x) {
        const int qi = p % tile, j = p / tile;
        const int t = t0 + qi, key = t - half + j;
        float dot = 0.0f;

        if (t < T && key >= 0 && key < T)
            for (int d = 0; d < Dh; d++)
                dot += dout_bh[(size_t) d * T + t] * v_bh[(size_t) d * T + key];
        datt[qi * W + j] = dot;
    }
    __syncthreads ();

    /* pass 2: through the softmax, one warp per query */
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, n_warps = blockDim.x / 32;
    for (int qi = warp; qi < tile && t0 + qi < T; qi += n_warps) {
        const int t = t0 + qi;
        const int j_begin = max (0, half - t), j_end = min (W, T - t + half);
        const float *datt_t = datt + qi * W;                  /* [W] */
        const float *att_t = att + ((size_t) bh * T + t) * W; /* [W] */
        float *dscore_t = dscore + ((size_t) bh * T + t) * W; /* [W] */
        float dot = 0.0f;

        for (int j = lane; j < W; j += 32)
            dot += att_t[j] * datt_t[j];
        dot = tsl_warp_sum (dot);
        for (int j = lane; j < W; j += 32)
            dscore_t[j] = j >= j_begin && j < j_end ? att_t[j] * (datt_t[j] - dot) : 0.0f;
    }
}

/* one thread per (b, c, s) */
__global__ void
local_attention_gather_kernel (float *dq /* [B, C, T] */, float *dk /* [B, C, T] */,
                               float *dv /* [B, C, T] */, const float *dscore /* [B, H, T, W] */,
                               const float *att /* [B, H, T, W] */,
                               const float *dout /* [B, C, T] */, const float *q /* [B, C, T] */,
                               const float *k /* [B, C, T] */, int C, int T, int H, int W,
                               float scale, size_t n)
{
    const size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (idx >= n)
        return;
    const int s = idx % T, c = (idx / T) % C;
    const size_t b = idx / ((size_t) C * T);
    const int h = c / (C / H), half = W / 2;
    const size_t rows = (b * H + h) * T;  /* row (t) 0 of this (b, h) in att and dscore */
    const float *q_bc = q + (b * C + c) * T;        /* [T] */
    const float *k_bc = k + (b * C + c) * T;        /* [T] */
    const float *dout_bc = dout + (b * C + c) * T;  /* [T] */
    float acc_q = 0.0f, acc_k = 0.0f, acc_v = 0.0f;

    for (int j = 0; j < W; j++) {
        const int key = s - half + j;  /* s as a query: its j-th key */
        const int t = s + half - j;    /* s as a key: the query whose j-th key it is */

        if (key >= 0 && key < T)
            acc_q += dscore[(rows + s) * W + j] * k_bc[key];
        if (t >= 0 && t < T) {
            acc_k += dscore[(rows + t) * W + j] * q_bc[t];
            acc_v += att[(rows + t) * W + j] * dout_bc[t];
        }
    }
    dq[idx] += scale * acc_q;
    dk[idx] += scale * acc_k;
    dv[idx] += acc_v;
}

/* ---- launchers ---- */

/* queries per block: as many as fit, at most LOCAL_ATTENTION_MAX_TILE */
static int
local_attention_tile (int W)
{
    return CLAMP (LOCAL_ATTENTION_SMEM_FLOATS / W, 1, LOCAL_ATTENTION_MAX_TILE);
}

static gboolean
local_attention_window_fits (TslBackend *be, int W)
{
    if (W >= 1 && W <= LOCAL_ATTENTION_SMEM_FLOATS)
        return TRUE;
    tsl_backend_set_error (be, TSL_ERROR_UNSUPPORTED,
                           "local attention: window %d outside 1 .. %d on CUDA", W,
                           LOCAL_ATTENTION_SMEM_FLOATS);
    return FALSE;
}

void
tsl_cuda_local_attention (TslBackend *be, float *out, float *att, const float *q, const float *k,
                          const float *v, const float *mask, int B, int C, int T, int H, int W,
                          float scale)
{
    cudaStream_t stream = tsl_cuda_stream (be);
    const size_t n = (size_t) B * C * T;
    const int tile = local_attention_tile (MAX (W, 1));

    if (n == 0 || H <= 0 || !local_attention_window_fits (be, W))
        return;
    const dim3 grid (TSL_CEIL_DIV (T, tile), B * H);
    local_attention_scores_kernel<<<grid, LOCAL_ATTENTION_THREADS, tile * W * sizeof (float),
                                    stream>>> (att, q, k, mask, C, T, H, W, tile, scale);
    if (!TSL_CUDA_CHECK_LAUNCH (be))
        return;
    local_attention_output_kernel<<<(unsigned int) TSL_CEIL_DIV (n, (size_t) TSL_CUDA_BLOCK),
                                    TSL_CUDA_BLOCK, 0, stream>>> (out, att, v, mask, C, T, H, W,
                                                                  n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

void
tsl_cuda_local_attention_backward (TslBackend *be, float *dq, float *dk, float *dv,
                                   const float *dout, const float *att, const float *q,
                                   const float *k, const float *v, int B, int C, int T, int H,
                                   int W, float scale)
{
    cudaStream_t stream = tsl_cuda_stream (be);
    const size_t n = (size_t) B * C * T;
    const int tile = local_attention_tile (MAX (W, 1));
    float *dscore;  /* [B, H, T, W] */

    if (n == 0 || H <= 0 || !local_attention_window_fits (be, W))
        return;
    dscore = (float *) tsl_backend_workspace (be, (size_t) B * H * T * W * sizeof (float));
    if (dscore == NULL)
        return;
    const dim3 grid (TSL_CEIL_DIV (T, tile), B * H);
    local_attention_dscore_kernel<<<grid, LOCAL_ATTENTION_THREADS, tile * W * sizeof (float),
                                    stream>>> (dscore, dout, att, v, C, T, H, W, tile);
    if (!TSL_CUDA_CHECK_LAUNCH (be))
        return;
    local_attention_gather_kernel<<<(unsigned int) TSL_CEIL_DIV (n, (size_t) TSL_CUDA_BLOCK),
                                    TSL_CUDA_BLOCK, 0, stream>>> (dq, dk, dv, dscore, att, dout, q,
                                                                  k, C, T, H, W, scale, n);
    TSL_CUDA_CHECK_LAUNCH (be);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda-common.h: what every CUDA op file needs: the backend context (one
 * stream, one cuBLAS handle), error checks that carry file and line, the
 * grid-size helper, and warp/block reductions.
 *
 * Two kinds of error checks:
 * - fallible host calls (backend set-up, synchronize) use
 *   TSL_CUDA_CHECK (expr, error) / TSL_CUBLAS_CHECK (expr, error): on failure
 *   they set a TSL_ERROR_CUDA GError "cuda/backend.cu:57: expr: message" and
 *   `goto out` (so no variable may be initialised between a check and `out:`);
 * - ops return void, so TSL_CUDA_CHECK_LAUNCH (be) (after every kernel
 *   launch), TSL_CUDA_CHECK_OP (be, expr) and TSL_CUBLAS_CHECK_OP (be, expr)
 *   record the first failure in the backend's sticky error, which
 *   tsl_backend_synchronize() reports.
 *
 * Include this after cuda-ops.h, which declares the ops with C linkage.
 */
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <string.h>

#include "cuda-ops.h"

/* threads per block for the flat elementwise kernels */
#define TSL_CUDA_BLOCK 256

#define TSL_CEIL_DIV(a, b) (((a) + (b) - 1) / (b))

/* be->context of a CUDA backend */
typedef struct {
    int device;             /* the CUDA device this backend runs on */
    cudaStream_t stream;    /* every op, copy and cuBLAS call is queued here */
    cublasHandle_t cublas;  /* bound to `stream`, FP32 maths (no TF32) */
} TslCudaContext;

static inline cudaStream_t
tsl_cuda_stream (const TslBackend *be)
{
    return ((const TslCudaContext *) be->context)->stream;
}

static inline cublasHandle_t
tsl_cuda_cublas (const TslBackend *be)
{
    return ((const TslCudaContext *) be->context)->cublas;
}

/* "../libtsl/cuda/gemm.cu" -> "cuda/gemm.cu" */
static inline const char *
tsl_cuda_source_name (const char *path)
{
    const char *inside = strstr (path, "libtsl/");

    return inside ? inside + strlen ("libtsl/") : path;
}

/* ---- checks for fallible host calls: set *error and goto out ---- */

#define TSL_CUDA_CHECK(expr, error)                                                             \
    do {                                                                                        \
        cudaError_t tsl_cuda_status_ = (expr);                                                  \
        if (tsl_cuda_status_ != cudaSuccess) {                                                  \
            g_set_error ((error), TSL_ERROR, TSL_ERROR_CUDA, "%s:%d: %s: %s",                   \
                         tsl_cuda_source_name (__FILE__), __LINE__, #expr,                      \
                         cudaGetErrorString (tsl_cuda_status_));                                \
            goto out;                                                                           \
        }                                                                                       \
    } while (0)

#define TSL_CUBLAS_CHECK(expr, error)                                                           \
    do {                                                                                        \
        cublasStatus_t tsl_cublas_status_ = (expr);                                             \
        if (tsl_cublas_status_ != CUBLAS_STATUS_SUCCESS) {                                      \
            g_set_error ((error), TSL_ERROR, TSL_ERROR_CUDA, "%s:%d: %s: %s",                   \
                         tsl_cuda_source_name (__FILE__), __LINE__, #expr,                      \
                         cublasGetStatusString (tsl_cublas_status_));                           \
            goto out;                                                                           \
        }                                                                                       \
    } while (0)

/* ---- checks inside ops: record the first failure in the backend ---- */

static inline gboolean
tsl_cuda_check_status (TslBackend *be, cudaError_t status, const char *file, int line,
                       const char *what)
{
    if (status == cudaSuccess)
        return TRUE;
    tsl_backend_set_error (be, TSL_ERROR_CUDA, "%s:%d: %s: %s", tsl_cuda_source_name (file),
                           line, what, cudaGetErrorString (status));
    return FALSE;
}

static inline gboolean
tsl_cublas_check_status (TslBackend *be, cublasStatus_t status, const char *file, int line,
                         const char *what)
{
    if (status == CUBLAS_STATUS_SUCCESS)
        return TRUE;
    tsl_backend_set_error (be, TSL_ERROR_CUDA, "%s:%d: %s: %s", tsl_cuda_source_name (file),
                           line, what, cublasGetStatusString (status));
    return FALSE;
}

#define TSL_CUDA_CHECK_LAUNCH(be)                                                               \
    tsl_cuda_check_status ((be), cudaGetLastError (), __FILE__, __LINE__, "kernel launch")
#define TSL_CUDA_CHECK_OP(be, expr)                                                             \
    tsl_cuda_check_status ((be), (expr), __FILE__, __LINE__, #expr)
#define TSL_CUBLAS_CHECK_OP(be, expr)                                                           \
    tsl_cublas_check_status ((be), (expr), __FILE__, __LINE__, #expr)

/* ---- shared launchers (gemm.cu) ---- */

/* Row-major c[i] = alpha op(a[i]) op(b[i]) + beta c[i] for i < batch, like
 * TslGemmFn but with explicit leading dimensions (floats between rows), so
 * that strided views (a head of a fused qkv, one batch item of a
 * [C, B, T] block) need no copy. Batch strides may be 0 (shared operand). */
void tsl_cuda_gemm_ld (TslBackend *be, float *c, int ldc, long long stride_c, const float *a,
                       int lda, long long stride_a, const float *b, int ldb, long long stride_b,
                       int batch, int M, int N, int K, gboolean trans_a, gboolean trans_b,
                       float alpha, float beta);

/* Deterministic sums to one float (optimizer.cu): a first-pass kernel of
 * tsl_cuda_reduce_blocks (n) blocks of TSL_CUDA_BLOCK threads writes one
 * double per block, then tsl_cuda_sum_partials adds them in a fixed order
 * and stores (float) total in out[0]. */
#define TSL_CUDA_REDUCE_MAX_BLOCKS 1024
int tsl_cuda_reduce_blocks (size_t n);
void tsl_cuda_sum_partials (TslBackend *be, float *out, const double *partials, int n_partials);

/* ---- reductions ---- */

#define TSL_CUDA_FULL_WARP 0xffffffffu

template <typename T>
__device__ __forceinline__ T
tsl_warp_sum (T value)
{
    for (int offset = 16; offset > 0; offset >>= 1)
        value += __shfl_xor_sync (TSL_CUDA_FULL_WARP, value, offset);
    return value;
}

__device__ __forceinline__ float
tsl_warp_max (float value)
{
    for (int offset = 16; offset > 0; offset >>= 1)
        value = fmaxf (value, __shfl_xor_sync (TSL_CUDA_FULL_WARP, value, offset));
    return value;
}

/* Sum over the whole block, returned to every thread. The block must be
 * one-dimensional with blockDim.x a multiple of 32 (at most 1024), and
 * every thread of the block must call it;
 * it may be called repeatedly (the first barrier protects the slots). */
template <typename T>
__device__ T
tsl_block_sum (T value)
{
    __shared__ T warp_sums[32];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int n_warps = blockDim.x / 32;

    value = tsl_warp_sum (value);
    __syncthreads ();
    if (lane == 0)
        warp_sums[warp] = value;
    __syncthreads ();
    value = lane < n_warps ? warp_sums[lane] : (T) 0;
    return tsl_warp_sum (value);
}

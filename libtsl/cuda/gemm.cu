/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda/gemm.cu: batched, strided row-major matrix product through
 * cublasGemmStridedBatchedEx in FP32 (CUBLAS_COMPUTE_32F: no TF32).
 * Layout and semantics: TslGemmFn in ../ops.h; tsl_cuda_gemm_ld (in
 * cuda-common.h) is the same product with explicit leading dimensions.
 *
 * cuBLAS is column-major. A row-major [M, N] matrix with leading dimension
 * ld is the column-major [N, M] matrix with the same ld, so
 * c = op(a) op(b) is computed as c^T = op(b)^T op(a)^T: the operands are
 * swapped and M and N trade places, while each operand keeps its own
 * transpose flag and leading dimension.
 */
#include "cuda-ops.h"
#include "cuda-common.h"

/* ---- launchers ---- */

void
tsl_cuda_gemm_ld (TslBackend *be, float *c, int ldc, long long stride_c, const float *a, int lda,
                  long long stride_a, const float *b, int ldb, long long stride_b, int batch,
                  int M, int N, int K, gboolean trans_a, gboolean trans_b, float alpha, float beta)
{
    if (batch <= 0 || M <= 0 || N <= 0)
        return;
    /* cuBLAS wants every leading dimension >= 1, even for an empty K */
    TSL_CUBLAS_CHECK_OP (be, cublasGemmStridedBatchedEx (
        tsl_cuda_cublas (be), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
        trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, b, CUDA_R_32F, MAX (ldb, 1),
        stride_b, a, CUDA_R_32F, MAX (lda, 1), stride_a, &beta, c, CUDA_R_32F, MAX (ldc, 1),
        stride_c, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void
tsl_cuda_gemm (TslBackend *be, float *c, const float *a, const float *b, int batch, int M, int N,
               int K, gboolean trans_a, gboolean trans_b, float alpha, float beta,
               size_t stride_a, size_t stride_b, size_t stride_c)
{
    const int lda = trans_a ? M : K;  /* a is [K, M] or [M, K] */
    const int ldb = trans_b ? K : N;  /* b is [N, K] or [K, N] */

    tsl_cuda_gemm_ld (be, c, N, (long long) stride_c, a, lda, (long long) stride_a, b, ldb,
                      (long long) stride_b, batch, M, N, K, trans_a, trans_b, alpha, beta);
}

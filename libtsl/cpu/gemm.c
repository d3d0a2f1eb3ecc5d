/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/gemm.c: batched, strided row-major matrix product through OpenBLAS
 * cblas_sgemm. Layout and semantics: TslGemmFn in ../ops.h.
 */
#include <cblas.h>

#include "cpu-ops.h"

void
tsl_cpu_gemm (TslBackend *be, float *c, const float *a, const float *b, int batch, int M, int N,
              int K, gboolean trans_a, gboolean trans_b, float alpha, float beta, size_t stride_a,
              size_t stride_b, size_t stride_c)
{
    const int lda = trans_a ? M : K;
    const int ldb = trans_b ? K : N;

    for (int i = 0; i < batch; i++) {
        cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                     trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, a + i * stride_a, lda,
                     b + i * stride_b, ldb, beta, c + i * stride_c, N);
    }
}

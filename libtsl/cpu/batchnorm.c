/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/batchnorm.c: batch normalisation in inference form (running
 * statistics), channels-first [B, C, S] with S the flattened spatial size,
 * as in torch.nn.BatchNorm1d/2d in eval mode. Semantics: TslBatchNormFn in
 * ../ops.h. Overwrites out. Inference only: there is no backward op.
 */
#include <math.h>

#include "cpu-ops.h"

/* below this many elements, starting threads costs more than it saves */
#define BATCHNORM_PARALLEL_MIN 16384

void
tsl_cpu_batchnorm (TslBackend *be, float *out, const float *x, const float *mean,
                   const float *var, const float *gamma, const float *beta, int B, int C, int S,
                   float eps)
{
    /* each (b, c) alone writes out[b, c, :] */
    #pragma omp parallel for collapse (2) if ((size_t) B * C * S >= BATCHNORM_PARALLEL_MIN)
    for (int b = 0; b < B; b++) {
        for (int c = 0; c < C; c++) {
            const size_t offset = ((size_t) b * C + c) * S;
            const float *x_bc = x + offset;  /* [S] */
            float *out_bc = out + offset;    /* [S] */
            const float scale_c = gamma[c] / sqrtf (var[c] + eps);
            const float mean_c = mean[c], beta_c = beta[c];

            #pragma omp simd
            for (int s = 0; s < S; s++)
                out_bc[s] = (x_bc[s] - mean_c) * scale_c + beta_c;
        }
    }
}

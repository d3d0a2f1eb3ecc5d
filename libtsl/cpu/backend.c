/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/backend.c: the CPU op table and host memory. Every op runs
 * synchronously on the calling thread, with OpenMP inside the op (and
 * OpenBLAS built for OpenMP, so both share one thread pool).
 */
#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu-ops.h"

#define TSL_CPU_ALIGNMENT 256

static void *
cpu_alloc (TslBackend *be, size_t bytes, GError **error)
{
    void *ptr = NULL;
    size_t rounded = (bytes + TSL_CPU_ALIGNMENT - 1) / TSL_CPU_ALIGNMENT * TSL_CPU_ALIGNMENT;

    if (rounded == 0)
        rounded = TSL_CPU_ALIGNMENT;
    ptr = aligned_alloc (TSL_CPU_ALIGNMENT, rounded);
    if (ptr == NULL)
        g_set_error (error, TSL_ERROR, TSL_ERROR_IO, "out of host memory (%zu bytes)", bytes);
    return ptr;
}

static void
cpu_free (TslBackend *be, void *ptr)
{
    free (ptr);
}

/* copies of at least this many bytes are split over the threads */
#define TSL_CPU_PARALLEL_COPY_MIN (4u << 20)
#define TSL_CPU_COPY_CHUNK (1u << 20)

static void
cpu_copy (TslBackend *be, void *dst, const void *src, size_t bytes)
{
    const uintptr_t s = (uintptr_t) src, d = (uintptr_t) dst;
    const size_t n_chunks = (bytes + TSL_CPU_COPY_CHUNK - 1) / TSL_CPU_COPY_CHUNK;

    if (bytes == 0 || dst == src)
        return;
    if (bytes < TSL_CPU_PARALLEL_COPY_MIN || (d < s + bytes && s < d + bytes)) {
        memmove (dst, src, bytes);  /* small, or overlapping */
        return;
    }
    /* each chunk alone writes its bytes of dst */
    #pragma omp parallel for
    for (size_t chunk = 0; chunk < n_chunks; chunk++) {
        const size_t offset = chunk * TSL_CPU_COPY_CHUNK;

        memcpy ((char *) dst + offset, (const char *) src + offset,
                MIN (TSL_CPU_COPY_CHUNK, bytes - offset));
    }
}

static void
cpu_zero (TslBackend *be, void *dst, size_t bytes)
{
    memset (dst, 0, bytes);
}

static const TslBackendOps cpu_ops = {
    .version = TSL_BACKEND_OPS_VERSION,
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_copy,
    .download = cpu_copy,
    .copy = cpu_copy,
    .zero = cpu_zero,
    .synchronize = NULL,
    .destroy = NULL,

    /* linear algebra */
    .gemm = tsl_cpu_gemm,

    /* elementwise, activations, normalisation, pooling */
    .bias_add = tsl_cpu_bias_add,
    .bias_add_backward = tsl_cpu_bias_add_backward,
    .add = tsl_cpu_add,
    .add_backward = tsl_cpu_add_backward,
    .mul = tsl_cpu_mul,
    .mul_backward = tsl_cpu_mul_backward,
    .scale = tsl_cpu_scale,
    .scale_backward = tsl_cpu_scale_backward,
    .channel_scale = tsl_cpu_channel_scale,
    .channel_scale_backward = tsl_cpu_channel_scale_backward,
    .mean = tsl_cpu_mean,
    .mean_backward = tsl_cpu_mean_backward,
    .gelu = tsl_cpu_gelu,
    .gelu_backward = tsl_cpu_gelu_backward,
    .relu = tsl_cpu_relu,
    .relu_backward = tsl_cpu_relu_backward,
    .sigmoid = tsl_cpu_sigmoid,
    .sigmoid_backward = tsl_cpu_sigmoid_backward,
    .softmax = tsl_cpu_softmax,
    .softmax_backward = tsl_cpu_softmax_backward,
    .layernorm = tsl_cpu_layernorm,
    .layernorm_backward = tsl_cpu_layernorm_backward,
    .batchnorm = tsl_cpu_batchnorm,
    .maxpool1d = tsl_cpu_maxpool1d,
    .maxpool1d_backward = tsl_cpu_maxpool1d_backward,
    .maxpool2d = tsl_cpu_maxpool2d,
    .mask_downsample = tsl_cpu_mask_downsample,

    /* convolution and attention */
    .conv1d = tsl_cpu_conv1d,
    .conv1d_backward = tsl_cpu_conv1d_backward,
    .conv2d = tsl_cpu_conv2d,
    .local_attention = tsl_cpu_local_attention,
    .local_attention_backward = tsl_cpu_local_attention_backward,
    .attention = tsl_cpu_attention,

    /* losses and optimiser */
    .focal_loss = tsl_cpu_focal_loss,
    .focal_loss_backward = tsl_cpu_focal_loss_backward,
    .diou_loss = tsl_cpu_diou_loss,
    .diou_loss_backward = tsl_cpu_diou_loss_backward,
    .sum_squares = tsl_cpu_sum_squares,
    .adamw = tsl_cpu_adamw,
    .ema = tsl_cpu_ema,
};

/* OpenBLAS picks its kernels when it loads. Debian's 0.3.21 does not know
 * recent x86 cores and falls back to its generic SSE3 ("Prescott")
 * kernels, about five times slower; only OPENBLAS_CORETYPE, set before the
 * process starts, changes that. Say so once. */
static void
check_blas_kernels (void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    static gsize checked = 0;

    if (!g_once_init_enter (&checked))
        return;
    if (g_str_equal (openblas_get_corename (), "Prescott") && __builtin_cpu_supports ("avx2")) {
        const char *better = __builtin_cpu_supports ("avx512f") ? "SkylakeX" : "Haswell";
        g_warning ("OpenBLAS runs its generic kernels on this CPU; set OPENBLAS_CORETYPE=%s "
                   "in the environment for several times faster CPU inference", better);
    }
    g_once_init_leave (&checked, 1);
#endif
}

const TslBackendOps *
tsl_cpu_backend_ops (void)
{
    check_blas_kernels ();
    return &cpu_ops;
}

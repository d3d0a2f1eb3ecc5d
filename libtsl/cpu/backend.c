/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/backend.c: the CPU op table and host memory. Every op runs
 * synchronously on the calling thread, with OpenMP inside the op (and
 * OpenBLAS built for OpenMP, so both share one thread pool).
 */
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

static void
cpu_copy (TslBackend *be, void *dst, const void *src, size_t bytes)
{
    if (bytes > 0 && dst != src)
        memmove (dst, src, bytes);
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

    /* convolution and attention */

    /* losses and optimiser */
};

const TslBackendOps *
tsl_cpu_backend_ops (void)
{
    return &cpu_ops;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * backend.c: choosing a backend, its sticky error, its memory and its
 * workspace. The op tables themselves live in cpu/backend.c and
 * cuda/backend.cu.
 */
#include "backend.h"

#include <stdarg.h>
#include <string.h>

#include "ops.h"
#include "cpu/cpu-ops.h"
#include "tsl-build-config.h"
#if TSL_HAVE_CUDA
#include "cuda/cuda-ops.h"
#endif

gboolean
tsl_backend_have_cuda (void)
{
    return TSL_HAVE_CUDA;
}

static gboolean
backend_init (TslBackend *be, TslDevice device, GError **error)
{
    if (device == TSL_DEVICE_CPU) {
        be->device = TSL_DEVICE_CPU;
        be->ops = tsl_cpu_backend_ops ();
        return TRUE;
    }
#if TSL_HAVE_CUDA
    be->device = TSL_DEVICE_CUDA;
    return tsl_cuda_backend_init (be, error);
#else
    g_set_error (error, TSL_ERROR, TSL_ERROR_UNSUPPORTED,
                 "backend 'cuda' requested, but gst-tsl was built without CUDA "
                 "(configure with -Dcuda=enabled)");
    return FALSE;
#endif
}

TslBackend *
tsl_backend_new (const char *name, GError **error)
{
    TslBackend *be = g_new0 (TslBackend, 1);
    gboolean ok;

    if (name == NULL || g_str_equal (name, "auto")) {
        GError *cuda_error = NULL;
        ok = FALSE;
        if (tsl_backend_have_cuda ())
            ok = backend_init (be, TSL_DEVICE_CUDA, &cuda_error);
        if (!ok) {
            g_info ("backend auto: using the CPU (%s)",
                    cuda_error ? cuda_error->message : "built without CUDA");
            g_clear_error (&cuda_error);
            memset (be, 0, sizeof *be);
            ok = backend_init (be, TSL_DEVICE_CPU, error);
        }
    } else if (g_str_equal (name, "cpu")) {
        ok = backend_init (be, TSL_DEVICE_CPU, error);
    } else if (g_str_equal (name, "cuda")) {
        ok = backend_init (be, TSL_DEVICE_CUDA, error);
    } else {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "unknown backend '%s' (expected auto, cpu or cuda)", name);
        ok = FALSE;
    }
    if (!ok) {
        g_free (be);
        return NULL;
    }
    return be;
}

void
tsl_backend_free (TslBackend *be)
{
    if (be == NULL)
        return;
    if (be->workspace)
        be->ops->free (be, be->workspace);
    if (be->ops && be->ops->destroy)
        be->ops->destroy (be);
    g_clear_error (&be->error);
    g_free (be);
}

const char *
tsl_backend_name (const TslBackend *be)
{
    return be->ops->name;
}

void
tsl_backend_set_error (TslBackend *be, TslError code, const char *format, ...)
{
    va_list args;

    if (be->error != NULL)
        return;
    va_start (args, format);
    be->error = g_error_new_valist (TSL_ERROR, code, format, args);
    va_end (args);
}

gboolean
tsl_backend_synchronize (TslBackend *be, GError **error)
{
    if (be->ops->synchronize && !be->ops->synchronize (be, error))
        return FALSE;
    if (be->error != NULL) {
        g_propagate_error (error, be->error);
        be->error = NULL;
        return FALSE;
    }
    return TRUE;
}

void *
tsl_backend_alloc (TslBackend *be, size_t bytes, GError **error)
{
    return be->ops->alloc (be, bytes, error);
}

void
tsl_backend_free_memory (TslBackend *be, void *ptr)
{
    if (ptr != NULL)
        be->ops->free (be, ptr);
}

void
tsl_backend_upload (TslBackend *be, void *dst_dev, const void *src_host, size_t bytes)
{
    be->ops->upload (be, dst_dev, src_host, bytes);
}

void
tsl_backend_download (TslBackend *be, void *dst_host, const void *src_dev, size_t bytes)
{
    be->ops->download (be, dst_host, src_dev, bytes);
}

void
tsl_backend_copy (TslBackend *be, void *dst_dev, const void *src_dev, size_t bytes)
{
    be->ops->copy (be, dst_dev, src_dev, bytes);
}

void
tsl_backend_zero (TslBackend *be, void *dst_dev, size_t bytes)
{
    be->ops->zero (be, dst_dev, bytes);
}

void *
tsl_backend_workspace (TslBackend *be, size_t bytes)
{
    GError *error = NULL;

    if (bytes <= be->workspace_bytes)
        return be->workspace;
    /* Growing happens while warming up only; earlier ops may still read the
     * old block on an asynchronous backend. */
    if (be->ops->synchronize && !be->ops->synchronize (be, &error)) {
        tsl_backend_set_error (be, error->code, "%s", error->message);
        g_error_free (error);
        return NULL;
    }
    if (be->workspace)
        be->ops->free (be, be->workspace);
    be->workspace = be->ops->alloc (be, bytes, &error);
    be->workspace_bytes = be->workspace ? bytes : 0;
    if (be->workspace == NULL) {
        tsl_backend_set_error (be, error->code, "workspace of %zu bytes: %s", bytes,
                               error->message);
        g_error_free (error);
    }
    return be->workspace;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * backend.h: a compute backend = an op table (ops.h) + memory functions +
 * a private context (cuBLAS handle and stream for CUDA, nothing for CPU).
 *
 * Every op has the same signature on every backend and takes device
 * pointers of that backend. Ops are void: the CPU ones cannot fail once the
 * caller has checked shapes, and the CUDA ones record the first launch or
 * library failure in the backend (a sticky error) that
 * tsl_backend_synchronize() reports. Ops never allocate in steady state:
 * scratch comes from the backend's workspace, which grows to the largest
 * request it has seen and then stays (see tsl_backend_workspace()).
 */
#pragma once

#include <glib.h>
#include <stddef.h>

#include "error.h"

G_BEGIN_DECLS

typedef enum {
    TSL_DEVICE_CPU = 0,
    TSL_DEVICE_CUDA = 1,
} TslDevice;

typedef struct _TslBackend TslBackend;
typedef struct _TslBackendOps TslBackendOps;

struct _TslBackend {
    const TslBackendOps *ops;  /* the op table, see ops.h */
    TslDevice device;          /* where pointers passed to ops live */
    void *context;             /* backend-private state */
    void *workspace;           /* scratch for ops, device memory */
    size_t workspace_bytes;    /* its current size */
    GError *error;             /* first asynchronous failure, or NULL */
};

/* name: "auto", "cpu" or "cuda". "auto" picks CUDA when this build has it and
 * a GPU is present, else the CPU, saying so in one g_info line. */
TslBackend *tsl_backend_new (const char *name, GError **error);
void tsl_backend_free (TslBackend *be);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslBackend, tsl_backend_free)
const char *tsl_backend_name (const TslBackend *be);

/* TRUE when this build was compiled with the CUDA backend. */
gboolean tsl_backend_have_cuda (void);

/* Waits for queued work; FALSE with the sticky error if any op failed. */
gboolean tsl_backend_synchronize (TslBackend *be, GError **error);

/* Records a failure from inside an op (first one wins). */
void tsl_backend_set_error (TslBackend *be, TslError code, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

/* Device memory. tsl_backend_alloc returns 256-byte aligned memory. */
void *tsl_backend_alloc (TslBackend *be, size_t bytes, GError **error);
void tsl_backend_free_memory (TslBackend *be, void *ptr);
void tsl_backend_upload (TslBackend *be, void *dst_dev, const void *src_host, size_t bytes);
void tsl_backend_download (TslBackend *be, void *dst_host, const void *src_dev, size_t bytes);
void tsl_backend_copy (TslBackend *be, void *dst_dev, const void *src_dev, size_t bytes);
void tsl_backend_zero (TslBackend *be, void *dst_dev, size_t bytes);

/* Scratch memory for ops: valid until the next call. Grows (after a
 * synchronize) when a larger size is asked; returns NULL and sets the sticky
 * error when memory runs out. */
void *tsl_backend_workspace (TslBackend *be, size_t bytes);

G_END_DECLS

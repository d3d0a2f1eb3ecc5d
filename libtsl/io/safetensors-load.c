/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * safetensors-load.c: a safetensors tensor as a float32 TslTensor on a
 * backend (tsl_safetensors_load, see safetensors.h). Kept apart from the
 * reader so that the reader builds without the backends (the fuzz targets
 * compile it alone).
 *
 * On the CPU the elements are converted straight into the tensor; on other
 * backends they are converted into a host buffer and uploaded.
 */
#include "safetensors.h"

static char *
shape64_to_string (int ndim, const int64_t *shape)
{
    GString *s = g_string_new ("[");

    for (int i = 0; i < ndim; i++)
        g_string_append_printf (s, i ? ", %" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, shape[i]);
    g_string_append_c (s, ']');
    return g_string_free (s, FALSE);
}

TslTensor *
tsl_safetensors_load (const TslSafetensors *st, const char *name, TslBackend *be, int ndim,
                      const int *shape, GError **error)
{
    const TslSafetensorsEntry *e = tsl_safetensors_find (st, name);
    const char *path = tsl_safetensors_path (st);
    g_autoptr (TslTensor) t = NULL;
    int tensor_shape[TSL_MAX_DIMS];
    gboolean shape_ok;
    size_t numel;

    if (e == NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: no tensor '%s'", path, name);
        return NULL;
    }
    if (!tsl_dtype_is_float (e->dtype)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: tensor '%s' has dtype %s, not a floating-point type", path, name,
                     tsl_dtype_name (e->dtype));
        return NULL;
    }
    shape_ok = e->ndim <= TSL_MAX_DIMS && (ndim < 0 || ndim == e->ndim);
    for (int i = 0; shape_ok && i < e->ndim; i++) {
        shape_ok = e->shape[i] <= G_MAXINT && (ndim < 0 || e->shape[i] == shape[i]);
        tensor_shape[i] = (int) e->shape[i];
    }
    if (!shape_ok) {
        g_autofree char *got = shape64_to_string (e->ndim, e->shape);
        g_autofree char *want =
            ndim >= 0 ? tsl_shape_to_string (ndim, shape)
                      : g_strdup_printf ("at most %d dimensions of at most %d", TSL_MAX_DIMS,
                                         G_MAXINT);
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "%s: tensor '%s' has shape %s, expected %s", path, name, got, want);
        return NULL;
    }

    t = tsl_tensor_new (be, e->ndim, tensor_shape, error);
    if (t == NULL)
        return NULL;
    numel = tsl_tensor_numel (t);
    if (be->device == TSL_DEVICE_CPU) {
        tsl_dtype_convert_to_f32 (t->data, e->data, e->dtype, FALSE, numel);
    } else {
        g_autofree float *host = g_new (float, numel);
        tsl_dtype_convert_to_f32 (host, e->data, e->dtype, FALSE, numel);
        tsl_backend_upload (be, t->data, host, numel * sizeof (float));
        /* the upload may read `host` asynchronously */
        if (!tsl_backend_synchronize (be, error))
            return NULL;
    }
    return g_steal_pointer (&t);
}

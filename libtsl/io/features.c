/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * features.c: see features.h.
 */
#include "features.h"

#include <math.h>
#include <string.h>

#include "../error.h"
#include "npy.h"
#include "safetensors.h"

static float *
load_npy (const char *path, int *channels, int *length, GError **error)
{
    TslNpyInfo info;
    g_autofree float *rows = tsl_npy_read_f32 (path, &info, error);

    if (rows == NULL)
        return NULL;
    if (info.ndim != 2 || info.shape[0] < 1 || info.shape[1] < 1 || info.shape[0] > G_MAXINT ||
        info.shape[1] > G_MAXINT) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "%s: features must be a non-empty 2-D array [T, C], got %d dimensions",
                     path, info.ndim);
        return NULL;
    }
    const int T = (int) info.shape[0], C = (int) info.shape[1];
    float *out = g_new (float, (size_t) C * T);
    for (int t = 0; t < T; t++) {
        const float *row_t = rows + (size_t) t * C;
        for (int c = 0; c < C; c++)
            out[(size_t) c * T + t] = row_t[c];
    }
    *channels = C;
    *length = T;
    return out;
}

static float *
load_safetensors (const char *path, const char *name, int *channels, int *length,
                  GError **error)
{
    g_autoptr (TslSafetensors) st = tsl_safetensors_open (path, error);
    const TslSafetensorsEntry *e;

    if (st == NULL)
        return NULL;
    e = tsl_safetensors_find (st, name);
    if (e == NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: no tensor named '%s'", path, name);
        return NULL;
    }
    const gboolean batched = e->ndim == 3 && e->shape[0] == 1;
    if (!(e->ndim == 2 || batched) || e->shape[e->ndim - 1] < 1 || e->shape[e->ndim - 2] < 1 ||
        e->shape[e->ndim - 1] > G_MAXINT || e->shape[e->ndim - 2] > G_MAXINT) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "%s: tensor '%s' must be [C, T] or [1, C, T] with C, T >= 1", path, name);
        return NULL;
    }
    const int C = (int) e->shape[e->ndim - 2], T = (int) e->shape[e->ndim - 1];
    float *out = g_new (float, (size_t) C * T);
    if (!tsl_safetensors_read_f32 (st, name, out, (size_t) C * T, error)) {
        g_free (out);
        return NULL;
    }
    *channels = C;
    *length = T;
    return out;
}

float *
tsl_features_load (const char *spec, int *channels, int *length, GError **error)
{
    const char *colon = strstr (spec, ".safetensors:");
    float *feats;
    int C = 0, T = 0;

    if (colon != NULL) {
        g_autofree char *path = g_strndup (spec, colon - spec + strlen (".safetensors"));
        feats = load_safetensors (path, colon + strlen (".safetensors:"), &C, &T, error);
    } else {
        feats = load_npy (spec, &C, &T, error);
    }
    if (feats == NULL)
        return NULL;
    for (size_t i = 0; i < (size_t) C * T; i++) {
        if (!isfinite (feats[i])) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                         "%s: feature %d of vector %d is %s", spec, (int) (i / T), (int) (i % T),
                         isnan (feats[i]) ? "NaN" : "infinite");
            g_free (feats);
            return NULL;
        }
    }
    *channels = C;
    *length = T;
    return feats;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * dtype.c: element type names and sizes, and conversion of stored elements
 * to float32 (see dtype.h). Elements are assembled from bytes in the stated
 * byte order, so the same code serves either order on any host.
 */
#include "dtype.h"

#include <math.h>
#include <string.h>

typedef struct {
    const char *name;
    size_t size;
    gboolean is_float;
} DtypeInfo;

static const DtypeInfo dtype_info[TSL_DTYPE_COUNT] = {
    [TSL_DTYPE_F32] = { "F32", 4, TRUE },
    [TSL_DTYPE_F16] = { "F16", 2, TRUE },
    [TSL_DTYPE_BF16] = { "BF16", 2, TRUE },
    [TSL_DTYPE_F64] = { "F64", 8, TRUE },
    [TSL_DTYPE_I64] = { "I64", 8, FALSE },
    [TSL_DTYPE_I32] = { "I32", 4, FALSE },
    [TSL_DTYPE_I16] = { "I16", 2, FALSE },
    [TSL_DTYPE_I8] = { "I8", 1, FALSE },
    [TSL_DTYPE_U8] = { "U8", 1, FALSE },
    [TSL_DTYPE_BOOL] = { "BOOL", 1, FALSE },
};

const char *
tsl_dtype_name (TslDtype dtype)
{
    g_return_val_if_fail ((guint) dtype < TSL_DTYPE_COUNT, "?");
    return dtype_info[dtype].name;
}

size_t
tsl_dtype_size (TslDtype dtype)
{
    g_return_val_if_fail ((guint) dtype < TSL_DTYPE_COUNT, 0);
    return dtype_info[dtype].size;
}

gboolean
tsl_dtype_is_float (TslDtype dtype)
{
    g_return_val_if_fail ((guint) dtype < TSL_DTYPE_COUNT, FALSE);
    return dtype_info[dtype].is_float;
}

gboolean
tsl_dtype_from_name (const char *name, TslDtype *dtype)
{
    for (int d = 0; d < TSL_DTYPE_COUNT; d++) {
        if (g_strcmp0 (name, dtype_info[d].name) == 0) {
            *dtype = (TslDtype) d;
            return TRUE;
        }
    }
    return FALSE;
}

float
tsl_f16_to_f32 (guint16 bits)
{
    guint32 sign = (guint32) (bits >> 15) << 31;
    guint32 exponent = (bits >> 10) & 0x1f; /* biased by 15 */
    guint32 mantissa = bits & 0x3ff;
    guint32 out;
    float f;

    if (exponent == 0) {
        /* zero or subnormal: mantissa * 2^-24, exact in float32 */
        f = ldexpf ((float) mantissa, -24);
        return sign ? -f : f;
    }
    if (exponent == 31)
        out = sign | 0x7f800000u | (mantissa << 13); /* infinity, or NaN keeping its payload */
    else
        out = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    memcpy (&f, &out, sizeof f);
    return f;
}

float
tsl_bf16_to_f32 (guint16 bits)
{
    guint32 out = (guint32) bits << 16;
    float f;

    memcpy (&f, &out, sizeof f);
    return f;
}

/* The element of `size` bytes at p, as an unsigned integer. */
static inline guint64
load_bits (const guint8 *p, size_t size, gboolean big_endian)
{
    guint64 v = 0;

    for (size_t k = 0; k < size; k++) {
        size_t significance = big_endian ? size - 1 - k : k;
        v |= (guint64) p[k] << (8 * significance);
    }
    return v;
}

void
tsl_dtype_convert_to_f32 (float *dst, const void *src, TslDtype dtype, gboolean big_endian,
                          size_t n)
{
    const guint8 *bytes = src;
    size_t size = tsl_dtype_size (dtype);
    gboolean host_order = big_endian == (G_BYTE_ORDER == G_BIG_ENDIAN);

    if (n == 0)
        return; /* dst and src may be NULL */
    if (dtype == TSL_DTYPE_F32 && host_order) {
        memcpy (dst, src, n * sizeof (float));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        guint64 v = load_bits (bytes + i * size, size, big_endian);
        switch (dtype) {
        case TSL_DTYPE_F32: {
            guint32 v32 = (guint32) v;
            memcpy (&dst[i], &v32, sizeof (float));
            break;
        }
        case TSL_DTYPE_F16:
            dst[i] = tsl_f16_to_f32 ((guint16) v);
            break;
        case TSL_DTYPE_BF16:
            dst[i] = tsl_bf16_to_f32 ((guint16) v);
            break;
        case TSL_DTYPE_F64: {
            double d;
            memcpy (&d, &v, sizeof d);
            dst[i] = (float) d;
            break;
        }
        case TSL_DTYPE_I64:
            dst[i] = (float) (gint64) v;
            break;
        case TSL_DTYPE_I32:
            dst[i] = (float) (gint32) (guint32) v;
            break;
        case TSL_DTYPE_I16:
            dst[i] = (float) (gint16) (guint16) v;
            break;
        case TSL_DTYPE_I8:
            dst[i] = (float) (gint8) (guint8) v;
            break;
        case TSL_DTYPE_U8:
            dst[i] = (float) v;
            break;
        case TSL_DTYPE_BOOL:
            dst[i] = v != 0 ? 1.0f : 0.0f;
            break;
        }
    }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * dtype.h: the element types that tensor files (safetensors, .npy) hold, and
 * their conversion to float32, the only type libtsl computes in.
 *
 * Names follow the safetensors spelling ("F32", "BF16", "I64", ...). Stored
 * elements are read byte by byte, so source buffers need no alignment; the
 * byte order is given per call (safetensors is always little-endian, .npy
 * says so in its header). F16 is IEEE 754 binary16, BF16 the upper half of a
 * binary32, BOOL one byte (0 = false, anything else = true).
 */
#pragma once

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

typedef enum {
    TSL_DTYPE_F32,
    TSL_DTYPE_F16,
    TSL_DTYPE_BF16,
    TSL_DTYPE_F64,
    TSL_DTYPE_I64,
    TSL_DTYPE_I32,
    TSL_DTYPE_I16,
    TSL_DTYPE_I8,
    TSL_DTYPE_U8,
    TSL_DTYPE_BOOL,
} TslDtype;

#define TSL_DTYPE_COUNT (TSL_DTYPE_BOOL + 1)

/* "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL" */
const char *tsl_dtype_name (TslDtype dtype);
/* Bytes per element. */
size_t tsl_dtype_size (TslDtype dtype);
/* Inverse of tsl_dtype_name (exact, case-sensitive); FALSE when unknown. */
gboolean tsl_dtype_from_name (const char *name, TslDtype *dtype);
/* TRUE for F32, F16, BF16 and F64. */
gboolean tsl_dtype_is_float (TslDtype dtype);

/* Exact conversions of one 16-bit pattern (subnormals, infinities and NaN
 * included). */
float tsl_f16_to_f32 (guint16 bits);
float tsl_bf16_to_f32 (guint16 bits);

/* dst[i] = src[i] as float32 for i < n. src holds n packed elements of
 * `dtype` in the given byte order, at any alignment. Integers are rounded to
 * the nearest float; F64 is rounded to float (overflow gives infinity).
 * With n = 0 nothing is touched and either pointer may be NULL. */
void tsl_dtype_convert_to_f32 (float *dst /* [n] */, const void *src /* [n] elements */,
                               TslDtype dtype, gboolean big_endian, size_t n);

G_END_DECLS

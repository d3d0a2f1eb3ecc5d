/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * npy.h: reading and writing NumPy .npy files (format versions 1.0, 2.0 and
 * 3.0, https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html),
 * used for feature dumps and test fixtures.
 *
 * Layout: "\x93NUMPY", major and minor version bytes, the header length
 * (little-endian u16 in 1.0, u32 in 2.0 and 3.0), then the header, a Python
 * dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and ending in '\n' (ASCII; UTF-8 in 3.0), then the
 * elements.
 *
 * The reader accepts the descrs f2, f4, f8, i1, i2, i4, i8, u1 and b1 in
 * either byte order ('<', '>', '=' for the host's, '|' for one-byte types)
 * and converts to float32 in row-major (C) order, transposing Fortran-order
 * arrays. The header must hold exactly the three keys, parsed strictly, and
 * the data must be exactly numel * itemsize bytes. Errors are TSL_ERROR_IO
 * for open/read problems and TSL_ERROR_FORMAT for malformed content, the
 * message starting with the file name.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "../error.h"
#include "dtype.h"

G_BEGIN_DECLS

#define TSL_NPY_MAX_DIMS 8

typedef struct {
    TslDtype dtype;
    int ndim;                         /* 0 .. TSL_NPY_MAX_DIMS (0 = scalar) */
    int64_t shape[TSL_NPY_MAX_DIMS];
    gboolean fortran_order;           /* stored column-major */
    gboolean big_endian;              /* elements stored big-endian */
    int major_version, minor_version; /* of the file format */
} TslNpyInfo;

/* Product of the shape (1 for a scalar). */
size_t tsl_npy_info_numel (const TslNpyInfo *info);

gboolean tsl_npy_read_info (const char *path, TslNpyInfo *info, GError **error);
/* The whole array as row-major float32 (tsl_npy_info_numel elements; a
 * non-NULL buffer even when empty); free with g_free. info may be NULL. */
float *tsl_npy_read_f32 (const char *path, TslNpyInfo *info, GError **error);

/* The same for a file already in memory; `name` is used in messages.
 * *data_offset (may be NULL) receives where the elements start. */
gboolean tsl_npy_parse_info (const void *bytes, size_t len, const char *name, TslNpyInfo *info,
                             size_t *data_offset, GError **error);
float *tsl_npy_parse_f32 (const void *bytes, size_t len, const char *name, TslNpyInfo *info,
                          GError **error);

/* Writes a version 1.0 '<f4' C-order file through a temporary file and a
 * rename (see tsl_atomic_file_begin). ndim: 0 .. TSL_NPY_MAX_DIMS. */
gboolean tsl_npy_write_f32 (const char *path, int ndim, const int64_t *shape,
                            const float *data /* [shape...] */, GError **error);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * safetensors.h: reading and writing safetensors files, the format of every
 * gst-tsl model and checkpoint (https://github.com/huggingface/safetensors).
 *
 * Layout: an 8-byte little-endian length N, N bytes of UTF-8 JSON, then the
 * data section. The JSON object maps each tensor name to
 * {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]} (offsets in
 * bytes from the start of the data section) and may hold "__metadata__", an
 * object of string values.
 *
 * The reader maps the file and checks everything before handing out a
 * pointer: the header is strict JSON without duplicate keys, every entry has
 * a known dtype, a shape of at most TSL_SAFETENSORS_MAX_DIMS non-negative
 * dimensions and data_offsets whose length is exactly numel * dtype size,
 * and the tensors, sorted by offset, tile the data section exactly: no gap,
 * no overlap, and no bytes after the last tensor (as the reference
 * implementation requires). Unknown fields inside an entry are ignored.
 * Entry data points into the mapping, little-endian. Files from this writer
 * (and from the reference Python writer) start each tensor at a multiple of
 * its element size; other files need not, so read values through
 * tsl_safetensors_read_f32 / _load unless alignment is known.
 *
 * Errors are TSL_ERROR_IO when the file cannot be opened or mapped and
 * TSL_ERROR_FORMAT when its content is malformed; messages start with the
 * file name.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "../tensor.h"
#include "dtype.h"

G_BEGIN_DECLS

#define TSL_SAFETENSORS_MAX_DIMS 8
/* Header lengths above this are refused, as the reference implementation does. */
#define TSL_SAFETENSORS_MAX_HEADER (100 * 1000 * 1000)

typedef struct {
    const char *name;
    TslDtype dtype;
    int ndim;                                 /* 0 .. TSL_SAFETENSORS_MAX_DIMS */
    int64_t shape[TSL_SAFETENSORS_MAX_DIMS];
    const void *data;                         /* [shape...] elements of dtype, in the mapping */
    size_t nbytes;
} TslSafetensorsEntry;

typedef struct _TslSafetensors TslSafetensors;

/* ---- reading ---- */

TslSafetensors *tsl_safetensors_open (const char *path, GError **error);
/* Parses a file already in memory (keeps a reference to bytes). `name` is
 * used in error messages and returned by tsl_safetensors_path. */
TslSafetensors *tsl_safetensors_open_bytes (GBytes *bytes, const char *name, GError **error);
void tsl_safetensors_close (TslSafetensors *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslSafetensors, tsl_safetensors_close)

const char *tsl_safetensors_path (const TslSafetensors *st);
guint tsl_safetensors_n_entries (const TslSafetensors *st);
/* Entries in data-offset order (ties by name). */
const TslSafetensorsEntry *tsl_safetensors_nth (const TslSafetensors *st, guint i);
/* NULL when absent. */
const TslSafetensorsEntry *tsl_safetensors_find (const TslSafetensors *st, const char *name);
/* NULL when absent. */
const char *tsl_safetensors_get_metadata (const TslSafetensors *st, const char *key);
/* key -> value, both strings; borrowed, may be empty. */
GHashTable *tsl_safetensors_metadata (const TslSafetensors *st);

/* Number of elements of an entry (1 for a scalar). */
size_t tsl_safetensors_entry_numel (const TslSafetensorsEntry *entry);

/* Converts tensor `name` of any dtype to float32 into dst (host memory),
 * which holds n floats. TSL_ERROR_SHAPE naming the file, the tensor and its
 * shape when n differs from its element count; TSL_ERROR_FORMAT when it is
 * absent. */
gboolean tsl_safetensors_read_f32 (const TslSafetensors *st, const char *name,
                                   float *dst /* [n] */, size_t n, GError **error);

/* A new float32 tensor on `be` holding tensor `name`, which must have a
 * float dtype (F32, F16, BF16, F64) and at most TSL_MAX_DIMS dimensions.
 * When ndim >= 0 its shape must be exactly shape[0, ndim) (else
 * TSL_ERROR_SHAPE naming the file, the tensor and both shapes); ndim < 0
 * accepts any shape. TSL_ERROR_FORMAT when absent or not a float dtype. */
TslTensor *tsl_safetensors_load (const TslSafetensors *st, const char *name, TslBackend *be,
                                 int ndim, const int *shape, GError **error);

/* ---- writing ---- */

typedef struct _TslSafetensorsWriter TslSafetensorsWriter;

TslSafetensorsWriter *tsl_safetensors_writer_new (void);
void tsl_safetensors_writer_free (TslSafetensorsWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslSafetensorsWriter, tsl_safetensors_writer_free)

/* Sets (or replaces) one "__metadata__" entry. key and value: UTF-8. */
void tsl_safetensors_writer_set_metadata (TslSafetensorsWriter *w, const char *key,
                                          const char *value);
/* Copies numel * tsl_dtype_size (dtype) bytes of little-endian elements.
 * TSL_ERROR_FORMAT for a name that is not UTF-8, is "__metadata__" or was
 * already added; TSL_ERROR_SHAPE for ndim outside
 * [0, TSL_SAFETENSORS_MAX_DIMS], a negative dimension or a size overflow. */
gboolean tsl_safetensors_writer_add (TslSafetensorsWriter *w, const char *name, TslDtype dtype,
                                     int ndim, const int64_t *shape, const void *data,
                                     GError **error);
gboolean tsl_safetensors_writer_add_f32 (TslSafetensorsWriter *w, const char *name, int ndim,
                                         const int *shape, const float *data /* [shape...] */,
                                         GError **error);
/* Writes PATH.tmp-XXXXXX, flushes it to disk and renames it to path, so a
 * reader sees either the old file or the complete new one. The header is
 * padded with spaces to a multiple of 8 bytes. Data order: tensors with
 * 8-byte elements first, then 4, 2 and 1, each group in the order added, so
 * that every tensor is aligned to its element size. */
gboolean tsl_safetensors_writer_save (TslSafetensorsWriter *w, const char *path, GError **error);

G_END_DECLS

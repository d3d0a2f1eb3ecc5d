/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * file.h: whole-file access for the tensor file readers and writers:
 * mapping a file read-only, and replacing a file atomically (write a
 * temporary file next to it, flush it to disk, rename it over the target).
 * Failures are TSL_ERROR_IO errors whose message starts with the path.
 */
#pragma once

#include <glib.h>
#include <stdio.h>

G_BEGIN_DECLS

/* The contents of a regular file, mapped read-only (an empty file gives
 * empty bytes). */
GBytes *tsl_file_map (const char *path, GError **error);

typedef struct {
    char *path;     /* the file to replace */
    char *tmp_path; /* PATH.tmp-XXXXXX while writing */
    FILE *stream;
} TslAtomicFile;

/* Creates the temporary file. On failure nothing is left behind. */
gboolean tsl_atomic_file_begin (TslAtomicFile *file, const char *path, GError **error);
gboolean tsl_atomic_file_write (TslAtomicFile *file, const void *data, size_t n, GError **error);
/* Flushes, syncs and renames over the target; on failure removes the
 * temporary file. Either way the struct is cleared. */
gboolean tsl_atomic_file_commit (TslAtomicFile *file, GError **error);
/* Removes the temporary file and clears the struct (after a failed write). */
void tsl_atomic_file_abort (TslAtomicFile *file);

G_END_DECLS

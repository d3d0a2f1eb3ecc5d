/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * error.h: the TSL_ERROR GError domain shared by every fallible libtsl call.
 *
 * A fallible call returns gboolean (or a pointer, NULL on failure) and sets a
 * GError in this domain. Messages name the file, the tensor and the shapes
 * involved, so that a user can act on them without a debugger.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TSL_ERROR (tsl_error_quark ())

typedef enum {
    TSL_ERROR_IO,          /* open/read/write/mmap failed */
    TSL_ERROR_FORMAT,      /* a file is malformed */
    TSL_ERROR_SHAPE,       /* a tensor has the wrong shape or is missing */
    TSL_ERROR_CONFIG,      /* a configuration value is invalid */
    TSL_ERROR_CUDA,        /* CUDA runtime or cuBLAS failure */
    TSL_ERROR_UNSUPPORTED, /* valid request this build cannot serve */
} TslError;

GQuark tsl_error_quark (void);

G_END_DECLS

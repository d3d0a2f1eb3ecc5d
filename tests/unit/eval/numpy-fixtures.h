/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * numpy-fixtures.h: access to tests/data/eval/numpy-order.safetensors, the
 * answers NumPy 1.24 gave for argsort, sum and linspace (written by
 * tests/unit/eval/make-tie-fixtures.py; its header describes the layout).
 * Groups hold cases concatenated: case c is values[offsets[c], offsets[c+1]).
 */
#pragma once

#include <glib.h>

#include "io/safetensors.h"

G_BEGIN_DECLS

/* Opens the fixture file (from TSL_TEST_DATA); aborts the test with a
 * message naming the generator when it is missing or of another version. */
TslSafetensors *numpy_fixtures_open (void);

/* A copy of tensor `name` (F64 / I64), its element count in *n. */
double *numpy_fixtures_f64 (const TslSafetensors *st, const char *name, size_t *n);
gint64 *numpy_fixtures_i64 (const TslSafetensors *st, const char *name, size_t *n);

G_END_DECLS

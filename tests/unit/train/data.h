/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * data.h: the reference data of the training tests.
 *
 * - The official tensors of happyharrycn/actionformer_release (commit
 *   61ea7eb9), case AF3: $TSL_GOLDEN_DIR/actionformer/af3_train,
 *   af3b_extra, af3_steps .safetensors and af1_config.json; by default
 *   ../shared/golden next to the source tree (found through TSL_TEST_DATA,
 *   which meson sets to <source>/tests/data). Optional: when absent the
 *   test is skipped.
 * - The project's own fixture tests/data/train-fixture.safetensors, written
 *   by tools/make-train-fixture.py. Required: a missing or stale file fails
 *   the test and names the script.
 */
#pragma once

#include <glib.h>

#include "io/safetensors.h"
#include "models/actionformer/config.h"

G_BEGIN_DECLS

#define TRAIN_FIXTURE_FILE "train-fixture.safetensors"
#define TRAIN_FIXTURE_GENERATOR "tools/make-train-fixture.py"
#define TRAIN_FIXTURE_VERSION "1"

/* Golden file `name` (af3_train.safetensors ...), or NULL after
 * g_test_skip() when the golden folder is absent. */
TslSafetensors *train_golden_open (const char *name);
/* The AF1/AF3 configuration from af1_config.json (only call after
 * train_golden_open succeeded). */
void train_golden_config (TslActionFormerConfig *cfg);

/* The fixture, or NULL after g_test_fail() with a message naming the
 * generator when it is missing or of another version. */
TslSafetensors *train_fixture_open (void);
/* The configuration the fixture was made with: 4 levels, scale factor 2,
 * ranges [0, 4], [4, 8], [8, 16], [16, 10000], max_seq_len 64. */
void train_fixture_config (TslActionFormerConfig *cfg);

/* Tensor named by format, any dtype, as a new float array (g_free);
 * *numel (may be NULL) gets its element count. Aborts when missing. */
float *train_read_f32 (const TslSafetensors *st, size_t *numel, const char *format, ...)
    G_GNUC_PRINTF (3, 4);
/* I64 tensor as a new int array. */
int *train_read_int (const TslSafetensors *st, size_t *numel, const char *format, ...)
    G_GNUC_PRINTF (3, 4);
/* F64, F32 or I64 scalar, exactly. */
double train_read_scalar (const TslSafetensors *st, const char *format, ...)
    G_GNUC_PRINTF (2, 3);

/* Bitwise equality of two float arrays (so -0.0 differs from 0.0): prints
 * the first differences and their count, fails the test on any. */
gboolean train_check_exact (const char *name, const float *got, const float *ref, size_t n);

G_END_DECLS

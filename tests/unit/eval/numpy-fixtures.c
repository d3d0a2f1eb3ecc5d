/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * numpy-fixtures.c: see numpy-fixtures.h.
 */
#include "numpy-fixtures.h"

#include <string.h>

#define FIXTURE_VERSION "1" /* tsl.fixture-version written by the generator */
#define GENERATOR "tests/unit/eval/make-tie-fixtures.py"

TslSafetensors *
numpy_fixtures_open (void)
{
    const char *dir = g_getenv ("TSL_TEST_DATA");
    g_autoptr (GError) error = NULL;

    if (dir == NULL)
        g_error ("set TSL_TEST_DATA to the tests/data directory (meson test does)");
    g_autofree char *path = g_build_filename (dir, "eval", "numpy-order.safetensors", NULL);
    TslSafetensors *st = tsl_safetensors_open (path, &error);
    if (st == NULL)
        g_error ("%s (regenerate it with %s)", error->message, GENERATOR);
    const char *version = tsl_safetensors_get_metadata (st, "tsl.fixture-version");
    if (g_strcmp0 (version, FIXTURE_VERSION) != 0)
        g_error ("%s: fixture version %s, this test reads version %s: rerun %s", path,
                 version ? version : "(none)", FIXTURE_VERSION, GENERATOR);
    return st;
}

static void *
copy_tensor (const TslSafetensors *st, const char *name, TslDtype dtype, size_t *n)
{
    const TslSafetensorsEntry *e = tsl_safetensors_find (st, name);

    if (e == NULL || e->dtype != dtype)
        g_error ("%s: no %s tensor %s: rerun %s", tsl_safetensors_path (st),
                 tsl_dtype_name (dtype), name, GENERATOR);
    *n = tsl_safetensors_entry_numel (e);
    return g_memdup2 (e->data, MAX (e->nbytes, 1));
}

double *
numpy_fixtures_f64 (const TslSafetensors *st, const char *name, size_t *n)
{
    return copy_tensor (st, name, TSL_DTYPE_F64, n);
}

gint64 *
numpy_fixtures_i64 (const TslSafetensors *st, const char *name, size_t *n)
{
    return copy_tensor (st, name, TSL_DTYPE_I64, n);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * data.c: see data.h.
 */
#include "data.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SHOW 8 /* differences printed */

static char *
golden_dir (void)
{
    const char *env = g_getenv ("TSL_GOLDEN_DIR");
    const char *test_data = g_getenv ("TSL_TEST_DATA");

    if (env != NULL)
        return g_build_filename (env, "actionformer", NULL);
    if (test_data == NULL)
        return NULL;
    /* <source>/tests/data -> <source>/../shared/golden */
    return g_build_filename (test_data, "..", "..", "..", "shared", "golden", "actionformer",
                             NULL);
}

TslSafetensors *
train_golden_open (const char *name)
{
    g_autofree char *dir = golden_dir ();
    g_autofree char *path = dir ? g_build_filename (dir, name, NULL) : NULL;
    g_autoptr (GError) error = NULL;

    if (path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS)) {
        g_test_skip ("ActionFormer golden data absent (set TSL_GOLDEN_DIR)");
        return NULL;
    }
    TslSafetensors *st = tsl_safetensors_open (path, &error);
    g_assert_no_error (error);
    return st;
}

void
train_golden_config (TslActionFormerConfig *cfg)
{
    g_autofree char *dir = golden_dir ();
    g_autofree char *path = g_build_filename (dir, "af1_config.json", NULL);
    g_autofree char *text = NULL;
    g_autoptr (GError) error = NULL;

    g_file_get_contents (path, &text, NULL, &error);
    g_assert_no_error (error);
    tsl_actionformer_config_init (cfg);
    tsl_actionformer_config_parse (cfg, text, -1, &error);
    g_assert_no_error (error);
}

TslSafetensors *
train_fixture_open (void)
{
    const char *test_data = g_getenv ("TSL_TEST_DATA");
    g_autofree char *path =
        g_build_filename (test_data ? test_data : ".", TRAIN_FIXTURE_FILE, NULL);
    g_autoptr (GError) error = NULL;
    TslSafetensors *st = tsl_safetensors_open (path, &error);
    const char *version;

    if (st == NULL) {
        printf ("# %s\n# regenerate it with: /usr/bin/python3 %s  NOT OK\n", error->message,
                TRAIN_FIXTURE_GENERATOR);
        g_test_fail ();
        return NULL;
    }
    version = tsl_safetensors_get_metadata (st, "fixture.version");
    if (g_strcmp0 (version, TRAIN_FIXTURE_VERSION) != 0) {
        printf ("# %s has fixture version %s, this test reads %s\n"
                "# regenerate it with: /usr/bin/python3 %s  NOT OK\n", path,
                version ? version : "(none)", TRAIN_FIXTURE_VERSION, TRAIN_FIXTURE_GENERATOR);
        tsl_safetensors_close (st);
        g_test_fail ();
        return NULL;
    }
    return st;
}

void
train_fixture_config (TslActionFormerConfig *cfg)
{
    static const double ranges[4][2] = { { 0, 4 }, { 4, 8 }, { 8, 16 }, { 16, 10000 } };

    tsl_actionformer_config_init (cfg);
    cfg->num_classes = 3;
    cfg->max_seq_len = 64;
    cfg->max_buffer_len_factor = 6.0;
    cfg->scale_factor = 2;
    cfg->n_branch_blocks = 3;
    cfg->n_levels = 4;
    cfg->fpn_start_level = 0;
    cfg->n_fpn_levels = 4;
    memcpy (cfg->regression_range, ranges, sizeof ranges);
}

static const TslSafetensorsEntry *
find_entry (const TslSafetensors *st, const char *name)
{
    const TslSafetensorsEntry *e = tsl_safetensors_find (st, name);

    if (e == NULL)
        g_error ("%s: no tensor %s", tsl_safetensors_path (st), name);
    return e;
}

float *
train_read_f32 (const TslSafetensors *st, size_t *numel, const char *format, ...)
{
    va_list args;
    g_autofree char *name = NULL;
    g_autoptr (GError) error = NULL;

    va_start (args, format);
    name = g_strdup_vprintf (format, args);
    va_end (args);
    const size_t n = tsl_safetensors_entry_numel (find_entry (st, name));
    float *x = g_new0 (float, MAX (n, 1));
    tsl_safetensors_read_f32 (st, name, x, n, &error);
    g_assert_no_error (error);
    if (numel != NULL)
        *numel = n;
    return x;
}

int *
train_read_int (const TslSafetensors *st, size_t *numel, const char *format, ...)
{
    va_list args;
    g_autofree char *name = NULL;

    va_start (args, format);
    name = g_strdup_vprintf (format, args);
    va_end (args);
    const TslSafetensorsEntry *e = find_entry (st, name);
    const size_t n = tsl_safetensors_entry_numel (e);
    int *x = g_new0 (int, MAX (n, 1));

    if (e->dtype != TSL_DTYPE_I64)
        g_error ("%s: %s is not I64", tsl_safetensors_path (st), name);
    for (size_t i = 0; i < n; i++) {
        gint64 v;
        memcpy (&v, (const char *) e->data + i * sizeof v, sizeof v);
        x[i] = (int) v;
    }
    if (numel != NULL)
        *numel = n;
    return x;
}

double
train_read_scalar (const TslSafetensors *st, const char *format, ...)
{
    va_list args;
    g_autofree char *name = NULL;

    va_start (args, format);
    name = g_strdup_vprintf (format, args);
    va_end (args);
    const TslSafetensorsEntry *e = find_entry (st, name);

    if (tsl_safetensors_entry_numel (e) != 1)
        g_error ("%s: %s is not a scalar", tsl_safetensors_path (st), name);
    if (e->dtype == TSL_DTYPE_F64) {
        double v;
        memcpy (&v, e->data, sizeof v);
        return v;
    }
    if (e->dtype == TSL_DTYPE_F32) {
        float v;
        memcpy (&v, e->data, sizeof v);
        return v;
    }
    if (e->dtype == TSL_DTYPE_I64) {
        gint64 v;
        memcpy (&v, e->data, sizeof v);
        return (double) v;
    }
    g_error ("%s: %s is not F64, F32 or I64", tsl_safetensors_path (st), name);
}

gboolean
train_check_exact (const char *name, const float *got, const float *ref, size_t n)
{
    size_t n_diff = 0;

    for (size_t i = 0; i < n; i++) {
        if (memcmp (&got[i], &ref[i], sizeof (float)) == 0)
            continue;
        if (n_diff++ < SHOW)
            printf ("# %s[%zu]: got %.9g, ref %.9g\n", name, i, got[i], ref[i]);
    }
    printf ("# %s: %zu values, %zu differ %s\n", name, n, n_diff, n_diff ? "NOT OK" : "OK");
    if (n_diff > 0)
        g_test_fail ();
    return n_diff == 0;
}

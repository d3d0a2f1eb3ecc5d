/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * fuzz-safetensors.c: libFuzzer target for the safetensors reader and
 * writer (io/safetensors.c, io/safetensors-writer.c).
 *
 * Every input is parsed from memory. A rejected input must come with a
 * TSL_ERROR error; an accepted one must keep its promises: entries in
 * offset order, inside the input, find() agreeing with nth(), every tensor
 * convertible to float32. Accepted inputs are then written back with the
 * writer and read again, and must come back with the same tensors and
 * metadata. Crashes, sanitizer reports and leaks are the findings.
 */
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf (stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
                     #cond);                                                      \
            abort ();                                                             \
        }                                                                         \
    } while (0)

static char *scratch_path; /* where accepted inputs are written back */

static void
check_entries (const TslSafetensors *st, const uint8_t *data, size_t size)
{
    const uint8_t *previous_end = NULL;

    for (guint i = 0; i < tsl_safetensors_n_entries (st); i++) {
        const TslSafetensorsEntry *e = tsl_safetensors_nth (st, i);
        const uint8_t *begin = e->data;
        size_t numel = tsl_safetensors_entry_numel (e);
        g_autofree float *values = g_new (float, numel + 1);
        g_autoptr (GError) error = NULL;

        CHECK (tsl_safetensors_find (st, e->name) == e);
        CHECK (begin >= data && e->nbytes <= size && begin + e->nbytes <= data + size);
        CHECK (previous_end == NULL || begin == previous_end);
        CHECK (e->nbytes == numel * tsl_dtype_size (e->dtype));
        previous_end = begin + e->nbytes;
        CHECK (tsl_safetensors_read_f32 (st, e->name, values, numel, &error));
        CHECK (!tsl_safetensors_read_f32 (st, e->name, values, numel + 1, &error));
        CHECK (error != NULL && error->code == TSL_ERROR_SHAPE);
    }
    CHECK (previous_end == NULL || previous_end == data + size);
}

/* Writes st with the writer, reads it back and compares. */
static void
check_round_trip (const TslSafetensors *st)
{
    g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
    g_autoptr (TslSafetensors) back = NULL;
    g_autoptr (GError) error = NULL;
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init (&iter, tsl_safetensors_metadata (st));
    while (g_hash_table_iter_next (&iter, &key, &value))
        tsl_safetensors_writer_set_metadata (w, key, value);
    for (guint i = 0; i < tsl_safetensors_n_entries (st); i++) {
        const TslSafetensorsEntry *e = tsl_safetensors_nth (st, i);
        CHECK (tsl_safetensors_writer_add (w, e->name, e->dtype, e->ndim, e->shape, e->data,
                                           &error));
    }
    CHECK (tsl_safetensors_writer_save (w, scratch_path, &error));
    back = tsl_safetensors_open (scratch_path, &error);
    if (back == NULL)
        fprintf (stderr, "round trip: %s\n", error->message);
    CHECK (back != NULL);
    CHECK (tsl_safetensors_n_entries (back) == tsl_safetensors_n_entries (st));
    CHECK (g_hash_table_size (tsl_safetensors_metadata (back)) ==
           g_hash_table_size (tsl_safetensors_metadata (st)));
    g_hash_table_iter_init (&iter, tsl_safetensors_metadata (st));
    while (g_hash_table_iter_next (&iter, &key, &value))
        CHECK (g_strcmp0 (tsl_safetensors_get_metadata (back, key), value) == 0);
    for (guint i = 0; i < tsl_safetensors_n_entries (st); i++) {
        const TslSafetensorsEntry *e = tsl_safetensors_nth (st, i);
        const TslSafetensorsEntry *b = tsl_safetensors_find (back, e->name);
        CHECK (b != NULL && b->dtype == e->dtype && b->ndim == e->ndim);
        CHECK (memcmp (b->shape, e->shape, sizeof (int64_t) * e->ndim) == 0);
        CHECK (b->nbytes == e->nbytes && memcmp (b->data, e->data, e->nbytes) == 0);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    g_autoptr (GBytes) bytes = g_bytes_new_static (data, size);
    g_autoptr (GError) error = NULL;
    g_autoptr (TslSafetensors) st = NULL;

    if (scratch_path == NULL) {
        const char *dir = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm"
                                                                       : g_get_tmp_dir ();
        scratch_path = g_strdup_printf ("%s/tsl-fuzz-safetensors-%d", dir, (int) getpid ());
    }
    st = tsl_safetensors_open_bytes (bytes, "fuzz-input", &error);
    if (st == NULL) {
        CHECK (error != NULL && error->domain == TSL_ERROR);
        CHECK (g_str_has_prefix (error->message, "fuzz-input: "));
        return 0;
    }
    CHECK (error == NULL);
    check_entries (st, data, size);
    check_round_trip (st);
    g_unlink (scratch_path);
    return 0;
}

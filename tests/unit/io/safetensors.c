/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests io/safetensors.c, io/safetensors-writer.c and io/safetensors-load.c:
 * - the reference file that make-safetensors-fixtures.py builds by hand
 *   (every dtype, JSON order != data order, misaligned data, escaped name);
 * - writer round trips for every dtype and for awkward names and metadata,
 *   header padding, atomic replacement, writer argument errors;
 * - read_f32 / load conversions and their shape errors;
 * - one hand-built malformed file per validation rule: the GError code and
 *   that the message names the file and the problem;
 * - valid edge cases (empty file body, zero-size tensors, padding, ignored
 *   unknown fields).
 */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "testutil.h"
#include "io/safetensors.h"

#define FIXTURE_VERSION "1" /* tsl.fixture-version written by the script */

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
    return g_build_filename (tmp_dir, name, NULL);
}

/* Element i of the fixture formulas, as float. */
static float
fixture_value (TslDtype dtype, size_t i)
{
    double x = (double) i;

    switch (dtype) {
    case TSL_DTYPE_U8:
        return (float) ((i * 40) % 256);
    case TSL_DTYPE_BOOL:
        return i % 3 == 0 ? 1.0f : 0.0f;
    case TSL_DTYPE_I64: case TSL_DTYPE_I32: case TSL_DTYPE_I16: case TSL_DTYPE_I8:
        return (float) (x - 3);
    default:
        return (float) ((x - 3) * 0.25);
    }
}

/* ---- the reference file ---- */

typedef struct {
    const char *name;
    TslDtype dtype;
    int ndim;
    int64_t shape[3];
} RefTensor;

/* in data-section order, as the script writes them */
static const RefTensor reference_tensors[] = {
    { "f32", TSL_DTYPE_F32, 2, { 2, 3 } },
    { "f16", TSL_DTYPE_F16, 2, { 3, 2 } },
    { "bf16", TSL_DTYPE_BF16, 3, { 2, 2, 2 } },
    { "f64", TSL_DTYPE_F64, 1, { 5 } },
    { "i64", TSL_DTYPE_I64, 2, { 2, 2 } },
    { "i32", TSL_DTYPE_I32, 1, { 3 } },
    { "i16", TSL_DTYPE_I16, 1, { 4 } },
    { "i8", TSL_DTYPE_I8, 2, { 2, 3 } },
    { "u8", TSL_DTYPE_U8, 1, { 6 } },
    { "bool", TSL_DTYPE_BOOL, 1, { 5 } },
    { "scalar", TSL_DTYPE_F32, 0, { 0 } },
    { "empty", TSL_DTYPE_F32, 2, { 0, 4 } },
    { "na\xc3\xafve/\"quoted\"", TSL_DTYPE_F32, 2, { 1, 2 } },
};

static void
test_reference (void)
{
    g_autofree char *path =
        g_build_filename (g_getenv ("TSL_TEST_DATA"), "safetensors", "reference.safetensors",
                          NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (TslSafetensors) st = tsl_safetensors_open (path, &error);
    const char *version;

    g_assert_no_error (error);
    version = tsl_safetensors_get_metadata (st, "tsl.fixture-version");
    if (g_strcmp0 (version, FIXTURE_VERSION) != 0)
        g_error ("%s has fixture version %s, this test expects %s: rerun "
                 "tests/unit/io/make-safetensors-fixtures.py", path, version, FIXTURE_VERSION);
    g_assert_cmpstr (tsl_safetensors_path (st), ==, path);
    g_assert_cmpstr (tsl_safetensors_get_metadata (st, "description"), ==,
                     "one tensor of every dtype\nsecond line");
    g_assert_cmpuint (g_hash_table_size (tsl_safetensors_metadata (st)), ==, 3);
    g_assert_null (tsl_safetensors_get_metadata (st, "absent"));
    g_assert_null (tsl_safetensors_find (st, "absent"));
    g_assert_null (tsl_safetensors_find (st, "__metadata__"));

    g_assert_cmpuint (tsl_safetensors_n_entries (st), ==, G_N_ELEMENTS (reference_tensors));
    for (guint i = 0; i < G_N_ELEMENTS (reference_tensors); i++) {
        const RefTensor *r = &reference_tensors[i];
        const TslSafetensorsEntry *e = tsl_safetensors_nth (st, i);
        size_t numel = 1;
        g_autofree float *got = NULL;
        g_autofree double *want = NULL;

        g_assert_cmpstr (e->name, ==, r->name);
        g_assert_true (tsl_safetensors_find (st, r->name) == e);
        g_assert_cmpint (e->dtype, ==, r->dtype);
        g_assert_cmpint (e->ndim, ==, r->ndim);
        for (int d = 0; d < r->ndim; d++) {
            g_assert_cmpint (e->shape[d], ==, r->shape[d]);
            numel *= (size_t) r->shape[d];
        }
        g_assert_cmpuint (tsl_safetensors_entry_numel (e), ==, numel);
        g_assert_cmpuint (e->nbytes, ==, numel * tsl_dtype_size (r->dtype));
        got = g_new (float, numel + 1);
        want = g_new (double, numel + 1);
        g_assert_true (tsl_safetensors_read_f32 (st, r->name, got, numel, &error));
        g_assert_no_error (error);
        for (size_t k = 0; k < numel; k++)
            want[k] = g_str_equal (r->name, "scalar") ? 42.5 : fixture_value (r->dtype, k);
        /* every fixture value is exact in every dtype */
        tsl_test_check_close (r->name, got, want, numel, 0.0, 0.0);
    }
}

/* ---- writer round trips ---- */

static void
fill_bytes (guint8 *p, size_t n, guint64 seed)
{
    TslTestRng rng;

    tsl_test_rng_init (&rng, seed);
    for (size_t i = 0; i < n; i++)
        p[i] = (guint8) tsl_test_rng_int (&rng, 0, 255);
}

/* Reads the 8-byte length field of a saved file. */
static guint64
saved_header_length (const char *path)
{
    g_autofree char *contents = NULL;
    gsize len;
    guint64 n = 0;

    g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
    g_assert_cmpuint (len, >=, 8);
    for (int k = 7; k >= 0; k--)
        n = n << 8 | (guint8) contents[k];
    return n;
}

static void
test_round_trip_dtype (gconstpointer data)
{
    TslDtype dtype = GPOINTER_TO_INT (data);
    static const int64_t shapes[][3] = { { 3, 5, 7 }, { 1, 1, 1 }, { 2, 0, 3 } };
    g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
    g_autoptr (GError) error = NULL;
    g_autofree char *path = tmp_path ("round-trip.safetensors");
    g_autoptr (TslSafetensors) st = NULL;
    guint8 *blobs[G_N_ELEMENTS (shapes)];
    size_t sizes[G_N_ELEMENTS (shapes)];

    for (guint s = 0; s < G_N_ELEMENTS (shapes); s++) {
        g_autofree char *name = g_strdup_printf ("t%u", s);
        sizes[s] = (size_t) (shapes[s][0] * shapes[s][1] * shapes[s][2]) * tsl_dtype_size (dtype);
        blobs[s] = g_malloc (sizes[s] + 1);
        /* any bit pattern must survive, NaN payloads included */
        fill_bytes (blobs[s], sizes[s], 7 + s + 100 * dtype);
        g_assert_true (tsl_safetensors_writer_add (w, name, dtype, 3, shapes[s], blobs[s],
                                                   &error));
        g_assert_no_error (error);
    }
    tsl_safetensors_writer_set_metadata (w, "dtype", tsl_dtype_name (dtype));
    g_assert_true (tsl_safetensors_writer_save (w, path, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (saved_header_length (path) % 8, ==, 0);

    st = tsl_safetensors_open (path, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (tsl_safetensors_get_metadata (st, "dtype"), ==, tsl_dtype_name (dtype));
    g_assert_cmpuint (tsl_safetensors_n_entries (st), ==, G_N_ELEMENTS (shapes));
    for (guint s = 0; s < G_N_ELEMENTS (shapes); s++) {
        const TslSafetensorsEntry *e = tsl_safetensors_nth (st, s);
        g_autofree char *name = g_strdup_printf ("t%u", s);
        g_assert_cmpstr (e->name, ==, name);
        g_assert_cmpint (e->dtype, ==, dtype);
        g_assert_cmpint (e->ndim, ==, 3);
        for (int d = 0; d < 3; d++)
            g_assert_cmpint (e->shape[d], ==, shapes[s][d]);
        g_assert_cmpmem (e->data, e->nbytes, blobs[s], sizes[s]);
        g_free (blobs[s]);
    }
    /* the padded header starts the data section 8-byte aligned in the mapping */
    g_assert_cmpuint ((guintptr) tsl_safetensors_nth (st, 0)->data % 8, ==, 0);
    g_unlink (path);
}

static void
test_round_trip_names (void)
{
    static const char *const names[] = {
        "plain", "with \"quotes\"", "back\\slash", "new\nline\ttab\x01", "\xe2\x88\x80x",
        "slash/ and unicode \xf0\x9f\x94\x8a", "", " ",
    };
    g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
    g_autoptr (GError) error = NULL;
    g_autofree char *path = tmp_path ("names.safetensors");
    g_autoptr (TslSafetensors) st = NULL;
    const char *config = "{\"n_mel\": 64, \"labels\": [\"a\", \"b\\\"c\"]}\n";

    for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
        float value[2] = { (float) i, -(float) i };
        int shape[1] = { 2 };
        g_assert_true (tsl_safetensors_writer_add_f32 (w, names[i], 1, shape, value, &error));
        g_assert_no_error (error);
        tsl_safetensors_writer_set_metadata (w, names[i], names[(i + 1) % G_N_ELEMENTS (names)]);
    }
    tsl_safetensors_writer_set_metadata (w, "tsl.config", config);
    tsl_safetensors_writer_set_metadata (w, "replaced", "old");
    tsl_safetensors_writer_set_metadata (w, "replaced", "new");
    g_assert_true (tsl_safetensors_writer_save (w, path, &error));
    g_assert_no_error (error);

    st = tsl_safetensors_open (path, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (tsl_safetensors_n_entries (st), ==, G_N_ELEMENTS (names));
    for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
        float got[2];
        /* all F32: written in the order added */
        g_assert_cmpstr (tsl_safetensors_nth (st, i)->name, ==, names[i]);
        g_assert_true (tsl_safetensors_read_f32 (st, names[i], got, 2, &error));
        g_assert_no_error (error);
        g_assert_cmpfloat (got[0], ==, (float) i);
        g_assert_cmpfloat (got[1], ==, -(float) i);
        g_assert_cmpstr (tsl_safetensors_get_metadata (st, names[i]), ==,
                         names[(i + 1) % G_N_ELEMENTS (names)]);
    }
    g_assert_cmpstr (tsl_safetensors_get_metadata (st, "tsl.config"), ==, config);
    g_assert_cmpstr (tsl_safetensors_get_metadata (st, "replaced"), ==, "new");
    g_unlink (path);
}

/* Mixed dtypes with odd sizes: 8-byte dtypes first, then 4, 2, 1, each
 * group in the order added, and every tensor aligned to its element size. */
static void
test_round_trip_alignment (void)
{
    static const struct {
        const char *name;
        TslDtype dtype;
        int64_t n;
    } added[] = {
        { "bool", TSL_DTYPE_BOOL, 3 }, { "f64", TSL_DTYPE_F64, 1 }, { "f16", TSL_DTYPE_F16, 5 },
        { "i32", TSL_DTYPE_I32, 3 },   { "u8", TSL_DTYPE_U8, 1 },   { "i64", TSL_DTYPE_I64, 2 },
        { "bf16", TSL_DTYPE_BF16, 1 }, { "f32", TSL_DTYPE_F32, 7 }, { "i8", TSL_DTYPE_I8, 5 },
        { "i16", TSL_DTYPE_I16, 3 },
    };
    static const char *const written[] = { "f64", "i64", "i32", "f32", "f16", "bf16", "i16",
                                           "bool", "u8", "i8" };
    g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
    g_autoptr (GError) error = NULL;
    g_autofree char *path = tmp_path ("alignment.safetensors");
    g_autoptr (TslSafetensors) st = NULL;
    guint8 blob[64];

    fill_bytes (blob, sizeof blob, 3);
    for (guint i = 0; i < G_N_ELEMENTS (added); i++) {
        g_assert_true (tsl_safetensors_writer_add (w, added[i].name, added[i].dtype, 1,
                                                   &added[i].n, blob, &error));
        g_assert_no_error (error);
    }
    g_assert_true (tsl_safetensors_writer_save (w, path, &error));
    st = tsl_safetensors_open (path, &error);
    g_assert_no_error (error);
    for (guint i = 0; i < G_N_ELEMENTS (written); i++) {
        const TslSafetensorsEntry *e = tsl_safetensors_nth (st, i);
        g_assert_cmpstr (e->name, ==, written[i]);
        /* the mapping starts on a page boundary */
        g_assert_cmpuint ((guintptr) e->data % tsl_dtype_size (e->dtype), ==, 0);
        g_assert_cmpmem (e->data, e->nbytes, blob, e->nbytes);
    }
    g_unlink (path);
}

static void
test_round_trip_empty (void)
{
    g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
    g_autoptr (GError) error = NULL;
    g_autofree char *path = tmp_path ("empty.safetensors");
    g_autoptr (TslSafetensors) st = NULL;
    int64_t scalar_shape[1] = { 0 };
    float scalar = 3.5f;

    g_assert_true (tsl_safetensors_writer_save (w, path, &error));
    g_assert_no_error (error);
    st = tsl_safetensors_open (path, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (tsl_safetensors_n_entries (st), ==, 0);
    g_assert_cmpuint (g_hash_table_size (tsl_safetensors_metadata (st)), ==, 0);
    g_clear_pointer (&st, tsl_safetensors_close);

    /* a scalar and an empty tensor */
    g_assert_true (tsl_safetensors_writer_add (w, "scalar", TSL_DTYPE_F32, 0, NULL, &scalar,
                                               &error));
    g_assert_true (tsl_safetensors_writer_add (w, "none", TSL_DTYPE_F16, 1, scalar_shape, NULL,
                                               &error));
    g_assert_no_error (error);
    g_assert_true (tsl_safetensors_writer_save (w, path, &error));
    st = tsl_safetensors_open (path, &error);
    g_assert_no_error (error);
    g_assert_cmpint (tsl_safetensors_find (st, "scalar")->ndim, ==, 0);
    g_assert_cmpuint (tsl_safetensors_find (st, "scalar")->nbytes, ==, 4);
    g_assert_cmpuint (tsl_safetensors_find (st, "none")->nbytes, ==, 0);
    g_unlink (path);
}

static void
test_writer_errors (void)
{
    g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
    static const int64_t shape[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    static const int64_t negative[2] = { 2, -1 };
    static const int64_t huge[3] = { G_MAXINT64 / 2, 4, 4 };
    float x = 1.0f;
    static const struct {
        const char *name;
        int ndim;
        const int64_t *shape;
        TslError code;
        const char *message;
    } cases[] = {
        { "a", 1, shape, 0, NULL }, /* accepted, then a duplicate below */
        { "a", 1, shape, TSL_ERROR_FORMAT, "already added" },
        { "__metadata__", 1, shape, TSL_ERROR_FORMAT, "__metadata__" },
        { "bad\xff utf8", 1, shape, TSL_ERROR_FORMAT, "UTF-8" },
        { "nine", 9, shape, TSL_ERROR_SHAPE, "9 dimensions" },
        { "minus", -1, shape, TSL_ERROR_SHAPE, "-1 dimensions" },
        { "negative", 2, negative, TSL_ERROR_SHAPE, "dimension 1 is -1" },
        { "huge", 3, huge, TSL_ERROR_SHAPE, "too large" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autoptr (GError) error = NULL;
        gboolean ok = tsl_safetensors_writer_add (w, cases[i].name, TSL_DTYPE_F32, cases[i].ndim,
                                                  cases[i].shape, &x, &error);
        if (cases[i].message == NULL) {
            g_assert_no_error (error);
            g_assert_true (ok);
            continue;
        }
        g_assert_false (ok);
        g_assert_error (error, TSL_ERROR, (gint) cases[i].code);
        if (strstr (error->message, cases[i].message) == NULL)
            g_error ("writer case %u: '%s' lacks '%s'", i, error->message, cases[i].message);
    }
}

/* Files in `dir` whose name starts with `prefix`. */
static guint
count_files (const char *dir, const char *prefix)
{
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;
    guint n = 0;

    while ((name = g_dir_read_name (d)) != NULL)
        n += g_str_has_prefix (name, prefix);
    return n;
}

static void
test_save_atomic (void)
{
    g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
    g_autoptr (GError) error = NULL;
    g_autofree char *path = tmp_path ("atomic.safetensors");
    g_autofree char *missing = tmp_path ("no-such-dir/x.safetensors");
    g_autoptr (TslSafetensors) st = NULL;
    float v[3] = { 1, 2, 3 };
    int shape[1] = { 3 };

    g_assert_true (g_file_set_contents (path, "old contents", -1, NULL));
    g_assert_true (tsl_safetensors_writer_add_f32 (w, "v", 1, shape, v, &error));
    g_assert_true (tsl_safetensors_writer_save (w, path, &error));
    g_assert_no_error (error);
    /* replaced, and no temporary file left behind */
    g_assert_cmpuint (count_files (tmp_dir, "atomic.safetensors"), ==, 1);
    st = tsl_safetensors_open (path, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (tsl_safetensors_n_entries (st), ==, 1);

    g_assert_false (tsl_safetensors_writer_save (w, missing, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_IO);
    g_assert_nonnull (strstr (error->message, "no-such-dir/x.safetensors.tmp-"));
    g_unlink (path);
}

/* ---- conversions, read_f32 and load ---- */

static TslSafetensors *
open_written (TslSafetensorsWriter *w, const char *file_name)
{
    g_autoptr (GError) error = NULL;
    g_autofree char *path = tmp_path (file_name);
    TslSafetensors *st;

    g_assert_true (tsl_safetensors_writer_save (w, path, &error));
    g_assert_no_error (error);
    st = tsl_safetensors_open (path, &error);
    g_assert_no_error (error);
    g_unlink (path); /* the mapping stays valid */
    return st;
}

static void
test_read_f32_errors (void)
{
    g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
    g_autoptr (GError) error = NULL;
    g_autoptr (TslSafetensors) st = NULL;
    float v[6] = { 0 }, got[6];
    int shape[2] = { 2, 3 };

    g_assert_true (tsl_safetensors_writer_add_f32 (w, "w", 2, shape, v, &error));
    st = open_written (w, "read-errors.safetensors");

    g_assert_false (tsl_safetensors_read_f32 (st, "w", got, 5, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    g_assert_nonnull (strstr (error->message, "read-errors.safetensors"));
    g_assert_nonnull (strstr (error->message, "'w' has shape [2, 3] (6 elements), but 5"));
    g_clear_error (&error);

    g_assert_false (tsl_safetensors_read_f32 (st, "x", got, 6, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "read-errors.safetensors: no tensor 'x'"));
}

static void
test_load (void)
{
    g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
    g_autoptr (GError) error = NULL;
    g_autoptr (TslSafetensors) st = NULL;
    TslBackend *be = tsl_backend_new ("cpu", &error);
    /* 1.5, -2.25, 0, 1024 in each float dtype */
    const guint16 f16[4] = { 0x3e00, 0xc080, 0x0000, 0x6400 };
    const guint16 bf16[4] = { 0x3fc0, 0xc010, 0x0000, 0x4480 };
    const double f64[4] = { 1.5, -2.25, 0.0, 1024.0 };
    const double want[4] = { 1.5, -2.25, 0.0, 1024.0 };
    const int64_t shape22[2] = { 2, 2 }, shape5[5] = { 1, 1, 1, 2, 2 };
    const int64_t ints[4] = { 1, 2, 3, 4 };
    const int expect22[2] = { 2, 2 }, expect41[2] = { 4, 1 };

    g_assert_no_error (error);
    g_assert_true (tsl_safetensors_writer_add (w, "f16", TSL_DTYPE_F16, 2, shape22, f16, NULL));
    g_assert_true (tsl_safetensors_writer_add (w, "bf16", TSL_DTYPE_BF16, 2, shape22, bf16, NULL));
    g_assert_true (tsl_safetensors_writer_add (w, "f64", TSL_DTYPE_F64, 2, shape22, f64, NULL));
    g_assert_true (tsl_safetensors_writer_add (w, "i64", TSL_DTYPE_I64, 2, shape22, ints, NULL));
    g_assert_true (tsl_safetensors_writer_add (w, "five", TSL_DTYPE_F32, 5, shape5, f64, NULL));
    st = open_written (w, "load.safetensors");

    for (guint i = 0; i < 3; i++) {
        const char *name = (const char *[]) { "f16", "bf16", "f64" }[i];
        g_autoptr (TslTensor) t = tsl_safetensors_load (st, name, be, 2, expect22, &error);
        g_assert_no_error (error);
        g_assert_cmpint (t->ndim, ==, 2);
        tsl_test_check_close (name, t->data, want, 4, 0.0, 0.0);
        g_clear_pointer (&t, tsl_tensor_free);
        t = tsl_safetensors_load (st, name, be, -1, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpint (t->shape[0], ==, 2);
        g_assert_cmpint (t->shape[1], ==, 2);
    }

    g_assert_null (tsl_safetensors_load (st, "f16", be, 2, expect41, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    g_assert_nonnull (strstr (error->message, "load.safetensors: tensor 'f16' has shape [2, 2], "
                                              "expected [4, 1]"));
    g_clear_error (&error);
    g_assert_null (tsl_safetensors_load (st, "f16", be, 1, expect41, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    g_clear_error (&error);
    g_assert_null (tsl_safetensors_load (st, "five", be, -1, NULL, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    g_assert_nonnull (strstr (error->message, "'five' has shape [1, 1, 1, 2, 2]"));
    g_clear_error (&error);
    g_assert_null (tsl_safetensors_load (st, "i64", be, -1, NULL, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "dtype I64"));
    g_clear_error (&error);
    g_assert_null (tsl_safetensors_load (st, "absent", be, -1, NULL, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "no tensor 'absent'"));
    tsl_backend_free (be);
}

/* ---- malformed files ---- */

typedef struct {
    const char *name;
    const char *header;   /* JSON text; NULL: `raw` is the whole file */
    size_t header_len;    /* 0: strlen (header) */
    size_t data_len;      /* zero bytes after the header */
    const char *raw;
    size_t raw_len;
    guint64 length_field; /* 0: the real header length */
    TslError code;
    const char *problem;  /* expected in the message; NULL: the file is valid */
} MalformedCase;

#define ENTRY(dtype, shape, offsets) "{\"dtype\":\"" dtype "\",\"shape\":" shape \
    ",\"data_offsets\":" offsets "}"
#define F32_2 ENTRY ("F32", "[2]", "[0,8]")

static const MalformedCase malformed_cases[] = {
    /* length field and header bounds */
    { "empty-file", NULL, 0, 0, "", 0, 0, TSL_ERROR_FORMAT, "0 bytes, shorter than the 8-byte" },
    { "short-file", NULL, 0, 0, "\x02\0\0\0\0", 5, 0, TSL_ERROR_FORMAT, "shorter than the 8-byte" },
    { "header-over-limit", "{}", 0, 0, NULL, 0, 100000001, TSL_ERROR_FORMAT,
      "header length 100000001 exceeds the limit of 100000000" },
    { "header-huge", "{}", 0, 0, NULL, 0, G_MAXUINT64, TSL_ERROR_FORMAT, "exceeds the limit" },
    { "header-past-end", "{}", 0, 0, NULL, 0, 3, TSL_ERROR_FORMAT,
      "header length 3 runs past the end of the file (10 bytes)" },
    /* JSON */
    { "json-truncated", "{\"a\": ", 0, 0, NULL, 0, 0, TSL_ERROR_FORMAT, "not valid JSON" },
    { "json-empty", "", 0, 0, NULL, 0, 0, TSL_ERROR_FORMAT, "not valid JSON: missing value" },
    { "json-comment", "/* c */ {}", 0, 0, NULL, 0, 0, TSL_ERROR_FORMAT, "not valid JSON" },
    { "json-single-quotes", "{'a': 1}", 0, 0, NULL, 0, 0, TSL_ERROR_FORMAT, "not valid JSON" },
    { "json-trailing-comma", "{\"a\": " F32_2 ",}", 0, 8, NULL, 0, 0, TSL_ERROR_FORMAT,
      "expected a string key" },
    { "json-text-after", "{} {}", 0, 0, NULL, 0, 0, TSL_ERROR_FORMAT, "text after the JSON" },
    { "json-nul-byte", "{}\0  ", 5, 0, NULL, 0, 0, TSL_ERROR_FORMAT, "NUL byte" },
    { "json-bad-utf8", "{\"\xff\": {}}", 0, 0, NULL, 0, 0, TSL_ERROR_FORMAT, "invalid UTF-8" },
    { "json-too-deep", "{\"a\": {\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0],"
      "\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}}", 0, 0, NULL, 0, 0, TSL_ERROR_FORMAT,
      "nesting too deep" },
    { "json-int-overflow", "{\"a\": " ENTRY ("U8", "[18446744073709551617]", "[0,1]") "}", 0, 1,
      NULL, 0, 0, TSL_ERROR_FORMAT, "integer out of the 64-bit range" },
    { "not-object", "[1, 2]", 0, 0, NULL, 0, 0, TSL_ERROR_FORMAT, "header is not a JSON object" },
    /* entries */
    { "entry-not-object", "{\"a\": [1]}", 0, 0, NULL, 0, 0, TSL_ERROR_FORMAT,
      "tensor 'a': entry is not an object" },
    { "dtype-missing", "{\"a\": {\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "tensor 'a': missing \"dtype\"" },
    { "dtype-not-string", "{\"a\": {\"dtype\":[\"F32\"],\"shape\":[2],\"data_offsets\":[0,8]}}",
      0, 8, NULL, 0, 0, TSL_ERROR_FORMAT, "\"dtype\" is not a string" },
    { "dtype-number", "{\"a\": {\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8, NULL,
      0, 0, TSL_ERROR_FORMAT, "\"dtype\" is not a string" },
    { "dtype-unknown", "{\"a\": " ENTRY ("F8_E4M3", "[2]", "[0,2]") "}", 0, 2, NULL, 0, 0,
      TSL_ERROR_FORMAT, "tensor 'a': unknown dtype 'F8_E4M3'" },
    { "dtype-lowercase", "{\"a\": " ENTRY ("f32", "[2]", "[0,8]") "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "unknown dtype 'f32'" },
    { "shape-missing", "{\"a\": {\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "tensor 'a': missing \"shape\"" },
    { "shape-not-array", "{\"a\": " ENTRY ("F32", "2", "[0,8]") "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "\"shape\" is not an array" },
    { "shape-negative", "{\"a\": " ENTRY ("F32", "[-2]", "[0,8]") "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "\"shape\" is not an array of non-negative integers" },
    { "shape-float", "{\"a\": " ENTRY ("F32", "[2.0]", "[0,8]") "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "\"shape\" is not an array of non-negative integers" },
    { "shape-string", "{\"a\": " ENTRY ("F32", "[\"2\"]", "[0,8]") "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "\"shape\" is not an array of non-negative integers" },
    { "shape-null", "{\"a\": " ENTRY ("F32", "[null]", "[0,8]") "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "\"shape\" is not an array of non-negative integers" },
    { "shape-nine-dims", "{\"a\": " ENTRY ("F32", "[1,1,1,1,1,1,1,1,2]", "[0,8]") "}", 0, 8,
      NULL, 0, 0, TSL_ERROR_FORMAT, "shape has 9 dimensions, more than the 8 supported" },
    { "shape-overflow", "{\"a\": " ENTRY ("U8", "[4294967296,4294967296,4294967296,0]", "[0,0]")
      "}", 0, 0, NULL, 0, 0, TSL_ERROR_FORMAT,
      "shape [4294967296, 4294967296, 4294967296, 0] has too many elements" },
    { "offsets-missing", "{\"a\": {\"dtype\":\"F32\",\"shape\":[2]}}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "tensor 'a': missing \"data_offsets\"" },
    { "offsets-one", "{\"a\": " ENTRY ("F32", "[2]", "[8]") "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "\"data_offsets\" is not two non-negative integers" },
    { "offsets-three", "{\"a\": " ENTRY ("F32", "[2]", "[0,8,8]") "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "\"data_offsets\" is not two non-negative integers" },
    { "offsets-object", "{\"a\": " ENTRY ("F32", "[2]", "{\"b\":0}") "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "\"data_offsets\" is not two non-negative integers" },
    { "offsets-negative", "{\"a\": " ENTRY ("F32", "[2]", "[-8,0]") "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "\"data_offsets\" is not two non-negative integers" },
    { "offsets-float", "{\"a\": " ENTRY ("F32", "[2]", "[0,8.0]") "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "\"data_offsets\" is not two non-negative integers" },
    { "offsets-reversed", "{\"a\": " ENTRY ("F32", "[0]", "[8,0]") "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "data_offsets [8, 0] begin after they end" },
    { "offsets-past-end", "{\"a\": " ENTRY ("F32", "[4]", "[0,16]") "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "data_offsets [0, 16] run past the end of the data section (8 bytes)" },
    { "offsets-huge", "{\"a\": " ENTRY ("U8", "[2]", "[9223372036854775806,"
      "9223372036854775807]") "}", 0, 8, NULL, 0, 0, TSL_ERROR_FORMAT, "run past the end" },
    { "size-mismatch", "{\"a\": " ENTRY ("F32", "[3]", "[0,8]") "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "data_offsets [0, 8] hold 8 bytes, but F32 [3] needs 3 * 4" },
    /* tiling of the data section */
    { "gap", "{\"a\": " ENTRY ("F32", "[1]", "[0,4]") ", \"b\": " ENTRY ("F32", "[1]", "[8,12]")
      "}", 0, 12, NULL, 0, 0, TSL_ERROR_FORMAT,
      "tensor 'b' starts at byte 8 of the data section, leaving a gap after byte 4" },
    { "gap-at-start", "{\"a\": " ENTRY ("F32", "[1]", "[4,8]") "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "tensor 'a' starts at byte 4 of the data section, leaving a gap" },
    { "overlap", "{\"a\": " ENTRY ("F32", "[2]", "[0,8]") ", \"b\": " ENTRY ("F32", "[2]",
      "[4,12]") "}", 0, 12, NULL, 0, 0, TSL_ERROR_FORMAT,
      "tensor 'b' at bytes [4, 12) overlaps tensor 'a', which ends at byte 8" },
    { "same-offsets", "{\"a\": " F32_2 ", \"b\": " F32_2 "}", 0, 8, NULL, 0, 0, TSL_ERROR_FORMAT,
      "overlaps tensor 'a'" },
    { "empty-inside-other", "{\"a\": " F32_2 ", \"z\": " ENTRY ("F32", "[0]", "[4,4]") "}", 0, 8,
      NULL, 0, 0, TSL_ERROR_FORMAT, "tensor 'z' at bytes [4, 4) overlaps tensor 'a'" },
    { "trailing-bytes", "{\"a\": " F32_2 "}", 0, 11, NULL, 0, 0, TSL_ERROR_FORMAT,
      "the data section has 3 bytes after the last tensor" },
    { "no-tensors-but-data", "{}", 0, 4, NULL, 0, 0, TSL_ERROR_FORMAT,
      "4 bytes after the last tensor" },
    /* duplicates */
    { "duplicate-name", "{\"a\": " F32_2 ", \"a\": " F32_2 "}", 0, 8, NULL, 0, 0,
      TSL_ERROR_FORMAT, "duplicate key \"a\" at byte 56" },
    { "duplicate-name-escaped", "{\"ab\": " F32_2 ", \"a\\u0062\": " ENTRY ("F32", "[0]",
      "[8,8]") "}", 0, 8, NULL, 0, 0, TSL_ERROR_FORMAT, "duplicate key" },
    { "duplicate-field", "{\"a\": {\"dtype\":\"F32\",\"shape\":[2],\"shape\":[2],"
      "\"data_offsets\":[0,8]}}", 0, 8, NULL, 0, 0, TSL_ERROR_FORMAT, "duplicate key" },
    { "duplicate-metadata", "{\"__metadata__\": {\"k\":\"1\",\"k\":\"2\"}}", 0, 0, NULL, 0, 0,
      TSL_ERROR_FORMAT, "duplicate key" },
    { "duplicate-metadata-object", "{\"__metadata__\": {}, \"__metadata__\": {}}", 0, 0, NULL,
      0, 0, TSL_ERROR_FORMAT, "duplicate key" },
    /* metadata */
    { "metadata-not-object", "{\"__metadata__\": \"x\"}", 0, 0, NULL, 0, 0, TSL_ERROR_FORMAT,
      "\"__metadata__\" is not an object" },
    { "metadata-null", "{\"__metadata__\": null}", 0, 0, NULL, 0, 0, TSL_ERROR_FORMAT,
      "\"__metadata__\" is not an object" },
    { "metadata-number", "{\"__metadata__\": {\"k\": 1}}", 0, 0, NULL, 0, 0, TSL_ERROR_FORMAT,
      "\"__metadata__\" value of 'k' is not a string" },
    { "metadata-nested", "{\"__metadata__\": {\"k\": {\"x\": \"y\"}}}", 0, 0, NULL, 0, 0,
      TSL_ERROR_FORMAT, "\"__metadata__\" value of 'k' is not a string" },
    /* valid edge cases */
    { "valid-empty", "{}", 0, 0, NULL, 0, 0, 0, NULL },
    { "valid-padded", "{\"a\": " F32_2 "}        ", 0, 8, NULL, 0, 0, 0, NULL },
    { "valid-whitespace", " \t\r\n{ \"a\" : " F32_2 " } \n", 0, 8, NULL, 0, 0, 0, NULL },
    { "valid-zero-size", "{\"z0\": " ENTRY ("F32", "[0]", "[0,0]") ", \"a\": " F32_2 ", \"z8\": "
      ENTRY ("I64", "[3,0]", "[8,8]") ", \"z4\": " ENTRY ("F16", "[0]", "[8,8]") "}", 0, 8, NULL,
      0, 0, 0, NULL },
    { "valid-unknown-field", "{\"a\": {\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],"
      "\"extra\":{\"x\":[1,2]}}}", 0, 8, NULL, 0, 0, 0, NULL },
    { "valid-metadata-empty", "{\"__metadata__\": {}}", 0, 0, NULL, 0, 0, 0, NULL },
};

static GBytes *
malformed_bytes (const MalformedCase *c)
{
    GByteArray *file = g_byte_array_new ();
    size_t header_len;
    guint64 length;
    guint8 field[8];

    if (c->header == NULL) {
        g_byte_array_append (file, (const guint8 *) c->raw, (guint) c->raw_len);
        return g_byte_array_free_to_bytes (file);
    }
    header_len = c->header_len ? c->header_len : strlen (c->header);
    length = c->length_field ? c->length_field : header_len;
    for (int k = 0; k < 8; k++)
        field[k] = (guint8) (length >> (8 * k));
    g_byte_array_append (file, field, 8);
    g_byte_array_append (file, (const guint8 *) c->header, (guint) header_len);
    for (size_t i = 0; i < c->data_len; i++)
        g_byte_array_append (file, (const guint8 *) "\0", 1);
    return g_byte_array_free_to_bytes (file);
}

static void
test_malformed (gconstpointer data)
{
    const MalformedCase *c = data;
    g_autoptr (GBytes) bytes = malformed_bytes (c);
    g_autofree char *file_name = g_strconcat (c->name, ".safetensors", NULL);
    g_autofree char *path = tmp_path (file_name);
    g_autoptr (GError) error = NULL;
    g_autoptr (TslSafetensors) st = NULL;

    g_assert_true (g_file_set_contents (path, g_bytes_get_data (bytes, NULL),
                                        (gssize) g_bytes_get_size (bytes), NULL));
    st = tsl_safetensors_open (path, &error);
    if (c->problem == NULL) {
        g_assert_no_error (error);
        g_assert_nonnull (st);
    } else {
        g_assert_null (st);
        g_assert_error (error, TSL_ERROR, (gint) c->code);
        if (!g_str_has_prefix (error->message, path) || strstr (error->message, c->problem) == NULL)
            g_error ("%s: message '%s' should start with the path and contain '%s'", c->name,
                     error->message, c->problem);
        g_test_message ("%s", error->message);
    }
    g_unlink (path);
}

static void
test_open_errors (void)
{
    g_autoptr (GError) error = NULL;
    g_autofree char *missing = tmp_path ("missing.safetensors");

    g_assert_null (tsl_safetensors_open (missing, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_IO);
    g_assert_true (g_str_has_prefix (error->message, missing));
    g_assert_nonnull (strstr (error->message, "cannot open"));
    g_clear_error (&error);

    g_assert_null (tsl_safetensors_open (tmp_dir, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_IO);
    g_assert_nonnull (strstr (error->message, "not a regular file"));
}

/* The zero-size tensors of valid-zero-size come out in offset order. */
static void
test_zero_size_order (void)
{
    const MalformedCase *c = NULL;
    g_autoptr (GBytes) bytes = NULL;
    g_autoptr (GError) error = NULL;
    g_autoptr (TslSafetensors) st = NULL;
    static const char *const order[] = { "z0", "a", "z4", "z8" };

    for (guint i = 0; i < G_N_ELEMENTS (malformed_cases); i++) {
        if (g_str_equal (malformed_cases[i].name, "valid-zero-size"))
            c = &malformed_cases[i];
    }
    bytes = malformed_bytes (c);
    st = tsl_safetensors_open_bytes (bytes, "zero-size", &error);
    g_assert_no_error (error);
    for (guint i = 0; i < G_N_ELEMENTS (order); i++)
        g_assert_cmpstr (tsl_safetensors_nth (st, i)->name, ==, order[i]);
}

static void
remove_tmp_dir (void)
{
    g_autoptr (GDir) d = g_dir_open (tmp_dir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (d)) != NULL) {
        g_autofree char *path = tmp_path (name);
        g_unlink (path);
    }
    g_rmdir (tmp_dir);
}

int
main (int argc, char **argv)
{
    int status;

    g_test_init (&argc, &argv, NULL);
    if (g_getenv ("TSL_TEST_DATA") == NULL)
        g_error ("set TSL_TEST_DATA to the tests/data directory (meson test does)");
    tmp_dir = g_dir_make_tmp ("tsl-safetensors-XXXXXX", NULL);
    g_assert_nonnull (tmp_dir);

    g_test_add_func ("/io/safetensors/reference", test_reference);
    for (int d = 0; d < TSL_DTYPE_COUNT; d++) {
        g_autofree char *path =
            g_strdup_printf ("/io/safetensors/round-trip/%s", tsl_dtype_name (d));
        g_test_add_data_func (path, GINT_TO_POINTER (d), test_round_trip_dtype);
    }
    g_test_add_func ("/io/safetensors/round-trip/names", test_round_trip_names);
    g_test_add_func ("/io/safetensors/round-trip/empty", test_round_trip_empty);
    g_test_add_func ("/io/safetensors/round-trip/alignment", test_round_trip_alignment);
    g_test_add_func ("/io/safetensors/writer-errors", test_writer_errors);
    g_test_add_func ("/io/safetensors/save-atomic", test_save_atomic);
    g_test_add_func ("/io/safetensors/read-f32-errors", test_read_f32_errors);
    g_test_add_func ("/io/safetensors/load", test_load);
    g_test_add_func ("/io/safetensors/open-errors", test_open_errors);
    g_test_add_func ("/io/safetensors/zero-size-order", test_zero_size_order);
    for (guint i = 0; i < G_N_ELEMENTS (malformed_cases); i++) {
        g_autofree char *path =
            g_strdup_printf ("/io/safetensors/malformed/%s", malformed_cases[i].name);
        g_test_add_data_func (path, &malformed_cases[i], test_malformed);
    }
    status = g_test_run ();
    remove_tmp_dir ();
    g_free (tmp_dir);
    return status;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests io/npy.c:
 * - every fixture that make-npy-fixtures.py wrote with NumPy (each dtype,
 *   big-endian, Fortran order, versions 2.0 and 3.0, scalar, empty array)
 *   against the script's value formulas, in row-major order;
 * - binary16 special values;
 * - write round trips (0 to 8 dimensions, empty), the written header's
 *   layout, atomic replacement and write errors;
 * - one hand-built malformed file per validation rule (the GError code and
 *   that the message names the file and the problem), and header forms
 *   NumPy may write that must be accepted.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "testutil.h"
#include "io/npy.h"

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
    return g_build_filename (tmp_dir, name, NULL);
}

/* ---- NumPy-written fixtures ---- */

typedef struct {
    const char *file;
    TslDtype dtype;
    int ndim;
    int64_t shape[3];
    gboolean fortran_order, big_endian;
    int major_version;
} Fixture;

static const Fixture fixtures[] = {
    { "f4-2x3.npy", TSL_DTYPE_F32, 2, { 2, 3 }, FALSE, FALSE, 1 },
    { "f2-3x5.npy", TSL_DTYPE_F16, 2, { 3, 5 }, FALSE, FALSE, 1 },
    { "f8-2x2x3.npy", TSL_DTYPE_F64, 3, { 2, 2, 3 }, FALSE, FALSE, 1 },
    { "f4-big-endian-2x3.npy", TSL_DTYPE_F32, 2, { 2, 3 }, FALSE, TRUE, 1 },
    { "f4-fortran-3x4x2.npy", TSL_DTYPE_F32, 3, { 3, 4, 2 }, TRUE, FALSE, 1 },
    { "f8-fortran-2x5.npy", TSL_DTYPE_F64, 2, { 2, 5 }, TRUE, FALSE, 1 },
    { "f4-v2-4x3.npy", TSL_DTYPE_F32, 2, { 4, 3 }, FALSE, FALSE, 2 },
    { "f4-v3-4x3.npy", TSL_DTYPE_F32, 2, { 4, 3 }, FALSE, FALSE, 3 },
    { "f4-scalar.npy", TSL_DTYPE_F32, 0, { 0 }, FALSE, FALSE, 1 },
    { "f4-empty-0x3.npy", TSL_DTYPE_F32, 2, { 0, 3 }, FALSE, FALSE, 1 },
    { "i1-7.npy", TSL_DTYPE_I8, 1, { 7 }, FALSE, FALSE, 1 },
    { "i2-2x3.npy", TSL_DTYPE_I16, 2, { 2, 3 }, FALSE, FALSE, 1 },
    { "i4-2x3.npy", TSL_DTYPE_I32, 2, { 2, 3 }, FALSE, FALSE, 1 },
    { "i8-2x3.npy", TSL_DTYPE_I64, 2, { 2, 3 }, FALSE, FALSE, 1 },
    { "u1-8.npy", TSL_DTYPE_U8, 1, { 8 }, FALSE, FALSE, 1 },
    { "b1-6.npy", TSL_DTYPE_BOOL, 1, { 6 }, FALSE, FALSE, 1 },
};

static char *
fixture_path (const char *file)
{
    return g_build_filename (g_getenv ("TSL_TEST_DATA"), "npy", file, NULL);
}

/* Row-major element i by the script's formulas. */
static double
fixture_value (TslDtype dtype, size_t i)
{
    switch (dtype) {
    case TSL_DTYPE_U8:
        return (double) ((i * 40) % 256);
    case TSL_DTYPE_BOOL:
        return i % 3 == 0;
    case TSL_DTYPE_I64: case TSL_DTYPE_I32: case TSL_DTYPE_I16: case TSL_DTYPE_I8:
        return (double) i - 3;
    default:
        return ((double) i - 3) * 0.25;
    }
}

static void
test_fixture (gconstpointer data)
{
    const Fixture *f = data;
    g_autofree char *path = fixture_path (f->file);
    g_autoptr (GError) error = NULL;
    g_autofree float *got = NULL;
    g_autofree double *want = NULL;
    TslNpyInfo info, info2;
    size_t numel = 1;

    g_assert_true (tsl_npy_read_info (path, &info, &error));
    g_assert_no_error (error);
    g_assert_cmpint (info.dtype, ==, f->dtype);
    g_assert_cmpint (info.ndim, ==, f->ndim);
    for (int d = 0; d < f->ndim; d++) {
        g_assert_cmpint (info.shape[d], ==, f->shape[d]);
        numel *= (size_t) f->shape[d];
    }
    g_assert_cmpint (info.fortran_order, ==, f->fortran_order);
    g_assert_cmpint (info.big_endian, ==, f->big_endian);
    g_assert_cmpint (info.major_version, ==, f->major_version);
    g_assert_cmpint (info.minor_version, ==, 0);
    g_assert_cmpuint (tsl_npy_info_numel (&info), ==, numel);

    got = tsl_npy_read_f32 (path, &info2, &error);
    g_assert_no_error (error);
    g_assert_nonnull (got);
    g_assert_cmpmem (&info, sizeof info, &info2, sizeof info2);
    want = g_new (double, numel + 1);
    for (size_t i = 0; i < numel; i++)
        want[i] = f->ndim == 0 ? 42.5 : fixture_value (f->dtype, i);
    /* every fixture value is exact in every dtype */
    tsl_test_check_close (f->file, got, want, numel, 0.0, 0.0);
    g_free (tsl_npy_read_f32 (path, NULL, &error)); /* info is optional */
    g_assert_no_error (error);
}

static void
test_f16_special (void)
{
    g_autofree char *path = fixture_path ("f2-special.npy");
    g_autoptr (GError) error = NULL;
    g_autofree float *got = tsl_npy_read_f32 (path, NULL, &error);
    const float want[9] = { 0.0f, -0.0f, 1.0f, -2.0f, 65504.0f, 0x1p-14f, 0x1p-24f, INFINITY,
                            -INFINITY };

    g_assert_no_error (error);
    for (int i = 0; i < 9; i++) {
        g_assert_cmpfloat (got[i], ==, want[i]);
        g_assert_cmpint (!signbit (got[i]), ==, !signbit (want[i]));
    }
    g_assert_true (isnan (got[9]));
}

/* ---- writing ---- */

static void
test_write_round_trip (void)
{
    static const struct {
        int ndim;
        int64_t shape[8];
    } shapes[] = {
        { 0, { 0 } }, { 1, { 1 } }, { 1, { 17 } }, { 2, { 3, 7 } }, { 3, { 2, 0, 5 } },
        { 4, { 2, 3, 1, 5 } }, { 8, { 2, 1, 2, 1, 3, 1, 2, 1 } },
    };
    g_autofree char *path = tmp_path ("round-trip.npy");
    TslTestRng rng;

    tsl_test_rng_init (&rng, 5);
    for (guint s = 0; s < G_N_ELEMENTS (shapes); s++) {
        g_autoptr (GError) error = NULL;
        g_autofree char *contents = NULL;
        g_autofree float *data = NULL, *got = NULL;
        size_t numel = 1, header_len;
        gsize len;
        TslNpyInfo info;

        for (int d = 0; d < shapes[s].ndim; d++)
            numel *= (size_t) shapes[s].shape[d];
        data = g_new (float, numel + 1);
        tsl_test_fill_normal (&rng, data, numel, 1.0f);
        g_assert_true (tsl_npy_write_f32 (path, shapes[s].ndim, shapes[s].shape, data, &error));
        g_assert_no_error (error);

        /* NumPy's layout: version 1.0, data 64-byte aligned, header ends in '\n' */
        g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
        g_assert_cmpmem (contents, 8, "\x93NUMPY\x01\x00", 8);
        header_len = (guint8) contents[8] | (size_t) (guint8) contents[9] << 8;
        g_assert_cmpuint ((10 + header_len) % 64, ==, 0);
        g_assert_cmpint (contents[10 + header_len - 1], ==, '\n');
        g_assert_cmpuint (len, ==, 10 + header_len + 4 * numel);

        got = tsl_npy_read_f32 (path, &info, &error);
        g_assert_no_error (error);
        g_assert_cmpint (info.dtype, ==, TSL_DTYPE_F32);
        g_assert_cmpint (info.ndim, ==, shapes[s].ndim);
        g_assert_cmpmem (info.shape, sizeof (int64_t) * info.ndim, shapes[s].shape,
                         sizeof (int64_t) * shapes[s].ndim);
        g_assert_false (info.fortran_order);
        g_assert_cmpmem (got, 4 * numel, data, 4 * numel);
    }
    g_unlink (path);
}

static void
test_write_header_text (void)
{
    g_autofree char *path = tmp_path ("header.npy");
    g_autoptr (GError) error = NULL;
    g_autofree char *contents = NULL;
    int64_t shape[2] = { 2, 3 }, shape1[1] = { 5 };
    float data[6] = { 0 };

    /* exactly NumPy's text, so that np.load and other readers agree */
    g_assert_true (tsl_npy_write_f32 (path, 2, shape, data, &error));
    g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
    g_assert_true (g_str_has_prefix (
        contents + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
    g_clear_pointer (&contents, g_free);
    g_assert_true (tsl_npy_write_f32 (path, 1, shape1, data, &error));
    g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
    g_assert_true (g_str_has_prefix (contents + 10,
                                     "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }"));
    g_clear_pointer (&contents, g_free);
    g_assert_true (tsl_npy_write_f32 (path, 0, NULL, data, &error));
    g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
    g_assert_true (g_str_has_prefix (contents + 10,
                                     "{'descr': '<f4', 'fortran_order': False, 'shape': (), }"));
    g_assert_no_error (error);
    g_unlink (path);
}

static guint
count_files (const char *prefix)
{
    g_autoptr (GDir) d = g_dir_open (tmp_dir, 0, NULL);
    const char *name;
    guint n = 0;

    while ((name = g_dir_read_name (d)) != NULL)
        n += g_str_has_prefix (name, prefix);
    return n;
}

static void
test_write_errors (void)
{
    g_autofree char *path = tmp_path ("errors.npy");
    g_autofree char *missing = tmp_path ("no-such-dir/x.npy");
    int64_t nine[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, negative[2] = { 3, -1 };
    int64_t huge[2] = { G_MAXINT64 / 2, 8 };
    float data[4] = { 1, 2, 3, 4 };
    g_autoptr (GError) error = NULL;
    g_autofree float *got = NULL;

    g_assert_false (tsl_npy_write_f32 (path, 9, nine, data, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    g_assert_nonnull (strstr (error->message, "9 dimensions"));
    g_clear_error (&error);
    g_assert_false (tsl_npy_write_f32 (path, 2, negative, data, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    g_assert_nonnull (strstr (error->message, "dimension 1 is -1"));
    g_clear_error (&error);
    g_assert_false (tsl_npy_write_f32 (path, 2, huge, data, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    g_clear_error (&error);
    g_assert_cmpuint (count_files ("errors.npy"), ==, 0);

    g_assert_false (tsl_npy_write_f32 (missing, 1, (int64_t[]) { 4 }, data, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_IO);
    g_assert_nonnull (strstr (error->message, "no-such-dir/x.npy.tmp-"));
    g_clear_error (&error);

    /* replacing a file leaves exactly the new one */
    g_assert_true (g_file_set_contents (path, "old", -1, NULL));
    g_assert_true (tsl_npy_write_f32 (path, 1, (int64_t[]) { 4 }, data, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (count_files ("errors.npy"), ==, 1);
    got = tsl_npy_read_f32 (path, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpmem (got, sizeof data, data, sizeof data);
    g_unlink (path);

    g_assert_false (tsl_npy_read_info (path, &(TslNpyInfo) { 0 }, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_IO);
    g_assert_true (g_str_has_prefix (error->message, path));
}

/* ---- malformed and unusual headers ---- */

typedef struct {
    const char *name;
    const char *header;  /* dict text; NULL: `raw` is the whole file */
    int major, minor;
    size_t data_len;     /* zero bytes after the header */
    const char *raw;
    size_t raw_len;
    guint32 length_field; /* 0: the real header length */
    const char *problem; /* expected in the message; NULL: valid */
} HeaderCase;

#define DICT(descr, order, shape) \
    "{'descr': '" descr "', 'fortran_order': " order ", 'shape': " shape ", }\n"

static const HeaderCase header_cases[] = {
    /* magic, version, lengths */
    { "empty", NULL, 0, 0, 0, "", 0, 0, "not a .npy file" },
    { "bad-magic", NULL, 0, 0, 0, "\x93NUMPZ\x01\x00\x00\x00", 10, 0, "not a .npy file" },
    { "magic-only", NULL, 0, 0, 0, "\x93NUMPY", 6, 0, "not a .npy file" },
    { "version-4", DICT ("<f4", "False", "(1,)"), 4, 0, 4, NULL, 0, 0,
      "unsupported .npy format version 4.0" },
    { "version-0", DICT ("<f4", "False", "(1,)"), 0, 0, 4, NULL, 0, 0,
      "unsupported .npy format version 0.0" },
    { "version-1.1", DICT ("<f4", "False", "(1,)"), 1, 1, 4, NULL, 0, 0,
      "unsupported .npy format version 1.1" },
    { "length-truncated-v1", NULL, 0, 0, 0, "\x93NUMPY\x01\x00\x10", 9, 0,
      "file ends inside the .npy header length" },
    { "length-truncated-v2", NULL, 0, 0, 0, "\x93NUMPY\x02\x00\x10\x00\x00", 11, 0,
      "file ends inside the .npy header length" },
    { "header-past-end", DICT ("<f4", "False", "(1,)"), 1, 0, 4, NULL, 0, 500,
      ".npy header length 500 runs past the end of the file" },
    { "header-past-end-v2", DICT ("<f4", "False", "(1,)"), 2, 0, 4, NULL, 0, 0xffffffffu,
      ".npy header length 4294967295 runs past the end" },
    { "not-ascii-v1", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), '\xc3\xa9': 1}\n",
      1, 0, 4, NULL, 0, 0, ".npy 1.0 header is not ASCII" },
    /* the dict */
    { "no-dict", "'descr'\n", 1, 0, 0, NULL, 0, 0, "expected '{'" },
    { "missing-key", "{'descr': '<f4', 'shape': (1,)}\n", 1, 0, 4, NULL, 0, 0,
      "missing key 'fortran_order' at byte 31 of the header" },
    { "unknown-key", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}\n", 1, 0,
      4, NULL, 0, 0, "unknown key (expected descr, fortran_order, shape) at byte 56" },
    { "duplicate-key", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
      "'shape': (1,)}\n", 1, 0, 4, NULL, 0, 0, "duplicate key 'descr' at byte 17" },
    { "duplicate-shape", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), "
      "'shape': (1,)}\n", 1, 0, 4, NULL, 0, 0, "duplicate key 'shape'" },
    { "key-not-string", "{descr: '<f4'}\n", 1, 0, 0, NULL, 0, 0, "expected a quoted string" },
    { "missing-colon", "{'descr' '<f4'}\n", 1, 0, 0, NULL, 0, 0, "expected ':'" },
    { "missing-comma", "{'descr': '<f4' 'fortran_order': False}\n", 1, 0, 0, NULL, 0, 0,
      "expected ',' or '}'" },
    { "double-comma", "{'descr': '<f4',, 'fortran_order': False}\n", 1, 0, 0, NULL, 0, 0,
      "expected a quoted string" },
    { "unterminated-string", "{'descr: '<f4'}\n", 1, 0, 0, NULL, 0, 0,
      "expected ':'" },
    { "escape-in-string", "{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,)}\n", 1, 0,
      4, NULL, 0, 0, "unsupported character in a string" },
    { "no-newline", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }  ", 1, 0, 4,
      NULL, 0, 0, "expected spaces and a final newline after the dict" },
    { "text-after-dict", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x\n", 1, 0,
      4, NULL, 0, 0, "expected spaces and a final newline" },
    { "two-newlines", DICT ("<f4", "False", "(1,)") "\n", 1, 0, 4, NULL, 0, 0,
      "final newline" },
    /* values */
    { "descr-not-string", "{'descr': 4, 'fortran_order': False, 'shape': (1,)}\n", 1, 0, 4,
      NULL, 0, 0, "expected a quoted string" },
    { "descr-structured", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}\n",
      1, 0, 4, NULL, 0, 0, "expected a quoted string" },
    { "descr-complex", DICT ("<c8", "False", "(1,)"), 1, 0, 8, NULL, 0, 0,
      "unsupported .npy dtype '<c8'" },
    { "descr-u4", DICT ("<u4", "False", "(1,)"), 1, 0, 4, NULL, 0, 0,
      "unsupported .npy dtype '<u4'" },
    { "descr-pipe-f4", DICT ("|f4", "False", "(1,)"), 1, 0, 4, NULL, 0, 0,
      "unsupported .npy dtype '|f4'" },
    { "descr-no-order", DICT ("f4", "False", "(1,)"), 1, 0, 4, NULL, 0, 0,
      "unsupported .npy dtype 'f4'" },
    { "descr-empty", DICT ("", "False", "(1,)"), 1, 0, 4, NULL, 0, 0,
      "unsupported .npy dtype ''" },
    { "descr-long", DICT ("<f44", "False", "(1,)"), 1, 0, 4, NULL, 0, 0,
      "unsupported .npy dtype '<f44'" },
    { "order-int", DICT ("<f4", "0", "(1,)"), 1, 0, 4, NULL, 0, 0, "expected True or False" },
    { "order-lowercase", DICT ("<f4", "false", "(1,)"), 1, 0, 4, NULL, 0, 0,
      "expected True or False" },
    { "shape-list", DICT ("<f4", "False", "[1]"), 1, 0, 4, NULL, 0, 0,
      "expected a shape tuple" },
    { "shape-no-comma", DICT ("<f4", "False", "(1)"), 1, 0, 4, NULL, 0, 0,
      "a one-element tuple needs a trailing comma" },
    { "shape-negative", DICT ("<f4", "False", "(-1,)"), 1, 0, 4, NULL, 0, 0,
      "expected a non-negative integer" },
    { "shape-float", DICT ("<f4", "False", "(1.0,)"), 1, 0, 4, NULL, 0, 0,
      "expected ',' or ')' in the shape" },
    { "shape-leading-zero", DICT ("<f4", "False", "(01,)"), 1, 0, 4, NULL, 0, 0,
      "leading zero in an integer" },
    { "shape-huge-dim", DICT ("<f4", "False", "(9223372036854775808,)"), 1, 0, 4, NULL, 0, 0,
      "dimension too large" },
    { "shape-nine-dims", DICT ("<f4", "False", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), 1, 0, 4, NULL, 0,
      0, "more dimensions than the 8 supported" },
    { "shape-overflow", DICT ("<f4", "False", "(4294967296, 4294967296, 4294967296)"), 1, 0, 0,
      NULL, 0, 0, ".npy shape is too large" },
    { "shape-unclosed", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,\n", 1, 0, 4,
      NULL, 0, 0, "expected a non-negative integer" },
    /* data size */
    { "data-short", DICT ("<f4", "False", "(2, 3)"), 1, 0, 23, NULL, 0, 0,
      ".npy data is 23 bytes, but 6 elements of 4 bytes were announced" },
    { "data-long", DICT ("<f4", "False", "(2, 3)"), 1, 0, 25, NULL, 0, 0,
      ".npy data is 25 bytes, but 6 elements of 4 bytes" },
    { "data-f8", DICT ("<f8", "False", "(3,)"), 1, 0, 12, NULL, 0, 0,
      "3 elements of 8 bytes" },
    /* accepted forms */
    { "native-order", DICT ("=f4", "False", "(3,)"), 1, 0, 12, NULL, 0, 0, NULL },
    { "pipe-u1", DICT ("|u1", "False", "(3,)"), 1, 0, 3, NULL, 0, 0, NULL },
    { "little-u1", DICT ("<u1", "False", "(3,)"), 1, 0, 3, NULL, 0, 0, NULL },
    { "big-i2", DICT (">i2", "False", "(3,)"), 1, 0, 6, NULL, 0, 0, NULL },
    { "double-quotes", "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3,)}\n", 1, 0,
      12, NULL, 0, 0, NULL },
    { "python2-long", DICT ("<f4", "False", "(2L, 3L)"), 1, 0, 24, NULL, 0, 0, NULL },
    { "no-trailing-comma", "{'descr':'<f4','fortran_order':True,'shape':(2,3)}\n", 1, 0, 24,
      NULL, 0, 0, NULL },
    { "shape-trailing-comma", DICT ("<f4", "False", "(2, 3,)"), 1, 0, 24, NULL, 0, 0, NULL },
    { "key-order", "{'shape': (), 'fortran_order': False, 'descr': '<f8'}    \n", 1, 0, 8, NULL,
      0, 0, NULL },
    { "utf8-v3", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }  \n", 3, 0, 4,
      NULL, 0, 0, NULL },
    { "zero-size", DICT ("<f4", "False", "(0, 4294967296)"), 1, 0, 0, NULL, 0, 0, NULL },
    { "zero-size-fortran", DICT ("<f4", "True", "(4L, 0)"), 1, 0, 0, NULL, 0, 0, NULL },
};

static GBytes *
header_case_bytes (const HeaderCase *c)
{
    GByteArray *file = g_byte_array_new ();
    size_t header_len;
    guint32 length;
    guint8 preamble[8] = { 0x93, 'N', 'U', 'M', 'P', 'Y', (guint8) c->major, (guint8) c->minor };

    if (c->header == NULL) {
        g_byte_array_append (file, (const guint8 *) c->raw, (guint) c->raw_len);
        return g_byte_array_free_to_bytes (file);
    }
    header_len = strlen (c->header);
    length = c->length_field ? c->length_field : (guint32) header_len;
    g_byte_array_append (file, preamble, 8);
    for (int k = 0; k < (c->major >= 2 ? 4 : 2); k++)
        g_byte_array_append (file, &(guint8) { (guint8) (length >> (8 * k)) }, 1);
    g_byte_array_append (file, (const guint8 *) c->header, (guint) header_len);
    for (size_t i = 0; i < c->data_len; i++)
        g_byte_array_append (file, (const guint8 *) "\0", 1);
    return g_byte_array_free_to_bytes (file);
}

static void
test_header_case (gconstpointer data)
{
    const HeaderCase *c = data;
    g_autoptr (GBytes) bytes = header_case_bytes (c);
    g_autofree char *file_name = g_strconcat (c->name, ".npy", NULL);
    g_autofree char *path = tmp_path (file_name);
    g_autoptr (GError) error = NULL;
    g_autofree float *values = NULL;
    TslNpyInfo info;
    gboolean ok;

    g_assert_true (g_file_set_contents (path, g_bytes_get_data (bytes, NULL),
                                        (gssize) g_bytes_get_size (bytes), NULL));
    ok = tsl_npy_read_info (path, &info, &error);
    if (c->problem == NULL) {
        g_assert_no_error (error);
        g_assert_true (ok);
        values = tsl_npy_read_f32 (path, NULL, &error);
        g_assert_no_error (error);
        g_assert_nonnull (values);
    } else {
        g_assert_false (ok);
        g_assert_error (error, TSL_ERROR, TSL_ERROR_FORMAT);
        if (!g_str_has_prefix (error->message, path) || strstr (error->message, c->problem) == NULL)
            g_error ("%s: message '%s' should start with the path and contain '%s'", c->name,
                     error->message, c->problem);
        g_test_message ("%s", error->message);
        g_clear_error (&error);
        g_assert_null (tsl_npy_read_f32 (path, NULL, &error));
        g_assert_error (error, TSL_ERROR, TSL_ERROR_FORMAT);
    }
    g_unlink (path);
}

/* Values of the accepted unusual forms. */
static void
test_unusual_values (void)
{
    static const struct {
        const char *header;
        const char *data;
        size_t data_len;
        float want[3];
    } cases[] = {
        { DICT ("=f4", "False", "(3,)"), "\x00\x00\xc0\x3f\x00\x00\x10\xc0\x00\x00\x80\x3f", 12,
          { 1.5f, -2.25f, 1.0f } },
        { DICT (">i2", "False", "(3,)"), "\xff\xfe\x01\x00\x80\x00", 6,
          { -2.0f, 256.0f, -32768.0f } },
        { DICT ("|u1", "False", "(3,)"), "\xff\x00\x80", 3, { 255.0f, 0.0f, 128.0f } },
        { DICT ("<f4", "True", "(3,)"), "\x00\x00\xc0\x3f\x00\x00\x10\xc0\x00\x00\x80\x3f", 12,
          { 1.5f, -2.25f, 1.0f } }, /* Fortran order of one dimension = C order */
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autoptr (GError) error = NULL;
        g_autoptr (GByteArray) file = g_byte_array_new ();
        size_t header_len = strlen (cases[i].header);
        g_autofree float *got = NULL;
        TslNpyInfo info;

        g_byte_array_append (file, (const guint8 *) "\x93NUMPY\x01\x00", 8);
        g_byte_array_append (file, &(guint8) { (guint8) header_len }, 1);
        g_byte_array_append (file, &(guint8) { 0 }, 1);
        g_byte_array_append (file, (const guint8 *) cases[i].header, (guint) header_len);
        /* the data section follows at an odd offset: reads must not need alignment */
        g_byte_array_append (file, (const guint8 *) cases[i].data, (guint) cases[i].data_len);
        got = tsl_npy_parse_f32 (file->data, file->len, "memory", &info, &error);
        g_assert_no_error (error);
        for (int k = 0; k < 3; k++)
            g_assert_cmpfloat (got[k], ==, cases[i].want[k]);
    }
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
    tmp_dir = g_dir_make_tmp ("tsl-npy-XXXXXX", NULL);
    g_assert_nonnull (tmp_dir);

    for (guint i = 0; i < G_N_ELEMENTS (fixtures); i++) {
        g_autofree char *path = g_strdup_printf ("/io/npy/fixture/%s", fixtures[i].file);
        g_test_add_data_func (path, &fixtures[i], test_fixture);
    }
    g_test_add_func ("/io/npy/f16-special", test_f16_special);
    g_test_add_func ("/io/npy/write/round-trip", test_write_round_trip);
    g_test_add_func ("/io/npy/write/header-text", test_write_header_text);
    g_test_add_func ("/io/npy/write/errors", test_write_errors);
    g_test_add_func ("/io/npy/unusual-values", test_unusual_values);
    for (guint i = 0; i < G_N_ELEMENTS (header_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/io/npy/header/%s", header_cases[i].name);
        g_test_add_data_func (path, &header_cases[i], test_header_case);
    }
    status = g_test_run ();
    remove_tmp_dir ();
    g_free (tmp_dir);
    return status;
}

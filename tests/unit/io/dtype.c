/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests io/dtype.c: names and sizes, the exact binary16 and bfloat16
 * conversions (every class of value, and all 65536 binary16 patterns
 * against a double-precision decoding written here), and
 * tsl_dtype_convert_to_f32 for every dtype in both byte orders from an
 * unaligned source.
 */
#include <math.h>
#include <string.h>

#include "testutil.h"
#include "io/dtype.h"

static void
test_names (void)
{
    static const size_t sizes[TSL_DTYPE_COUNT] = { 4, 2, 2, 8, 8, 4, 2, 1, 1, 1 };

    for (int d = 0; d < TSL_DTYPE_COUNT; d++) {
        TslDtype back = TSL_DTYPE_COUNT;
        g_assert_true (tsl_dtype_from_name (tsl_dtype_name (d), &back));
        g_assert_cmpint (back, ==, d);
        g_assert_cmpuint (tsl_dtype_size (d), ==, sizes[d]);
        g_assert_cmpint (tsl_dtype_is_float (d), ==, d <= TSL_DTYPE_F64);
    }
    g_assert_cmpstr (tsl_dtype_name (TSL_DTYPE_BF16), ==, "BF16");
    g_assert_false (tsl_dtype_from_name ("f32", &(TslDtype) { 0 }));
    g_assert_false (tsl_dtype_from_name ("U16", &(TslDtype) { 0 }));
    g_assert_false (tsl_dtype_from_name ("", &(TslDtype) { 0 }));
}

/* binary16 decoded in double from its definition */
static double
f16_reference (guint16 h)
{
    int sign = h >> 15, exponent = (h >> 10) & 31, mantissa = h & 1023;
    double v;

    if (exponent == 31)
        v = mantissa ? NAN : INFINITY;
    else if (exponent == 0)
        v = ldexp (mantissa, -24);
    else
        v = ldexp (1024 + mantissa, exponent - 25);
    return sign ? -v : v;
}

static void
test_f16_all (void)
{
    for (guint32 h = 0; h < 65536; h++) {
        float got = tsl_f16_to_f32 ((guint16) h);
        double want = f16_reference ((guint16) h);
        if (isnan (want)) {
            guint32 bits;
            memcpy (&bits, &got, 4);
            g_assert_true (isnan (got));
            /* sign and payload kept */
            g_assert_cmphex (bits, ==, ((h & 0x8000u) << 16) | 0x7f800000u | ((h & 0x3ffu) << 13));
            continue;
        }
        if ((double) got != want || !signbit (got) != !signbit (want))
            g_error ("f16 0x%04x: got %.9g, want %.9g", h, got, want);
    }
    g_assert_cmpfloat (tsl_f16_to_f32 (0x3c00), ==, 1.0f);
    g_assert_cmpfloat (tsl_f16_to_f32 (0x7bff), ==, 65504.0f);
    g_assert_cmpfloat (tsl_f16_to_f32 (0x0001), ==, ldexpf (1.0f, -24));
    g_assert_cmpfloat (tsl_f16_to_f32 (0x0400), ==, ldexpf (1.0f, -14));
    g_assert_true (signbit (tsl_f16_to_f32 (0x8000)));
}

static void
test_bf16 (void)
{
    g_assert_cmpfloat (tsl_bf16_to_f32 (0x3f80), ==, 1.0f);
    g_assert_cmpfloat (tsl_bf16_to_f32 (0xc010), ==, -2.25f);
    g_assert_cmpfloat (tsl_bf16_to_f32 (0x7f80), ==, INFINITY);
    g_assert_cmpfloat (tsl_bf16_to_f32 (0x0001), ==, ldexpf (1.0f, -133));
    g_assert_true (isnan (tsl_bf16_to_f32 (0x7fc1)));
    g_assert_true (signbit (tsl_bf16_to_f32 (0x8000)));
}

typedef struct {
    TslDtype dtype;
    const char *le_bytes; /* three little-endian elements */
    float want[3];
} ConvertCase;

static const ConvertCase convert_cases[] = {
    { TSL_DTYPE_F32, "\x00\x00\xc0\x3f" "\x00\x00\x10\xc0" "\x00\x00\x80\x7f",
      { 1.5f, -2.25f, INFINITY } },
    { TSL_DTYPE_F16, "\x00\x3e" "\x80\xc0" "\x01\x00", { 1.5f, -2.25f, 0x1p-24f } },
    { TSL_DTYPE_BF16, "\xc0\x3f" "\x10\xc0" "\x80\xff", { 1.5f, -2.25f, -INFINITY } },
    { TSL_DTYPE_F64, "\x00\x00\x00\x00\x00\x00\xf8\x3f" "\x00\x00\x00\x00\x00\x00\x02\xc0"
      "\x00\x00\x00\x00\x00\x00\xf0\x47", { 1.5f, -2.25f, INFINITY } /* 2^128 overflows */ },
    { TSL_DTYPE_I64, "\xff\xff\xff\xff\xff\xff\xff\xff" "\x00\x00\x00\x00\x00\x01\x00\x00"
      "\x00\x00\x00\x00\x00\x00\x00\x80", { -1.0f, 0x1p40f, -0x1p63f } },
    { TSL_DTYPE_I32, "\xff\xff\xff\xff" "\x00\x00\x01\x00" "\x00\x00\x00\x80",
      { -1.0f, 65536.0f, -0x1p31f } },
    { TSL_DTYPE_I16, "\xff\xff" "\x00\x01" "\x00\x80", { -1.0f, 256.0f, -32768.0f } },
    { TSL_DTYPE_I8, "\xff" "\x7f" "\x80", { -1.0f, 127.0f, -128.0f } },
    { TSL_DTYPE_U8, "\xff" "\x7f" "\x80", { 255.0f, 127.0f, 128.0f } },
    { TSL_DTYPE_BOOL, "\x00" "\x01" "\x02", { 0.0f, 1.0f, 1.0f } },
};

static void
test_convert (gconstpointer data)
{
    const ConvertCase *c = data;
    size_t size = tsl_dtype_size (c->dtype);
    guint8 buffer[1 + 3 * 8 + 1], *src = buffer + 1; /* unaligned on purpose */
    float got[3];

    for (int order = 0; order < 2; order++) {
        gboolean big_endian = order == 1;
        for (size_t i = 0; i < 3; i++) {
            for (size_t k = 0; k < size; k++) {
                size_t from = big_endian ? size - 1 - k : k;
                src[i * size + k] = (guint8) c->le_bytes[i * size + from];
            }
        }
        tsl_dtype_convert_to_f32 (got, src, c->dtype, big_endian, 3);
        for (int i = 0; i < 3; i++) {
            if (got[i] != c->want[i])
                g_error ("%s %s element %d: got %.9g, want %.9g", tsl_dtype_name (c->dtype),
                         big_endian ? "big-endian" : "little-endian", i, got[i], c->want[i]);
        }
    }
}

static void
test_convert_empty (void)
{
    /* no element: nothing is read or written, NULL pointers included */
    for (int d = 0; d < TSL_DTYPE_COUNT; d++)
        tsl_dtype_convert_to_f32 (NULL, NULL, d, FALSE, 0);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/io/dtype/names", test_names);
    g_test_add_func ("/io/dtype/f16-all", test_f16_all);
    g_test_add_func ("/io/dtype/bf16", test_bf16);
    g_test_add_func ("/io/dtype/convert-empty", test_convert_empty);
    for (guint i = 0; i < G_N_ELEMENTS (convert_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/io/dtype/convert/%s",
                                                 tsl_dtype_name (convert_cases[i].dtype));
        g_test_add_data_func (path, &convert_cases[i], test_convert);
    }
    return g_test_run ();
}

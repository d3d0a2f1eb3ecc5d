/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests io/json-check.c: a table of texts that are and are not strict JSON,
 * each with the problem the error must name, covering every rule the
 * checker adds on top of json-glib (duplicates after unescaping, integer
 * range, depth, trailing text, non-JSON syntax json-glib accepts).
 */
#include <string.h>

#include "testutil.h"
#include "io/json-check.h"

typedef struct {
    const char *text;
    size_t len;          /* 0: strlen (text) */
    const char *problem; /* NULL: valid */
} JsonCase;

static const JsonCase cases[] = {
    { "{}", 0, NULL },
    { " [1, -0, 0.5, -1.5e-3, 2E+10, true, false, null, \"s\"] ", 0, NULL },
    { "{\"a\": {\"a\": 1}, \"b\": [{\"a\": 1}, {\"a\": 2}]}", 0, NULL },
    { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"", 0, NULL },
    { "9223372036854775807", 0, NULL },
    { "-9223372036854775808", 0, NULL },
    { "1e999", 0, NULL }, /* a float, not an integer: no range rule */
    { "[[[[[[[[1]]]]]]]]", 0, NULL }, /* depth 8 = the limit used here */
    { "{\"caf\xc3\xa9\": \"\xe2\x82\xac\"}", 0, NULL },
    { "", 0, "missing value at byte 0" },
    { "   ", 0, "missing value at byte 3" },
    { "{\"a\": 1, \"a\": 2}", 0, "duplicate key \"a\" at byte 9" },
    { "{\"\\n\\\"\": 1, \"\\n\\\"\": 2}", 0, "duplicate key \"\\n\\\"\" at byte 12" },
    { "{\"ab\": 1, \"a\\u0062\": 2}", 0, "duplicate key \"ab\" at byte 10" },
    { "{\"\\u00e9\": 1, \"\xc3\xa9\": 2}", 0, "duplicate key \"\\303\\251\" at byte 14" },
    { "[{\"x\": 1, \"y\": 2, \"x\": 3}]", 0, "duplicate key \"x\" at byte 18" },
    { "9223372036854775808", 0, "integer out of the 64-bit range at byte 0" },
    { "[-9223372036854775809]", 0, "integer out of the 64-bit range at byte 1" },
    { "[18446744073709551617]", 0, "integer out of the 64-bit range" },
    { "[[[[[[[[[1]]]]]]]]]", 0, "nesting too deep at byte 8" },
    { "{} {}", 0, "text after the JSON value at byte 3" },
    { "{},", 0, "text after the JSON value" },
    { "/* c */ {}", 0, "unexpected character at byte 0" },
    { "{'a': 1}", 0, "expected a string key at byte 1" },
    { "{\"a\": 1,}", 0, "expected a string key at byte 8" },
    { "[1, 2,]", 0, "unexpected character at byte 6" },
    { "[1 2]", 0, "expected ',' or ']' at byte 3" },
    { "{\"a\" 1}", 0, "expected ':' at byte 5" },
    { "{\"a\": 1 \"b\": 2}", 0, "expected ',' or '}' at byte 8" },
    { "0x10", 0, "text after the JSON value at byte 1" },
    { "01", 0, "leading zero in a number at byte 1" },
    { "+1", 0, "unexpected character at byte 0" },
    { "-", 0, "invalid number at byte 1" },
    { "1.", 0, "invalid fraction at byte 2" },
    { ".5", 0, "unexpected character at byte 0" },
    { "1e", 0, "invalid exponent at byte 2" },
    { "NaN", 0, "unexpected character" },
    { "tru", 0, "invalid literal at byte 0" },
    { "nul", 0, "invalid literal" },
    { "\"abc", 0, "unterminated string at byte 4" },
    { "\"ab\\", 0, "unterminated string at byte 4" },
    { "\"a\nb\"", 0, "control character in a string at byte 2" },
    { "\"\\x41\"", 0, "invalid escape in a string at byte 2" },
    { "\"\\u12zz\"", 0, "invalid \\u escape at byte 3" },
    { "\"\\u12", 0, "truncated \\u escape" },
    { "\"\\u0000\"", 0, "\\u0000 in a string" },
    { "\"\\ud800\"", 0, "unpaired high surrogate" },
    { "\"\\ud800\\u0041\"", 0, "unpaired high surrogate" },
    { "\"\\udc00\"", 0, "unpaired low surrogate" },
    { "\"\xff\"", 0, "invalid UTF-8 or NUL byte at byte 1" },
    { "\"\xc3\"", 0, "invalid UTF-8" },
    { "{}\0", 3, "invalid UTF-8 or NUL byte at byte 2" },
    { "[1]", 2, "expected ',' or ']' at byte 2" }, /* len cuts the text */
};

static void
test_case (gconstpointer data)
{
    const JsonCase *c = data;
    g_autoptr (GError) error = NULL;
    size_t len = c->len ? c->len : strlen (c->text);
    gboolean ok = tsl_json_check (c->text, len, 8, &error);

    if (c->problem == NULL) {
        g_assert_no_error (error);
        g_assert_true (ok);
        return;
    }
    g_assert_false (ok);
    g_assert_error (error, TSL_ERROR, TSL_ERROR_FORMAT);
    if (strstr (error->message, c->problem) == NULL)
        g_error ("'%s': message '%s' lacks '%s'", c->text, error->message, c->problem);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *path = g_strdup_printf ("/io/json-check/%u", i);
        g_test_add_data_func (path, &cases[i], test_case);
    }
    return g_test_run ();
}

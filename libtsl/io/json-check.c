/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * json-check.c: strict JSON syntax check (see json-check.h). A recursive
 * descent over the RFC 8259 grammar whose depth is bounded by max_depth;
 * object keys are unescaped into a per-object set to find duplicates.
 */
#include "json-check.h"

#include <string.h>

#define KEY_SHOWN_MAX 80 /* bytes of a duplicate key quoted in the message */

typedef struct {
    const char *text;
    size_t len;
    size_t pos;     /* next byte to read */
    int max_depth;
    GError **error;
} JsonCursor;

static gboolean check_value (JsonCursor *c, int depth);

static gboolean
fail (JsonCursor *c, const char *problem)
{
    g_set_error (c->error, TSL_ERROR, TSL_ERROR_FORMAT, "%s at byte %" G_GSIZE_FORMAT, problem,
                 c->pos);
    return FALSE;
}

/* The byte at the cursor, or -1 at the end. */
static int
peek (const JsonCursor *c)
{
    return c->pos < c->len ? (guchar) c->text[c->pos] : -1;
}

static void
skip_whitespace (JsonCursor *c)
{
    int ch;

    while ((ch = peek (c)) == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
        c->pos++;
}

static gboolean
expect_literal (JsonCursor *c, const char *literal)
{
    size_t n = strlen (literal);

    if (c->len - c->pos < n || memcmp (c->text + c->pos, literal, n) != 0)
        return fail (c, "invalid literal");
    c->pos += n;
    return TRUE;
}

/* Four hex digits after "\u". */
static gboolean
read_hex4 (JsonCursor *c, gunichar *out)
{
    *out = 0;
    if (c->len - c->pos < 4)
        return fail (c, "truncated \\u escape");
    for (int k = 0; k < 4; k++) {
        int digit = g_ascii_xdigit_value (c->text[c->pos + k]);
        if (digit < 0)
            return fail (c, "invalid \\u escape");
        *out = *out * 16 + (gunichar) digit;
    }
    c->pos += 4;
    return TRUE;
}

/* A string starting at the opening quote; its unescaped bytes are appended
 * to `decoded` when not NULL. */
static gboolean
check_string (JsonCursor *c, GString *decoded)
{
    c->pos++; /* opening quote */
    for (;;) {
        int ch = peek (c);
        if (ch < 0)
            return fail (c, "unterminated string");
        if (ch < 0x20)
            return fail (c, "control character in a string");
        c->pos++;
        if (ch == '"')
            return TRUE;
        if (ch != '\\') {
            if (decoded)
                g_string_append_c (decoded, (char) ch);
            continue;
        }
        ch = peek (c);
        if (ch < 0)
            return fail (c, "unterminated string");
        c->pos++;
        switch (ch) {
        case '"': case '\\': case '/':
            if (decoded)
                g_string_append_c (decoded, (char) ch);
            break;
        case 'b': case 'f': case 'n': case 'r': case 't':
            if (decoded) {
                const char *from = "bfnrt", *to = "\b\f\n\r\t";
                g_string_append_c (decoded, to[strchr (from, ch) - from]);
            }
            break;
        case 'u': {
            gunichar unit, low;
            if (!read_hex4 (c, &unit))
                return FALSE;
            if (unit == 0)
                return fail (c, "\\u0000 in a string");
            if (unit >= 0xdc00 && unit <= 0xdfff)
                return fail (c, "unpaired low surrogate");
            if (unit >= 0xd800 && unit <= 0xdbff) {
                if (c->len - c->pos < 2 || c->text[c->pos] != '\\' || c->text[c->pos + 1] != 'u')
                    return fail (c, "unpaired high surrogate");
                c->pos += 2;
                if (!read_hex4 (c, &low))
                    return FALSE;
                if (low < 0xdc00 || low > 0xdfff)
                    return fail (c, "unpaired high surrogate");
                unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
            }
            if (decoded)
                g_string_append_unichar (decoded, unit);
            break;
        }
        default:
            c->pos--;
            return fail (c, "invalid escape in a string");
        }
    }
}

static gboolean
skip_digits (JsonCursor *c)
{
    size_t start = c->pos;

    while (g_ascii_isdigit (peek (c)))
        c->pos++;
    return c->pos > start;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; integers must fit in int64. */
static gboolean
check_number (JsonCursor *c)
{
    size_t start = c->pos;
    gboolean negative = peek (c) == '-';
    gboolean integer = TRUE;

    if (negative)
        c->pos++;
    if (peek (c) == '0') {
        c->pos++;
        if (g_ascii_isdigit (peek (c)))
            return fail (c, "leading zero in a number");
    } else if (!skip_digits (c)) {
        return fail (c, "invalid number");
    }
    if (peek (c) == '.') {
        c->pos++;
        integer = FALSE;
        if (!skip_digits (c))
            return fail (c, "invalid fraction");
    }
    if (peek (c) == 'e' || peek (c) == 'E') {
        c->pos++;
        integer = FALSE;
        if (peek (c) == '+' || peek (c) == '-')
            c->pos++;
        if (!skip_digits (c))
            return fail (c, "invalid exponent");
    }
    if (integer) {
        guint64 limit = negative ? (guint64) G_MAXINT64 + 1 : (guint64) G_MAXINT64;
        guint64 magnitude = 0;
        for (size_t i = start + negative; i < c->pos; i++) {
            guint digit = (guint) (c->text[i] - '0');
            if (magnitude > (limit - digit) / 10) {
                c->pos = start;
                return fail (c, "integer out of the 64-bit range");
            }
            magnitude = magnitude * 10 + digit;
        }
    }
    return TRUE;
}

static gboolean
check_array (JsonCursor *c, int depth)
{
    c->pos++; /* [ */
    skip_whitespace (c);
    if (peek (c) == ']') {
        c->pos++;
        return TRUE;
    }
    for (;;) {
        if (!check_value (c, depth))
            return FALSE;
        skip_whitespace (c);
        if (peek (c) == ']') {
            c->pos++;
            return TRUE;
        }
        if (peek (c) != ',')
            return fail (c, "expected ',' or ']'");
        c->pos++;
    }
}

static gboolean
check_object (JsonCursor *c, int depth)
{
    g_autoptr (GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

    c->pos++; /* { */
    skip_whitespace (c);
    if (peek (c) == '}') {
        c->pos++;
        return TRUE;
    }
    for (;;) {
        size_t key_pos = c->pos;
        GString *key;

        if (peek (c) != '"')
            return fail (c, "expected a string key");
        key = g_string_new (NULL);
        if (!check_string (c, key)) {
            g_string_free (key, TRUE);
            return FALSE;
        }
        if (g_hash_table_contains (keys, key->str)) {
            g_autofree char *escaped = g_strescape (key->str, NULL);
            g_autofree char *problem = NULL;
            if (strlen (escaped) > KEY_SHOWN_MAX)
                strcpy (escaped + KEY_SHOWN_MAX - 3, "...");
            problem = g_strdup_printf ("duplicate key \"%s\"", escaped);
            g_string_free (key, TRUE);
            c->pos = key_pos;
            return fail (c, problem);
        }
        g_hash_table_add (keys, g_string_free (key, FALSE));
        skip_whitespace (c);
        if (peek (c) != ':')
            return fail (c, "expected ':'");
        c->pos++;
        if (!check_value (c, depth))
            return FALSE;
        skip_whitespace (c);
        if (peek (c) == '}') {
            c->pos++;
            return TRUE;
        }
        if (peek (c) != ',')
            return fail (c, "expected ',' or '}'");
        c->pos++;
        skip_whitespace (c);
    }
}

/* A value at nesting `depth` (the number of enclosing arrays/objects). */
static gboolean
check_value (JsonCursor *c, int depth)
{
    skip_whitespace (c);
    switch (peek (c)) {
    case '{':
    case '[':
        if (depth >= c->max_depth)
            return fail (c, "nesting too deep");
        return peek (c) == '{' ? check_object (c, depth + 1) : check_array (c, depth + 1);
    case '"':
        return check_string (c, NULL);
    case 't':
        return expect_literal (c, "true");
    case 'f':
        return expect_literal (c, "false");
    case 'n':
        return expect_literal (c, "null");
    case -1:
        return fail (c, "missing value");
    default:
        if (peek (c) == '-' || g_ascii_isdigit (peek (c)))
            return check_number (c);
        return fail (c, "unexpected character");
    }
}

gboolean
tsl_json_check (const char *text, size_t len, int max_depth, GError **error)
{
    JsonCursor c = { text, len, 0, max_depth, error };
    const char *invalid;

    if (!g_utf8_validate_len (text, len, &invalid)) {
        c.pos = (size_t) (invalid - text);
        return fail (&c, "invalid UTF-8 or NUL byte");
    }
    if (!check_value (&c, 0))
        return FALSE;
    skip_whitespace (&c);
    if (c.pos != len)
        return fail (&c, "text after the JSON value");
    return TRUE;
}

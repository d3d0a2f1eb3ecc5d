/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * npy.c: the .npy reader and writer (see npy.h for the format).
 *
 * The header dict is read by a small strict parser for the subset of Python
 * literals that NumPy writes: quoted strings without escapes, True/False,
 * and tuples of non-negative decimal integers (an 'L' suffix, as Python 2
 * NumPy wrote, is accepted). Anything else is refused, so a header never
 * means something other than what it says. Fortran-order arrays are
 * converted in storage order and then scattered to their row-major places.
 */
#include "npy.h"

#include <string.h>

#include "file.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGNMENT 64 /* the writer pads magic + length + header to this */

/* The header text with a cursor, while it is parsed. */
typedef struct {
    const char *text;
    size_t len;
    size_t pos;
    const char *name; /* file name, for messages */
    GError **error;
} HeaderCursor;

static gboolean
header_fail (HeaderCursor *c, const char *problem)
{
    g_set_error (c->error, TSL_ERROR, TSL_ERROR_FORMAT,
                 "%s: malformed .npy header: %s at byte %zu of the header", c->name, problem,
                 c->pos);
    return FALSE;
}

static int
header_peek (const HeaderCursor *c)
{
    return c->pos < c->len ? (guchar) c->text[c->pos] : -1;
}

static void
header_skip_spaces (HeaderCursor *c)
{
    while (header_peek (c) == ' ' || header_peek (c) == '\t')
        c->pos++;
}

/* A quoted string without escapes; *out (g_free) gets its contents. */
static gboolean
header_string (HeaderCursor *c, char **out)
{
    int quote = header_peek (c);
    size_t start;

    if (quote != '\'' && quote != '"')
        return header_fail (c, "expected a quoted string");
    start = ++c->pos;
    for (;;) {
        int ch = header_peek (c);
        if (ch < 0 || ch < 0x20 || ch == '\\')
            return header_fail (c, "unterminated string or unsupported character in a string");
        if (ch == quote)
            break;
        c->pos++;
    }
    *out = g_strndup (c->text + start, c->pos - start);
    c->pos++;
    return TRUE;
}

static gboolean
header_bool (HeaderCursor *c, gboolean *out)
{
    if (c->len - c->pos >= 4 && memcmp (c->text + c->pos, "True", 4) == 0) {
        c->pos += 4;
        *out = TRUE;
        return TRUE;
    }
    if (c->len - c->pos >= 5 && memcmp (c->text + c->pos, "False", 5) == 0) {
        c->pos += 5;
        *out = FALSE;
        return TRUE;
    }
    return header_fail (c, "expected True or False");
}

/* A non-negative decimal integer without leading zeros, optionally 'L'. */
static gboolean
header_int (HeaderCursor *c, int64_t *out)
{
    size_t start = c->pos;
    guint64 v = 0;

    while (g_ascii_isdigit (header_peek (c))) {
        guint digit = (guint) (header_peek (c) - '0');
        if (v > ((guint64) G_MAXINT64 - digit) / 10)
            return header_fail (c, "dimension too large");
        v = v * 10 + digit;
        c->pos++;
    }
    if (c->pos == start)
        return header_fail (c, "expected a non-negative integer");
    if (c->text[start] == '0' && c->pos - start > 1) {
        c->pos = start;
        return header_fail (c, "leading zero in an integer");
    }
    if (header_peek (c) == 'L')
        c->pos++;
    *out = (int64_t) v;
    return TRUE;
}

/* "()", "(n,)" or "(n, m, ...)" with an optional trailing comma. */
static gboolean
header_shape (HeaderCursor *c, TslNpyInfo *info)
{
    if (header_peek (c) != '(')
        return header_fail (c, "expected a shape tuple");
    c->pos++;
    info->ndim = 0;
    header_skip_spaces (c);
    while (header_peek (c) != ')') {
        if (info->ndim == TSL_NPY_MAX_DIMS)
            return header_fail (c, "more dimensions than the 8 supported");
        if (!header_int (c, &info->shape[info->ndim]))
            return FALSE;
        info->ndim++;
        header_skip_spaces (c);
        if (header_peek (c) == ',') {
            c->pos++;
            header_skip_spaces (c);
        } else if (header_peek (c) != ')') {
            return header_fail (c, "expected ',' or ')' in the shape");
        } else if (info->ndim == 1) {
            return header_fail (c, "a one-element tuple needs a trailing comma");
        }
    }
    c->pos++;
    return TRUE;
}

/* '<f4' and friends: byte order, kind, item size. */
static gboolean
parse_descr (const char *descr, const char *name, TslNpyInfo *info, GError **error)
{
    static const struct {
        const char *type;
        TslDtype dtype;
    } types[] = {
        { "f2", TSL_DTYPE_F16 }, { "f4", TSL_DTYPE_F32 }, { "f8", TSL_DTYPE_F64 },
        { "i1", TSL_DTYPE_I8 },  { "i2", TSL_DTYPE_I16 }, { "i4", TSL_DTYPE_I32 },
        { "i8", TSL_DTYPE_I64 }, { "u1", TSL_DTYPE_U8 },  { "b1", TSL_DTYPE_BOOL },
    };
    char order = descr[0];

    for (guint i = 0; order != '\0' && i < G_N_ELEMENTS (types); i++) {
        if (strcmp (descr + 1, types[i].type) != 0)
            continue;
        info->dtype = types[i].dtype;
        if (order == '|' && tsl_dtype_size (info->dtype) == 1) {
            info->big_endian = FALSE;
            return TRUE;
        }
        if (order == '<' || order == '>' || order == '=') {
            info->big_endian = order == '>' || (order == '=' && G_BYTE_ORDER == G_BIG_ENDIAN);
            return TRUE;
        }
    }
    g_autofree char *escaped = g_strescape (descr, NULL);
    g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                 "%s: unsupported .npy dtype '%s' (expected a byte order <, >, = or | followed "
                 "by f2, f4, f8, i1, i2, i4, i8, u1 or b1)", name, escaped);
    return FALSE;
}

/* The dict with exactly the keys descr, fortran_order and shape, then
 * spaces and a final newline. */
static gboolean
parse_header_dict (HeaderCursor *c, TslNpyInfo *info)
{
    g_autofree char *descr = NULL;
    gboolean have_order = FALSE, have_shape = FALSE;

    header_skip_spaces (c);
    if (header_peek (c) != '{')
        return header_fail (c, "expected '{'");
    c->pos++;
    header_skip_spaces (c);
    while (header_peek (c) != '}') {
        g_autofree char *key = NULL;
        size_t key_pos = c->pos;
        if (!header_string (c, &key))
            return FALSE;
        header_skip_spaces (c);
        if (header_peek (c) != ':')
            return header_fail (c, "expected ':'");
        c->pos++;
        header_skip_spaces (c);
        if ((g_str_equal (key, "descr") && descr != NULL) ||
            (g_str_equal (key, "fortran_order") && have_order) ||
            (g_str_equal (key, "shape") && have_shape)) {
            g_autofree char *problem = g_strdup_printf ("duplicate key '%s'", key);
            c->pos = key_pos;
            return header_fail (c, problem);
        }
        if (g_str_equal (key, "descr")) {
            if (!header_string (c, &descr))
                return FALSE;
        } else if (g_str_equal (key, "fortran_order")) {
            if (!header_bool (c, &info->fortran_order))
                return FALSE;
            have_order = TRUE;
        } else if (g_str_equal (key, "shape")) {
            if (!header_shape (c, info))
                return FALSE;
            have_shape = TRUE;
        } else {
            c->pos = key_pos;
            return header_fail (c, "unknown key (expected descr, fortran_order, shape)");
        }
        header_skip_spaces (c);
        if (header_peek (c) == ',') {
            c->pos++;
            header_skip_spaces (c);
        } else if (header_peek (c) != '}') {
            return header_fail (c, "expected ',' or '}'");
        }
    }
    c->pos++;
    if (descr == NULL || !have_order || !have_shape) {
        return header_fail (c, descr == NULL ? "missing key 'descr'"
                               : !have_order ? "missing key 'fortran_order'"
                                             : "missing key 'shape'");
    }
    while (header_peek (c) == ' ')
        c->pos++;
    if (c->pos + 1 != c->len || header_peek (c) != '\n')
        return header_fail (c, "expected spaces and a final newline after the dict");
    return parse_descr (descr, c->name, info, c->error);
}

size_t
tsl_npy_info_numel (const TslNpyInfo *info)
{
    size_t numel = 1;

    for (int i = 0; i < info->ndim; i++)
        numel *= (size_t) info->shape[i];
    return numel;
}

gboolean
tsl_npy_parse_info (const void *bytes, size_t len, const char *name, TslNpyInfo *info,
                    size_t *data_offset, GError **error)
{
    const guint8 *file = bytes;
    size_t length_size, header_start, header_len, data_start;
    guint64 numel = 1, nbytes;
    HeaderCursor cursor;

    memset (info, 0, sizeof *info);
    if (len < NPY_MAGIC_LEN + 2 || memcmp (file, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: not a .npy file (no \\x93NUMPY magic)", name);
        return FALSE;
    }
    info->major_version = file[6];
    info->minor_version = file[7];
    if (info->major_version < 1 || info->major_version > 3 || info->minor_version != 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: unsupported .npy format version %d.%d (expected 1.0, 2.0 or 3.0)", name,
                     info->major_version, info->minor_version);
        return FALSE;
    }
    length_size = info->major_version == 1 ? 2 : 4;
    header_start = NPY_MAGIC_LEN + 2 + length_size;
    if (len < header_start) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: file ends inside the .npy header length", name);
        return FALSE;
    }
    header_len = 0;
    for (size_t k = 0; k < length_size; k++)
        header_len |= (size_t) file[NPY_MAGIC_LEN + 2 + k] << (8 * k);
    if (header_len > len - header_start) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: .npy header length %zu runs past the end of the file (%zu bytes)",
                     name, header_len, len);
        return FALSE;
    }
    for (size_t k = 0; info->major_version < 3 && k < header_len; k++) {
        if (file[header_start + k] >= 0x80) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                         "%s: .npy %d.0 header is not ASCII", name, info->major_version);
            return FALSE;
        }
    }

    cursor = (HeaderCursor) { (const char *) file + header_start, header_len, 0, name, error };
    if (!parse_header_dict (&cursor, info))
        return FALSE;

    for (int i = 0; i < info->ndim; i++) {
        if (!g_uint64_checked_mul (&numel, numel, (guint64) info->shape[i])) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: .npy shape is too large",
                         name);
            return FALSE;
        }
    }
    data_start = header_start + header_len;
    if (!g_uint64_checked_mul (&nbytes, numel, tsl_dtype_size (info->dtype)) ||
        nbytes != (guint64) (len - data_start)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: .npy data is %zu bytes, but %" G_GUINT64_FORMAT " elements of %zu "
                     "bytes were announced", name, len - data_start, numel,
                     tsl_dtype_size (info->dtype));
        return FALSE;
    }
    if (data_offset)
        *data_offset = data_start;
    return TRUE;
}

/* row-major dst from src stored in Fortran (column-major) order */
static void
fortran_to_row_major (float *dst, const float *src, int ndim, const int64_t *shape, size_t numel)
{
    size_t row_stride[TSL_NPY_MAX_DIMS];
    int64_t index[TSL_NPY_MAX_DIMS] = { 0 };
    size_t r = 0; /* row-major position of `index` */

    for (int k = ndim - 1; k >= 0; k--)
        row_stride[k] = k == ndim - 1 ? 1 : row_stride[k + 1] * (size_t) shape[k + 1];
    /* walk the storage order, first index fastest */
    for (size_t f = 0; f < numel; f++) {
        dst[r] = src[f];
        for (int k = 0; k < ndim; k++) {
            index[k]++;
            r += row_stride[k];
            if (index[k] < shape[k])
                break;
            r -= row_stride[k] * (size_t) index[k];
            index[k] = 0;
        }
    }
}

float *
tsl_npy_parse_f32 (const void *bytes, size_t len, const char *name, TslNpyInfo *info,
                   GError **error)
{
    TslNpyInfo local;
    size_t offset, numel;
    float *out;

    if (info == NULL)
        info = &local;
    if (!tsl_npy_parse_info (bytes, len, name, info, &offset, error))
        return NULL;
    numel = tsl_npy_info_numel (info);
    out = g_new (float, MAX (numel, 1));
    if (info->fortran_order && info->ndim > 1) {
        g_autofree float *stored = g_new (float, numel);
        tsl_dtype_convert_to_f32 (stored, (const guint8 *) bytes + offset, info->dtype,
                                  info->big_endian, numel);
        fortran_to_row_major (out, stored, info->ndim, info->shape, numel);
    } else {
        tsl_dtype_convert_to_f32 (out, (const guint8 *) bytes + offset, info->dtype,
                                  info->big_endian, numel);
    }
    return out;
}

gboolean
tsl_npy_read_info (const char *path, TslNpyInfo *info, GError **error)
{
    g_autoptr (GBytes) bytes = tsl_file_map (path, error);
    size_t len;
    const void *data;

    if (bytes == NULL)
        return FALSE;
    data = g_bytes_get_data (bytes, &len);
    return tsl_npy_parse_info (data, len, path, info, NULL, error);
}

float *
tsl_npy_read_f32 (const char *path, TslNpyInfo *info, GError **error)
{
    g_autoptr (GBytes) bytes = tsl_file_map (path, error);
    size_t len;
    const void *data;

    if (bytes == NULL)
        return NULL;
    data = g_bytes_get_data (bytes, &len);
    return tsl_npy_parse_f32 (data, len, path, info, error);
}

gboolean
tsl_npy_write_f32 (const char *path, int ndim, const int64_t *shape, const float *data,
                   GError **error)
{
    g_autoptr (GString) header = g_string_new (NULL);
    guint64 numel = 1;
    guint8 preamble[NPY_MAGIC_LEN + 4];
    guint32 chunk[4096];
    TslAtomicFile file;
    size_t total;

    if (ndim < 0 || ndim > TSL_NPY_MAX_DIMS) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "%s: %d dimensions, but .npy files here hold 0 to %d", path, ndim,
                     TSL_NPY_MAX_DIMS);
        return FALSE;
    }
    g_string_append (header, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || !g_uint64_checked_mul (&numel, numel, (guint64) shape[i]) ||
            numel > G_MAXSIZE / sizeof (float)) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                         "%s: dimension %d is %" G_GINT64_FORMAT " (negative or too large)",
                         path, i, shape[i]);
            return FALSE;
        }
        g_string_append_printf (header, i ? ", %" G_GINT64_FORMAT : "%" G_GINT64_FORMAT,
                                shape[i]);
    }
    g_string_append (header, ndim == 1 ? ",), }" : "), }");
    /* pad with spaces so that the data starts on a multiple of 64, then '\n' */
    total = sizeof preamble + header->len + 1;
    for (size_t k = total; k % NPY_ALIGNMENT != 0; k++)
        g_string_append_c (header, ' ');
    g_string_append_c (header, '\n');

    memcpy (preamble, NPY_MAGIC, NPY_MAGIC_LEN);
    preamble[6] = 1; /* version 1.0 */
    preamble[7] = 0;
    preamble[8] = (guint8) (header->len & 0xff);
    preamble[9] = (guint8) (header->len >> 8);

    if (!tsl_atomic_file_begin (&file, path, error))
        return FALSE;
    if (!tsl_atomic_file_write (&file, preamble, sizeof preamble, error) ||
        !tsl_atomic_file_write (&file, header->str, header->len, error))
        goto fail;
    /* little-endian words, a chunk at a time */
    for (size_t i = 0; i < numel; i += G_N_ELEMENTS (chunk)) {
        size_t n = MIN (G_N_ELEMENTS (chunk), numel - i);
        memcpy (chunk, data + i, n * sizeof (float));
        for (size_t j = 0; j < n; j++)
            chunk[j] = GUINT32_TO_LE (chunk[j]);
        if (!tsl_atomic_file_write (&file, chunk, n * sizeof (float), error))
            goto fail;
    }
    return tsl_atomic_file_commit (&file, error);

fail:
    tsl_atomic_file_abort (&file);
    return FALSE;
}

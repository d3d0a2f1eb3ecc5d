/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * info.c: `gst-tsl-train info [--full] FILE` prints what a tensor file
 * holds: for safetensors, the metadata (long values cut to one line unless
 * --full) and a table of name, dtype, shape and bytes in data order; for
 * .npy, the format version, dtype, byte order, shape and memory order. The
 * format is recognised by content, not by file name.
 *
 * Exit status: 0 on success, 1 when the file cannot be read or is
 * malformed, 2 on a usage error.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "io/file.h"
#include "io/npy.h"
#include "io/safetensors.h"

#define VALUE_MAX_CHARS 72 /* metadata values longer than this are cut */
#define VALUE_CUT_CHARS 60 /* ... to this many characters */

static void
print_usage (FILE *out)
{
    fprintf (out,
             "Usage: gst-tsl-train info [OPTION...] FILE\n"
             "\n"
             "Prints a .safetensors file's metadata and tensors (name, dtype, shape, bytes)\n"
             "or a .npy file's version, dtype, shape and order. The format is recognised\n"
             "by content.\n"
             "\n"
             "Options:\n"
             "  -h, --help   show this help\n"
             "  --full       print metadata values in full instead of cutting them to a line\n");
}

static char *
shape_to_string (int ndim, const int64_t *shape)
{
    GString *s = g_string_new ("[");

    for (int i = 0; i < ndim; i++)
        g_string_append_printf (s, i ? ", %" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, shape[i]);
    g_string_append_c (s, ']');
    return g_string_free (s, FALSE);
}

/* One line: control characters become spaces; long values are cut and say
 * how long they are. */
static char *
shorten_value (const char *value)
{
    GString *s = g_string_new (NULL);
    glong n_chars = g_utf8_strlen (value, -1);
    const char *p = value;

    for (glong i = 0; *p != '\0' && (n_chars <= VALUE_MAX_CHARS || i < VALUE_CUT_CHARS); i++) {
        const char *next = g_utf8_next_char (p);
        if ((guchar) *p < 0x20)
            g_string_append_c (s, ' ');
        else
            g_string_append_len (s, p, next - p);
        p = next;
    }
    if (*p != '\0')
        g_string_append_printf (s, " ... (%zu bytes)", strlen (value));
    return g_string_free (s, FALSE);
}

/* A name on one line: control characters are shown as '?'. */
static char *
printable_name (const char *name)
{
    char *copy = g_strdup (name);

    for (char *p = copy; *p != '\0'; p++) {
        if ((guchar) *p < 0x20 || *p == 0x7f)
            *p = '?';
    }
    return copy;
}

/* s left-aligned in `width` characters (not bytes). */
static void
print_padded (const char *s, int width)
{
    glong n_chars = g_utf8_strlen (s, -1);

    fputs (s, stdout);
    for (glong i = n_chars; i < width; i++)
        putchar (' ');
}

static int
compare_strings (const void *a, const void *b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
print_safetensors (const TslSafetensors *st, gboolean full)
{
    GHashTable *metadata = tsl_safetensors_metadata (st);
    guint n = tsl_safetensors_n_entries (st), n_keys;
    g_autofree const char **keys =
        (const char **) g_hash_table_get_keys_as_array (metadata, &n_keys);
    g_auto (GStrv) shapes = g_new0 (char *, n + 1);
    g_auto (GStrv) names = g_new0 (char *, n + 1);
    int key_width = 0, name_width = 4, shape_width = 5;
    guint64 total = 0;

    for (guint i = 0; i < n; i++) {
        const TslSafetensorsEntry *e = tsl_safetensors_nth (st, i);
        shapes[i] = shape_to_string (e->ndim, e->shape);
        names[i] = printable_name (e->name);
        name_width = MAX (name_width, (int) g_utf8_strlen (names[i], -1));
        shape_width = MAX (shape_width, (int) strlen (shapes[i]));
        total += e->nbytes;
    }
    printf ("%s: safetensors, %u tensor%s, %" G_GUINT64_FORMAT " bytes of data\n",
            tsl_safetensors_path (st), n, n == 1 ? "" : "s", total);

    qsort (keys, n_keys, sizeof *keys, compare_strings);
    for (guint i = 0; i < n_keys; i++)
        key_width = MAX (key_width, (int) g_utf8_strlen (keys[i], -1));
    printf ("metadata (%u key%s)%s\n", n_keys, n_keys == 1 ? "" : "s", n_keys ? ":" : "");
    for (guint i = 0; i < n_keys; i++) {
        const char *value = g_hash_table_lookup (metadata, keys[i]);
        g_autofree char *key = printable_name (keys[i]);
        g_autofree char *shown = full ? g_strdup (value) : shorten_value (value);
        printf ("  ");
        print_padded (key, key_width);
        printf ("  %s\n", shown);
    }

    printf ("tensors:\n");
    printf ("  %-*s  %-5s  %-*s  %s\n", name_width, "name", "dtype", shape_width, "shape",
            "bytes");
    for (guint i = 0; i < n; i++) {
        const TslSafetensorsEntry *e = tsl_safetensors_nth (st, i);
        printf ("  ");
        print_padded (names[i], name_width);
        printf ("  %-5s  %-*s  %zu\n", tsl_dtype_name (e->dtype), shape_width, shapes[i],
                e->nbytes);
    }
}

static void
print_npy (const char *path, const TslNpyInfo *info)
{
    g_autofree char *shape = shape_to_string (info->ndim, info->shape);
    size_t itemsize = tsl_dtype_size (info->dtype);

    printf ("%s: .npy version %d.%d\n", path, info->major_version, info->minor_version);
    printf ("  dtype  %s%s\n", tsl_dtype_name (info->dtype),
            itemsize == 1 ? "" : info->big_endian ? ", big-endian" : ", little-endian");
    printf ("  shape  %s\n", shape);
    printf ("  order  %s\n", info->fortran_order ? "Fortran (column-major)" : "C (row-major)");
    printf ("  bytes  %zu\n", tsl_npy_info_numel (info) * itemsize);
}

static int
info_file (const char *path, gboolean full)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (GBytes) bytes = tsl_file_map (path, &error);
    const char *data;
    size_t len;

    if (bytes == NULL)
        goto fail;
    data = g_bytes_get_data (bytes, &len);
    if (len >= 6 && memcmp (data, "\x93NUMPY", 6) == 0) {
        TslNpyInfo info;
        if (!tsl_npy_parse_info (data, len, path, &info, NULL, &error))
            goto fail;
        print_npy (path, &info);
    } else {
        g_autoptr (TslSafetensors) st = tsl_safetensors_open_bytes (bytes, path, &error);
        if (st == NULL)
            goto fail;
        print_safetensors (st, full);
    }
    return 0;

fail:
    fprintf (stderr, "gst-tsl-train info: %s\n", error->message);
    return 1;
}

int
tsl_train_command_info (int argc, char **argv)
{
    const char *path = NULL;
    gboolean full = FALSE, options_done = FALSE;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && (g_str_equal (arg, "--help") || g_str_equal (arg, "-h"))) {
            print_usage (stdout);
            return 0;
        }
        if (!options_done && g_str_equal (arg, "--full")) {
            full = TRUE;
        } else if (!options_done && g_str_equal (arg, "--")) {
            options_done = TRUE;
        } else if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            fprintf (stderr, "gst-tsl-train info: unknown option '%s'\n\n", arg);
            print_usage (stderr);
            return 2;
        } else if (path != NULL) {
            fprintf (stderr, "gst-tsl-train info: one FILE only ('%s' and '%s' given)\n\n",
                     path, arg);
            print_usage (stderr);
            return 2;
        } else {
            path = arg;
        }
    }
    if (path == NULL) {
        fprintf (stderr, "gst-tsl-train info: missing FILE\n\n");
        print_usage (stderr);
        return 2;
    }
    return info_file (path, full);
}

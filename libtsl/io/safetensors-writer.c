/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * safetensors-writer.c: the safetensors writer (see safetensors.h).
 *
 * Tensors are kept in memory in the order they were added. They are written
 * back to back, 8-byte dtypes first, then 4-, 2- and 1-byte ones, each group
 * in the order added: with the header padded with spaces to a multiple of 8,
 * every tensor then starts at a multiple of its element size in the file.
 * "__metadata__" comes first in the header with its keys sorted, so that
 * equal content gives equal files. json-glib escapes names and values.
 */
#include "safetensors.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "file.h"

typedef struct {
    char *name;
    TslDtype dtype;
    int ndim;
    int64_t shape[TSL_SAFETENSORS_MAX_DIMS];
    void *data;   /* nbytes, little-endian elements */
    size_t nbytes;
} WriterTensor;

struct _TslSafetensorsWriter {
    GPtrArray *tensors;   /* WriterTensor *, in the order added */
    GHashTable *names;    /* set of the names added (borrowed from tensors) */
    GHashTable *metadata; /* key -> value, owned strings */
};

static void
writer_tensor_free (gpointer data)
{
    WriterTensor *t = data;

    g_free (t->name);
    g_free (t->data);
    g_free (t);
}

TslSafetensorsWriter *
tsl_safetensors_writer_new (void)
{
    TslSafetensorsWriter *w = g_new0 (TslSafetensorsWriter, 1);

    w->tensors = g_ptr_array_new_with_free_func (writer_tensor_free);
    w->names = g_hash_table_new (g_str_hash, g_str_equal);
    w->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    return w;
}

void
tsl_safetensors_writer_free (TslSafetensorsWriter *w)
{
    if (w == NULL)
        return;
    g_hash_table_unref (w->names);
    g_ptr_array_unref (w->tensors);
    g_hash_table_unref (w->metadata);
    g_free (w);
}

void
tsl_safetensors_writer_set_metadata (TslSafetensorsWriter *w, const char *key, const char *value)
{
    g_return_if_fail (key != NULL && g_utf8_validate (key, -1, NULL));
    g_return_if_fail (value != NULL && g_utf8_validate (value, -1, NULL));
    g_hash_table_insert (w->metadata, g_strdup (key), g_strdup (value));
}

gboolean
tsl_safetensors_writer_add (TslSafetensorsWriter *w, const char *name, TslDtype dtype, int ndim,
                            const int64_t *shape, const void *data, GError **error)
{
    WriterTensor *t;
    guint64 nbytes = tsl_dtype_size (dtype);

    g_return_val_if_fail (name != NULL, FALSE);
    if (!g_utf8_validate (name, -1, NULL) || g_str_equal (name, "__metadata__")) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "cannot name a safetensors tensor '%s' (must be UTF-8, not __metadata__)",
                     name);
        return FALSE;
    }
    if (g_hash_table_contains (w->names, name)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "tensor '%s' was already added", name);
        return FALSE;
    }
    if (ndim < 0 || ndim > TSL_SAFETENSORS_MAX_DIMS) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "tensor '%s': %d dimensions, but safetensors files here hold 0 to %d",
                     name, ndim, TSL_SAFETENSORS_MAX_DIMS);
        return FALSE;
    }
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || !g_uint64_checked_mul (&nbytes, nbytes, (guint64) shape[i]) ||
            nbytes > G_MAXSIZE) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                         "tensor '%s': dimension %d is %" G_GINT64_FORMAT
                         " (negative or too large)", name, i, shape[i]);
            return FALSE;
        }
    }
    g_return_val_if_fail (data != NULL || nbytes == 0, FALSE);

    t = g_new0 (WriterTensor, 1);
    t->name = g_strdup (name);
    t->dtype = dtype;
    t->ndim = ndim;
    if (ndim > 0)
        memcpy (t->shape, shape, sizeof (int64_t) * ndim);
    t->nbytes = (size_t) nbytes;
    t->data = g_memdup2 (data, t->nbytes);
    g_ptr_array_add (w->tensors, t);
    g_hash_table_add (w->names, t->name);
    return TRUE;
}

gboolean
tsl_safetensors_writer_add_f32 (TslSafetensorsWriter *w, const char *name, int ndim,
                                const int *shape, const float *data, GError **error)
{
    int64_t shape64[TSL_SAFETENSORS_MAX_DIMS];
    WriterTensor *t;

    for (int i = 0; i < ndim && i < TSL_SAFETENSORS_MAX_DIMS; i++)
        shape64[i] = shape[i];
    if (!tsl_safetensors_writer_add (w, name, TSL_DTYPE_F32, ndim, shape64, data, error))
        return FALSE;
    if (G_BYTE_ORDER != G_LITTLE_ENDIAN) {
        t = g_ptr_array_index (w->tensors, w->tensors->len - 1);
        for (size_t i = 0; i < t->nbytes / 4; i++) {
            guint32 *word = (guint32 *) t->data + i;
            *word = GUINT32_TO_LE (*word);
        }
    }
    return TRUE;
}

static int
compare_strings (const void *a, const void *b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The tensors in the order they are written (see the top of the file). */
static GPtrArray *
write_order (const TslSafetensorsWriter *w)
{
    GPtrArray *order = g_ptr_array_sized_new (w->tensors->len);

    for (size_t size = 8; size >= 1; size /= 2) {
        for (guint i = 0; i < w->tensors->len; i++) {
            WriterTensor *t = g_ptr_array_index (w->tensors, i);
            if (tsl_dtype_size (t->dtype) == size)
                g_ptr_array_add (order, t);
        }
    }
    return order;
}

/* The header JSON, not yet padded. */
static char *
build_header (const TslSafetensorsWriter *w, const GPtrArray *order, size_t *length)
{
    g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();
    g_autoptr (JsonGenerator) generator = json_generator_new ();
    g_autoptr (JsonNode) root = NULL;
    guint64 offset = 0;

    json_builder_begin_object (builder);
    if (g_hash_table_size (w->metadata) > 0) {
        guint n_keys;
        g_autofree const char **keys =
            (const char **) g_hash_table_get_keys_as_array (w->metadata, &n_keys);
        qsort (keys, n_keys, sizeof *keys, compare_strings);
        json_builder_set_member_name (builder, "__metadata__");
        json_builder_begin_object (builder);
        for (guint i = 0; i < n_keys; i++) {
            json_builder_set_member_name (builder, keys[i]);
            json_builder_add_string_value (builder, g_hash_table_lookup (w->metadata, keys[i]));
        }
        json_builder_end_object (builder);
    }
    for (guint i = 0; i < order->len; i++) {
        const WriterTensor *t = g_ptr_array_index (order, i);
        json_builder_set_member_name (builder, t->name);
        json_builder_begin_object (builder);
        json_builder_set_member_name (builder, "dtype");
        json_builder_add_string_value (builder, tsl_dtype_name (t->dtype));
        json_builder_set_member_name (builder, "shape");
        json_builder_begin_array (builder);
        for (int d = 0; d < t->ndim; d++)
            json_builder_add_int_value (builder, t->shape[d]);
        json_builder_end_array (builder);
        json_builder_set_member_name (builder, "data_offsets");
        json_builder_begin_array (builder);
        json_builder_add_int_value (builder, (gint64) offset);
        json_builder_add_int_value (builder, (gint64) (offset + t->nbytes));
        json_builder_end_array (builder);
        json_builder_end_object (builder);
        offset += t->nbytes;
    }
    json_builder_end_object (builder);

    root = json_builder_get_root (builder);
    json_generator_set_root (generator, root);
    return json_generator_to_data (generator, length);
}

gboolean
tsl_safetensors_writer_save (TslSafetensorsWriter *w, const char *path, GError **error)
{
    g_autoptr (GPtrArray) order = write_order (w);
    size_t json_len, header_len;
    g_autofree char *json = build_header (w, order, &json_len);
    g_autofree char *header = NULL;
    guint8 length_field[8];
    TslAtomicFile file;

    header_len = (json_len + 7) / 8 * 8;
    header = g_malloc (header_len);
    memcpy (header, json, json_len);
    memset (header + json_len, ' ', header_len - json_len);
    for (int k = 0; k < 8; k++)
        length_field[k] = (guint8) ((guint64) header_len >> (8 * k));

    if (!tsl_atomic_file_begin (&file, path, error))
        return FALSE;
    if (!tsl_atomic_file_write (&file, length_field, sizeof length_field, error) ||
        !tsl_atomic_file_write (&file, header, header_len, error))
        goto fail;
    for (guint i = 0; i < order->len; i++) {
        const WriterTensor *t = g_ptr_array_index (order, i);
        if (!tsl_atomic_file_write (&file, t->data, t->nbytes, error))
            goto fail;
    }
    return tsl_atomic_file_commit (&file, error);

fail:
    tsl_atomic_file_abort (&file);
    return FALSE;
}

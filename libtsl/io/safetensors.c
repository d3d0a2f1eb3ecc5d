/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * safetensors.c: the safetensors reader (see safetensors.h for the format
 * and the rules it enforces).
 *
 * Order of checks: the length field, then the header text (tsl_json_check:
 * strict JSON, no duplicate keys, bounded nesting), then json-glib builds
 * the tree, then each entry's fields, then the tiling of the data section.
 * Nothing reads the mapping outside [0, file length): the header is copied
 * out once its length has been checked, and entry data is only addressed
 * after its offsets have been checked against the data section.
 */
#include "safetensors.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "json-check.h"

/* A valid header nests 3 deep (header, entry, shape); unknown entry fields
 * may add a little. Deeper text is refused before json-glib recurses. */
#define HEADER_MAX_DEPTH 16

struct _TslSafetensors {
    char *path;
    GBytes *bytes;                /* the whole file */
    TslSafetensorsEntry *entries; /* [n_entries], data-offset order */
    guint n_entries;
    GHashTable *by_name;          /* name -> entry (borrowed) */
    GHashTable *metadata;         /* key -> value, owned strings */
};

/* Working state of one tensor while the header is checked. */
typedef struct {
    TslSafetensorsEntry entry;
    guint64 begin, end; /* data_offsets */
} ParsedEntry;

static char *
shape_to_string (int ndim, const int64_t *shape)
{
    GString *s = g_string_new ("[");

    for (int i = 0; i < ndim; i++)
        g_string_append_printf (s, i ? ", %" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, shape[i]);
    g_string_append_c (s, ']');
    return g_string_free (s, FALSE);
}

/* A JSON integer node's value; FALSE for any other node. */
static gboolean
node_get_int (JsonNode *node, gint64 *value)
{
    if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
        json_node_get_value_type (node) != G_TYPE_INT64)
        return FALSE;
    *value = json_node_get_int (node);
    return TRUE;
}

static gboolean
parse_metadata (TslSafetensors *st, JsonNode *node, GError **error)
{
    JsonObject *object;
    g_autoptr (GList) keys = NULL;

    if (!JSON_NODE_HOLDS_OBJECT (node)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: \"__metadata__\" is not an object",
                     st->path);
        return FALSE;
    }
    object = json_node_get_object (node);
    keys = json_object_get_members (object);
    for (GList *l = keys; l != NULL; l = l->next) {
        JsonNode *value = json_object_get_member (object, l->data);
        if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                         "%s: \"__metadata__\" value of '%s' is not a string", st->path,
                         (const char *) l->data);
            return FALSE;
        }
        g_hash_table_insert (st->metadata, g_strdup (l->data),
                             g_strdup (json_node_get_string (value)));
    }
    return TRUE;
}

/* Fills `parsed` from the JSON entry `node` of tensor `name`, checking
 * every field and that the offsets fit a data section of data_len bytes. */
static gboolean
parse_entry (const TslSafetensors *st, const char *name, JsonNode *node, guint64 data_len,
             ParsedEntry *parsed, GError **error)
{
    TslSafetensorsEntry *e = &parsed->entry;
    JsonObject *object;
    JsonNode *dtype, *shape, *offsets;
    JsonArray *array;
    guint64 numel = 1, nbytes;
    gint64 begin, end;

#define ENTRY_ERROR(...)                                                                  \
    do {                                                                                  \
        g_autofree char *problem_ = g_strdup_printf (__VA_ARGS__);                        \
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: tensor '%s': %s", st->path, \
                     name, problem_);                                                     \
        return FALSE;                                                                     \
    } while (0)

    e->name = name;
    if (!JSON_NODE_HOLDS_OBJECT (node))
        ENTRY_ERROR ("entry is not an object");
    object = json_node_get_object (node);

    dtype = json_object_get_member (object, "dtype");
    if (dtype == NULL)
        ENTRY_ERROR ("missing \"dtype\"");
    if (!JSON_NODE_HOLDS_VALUE (dtype) || json_node_get_value_type (dtype) != G_TYPE_STRING)
        ENTRY_ERROR ("\"dtype\" is not a string");
    if (!tsl_dtype_from_name (json_node_get_string (dtype), &e->dtype))
        ENTRY_ERROR ("unknown dtype '%s'", json_node_get_string (dtype));

    shape = json_object_get_member (object, "shape");
    if (shape == NULL)
        ENTRY_ERROR ("missing \"shape\"");
    if (!JSON_NODE_HOLDS_ARRAY (shape))
        ENTRY_ERROR ("\"shape\" is not an array");
    array = json_node_get_array (shape);
    if (json_array_get_length (array) > TSL_SAFETENSORS_MAX_DIMS)
        ENTRY_ERROR ("shape has %u dimensions, more than the %d supported",
                     json_array_get_length (array), TSL_SAFETENSORS_MAX_DIMS);
    e->ndim = (int) json_array_get_length (array);
    for (int i = 0; i < e->ndim; i++) {
        if (!node_get_int (json_array_get_element (array, i), &e->shape[i]) || e->shape[i] < 0)
            ENTRY_ERROR ("\"shape\" is not an array of non-negative integers");
    }
    for (int i = 0; i < e->ndim; i++) {
        if (!g_uint64_checked_mul (&numel, numel, (guint64) e->shape[i])) {
            g_autofree char *s = shape_to_string (e->ndim, e->shape);
            ENTRY_ERROR ("shape %s has too many elements", s);
        }
    }

    offsets = json_object_get_member (object, "data_offsets");
    if (offsets == NULL)
        ENTRY_ERROR ("missing \"data_offsets\"");
    array = JSON_NODE_HOLDS_ARRAY (offsets) ? json_node_get_array (offsets) : NULL;
    if (array == NULL || json_array_get_length (array) != 2 ||
        !node_get_int (json_array_get_element (array, 0), &begin) ||
        !node_get_int (json_array_get_element (array, 1), &end) || begin < 0 || end < 0)
        ENTRY_ERROR ("\"data_offsets\" is not two non-negative integers");
    if (begin > end)
        ENTRY_ERROR ("data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "] begin after "
                     "they end", begin, end);
    if ((guint64) end > data_len)
        ENTRY_ERROR ("data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "] run past the "
                     "end of the data section (%" G_GUINT64_FORMAT " bytes)", begin, end, data_len);
    if (!g_uint64_checked_mul (&nbytes, numel, tsl_dtype_size (e->dtype)) ||
        nbytes != (guint64) (end - begin)) {
        g_autofree char *s = shape_to_string (e->ndim, e->shape);
        ENTRY_ERROR ("data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "] hold %"
                     G_GINT64_FORMAT " bytes, but %s %s needs %" G_GUINT64_FORMAT " * %zu",
                     begin, end, end - begin, tsl_dtype_name (e->dtype), s, numel,
                     tsl_dtype_size (e->dtype));
    }
#undef ENTRY_ERROR

    parsed->begin = (guint64) begin;
    parsed->end = (guint64) end;
    e->nbytes = (size_t) nbytes;
    return TRUE;
}

static int
compare_by_offset (const void *a, const void *b)
{
    const ParsedEntry *pa = a, *pb = b;

    if (pa->begin != pb->begin)
        return pa->begin < pb->begin ? -1 : 1;
    if (pa->end != pb->end)
        return pa->end < pb->end ? -1 : 1;
    return strcmp (pa->entry.name, pb->entry.name);
}

/* Sorted by offset, the tensors must cover [0, data_len) exactly once. */
static gboolean
check_tiling (const TslSafetensors *st, const ParsedEntry *parsed, guint n, guint64 data_len,
              GError **error)
{
    guint64 covered = 0; /* bytes [0, covered) belong to the tensors so far */

    for (guint i = 0; i < n; i++) {
        const ParsedEntry *p = &parsed[i];
        if (p->begin > covered) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                         "%s: tensor '%s' starts at byte %" G_GUINT64_FORMAT " of the data "
                         "section, leaving a gap after byte %" G_GUINT64_FORMAT,
                         st->path, p->entry.name, p->begin, covered);
            return FALSE;
        }
        if (p->begin < covered) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                         "%s: tensor '%s' at bytes [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                         ") overlaps tensor '%s', which ends at byte %" G_GUINT64_FORMAT,
                         st->path, p->entry.name, p->begin, p->end, parsed[i - 1].entry.name,
                         covered);
            return FALSE;
        }
        covered = p->end;
    }
    if (covered != data_len) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: the data section has %" G_GUINT64_FORMAT " bytes after the last "
                     "tensor (it is %" G_GUINT64_FORMAT " bytes long)",
                     st->path, data_len - covered, data_len);
        return FALSE;
    }
    return TRUE;
}

/* Checks the header text and fills st->entries, st->by_name, st->metadata. */
static gboolean
parse_header (TslSafetensors *st, const char *header, size_t header_len, const guint8 *data,
              guint64 data_len, GError **error)
{
    g_autoptr (JsonParser) parser = json_parser_new_immutable ();
    g_autoptr (GError) json_error = NULL;
    g_autoptr (GList) names = NULL;
    g_autofree ParsedEntry *parsed = NULL;
    JsonObject *root;
    guint n = 0;

    if (!tsl_json_check (header, header_len, HEADER_MAX_DEPTH, &json_error) ||
        !json_parser_load_from_data (parser, header, (gssize) header_len, &json_error)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: header is not valid JSON: %s",
                     st->path, json_error->message);
        return FALSE;
    }
    if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: header is not a JSON object",
                     st->path);
        return FALSE;
    }
    root = json_node_get_object (json_parser_get_root (parser));
    names = json_object_get_members (root);
    parsed = g_new0 (ParsedEntry, json_object_get_size (root));
    for (GList *l = names; l != NULL; l = l->next) {
        const char *name = l->data;
        JsonNode *node = json_object_get_member (root, name);
        if (g_str_equal (name, "__metadata__")) {
            if (!parse_metadata (st, node, error))
                return FALSE;
            continue;
        }
        if (!parse_entry (st, name, node, data_len, &parsed[n], error))
            return FALSE;
        n++;
    }
    if (n > 1)
        qsort (parsed, n, sizeof *parsed, compare_by_offset);
    if (!check_tiling (st, parsed, n, data_len, error))
        return FALSE;

    /* the names above belong to the parser: copy them out */
    st->entries = g_new0 (TslSafetensorsEntry, n);
    st->n_entries = n;
    for (guint i = 0; i < n; i++) {
        TslSafetensorsEntry *e = &st->entries[i];
        *e = parsed[i].entry;
        e->name = g_strdup (parsed[i].entry.name);
        e->data = data + parsed[i].begin;
        g_hash_table_insert (st->by_name, (gpointer) e->name, e);
    }
    return TRUE;
}

TslSafetensors *
tsl_safetensors_open_bytes (GBytes *bytes, const char *name, GError **error)
{
    g_autoptr (TslSafetensors) st = g_new0 (TslSafetensors, 1);
    g_autofree char *header = NULL;
    size_t len;
    const guint8 *file = g_bytes_get_data (bytes, &len);
    guint64 header_len = 0;

    st->path = g_strdup (name);
    st->bytes = g_bytes_ref (bytes);
    st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
    st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

    if (len < 8) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: file is %zu bytes, shorter than the 8-byte header length", name, len);
        return NULL;
    }
    for (int k = 7; k >= 0; k--)
        header_len = header_len << 8 | file[k];
    if (header_len > TSL_SAFETENSORS_MAX_HEADER) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: header length %" G_GUINT64_FORMAT " exceeds the limit of %d bytes",
                     name, header_len, TSL_SAFETENSORS_MAX_HEADER);
        return NULL;
    }
    if (header_len > len - 8) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: header length %" G_GUINT64_FORMAT " runs past the end of the file "
                     "(%zu bytes)", name, header_len, len);
        return NULL;
    }
    /* a private, NUL-terminated copy for the JSON code */
    header = g_malloc (header_len + 1);
    memcpy (header, file + 8, header_len);
    header[header_len] = '\0';
    if (!parse_header (st, header, header_len, file + 8 + header_len, len - 8 - header_len,
                       error))
        return NULL;
    return g_steal_pointer (&st);
}

TslSafetensors *
tsl_safetensors_open (const char *path, GError **error)
{
    g_autoptr (GBytes) bytes = tsl_file_map (path, error);

    if (bytes == NULL)
        return NULL;
    return tsl_safetensors_open_bytes (bytes, path, error);
}

void
tsl_safetensors_close (TslSafetensors *st)
{
    if (st == NULL)
        return;
    for (guint i = 0; i < st->n_entries; i++)
        g_free ((char *) st->entries[i].name);
    g_free (st->entries);
    g_clear_pointer (&st->by_name, g_hash_table_unref);
    g_clear_pointer (&st->metadata, g_hash_table_unref);
    g_clear_pointer (&st->bytes, g_bytes_unref);
    g_free (st->path);
    g_free (st);
}

const char *
tsl_safetensors_path (const TslSafetensors *st)
{
    return st->path;
}

guint
tsl_safetensors_n_entries (const TslSafetensors *st)
{
    return st->n_entries;
}

const TslSafetensorsEntry *
tsl_safetensors_nth (const TslSafetensors *st, guint i)
{
    g_return_val_if_fail (i < st->n_entries, NULL);
    return &st->entries[i];
}

const TslSafetensorsEntry *
tsl_safetensors_find (const TslSafetensors *st, const char *name)
{
    return g_hash_table_lookup (st->by_name, name);
}

const char *
tsl_safetensors_get_metadata (const TslSafetensors *st, const char *key)
{
    return g_hash_table_lookup (st->metadata, key);
}

GHashTable *
tsl_safetensors_metadata (const TslSafetensors *st)
{
    return st->metadata;
}

size_t
tsl_safetensors_entry_numel (const TslSafetensorsEntry *entry)
{
    size_t numel = 1;

    for (int i = 0; i < entry->ndim; i++)
        numel *= (size_t) entry->shape[i];
    return numel;
}

gboolean
tsl_safetensors_read_f32 (const TslSafetensors *st, const char *name, float *dst, size_t n,
                          GError **error)
{
    const TslSafetensorsEntry *e = tsl_safetensors_find (st, name);
    size_t numel;

    if (e == NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: no tensor '%s'", st->path, name);
        return FALSE;
    }
    numel = tsl_safetensors_entry_numel (e);
    if (numel != n) {
        g_autofree char *s = shape_to_string (e->ndim, e->shape);
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "%s: tensor '%s' has shape %s (%zu elements), but %zu were expected",
                     st->path, name, s, numel, n);
        return FALSE;
    }
    tsl_dtype_convert_to_f32 (dst, e->data, e->dtype, FALSE, n);
    return TRUE;
}

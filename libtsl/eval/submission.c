/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * eval/submission.c: reading and writing prediction files (see
 * submission.h). The writer formats the JSON itself so that every number
 * is the shortest text that reads back exactly.
 */
#include "submission.h"

#include <math.h>

#include "../io/file.h"
#include "../io/json-fields.h"

#define SUBMISSION_MAX_DEPTH 16 /* deepest nesting accepted in the JSON text */
#define TASK "sound_localisation"

/* ---- reading ---- */

/* "label": "3" or 3 */
static gboolean
read_label (JsonObject *entry, const char *where, const char *prefix, int *label_id,
            GError **error)
{
    JsonNode *node = json_object_get_member (entry, "label");
    int64_t value = 0;

    if (node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
        json_node_get_value_type (node) == G_TYPE_STRING) {
        const char *text = json_node_get_string (node);
        if (!g_ascii_string_to_signed (text, 10, G_MININT, G_MAXINT, &value, NULL)) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                         "%s: %slabel: '%s' is not an integer label id", where, prefix, text);
            return FALSE;
        }
    } else if (!tsl_json_fields_int (entry, "label", TRUE, G_MININT, G_MAXINT, where, prefix,
                                     &value, error)) {
        return FALSE;
    }
    *label_id = (int) value;
    return TRUE;
}

static gboolean
read_submission_video (GArray *preds, const char *name, const char *video_id, JsonNode *node,
                       GError **error)
{
    g_autofree char *where = g_strdup_printf ("%s: video '%s'", name, video_id);
    JsonArray *list = NULL;

    if (!JSON_NODE_HOLDS_OBJECT (node)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: expected an object, found %s",
                     where, tsl_json_fields_kind (node));
        return FALSE;
    }
    if (!tsl_json_fields_array (json_node_get_object (node), TASK, FALSE, where, "", &list,
                                error))
        return FALSE;
    for (guint i = 0; list != NULL && i < json_array_get_length (list); i++) {
        JsonNode *item = json_array_get_element (list, i);
        g_autofree char *prefix = g_strdup_printf (TASK "[%u].", i);
        double bounds[2], score = 0.0;
        int label_id = 0;

        if (!JSON_NODE_HOLDS_OBJECT (item)) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                         "%s: " TASK "[%u]: expected an object, found %s", where, i,
                         tsl_json_fields_kind (item));
            return FALSE;
        }
        JsonObject *entry = json_node_get_object (item);
        if (!read_label (entry, where, prefix, &label_id, error) ||
            !tsl_json_fields_number (entry, "score", TRUE, where, prefix, &score, error) ||
            !tsl_json_fields_pair (entry, "timestamps", where, prefix, bounds, error))
            return FALSE;
        tsl_predictions_add (preds, video_id, label_id, bounds[0], bounds[1], score);
    }
    return TRUE;
}

static gboolean
read_list_entry (GArray *preds, const char *name, guint i, JsonNode *node, GError **error)
{
    g_autofree char *prefix = g_strdup_printf ("[%u].", i);
    const char *video_id = NULL;
    int64_t label_id = 0;
    double start = 0.0, end = 0.0, score = 0.0;

    if (!JSON_NODE_HOLDS_OBJECT (node)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: [%u]: expected an object, found %s",
                     name, i, tsl_json_fields_kind (node));
        return FALSE;
    }
    JsonObject *entry = json_node_get_object (node);
    if (!tsl_json_fields_string (entry, "video_id", TRUE, name, prefix, &video_id, error) ||
        !tsl_json_fields_int (entry, "label_id", TRUE, G_MININT, G_MAXINT, name, prefix,
                              &label_id, error) ||
        !tsl_json_fields_number (entry, "start", TRUE, name, prefix, &start, error) ||
        !tsl_json_fields_number (entry, "end", TRUE, name, prefix, &end, error) ||
        !tsl_json_fields_number (entry, "score", TRUE, name, prefix, &score, error))
        return FALSE;
    tsl_predictions_add (preds, video_id, (int) label_id, start, end, score);
    return TRUE;
}

GArray *
tsl_submission_parse (const char *text, size_t len, const char *name, GError **error)
{
    g_autoptr (JsonParser) parser =
        tsl_json_fields_parse (text, len, name, SUBMISSION_MAX_DEPTH, error);
    g_autoptr (GArray) preds = tsl_predictions_new ();

    if (parser == NULL)
        return NULL;
    JsonNode *root = json_parser_get_root (parser);
    if (JSON_NODE_HOLDS_ARRAY (root)) {
        JsonArray *list = json_node_get_array (root);
        for (guint i = 0; i < json_array_get_length (list); i++) {
            if (!read_list_entry (preds, name, i, json_array_get_element (list, i), error))
                return NULL;
        }
    } else if (JSON_NODE_HOLDS_OBJECT (root)) {
        JsonObject *videos = json_node_get_object (root);
        g_autoptr (GList) ids = json_object_get_members (videos); /* member order */
        for (GList *l = ids; l != NULL; l = l->next) {
            if (!read_submission_video (preds, name, l->data,
                                        json_object_get_member (videos, l->data), error))
                return NULL;
        }
    } else {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: the top level is %s, expected an object keyed by video id or a list "
                     "of predictions", name, tsl_json_fields_kind (root));
        return NULL;
    }
    return g_steal_pointer (&preds);
}

GArray *
tsl_submission_load (const char *path, GError **error)
{
    g_autoptr (GBytes) bytes = tsl_file_map (path, error);
    size_t len;

    if (bytes == NULL)
        return NULL;
    const char *text = g_bytes_get_data (bytes, &len);
    return tsl_submission_parse (text, len, path, error);
}

/* ---- writing ---- */

static void
append_prediction (GString *out, const TslPrediction *p)
{
    char start[TSL_JSON_NUMBER_BUF], end[TSL_JSON_NUMBER_BUF], score[TSL_JSON_NUMBER_BUF];

    g_string_append_printf (out, "{\"label\": \"%d\", \"score\": %s, \"timestamps\": [%s, %s]}",
                            p->label_id, tsl_json_format_number (score, p->score),
                            tsl_json_format_number (start, p->start_s),
                            tsl_json_format_number (end, p->end_s));
}

gboolean
tsl_submission_write (const char *path, const TslPrediction *preds, int n, GError **error)
{
    g_autoptr (GHashTable) by_video = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                             (GDestroyNotify) g_array_unref);
    g_autoptr (GPtrArray) order = g_ptr_array_new (); /* video ids, first appearance */
    g_autoptr (GString) out = g_string_new ("{");
    TslAtomicFile file;

    /* pass 1: check, and group by video */
    for (int i = 0; i < n; i++) {
        const TslPrediction *p = &preds[i];
        if (!isfinite (p->start_s) || !isfinite (p->end_s) || !isfinite (p->score)) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                         "%s: prediction %d (video '%s') has a start, end or score that is not "
                         "finite", path, i, p->video_id);
            return FALSE;
        }
        GArray *list = g_hash_table_lookup (by_video, p->video_id);
        if (list == NULL) {
            list = g_array_new (FALSE, FALSE, sizeof (int));
            g_hash_table_insert (by_video, p->video_id, list);
            g_ptr_array_add (order, p->video_id);
        }
        g_array_append_val (list, i);
    }

    /* pass 2: one member per video, one line per prediction */
    for (guint v = 0; v < order->len; v++) {
        GArray *list = g_hash_table_lookup (by_video, order->pdata[v]);
        g_string_append (out, v ? ",\n " : "\n ");
        tsl_json_append_string (out, order->pdata[v]);
        g_string_append (out, ": {\"" TASK "\": [");
        for (guint i = 0; i < list->len; i++) {
            g_string_append (out, i ? ",\n  " : "\n  ");
            append_prediction (out, &preds[g_array_index (list, int, i)]);
        }
        g_string_append (out, "\n ]}");
    }
    g_string_append (out, order->len ? "\n}\n" : "}\n");

    if (!tsl_atomic_file_begin (&file, path, error))
        return FALSE;
    if (!tsl_atomic_file_write (&file, out->str, out->len, error)) {
        tsl_atomic_file_abort (&file);
        return FALSE;
    }
    return tsl_atomic_file_commit (&file, error);
}

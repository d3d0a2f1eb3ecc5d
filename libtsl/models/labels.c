/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * labels.c: see labels.h.
 */
#include "labels.h"

#include <json-glib/json-glib.h>

#include "../error.h"

GPtrArray *
tsl_model_labels (const TslSafetensors *st, int num_classes, GError **error)
{
    const char *text = tsl_safetensors_get_metadata (st, "tsl.labels");
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
    JsonArray *array = NULL;

    if (text != NULL) {
        g_autoptr (GError) json_error = NULL;
        if (!json_parser_load_from_data (parser, text, -1, &json_error)) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: tsl.labels: %s",
                         tsl_safetensors_path (st), json_error->message);
            return NULL;
        }
        if (JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
            array = json_node_get_array (json_parser_get_root (parser));
    }
    for (int k = 0; k < num_classes; k++) {
        JsonNode *node = array != NULL && (guint) k < json_array_get_length (array)
                             ? json_array_get_element (array, k)
                             : NULL;

        if (node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
            json_node_get_value_type (node) == G_TYPE_STRING)
            g_ptr_array_add (labels, g_strdup (json_node_get_string (node)));
        else
            g_ptr_array_add (labels, g_strdup_printf ("class_%d", k));
    }
    return g_steal_pointer (&labels);
}

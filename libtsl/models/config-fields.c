/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * config-fields.c: see config-fields.h. Numbers are accepted as JSON
 * integers or floats (Python's json writes 6.0 for a float 6), and an
 * integer field also takes a float without fraction.
 */
#include "config-fields.h"

#include <math.h>
#include <string.h>

#include "../error.h"
#include "../io/json-check.h"

JsonObject *
tsl_cfg_parse_root (const char *json, gssize len, int max_depth, const char *what,
                    JsonParser **parser, GError **error)
{
    GError *parse_error = NULL;
    const size_t n = len < 0 ? strlen (json) : (size_t) len;
    JsonObject *root;

    *parser = NULL;
    if (!tsl_json_check (json, n, max_depth, &parse_error)) {
        g_propagate_prefixed_error (error, parse_error, "%s: ", what);
        return NULL;
    }
    *parser = json_parser_new ();
    if (!json_parser_load_from_data (*parser, json, (gssize) n, &parse_error)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: %s", what, parse_error->message);
        g_error_free (parse_error);
        return NULL;
    }
    if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (*parser))) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG, "%s: the top level is not an object",
                     what);
        return NULL;
    }
    root = json_node_get_object (json_parser_get_root (*parser));
    if (json_object_has_member (root, "config") &&
        JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "config")))
        root = json_object_get_object_member (root, "config");
    return root;
}

TslCfgSection
tsl_cfg_section (JsonObject *parent, const char *parent_name, const char *key,
                        GError **error, gboolean *ok)
{
    TslCfgSection s = { NULL, key };
    JsonNode *node;

    *ok = TRUE;
    if (parent == NULL || !json_object_has_member (parent, key))
        return s;
    node = json_object_get_member (parent, key);
    if (!JSON_NODE_HOLDS_OBJECT (node)) {
        TslCfgSection where = { parent, parent_name };
        *ok = tsl_cfg_bad_value (&where, key, node, "an object", error);
        return s;
    }
    s.obj = json_node_get_object (node);
    return s;
}

JsonNode *
tsl_cfg_member (const TslCfgSection *s, const char *key)
{
    if (s->obj == NULL || !json_object_has_member (s->obj, key))
        return NULL;
    return json_object_get_member (s->obj, key);
}

/* The value as JSON text, shortened for an error message. */
static char *
config_node_text (JsonNode *node)
{
    char *text = json_to_string (node, FALSE);

    if (strlen (text) > 40) {
        text[37] = '\0';
        char *shortened = g_strconcat (text, "...", NULL);
        g_free (text);
        return shortened;
    }
    return text;
}

gboolean
tsl_cfg_bad_value (const TslCfgSection *s, const char *key, JsonNode *node,
                      const char *expected, GError **error)
{
    g_autofree char *text = config_node_text (node);

    g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG, "%s.%s: expected %s, got %s", s->name, key,
                 expected, text);
    return FALSE;
}

gboolean
tsl_cfg_node_number (JsonNode *node, double *out)
{
    if (!JSON_NODE_HOLDS_VALUE (node))
        return FALSE;
    switch (json_node_get_value_type (node)) {
    case G_TYPE_INT64:
        *out = (double) json_node_get_int (node);
        return TRUE;
    case G_TYPE_DOUBLE:
        *out = json_node_get_double (node);
        return isfinite (*out);
    default:
        return FALSE;
    }
}

gboolean
tsl_cfg_node_int (JsonNode *node, int min, int max, int *out)
{
    double v;

    if (!tsl_cfg_node_number (node, &v) || v != floor (v) || v < min || v > max)
        return FALSE;
    *out = (int) v;
    return TRUE;
}

gboolean
tsl_cfg_int (const TslCfgSection *s, const char *key, int min, int max, int *out,
                     GError **error)
{
    JsonNode *node = tsl_cfg_member (s, key);

    if (node == NULL)
        return TRUE;
    if (!tsl_cfg_node_int (node, min, max, out)) {
        g_autofree char *expected = g_strdup_printf ("an integer in [%d, %d]", min, max);
        return tsl_cfg_bad_value (s, key, node, expected, error);
    }
    return TRUE;
}

gboolean
tsl_cfg_double (const TslCfgSection *s, const char *key, double min, double max,
                        gboolean allow_null, double null_value, double *out, GError **error)
{
    JsonNode *node = tsl_cfg_member (s, key);
    double v;

    if (node == NULL)
        return TRUE;
    if (allow_null && JSON_NODE_HOLDS_NULL (node)) {
        *out = null_value;
        return TRUE;
    }
    if (!tsl_cfg_node_number (node, &v) || v < min || v > max) {
        g_autofree char *expected = g_strdup_printf ("a number in [%g, %g]%s", min, max,
                                                     allow_null ? " or null" : "");
        return tsl_cfg_bad_value (s, key, node, expected, error);
    }
    *out = v;
    return TRUE;
}

gboolean
tsl_cfg_bool (const TslCfgSection *s, const char *key, gboolean *out, GError **error)
{
    JsonNode *node = tsl_cfg_member (s, key);

    if (node == NULL)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
        return tsl_cfg_bad_value (s, key, node, "true or false", error);
    *out = json_node_get_boolean (node);
    return TRUE;
}

gboolean
tsl_cfg_choice (const TslCfgSection *s, const char *key, const char *const *names,
                        int n, int *out, GError **error)
{
    JsonNode *node = tsl_cfg_member (s, key);

    if (node == NULL)
        return TRUE;
    if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING) {
        const char *value = json_node_get_string (node);
        for (int i = 0; i < n; i++) {
            if (g_str_equal (value, names[i])) {
                *out = i;
                return TRUE;
            }
        }
    }
    GString *expected = g_string_new ("one of ");
    for (int i = 0; i < n; i++)
        g_string_append_printf (expected, i ? ", '%s'" : "'%s'", names[i]);
    g_autofree char *text = g_string_free (expected, FALSE);
    return tsl_cfg_bad_value (s, key, node, text, error);
}

JsonArray *
tsl_cfg_array (const TslCfgSection *s, const char *key, JsonNode *node, int n,
                       const char *expected, GError **error)
{
    JsonArray *array;

    if (!JSON_NODE_HOLDS_ARRAY (node)) {
        tsl_cfg_bad_value (s, key, node, expected, error);
        return NULL;
    }
    array = json_node_get_array (node);
    if (n >= 0 && (int) json_array_get_length (array) != n) {
        tsl_cfg_bad_value (s, key, node, expected, error);
        return NULL;
    }
    return array;
}

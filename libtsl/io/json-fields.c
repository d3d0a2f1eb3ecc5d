/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * io/json-fields.c: typed JSON member readers with located errors, and
 * number / string formatting for writers (see json-fields.h).
 */
#include "json-fields.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json-check.h"

JsonParser *
tsl_json_fields_parse (const char *text, size_t len, const char *name, int max_depth,
                       GError **error)
{
    g_autoptr (JsonParser) parser = NULL;
    GError *parse_error = NULL;

    if (!tsl_json_check (text, len, max_depth, &parse_error)) {
        g_propagate_prefixed_error (error, parse_error, "%s: ", name);
        return NULL;
    }
    parser = json_parser_new ();
    if (!json_parser_load_from_data (parser, text, (gssize) len, &parse_error)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: %s", name, parse_error->message);
        g_error_free (parse_error);
        return NULL;
    }
    return g_steal_pointer (&parser);
}

const char *
tsl_json_fields_kind (JsonNode *node)
{
    switch (JSON_NODE_TYPE (node)) {
    case JSON_NODE_OBJECT:
        return "an object";
    case JSON_NODE_ARRAY:
        return "an array";
    case JSON_NODE_NULL:
        return "null";
    case JSON_NODE_VALUE:
        break;
    }
    switch (json_node_get_value_type (node)) {
    case G_TYPE_STRING:
        return "a string";
    case G_TYPE_BOOLEAN:
        return "a boolean";
    case G_TYPE_INT64:
        return "an integer";
    default:
        return "a number";
    }
}

static gboolean
fail (GError **error, const char *where, const char *prefix, const char *member,
      const char *problem)
{
    g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: %s%s: %s", where, prefix, member,
                 problem);
    return FALSE;
}

static gboolean
fail_type (GError **error, const char *where, const char *prefix, const char *member,
           const char *expected, JsonNode *found)
{
    g_autofree char *problem =
        g_strdup_printf ("expected %s, found %s", expected, tsl_json_fields_kind (found));
    return fail (error, where, prefix, member, problem);
}

/* The member's node, or NULL when it is absent or null. *ok is FALSE (and
 * the error set) when a required member is missing. */
static JsonNode *
lookup (JsonObject *obj, const char *member, gboolean required, const char *where,
        const char *prefix, gboolean *ok, GError **error)
{
    JsonNode *node = json_object_get_member (obj, member);

    *ok = TRUE;
    if (node == NULL || JSON_NODE_HOLDS_NULL (node)) {
        if (required)
            *ok = fail (error, where, prefix, member, node ? "is null" : "missing");
        return NULL;
    }
    return node;
}

static gboolean
is_number (JsonNode *node)
{
    return JSON_NODE_HOLDS_VALUE (node) && (json_node_get_value_type (node) == G_TYPE_INT64 ||
                                            json_node_get_value_type (node) == G_TYPE_DOUBLE);
}

/* int64 members are converted as Python's float(int) does: to nearest. */
static double
number_value (JsonNode *node)
{
    if (json_node_get_value_type (node) == G_TYPE_INT64)
        return (double) json_node_get_int (node);
    return json_node_get_double (node);
}

gboolean
tsl_json_fields_object (JsonObject *obj, const char *member, gboolean required,
                        const char *where, const char *prefix, JsonObject **out, GError **error)
{
    gboolean ok;
    JsonNode *node = lookup (obj, member, required, where, prefix, &ok, error);

    if (node == NULL)
        return ok;
    if (!JSON_NODE_HOLDS_OBJECT (node))
        return fail_type (error, where, prefix, member, "an object", node);
    *out = json_node_get_object (node);
    return TRUE;
}

gboolean
tsl_json_fields_array (JsonObject *obj, const char *member, gboolean required, const char *where,
                       const char *prefix, JsonArray **out, GError **error)
{
    gboolean ok;
    JsonNode *node = lookup (obj, member, required, where, prefix, &ok, error);

    if (node == NULL)
        return ok;
    if (!JSON_NODE_HOLDS_ARRAY (node))
        return fail_type (error, where, prefix, member, "an array", node);
    *out = json_node_get_array (node);
    return TRUE;
}

gboolean
tsl_json_fields_string (JsonObject *obj, const char *member, gboolean required,
                        const char *where, const char *prefix, const char **out, GError **error)
{
    gboolean ok;
    JsonNode *node = lookup (obj, member, required, where, prefix, &ok, error);

    if (node == NULL)
        return ok;
    if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        return fail_type (error, where, prefix, member, "a string", node);
    *out = json_node_get_string (node);
    return TRUE;
}

gboolean
tsl_json_fields_int (JsonObject *obj, const char *member, gboolean required, int64_t min,
                     int64_t max, const char *where, const char *prefix, int64_t *out,
                     GError **error)
{
    gboolean ok;
    JsonNode *node = lookup (obj, member, required, where, prefix, &ok, error);

    if (node == NULL)
        return ok;
    if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
        return fail_type (error, where, prefix, member, "an integer", node);
    int64_t value = json_node_get_int (node);
    if (value < min || value > max) {
        g_autofree char *problem =
            g_strdup_printf ("%" G_GINT64_FORMAT " is outside [%" G_GINT64_FORMAT
                             ", %" G_GINT64_FORMAT "]", value, min, max);
        return fail (error, where, prefix, member, problem);
    }
    *out = value;
    return TRUE;
}

gboolean
tsl_json_fields_number (JsonObject *obj, const char *member, gboolean required,
                        const char *where, const char *prefix, double *out, GError **error)
{
    gboolean ok;
    JsonNode *node = lookup (obj, member, required, where, prefix, &ok, error);

    if (node == NULL)
        return ok;
    if (!is_number (node))
        return fail_type (error, where, prefix, member, "a number", node);
    *out = number_value (node);
    return TRUE;
}

gboolean
tsl_json_fields_pair (JsonObject *obj, const char *member, const char *where, const char *prefix,
                      double out[2], GError **error)
{
    JsonArray *array = NULL;

    if (!tsl_json_fields_array (obj, member, TRUE, where, prefix, &array, error))
        return FALSE;
    if (json_array_get_length (array) != 2)
        return fail (error, where, prefix, member, "expected an array of two numbers");
    for (guint i = 0; i < 2; i++) {
        JsonNode *node = json_array_get_element (array, i);
        if (!is_number (node))
            return fail (error, where, prefix, member, "expected an array of two numbers");
        out[i] = number_value (node);
    }
    return TRUE;
}

/* ---- writing ---- */

const char *
tsl_json_format_number (char buf[TSL_JSON_NUMBER_BUF], double x)
{
    g_return_val_if_fail (isfinite (x), "0");

    for (int digits = 1; digits <= 17; digits++) {
        char format[8];
        g_snprintf (format, sizeof format, "%%.%dg", digits);
        g_ascii_formatd (buf, TSL_JSON_NUMBER_BUF, format, x);
        if (g_ascii_strtod (buf, NULL) == x)
            break;
    }
    /* a whole number keeps a fraction so that it reads back as a float */
    if (strpbrk (buf, ".eE") == NULL)
        g_strlcat (buf, ".0", TSL_JSON_NUMBER_BUF);
    return buf;
}

void
tsl_json_append_string (GString *out, const char *s)
{
    g_string_append_c (out, '"');
    for (const char *p = s; *p != '\0'; p++) {
        const guchar c = (guchar) *p;
        if (c == '"' || c == '\\')
            g_string_append_printf (out, "\\%c", c);
        else if (c < 0x20)
            g_string_append_printf (out, "\\u%04x", c);
        else
            g_string_append_c (out, (char) c);
    }
    g_string_append_c (out, '"');
}

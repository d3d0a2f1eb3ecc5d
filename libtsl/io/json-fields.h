/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * io/json-fields.h: typed access to the members of JSON records, for the
 * readers of annotation and prediction files, with errors a user can act on;
 * and the two pieces their writers need (numbers that read back exactly,
 * escaped strings).
 *
 * Every reader takes `where` (what the record belongs to, e.g.
 * "gt.json: video 'v1'") and `prefix` (the record's path inside it, e.g.
 * "sound_localisation[2]." or ""), and on failure sets a TSL_ERROR_FORMAT
 * error "<where>: <prefix><member>: <problem>", e.g.
 * "gt.json: video 'v1': sound_localisation[2].label_id: expected an
 * integer, found a string". A member that is absent or JSON null counts as
 * missing: an error when required, otherwise the output is left unchanged
 * and the call succeeds.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdint.h>

#include "../error.h"

G_BEGIN_DECLS

/* Checks text[0, len) with tsl_json_check (nesting at most max_depth) and
 * parses it. Errors start with `name`. */
JsonParser *tsl_json_fields_parse (const char *text, size_t len, const char *name, int max_depth,
                                   GError **error);

/* "an object", "a string", ... for messages. */
const char *tsl_json_fields_kind (JsonNode *node);

gboolean tsl_json_fields_object (JsonObject *obj, const char *member, gboolean required,
                                 const char *where, const char *prefix, JsonObject **out,
                                 GError **error);
gboolean tsl_json_fields_array (JsonObject *obj, const char *member, gboolean required,
                                const char *where, const char *prefix, JsonArray **out,
                                GError **error);
gboolean tsl_json_fields_string (JsonObject *obj, const char *member, gboolean required,
                                 const char *where, const char *prefix, const char **out,
                                 GError **error);
/* An integer (no fraction or exponent in the text) within [min, max]. */
gboolean tsl_json_fields_int (JsonObject *obj, const char *member, gboolean required,
                              int64_t min, int64_t max, const char *where, const char *prefix,
                              int64_t *out, GError **error);
/* Any number; integers are converted to the nearest double. */
gboolean tsl_json_fields_number (JsonObject *obj, const char *member, gboolean required,
                                 const char *where, const char *prefix, double *out,
                                 GError **error);
/* A required array of exactly two numbers. */
gboolean tsl_json_fields_pair (JsonObject *obj, const char *member, const char *where,
                               const char *prefix, double out[2], GError **error);

/* ---- writing ---- */

#define TSL_JSON_NUMBER_BUF 32

/* The shortest %.Ng text (fewest significant digits N in 1 .. 17, C
 * locale) that reads back as exactly x, as short as Python's repr: 0.1 -> "0.1",
 * 2.0 -> "2.0", 1e-05 -> "1e-05", 5e-324 -> "5e-324". x must be finite
 * (JSON has no NaN or infinity). */
const char *tsl_json_format_number (char buf[TSL_JSON_NUMBER_BUF], double x);
/* Appends s as a JSON string literal (quotes, \", \\, control
 * characters as \u00XX; UTF-8 passes through). */
void tsl_json_append_string (GString *out, const char *s);

G_END_DECLS

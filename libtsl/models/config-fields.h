/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * config-fields.h: typed reading of the members of one JSON object (a
 * "section" of a configuration dict) with json-glib. An absent key leaves
 * the caller's default untouched; a value of the wrong type or outside its
 * range is a TSL_ERROR_CONFIG error naming "section.key", what was expected
 * and the value found. Used by every model configuration reader.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct {
    JsonObject *obj;  /* NULL when the section is absent */
    const char *name; /* "model", "model.test_cfg", ... for messages */
} TslCfgSection;

/* Checks a configuration's JSON text (len bytes, or NUL-terminated when
 * len < 0) with tsl_json_check (nesting at most max_depth), parses it and
 * returns its top-level object, or the object under "config" when the
 * configuration is wrapped as {"config": {...}}. The object belongs to
 * *parser (the caller's to unref, also on failure). Errors start with
 * `what` ("VideoMAE config: ..."): TSL_ERROR_FORMAT for text that is not
 * JSON, TSL_ERROR_CONFIG when the top level is not an object. */
JsonObject *tsl_cfg_parse_root (const char *json, gssize len, int max_depth, const char *what,
                                JsonParser **parser, GError **error);

/* parent[key] as a section (obj NULL when absent); *ok FALSE with an error
 * when it is present but not an object. */
TslCfgSection tsl_cfg_section (JsonObject *parent, const char *parent_name,
                                         const char *key, GError **error, gboolean *ok);
/* The member, or NULL when absent. */
JsonNode *tsl_cfg_member (const TslCfgSection *s, const char *key);
/* Sets "section.key: expected <expected>, got <value>"; returns FALSE. */
gboolean tsl_cfg_bad_value (const TslCfgSection *s, const char *key, JsonNode *node,
                               const char *expected, GError **error);

/* A finite JSON number. */
gboolean tsl_cfg_node_number (JsonNode *node, double *out);
/* An integer in [min, max], also written as a float without fraction (2.0). */
gboolean tsl_cfg_node_int (JsonNode *node, int min, int max, int *out);

gboolean tsl_cfg_int (const TslCfgSection *s, const char *key, int min, int max,
                              int *out, GError **error);
/* A number in [min, max]; null gives null_value when allow_null. */
gboolean tsl_cfg_double (const TslCfgSection *s, const char *key, double min,
                                 double max, gboolean allow_null, double null_value, double *out,
                                 GError **error);
gboolean tsl_cfg_bool (const TslCfgSection *s, const char *key, gboolean *out,
                               GError **error);
/* One of the n strings in names; its index goes to *out. */
gboolean tsl_cfg_choice (const TslCfgSection *s, const char *key,
                                 const char *const *names, int n, int *out, GError **error);
/* node as an array of exactly n elements (n < 0: any length); NULL with an
 * error naming section.key and `expected` otherwise. */
JsonArray *tsl_cfg_array (const TslCfgSection *s, const char *key, JsonNode *node,
                                  int n, const char *expected, GError **error);

G_END_DECLS

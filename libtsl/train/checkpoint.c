/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/checkpoint.c: training state save and checked load through the
 * safetensors reader and atomic writer; see checkpoint.h.
 */
#include "checkpoint.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../io/json-check.h"
#include "../io/safetensors.h"

static const char *const kind_prefix[4] = { "param", "ema", "adam_m", "adam_v" };

static float *
tensor_part (const TslCheckpointTensor *t, int part)
{
    float *parts[4] = { t->param, t->ema, t->adam_m, t->adam_v };
    return parts[part];
}

static size_t
tensor_numel (const TslCheckpointTensor *t)
{
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= (size_t) t->shape[d];
    return n;
}

gboolean
tsl_checkpoint_save (const char *path, const TslCheckpointState *state,
                     const TslCheckpointTensor *tensors, int n_tensors, GError **error)
{
    g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
    g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
    for (int i = 0; i < n_tensors; i++) {
        for (int part = 0; part < 4; part++) {
            g_checksum_update (sum, (const guchar *) tensor_part (&tensors[i], part),
                               (gssize) (tensor_numel (&tensors[i]) * sizeof (float)));
            g_autofree char *name = g_strdup_printf ("%s.%s", kind_prefix[part],
                                                     tensors[i].name);
            if (!tsl_safetensors_writer_add_f32 (w, name, tensors[i].ndim, tensors[i].shape,
                                                 tensor_part (&tensors[i], part), error))
                return FALSE;
        }
    }
    char text[80]; /* the longest value: 64 hex digits */
    tsl_safetensors_writer_set_metadata (w, "tsl.checkpoint", TSL_CHECKPOINT_KIND);
    tsl_safetensors_writer_set_metadata (w, "tsl.version", TSL_CHECKPOINT_VERSION);
    g_snprintf (text, sizeof text, "%" G_GINT64_FORMAT, state->epoch);
    tsl_safetensors_writer_set_metadata (w, "epoch", text);
    g_snprintf (text, sizeof text, "%" G_GINT64_FORMAT, state->iteration);
    tsl_safetensors_writer_set_metadata (w, "iteration", text);
    g_snprintf (text, sizeof text, "%" G_GINT64_FORMAT, state->step_count);
    tsl_safetensors_writer_set_metadata (w, "step_count", text);
    g_ascii_formatd (text, sizeof text, "%.17g", state->loss_normalizer);
    tsl_safetensors_writer_set_metadata (w, "loss_normalizer", text);
    g_snprintf (text, sizeof text, "%016" G_GINT64_MODIFIER "x%016" G_GINT64_MODIFIER
                "x%016" G_GINT64_MODIFIER "x%016" G_GINT64_MODIFIER "x",
                state->rng.s[0], state->rng.s[1], state->rng.s[2], state->rng.s[3]);
    tsl_safetensors_writer_set_metadata (w, "rng_state", text);
    tsl_safetensors_writer_set_metadata (w, "config",
                                         state->config_json ? state->config_json : "{}");
    tsl_safetensors_writer_set_metadata (w, "tensor_sha256", g_checksum_get_string (sum));
    return tsl_safetensors_writer_save (w, path, error);
}

static const char *
require_metadata (const TslSafetensors *st, const char *key, GError **error)
{
    const char *value = tsl_safetensors_get_metadata (st, key);
    if (value == NULL)
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: metadata '%s' is missing",
                     tsl_safetensors_path (st), key);
    return value;
}

static gboolean
read_count (const TslSafetensors *st, const char *key, int64_t *out, GError **error)
{
    const char *text = require_metadata (st, key, error);
    if (text == NULL)
        return FALSE;
    guint64 value;
    if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT64, &value, NULL)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: metadata '%s' is '%s', not a non-negative integer",
                     tsl_safetensors_path (st), key, text);
        return FALSE;
    }
    *out = (int64_t) value;
    return TRUE;
}

static gboolean
read_metadata (const TslSafetensors *st, TslCheckpointState *state, GError **error)
{
    const char *path = tsl_safetensors_path (st);
    const char *kind = require_metadata (st, "tsl.checkpoint", error);
    if (kind == NULL)
        return FALSE;
    const char *version = require_metadata (st, "tsl.version", error);
    if (version == NULL)
        return FALSE;
    if (strcmp (kind, TSL_CHECKPOINT_KIND) != 0 || strcmp (version, TSL_CHECKPOINT_VERSION) != 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: a '%s' version %s file, not a training checkpoint (%s version %s)",
                     path, kind, version, TSL_CHECKPOINT_KIND, TSL_CHECKPOINT_VERSION);
        return FALSE;
    }
    if (!read_count (st, "epoch", &state->epoch, error)
        || !read_count (st, "iteration", &state->iteration, error)
        || !read_count (st, "step_count", &state->step_count, error))
        return FALSE;

    const char *text = require_metadata (st, "loss_normalizer", error);
    if (text == NULL)
        return FALSE;
    char *end = NULL;
    errno = 0;
    state->loss_normalizer = g_ascii_strtod (text, &end);
    if (*text == '\0' || *end != '\0' || errno != 0 || !isfinite (state->loss_normalizer)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: metadata 'loss_normalizer' is '%s', not a finite number", path, text);
        return FALSE;
    }

    text = require_metadata (st, "rng_state", error);
    if (text == NULL)
        return FALSE;
    gboolean rng_ok = strlen (text) == 64;
    for (int i = 0; rng_ok && i < 64; i++)
        rng_ok = g_ascii_isxdigit (text[i]);
    for (int i = 0; rng_ok && i < 4; i++) {
        char word[17];
        memcpy (word, text + 16 * i, 16);
        word[16] = '\0';
        state->rng.s[i] = g_ascii_strtoull (word, NULL, 16);
    }
    if (!rng_ok || (state->rng.s[0] | state->rng.s[1] | state->rng.s[2] | state->rng.s[3]) == 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: metadata 'rng_state' must be 64 hex digits, not all zero", path);
        return FALSE;
    }

    text = require_metadata (st, "config", error);
    if (text == NULL)
        return FALSE;
    g_autoptr (GError) json_error = NULL;
    if (!tsl_json_check (text, strlen (text), 64, &json_error)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: metadata 'config': %s", path,
                     json_error->message);
        return FALSE;
    }
    state->config_json = g_strdup (text);
    return TRUE;
}

/* The entry `name`, float32 and of the tensor's shape. */
static const TslSafetensorsEntry *
find_checked (const TslSafetensors *st, const char *name, const TslCheckpointTensor *t,
              GError **error)
{
    const TslSafetensorsEntry *e = tsl_safetensors_find (st, name);
    if (e == NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: tensor '%s' is missing",
                     tsl_safetensors_path (st), name);
        return NULL;
    }
    if (e->dtype != TSL_DTYPE_F32) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: tensor '%s' is %s, not F32",
                     tsl_safetensors_path (st), name, tsl_dtype_name (e->dtype));
        return NULL;
    }
    gboolean same = e->ndim == t->ndim;
    for (int d = 0; same && d < t->ndim; d++)
        same = e->shape[d] == t->shape[d];
    if (!same) {
        g_autoptr (GString) got = g_string_new ("[");
        g_autoptr (GString) want = g_string_new ("[");
        for (int d = 0; d < e->ndim; d++)
            g_string_append_printf (got, d ? ", %" G_GINT64_FORMAT : "%" G_GINT64_FORMAT,
                                    e->shape[d]);
        for (int d = 0; d < t->ndim; d++)
            g_string_append_printf (want, d ? ", %d" : "%d", t->shape[d]);
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE, "%s: tensor '%s' has shape %s], "
                     "expected %s]", tsl_safetensors_path (st), name, got->str, want->str);
        return NULL;
    }
    return e;
}

gboolean
tsl_checkpoint_load (const char *path, TslCheckpointState *state,
                     const TslCheckpointTensor *tensors, int n_tensors, GError **error)
{
    g_autoptr (TslSafetensors) st = tsl_safetensors_open (path, error);
    if (st == NULL)
        return FALSE;
    TslCheckpointState read = { 0 };
    if (!read_metadata (st, &read, error))
        return FALSE;

    g_autoptr (GHashTable) expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                             NULL);
    const TslSafetensorsEntry **entries = g_new (const TslSafetensorsEntry *,
                                                 (size_t) 4 * MAX (n_tensors, 1));
    gboolean ok = TRUE;
    for (int i = 0; ok && i < n_tensors; i++) {
        for (int part = 0; ok && part < 4; part++) {
            char *name = g_strdup_printf ("%s.%s", kind_prefix[part], tensors[i].name);
            g_hash_table_add (expected, name);
            entries[4 * i + part] = find_checked (st, name, &tensors[i], error);
            ok = entries[4 * i + part] != NULL;
        }
    }
    for (guint k = 0; ok && k < tsl_safetensors_n_entries (st); k++) {
        const char *name = tsl_safetensors_nth (st, k)->name;
        if (!g_hash_table_contains (expected, name)) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                         "%s: tensor '%s' is not a parameter of this model", path, name);
            ok = FALSE;
        }
    }
    const char *expected_sum = ok ? require_metadata (st, "tensor_sha256", error) : NULL;
    ok = ok && expected_sum != NULL;
    if (ok) {
        g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
        for (int k = 0; k < 4 * n_tensors; k++)
            g_checksum_update (sum, entries[k]->data, (gssize) entries[k]->nbytes);
        if (g_ascii_strcasecmp (g_checksum_get_string (sum), expected_sum) != 0) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                         "%s: the tensor data does not match its checksum tensor_sha256 "
                         "(the file is corrupt)", path);
            ok = FALSE;
        }
    }
    if (ok) {
        for (int i = 0; i < n_tensors; i++)
            for (int part = 0; part < 4; part++)
                memcpy (tensor_part (&tensors[i], part), entries[4 * i + part]->data,
                        tensor_numel (&tensors[i]) * sizeof (float));
        *state = read;
    } else {
        g_free (read.config_json);
    }
    g_free (entries);
    return ok;
}

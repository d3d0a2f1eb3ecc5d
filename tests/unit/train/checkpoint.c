/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * checkpoint.c: training-state files: save -> load is bit-exact (all four
 * tensors of every parameter, counters, the loss normaliser's double, the
 * generator state, the configuration text); a truncated or corrupted file,
 * a missing tensor, a wrong shape, an unexpected tensor and bad metadata
 * are each rejected with a message naming the problem, leaving the
 * caller's buffers untouched.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "io/safetensors.h"
#include "testutil.h"
#include "train/checkpoint.h"

#define N_PARAMS 3

typedef struct {
    char *dir;
    char *path;
    TslCheckpointTensor tensors[N_PARAMS];
    TslCheckpointState state;
} Fixture;

static const char *const param_names[N_PARAMS] = {
    "backbone.embd.0.conv.weight", "cls_head.cls_head.conv.bias", "scale.0",
};
static const int param_ndim[N_PARAMS] = { 3, 1, 0 };
static const int param_shape[N_PARAMS][3] = { { 7, 5, 3 }, { 11 }, { 0 } };

static size_t
numel (const TslCheckpointTensor *t)
{
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= (size_t) t->shape[d];
    return n;
}

static void
tensors_init (TslCheckpointTensor *tensors, TslTestRng *rng)
{
    for (int i = 0; i < N_PARAMS; i++) {
        TslCheckpointTensor *t = &tensors[i];
        *t = (TslCheckpointTensor) { .name = param_names[i], .ndim = param_ndim[i] };
        memcpy (t->shape, param_shape[i], sizeof param_shape[i]);
        size_t n = numel (t);
        float **parts[4] = { &t->param, &t->ema, &t->adam_m, &t->adam_v };
        for (int p = 0; p < 4; p++) {
            *parts[p] = g_new (float, n);
            if (rng != NULL)
                tsl_test_fill_normal (rng, *parts[p], n, 1.0f);
            else
                memset (*parts[p], 0xA5, n * sizeof (float));
        }
    }
}

static void
tensors_clear (TslCheckpointTensor *tensors)
{
    for (int i = 0; i < N_PARAMS; i++) {
        g_free (tensors[i].param);
        g_free (tensors[i].ema);
        g_free (tensors[i].adam_m);
        g_free (tensors[i].adam_v);
    }
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
    (void) data;
    f->dir = g_dir_make_tmp ("tsl-checkpoint-XXXXXX", NULL);
    g_assert_nonnull (f->dir);
    f->path = g_build_filename (f->dir, "state.safetensors", NULL);
    TslTestRng rng;
    tsl_test_rng_init (&rng, 3);
    tensors_init (f->tensors, &rng);
    f->tensors[0].param[4] = -0.0f; /* signed zero must survive */
    f->tensors[1].adam_v[2] = 1e-40f; /* a denormal too */
    f->state = (TslCheckpointState) { .epoch = 7, .iteration = 123456789012, .step_count = 4242,
                                      .loss_normalizer = 86.72099999999999 };
    tsl_train_rng_seed (&f->state.rng, 99);
    f->state.config_json =
        g_strdup ("{\"opt\": {\"learning_rate\": 0.001}, \"name\": \"d\\u00e9j\\u00e0\"}");
    g_autoptr (GError) error = NULL;
    g_assert_true (tsl_checkpoint_save (f->path, &f->state, f->tensors, N_PARAMS, &error));
    g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
    (void) data;
    g_remove (f->path);
    g_rmdir (f->dir);
    tensors_clear (f->tensors);
    g_free (f->state.config_json);
    g_free (f->path);
    g_free (f->dir);
}

static void
test_round_trip (Fixture *f, gconstpointer data)
{
    (void) data;
    TslCheckpointTensor got[N_PARAMS];
    tensors_init (got, NULL);
    TslCheckpointState state = { 0 };
    g_autoptr (GError) error = NULL;
    gboolean loaded = tsl_checkpoint_load (f->path, &state, got, N_PARAMS, &error);
    g_assert_no_error (error);
    g_assert_true (loaded);
    for (int i = 0; i < N_PARAMS; i++) {
        size_t bytes = numel (&got[i]) * sizeof (float);
        g_assert_cmpmem (got[i].param, bytes, f->tensors[i].param, bytes);
        g_assert_cmpmem (got[i].ema, bytes, f->tensors[i].ema, bytes);
        g_assert_cmpmem (got[i].adam_m, bytes, f->tensors[i].adam_m, bytes);
        g_assert_cmpmem (got[i].adam_v, bytes, f->tensors[i].adam_v, bytes);
    }
    g_assert_cmpint (state.epoch, ==, 7);
    g_assert_cmpint (state.iteration, ==, 123456789012);
    g_assert_cmpint (state.step_count, ==, 4242);
    g_assert_cmpmem (&state.loss_normalizer, sizeof (double), &f->state.loss_normalizer,
                     sizeof (double));
    g_assert_cmpmem (state.rng.s, sizeof state.rng.s, f->state.rng.s, sizeof state.rng.s);
    g_assert_cmpstr (state.config_json, ==, f->state.config_json);
    g_free (state.config_json);
    tensors_clear (got);
}

/* Loading must fail with a message holding `needle` and leave got untouched. */
static void
expect_rejected (const char *path, const char *needle)
{
    TslCheckpointTensor got[N_PARAMS];
    tensors_init (got, NULL);
    TslCheckpointState state = { .epoch = -5 };
    g_autoptr (GError) error = NULL;
    g_assert_false (tsl_checkpoint_load (path, &state, got, N_PARAMS, &error));
    g_assert_nonnull (error);
    g_test_message ("rejected: %s", error->message);
    g_assert_nonnull (strstr (error->message, needle));
    g_assert_cmpint (state.epoch, ==, -5);
    g_assert_null (state.config_json);
    for (int i = 0; i < N_PARAMS; i++)
        for (size_t k = 0; k < numel (&got[i]); k++) {
            guint32 bits;
            memcpy (&bits, &got[i].param[k], 4);
            g_assert_cmphex (bits, ==, 0xA5A5A5A5u);
        }
    tensors_clear (got);
}

static void
test_truncated (Fixture *f, gconstpointer data)
{
    (void) data;
    g_autofree char *bytes = NULL;
    gsize len;
    g_assert_true (g_file_get_contents (f->path, &bytes, &len, NULL));
    g_autofree char *cut = g_build_filename (f->dir, "cut.safetensors", NULL);
    for (gsize keep = 0; keep < len; keep += MAX (len / 13, 1)) {
        g_assert_true (g_file_set_contents (cut, bytes, (gssize) keep, NULL));
        expect_rejected (cut, "cut.safetensors");
    }
    g_assert_true (g_file_set_contents (cut, bytes, (gssize) len - 1, NULL));
    expect_rejected (cut, "cut.safetensors");
    /* one bit flipped in the last tensor's data */
    bytes[len - 1] ^= 0x10;
    g_assert_true (g_file_set_contents (cut, bytes, (gssize) len, NULL));
    expect_rejected (cut, "does not match its checksum");
    bytes[len - 1] ^= 0x10;
    /* a corrupted header byte */
    bytes[9] = '!';
    g_assert_true (g_file_set_contents (cut, bytes, (gssize) len, NULL));
    expect_rejected (cut, "cut.safetensors");
    g_remove (cut);
}

static void
write_edited (const char *path, const TslCheckpointTensor *tensors, const TslCheckpointState *s,
              const char *skip, const char *extra, int bad_shape_index,
              const char *meta_key, const char *meta_value)
{
    g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
    g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
    static const char *const prefix[4] = { "param", "ema", "adam_m", "adam_v" };
    for (int i = 0; i < N_PARAMS; i++) {
        const float *parts[4] = { tensors[i].param, tensors[i].ema, tensors[i].adam_m,
                                  tensors[i].adam_v };
        for (int p = 0; p < 4; p++) {
            g_checksum_update (sum, (const guchar *) parts[p],
                               (gssize) (numel (&tensors[i]) * sizeof (float)));
            g_autofree char *name = g_strdup_printf ("%s.%s", prefix[p], tensors[i].name);
            if (skip != NULL && strcmp (name, skip) == 0)
                continue;
            int shape[TSL_MAX_DIMS];
            memcpy (shape, tensors[i].shape, sizeof shape);
            int ndim = tensors[i].ndim;
            if (i == bad_shape_index && p == 0) {
                /* same element count, other shape */
                shape[0] = tensors[i].shape[1];
                shape[1] = tensors[i].shape[0];
            }
            g_assert_true (tsl_safetensors_writer_add_f32 (w, name, ndim, shape, parts[p], NULL));
        }
    }
    if (extra != NULL) {
        float one = 1.0f;
        g_assert_true (tsl_safetensors_writer_add_f32 (w, extra, 0, NULL, &one, NULL));
    }
    char rng[65];
    g_snprintf (rng, sizeof rng, "%016" G_GINT64_MODIFIER "x%016" G_GINT64_MODIFIER
                "x%016" G_GINT64_MODIFIER "x%016" G_GINT64_MODIFIER "x",
                s->rng.s[0], s->rng.s[1], s->rng.s[2], s->rng.s[3]);
    const char *keys[] = { "tsl.checkpoint", "tsl.version", "epoch", "iteration", "step_count",
                           "loss_normalizer", "rng_state", "config", "tensor_sha256" };
    const char *values[] = { TSL_CHECKPOINT_KIND, TSL_CHECKPOINT_VERSION, "7", "1", "2",
                             "86.72099999999999", rng, s->config_json,
                             g_checksum_get_string (sum) };
    for (size_t k = 0; k < G_N_ELEMENTS (keys); k++) {
        if (meta_key != NULL && strcmp (keys[k], meta_key) == 0) {
            if (meta_value != NULL)
                tsl_safetensors_writer_set_metadata (w, keys[k], meta_value);
            continue;
        }
        tsl_safetensors_writer_set_metadata (w, keys[k], values[k]);
    }
    g_assert_true (tsl_safetensors_writer_save (w, path, NULL));
}

static void
test_invalid (Fixture *f, gconstpointer data)
{
    (void) data;
    g_autofree char *p = g_build_filename (f->dir, "edited.safetensors", NULL);
    /* the helper itself writes a loadable file */
    write_edited (p, f->tensors, &f->state, NULL, NULL, -1, NULL, NULL);
    TslCheckpointTensor got[N_PARAMS];
    tensors_init (got, NULL);
    TslCheckpointState state = { 0 };
    g_assert_true (tsl_checkpoint_load (p, &state, got, N_PARAMS, NULL));
    g_free (state.config_json);
    tensors_clear (got);

    write_edited (p, f->tensors, &f->state, "adam_v.cls_head.cls_head.conv.bias", NULL, -1,
                  NULL, NULL);
    expect_rejected (p, "tensor 'adam_v.cls_head.cls_head.conv.bias' is missing");
    write_edited (p, f->tensors, &f->state, NULL, "param.unknown", -1, NULL, NULL);
    expect_rejected (p, "tensor 'param.unknown' is not a parameter");
    write_edited (p, f->tensors, &f->state, NULL, NULL, 0, NULL, NULL);
    expect_rejected (p, "'param.backbone.embd.0.conv.weight' has shape [5, 7, 3], "
                        "expected [7, 5, 3]");
    write_edited (p, f->tensors, &f->state, NULL, NULL, -1, "step_count", NULL);
    expect_rejected (p, "metadata 'step_count' is missing");
    write_edited (p, f->tensors, &f->state, NULL, NULL, -1, "epoch", "-1");
    expect_rejected (p, "metadata 'epoch' is '-1'");
    write_edited (p, f->tensors, &f->state, NULL, NULL, -1, "loss_normalizer", "86.7x");
    expect_rejected (p, "metadata 'loss_normalizer'");
    write_edited (p, f->tensors, &f->state, NULL, NULL, -1, "rng_state", "12");
    expect_rejected (p, "metadata 'rng_state'");
    write_edited (p, f->tensors, &f->state, NULL, NULL, -1, "config", "{\"a\": 1,}");
    expect_rejected (p, "metadata 'config'");
    write_edited (p, f->tensors, &f->state, NULL, NULL, -1, "tsl.checkpoint", "model");
    expect_rejected (p, "not a training checkpoint");
    g_remove (p);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add ("/train/checkpoint/round-trip", Fixture, NULL, fixture_setup, test_round_trip,
                fixture_teardown);
    g_test_add ("/train/checkpoint/truncated", Fixture, NULL, fixture_setup, test_truncated,
                fixture_teardown);
    g_test_add ("/train/checkpoint/invalid", Fixture, NULL, fixture_setup, test_invalid,
                fixture_teardown);
    return g_test_run ();
}

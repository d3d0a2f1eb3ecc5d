/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Parity of libtsl/models/audio (log-mel front end, ResNet-v2 and heads)
 * with the PyTorch re-implementation in tools/make-audio-fixture.py, on the
 * tiny random model of tests/data/audio-fixture.safetensors (two windows
 * of 3000 samples at 8 kHz, 16 mel bins, width 4, blocks [1, 2, 1, 1]):
 *
 * - the log-mel of both waveforms against the fixture's;
 * - the network from the fixture's log-mel: the stem, every stage, the
 *   pooled vector and both heads, then the whole path from the waveforms;
 * - each head selectable ('backbone', 'va', 'vat') with its output size;
 * - the configuration: defaults = the official network, unknown keys and
 *   bad values named, and a wrong width reported as a shape error naming
 *   the tensor;
 * - with TSL_AUDIO_MODEL (and optionally TSL_AUDIO_REFERENCE, a fixture
 *   file), a model file from elsewhere (tools/convert-mmv-audio.py in
 *   tests/tools) is loaded and, given a reference, run on its waveforms.
 *
 * The backend is TSL_TEST_BACKEND (default "cpu").
 */
#include <math.h>
#include <string.h>

#include "testutil.h"
#include "io/safetensors.h"
#include "models/audio/model.h"

#define FIXTURE_FILE "audio-fixture.safetensors"
#define FIXTURE_VERSION "1"
#define FIXTURE_SCRIPT "tools/make-audio-fixture.py"

/* log-mel: this side works in double, the fixture is torch float32, whose
 * own distance to a float64 computation is 5e-7 on values of about -5 .. 5 */
#define LOGMEL_ATOL 1e-5
/* network outputs: float32 on both sides, sums in other orders through
 * ~30 layers, values of magnitude ~10: differences scale with the tensor,
 * so the absolute tolerance is 1e-4 of its largest value, plus 1e-4
 * relative. A missing term (a bias, a BN, a wrong padding) is >= 1e-2. */
#define NET_REL 1e-4

static TslSafetensors *
open_reference (const char *path)
{
    g_autoptr (GError) error = NULL;
    TslSafetensors *st = tsl_safetensors_open (path, &error);
    const char *version;

    g_assert_no_error (error);
    version = tsl_safetensors_get_metadata (st, "fixture.version");
    if (g_strcmp0 (version, FIXTURE_VERSION) != 0)
        g_error ("%s: fixture version %s, expected %s: rerun %s", path, version ? version : "none",
                 FIXTURE_VERSION, FIXTURE_SCRIPT);
    return st;
}

static char *
fixture_path (void)
{
    return g_build_filename (g_getenv ("TSL_TEST_DATA"), FIXTURE_FILE, NULL);
}

/* The reference tensor `name` as floats; *n its element count */
static float *
read_reference (const TslSafetensors *ref, const char *name, size_t *n)
{
    const TslSafetensorsEntry *entry = tsl_safetensors_find (ref, name);
    g_autoptr (GError) error = NULL;
    float *data;

    if (entry == NULL)
        g_error ("%s: no reference tensor %s", tsl_safetensors_path (ref), name);
    *n = tsl_safetensors_entry_numel (entry);
    data = g_new (float, *n);
    tsl_safetensors_read_f32 (ref, name, data, *n, &error);
    g_assert_no_error (error);
    return data;
}

/* got vs reference `name`, with the tolerance NET_REL scaled by its range */
static void
compare_scaled (const char *label, const float *got, size_t n, const TslSafetensors *ref,
                const char *name)
{
    size_t n_ref;
    g_autofree float *want = read_reference (ref, name, &n_ref);
    double range = 0.0, max_diff = 0.0;

    g_assert_cmpuint (n_ref, ==, n);
    for (size_t i = 0; i < n; i++) {
        range = MAX (range, fabs (want[i]));
        max_diff = MAX (max_diff, fabs ((double) got[i] - want[i]));
    }
    g_test_message ("%-10s max abs diff %.3g (largest value %.3g)", label, max_diff, range);
    tsl_test_check_close_f (label, got, want, n, NET_REL * range, NET_REL);
}

/* A device activation against reference `name`, shapes included */
static void
compare_activation (TslAudioModel *m, TslBackend *be, TslAudioActivation which, int index,
                    const TslSafetensors *ref, const char *name)
{
    const TslTensor *t = tsl_audio_model_activation (m, which, index);
    const TslSafetensorsEntry *entry = tsl_safetensors_find (ref, name);
    size_t n;

    g_assert_nonnull (t);
    g_assert_nonnull (entry);
    g_assert_cmpint (t->ndim, ==, entry->ndim);
    for (int d = 0; d < t->ndim; d++)
        g_assert_cmpint (t->shape[d], ==, entry->shape[d]);
    n = tsl_tensor_numel (t);
    g_autofree float *got = g_new (float, n);
    tsl_backend_download (be, got, t->data, n * sizeof (float));
    compare_scaled (name, got, n, ref, name);
}

static TslAudioModel *
load_model (TslBackend *be, const char *path)
{
    g_autoptr (GError) error = NULL;
    TslAudioModel *m = tsl_audio_model_load (be, path, &error);

    g_assert_no_error (error);
    return m;
}

/* ---- front end ---- */

static void
test_logmel (void)
{
    g_autofree char *path = fixture_path ();
    g_autoptr (TslSafetensors) ref = open_reference (path);
    TslBackend *be = tsl_test_backend ();
    g_autoptr (TslAudioModel) m = load_model (be, path);
    const TslSafetensorsEntry *wave = tsl_safetensors_find (ref, "__waveform");
    const int B = (int) wave->shape[0], N = (int) wave->shape[1];
    const int F = tsl_audio_model_n_frames (m, N), mel = 16;
    size_t n_wave, n_ref;
    g_autofree float *waves = read_reference (ref, "__waveform", &n_wave);
    g_autofree float *want = read_reference (ref, "__logmel", &n_ref);
    g_autofree float *got = g_new (float, n_ref);

    g_assert_cmpint (F, ==, 38); /* ceil(3000 / 80): pad_end */
    g_assert_cmpuint (n_ref, ==, (size_t) B * F * mel);
    tsl_audio_model_logmel (m, got, waves, B, N);
    tsl_test_check_close_f ("logmel", got, want, n_ref, LOGMEL_ATOL, 0.0);
    tsl_audio_model_free (g_steal_pointer (&m));
    tsl_backend_free (be);
}

/* ---- network ---- */

static void
check_network (const char *model_path, const char *reference_path)
{
    g_autoptr (TslSafetensors) ref = open_reference (reference_path);
    TslBackend *be = tsl_test_backend ();
    g_autoptr (TslAudioModel) m = load_model (be, model_path);
    g_autoptr (GError) error = NULL;
    const TslSafetensorsEntry *logmel = tsl_safetensors_find (ref, "__logmel");
    const int B = (int) logmel->shape[0], F = (int) logmel->shape[1];
    size_t n_logmel, n_wave;
    g_autofree float *mel = read_reference (ref, "__logmel", &n_logmel);
    g_autofree float *waves = read_reference (ref, "__waveform", &n_wave);
    const int D = tsl_audio_model_output_dim (m);
    g_autofree float *features = g_new (float, (size_t) B * D);

    g_assert_cmpint (tsl_audio_model_get_head (m), ==, TSL_AUDIO_HEAD_VAT);
    tsl_audio_model_forward_logmel (m, mel, B, F, features, &error);
    g_assert_no_error (error);
    compare_activation (m, be, TSL_AUDIO_STEM, 0, ref, "__stem");
    for (int s = 0; s < TSL_AUDIO_N_STAGES; s++) {
        g_autofree char *name = g_strdup_printf ("__stage%d", s);
        compare_activation (m, be, TSL_AUDIO_STAGE, s, ref, name);
    }
    compare_activation (m, be, TSL_AUDIO_POOLED, 0, ref, "__pooled");
    compare_activation (m, be, TSL_AUDIO_VA, 0, ref, "__va");
    compare_scaled ("vat (from log-mel)", features, (size_t) B * D, ref, "__vat");

    /* the whole path from the waveforms */
    memset (features, 0, (size_t) B * D * sizeof (float));
    tsl_audio_model_forward (m, waves, B, (int) (n_wave / B), features, &error);
    g_assert_no_error (error);
    compare_scaled ("vat (from waveforms)", features, (size_t) B * D, ref, "__vat");
    tsl_audio_model_free (g_steal_pointer (&m));
    tsl_backend_free (be);
}

static void
test_network (void)
{
    g_autofree char *path = fixture_path ();

    check_network (path, path);
}

/* every head gives its own output, of its own size */
static void
test_heads (void)
{
    static const struct {
        TslAudioHead head;
        const char *ref;
        int dim;
    } heads[] = {
        { TSL_AUDIO_HEAD_BACKBONE, "__pooled", 128 },
        { TSL_AUDIO_HEAD_VA, "__va", 24 },
        { TSL_AUDIO_HEAD_VAT, "__vat", 12 },
    };
    g_autofree char *path = fixture_path ();
    g_autoptr (TslSafetensors) ref = open_reference (path);
    TslBackend *be = tsl_test_backend ();
    g_autoptr (TslAudioModel) m = load_model (be, path);
    size_t n_wave;
    g_autofree float *waves = read_reference (ref, "__waveform", &n_wave);

    for (size_t i = 0; i < G_N_ELEMENTS (heads); i++) {
        g_autoptr (GError) error = NULL;
        g_autofree float *features = g_new (float, 2 * heads[i].dim);

        tsl_audio_model_set_head (m, heads[i].head, &error);
        g_assert_no_error (error);
        g_assert_cmpint (tsl_audio_model_output_dim (m), ==, heads[i].dim);
        tsl_audio_model_forward (m, waves, 2, (int) (n_wave / 2), features, &error);
        g_assert_no_error (error);
        compare_scaled (tsl_audio_head_name (heads[i].head), features, 2 * heads[i].dim, ref,
                        heads[i].ref);
        g_assert_nonnull (tsl_audio_model_activation (m, TSL_AUDIO_POOLED, 0));
        g_assert_true ((tsl_audio_model_activation (m, TSL_AUDIO_VAT, 0) != NULL) ==
                       (heads[i].head == TSL_AUDIO_HEAD_VAT));
    }
    /* one window, shorter: the arena sized for two longer ones is reused */
    {
        g_autoptr (GError) error = NULL;
        float features[12];

        tsl_audio_model_forward (m, waves, 1, 1000, features, &error);
        g_assert_no_error (error);
        for (int i = 0; i < 12; i++)
            g_assert_true (isfinite (features[i]));
        tsl_audio_model_forward (m, waves, 1, 0, features, &error);
        g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    }
    tsl_audio_model_free (g_steal_pointer (&m));
    tsl_backend_free (be);
}

/* ---- configuration ---- */

static void
test_config (void)
{
    static const struct {
        const char *json;
        const char *key;  /* named in the error */
    } bad[] = {
        { "{\"widht\": 4}", "widht" },
        { "{\"blocks\": [1, 2, 3]}", "blocks" },
        { "{\"head\": \"video\"}", "head" },
        { "{\"spectrogram\": \"db\"}", "spectrogram" },
        { "{\"frame_step\": 0}", "frame_step" },
        { "[1]", "object" },
    };
    TslAudioConfig cfg;
    g_autoptr (GError) error = NULL;

    tsl_audio_config_init (&cfg);
    g_assert_cmpint (cfg.logmel.sample_rate, ==, 48000);
    g_assert_cmpint (cfg.logmel.frame_length, ==, 2048);
    g_assert_cmpint (cfg.logmel.frame_step, ==, 1024);
    g_assert_cmpint (cfg.logmel.fft_length, ==, 2048);
    g_assert_cmpint (cfg.logmel.num_mel_bins, ==, 80);
    g_assert_cmpint (cfg.width, ==, 64);
    g_assert_cmpint (cfg.blocks[2], ==, 6);
    g_assert_cmpint (tsl_audio_config_head_dim (&cfg, TSL_AUDIO_HEAD_BACKBONE), ==, 2048);
    g_assert_cmpint (tsl_audio_config_head_dim (&cfg, TSL_AUDIO_HEAD_VAT), ==, 256);

    /* fft_length follows a new frame_length when not given */
    g_assert_true (tsl_audio_config_parse (&cfg, "{\"frame_length\": 400}", &error));
    g_assert_cmpint (cfg.logmel.fft_length, ==, 512);

    for (size_t i = 0; i < G_N_ELEMENTS (bad); i++) {
        g_clear_error (&error);
        tsl_audio_config_init (&cfg);
        g_assert_false (tsl_audio_config_parse (&cfg, bad[i].json, &error));
        g_assert_error (error, TSL_ERROR, TSL_ERROR_CONFIG);
        g_test_message ("%s -> %s", bad[i].json, error->message);
        g_assert_nonnull (strstr (error->message, bad[i].key));
    }
}

/* a configuration that does not fit the file's tensors names the tensor */
static void
test_shape_error (void)
{
    g_autofree char *path = fixture_path ();
    g_autoptr (TslSafetensors) st = open_reference (path);
    TslBackend *be = tsl_test_backend ();
    g_autoptr (GError) error = NULL;
    TslAudioConfig cfg;
    TslAudioModel *m;

    tsl_audio_config_init (&cfg);
    g_assert_true (tsl_audio_config_parse (&cfg, tsl_safetensors_get_metadata (st, "tsl.config"),
                                           &error));
    cfg.width = 8;
    m = tsl_audio_model_new (be, st, &cfg, &error);
    g_assert_null (m);
    g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, "resnet.initial_conv.w"));

    g_clear_error (&error);
    cfg.width = 4;
    cfg.blocks[1] = 3;
    m = tsl_audio_model_new (be, st, &cfg, &error);
    g_assert_null (m);
    g_assert_error (error, TSL_ERROR, TSL_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "block_group_1.block_2"));
    tsl_backend_free (be);
}

/* ---- a model file from elsewhere ---- */

static void
test_external (void)
{
    const char *model = g_getenv ("TSL_AUDIO_MODEL");
    const char *reference = g_getenv ("TSL_AUDIO_REFERENCE");

    if (model == NULL) {
        g_test_skip ("TSL_AUDIO_MODEL not set");
        return;
    }
    if (reference != NULL) {
        check_network (model, reference);
    } else {
        TslBackend *be = tsl_test_backend ();
        g_autoptr (TslAudioModel) m = load_model (be, model);
        g_test_message ("%s: head %s, %d-d, %d Hz, window %d samples", model,
                        tsl_audio_head_name (tsl_audio_model_get_head (m)),
                        tsl_audio_model_output_dim (m), tsl_audio_model_sample_rate (m),
                        tsl_audio_model_window_samples (m));
        tsl_audio_model_free (g_steal_pointer (&m));
        tsl_backend_free (be);
    }
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/audio/logmel", test_logmel);
    g_test_add_func ("/audio/network", test_network);
    g_test_add_func ("/audio/heads", test_heads);
    g_test_add_func ("/audio/config", test_config);
    g_test_add_func ("/audio/shape-error", test_shape_error);
    g_test_add_func ("/audio/external", test_external);
    return g_test_run ();
}

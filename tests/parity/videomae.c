/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Parity of libtsl/models/videomae (the VideoMAE V2 ViT forward and the
 * official frame transform) with PyTorch:
 *
 * - fixtures made by tools/make-videomae-fixture.py (shipped in tests/data,
 *   run everywhere): a ViT with q/v biases and mlp_ratio 48/11, a ViT with
 *   layer scale and no qkv bias, and the transform downscaling and
 *   upscaling;
 * - the official implementation's outputs (VM1 and the TAD transform of the
 *   golden folder, TSL_GOLDEN_DIR, default <source>/../shared/golden;
 *   skipped when absent).
 *
 * Every block's hidden state and the features are compared, with batches
 * run whole and split into passes of one clip. Then configuration and
 * loading errors.
 *
 * The backend is TSL_TEST_BACKEND (default "cpu").
 */
#include <math.h>
#include <string.h>

#include "testutil.h"
#include "io/safetensors.h"
#include "models/videomae/model.h"
#include "models/videomae/preprocess.h"

/* float32 on both sides with different summation orders (OpenBLAS GEMMs,
 * a different softmax); hidden values are O(1) and a wrong term (a missing
 * bias, a transposed head) moves them by >= 1e-2. */
#define PARITY_ATOL 1e-4
#define PARITY_RTOL 1e-4
/* the transform is a two-tap blend of values in [0, 1] */
#define TRANSFORM_ATOL 5e-7

static TslSafetensors *
open_data (const char *file)
{
    g_autofree char *path = g_build_filename (g_getenv ("TSL_TEST_DATA"), file, NULL);
    g_autoptr (GError) error = NULL;
    TslSafetensors *st = tsl_safetensors_open (path, &error);

    g_assert_no_error (error);
    return st;
}

/* The golden file, or NULL (test skipped) when the folder is absent. */
static TslSafetensors *
open_golden (const char *file)
{
    const char *env = g_getenv ("TSL_GOLDEN_DIR");
    g_autofree char *path = env != NULL
        ? g_build_filename (env, "videomae", file, NULL)
        : g_build_filename (g_getenv ("TSL_TEST_DATA"), "..", "..", "..", "shared", "golden",
                            "videomae", file, NULL);
    g_autoptr (GError) error = NULL;
    TslSafetensors *st;

    if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
        g_test_skip ("golden data not present");
        return NULL;
    }
    st = tsl_safetensors_open (path, &error);
    g_assert_no_error (error);
    return st;
}

static float *
read_tensor (const TslSafetensors *st, const char *name, size_t *n)
{
    const TslSafetensorsEntry *entry = tsl_safetensors_find (st, name);
    g_autoptr (GError) error = NULL;
    float *values;

    if (entry == NULL)
        g_error ("%s: no tensor %s", tsl_safetensors_path (st), name);
    *n = tsl_safetensors_entry_numel (entry);
    values = g_new (float, *n);
    tsl_safetensors_read_f32 (st, name, values, *n, &error);
    g_assert_no_error (error);
    return values;
}

static void
compare (const char *label, const float *got, size_t n, const TslSafetensors *ref,
         const char *ref_name)
{
    size_t n_ref;
    g_autofree float *want = read_tensor (ref, ref_name, &n_ref);
    double max_diff = 0.0;

    g_assert_cmpuint (n_ref, ==, n);
    for (size_t i = 0; i < n; i++)
        max_diff = MAX (max_diff, fabs ((double) got[i] - want[i]));
    g_test_message ("%-20s max abs diff %.3g", label, max_diff);
    tsl_test_check_close_f (label, got, want, n, PARITY_ATOL, PARITY_RTOL);
}

typedef struct {
    const TslSafetensors *ref;
    int B;
    int calls;
} HiddenCheck;

static void
check_hidden (int block, int first, const float *hidden, int B, int N, int C, gpointer data)
{
    HiddenCheck *check = data;
    g_autofree char *name = g_strdup_printf ("__hidden.%d", block);
    g_autofree char *label = g_strdup_printf ("hidden.%d[%d..%d]", block, first, first + B - 1);
    size_t n;
    g_autofree float *want = read_tensor (check->ref, name, &n);

    g_assert_cmpuint (n, ==, (size_t) check->B * N * C);
    tsl_test_check_close_f (label, hidden, want + (size_t) first * N * C, (size_t) B * N * C,
                            PARITY_ATOL, PARITY_RTOL);
    check->calls++;
}

/* Runs the recorded input through the model with batches of max_batch and
 * compares every hidden state and the features. */
static void
check_model (const TslSafetensors *st, const TslVideoMaeConfig *config, int max_batch)
{
    g_autoptr (TslBackend) be = tsl_test_backend ();
    g_autoptr (GError) error = NULL;
    g_autoptr (TslVideoMae) m = config != NULL
        ? tsl_videomae_new_with_config (be, st, config, max_batch, &error)
        : tsl_videomae_new (be, st, max_batch, &error);
    const TslSafetensorsEntry *input = tsl_safetensors_find (st, "__input");
    size_t n;
    g_autofree float *clips = read_tensor (st, "__input", &n);
    HiddenCheck check = { st, 0, 0 };

    g_assert_no_error (error);
    g_assert_nonnull (input);
    check.B = (int) input->shape[0];
    const int C = tsl_videomae_get_config (m)->embed_dim;
    g_autofree float *features = g_new (float, (size_t) check.B * C);
    g_assert_true (tsl_videomae_forward (m, features, clips, check.B, check_hidden, &check,
                                         &error));
    g_assert_no_error (error);
    g_assert_cmpint (check.calls, ==, tsl_videomae_get_config (m)->depth *
                     ((check.B + max_batch - 1) / max_batch));
    compare ("features", features, (size_t) check.B * C, st, "__features");

    /* the same without the hidden-state hook */
    memset (features, 0, (size_t) check.B * C * sizeof (float));
    g_assert_true (tsl_videomae_forward (m, features, clips, check.B, NULL, NULL, &error));
    compare ("features (no hook)", features, (size_t) check.B * C, st, "__features");
}

static void
test_fixture (gconstpointer data)
{
    g_autoptr (TslSafetensors) st = open_data (data);

    check_model (st, NULL, 8);
    check_model (st, NULL, 1);
}

static void
test_golden_vm1 (void)
{
    g_autoptr (TslSafetensors) st = open_golden ("vm1.safetensors");
    TslVideoMaeConfig config;
    g_autoptr (GError) error = NULL;

    if (st == NULL)
        return;
    g_assert_true (tsl_videomae_config_parse (&config, tsl_safetensors_get_metadata (st, "config"),
                                              -1, &error));
    g_assert_no_error (error);
    g_assert_cmpint (config.embed_dim, ==, 48);
    g_assert_cmpint (config.num_classes, ==, 10);
    check_model (st, &config, 2);
    check_model (st, &config, 1);
}

/* ---- the frame transform ---- */

/* clip [3, T, S, S] of frames [T, H, W, 3] through tsl_videomae_resize_frame */
static float *
transform (const TslSafetensors *st, const char *frames_name, int S, int *T_out)
{
    const TslSafetensorsEntry *frames = tsl_safetensors_find (st, frames_name);
    const TslPixelLayout rgb = { 3, { 0, 1, 2 } };
    TslResizeAxis rows, cols;
    float *clip;

    g_assert_nonnull (frames);
    g_assert_cmpint (frames->dtype, ==, TSL_DTYPE_U8);
    const int T = (int) frames->shape[0], H = (int) frames->shape[1], W = (int) frames->shape[2];
    const uint8_t *pixels = frames->data;
    tsl_resize_axis_init (&rows, H, S);
    tsl_resize_axis_init (&cols, W, S);
    clip = g_new (float, (size_t) 3 * T * S * S);
    for (int t = 0; t < T; t++)
        tsl_videomae_resize_frame (clip + (size_t) t * S * S, (size_t) T * S * S,
                                   pixels + (size_t) t * H * W * 3, (size_t) W * 3, &rgb, &rows,
                                   &cols);
    tsl_resize_axis_clear (&rows);
    tsl_resize_axis_clear (&cols);
    *T_out = T;
    return clip;
}

static void
check_transform (const TslSafetensors *st, const char *frames_name, const char *clip_name)
{
    const TslSafetensorsEntry *want = tsl_safetensors_find (st, clip_name);
    int T;

    g_assert_nonnull (want);
    const int S = (int) want->shape[3];
    g_autofree float *clip = transform (st, frames_name, S, &T);
    size_t n;
    g_autofree float *ref = read_tensor (st, clip_name, &n);
    g_assert_cmpuint (n, ==, (size_t) 3 * T * S * S);
    tsl_test_check_close_f (clip_name, clip, ref, n, TRANSFORM_ATOL, 0.0);
}

static void
test_transform_fixture (void)
{
    g_autoptr (TslSafetensors) st = open_data ("videomae-preprocess.safetensors");

    check_transform (st, "down.frames", "down.clip");
    check_transform (st, "up.frames", "up.clip");
}

static void
test_transform_golden (void)
{
    g_autoptr (TslSafetensors) st = open_golden ("tad_preprocess.safetensors");

    if (st != NULL)
        check_transform (st, "frames", "clip");
}

/* A 1 x 1 source gives its value everywhere, and an identity resize
 * returns the frame divided by 255 exactly; BGRx-style layouts pick the
 * right bytes. */
static void
test_transform_layouts (void)
{
    const uint8_t bgrx[2 * 2 * 4] = { 10, 20, 30, 0, 40, 50, 60, 0, 70, 80, 90, 0, 100, 110, 120,
                                      0 };
    const TslPixelLayout layout = { 4, { 2, 1, 0 } };
    TslResizeAxis same;
    float out[3 * 4];

    tsl_resize_axis_init (&same, 2, 2);
    tsl_videomae_resize_frame (out, 4, bgrx, 8, &layout, &same, &same);
    for (int c = 0; c < 3; c++)
        for (int p = 0; p < 4; p++)
            g_assert_cmpfloat (out[c * 4 + p], ==, bgrx[p * 4 + 2 - c] / 255.0f);
    tsl_resize_axis_clear (&same);
}

/* ---- errors ---- */

static void
expect_config_error (const char *json, const char *fragment)
{
    TslVideoMaeConfig config;
    g_autoptr (GError) error = NULL;

    g_assert_false (tsl_videomae_config_parse (&config, json, -1, &error));
    g_assert_nonnull (error);
    g_test_message ("%s -> %s", json, error->message);
    g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_config (void)
{
    TslVideoMaeConfig config;
    g_autoptr (GError) error = NULL;

    g_assert_true (tsl_videomae_config_parse (&config, "{\"config\": {\"embed_dim\": 1408, "
                                              "\"depth\": 40, \"num_heads\": 16, \"patch_size\":"
                                              " 14, \"mlp_ratio\": 4.363636363636363}}", -1,
                                              &error));
    g_assert_no_error (error);
    g_assert_cmpint (tsl_videomae_config_mlp_hidden (&config), ==, 6144);
    g_assert_cmpint (tsl_videomae_config_num_tokens (&config), ==, 2048);
    g_assert_cmpint (tsl_videomae_config_patch_len (&config), ==, 3 * 2 * 14 * 14);
    g_assert_cmpfloat (config.layernorm_eps, ==, 1e-6);

    expect_config_error ("{\"embed_dim\": 48, \"num_heads\": 5}", "num_heads 5 does not divide");
    expect_config_error ("{\"img_size\": 30}", "img_size 30 is not a multiple");
    expect_config_error ("{\"depth\": \"two\"}", "config.depth: expected");
    expect_config_error ("{\"use_mean_pooling\": false}", "use_mean_pooling");
    expect_config_error ("[1, 2]", "not an object");
    expect_config_error ("{\"depth\": 2", "VideoMAE config");
}

static void
test_load_errors (void)
{
    g_autoptr (TslBackend) be = tsl_test_backend ();
    g_autoptr (TslSafetensors) st = open_data ("videomae-fixture.safetensors");
    g_autoptr (TslSafetensors) ls = open_data ("videomae-fixture-ls.safetensors");
    TslVideoMaeConfig config;
    g_autoptr (GError) error = NULL;
    g_autoptr (GError) error2 = NULL;
    g_autoptr (GError) error3 = NULL;
    TslVideoMae *m;

    /* one block more than the file has */
    g_assert_true (tsl_videomae_config_parse (&config, tsl_safetensors_get_metadata (st,
                                              "tsl.config"), -1, &error));
    config.depth = 3;
    m = tsl_videomae_new_with_config (be, st, &config, 1, &error);
    g_assert_null (m);
    g_assert_error (error, TSL_ERROR, TSL_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "blocks.2.norm1.weight"));

    /* a different embedding size: the first tensor's shape is wrong */
    config.depth = 2;
    config.embed_dim = 48;
    config.num_heads = 4;
    m = tsl_videomae_new_with_config (be, st, &config, 1, &error2);
    g_assert_null (m);
    g_assert_error (error2, TSL_ERROR, TSL_ERROR_SHAPE);
    g_assert_nonnull (strstr (error2->message, "patch_embed.proj.weight"));

    /* q/v biases present while the configuration says there are none */
    g_assert_true (tsl_videomae_config_parse (&config, tsl_safetensors_get_metadata (st,
                                              "tsl.config"), -1, NULL));
    config.qkv_bias = FALSE;
    m = tsl_videomae_new_with_config (be, st, &config, 1, &error3);
    g_assert_null (m);
    g_assert_nonnull (strstr (error3->message, "blocks.0.attn.q_bias"));

    /* layer-scale gammas the configuration does not have */
    g_clear_error (&error);
    g_assert_true (tsl_videomae_config_parse (&config, tsl_safetensors_get_metadata (ls,
                                              "tsl.config"), -1, NULL));
    config.init_values = 0.0;
    m = tsl_videomae_new_with_config (be, ls, &config, 1, &error);
    g_assert_null (m);
    g_assert_nonnull (strstr (error->message, "gamma_1"));
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_data_func ("/videomae/fixture", "videomae-fixture.safetensors", test_fixture);
    g_test_add_data_func ("/videomae/fixture-layer-scale", "videomae-fixture-ls.safetensors",
                          test_fixture);
    g_test_add_func ("/videomae/golden-vm1", test_golden_vm1);
    g_test_add_func ("/videomae/transform/fixture", test_transform_fixture);
    g_test_add_func ("/videomae/transform/golden", test_transform_golden);
    g_test_add_func ("/videomae/transform/layouts", test_transform_layouts);
    g_test_add_func ("/videomae/config", test_config);
    g_test_add_func ("/videomae/load-errors", test_load_errors);
    return g_test_run ();
}

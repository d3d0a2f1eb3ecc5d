/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Parity of libtsl/models/actionformer (eval forward and configuration)
 * with PyTorch:
 *
 * - fixtures made by tools/make-actionformer-fixture.py (shipped in
 *   tests/data, run everywhere): a local-attention model and a model with
 *   global attention, scale factor 4, absolute position embedding and no
 *   LayerNorms, two videos each (one padded, one not or beyond max_seq_len);
 * - the official implementation's outputs (case AF1 of the golden folder,
 *   TSL_GOLDEN_DIR, default <source>/../shared/golden; skipped when absent).
 *
 * Every recorded tensor is compared at every position, padded ones
 * included (the official code lets padded values reach valid positions),
 * and the maximum absolute difference is printed per tensor. Then the
 * configuration parser (defaults, both layouts, bad values naming their
 * key), unsupported models, shape errors and arena reuse.
 *
 * The backend is TSL_TEST_BACKEND (default "cpu").
 */
#include <math.h>
#include <string.h>

#include "testutil.h"
#include "io/safetensors.h"
#include "models/actionformer/model.h"

#define FIXTURE_VERSION "1"
#define FIXTURE_SCRIPT "tools/make-actionformer-fixture.py"

/* float32 on both sides with different summation orders; the official
 * float32-vs-float64 spread on AF1 is 7e-6, so 1e-4 leaves a wide margin
 * while catching any wrong term (a missing bias or mask is >= 1e-2). */
#define PARITY_ATOL 1e-4

static TslSafetensors *
open_fixture (const char *file)
{
    g_autofree char *path = g_build_filename (g_getenv ("TSL_TEST_DATA"), file, NULL);
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
golden_dir (void)
{
    const char *env = g_getenv ("TSL_GOLDEN_DIR");

    if (env != NULL)
        return g_build_filename (env, "actionformer", NULL);
    /* <source>/tests/data -> <source>/../shared/golden */
    return g_build_filename (g_getenv ("TSL_TEST_DATA"), "..", "..", "..", "shared", "golden",
                             "actionformer", NULL);
}

/* Compares n floats with reference tensor `ref_name` (any dtype, n
 * elements); prints the maximum absolute difference. */
static void
compare (const char *label, const float *got, size_t n, const TslSafetensors *ref,
         const char *ref_name)
{
    const TslSafetensorsEntry *entry = tsl_safetensors_find (ref, ref_name);
    g_autoptr (GError) error = NULL;
    g_autofree float *want = NULL;
    double max_diff = 0.0;

    if (entry == NULL)
        g_error ("%s: no reference tensor %s", tsl_safetensors_path (ref), ref_name);
    g_assert_cmpuint (tsl_safetensors_entry_numel (entry), ==, n);
    want = g_new (float, n);
    tsl_safetensors_read_f32 (ref, ref_name, want, n, &error);
    g_assert_no_error (error);
    for (size_t i = 0; i < n; i++)
        max_diff = MAX (max_diff, fabs ((double) got[i] - want[i]));
    g_test_message ("%-28s max abs diff %.3g", label, max_diff);
    tsl_test_check_close_f (label, got, want, n, PARITY_ATOL, 0.0);
}

/* Downloads a device activation and compares it (shape included). */
static void
compare_activation (TslActionFormer *m, TslBackend *be, TslActionFormerActivation which,
                    int index, const TslSafetensors *ref, const char *ref_name)
{
    const TslTensor *t = tsl_actionformer_activation (m, which, index);
    const TslSafetensorsEntry *entry = tsl_safetensors_find (ref, ref_name);
    size_t n;

    g_assert_nonnull (t);
    g_assert_nonnull (entry);
    g_assert_cmpint (t->ndim, ==, entry->ndim);
    for (int d = 0; d < t->ndim; d++)
        g_assert_cmpint (t->shape[d], ==, entry->shape[d]);
    n = tsl_tensor_numel (t);
    g_autofree float *got = g_new (float, n);
    tsl_backend_download (be, got, t->data, n * sizeof (float));
    compare (ref_name, got, n, ref, ref_name);
}

/* Runs the video whose tensors are `prefix`feats, `prefix`embd_out, ...
 * in ref and compares every recorded tensor and the host outputs. */
static void
check_video (TslActionFormer *m, TslBackend *be, const TslSafetensors *ref, const char *prefix)
{
    const TslActionFormerConfig *cfg = tsl_actionformer_get_config (m);
    g_autofree char *feats_name = g_strconcat (prefix, "feats", NULL);
    const TslSafetensorsEntry *feats = tsl_safetensors_find (ref, feats_name);
    TslActionFormerOutput out;
    g_autoptr (GError) error = NULL;

    g_assert_nonnull (feats);
    g_assert_cmpint (feats->ndim, ==, 2);
    g_assert_cmpint (feats->shape[0], ==, cfg->input_dim);
    const int T = (int) feats->shape[1];
    g_autofree float *x = g_new (float, (size_t) cfg->input_dim * T);
    tsl_safetensors_read_f32 (ref, feats_name, x, (size_t) cfg->input_dim * T, &error);
    g_assert_no_error (error);

    tsl_actionformer_forward (m, x, T, &out, &error);
    g_assert_no_error (error);
    g_assert_cmpint (out.valid_len, ==, T);
    g_assert_cmpint (out.n_levels, ==, cfg->n_levels);

    g_autofree char *embd = g_strconcat (prefix, "embd_out", NULL);
    g_autofree char *stem0 = g_strconcat (prefix, "stem0_out", NULL);
    compare_activation (m, be, TSL_ACTIONFORMER_EMBD_OUT, 0, ref, embd);
    g_assert_cmpint (out.padded_len, ==, tsl_safetensors_find (ref, embd)->shape[1]);
    if (cfg->n_stem_blocks > 0)
        compare_activation (m, be, TSL_ACTIONFORMER_STEM_OUT, 0, ref, stem0);
    for (int level = 0; level < out.n_levels; level++) {
        const size_t T_L = out.level_len[level];
        g_autofree char *mask = g_strdup_printf ("%smask.%d", prefix, level);
        g_autofree char *backbone = g_strdup_printf ("%sbackbone_feats.%d", prefix, level);
        g_autofree char *fpn = g_strdup_printf ("%sfpn_feats.%d", prefix, level);
        g_autofree char *cls = g_strdup_printf ("%scls_logits.%d", prefix, level);
        g_autofree char *reg = g_strdup_printf ("%sreg_offsets.%d", prefix, level);
        g_autofree char *host_label = g_strdup_printf ("output cls/reg/fpn/mask %d", level);

        compare_activation (m, be, TSL_ACTIONFORMER_MASK, level, ref, mask);
        compare_activation (m, be, TSL_ACTIONFORMER_BACKBONE_FEATS, level, ref, backbone);
        compare_activation (m, be, TSL_ACTIONFORMER_FPN_FEATS, level, ref, fpn);
        compare_activation (m, be, TSL_ACTIONFORMER_CLS_LOGITS, level, ref, cls);
        compare_activation (m, be, TSL_ACTIONFORMER_REG_OFFSETS, level, ref, reg);
        /* the host copies of the output struct */
        g_test_message ("%s:", host_label);
        compare (cls, out.cls_logits[level], cfg->num_classes * T_L, ref, cls);
        compare (reg, out.reg_offsets[level], 2 * T_L, ref, reg);
        compare (fpn, out.fpn_feats[level], cfg->fpn_dim * T_L, ref, fpn);
        compare (mask, out.mask[level], T_L, ref, mask);
    }
}

/* ---- the shipped fixtures ---- */

typedef struct {
    const char *file;
    int video;
} FixtureCase;

static const FixtureCase fixture_cases[] = {
    { "actionformer-fixture.safetensors", 0 },        /* T = 50, padded to 64 */
    { "actionformer-fixture.safetensors", 1 },        /* T = 64 = max_seq_len */
    { "actionformer-fixture-global.safetensors", 0 }, /* T = 11, padded to 16 */
    { "actionformer-fixture-global.safetensors", 1 }, /* T = 23 > 16, padded to 32 */
};

static void
test_fixture (gconstpointer data)
{
    const FixtureCase *c = data;
    g_autoptr (TslSafetensors) st = open_fixture (c->file);
    TslBackend *be = tsl_test_backend ();
    g_autoptr (GError) error = NULL;
    g_autoptr (TslActionFormer) m = tsl_actionformer_new (be, st, &error);
    g_autofree char *prefix = g_strdup_printf ("video%d.", c->video);

    g_assert_no_error (error);
    check_video (m, be, st, prefix);
    g_clear_pointer (&m, tsl_actionformer_free);
    tsl_backend_free (be);
}

/* ---- the official outputs (AF1) ---- */

static void
test_golden (gconstpointer data)
{
    const int video = GPOINTER_TO_INT (data);
    g_autofree char *dir = golden_dir ();
    g_autofree char *config_path = g_build_filename (dir, "af1_config.json", NULL);
    g_autofree char *params_path = g_build_filename (dir, "af1_params.safetensors", NULL);
    g_autofree char *video_name = g_strdup_printf ("af1_video%d.safetensors", video);
    g_autofree char *video_path = g_build_filename (dir, video_name, NULL);
    g_autoptr (GError) error = NULL;
    g_autofree char *json = NULL;
    TslActionFormerConfig config;

    if (!g_file_test (config_path, G_FILE_TEST_EXISTS)) {
        g_test_skip ("ActionFormer golden data absent (set TSL_GOLDEN_DIR)");
        return;
    }
    g_file_get_contents (config_path, &json, NULL, &error);
    g_assert_no_error (error);
    tsl_actionformer_config_parse (&config, json, -1, &error);
    g_assert_no_error (error);

    g_autoptr (TslSafetensors) params = tsl_safetensors_open (params_path, &error);
    g_assert_no_error (error);
    g_autoptr (TslSafetensors) ref = tsl_safetensors_open (video_path, &error);
    g_assert_no_error (error);
    TslBackend *be = tsl_test_backend ();
    g_autoptr (TslActionFormer) m = tsl_actionformer_new_with_config (be, params, &config, &error);
    g_assert_no_error (error);
    check_video (m, be, ref, "");
    g_clear_pointer (&m, tsl_actionformer_free);
    tsl_backend_free (be);
}

/* ---- configuration ---- */

static void
test_config_defaults (void)
{
    TslActionFormerConfig cfg;
    g_autoptr (GError) error = NULL;

    tsl_actionformer_config_parse (&cfg, "{}", -1, &error);
    g_assert_no_error (error);
    g_assert_cmpint (cfg.input_dim, ==, 2304);
    g_assert_cmpint (cfg.num_classes, ==, 97);
    g_assert_cmpint (cfg.max_seq_len, ==, 2304);
    g_assert_cmpint (cfg.num_frames, ==, 32);
    g_assert_cmpfloat (cfg.default_fps, ==, 0.0);
    g_assert_cmpint (cfg.n_embd_convs, ==, 2);
    g_assert_cmpint (cfg.n_stem_blocks, ==, 2);
    g_assert_cmpint (cfg.n_levels, ==, 6);
    g_assert_cmpint (cfg.mha_win_size[5], ==, -1);
    g_assert_cmpint (cfg.embd_dim, ==, 512);
    g_assert_cmpfloat (cfg.regression_range[1][0], ==, 4.0);
    g_assert_cmpfloat (cfg.regression_range[5][1], ==, 10000.0);
    g_assert_cmpint (cfg.head_num_layers, ==, 3);
    g_assert_cmpfloat (cfg.max_buffer_len_factor, ==, 6.0);
    g_assert_cmpfloat (cfg.droppath, ==, 0.1);
    g_assert_cmpfloat (cfg.decode.min_score, ==, 0.01);
    g_assert_cmpint (cfg.decode.max_seg_num, ==, 1000);
    g_assert_cmpfloat (cfg.decode.sigma, ==, 0.5);
    g_assert_cmpint (cfg.decode.nms_method, ==, TSL_NMS_SOFT);
    g_assert_true (cfg.decode.multiclass);
    g_assert_cmpint (tsl_actionformer_config_max_div_factor (&cfg), ==, 32);
}

/* The AF1 padding rule: window 9 on 6 levels gives a div factor of 256. */
static void
test_config_padding (void)
{
    const char *json = "{\"dataset\": {\"max_seq_len\": 256, \"input_dim\": 40},"
                       " \"model\": {\"n_mha_win_size\": 9, \"embd_dim\": 32, \"fpn_dim\": 32,"
                       " \"regression_range\": [[0, 4], [2, 8], [4, 16], [8, 32], [16, 64],"
                       " [32, 10000]]}}";
    TslActionFormerConfig cfg;
    g_autoptr (GError) error = NULL;

    tsl_actionformer_config_parse (&cfg, json, -1, &error);
    g_assert_no_error (error);
    g_assert_cmpint (tsl_actionformer_config_max_div_factor (&cfg), ==, 256);
    g_assert_cmpint (tsl_actionformer_config_padded_len (&cfg, 1), ==, 256);
    g_assert_cmpint (tsl_actionformer_config_padded_len (&cfg, 200), ==, 256);
    g_assert_cmpint (tsl_actionformer_config_padded_len (&cfg, 256), ==, 256);
    g_assert_cmpint (tsl_actionformer_config_padded_len (&cfg, 257), ==, 512);
    g_assert_cmpint (tsl_actionformer_config_padded_len (&cfg, 300), ==, 512);
    g_assert_cmpfloat (cfg.regression_range[1][0], ==, 2.0);
}

/* Values the official _update_config copies win over the model's own:
 * dataset.* over model.*, the top-level test_cfg / train_cfg over the
 * model's; the model's are used when the top-level ones are absent. */
static void
test_config_precedence (void)
{
    const char *both = "{\"dataset\": {\"input_dim\": 40, \"num_classes\": 5},"
                       " \"model\": {\"input_dim\": 12, \"num_classes\": 3, \"max_seq_len\": 128,"
                       " \"test_cfg\": {\"min_score\": 0.5}, \"train_cfg\": {\"droppath\": 0.5}},"
                       " \"test_cfg\": {\"min_score\": 0.25}, \"train_cfg\": {\"droppath\": 0}}";
    const char *model_only = "{\"model\": {\"test_cfg\": {\"min_score\": 0.5},"
                             " \"train_cfg\": {\"droppath\": 0.5}}}";
    TslActionFormerConfig cfg;
    g_autoptr (GError) error = NULL;

    tsl_actionformer_config_parse (&cfg, both, -1, &error);
    g_assert_no_error (error);
    g_assert_cmpint (cfg.input_dim, ==, 40);
    g_assert_cmpint (cfg.num_classes, ==, 5);
    g_assert_cmpint (cfg.max_seq_len, ==, 128);
    g_assert_cmpfloat (cfg.decode.min_score, ==, 0.25);
    g_assert_cmpfloat (cfg.droppath, ==, 0.0);
    tsl_actionformer_config_parse (&cfg, model_only, -1, &error);
    g_assert_no_error (error);
    g_assert_cmpfloat (cfg.decode.min_score, ==, 0.5);
    g_assert_cmpfloat (cfg.droppath, ==, 0.5);
}

/* The fixture's bare dict and the same dict wrapped in {"config": ...}
 * parse to the same values. */
static void
test_config_layouts (void)
{
    g_autoptr (TslSafetensors) st = open_fixture ("actionformer-fixture-global.safetensors");
    const char *bare = tsl_safetensors_get_metadata (st, "tsl.config");
    g_autofree char *wrapped = g_strdup_printf ("{\"case\": \"x\", \"config\": %s}", bare);
    TslActionFormerConfig a, b;
    g_autoptr (GError) error = NULL;

    tsl_actionformer_config_parse (&a, bare, -1, &error);
    g_assert_no_error (error);
    tsl_actionformer_config_parse (&b, wrapped, -1, &error);
    g_assert_no_error (error);
    g_assert_true (memcmp (&a, &b, sizeof a) == 0);
    g_assert_cmpint (a.mha_win_size[0], ==, -1);
    g_assert_cmpint (a.mha_win_size[1], ==, 3);
    g_assert_cmpint (a.scale_factor, ==, 4);
    g_assert_cmpint (a.head_dim, ==, 12);
    g_assert_false (a.embd_with_ln);
    g_assert_true (a.use_abs_pe);
    g_assert_cmpfloat (a.default_fps, ==, 25.0);
    g_assert_cmpfloat (a.droppath, ==, 0.0);
    g_assert_cmpfloat (a.decode.min_score, ==, 0.001);
}

typedef struct {
    const char *json;
    int code;          /* TslError */
    const char *names; /* in the message */
} BadConfig;

static const BadConfig bad_configs[] = {
    { "{\"model\": {\"n_head\": \"four\"}}", TSL_ERROR_CONFIG, "model.n_head" },
    { "{\"model\": {\"n_head\": 5}}", TSL_ERROR_CONFIG, "model.n_head" },
    { "{\"model\": {\"embd_dim\": 0}}", TSL_ERROR_CONFIG, "model.embd_dim" },
    { "{\"model\": {\"backbone_arch\": [2, 2]}}", TSL_ERROR_CONFIG, "model.backbone_arch" },
    { "{\"model\": {\"n_mha_win_size\": [9, 9]}}", TSL_ERROR_CONFIG, "model.n_mha_win_size" },
    { "{\"model\": {\"regression_range\": [[0, 4]]}}", TSL_ERROR_CONFIG,
      "model.regression_range" },
    { "{\"model\": {\"use_abs_pe\": 1}}", TSL_ERROR_CONFIG, "model.use_abs_pe" },
    { "{\"model\": {\"fpn_dim\": 256}}", TSL_ERROR_CONFIG, "model.fpn_dim" },
    { "{\"model\": {\"head_kernel_size\": 4}}", TSL_ERROR_CONFIG, "model.head_kernel_size" },
    { "{\"model\": {\"backbone_type\": \"lstm\"}}", TSL_ERROR_CONFIG, "model.backbone_type" },
    { "{\"model\": {\"scale_factor\": 3}}", TSL_ERROR_CONFIG, "model.scale_factor" },
    { "{\"model\": {\"max_buffer_len_factor\": 0.1}}", TSL_ERROR_CONFIG,
      "model.max_buffer_len_factor" },
    { "{\"dataset\": {\"max_seq_len\": 100}}", TSL_ERROR_CONFIG, "dataset.max_seq_len" },
    { "{\"dataset\": {\"default_fps\": -1}}", TSL_ERROR_CONFIG, "dataset.default_fps" },
    { "{\"test_cfg\": {\"nms_method\": \"fast\"}}", TSL_ERROR_CONFIG, "test_cfg.nms_method" },
    { "{\"model\": {\"test_cfg\": {\"min_score\": 2}}}", TSL_ERROR_CONFIG,
      "model.test_cfg.min_score" },
    { "{\"train_cfg\": {\"droppath\": true}}", TSL_ERROR_CONFIG, "train_cfg.droppath" },
    { "{\"model\": 3}", TSL_ERROR_CONFIG, "config.model" },
    { "[1, 2]", TSL_ERROR_CONFIG, "not an object" },
    { "{\"model\": {", TSL_ERROR_FORMAT, "" },
};

static void
test_config_bad (gconstpointer data)
{
    const BadConfig *c = data;
    TslActionFormerConfig cfg;
    g_autoptr (GError) error = NULL;

    g_assert_false (tsl_actionformer_config_parse (&cfg, c->json, -1, &error));
    g_assert_error (error, TSL_ERROR, c->code);
    g_test_message ("%s -> %s", c->json, error->message);
    g_assert_nonnull (strstr (error->message, c->names));
}

/* ---- loading errors ---- */

/* Loads the local fixture with its config changed by `edit`. */
static TslActionFormer *
load_edited (TslBackend *be, const TslSafetensors *st,
             void (*edit) (TslActionFormerConfig *cfg), GError **error)
{
    TslActionFormerConfig cfg;

    g_assert_true (tsl_actionformer_config_parse (
        &cfg, tsl_safetensors_get_metadata (st, "tsl.config"), -1, NULL));
    edit (&cfg);
    return tsl_actionformer_new_with_config (be, st, &cfg, error);
}

static void edit_rel_pe (TslActionFormerConfig *cfg) { cfg->use_rel_pe = TRUE; }
static void edit_fpn (TslActionFormerConfig *cfg) { cfg->fpn_type = TSL_ACTIONFORMER_NECK_FPN; }
static void edit_conv (TslActionFormerConfig *cfg)
{
    cfg->backbone_type = TSL_ACTIONFORMER_BACKBONE_CONV;
}
static void edit_classes (TslActionFormerConfig *cfg) { cfg->num_classes = 4; }
static void edit_droppath (TslActionFormerConfig *cfg) { cfg->droppath = 0.0; }
static void edit_embd_ln (TslActionFormerConfig *cfg) { cfg->embd_with_ln = FALSE; }
static void edit_head_ln (TslActionFormerConfig *cfg) { cfg->head_with_ln = FALSE; }

static void
test_load_errors (void)
{
    static const struct {
        void (*edit) (TslActionFormerConfig *cfg);
        int code;
        const char *names;
    } cases[] = {
        { edit_rel_pe, TSL_ERROR_UNSUPPORTED, "use_rel_pe" },
        { edit_fpn, TSL_ERROR_UNSUPPORTED, "fpn_type" },
        { edit_conv, TSL_ERROR_UNSUPPORTED, "backbone_type" },
        { edit_classes, TSL_ERROR_SHAPE, "cls_head.cls_head.conv.weight" },
        { edit_droppath, TSL_ERROR_FORMAT, "backbone.stem.0.drop_path_attn.scale" },
        { edit_embd_ln, TSL_ERROR_FORMAT, "backbone.embd.0.conv.bias" },
        { edit_head_ln, TSL_ERROR_FORMAT, "cls_head.head.0.conv.bias" },
    };
    g_autoptr (TslSafetensors) st = open_fixture ("actionformer-fixture.safetensors");
    TslBackend *be = tsl_test_backend ();

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autoptr (GError) error = NULL;
        TslActionFormer *m = load_edited (be, st, cases[i].edit, &error);
        g_assert_null (m);
        g_assert_error (error, TSL_ERROR, cases[i].code);
        g_test_message ("%s", error->message);
        g_assert_nonnull (strstr (error->message, cases[i].names));
    }
    /* shape errors name both shapes */
    {
        g_autoptr (GError) error = NULL;
        g_assert_null (load_edited (be, st, edit_classes, &error));
        g_assert_nonnull (strstr (error->message, "[4, 16, 3]"));
        g_assert_nonnull (strstr (error->message, "[3, 16, 3]"));
    }
    tsl_backend_free (be);
}

/* ---- forward: bad lengths, arena growth and reuse ---- */

static void
test_forward_reuse (void)
{
    g_autoptr (TslSafetensors) st = open_fixture ("actionformer-fixture.safetensors");
    TslBackend *be = tsl_test_backend ();
    g_autoptr (GError) error = NULL;
    g_autoptr (TslActionFormer) m = tsl_actionformer_new (be, st, &error);
    const TslActionFormerConfig *cfg;
    TslActionFormerOutput out;
    TslTestRng rng;

    g_assert_no_error (error);
    cfg = tsl_actionformer_get_config (m);

    /* lengths outside [1, max_seq_len x max_buffer_len_factor] */
    g_autofree float *x = g_new (float, (size_t) cfg->input_dim * 400);
    g_assert_false (tsl_actionformer_forward (m, x, 0, &out, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    g_clear_error (&error);
    g_assert_false (tsl_actionformer_forward (m, x, 385, &out, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    g_clear_error (&error);

    /* a long input grows the arena (T = 100 pads to 128 with the div factor
     * 32); the fixture videos must give the same results afterwards */
    tsl_test_rng_init (&rng, 5);
    tsl_test_fill_normal (&rng, x, (size_t) cfg->input_dim * 400, 1.0f);
    tsl_actionformer_forward (m, x, 100, &out, &error);
    g_assert_no_error (error);
    g_assert_cmpint (out.padded_len, ==, 128);
    g_assert_cmpint (out.level_len[3], ==, 16);
    g_assert_cmpfloat (out.mask[3][12], ==, 1.0f);
    g_assert_cmpfloat (out.mask[3][13], ==, 0.0f);
    for (int t = 0; t < 128; t++)
        g_assert_true (isfinite (out.cls_logits[0][t]));
    check_video (m, be, st, "video0.");
    tsl_actionformer_forward (m, x, 384, &out, &error);
    g_assert_no_error (error);
    g_assert_cmpint (out.padded_len, ==, 384);
    check_video (m, be, st, "video1.");
    g_clear_pointer (&m, tsl_actionformer_free);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS (fixture_cases); i++) {
        const FixtureCase *c = &fixture_cases[i];
        g_autofree char *base = g_strndup (c->file, strlen (c->file) - strlen (".safetensors"));
        g_autofree char *path = g_strdup_printf ("/parity/actionformer/%s/video%d", base,
                                                 c->video);
        g_test_add_data_func (path, c, test_fixture);
    }
    for (int video = 0; video < 3; video++) {
        g_autofree char *path = g_strdup_printf ("/parity/actionformer/af1/video%d", video);
        g_test_add_data_func (path, GINT_TO_POINTER (video), test_golden);
    }
    g_test_add_func ("/parity/actionformer/config/defaults", test_config_defaults);
    g_test_add_func ("/parity/actionformer/config/padding", test_config_padding);
    g_test_add_func ("/parity/actionformer/config/precedence", test_config_precedence);
    g_test_add_func ("/parity/actionformer/config/layouts", test_config_layouts);
    for (guint i = 0; i < G_N_ELEMENTS (bad_configs); i++) {
        g_autofree char *path = g_strdup_printf ("/parity/actionformer/config/bad/%u", i);
        g_test_add_data_func (path, &bad_configs[i], test_config_bad);
    }
    g_test_add_func ("/parity/actionformer/load/errors", test_load_errors);
    g_test_add_func ("/parity/actionformer/forward/reuse", test_forward_reuse);
    return g_test_run ();
}

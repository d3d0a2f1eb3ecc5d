/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * config.c: the ActionFormer configuration, its official defaults
 * (happyharrycn/actionformer_release 61ea7eb9, libs/core/config.py) and a
 * json-glib parser of the resolved config dict. The typed readers of
 * config-fields.c leave a default in place when its key is absent and name
 * "section.key" when a value has the wrong type or range. After reading, the
 * checks the official constructors assert (divisibility of max_seq_len,
 * odd kernels, heads dividing the embedding, list lengths) run once.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "../../error.h"
#include "../../io/json-check.h"
#include "../config-fields.h"

#define CONFIG_MAX_DEPTH 64
#define CONFIG_MAX_DIM (1 << 16)
#define CONFIG_MAX_LEN (1 << 24)
#define CONFIG_MAX_KERNEL 255

void
tsl_actionformer_config_init (TslActionFormerConfig *cfg)
{
    static const double default_ranges[6][2] = {
        { 0, 4 }, { 4, 8 }, { 8, 16 }, { 16, 32 }, { 32, 64 }, { 64, 10000 },
    };

    memset (cfg, 0, sizeof *cfg);
    cfg->input_dim = 2304;
    cfg->num_classes = 97;
    cfg->max_seq_len = 2304;
    cfg->feat_stride = 16;
    cfg->num_frames = 32;
    cfg->default_fps = 0.0;

    cfg->backbone_type = TSL_ACTIONFORMER_BACKBONE_CONV_TRANSFORMER;
    cfg->fpn_type = TSL_ACTIONFORMER_NECK_IDENTITY;
    cfg->n_embd_convs = 2;
    cfg->n_stem_blocks = 2;
    cfg->n_branch_blocks = 5;
    cfg->n_levels = 6;
    cfg->scale_factor = 2;
    cfg->n_fpn_levels = 6;
    memcpy (cfg->regression_range, default_ranges, sizeof default_ranges);
    cfg->n_head = 4;
    for (int level = 0; level < TSL_ACTIONFORMER_MAX_LEVELS; level++)
        cfg->mha_win_size[level] = -1;
    cfg->embd_kernel_size = 3;
    cfg->embd_dim = 512;
    cfg->embd_with_ln = TRUE;
    cfg->fpn_dim = 512;
    cfg->fpn_with_ln = TRUE;
    cfg->fpn_start_level = 0;
    cfg->head_dim = 512;
    cfg->head_kernel_size = 3;
    cfg->head_num_layers = 3;
    cfg->head_with_ln = TRUE;
    cfg->max_buffer_len_factor = 6.0;
    cfg->use_abs_pe = FALSE;
    cfg->use_rel_pe = FALSE;
    cfg->droppath = 0.1;

    tsl_decode_config_init (&cfg->decode);  /* the official test_cfg defaults */
}

/* ---- sections ---- */

static gboolean
read_dataset (TslActionFormerConfig *cfg, const TslCfgSection *dataset,
              const TslCfgSection *model, GError **error)
{
    /* model.* first: the dataset copies overwrite them, as _update_config does */
    for (int pass = 0; pass < 2; pass++) {
        const TslCfgSection *s = pass == 0 ? model : dataset;
        if (!tsl_cfg_int (s, "input_dim", 1, CONFIG_MAX_DIM, &cfg->input_dim, error) ||
            !tsl_cfg_int (s, "num_classes", 1, CONFIG_MAX_DIM, &cfg->num_classes, error) ||
            !tsl_cfg_int (s, "max_seq_len", 1, CONFIG_MAX_LEN, &cfg->max_seq_len, error))
            return FALSE;
    }
    return tsl_cfg_int (dataset, "feat_stride", 1, CONFIG_MAX_LEN, &cfg->feat_stride, error) &&
           tsl_cfg_int (dataset, "num_frames", 1, CONFIG_MAX_LEN, &cfg->num_frames, error) &&
           tsl_cfg_double (dataset, "default_fps", 1e-6, 1e6, TRUE, 0.0, &cfg->default_fps,
                           error);
}

static gboolean
read_arch (TslActionFormerConfig *cfg, const TslCfgSection *model, GError **error)
{
    JsonNode *node = tsl_cfg_member (model, "backbone_arch");
    const char *expected = "a list of 3 non-negative integers (embedding convolutions, stem "
                           "blocks, branch blocks)";
    int arch[3];

    if (node == NULL)
        return TRUE;
    JsonArray *array = tsl_cfg_array (model, "backbone_arch", node, 3, expected, error);
    if (array == NULL)
        return FALSE;
    for (int i = 0; i < 3; i++) {
        int max = i == 2 ? TSL_ACTIONFORMER_MAX_LEVELS - 1 : 1024;
        if (!tsl_cfg_node_int (json_array_get_element (array, i), 0, max, &arch[i]))
            return tsl_cfg_bad_value (model, "backbone_arch", node, expected, error);
    }
    cfg->n_embd_convs = arch[0];
    cfg->n_stem_blocks = arch[1];
    cfg->n_branch_blocks = arch[2];
    cfg->n_levels = arch[2] + 1;
    return TRUE;
}

/* An int (every level) or a list with one window per level. */
static gboolean
read_windows (TslActionFormerConfig *cfg, const TslCfgSection *model, GError **error)
{
    JsonNode *node = tsl_cfg_member (model, "n_mha_win_size");
    const int limit = CONFIG_MAX_LEN;
    int window;

    if (node == NULL)
        return TRUE;
    if (tsl_cfg_node_int (node, -limit, limit, &window)) {
        for (int level = 0; level < TSL_ACTIONFORMER_MAX_LEVELS; level++)
            cfg->mha_win_size[level] = window;
        return TRUE;
    }
    g_autofree char *expected =
        g_strdup_printf ("an integer or a list of %d integers (one per level; <= 1: global)",
                         cfg->n_levels);
    JsonArray *array =
        tsl_cfg_array (model, "n_mha_win_size", node, cfg->n_levels, expected, error);
    if (array == NULL)
        return FALSE;
    for (int level = 0; level < cfg->n_levels; level++) {
        JsonNode *element = json_array_get_element (array, level);
        if (!tsl_cfg_node_int (element, -limit, limit, &cfg->mha_win_size[level]))
            return tsl_cfg_bad_value (model, "n_mha_win_size", node, expected, error);
    }
    return TRUE;
}

/* One [min, max] pair per FPN level; *given FALSE when absent. */
static gboolean
read_ranges (TslActionFormerConfig *cfg, const TslCfgSection *model, gboolean *given,
             GError **error)
{
    JsonNode *node = tsl_cfg_member (model, "regression_range");

    *given = node != NULL;
    if (node == NULL)
        return TRUE;
    g_autofree char *expected =
        g_strdup_printf ("a list of %d [min, max] pairs (one per FPN level)", cfg->n_fpn_levels);
    JsonArray *array =
        tsl_cfg_array (model, "regression_range", node, cfg->n_fpn_levels, expected, error);
    if (array == NULL)
        return FALSE;
    for (int level = 0; level < cfg->n_fpn_levels; level++) {
        JsonNode *pair = json_array_get_element (array, level);
        JsonArray *bounds = JSON_NODE_HOLDS_ARRAY (pair) ? json_node_get_array (pair) : NULL;
        double *range = cfg->regression_range[level];
        if (bounds == NULL || json_array_get_length (bounds) != 2 ||
            !tsl_cfg_node_number (json_array_get_element (bounds, 0), &range[0]) ||
            !tsl_cfg_node_number (json_array_get_element (bounds, 1), &range[1]))
            return tsl_cfg_bad_value (model, "regression_range", node, expected, error);
    }
    return TRUE;
}

static gboolean
read_model (TslActionFormerConfig *cfg, const TslCfgSection *model, GError **error)
{
    static const char *const backbones[] = { "convTransformer", "conv" };
    static const char *const necks[] = { "identity", "fpn" };
    int backbone = cfg->backbone_type, neck = cfg->fpn_type;
    gboolean ranges_given;

    if (!tsl_cfg_choice (model, "backbone_type", backbones, G_N_ELEMENTS (backbones), &backbone,
                         error) ||
        !tsl_cfg_choice (model, "fpn_type", necks, G_N_ELEMENTS (necks), &neck, error) ||
        !read_arch (cfg, model, error) ||
        !tsl_cfg_int (model, "fpn_start_level", 0, TSL_ACTIONFORMER_MAX_LEVELS - 1,
                      &cfg->fpn_start_level, error))
        return FALSE;
    cfg->backbone_type = backbone;
    cfg->fpn_type = neck;
    if (cfg->fpn_start_level >= cfg->n_levels) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "model.fpn_start_level: %d is not below the %d backbone levels",
                     cfg->fpn_start_level, cfg->n_levels);
        return FALSE;
    }
    cfg->n_fpn_levels = cfg->n_levels - cfg->fpn_start_level;
    if (!read_windows (cfg, model, error) || !read_ranges (cfg, model, &ranges_given, error))
        return FALSE;
    if (!ranges_given && cfg->n_fpn_levels != 6) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "model.regression_range: the default has 6 levels, the model has %d; "
                     "give one [min, max] pair per level", cfg->n_fpn_levels);
        return FALSE;
    }

    return tsl_cfg_int (model, "scale_factor", 1, 64, &cfg->scale_factor, error) &&
           tsl_cfg_int (model, "n_head", 1, CONFIG_MAX_DIM, &cfg->n_head, error) &&
           tsl_cfg_int (model, "embd_kernel_size", 1, CONFIG_MAX_KERNEL,
                        &cfg->embd_kernel_size, error) &&
           tsl_cfg_int (model, "embd_dim", 1, CONFIG_MAX_DIM, &cfg->embd_dim, error) &&
           tsl_cfg_bool (model, "embd_with_ln", &cfg->embd_with_ln, error) &&
           tsl_cfg_int (model, "fpn_dim", 1, CONFIG_MAX_DIM, &cfg->fpn_dim, error) &&
           tsl_cfg_bool (model, "fpn_with_ln", &cfg->fpn_with_ln, error) &&
           tsl_cfg_int (model, "head_dim", 1, CONFIG_MAX_DIM, &cfg->head_dim, error) &&
           tsl_cfg_int (model, "head_kernel_size", 1, CONFIG_MAX_KERNEL,
                        &cfg->head_kernel_size, error) &&
           tsl_cfg_int (model, "head_num_layers", 1, 1024, &cfg->head_num_layers, error) &&
           tsl_cfg_bool (model, "head_with_ln", &cfg->head_with_ln, error) &&
           tsl_cfg_double (model, "max_buffer_len_factor", 1e-6, 1e6, FALSE, 0.0,
                           &cfg->max_buffer_len_factor, error) &&
           tsl_cfg_bool (model, "use_abs_pe", &cfg->use_abs_pe, error) &&
           tsl_cfg_bool (model, "use_rel_pe", &cfg->use_rel_pe, error);
}

static gboolean
read_test_cfg (TslActionFormerConfig *cfg, const TslCfgSection *test, GError **error)
{
    /* the official nms_method names, in TslNmsMethod terms */
    static const char *const methods[] = { "soft", "hard", "none" };
    static const TslNmsMethod method_values[] = { TSL_NMS_SOFT, TSL_NMS_HARD, TSL_NMS_NONE };
    TslDecodeConfig *d = &cfg->decode;
    int method = 0;

    while (method < (int) G_N_ELEMENTS (methods) - 1 && method_values[method] != d->nms_method)
        method++;
    if (!tsl_cfg_double (test, "pre_nms_thresh", 0.0, 1.0, FALSE, 0.0, &d->pre_nms_thresh,
                         error) ||
        !tsl_cfg_int (test, "pre_nms_topk", 0, G_MAXINT, &d->pre_nms_topk, error) ||
        !tsl_cfg_double (test, "iou_threshold", 0.0, 1.0, FALSE, 0.0, &d->iou_threshold,
                         error) ||
        !tsl_cfg_double (test, "min_score", 0.0, 1.0, FALSE, 0.0, &d->min_score, error) ||
        !tsl_cfg_int (test, "max_seg_num", 0, G_MAXINT, &d->max_seg_num, error) ||
        !tsl_cfg_choice (test, "nms_method", methods, G_N_ELEMENTS (methods), &method, error) ||
        !tsl_cfg_double (test, "nms_sigma", 1e-12, 1e12, FALSE, 0.0, &d->sigma, error) ||
        !tsl_cfg_double (test, "duration_thresh", 0.0, 1e12, FALSE, 0.0, &d->duration_thresh,
                         error) ||
        !tsl_cfg_bool (test, "multiclass_nms", &d->multiclass, error) ||
        !tsl_cfg_double (test, "voting_thresh", 0.0, 1.0, FALSE, 0.0, &d->voting_thresh,
                         error))
        return FALSE;
    d->nms_method = method_values[method];
    return TRUE;
}

/* ---- what the official constructors assert ---- */

static gboolean
config_fail (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
config_fail (GError **error, const char *format, ...)
{
    va_list args;

    va_start (args, format);
    g_propagate_error (error, g_error_new_valist (TSL_ERROR, TSL_ERROR_CONFIG, format, args));
    va_end (args);
    return FALSE;
}

static gboolean
check_model (const TslActionFormerConfig *cfg, GError **error)
{
    int coarsest = tsl_actionformer_config_level_stride (cfg, cfg->n_levels - 1);

    if (cfg->embd_dim % cfg->n_head != 0)
        return config_fail (error, "model.n_head: %d heads do not divide embd_dim %d",
                            cfg->n_head, cfg->embd_dim);
    if (cfg->n_embd_convs > 0 && cfg->embd_kernel_size % 2 == 0)
        return config_fail (error, "model.embd_kernel_size: %d is not odd",
                            cfg->embd_kernel_size);
    if (cfg->head_kernel_size % 2 == 0)
        return config_fail (error, "model.head_kernel_size: %d is not odd",
                            cfg->head_kernel_size);
    if (cfg->n_branch_blocks > 0 && cfg->scale_factor > 1 && cfg->scale_factor % 2 != 0)
        return config_fail (error, "model.scale_factor: %d is neither 1 nor even",
                            cfg->scale_factor);
    if (cfg->n_embd_convs == 0 && cfg->input_dim != cfg->embd_dim)
        return config_fail (error, "model.embd_dim: without embedding convolutions the input "
                            "dimension %d must equal embd_dim %d", cfg->input_dim, cfg->embd_dim);
    if (cfg->fpn_type == TSL_ACTIONFORMER_NECK_IDENTITY && cfg->fpn_dim != cfg->embd_dim)
        return config_fail (error, "model.fpn_dim: the identity neck needs fpn_dim (%d) == "
                            "embd_dim (%d)", cfg->fpn_dim, cfg->embd_dim);
    if (coarsest > CONFIG_MAX_LEN)
        return config_fail (error, "model.scale_factor: %d^%d levels exceeds %d", cfg->scale_factor,
                            cfg->n_levels - 1, CONFIG_MAX_LEN);
    /* the official loop zips the FPN strides (from fpn_start_level) with the windows */
    for (int i = 0; i < cfg->n_fpn_levels; i++) {
        gint64 stride = tsl_actionformer_config_level_stride (cfg, cfg->fpn_start_level + i);
        int window = cfg->mha_win_size[i];
        gint64 factor = window > 1 ? stride * (window / 2) * 2 : stride;
        if (factor > CONFIG_MAX_LEN || cfg->max_seq_len % factor != 0)
            return config_fail (error,
                                "dataset.max_seq_len: %d is not a multiple of %" G_GINT64_FORMAT
                                " (level %d: stride x (window // 2) x 2, or the stride for "
                                "global attention)", cfg->max_seq_len, factor, i);
    }
    if (fmod ((double) cfg->max_seq_len * cfg->max_buffer_len_factor, coarsest) != 0.0)
        return config_fail (error, "model.max_buffer_len_factor: max_seq_len x %g = %g is not a "
                            "multiple of the coarsest stride %d", cfg->max_buffer_len_factor,
                            (double) cfg->max_seq_len * cfg->max_buffer_len_factor, coarsest);
    return TRUE;
}

/* ---- parsing ---- */

gboolean
tsl_actionformer_config_parse (TslActionFormerConfig *cfg, const char *json, gssize len,
                               GError **error)
{
    g_autoptr (JsonParser) parser = NULL;
    JsonObject *root;
    gboolean ok;

    tsl_actionformer_config_init (cfg);
    root = tsl_cfg_parse_root (json, len, CONFIG_MAX_DEPTH, "ActionFormer config", &parser,
                               error);
    if (root == NULL)
        return FALSE;

    TslCfgSection dataset = tsl_cfg_section (root, "config", "dataset", error, &ok);
    if (!ok)
        return FALSE;
    TslCfgSection model = tsl_cfg_section (root, "config", "model", error, &ok);
    if (!ok)
        return FALSE;
    TslCfgSection train = tsl_cfg_section (root, "config", "train_cfg", error, &ok);
    if (ok && train.obj == NULL) {
        train = tsl_cfg_section (model.obj, "model", "train_cfg", error, &ok);
        train.name = "model.train_cfg";
    }
    if (!ok)
        return FALSE;
    TslCfgSection test = tsl_cfg_section (root, "config", "test_cfg", error, &ok);
    if (ok && test.obj == NULL) {
        test = tsl_cfg_section (model.obj, "model", "test_cfg", error, &ok);
        test.name = "model.test_cfg";
    }
    if (!ok)
        return FALSE;

    return read_dataset (cfg, &dataset, &model, error) && read_model (cfg, &model, error) &&
           tsl_cfg_double (&train, "droppath", 0.0, 0.999999, FALSE, 0.0, &cfg->droppath, error) &&
           read_test_cfg (cfg, &test, error) && check_model (cfg, error);
}

/* ---- derived sizes ---- */

int
tsl_actionformer_config_level_stride (const TslActionFormerConfig *cfg, int level)
{
    gint64 stride = 1;

    for (int i = 0; i < level && stride <= CONFIG_MAX_LEN; i++)
        stride *= cfg->scale_factor;
    return (int) MIN (stride, (gint64) CONFIG_MAX_LEN + 1);
}

int
tsl_actionformer_config_max_div_factor (const TslActionFormerConfig *cfg)
{
    gint64 factor = 1;

    for (int i = 0; i < cfg->n_fpn_levels; i++) {
        gint64 stride = tsl_actionformer_config_level_stride (cfg, cfg->fpn_start_level + i);
        int window = cfg->mha_win_size[i];
        factor = MAX (factor, window > 1 ? stride * (window / 2) * 2 : stride);
    }
    return (int) MIN (factor, (gint64) G_MAXINT);
}

int
tsl_actionformer_config_padded_len (const TslActionFormerConfig *cfg, int T)
{
    gint64 div = tsl_actionformer_config_max_div_factor (cfg);

    if (T <= cfg->max_seq_len)
        return cfg->max_seq_len;
    return (int) MIN ((T + div - 1) / div * div, (gint64) G_MAXINT);
}

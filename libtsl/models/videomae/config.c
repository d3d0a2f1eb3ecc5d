/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * videomae/config.c: reading and checking a VideoMAE V2 ViT configuration
 * (see config.h). The defaults are VisionTransformer's own constructor
 * defaults except embed_dim/depth/num_heads/mlp_ratio/qkv_bias/eps, which
 * take vit_base_patch16_224's values, the variant the official scripts
 * build when nothing else is said.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "../../error.h"
#include "../config-fields.h"

#define CONFIG_MAX_DEPTH 16

void
tsl_videomae_config_init (TslVideoMaeConfig *cfg)
{
    *cfg = (TslVideoMaeConfig) {
        .patch_size = 16,
        .tubelet_size = 2,
        .img_size = 224,
        .all_frames = 16,
        .in_chans = 3,
        .embed_dim = 768,
        .depth = 12,
        .num_heads = 12,
        .mlp_ratio = 4.0,
        .qkv_bias = TRUE,
        .init_values = 0.0,
        .use_mean_pooling = TRUE,
        .layernorm_eps = 1e-6,
        .num_classes = 0,
    };
}

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
check_config (const TslVideoMaeConfig *cfg, GError **error)
{
    if (cfg->img_size % cfg->patch_size != 0)
        return config_fail (error, "VideoMAE config: img_size %d is not a multiple of "
                            "patch_size %d", cfg->img_size, cfg->patch_size);
    if (cfg->all_frames % cfg->tubelet_size != 0)
        return config_fail (error, "VideoMAE config: all_frames %d is not a multiple of "
                            "tubelet_size %d", cfg->all_frames, cfg->tubelet_size);
    if (cfg->embed_dim % cfg->num_heads != 0)
        return config_fail (error, "VideoMAE config: num_heads %d does not divide embed_dim %d",
                            cfg->num_heads, cfg->embed_dim);
    if (tsl_videomae_config_mlp_hidden (cfg) < 1)
        return config_fail (error, "VideoMAE config: mlp_ratio %g gives no MLP hidden units",
                            cfg->mlp_ratio);
    if (!cfg->use_mean_pooling)
        return config_fail (error, "VideoMAE config: use_mean_pooling false (features from the "
                            "first token after the final norm) is not supported; every "
                            "VideoMAE V2 feature extractor pools by the mean");
    if ((gint64) tsl_videomae_config_num_tokens (cfg) * cfg->embed_dim > G_MAXINT / 4)
        return config_fail (error, "VideoMAE config: %d tokens of %d channels is too large",
                            tsl_videomae_config_num_tokens (cfg), cfg->embed_dim);
    return TRUE;
}

gboolean
tsl_videomae_config_parse (TslVideoMaeConfig *cfg, const char *json, gssize len, GError **error)
{
    g_autoptr (JsonParser) parser = NULL;
    JsonObject *root;

    tsl_videomae_config_init (cfg);
    root = tsl_cfg_parse_root (json, len, CONFIG_MAX_DEPTH, "VideoMAE config", &parser, error);
    if (root == NULL)
        return FALSE;

    const TslCfgSection s = { root, "config" };
    const int big = 1 << 16;
    return tsl_cfg_int (&s, "patch_size", 1, 1024, &cfg->patch_size, error) &&
           tsl_cfg_int (&s, "tubelet_size", 1, 64, &cfg->tubelet_size, error) &&
           tsl_cfg_int (&s, "img_size", 1, 8192, &cfg->img_size, error) &&
           tsl_cfg_int (&s, "all_frames", 1, 1024, &cfg->all_frames, error) &&
           tsl_cfg_int (&s, "in_chans", 3, 3, &cfg->in_chans, error) &&
           tsl_cfg_int (&s, "embed_dim", 1, big, &cfg->embed_dim, error) &&
           tsl_cfg_int (&s, "depth", 1, 1024, &cfg->depth, error) &&
           tsl_cfg_int (&s, "num_heads", 1, big, &cfg->num_heads, error) &&
           tsl_cfg_double (&s, "mlp_ratio", 0.0, 1024.0, FALSE, 0.0, &cfg->mlp_ratio, error) &&
           tsl_cfg_bool (&s, "qkv_bias", &cfg->qkv_bias, error) &&
           tsl_cfg_double (&s, "init_values", 0.0, 1e6, TRUE, 0.0, &cfg->init_values, error) &&
           tsl_cfg_bool (&s, "use_mean_pooling", &cfg->use_mean_pooling, error) &&
           tsl_cfg_double (&s, "layernorm_eps", 0.0, 1.0, FALSE, 0.0, &cfg->layernorm_eps,
                           error) &&
           tsl_cfg_int (&s, "num_classes", 0, 1 << 24, &cfg->num_classes, error) &&
           check_config (cfg, error);
}

int
tsl_videomae_config_num_tokens (const TslVideoMaeConfig *cfg)
{
    const int side = cfg->img_size / cfg->patch_size;

    return cfg->all_frames / cfg->tubelet_size * side * side;
}

int
tsl_videomae_config_mlp_hidden (const TslVideoMaeConfig *cfg)
{
    return (int) (cfg->embed_dim * cfg->mlp_ratio);
}

int
tsl_videomae_config_patch_len (const TslVideoMaeConfig *cfg)
{
    return cfg->in_chans * cfg->tubelet_size * cfg->patch_size * cfg->patch_size;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * model.c: creating an ActionFormer from a safetensors file: the
 * configuration (from the `tsl.config` metadata or the caller), the checks
 * of what this library supports, and the parameters under the official
 * state_dict names of happyharrycn/actionformer_release (61ea7eb9), each
 * shape-checked and uploaded to the backend once. A bias or AffineDropPath
 * scale the configured model does not have is an error, as PyTorch's
 * strict load_state_dict would report it. The forward is in forward.c.
 */
#include <math.h>

#include "actionformer-private.h"

/* ---- loading ---- */

const float *
tsl_actionformer_load_tensor (TslActionFormer *m, const TslSafetensors *st, const char *name,
                              int ndim, const int *shape, GError **error)
{
    TslTensor *t = tsl_safetensors_load (st, name, m->be, ndim, shape, error);

    if (t == NULL)
        return NULL;
    g_ptr_array_add (m->tensors, t);
    return t->data;
}

gboolean
tsl_actionformer_load_norm (TslActionFormer *m, const TslSafetensors *st, const char *prefix,
                            int C, TslAfNorm *norm, GError **error)
{
    const int shape[3] = { 1, C, 1 };
    g_autofree char *weight = g_strconcat (prefix, ".weight", NULL);
    g_autofree char *bias = g_strconcat (prefix, ".bias", NULL);

    norm->weight = tsl_actionformer_load_tensor (m, st, weight, 3, shape, error);
    if (norm->weight == NULL)
        return FALSE;
    norm->bias = tsl_actionformer_load_tensor (m, st, bias, 3, shape, error);
    return norm->bias != NULL;
}

gboolean
tsl_actionformer_load_conv (TslActionFormer *m, const TslSafetensors *st, const char *prefix,
                            int c_out, int c_in_per_group, int k, gboolean with_bias,
                            TslAfConv *conv, GError **error)
{
    const int shape[3] = { c_out, c_in_per_group, k };
    g_autofree char *weight = g_strconcat (prefix, ".weight", NULL);
    g_autofree char *bias = g_strconcat (prefix, ".bias", NULL);

    conv->weight = tsl_actionformer_load_tensor (m, st, weight, 3, shape, error);
    if (conv->weight == NULL)
        return FALSE;
    conv->bias = NULL;
    if (!with_bias) {
        if (tsl_safetensors_find (st, bias) != NULL) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                         "%s: unexpected tensor %s: this convolution is followed by a "
                         "LayerNorm and has no bias in the configured model",
                         tsl_safetensors_path (st), bias);
            return FALSE;
        }
        return TRUE;
    }
    conv->bias = tsl_actionformer_load_tensor (m, st, bias, 1, &c_out, error);
    return conv->bias != NULL;
}

/* The absolute position embedding table [D, n_pos] (backbones.py):
 * sin(pos / 10000^(2 (j / 2) / D)) for even j, cos for odd j, in double as
 * the official numpy table, then float32 and divided by sqrt(D). */
static float *
sinusoid_table_new (int D, int n_pos)
{
    float *table = g_new (float, (size_t) D * n_pos);
    const float norm = sqrtf ((float) D);

    for (int j = 0; j < D; j++) {
        double rate = pow (10000.0, 2.0 * (j / 2) / (double) D);
        float *row = table + (size_t) j * n_pos;
        for (int pos = 0; pos < n_pos; pos++) {
            double angle = pos / rate;
            row[pos] = (float) (j % 2 == 0 ? sin (angle) : cos (angle)) / norm;
        }
    }
    return table;
}

static gboolean
check_supported (const TslActionFormerConfig *cfg, const TslBackend *be, GError **error)
{
    const TslBackendOps *ops = be->ops;
    gboolean any_local = FALSE, any_global = FALSE;
    const char *missing = NULL;

    if (cfg->backbone_type != TSL_ACTIONFORMER_BACKBONE_CONV_TRANSFORMER)
        missing = "model.backbone_type 'conv' (only 'convTransformer' is implemented)";
    else if (cfg->fpn_type != TSL_ACTIONFORMER_NECK_IDENTITY)
        missing = "model.fpn_type 'fpn' (only 'identity' is implemented)";
    else if (cfg->fpn_start_level != 0)
        missing = "model.fpn_start_level other than 0";
    else if (cfg->use_rel_pe)
        missing = "model.use_rel_pe (the local attention op takes no score bias)";
    if (missing != NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_UNSUPPORTED, "ActionFormer: %s", missing);
        return FALSE;
    }
    for (int level = 0; level < cfg->n_levels; level++) {
        gboolean used = level == 0 ? cfg->n_stem_blocks > 0 : TRUE;
        any_local |= used && cfg->mha_win_size[level] > 1;
        any_global |= used && cfg->mha_win_size[level] <= 1;
    }
    if (!ops->conv1d || !ops->layernorm || !ops->relu || !ops->gelu || !ops->add ||
        !ops->add_backward || !ops->channel_scale || !ops->channel_scale_backward)
        missing = "conv1d, layernorm, relu, gelu, add, channel_scale or their accumulating "
                  "backward ops";
    else if (any_local && !ops->local_attention)
        missing = "local_attention";
    else if (any_global && (!ops->gemm || !ops->bias_add || !ops->softmax))
        missing = "gemm, bias_add or softmax";
    else if (cfg->n_branch_blocks > 0 && cfg->scale_factor > 1 && !ops->maxpool1d)
        missing = "maxpool1d";
    if (missing != NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_UNSUPPORTED,
                     "ActionFormer: backend '%s' lacks the op(s) %s", ops->name, missing);
        return FALSE;
    }
    return TRUE;
}

TslActionFormer *
tsl_actionformer_new_with_config (TslBackend *be, const TslSafetensors *st,
                                  const TslActionFormerConfig *config, GError **error)
{
    TslActionFormer *m;

    if (!check_supported (config, be, error))
        return NULL;
    m = g_new0 (TslActionFormer, 1);
    m->be = be;
    m->cfg = *config;
    m->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) tsl_tensor_free);
    m->act.stem_out = g_new0 (TslTensor, MAX (config->n_stem_blocks, 1));
    if (config->use_abs_pe)
        m->pe_table = sinusoid_table_new (config->embd_dim, config->max_seq_len);
    if (!tsl_actionformer_backbone_load (m, st, error) ||
        !tsl_actionformer_heads_load (m, st, error) ||
        !tsl_actionformer_reserve (m, config->max_seq_len, error)) {
        tsl_actionformer_free (m);
        return NULL;
    }
    return m;
}

TslActionFormer *
tsl_actionformer_new (TslBackend *be, const TslSafetensors *st, GError **error)
{
    const char *json = tsl_safetensors_get_metadata (st, "tsl.config");
    TslActionFormerConfig config;
    GError *parse_error = NULL;

    if (json == NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: no 'tsl.config' metadata (the model configuration)",
                     tsl_safetensors_path (st));
        return NULL;
    }
    if (!tsl_actionformer_config_parse (&config, json, -1, &parse_error)) {
        g_propagate_prefixed_error (error, parse_error, "%s: tsl.config: ",
                                    tsl_safetensors_path (st));
        return NULL;
    }
    return tsl_actionformer_new_with_config (be, st, &config, error);
}

static void
params_clear (TslAfParams *p)
{
    g_free (p->embd);
    g_free (p->embd_norm);
    g_free (p->blocks);
    g_free (p->cls_head.conv);
    g_free (p->cls_head.norm);
    g_free (p->reg_head.conv);
    g_free (p->reg_head.norm);
}

void
tsl_actionformer_free (TslActionFormer *m)
{
    if (m == NULL)
        return;
    tsl_arena_clear (&m->arena);
    params_clear (&m->params);
    g_ptr_array_unref (m->tensors);
    g_free (m->act.stem_out);
    g_free (m->pe_table);
    g_free (m->host_input);
    g_free (m->host_pe);
    g_free (m->host_mask);
    g_free (m->host_key_bias);
    g_free (m->host_out);
    g_free (m);
}

const TslActionFormerConfig *
tsl_actionformer_get_config (const TslActionFormer *m)
{
    return &m->cfg;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * heads.c: ActionFormer's identity neck and its two shared heads in eval
 * mode, as happyharrycn/actionformer_release (61ea7eb9)
 * libs/modeling/necks.py (FPNIdentity) and meta_archs.py
 * (PtTransformerClsHead, PtTransformerRegHead):
 *
 *   fpn_L    = LayerNorm_L(backbone_L)                 (identity without fpn_with_ln)
 *   y        = ReLU(LayerNorm(MaskedConv1D(y)))        head_num_layers - 1 times, from fpn_L
 *   logits_L = MaskedConv1D_cls(y_cls)                 [K, T_L], with bias
 *   offset_L = ReLU(scale_L * MaskedConv1D_reg(y_reg)) [2, T_L]
 *
 * The head weights are shared by every level; only the regression Scale
 * is per level. Without head_with_ln the head convolutions carry a bias
 * and no LayerNorm. Channels-first [C, T_L], batch one.
 */
#include "actionformer-private.h"

/* ---- loading ---- */

static gboolean
head_load (TslActionFormer *m, const TslSafetensors *st, const char *name, const char *out_name,
           int n_out, TslAfHead *head, GError **error)
{
    const TslActionFormerConfig *cfg = &m->cfg;
    const int n_convs = cfg->head_num_layers - 1;
    g_autofree char *out_prefix = g_strdup_printf ("%s.%s.conv", name, out_name);

    head->conv = g_new0 (TslAfConv, MAX (n_convs, 1));
    head->norm = cfg->head_with_ln ? g_new0 (TslAfNorm, MAX (n_convs, 1)) : NULL;
    for (int i = 0; i < n_convs; i++) {
        g_autofree char *conv = g_strdup_printf ("%s.head.%d.conv", name, i);
        g_autofree char *norm = g_strdup_printf ("%s.norm.%d", name, i);
        int c_in = i == 0 ? cfg->fpn_dim : cfg->head_dim;
        if (!tsl_actionformer_load_conv (m, st, conv, cfg->head_dim, c_in, cfg->head_kernel_size,
                                         !cfg->head_with_ln, &head->conv[i], error))
            return FALSE;
        if (cfg->head_with_ln &&
            !tsl_actionformer_load_norm (m, st, norm, cfg->head_dim, &head->norm[i], error))
            return FALSE;
    }
    return tsl_actionformer_load_conv (m, st, out_prefix, n_out, cfg->head_dim,
                                       cfg->head_kernel_size, TRUE, &head->out, error);
}

gboolean
tsl_actionformer_heads_load (TslActionFormer *m, const TslSafetensors *st, GError **error)
{
    const TslActionFormerConfig *cfg = &m->cfg;
    TslAfParams *p = &m->params;
    const int scalar[1] = { 1 }; /* Scale is a 0-d tensor: no dimension is read */

    for (int level = 0; level < cfg->n_fpn_levels; level++) {
        g_autofree char *norm = g_strdup_printf ("neck.fpn_norms.%d", level);
        g_autofree char *scale = g_strdup_printf ("reg_head.scale.%d.scale", level);
        if (cfg->fpn_with_ln &&
            !tsl_actionformer_load_norm (m, st, norm, cfg->fpn_dim, &p->fpn_norm[level], error))
            return FALSE;
        p->reg_scale[level] = tsl_actionformer_load_tensor (m, st, scale, 0, scalar, error);
        if (p->reg_scale[level] == NULL)
            return FALSE;
    }
    return head_load (m, st, "cls_head", "cls_head", cfg->num_classes, &p->cls_head, error) &&
           head_load (m, st, "reg_head", "offset_head", 2, &p->reg_head, error);
}

/* ---- forward ---- */

/* The shared trunk of a head on one level; returns the features the final
 * convolution reads ([head_dim, T] in head_tmp, or x itself without layers). */
static const float *
head_trunk (TslActionFormer *m, const TslAfHead *head, const float *x /* [fpn_dim, T] */,
            const float *mask /* [T] or NULL */, int T)
{
    TslBackend *be = m->be;
    const TslActionFormerConfig *cfg = &m->cfg;
    float *const *tmp = m->act.head_tmp;
    const int K = cfg->head_kernel_size;
    const float *cur = x;

    for (int i = 0; i < cfg->head_num_layers - 1; i++) {
        const float *activated = tmp[1];
        be->ops->conv1d (be, tmp[1], cur, head->conv[i].weight, head->conv[i].bias, mask, 1,
                         i == 0 ? cfg->fpn_dim : cfg->head_dim, cfg->head_dim, T, T, K, 1, K / 2,
                         1);
        if (head->norm != NULL) {
            be->ops->layernorm (be, tmp[2], m->act.mean, m->act.rstd, tmp[1], head->norm[i].weight,
                                head->norm[i].bias, 1, cfg->head_dim, T, TSL_ACTIONFORMER_LN_EPS);
            activated = tmp[2];
        }
        be->ops->relu (be, tmp[0], activated, (size_t) cfg->head_dim * T);
        cur = tmp[0];
    }
    return cur;
}

void
tsl_actionformer_heads_forward (TslActionFormer *m)
{
    TslBackend *be = m->be;
    const TslActionFormerConfig *cfg = &m->cfg;
    const TslAfParams *p = &m->params;
    TslAfActivations *act = &m->act;
    const int K = cfg->head_kernel_size;

    for (int level = 0; level < cfg->n_fpn_levels; level++) {
        const int T = act->level_len[level];
        /* NULL when the level has no padding: the masked convolutions skip the product */
        const float *mask = act->all_valid[level] ? NULL : act->mask[level].data;
        const float *fpn = act->fpn_feats[level].data;
        const float *y;
        int c_in;

        /* neck: LayerNorm per level (without it fpn_feats aliases the backbone output) */
        if (cfg->fpn_with_ln)
            be->ops->layernorm (be, act->fpn_feats[level].data, act->mean, act->rstd,
                                act->backbone_feats[level].data, p->fpn_norm[level].weight,
                                p->fpn_norm[level].bias, 1, cfg->fpn_dim, T,
                                TSL_ACTIONFORMER_LN_EPS);

        /* classification: [K, T] logits */
        c_in = cfg->head_num_layers > 1 ? cfg->head_dim : cfg->fpn_dim;
        y = head_trunk (m, &p->cls_head, fpn, mask, T);
        be->ops->conv1d (be, act->cls_logits[level].data, y, p->cls_head.out.weight,
                         p->cls_head.out.bias, mask, 1, c_in, cfg->num_classes, T, T, K, 1, K / 2,
                         1);

        /* regression: ReLU(Scale_L * offsets) */
        y = head_trunk (m, &p->reg_head, fpn, mask, T);
        be->ops->conv1d (be, act->head_tmp[1], y, p->reg_head.out.weight, p->reg_head.out.bias,
                         mask, 1, c_in, 2, T, T, K, 1, K / 2, 1);
        be->ops->channel_scale (be, act->head_tmp[2], act->head_tmp[1], p->reg_scale[level], 1, 1,
                                2 * T);
        be->ops->relu (be, act->reg_offsets[level].data, act->head_tmp[2], (size_t) 2 * T);
    }
}

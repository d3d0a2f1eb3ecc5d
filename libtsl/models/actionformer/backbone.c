/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * backbone.c: ActionFormer's ConvTransformerBackbone in eval mode, as
 * happyharrycn/actionformer_release (61ea7eb9) libs/modeling/backbones.py
 * and blocks.py: embedding convolutions (MaskedConv1D, LayerNorm, ReLU),
 * then transformer blocks at full rate (stem) and downsampling blocks
 * (branch), each
 *
 *   h = ln1(x)
 *   q, k, v = proj(LayerNorm(depthwise MaskedConv1D(h)))   (stride s)
 *   a = proj(attention(q, k, v)) * m                        (m: mask at T / s)
 *   y = maxpool(x) * m + scale_attn * a                     (identity at s = 1)
 *   out = y + scale_mlp * (mlp(ln2(y)) * m)                 (mlp: 1x1, GELU, 1x1)
 *
 * Attention is the op table's banded local attention for windows > 1 and
 * MaskedMHCA's full attention otherwise: scores = scale q^T k (gemm), -inf
 * on padded keys (bias_add of the key bias), softmax, out = (v * m) att^T.
 * Every tensor is channels-first [C, T]; padded positions are computed,
 * not skipped, because the official code lets them reach valid positions.
 * On a level without padding (mask all 1) the mask products are skipped
 * (NULL masks to the convolutions). The two residual sums are built in the
 * block's output with the accumulate rule of channel_scale_backward
 * (out += scale * branch; add_backward without drop path), a pass fewer
 * than scaling and adding separately.
 */
#include <math.h>

#include "actionformer-private.h"

/* ---- loading ---- */

/* The AffineDropPath scale `prefix``suffix` [1, D, 1]: present exactly
 * when training used drop path (train_cfg.droppath > 0). */
static gboolean
drop_path_load (TslActionFormer *m, const TslSafetensors *st, const char *prefix,
                const char *suffix, const float **scale, GError **error)
{
    const int shape[3] = { 1, m->cfg.embd_dim, 1 };
    g_autofree char *name = g_strconcat (prefix, suffix, NULL);

    *scale = NULL;
    if (m->cfg.droppath > 0.0) {
        *scale = tsl_actionformer_load_tensor (m, st, name, 3, shape, error);
        return *scale != NULL;
    }
    if (tsl_safetensors_find (st, name) != NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: unexpected tensor %s: train_cfg.droppath is 0, so the model has no "
                     "AffineDropPath scales", tsl_safetensors_path (st), name);
        return FALSE;
    }
    return TRUE;
}

static gboolean
block_load (TslActionFormer *m, const TslSafetensors *st, const char *prefix, int stride,
            int window, TslAfBlock *b, GError **error)
{
    const int D = m->cfg.embd_dim;
    static const char *const qkv[3] = { "query", "key", "value" };
    TslAfConv *qkv_conv[3] = { &b->query_conv, &b->key_conv, &b->value_conv };
    TslAfNorm *qkv_norm[3] = { &b->query_norm, &b->key_norm, &b->value_norm };
    TslAfConv *qkv_proj[3] = { &b->query, &b->key, &b->value };
    g_autofree char *ln1 = g_strconcat (prefix, ".ln1", NULL);
    g_autofree char *ln2 = g_strconcat (prefix, ".ln2", NULL);
    g_autofree char *proj = g_strconcat (prefix, ".attn.proj", NULL);
    g_autofree char *mlp_in = g_strconcat (prefix, ".mlp.0", NULL);
    g_autofree char *mlp_out = g_strconcat (prefix, ".mlp.3", NULL);

    b->stride = stride;
    b->kernel = stride > 1 ? stride + 1 : 3;
    b->window = window > 1 ? 2 * (window / 2) + 1 : 0;

    if (!tsl_actionformer_load_norm (m, st, ln1, D, &b->ln1, error) ||
        !tsl_actionformer_load_norm (m, st, ln2, D, &b->ln2, error))
        return FALSE;
    for (int i = 0; i < 3; i++) {
        g_autofree char *conv = g_strdup_printf ("%s.attn.%s_conv.conv", prefix, qkv[i]);
        g_autofree char *norm = g_strdup_printf ("%s.attn.%s_norm", prefix, qkv[i]);
        g_autofree char *linear = g_strdup_printf ("%s.attn.%s", prefix, qkv[i]);
        if (!tsl_actionformer_load_conv (m, st, conv, D, 1, b->kernel, FALSE, qkv_conv[i],
                                         error) ||
            !tsl_actionformer_load_norm (m, st, norm, D, qkv_norm[i], error) ||
            !tsl_actionformer_load_conv (m, st, linear, D, D, 1, TRUE, qkv_proj[i], error))
            return FALSE;
    }
    return tsl_actionformer_load_conv (m, st, proj, D, D, 1, TRUE, &b->proj, error) &&
           tsl_actionformer_load_conv (m, st, mlp_in, 4 * D, D, 1, TRUE, &b->mlp_in, error) &&
           tsl_actionformer_load_conv (m, st, mlp_out, D, 4 * D, 1, TRUE, &b->mlp_out, error) &&
           drop_path_load (m, st, prefix, ".drop_path_attn.scale", &b->drop_path_attn, error) &&
           drop_path_load (m, st, prefix, ".drop_path_mlp.scale", &b->drop_path_mlp, error);
}

gboolean
tsl_actionformer_backbone_load (TslActionFormer *m, const TslSafetensors *st, GError **error)
{
    const TslActionFormerConfig *cfg = &m->cfg;
    TslAfParams *p = &m->params;
    const int n_blocks = cfg->n_stem_blocks + cfg->n_branch_blocks;

    p->embd = g_new0 (TslAfConv, MAX (cfg->n_embd_convs, 1));
    p->embd_norm = cfg->embd_with_ln ? g_new0 (TslAfNorm, MAX (cfg->n_embd_convs, 1)) : NULL;
    p->blocks = g_new0 (TslAfBlock, MAX (n_blocks, 1));
    for (int i = 0; i < cfg->n_embd_convs; i++) {
        g_autofree char *conv = g_strdup_printf ("backbone.embd.%d.conv", i);
        g_autofree char *norm = g_strdup_printf ("backbone.embd_norm.%d", i);
        int c_in = i == 0 ? cfg->input_dim : cfg->embd_dim;
        if (!tsl_actionformer_load_conv (m, st, conv, cfg->embd_dim, c_in, cfg->embd_kernel_size,
                                         !cfg->embd_with_ln, &p->embd[i], error))
            return FALSE;
        if (cfg->embd_with_ln &&
            !tsl_actionformer_load_norm (m, st, norm, cfg->embd_dim, &p->embd_norm[i], error))
            return FALSE;
    }
    for (int i = 0; i < n_blocks; i++) {
        gboolean stem = i < cfg->n_stem_blocks;
        int index = stem ? i : i - cfg->n_stem_blocks;
        g_autofree char *prefix =
            g_strdup_printf ("backbone.%s.%d", stem ? "stem" : "branch", index);
        int window = cfg->mha_win_size[stem ? 0 : 1 + index];
        if (!block_load (m, st, prefix, stem ? 1 : cfg->scale_factor, window, &p->blocks[i],
                         error))
            return FALSE;
    }
    return TRUE;
}

/* ---- forward ---- */

static void
layernorm (TslActionFormer *m, float *out /* [C, T] */, const float *x /* [C, T] */,
           const TslAfNorm *norm, int C, int T)
{
    m->be->ops->layernorm (m->be, out, m->act.mean, m->act.rstd, x, norm->weight, norm->bias, 1,
                           C, T, TSL_ACTIONFORMER_LN_EPS);
}

/* out[c, t] = x[c, t] * mask[t]: channel_scale over a [C, T, 1] view */
static void
apply_mask (TslActionFormer *m, float *out /* [C, T] */, const float *x /* [C, T] */,
            const float *mask /* [T] */, int C, int T)
{
    m->be->ops->channel_scale (m->be, out, x, mask, C, T, 1);
}

/* 1x1 convolution with bias; mask may be NULL */
static void
pointwise (TslActionFormer *m, float *out /* [C_out, T] */, const float *x /* [C_in, T] */,
           const TslAfConv *conv, const float *mask /* [T] or NULL */, int c_in, int c_out, int T)
{
    m->be->ops->conv1d (m->be, out, x, conv->weight, conv->bias, mask, 1, c_in, c_out, T, T, 1, 1,
                        0, 1);
}

/* out += scale[c] * y (AffineDropPath), or out += y without drop path:
 * the accumulate rules of channel_scale_backward and add_backward */
static void
residual_add (TslActionFormer *m, float *out /* [C, T] */, const float *y /* [C, T] */,
              const float *scale /* [C] or NULL */, int C, int T)
{
    if (scale != NULL)
        m->be->ops->channel_scale_backward (m->be, out, NULL, y, y, scale, 1, C, T);
    else
        m->be->ops->add_backward (m->be, out, NULL, y, (size_t) C * T);
}

/* MaskedMHCA's full attention over T tokens: padded keys get -inf
 * (key_bias), values are multiplied by the mask. */
static void
global_attention (TslActionFormer *m, float *out /* [D, T] */, float *v_masked /* [D, T] */,
                  const float *q /* [D, T] */, const float *k /* [D, T] */,
                  const float *v /* [D, T] */, const float *mask /* [T] */,
                  const float *key_bias /* [T] */, int T)
{
    TslBackend *be = m->be;
    const int D = m->cfg.embd_dim, H = m->cfg.n_head, Dh = D / H;
    const size_t head = (size_t) Dh * T, square = (size_t) T * T;
    float *scores = m->act.scores;  /* [H, T, T] */
    float *att = m->act.att;        /* [H, T, T] */

    /* pass 1: scores[h, t, s] = scale * sum_d q[h Dh + d, t] k[h Dh + d, s] */
    be->ops->gemm (be, att, q, k, H, T, T, Dh, TRUE, FALSE, 1.0f / sqrtf ((float) Dh), 0.0f, head,
                   head, square);
    /* pass 2: -inf on padded keys ([H T, T, 1] view: bias over the key axis) */
    be->ops->bias_add (be, scores, att, key_bias, H * T, T, 1);
    /* pass 3: softmax over keys */
    be->ops->softmax (be, att, scores, H * T, T);
    /* pass 4: out[h Dh + d, t] = sum_s (v * mask)[h Dh + d, s] att[h, t, s] */
    apply_mask (m, v_masked, v, mask, D, T);
    be->ops->gemm (be, out, v_masked, att, H, Dh, T, T, FALSE, TRUE, 1.0f, 0.0f, head, square,
                   head);
}

/* One TransformerBlock: x [D, T_in] -> out [D, T_out], T_out = T_in / stride.
 * conv_mask is mask, or NULL when every position of the level is valid (the
 * mask multiplications are then skipped). The residual sum is built in
 * out: out = skip * m, out += s_attn * y with the accumulate rule of
 * channel_scale_backward (add_backward without drop path), and the same
 * for the MLP branch. */
static void
block_forward (TslActionFormer *m, const TslAfBlock *b, float *out /* [D, T_out] */,
               const float *x /* [D, T_in] */, const float *mask /* [T_out] */,
               const float *conv_mask /* [T_out] or NULL */, const float *key_bias /* [T_out] */,
               int T_in, int T_out)
{
    TslBackend *be = m->be;
    const TslBackendOps *ops = be->ops;
    const int D = m->cfg.embd_dim, H = m->cfg.n_head;
    const size_t n = (size_t) D * T_out;
    float *const *tmp = m->act.tmp;
    float *h = tmp[0], *q = tmp[1], *k = tmp[2], *v = tmp[3], *a = tmp[4], *y = tmp[5];

    /* pass 1: h = ln1(x); depthwise MaskedConv1D (stride s) + LayerNorm for q, k, v */
    layernorm (m, h, x, &b->ln1, D, T_in);
    ops->conv1d (be, q, h, b->query_conv.weight, NULL, conv_mask, 1, D, D, T_in, T_out,
                 b->kernel, b->stride, b->kernel / 2, D);
    ops->conv1d (be, k, h, b->key_conv.weight, NULL, conv_mask, 1, D, D, T_in, T_out, b->kernel,
                 b->stride, b->kernel / 2, D);
    ops->conv1d (be, v, h, b->value_conv.weight, NULL, conv_mask, 1, D, D, T_in, T_out,
                 b->kernel, b->stride, b->kernel / 2, D);
    layernorm (m, a, q, &b->query_norm, D, T_out);
    layernorm (m, y, k, &b->key_norm, D, T_out);
    layernorm (m, h, v, &b->value_norm, D, T_out);

    /* pass 2: 1x1 projections (no mask, as the official nn.Conv1d) */
    pointwise (m, q, a, &b->query, NULL, D, D, T_out);
    pointwise (m, k, y, &b->key, NULL, D, D, T_out);
    pointwise (m, v, h, &b->value, NULL, D, D, T_out);

    /* pass 3: attention -> a, output projection * mask -> y */
    if (b->window > 0)
        ops->local_attention (be, a, m->act.att, q, k, v, mask, 1, D, T_out, H, b->window,
                              1.0f / sqrtf ((float) (D / H)));
    else
        global_attention (m, a, tmp[6], q, k, v, mask, key_bias, T_out);
    pointwise (m, y, a, &b->proj, conv_mask, D, D, T_out);

    /* pass 4: out = skip (max-pool with -inf ends when downsampling) * mask + scaled attention */
    if (b->stride > 1) {
        ops->maxpool1d (be, out, m->act.argmax, x, 1, D, T_in, T_out, b->stride + 1, b->stride,
                        (b->stride + 1) / 2);
        if (conv_mask != NULL)
            apply_mask (m, out, out, mask, D, T_out);
    } else if (conv_mask != NULL) {
        apply_mask (m, out, x, mask, D, T_out);
    } else {
        ops->copy (be, out, x, n * sizeof (float));
    }
    residual_add (m, out, y, b->drop_path_attn, D, T_out);

    /* pass 5: out += scaled mlp(ln2(out)) * mask */
    layernorm (m, a, out, &b->ln2, D, T_out);
    pointwise (m, m->act.hidden, a, &b->mlp_in, NULL, D, 4 * D, T_out);
    ops->gelu (be, m->act.hidden_act, m->act.hidden, (size_t) 4 * D * T_out);
    pointwise (m, y, m->act.hidden_act, &b->mlp_out, conv_mask, 4 * D, D, T_out);
    residual_add (m, out, y, b->drop_path_mlp, D, T_out);
}

/* Embedding: MaskedConv1D, LayerNorm (or conv bias), ReLU, repeated; then
 * the masked absolute position embedding when configured. */
static void
embedding_forward (TslActionFormer *m)
{
    TslBackend *be = m->be;
    const TslActionFormerConfig *cfg = &m->cfg;
    TslAfActivations *act = &m->act;
    const int D = cfg->embd_dim, Tp = act->padded_len, K = cfg->embd_kernel_size;
    const size_t n = (size_t) D * Tp;
    const float *mask = act->all_valid[0] ? NULL : act->mask[0].data, *cur = act->input.data;

    for (int i = 0; i < cfg->n_embd_convs; i++) {
        gboolean last = i == cfg->n_embd_convs - 1;
        float *dst = last && act->pe == NULL ? act->embd_out.data : act->tmp[i % 2];
        const float *activated = act->tmp[2];
        be->ops->conv1d (be, act->tmp[2], cur, m->params.embd[i].weight, m->params.embd[i].bias,
                         mask, 1, i == 0 ? cfg->input_dim : D, D, Tp, Tp, K, 1, K / 2, 1);
        if (cfg->embd_with_ln) {
            layernorm (m, act->tmp[3], act->tmp[2], &m->params.embd_norm[i], D, Tp);
            activated = act->tmp[3];
        }
        be->ops->relu (be, dst, activated, n);
        cur = dst;
    }
    if (act->pe != NULL)
        be->ops->add (be, act->embd_out.data, cur, act->pe, n);
    else if (cfg->n_embd_convs == 0)
        be->ops->copy (be, act->embd_out.data, cur, n * sizeof (float));
}

void
tsl_actionformer_backbone_forward (TslActionFormer *m)
{
    const TslActionFormerConfig *cfg = &m->cfg;
    TslAfActivations *act = &m->act;
    const float *x = act->embd_out.data;

    embedding_forward (m);
    for (int i = 0; i < cfg->n_stem_blocks; i++) {
        block_forward (m, &m->params.blocks[i], act->stem_out[i].data, x, act->mask[0].data,
                       act->all_valid[0] ? NULL : act->mask[0].data, act->key_bias[0],
                       act->padded_len, act->padded_len);
        x = act->stem_out[i].data;
    }
    for (int i = 0; i < cfg->n_branch_blocks; i++) {
        int level = i + 1;
        block_forward (m, &m->params.blocks[cfg->n_stem_blocks + i],
                       act->backbone_feats[level].data, x, act->mask[level].data,
                       act->all_valid[level] ? NULL : act->mask[level].data,
                       act->key_bias[level], act->level_len[level - 1], act->level_len[level]);
        x = act->backbone_feats[level].data;
    }
}

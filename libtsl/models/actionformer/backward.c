/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * backward.c: ActionFormer's backward pass, from the gradients of the
 * per-level outputs of the last train forward (train.c) to the gradients
 * of every parameter, in reverse order of the forward:
 *
 *   heads (per level): offsets = ReLU(scale_L * conv(trunk)), logits =
 *   conv(trunk), trunk layers ReLU(LN(conv)), neck LN -> d feats_L;
 *   branch blocks from the top level down, each adding its input gradient
 *   into the level below; stem blocks; embedding convolutions.
 *
 * Inside a block: the drop-path branches y = f[b] * s[c] * x give
 * dx = s[c] f[b] dy and ds[c] = sum f[b] dy x (f: the forward's per-video
 * factors, absent when nothing was dropped); global attention
 * (a = (v * m) A^T, A = softmax(scale q^T k - inf at padded keys)) gives
 *   dA = da^T (v * m), dv = da A (0 at padded keys, where A is),
 *   dS = softmax_backward(dA, A),
 *   dq = scale k dS^T, dk = scale q dS   (per video and head, gemm).
 *
 * Every backward op ADDS into its d* buffers, so each scratch buffer is
 * zeroed right before the op that accumulates into it. The mask
 * multiplications of the forward are applied to the gradients by the
 * masked convolutions' backward (they mask dout) and explicitly for the
 * skip path. Parameter gradients are added into the grads' view, which
 * mirrors the model's parameter structs.
 */
#include <math.h>

#include "train-private.h"

static void
zero (TslBackend *be, float *x, size_t n)
{
    be->ops->zero (be, x, sizeof (float) * n);
}

/* dx += LayerNorm backward; parameter gradients into gnorm */
static void
layernorm_backward (TslBackend *be, float *dx /* [B, C, T] */, const TslAfNorm *gnorm,
                    const float *dout /* [B, C, T] */, const float *x /* [B, C, T] */,
                    const TslAfNorm *norm, const TslAfNormSaved *s, int B, int C, int T)
{
    be->ops->layernorm_backward (be, dx, (float *) gnorm->weight, (float *) gnorm->bias, dout, x,
                                 norm->weight, s->mean, s->rstd, B, C, T);
}

/* MaskedMHCA's attention backward: dout [B, D, T] -> dq, dk, dv (added)
 * from the saved att and v * mask. d(v * mask) needs no mask product for
 * dv: att is exactly 0 at padded keys, so the gradient is 0 there. */
static void
global_attention_backward (TslActionFormerTrain *t, const TslAfBlockSaved *s, float *dq,
                           float *dk, float *dv, const float *dout /* [B, D, T] */, int B, int T)
{
    TslBackend *be = t->m->be;
    const TslBackendOps *ops = be->ops;
    const int D = t->m->cfg.embd_dim, H = t->m->cfg.n_head, Dh = D / H;
    const size_t head = (size_t) Dh * T, square = (size_t) T * T;
    const float scale = 1.0f / sqrtf ((float) Dh);
    float *datt = t->scores[0], *dscores = t->scores[1]; /* [B, H, T, T] */

    /* datt[t, s] = sum_d dout[d, t] (v * m)[d, s] */
    ops->gemm (be, datt, dout, s->v_masked, B * H, T, T, Dh, TRUE, FALSE, 1.0f, 0.0f, head, head,
               square);
    /* dv[d, s] = sum_t dout[d, t] att[t, s] */
    ops->gemm (be, dv, dout, s->att, B * H, Dh, T, T, FALSE, FALSE, 1.0f, 1.0f, head, square,
               head);
    zero (be, dscores, (size_t) B * H * square);
    ops->softmax_backward (be, dscores, datt, s->att, B * H * T, T);
    /* dq[d, t] = scale sum_s k[d, s] dscores[t, s]; dk[d, s] = scale sum_t q[d, t] dscores[t, s] */
    ops->gemm (be, dq, s->qkv[1], dscores, B * H, Dh, T, T, FALSE, TRUE, scale, 1.0f, head,
               square, head);
    ops->gemm (be, dk, s->qkv[0], dscores, B * H, Dh, T, T, FALSE, FALSE, scale, 1.0f, head,
               square, head);
}

/* dx += AffineDropPath backward for y = factor[b] * scale[c] * x; dscale
 * too. scratch [B, D, T] holds factor * dy when there are factors. */
static void
drop_path_backward (TslBackend *be, float *dx /* [B, D, T] */, float *dscale /* [D] */,
                    float *scratch /* [B, D, T] */, const float *dy /* [B, D, T] */,
                    const float *x /* [B, D, T] */, const float *scale /* [D] */,
                    const float *factor /* [B] or NULL */, int B, int D, int T)
{
    if (factor != NULL) {
        be->ops->channel_scale (be, scratch, dy, factor, 1, B, D * T);
        dy = scratch;
    }
    be->ops->channel_scale_backward (be, dx, dscale, dy, x, scale, B, D, T);
}

/* One transformer block: dout [B, D, T_out] -> dx += [B, D, T_in]. */
static void
block_backward (TslActionFormerTrain *t, const TslAfBlock *b, const TslAfBlock *g,
                const TslAfBlockSaved *s, float *dx /* [B, D, T_in] */,
                const float *dout /* [B, D, T_out] */, const float *x /* [B, D, T_in] */,
                const float *mask /* [B, T_out] */, int B)
{
    TslBackend *be = t->m->be;
    const TslBackendOps *ops = be->ops;
    const int D = t->m->cfg.embd_dim, H = t->m->cfg.n_head;
    const int T_in = s->T_in, T_out = s->T_out;
    const size_t n = (size_t) B * D * T_out, n_in = (size_t) B * D * T_in;
    const TslAfConv *qkv_conv[3] = { &b->query_conv, &b->key_conv, &b->value_conv };
    const TslAfNorm *qkv_norm[3] = { &b->query_norm, &b->key_norm, &b->value_norm };
    const TslAfConv *qkv_proj[3] = { &b->query, &b->key, &b->value };
    const TslAfConv *gqkv_conv[3] = { &g->query_conv, &g->key_conv, &g->value_conv };
    const TslAfNorm *gqkv_norm[3] = { &g->query_norm, &g->key_norm, &g->value_norm };
    const TslAfConv *gqkv_proj[3] = { &g->query, &g->key, &g->value };
    float *dr = t->dtmp[0], *dbranch = t->dtmp[1], *dh2 = t->dtmp[2], *dh = t->dtmp[3];
    float *dqkv[3] = { t->dtmp[4], t->dtmp[5], t->dtmp[6] }, *dnorm = t->dtmp[7];
    float *dhid_act = t->dhidden[0], *dhid = t->dhidden[1];

    /* out = r + s_mlp * mlp_out: dr = dout; d mlp_out = s_mlp * dout */
    ops->copy (be, dr, dout, sizeof (float) * n);
    zero (be, dbranch, n);
    if (b->drop_path_mlp != NULL)
        drop_path_backward (be, dbranch, (float *) g->drop_path_mlp, dh2, dout, s->mlp_out,
                            b->drop_path_mlp, s->drop_factor[1], B, D, T_out);
    else
        ops->add_backward (be, dbranch, NULL, dout, n);

    /* mlp: (W2 GELU(W1 ln2(r) + b1) + b2) * mask */
    zero (be, dhid_act, 4 * n);
    ops->conv1d_backward (be, dhid_act, (float *) g->mlp_out.weight, (float *) g->mlp_out.bias,
                          dbranch, s->hidden_act, b->mlp_out.weight, mask, B, 4 * D, D, T_out,
                          T_out, 1, 1, 0, 1);
    zero (be, dhid, 4 * n);
    ops->gelu_backward (be, dhid, dhid_act, s->hidden, 4 * n);
    zero (be, dh2, n);
    ops->conv1d_backward (be, dh2, (float *) g->mlp_in.weight, (float *) g->mlp_in.bias, dhid,
                          s->ln2.out, b->mlp_in.weight, NULL, B, D, 4 * D, T_out, T_out, 1, 1,
                          0, 1);
    layernorm_backward (be, dr, &g->ln2, dh2, s->residual, &b->ln2, &s->ln2, B, D, T_out);

    /* r = skip * mask + s_attn * proj_out */
    zero (be, dbranch, n);
    if (b->drop_path_attn != NULL)
        drop_path_backward (be, dbranch, (float *) g->drop_path_attn, dh2, dr, s->proj_out,
                            b->drop_path_attn, s->drop_factor[0], B, D, T_out);
    else
        ops->add_backward (be, dbranch, NULL, dr, n);
    tsl_actionformer_train_apply_mask (be, dr, dr, mask, B, D, T_out);
    if (b->stride > 1)
        ops->maxpool1d_backward (be, dx, dr, s->argmax, B, D, T_in, T_out);
    else
        ops->add_backward (be, dx, NULL, dr, n);

    /* attention and its projections */
    zero (be, dh2, n);
    ops->conv1d_backward (be, dh2, (float *) g->proj.weight, (float *) g->proj.bias, dbranch,
                          s->attn_out, b->proj.weight, mask, B, D, D, T_out, T_out, 1, 1, 0, 1);
    for (int j = 0; j < 3; j++)
        zero (be, dqkv[j], n);
    if (b->window > 0)
        ops->local_attention_backward (be, dqkv[0], dqkv[1], dqkv[2], dh2, s->att, s->qkv[0],
                                       s->qkv[1], s->qkv[2], B, D, T_out, H, b->window,
                                       1.0f / sqrtf ((float) (D / H)));
    else
        global_attention_backward (t, s, dqkv[0], dqkv[1], dqkv[2], dh2, B, T_out);
    zero (be, dh, n_in);
    for (int j = 0; j < 3; j++) {
        zero (be, dnorm, n);
        ops->conv1d_backward (be, dnorm, (float *) gqkv_proj[j]->weight,
                              (float *) gqkv_proj[j]->bias, dqkv[j], s->qkv_norm[j].out,
                              qkv_proj[j]->weight, NULL, B, D, D, T_out, T_out, 1, 1, 0, 1);
        zero (be, dh2, n);
        layernorm_backward (be, dh2, gqkv_norm[j], dnorm, s->qkv_conv[j], qkv_norm[j],
                            &s->qkv_norm[j], B, D, T_out);
        ops->conv1d_backward (be, dh, (float *) gqkv_conv[j]->weight, NULL, dh2, s->ln1.out,
                              qkv_conv[j]->weight, mask, B, D, D, T_in, T_out, b->kernel,
                              b->stride, b->kernel / 2, D);
    }
    layernorm_backward (be, dx, &g->ln1, dh, x, &b->ln1, &s->ln1, B, D, T_in);
}

/* Trunk of one head on one level, from d(its output) in dy (clobbered):
 * dx += gradient of the trunk input [B, fpn_dim, T]. */
static void
trunk_backward (TslActionFormerTrain *t, const TslAfHead *head, const TslAfHead *ghead,
                const TslAfHeadLayerSaved *layers, float *dx, float *dy, const float *x,
                const float *mask, int B, int T)
{
    TslBackend *be = t->m->be;
    const TslActionFormerConfig *cfg = &t->m->cfg;
    const int K = cfg->head_kernel_size, HD = cfg->head_dim;
    const size_t n = (size_t) B * HD * T;
    float *dact = t->dhead[2], *dconv = t->dhead[3];

    for (int i = cfg->head_num_layers - 2; i >= 0; i--) {
        const TslAfHeadLayerSaved *s = &layers[i];
        const float *in = i == 0 ? x : layers[i - 1].act;
        const int c_in = i == 0 ? cfg->fpn_dim : HD;
        float *din = i == 0 ? dx : dy;

        zero (be, dact, n);
        be->ops->relu_backward (be, dact, dy, head->norm != NULL ? s->norm.out : s->conv, n);
        if (head->norm != NULL) {
            zero (be, dconv, n);
            layernorm_backward (be, dconv, &ghead->norm[i], dact, s->conv, &head->norm[i],
                                &s->norm, B, HD, T);
        } else {
            be->ops->copy (be, dconv, dact, sizeof (float) * n);
        }
        if (i > 0)
            zero (be, dy, n);
        be->ops->conv1d_backward (be, din, (float *) ghead->conv[i].weight,
                                  (float *) ghead->conv[i].bias, dconv, in, head->conv[i].weight,
                                  mask, B, c_in, HD, T, T, K, 1, K / 2, 1);
    }
    if (cfg->head_num_layers <= 1)
        be->ops->add_backward (be, dx, NULL, dy, (size_t) B * cfg->fpn_dim * T);
}

/* Heads and neck of one level: dfeats[level] += d feats_L. */
static void
heads_backward (TslActionFormerTrain *t, const TslAfParams *g, const float *dcls,
                const float *dreg, int level, int B)
{
    TslBackend *be = t->m->be;
    const TslActionFormerConfig *cfg = &t->m->cfg;
    const TslAfParams *p = &t->m->params;
    const int T = t->level_len[level], K = cfg->head_kernel_size;
    const int c_in = cfg->head_num_layers > 1 ? cfg->head_dim : cfg->fpn_dim;
    const float *mask = t->mask[level];
    const float *fpn = cfg->fpn_with_ln ? t->fpn[level].out : t->feats[level];
    const float *y_cls = cfg->head_num_layers > 1
                             ? t->trunk[0][level][cfg->head_num_layers - 2].act : fpn;
    const float *y_reg = cfg->head_num_layers > 1
                             ? t->trunk[1][level][cfg->head_num_layers - 2].act : fpn;
    const size_t n_fpn = (size_t) B * cfg->fpn_dim * T, n_y = (size_t) B * c_in * T;
    float *dfpn = t->dhead[0], *dy = t->dhead[1], *dscaled = t->dhead[2], *draw = t->dhead[3];

    zero (be, dfpn, n_fpn);

    /* classification */
    zero (be, dy, n_y);
    be->ops->conv1d_backward (be, dy, (float *) g->cls_head.out.weight,
                              (float *) g->cls_head.out.bias, dcls, y_cls, p->cls_head.out.weight,
                              mask, B, c_in, cfg->num_classes, T, T, K, 1, K / 2, 1);
    trunk_backward (t, &p->cls_head, &g->cls_head, t->trunk[0][level], dfpn, dy, fpn, mask, B, T);

    /* regression: ReLU(scale_L * raw) */
    zero (be, dscaled, (size_t) B * 2 * T);
    be->ops->relu_backward (be, dscaled, dreg, t->reg_scaled[level], (size_t) B * 2 * T);
    zero (be, draw, (size_t) B * 2 * T);
    be->ops->channel_scale_backward (be, draw, (float *) g->reg_scale[level], dscaled,
                                     t->reg_raw[level], p->reg_scale[level], B, 1, 2 * T);
    zero (be, dy, n_y);
    be->ops->conv1d_backward (be, dy, (float *) g->reg_head.out.weight,
                              (float *) g->reg_head.out.bias, draw, y_reg, p->reg_head.out.weight,
                              mask, B, c_in, 2, T, T, K, 1, K / 2, 1);
    trunk_backward (t, &p->reg_head, &g->reg_head, t->trunk[1][level], dfpn, dy, fpn, mask, B, T);

    /* neck */
    if (cfg->fpn_with_ln)
        layernorm_backward (be, t->dfeats[level], &g->fpn_norm[level], dfpn, t->feats[level],
                            &p->fpn_norm[level], &t->fpn[level], B, cfg->fpn_dim, T);
    else
        be->ops->add_backward (be, t->dfeats[level], NULL, dfpn, n_fpn);
}

/* Embedding convolutions from d embd_out (dcur, clobbered). */
static void
embedding_backward (TslActionFormerTrain *t, const TslAfParams *g, float *dcur, int B)
{
    TslBackend *be = t->m->be;
    const TslActionFormerConfig *cfg = &t->m->cfg;
    const TslAfParams *p = &t->m->params;
    const int D = cfg->embd_dim, Tp = t->padded_len, K = cfg->embd_kernel_size;
    const size_t n = (size_t) B * D * Tp;
    float *dact = t->dtmp[0], *dconv = t->dtmp[1];

    /* the position embedding is a constant: d(act + pe) = d act */
    for (int i = cfg->n_embd_convs - 1; i >= 0; i--) {
        zero (be, dact, n);
        be->ops->relu_backward (be, dact, dcur,
                                cfg->embd_with_ln ? t->embd_norm[i].out : t->embd_conv[i], n);
        if (cfg->embd_with_ln) {
            zero (be, dconv, n);
            layernorm_backward (be, dconv, &g->embd_norm[i], dact, t->embd_conv[i],
                                &p->embd_norm[i], &t->embd_norm[i], B, D, Tp);
        } else {
            be->ops->copy (be, dconv, dact, sizeof (float) * n);
        }
        if (i > 0)
            zero (be, dcur, n);
        be->ops->conv1d_backward (be, i > 0 ? dcur : NULL, (float *) g->embd[i].weight,
                                  (float *) g->embd[i].bias, dconv,
                                  i > 0 ? t->embd_act[i - 1] : t->input, p->embd[i].weight,
                                  t->mask[0], B, i == 0 ? cfg->input_dim : D, D, Tp, Tp, K, 1,
                                  K / 2, 1);
    }
}

gboolean
tsl_actionformer_backward (TslActionFormerTrain *t, const float *const *dcls_logits,
                           const float *const *dreg_offsets, TslActionFormerGrads *grads,
                           GError **error)
{
    TslBackend *be = t->m->be;
    const TslActionFormerConfig *cfg = &t->m->cfg;
    const TslAfParams *g = &grads->view;
    const int B = t->batch, D = cfg->embd_dim;
    float *dcur;

    if (B == 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "ActionFormer backward: no train forward to differentiate");
        return FALSE;
    }
    for (int level = 0; level < cfg->n_levels; level++)
        zero (be, t->dfeats[level], (size_t) B * D * t->level_len[level]);
    for (int level = 0; level < cfg->n_fpn_levels; level++)
        heads_backward (t, g, dcls_logits[level], dreg_offsets[level], level, B);

    for (int i = cfg->n_branch_blocks - 1; i >= 0; i--) {
        const int index = cfg->n_stem_blocks + i, level = i + 1;
        block_backward (t, &t->m->params.blocks[index], &g->blocks[index], &t->blocks[index],
                        t->dfeats[level - 1], t->dfeats[level], t->feats[level - 1],
                        t->mask[level], B);
    }
    dcur = t->dfeats[0];
    for (int i = cfg->n_stem_blocks - 1; i >= 0; i--) {
        float *dx = t->dstem[i % 2];
        zero (be, dx, (size_t) B * D * t->padded_len);
        block_backward (t, &t->m->params.blocks[i], &g->blocks[i], &t->blocks[i], dx, dcur,
                        i == 0 ? t->embd_out : t->blocks[i - 1].out, t->mask[0], B);
        dcur = dx;
    }
    embedding_backward (t, g, dcur, B);
    return tsl_backend_synchronize (be, error);
}

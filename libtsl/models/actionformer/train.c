/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train.c: ActionFormer's gradient buffers and its train-mode forward, as
 * happyharrycn/actionformer_release (61ea7eb9) libs/modeling/meta_archs.py
 * (PtTransformer.preprocessing in training, forward up to the heads),
 * backbones.py, blocks.py and necks.py. The arithmetic is the eval
 * forward's (backbone.c, heads.c) on a batch [B, C, T], with every
 * intermediate tensor kept in the trainer's arena for backward.c:
 *
 *   embedding:  c_i = conv_i(x_i) * m, n_i = LN_i(c_i), x_{i+1} = ReLU(n_i)
 *   block:      h = ln1(x); q, k, v = 1x1(LN(dwconv(h) * m)); a = att(q, k, v)
 *               r = pool(x) * m + f_attn[b] * s_attn * (proj(a) * m)
 *               out = r + f_mlp[b] * s_mlp * (mlp(ln2(r)) * m)
 *   neck, heads: fpn_L = LN_L(feats_L); trunk = (ReLU(LN(conv(.) * m)))^n;
 *               logits = conv(trunk) * m; offsets = ReLU(scale_L * conv(trunk) * m)
 *
 * att is the op table's banded local attention (window > 1) or MaskedMHCA's
 * full attention (window <= 1): S = scale q^T k per head (gemm), -inf added
 * at padded keys, A = softmax(S), a = (v * m) A^T, keeping A and v * m.
 * f_attn[b], f_mlp[b] are the drop-path factors of video b (0 dropped,
 * 1 / keep_prob kept), applied only when the caller passes a keep pattern.
 *
 * Training pads every video to max_seq_len (the official training batch
 * shape); masks are 1 where i * stride_L < length. Gradients live in one
 * device block in the official parameter order, walked from the model's
 * own parameter structs so that names and buffers cannot disagree.
 */
#include <math.h>
#include <string.h>

#include "train-private.h"

/* ---- parameters by official name ---- */

typedef void (*ParamFn) (void *ctx, const char *name, TslActionFormerParamKind kind,
                         const float **slot, int ndim, const int *shape);

static void
walk_norm (ParamFn fn, void *ctx, const char *prefix, TslAfNorm *norm, int C)
{
    const int shape[3] = { 1, C, 1 };
    g_autofree char *weight = g_strconcat (prefix, ".weight", NULL);
    g_autofree char *bias = g_strconcat (prefix, ".bias", NULL);

    fn (ctx, weight, TSL_AF_PARAM_NORM_WEIGHT, &norm->weight, 3, shape);
    fn (ctx, bias, TSL_AF_PARAM_NORM_BIAS, &norm->bias, 3, shape);
}

static void
walk_conv (ParamFn fn, void *ctx, const char *prefix, TslAfConv *conv, int c_out, int c_in,
           int k)
{
    const int shape[3] = { c_out, c_in, k };
    g_autofree char *weight = g_strconcat (prefix, ".weight", NULL);
    g_autofree char *bias = g_strconcat (prefix, ".bias", NULL);

    fn (ctx, weight, TSL_AF_PARAM_CONV_WEIGHT, &conv->weight, 3, shape);
    if (conv->bias != NULL)
        fn (ctx, bias, TSL_AF_PARAM_CONV_BIAS, &conv->bias, 1, &c_out);
}

static void
walk_block (ParamFn fn, void *ctx, const char *prefix, TslAfBlock *b, int D)
{
    static const char *const qkv[3] = { "query", "key", "value" };
    TslAfConv *convs[3] = { &b->query_conv, &b->key_conv, &b->value_conv };
    TslAfNorm *norms[3] = { &b->query_norm, &b->key_norm, &b->value_norm };
    const int scale_shape[3] = { 1, D, 1 };
    g_autofree char *ln1 = g_strconcat (prefix, ".ln1", NULL);
    g_autofree char *ln2 = g_strconcat (prefix, ".ln2", NULL);
    g_autofree char *key = g_strconcat (prefix, ".attn.key", NULL);
    g_autofree char *query = g_strconcat (prefix, ".attn.query", NULL);
    g_autofree char *value = g_strconcat (prefix, ".attn.value", NULL);
    g_autofree char *proj = g_strconcat (prefix, ".attn.proj", NULL);
    g_autofree char *mlp_in = g_strconcat (prefix, ".mlp.0", NULL);
    g_autofree char *mlp_out = g_strconcat (prefix, ".mlp.3", NULL);
    g_autofree char *drop_attn = g_strconcat (prefix, ".drop_path_attn.scale", NULL);
    g_autofree char *drop_mlp = g_strconcat (prefix, ".drop_path_mlp.scale", NULL);

    walk_norm (fn, ctx, ln1, &b->ln1, D);
    walk_norm (fn, ctx, ln2, &b->ln2, D);
    for (int i = 0; i < 3; i++) {
        g_autofree char *conv = g_strdup_printf ("%s.attn.%s_conv.conv", prefix, qkv[i]);
        g_autofree char *norm = g_strdup_printf ("%s.attn.%s_norm", prefix, qkv[i]);
        walk_conv (fn, ctx, conv, convs[i], D, 1, b->kernel);
        walk_norm (fn, ctx, norm, norms[i], D);
    }
    /* the official module registers key before query */
    walk_conv (fn, ctx, key, &b->key, D, D, 1);
    walk_conv (fn, ctx, query, &b->query, D, D, 1);
    walk_conv (fn, ctx, value, &b->value, D, D, 1);
    walk_conv (fn, ctx, proj, &b->proj, D, D, 1);
    walk_conv (fn, ctx, mlp_in, &b->mlp_in, 4 * D, D, 1);
    walk_conv (fn, ctx, mlp_out, &b->mlp_out, D, 4 * D, 1);
    if (b->drop_path_attn != NULL)
        fn (ctx, drop_attn, TSL_AF_PARAM_DROP_PATH_SCALE, &b->drop_path_attn, 3, scale_shape);
    if (b->drop_path_mlp != NULL)
        fn (ctx, drop_mlp, TSL_AF_PARAM_DROP_PATH_SCALE, &b->drop_path_mlp, 3, scale_shape);
}

static void
walk_head (ParamFn fn, void *ctx, const TslActionFormerConfig *cfg, const char *name,
           const char *out_name, int n_out, TslAfHead *head,
           const float **reg_scale /* [n_fpn_levels], or NULL for the class head */)
{
    const int n_convs = cfg->head_num_layers - 1;
    g_autofree char *out = g_strdup_printf ("%s.%s.conv", name, out_name);

    for (int i = 0; i < n_convs; i++) {
        g_autofree char *conv = g_strdup_printf ("%s.head.%d.conv", name, i);
        walk_conv (fn, ctx, conv, &head->conv[i], cfg->head_dim,
                   i == 0 ? cfg->fpn_dim : cfg->head_dim, cfg->head_kernel_size);
    }
    for (int i = 0; head->norm != NULL && i < n_convs; i++) {
        g_autofree char *norm = g_strdup_printf ("%s.norm.%d", name, i);
        walk_norm (fn, ctx, norm, &head->norm[i], cfg->head_dim);
    }
    for (int level = 0; reg_scale != NULL && level < cfg->n_fpn_levels; level++) {
        g_autofree char *scale = g_strdup_printf ("reg_head.scale.%d.scale", level);
        fn (ctx, scale, TSL_AF_PARAM_SCALE, &reg_scale[level], 0, NULL);
    }
    walk_conv (fn, ctx, out, &head->out, n_out, n_convs > 0 ? cfg->head_dim : cfg->fpn_dim,
               cfg->head_kernel_size);
}

/* Every parameter of p in the official state_dict order. */
static void
walk_params (ParamFn fn, void *ctx, const TslActionFormerConfig *cfg, TslAfParams *p)
{
    const int n_blocks = cfg->n_stem_blocks + cfg->n_branch_blocks;

    for (int i = 0; i < cfg->n_embd_convs; i++) {
        g_autofree char *conv = g_strdup_printf ("backbone.embd.%d.conv", i);
        walk_conv (fn, ctx, conv, &p->embd[i], cfg->embd_dim,
                   i == 0 ? cfg->input_dim : cfg->embd_dim, cfg->embd_kernel_size);
    }
    for (int i = 0; p->embd_norm != NULL && i < cfg->n_embd_convs; i++) {
        g_autofree char *norm = g_strdup_printf ("backbone.embd_norm.%d", i);
        walk_norm (fn, ctx, norm, &p->embd_norm[i], cfg->embd_dim);
    }
    for (int i = 0; i < n_blocks; i++) {
        gboolean stem = i < cfg->n_stem_blocks;
        g_autofree char *prefix = g_strdup_printf ("backbone.%s.%d", stem ? "stem" : "branch",
                                                   stem ? i : i - cfg->n_stem_blocks);
        walk_block (fn, ctx, prefix, &p->blocks[i], cfg->embd_dim);
    }
    for (int level = 0; cfg->fpn_with_ln && level < cfg->n_fpn_levels; level++) {
        g_autofree char *norm = g_strdup_printf ("neck.fpn_norms.%d", level);
        walk_norm (fn, ctx, norm, &p->fpn_norm[level], cfg->fpn_dim);
    }
    walk_head (fn, ctx, cfg, "cls_head", "cls_head", cfg->num_classes, &p->cls_head, NULL);
    walk_head (fn, ctx, cfg, "reg_head", "offset_head", 2, &p->reg_head, p->reg_scale);
}

/* ---- gradients ---- */

typedef struct {
    TslActionFormerGrads *grads;
    GPtrArray *slots;   /* const float ** of the view, in order */
    GArray *offsets;    /* size_t, floats from data */
} GradsBuilder;

static void
grads_add (void *ctx, const char *name, TslActionFormerParamKind kind, const float **slot,
           int ndim, const int *shape)
{
    GradsBuilder *builder = ctx;
    TslActionFormerGrads *g = builder->grads;
    TslTensor t = { 0 };
    size_t offset = g->total;

    t.ndim = ndim;
    for (int d = 0; d < ndim; d++)
        t.shape[d] = shape[d];
    t.be = g->be;
    g_ptr_array_add (g->names, g_strdup (name));
    g_array_append_val (g->tensors, t);
    g_ptr_array_add (builder->slots, slot);
    g_array_append_val (builder->offsets, offset);
    g->total += tsl_shape_numel (ndim, shape);
}

static void
view_copy (TslAfParams *view, const TslAfParams *p, const TslActionFormerConfig *cfg)
{
    const int n_blocks = MAX (cfg->n_stem_blocks + cfg->n_branch_blocks, 1);
    const int n_embd = MAX (cfg->n_embd_convs, 1), n_head = MAX (cfg->head_num_layers - 1, 1);

    *view = *p;
    view->embd = g_memdup2 (p->embd, sizeof (TslAfConv) * n_embd);
    view->embd_norm = p->embd_norm ? g_memdup2 (p->embd_norm, sizeof (TslAfNorm) * n_embd) : NULL;
    view->blocks = g_memdup2 (p->blocks, sizeof (TslAfBlock) * n_blocks);
    view->cls_head.conv = g_memdup2 (p->cls_head.conv, sizeof (TslAfConv) * n_head);
    view->reg_head.conv = g_memdup2 (p->reg_head.conv, sizeof (TslAfConv) * n_head);
    view->cls_head.norm =
        p->cls_head.norm ? g_memdup2 (p->cls_head.norm, sizeof (TslAfNorm) * n_head) : NULL;
    view->reg_head.norm =
        p->reg_head.norm ? g_memdup2 (p->reg_head.norm, sizeof (TslAfNorm) * n_head) : NULL;
}

TslActionFormerGrads *
tsl_actionformer_grads_new (TslActionFormer *m, GError **error)
{
    TslActionFormerGrads *g = g_new0 (TslActionFormerGrads, 1);
    GradsBuilder builder = { g, g_ptr_array_new (), g_array_new (FALSE, FALSE, sizeof (size_t)) };

    g->be = m->be;
    g->names = g_ptr_array_new_with_free_func (g_free);
    g->tensors = g_array_new (FALSE, TRUE, sizeof (TslTensor));
    view_copy (&g->view, &m->params, &m->cfg);
    walk_params (grads_add, &builder, &m->cfg, &g->view);
    g->data = tsl_backend_alloc (m->be, sizeof (float) * MAX (g->total, 1), error);
    if (g->data != NULL) {
        for (guint i = 0; i < builder.slots->len; i++) {
            float *grad = g->data + g_array_index (builder.offsets, size_t, i);
            *(const float **) g_ptr_array_index (builder.slots, i) = grad;
            g_array_index (g->tensors, TslTensor, i).data = grad;
        }
        tsl_actionformer_grads_zero (g);
    }
    g_ptr_array_unref (builder.slots);
    g_array_unref (builder.offsets);
    if (g->data == NULL) {
        tsl_actionformer_grads_free (g);
        return NULL;
    }
    return g;
}

void
tsl_actionformer_grads_free (TslActionFormerGrads *g)
{
    if (g == NULL)
        return;
    if (g->data != NULL)
        tsl_backend_free_memory (g->be, g->data);
    g_free (g->view.embd);
    g_free (g->view.embd_norm);
    g_free (g->view.blocks);
    g_free (g->view.cls_head.conv);
    g_free (g->view.cls_head.norm);
    g_free (g->view.reg_head.conv);
    g_free (g->view.reg_head.norm);
    g_ptr_array_unref (g->names);
    g_array_unref (g->tensors);
    g_free (g);
}

void
tsl_actionformer_grads_zero (TslActionFormerGrads *g)
{
    g->be->ops->zero (g->be, g->data, sizeof (float) * g->total);
}

int
tsl_actionformer_grads_count (const TslActionFormerGrads *g)
{
    return (int) g->names->len;
}

const char *
tsl_actionformer_grads_name (const TslActionFormerGrads *g, int i)
{
    g_return_val_if_fail (i >= 0 && i < (int) g->names->len, NULL);
    return g_ptr_array_index (g->names, i);
}

const TslTensor *
tsl_actionformer_grads_tensor (const TslActionFormerGrads *g, int i)
{
    g_return_val_if_fail (i >= 0 && i < (int) g->tensors->len, NULL);
    return &g_array_index (g->tensors, TslTensor, i);
}

int
tsl_actionformer_grads_find (const TslActionFormerGrads *g, const char *name)
{
    for (guint i = 0; i < g->names->len; i++)
        if (g_str_equal (g_ptr_array_index (g->names, i), name))
            return (int) i;
    return -1;
}

float *
tsl_actionformer_grads_data (const TslActionFormerGrads *g, size_t *n)
{
    if (n != NULL)
        *n = g->total;
    return g->data;
}

/* ---- parameter list and pointers ---- */

static void
spec_add (void *ctx, const char *name, TslActionFormerParamKind kind, const float **slot,
          int ndim, const int *shape)
{
    TslActionFormerParamSpec spec = { .name = g_strdup (name), .kind = kind, .ndim = ndim };

    for (int d = 0; d < ndim; d++)
        spec.shape[d] = shape[d];
    g_array_append_val (ctx, spec);
}

static void
spec_clear (gpointer data)
{
    g_free (((TslActionFormerParamSpec *) data)->name);
}

GArray *
tsl_actionformer_param_specs (const TslActionFormerConfig *cfg)
{
    static const float present = 0.0f; /* marks an optional tensor as present */
    const int n_blocks = MAX (cfg->n_stem_blocks + cfg->n_branch_blocks, 1);
    const int n_embd = MAX (cfg->n_embd_convs, 1), n_head = MAX (cfg->head_num_layers - 1, 1);
    const float *head_bias = cfg->head_with_ln ? NULL : &present;
    GArray *specs = g_array_new (FALSE, TRUE, sizeof (TslActionFormerParamSpec));
    TslAfParams p = { 0 };

    g_array_set_clear_func (specs, spec_clear);
    p.embd = g_new0 (TslAfConv, n_embd);
    p.embd_norm = cfg->embd_with_ln ? g_new0 (TslAfNorm, n_embd) : NULL;
    p.blocks = g_new0 (TslAfBlock, n_blocks);
    p.cls_head.conv = g_new0 (TslAfConv, n_head);
    p.reg_head.conv = g_new0 (TslAfConv, n_head);
    p.cls_head.norm = cfg->head_with_ln ? g_new0 (TslAfNorm, n_head) : NULL;
    p.reg_head.norm = cfg->head_with_ln ? g_new0 (TslAfNorm, n_head) : NULL;
    for (int i = 0; i < n_embd; i++)
        p.embd[i].bias = cfg->embd_with_ln ? NULL : &present;
    for (int i = 0; i < n_blocks; i++) {
        TslAfBlock *b = &p.blocks[i];
        int stride = i < cfg->n_stem_blocks ? 1 : cfg->scale_factor;

        b->kernel = stride > 1 ? stride + 1 : 3;
        b->query.bias = b->key.bias = b->value.bias = b->proj.bias = &present;
        b->mlp_in.bias = b->mlp_out.bias = &present;
        b->drop_path_attn = b->drop_path_mlp = cfg->droppath > 0.0 ? &present : NULL;
    }
    for (int i = 0; i < n_head; i++)
        p.cls_head.conv[i].bias = p.reg_head.conv[i].bias = head_bias;
    p.cls_head.out.bias = p.reg_head.out.bias = &present;
    walk_params (spec_add, specs, cfg, &p);
    g_free (p.embd);
    g_free (p.embd_norm);
    g_free (p.blocks);
    g_free (p.cls_head.conv);
    g_free (p.reg_head.conv);
    g_free (p.cls_head.norm);
    g_free (p.reg_head.norm);
    return specs;
}

static void
pointer_add (void *ctx, const char *name, TslActionFormerParamKind kind, const float **slot,
             int ndim, const int *shape)
{
    g_ptr_array_add (ctx, (gpointer) *slot);
}

float **
tsl_actionformer_param_data (TslActionFormer *m, int *n)
{
    GPtrArray *pointers = g_ptr_array_new ();

    walk_params (pointer_add, pointers, &m->cfg, &m->params);
    *n = (int) pointers->len;
    return (float **) g_ptr_array_free (pointers, FALSE);
}

/* ---- saved-activation arena ---- */

typedef struct {
    TslArena *arena; /* NULL: count bytes only */
    size_t bytes;
    GError *error;   /* first arena failure (a sizing bug), or NULL */
} Planner;

/* n floats, rounded as the arena rounds (256 bytes); NULL when counting */
static float *
plan (Planner *p, size_t n)
{
    p->bytes += (n * sizeof (float) + 255) / 256 * 256;
    if (p->arena == NULL || p->error != NULL)
        return NULL;
    return tsl_arena_alloc (p->arena, n, &p->error);
}

static void
plan_norm (Planner *p, TslAfNormSaved *s, size_t B, size_t C, size_t T)
{
    s->out = plan (p, B * C * T);
    s->mean = plan (p, B * T);
    s->rstd = plan (p, B * T);
}

/* Lays out the saved activations and backward scratch of t (when p->arena
 * is set); returns the bytes needed. */
static size_t
train_plan (TslActionFormerTrain *t, Planner *p)
{
    const TslActionFormerConfig *cfg = &t->m->cfg;
    const size_t B = t->max_batch, D = cfg->embd_dim, Tp = t->padded_len;
    const size_t H = cfg->n_head, HD = cfg->head_dim, n_layers = cfg->head_num_layers - 1;
    const size_t head_width = (size_t) MAX (MAX (cfg->fpn_dim, cfg->head_dim),
                                            MAX (cfg->num_classes, 2));
    const int n_blocks = cfg->n_stem_blocks + cfg->n_branch_blocks;
    size_t global_T = 0; /* longest level with global attention */

    t->input = plan (p, B * cfg->input_dim * Tp);
    t->pe = cfg->use_abs_pe ? plan (p, B * D * Tp) : NULL;
    for (int i = 0; i < cfg->n_embd_convs; i++) {
        t->embd_conv[i] = plan (p, B * D * Tp);
        if (cfg->embd_with_ln)
            plan_norm (p, &t->embd_norm[i], B, D, Tp);
        t->embd_act[i] = plan (p, B * D * Tp);
    }
    t->embd_out = cfg->use_abs_pe || cfg->n_embd_convs == 0
                      ? plan (p, B * D * Tp)
                      : t->embd_act[cfg->n_embd_convs - 1];
    for (int i = 0; i < cfg->n_stem_blocks + cfg->n_branch_blocks; i++) {
        TslAfBlockSaved *s = &t->blocks[i];
        const TslAfBlock *b = &t->m->params.blocks[i];
        int level = i < cfg->n_stem_blocks ? 0 : i - cfg->n_stem_blocks + 1;
        const size_t T = t->level_len[level];
        s->T_out = (int) T;
        s->T_in = level > 0 ? t->level_len[level - 1] : (int) T;
        plan_norm (p, &s->ln1, B, D, s->T_in);
        for (int j = 0; j < 3; j++) {
            s->qkv_conv[j] = plan (p, B * D * T);
            plan_norm (p, &s->qkv_norm[j], B, D, T);
            s->qkv[j] = plan (p, B * D * T);
        }
        s->att = plan (p, B * H * T * (b->window > 0 ? (size_t) b->window : T));
        s->v_masked = b->window > 0 ? NULL : plan (p, B * D * T);
        if (b->window == 0)
            global_T = MAX (global_T, T);
        s->attn_out = plan (p, B * D * T);
        s->proj_out = plan (p, B * D * T);
        s->argmax = b->stride > 1 ? (int32_t *) plan (p, B * D * T) : NULL;
        s->skip_masked = plan (p, B * D * T);
        s->drop_attn_out = b->drop_path_attn ? plan (p, B * D * T) : s->proj_out;
        s->residual = plan (p, B * D * T);
        plan_norm (p, &s->ln2, B, D, T);
        s->hidden = plan (p, B * 4 * D * T);
        s->hidden_act = plan (p, B * 4 * D * T);
        s->mlp_out = plan (p, B * D * T);
        s->drop_mlp_out = b->drop_path_mlp ? plan (p, B * D * T) : s->mlp_out;
        s->out = plan (p, B * D * T);
    }
    for (int level = 0; level < cfg->n_levels; level++) {
        const size_t T = t->level_len[level];
        t->mask[level] = plan (p, B * T);
        t->key_bias[level] = cfg->mha_win_size[level] <= 1 ? plan (p, B * T) : NULL;
        if (level == 0)
            t->feats[0] = cfg->n_stem_blocks > 0 ? t->blocks[cfg->n_stem_blocks - 1].out
                                                 : t->embd_out;
        else
            t->feats[level] = t->blocks[cfg->n_stem_blocks + level - 1].out;
        t->dfeats[level] = plan (p, B * D * T);
    }
    for (int level = 0; level < cfg->n_fpn_levels; level++) {
        const size_t T = t->level_len[level];
        if (cfg->fpn_with_ln)
            plan_norm (p, &t->fpn[level], B, cfg->fpn_dim, T);
        for (int head = 0; head < 2; head++) {
            for (size_t i = 0; i < n_layers; i++) {
                TslAfHeadLayerSaved *s = &t->trunk[head][level][i];
                s->conv = plan (p, B * HD * T);
                if (cfg->head_with_ln)
                    plan_norm (p, &s->norm, B, HD, T);
                s->act = plan (p, B * HD * T);
            }
        }
        t->cls_logits[level] = plan (p, B * cfg->num_classes * T);
        t->reg_raw[level] = plan (p, B * 2 * T);
        t->reg_scaled[level] = plan (p, B * 2 * T);
        t->reg_offsets[level] = plan (p, B * 2 * T);
    }
    for (int i = 0; i < 2; i++)
        t->dstem[i] = plan (p, B * D * Tp);
    for (int i = 0; i < 8; i++)
        t->dtmp[i] = plan (p, B * D * Tp);
    for (int i = 0; i < 2; i++)
        t->dhidden[i] = plan (p, B * 4 * D * Tp);
    for (int i = 0; i < 4; i++)
        t->dhead[i] = plan (p, B * head_width * Tp);
    for (int i = 0; i < 2; i++)
        t->scores[i] = global_T > 0 ? plan (p, B * H * global_T * global_T) : NULL;
    t->drop_factor = cfg->droppath > 0.0 ? plan (p, 2 * (size_t) n_blocks * B) : NULL;
    return p->bytes;
}

static gboolean
check_trainable (const TslActionFormer *m, GError **error)
{
    const TslActionFormerConfig *cfg = &m->cfg;
    const TslBackendOps *ops = m->be->ops;
    gboolean global = FALSE;

    for (int i = 0; i < cfg->n_stem_blocks + cfg->n_branch_blocks; i++)
        global |= m->params.blocks[i].window == 0;
    if (!ops->conv1d_backward || !ops->layernorm_backward || !ops->local_attention_backward ||
        !ops->gelu_backward || !ops->relu_backward || !ops->channel_scale_backward ||
        !ops->add_backward || !ops->maxpool1d_backward ||
        (global && (!ops->gemm || !ops->bias_add || !ops->softmax || !ops->softmax_backward))) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_UNSUPPORTED,
                     "ActionFormer training: backend '%s' lacks a backward op", ops->name);
        return FALSE;
    }
    return TRUE;
}

TslActionFormerTrain *
tsl_actionformer_train_new (TslActionFormer *m, int max_batch, GError **error)
{
    const TslActionFormerConfig *cfg = &m->cfg;
    const int n_blocks = cfg->n_stem_blocks + cfg->n_branch_blocks;
    TslActionFormerTrain *t;
    Planner counter = { NULL, 0, NULL }, planner;
    size_t bytes;

    g_return_val_if_fail (max_batch >= 1, NULL);
    if (!check_trainable (m, error))
        return NULL;
    t = g_new0 (TslActionFormerTrain, 1);
    t->m = m;
    t->max_batch = max_batch;
    t->padded_len = cfg->max_seq_len;
    for (int level = 0; level < cfg->n_levels; level++)
        t->level_len[level] = cfg->max_seq_len / tsl_actionformer_config_level_stride (cfg, level);
    t->embd_conv = g_new0 (float *, MAX (cfg->n_embd_convs, 1));
    t->embd_norm = g_new0 (TslAfNormSaved, MAX (cfg->n_embd_convs, 1));
    t->embd_act = g_new0 (float *, MAX (cfg->n_embd_convs, 1));
    t->blocks = g_new0 (TslAfBlockSaved, MAX (n_blocks, 1));
    for (int level = 0; level < cfg->n_fpn_levels; level++)
        for (int head = 0; head < 2; head++)
            t->trunk[head][level] = g_new0 (TslAfHeadLayerSaved, MAX (cfg->head_num_layers, 1));

    bytes = train_plan (t, &counter);
    if (!tsl_arena_init (&t->arena, m->be, bytes, error)) {
        tsl_actionformer_train_free (t);
        return NULL;
    }
    planner = (Planner) { &t->arena, 0, NULL };
    train_plan (t, &planner);
    if (planner.error != NULL) {
        g_propagate_prefixed_error (error, planner.error, "ActionFormer training activations: ");
        tsl_actionformer_train_free (t);
        return NULL;
    }
    t->host_input = g_new (float, (size_t) max_batch * cfg->input_dim * t->padded_len);
    t->host_mask = g_new (float, (size_t) max_batch * t->padded_len);
    if (cfg->use_abs_pe)
        t->host_pe = g_new (float, (size_t) max_batch * cfg->embd_dim * t->padded_len);
    if (t->drop_factor != NULL)
        t->host_drop = g_new (float, (size_t) 2 * MAX (n_blocks, 1) * max_batch);
    g_debug ("ActionFormer training: %zu bytes of activations for %d videos", bytes, max_batch);
    return t;
}

void
tsl_actionformer_train_free (TslActionFormerTrain *t)
{
    if (t == NULL)
        return;
    tsl_arena_clear (&t->arena);
    for (int level = 0; level < TSL_ACTIONFORMER_MAX_LEVELS; level++)
        for (int head = 0; head < 2; head++)
            g_free (t->trunk[head][level]);
    g_free (t->embd_conv);
    g_free (t->embd_norm);
    g_free (t->embd_act);
    g_free (t->blocks);
    g_free (t->host_input);
    g_free (t->host_mask);
    g_free (t->host_pe);
    g_free (t->host_drop);
    g_free (t);
}

/* ---- forward ---- */

void
tsl_actionformer_train_apply_mask (TslBackend *be, float *out, const float *x, const float *mask,
                                   int B, int C, int T)
{
    /* channel_scale over a [C, T, 1] view of each video */
    for (int b = 0; b < B; b++)
        be->ops->channel_scale (be, out + (size_t) b * C * T, x + (size_t) b * C * T,
                                mask + (size_t) b * T, C, T, 1);
}

static void
layernorm (TslBackend *be, TslAfNormSaved *s, const float *x /* [B, C, T] */,
           const TslAfNorm *norm, int B, int C, int T)
{
    be->ops->layernorm (be, s->out, s->mean, s->rstd, x, norm->weight, norm->bias, B, C, T,
                        TSL_ACTIONFORMER_LN_EPS);
}

/* 1x1 convolution with bias; mask may be NULL */
static void
pointwise (TslBackend *be, float *out /* [B, C_out, T] */, const float *x /* [B, C_in, T] */,
           const TslAfConv *conv, const float *mask /* [B, T] or NULL */, int B, int c_in,
           int c_out, int T)
{
    be->ops->conv1d (be, out, x, conv->weight, conv->bias, mask, B, c_in, c_out, T, T, 1, 1, 0, 1);
}

/* Pads the batch to Tp, builds the masks, the key biases of global
 * attention, the masked position embedding and the drop-path factors on
 * the host and uploads them. */
static void
upload_inputs (TslActionFormerTrain *t, const float *feats, int T_feats, const int *lengths,
               const float *drop_keep, int B)
{
    TslActionFormer *m = t->m;
    const TslActionFormerConfig *cfg = &m->cfg;
    const int C = cfg->input_dim, D = cfg->embd_dim, Tp = t->padded_len;

    for (int b = 0; b < B; b++) {
        for (int c = 0; c < C; c++) {
            float *row = t->host_input + ((size_t) b * C + c) * Tp;
            memcpy (row, feats + ((size_t) b * C + c) * T_feats, sizeof (float) * lengths[b]);
            memset (row + lengths[b], 0, sizeof (float) * (Tp - lengths[b]));
        }
    }
    tsl_backend_upload (m->be, t->input, t->host_input, sizeof (float) * B * C * Tp);
    for (int level = 0; level < cfg->n_levels; level++) {
        const gint64 stride = tsl_actionformer_config_level_stride (cfg, level);
        const int T_L = t->level_len[level];
        for (int b = 0; b < B; b++)
            for (int i = 0; i < T_L; i++)
                t->host_mask[(size_t) b * T_L + i] = i * stride < lengths[b] ? 1.0f : 0.0f;
        tsl_backend_upload (m->be, t->mask[level], t->host_mask, sizeof (float) * B * T_L);
        if (t->key_bias[level] == NULL)
            continue;
        for (size_t i = 0; i < (size_t) B * T_L; i++)
            t->host_mask[i] = t->host_mask[i] > 0.0f ? 0.0f : -INFINITY;
        tsl_backend_upload (m->be, t->key_bias[level], t->host_mask, sizeof (float) * B * T_L);
    }
    for (int i = 0; i < cfg->n_stem_blocks + cfg->n_branch_blocks; i++) {
        TslAfBlockSaved *s = &t->blocks[i];
        for (int j = 0; j < 2; j++)
            s->drop_factor[j] = drop_keep != NULL && t->drop_factor != NULL
                                    ? t->drop_factor + (size_t) (2 * i + j) * B
                                    : NULL;
    }
    if (drop_keep != NULL && t->drop_factor != NULL) {
        const size_t n = (size_t) 2 * (cfg->n_stem_blocks + cfg->n_branch_blocks) * B;
        const float inverse_keep = (float) (1.0 / (1.0 - cfg->droppath));
        for (size_t i = 0; i < n; i++)
            t->host_drop[i] = drop_keep[i] * inverse_keep;
        tsl_backend_upload (m->be, t->drop_factor, t->host_drop, sizeof (float) * n);
    }
    if (t->pe != NULL) {
        for (int b = 0; b < B; b++)
            for (int c = 0; c < D; c++)
                for (int i = 0; i < Tp; i++)
                    t->host_pe[((size_t) b * D + c) * Tp + i] =
                        i < lengths[b] ? m->pe_table[(size_t) c * cfg->max_seq_len + i]
                                       : 0.0f;
        tsl_backend_upload (m->be, t->pe, t->host_pe, sizeof (float) * B * D * Tp);
    }
}

static void
embedding_forward (TslActionFormerTrain *t, int B)
{
    TslBackend *be = t->m->be;
    const TslActionFormerConfig *cfg = &t->m->cfg;
    const TslAfParams *p = &t->m->params;
    const int D = cfg->embd_dim, Tp = t->padded_len, K = cfg->embd_kernel_size;
    const float *cur = t->input;

    for (int i = 0; i < cfg->n_embd_convs; i++) {
        const float *activated = t->embd_conv[i];
        be->ops->conv1d (be, t->embd_conv[i], cur, p->embd[i].weight, p->embd[i].bias, t->mask[0],
                         B, i == 0 ? cfg->input_dim : D, D, Tp, Tp, K, 1, K / 2, 1);
        if (cfg->embd_with_ln) {
            layernorm (be, &t->embd_norm[i], t->embd_conv[i], &p->embd_norm[i], B, D, Tp);
            activated = t->embd_norm[i].out;
        }
        be->ops->relu (be, t->embd_act[i], activated, (size_t) B * D * Tp);
        cur = t->embd_act[i];
    }
    if (t->pe != NULL)
        be->ops->add (be, t->embd_out, cur, t->pe, (size_t) B * D * Tp);
    else if (cfg->n_embd_convs == 0)
        be->ops->copy (be, t->embd_out, cur, sizeof (float) * B * D * Tp);
}

/* MaskedMHCA's attention over all T keys, per video and head:
 * att = softmax(scale q^T k + key_bias), out = (v * mask) att^T; saves att
 * and v * mask. */
static void
global_attention_forward (TslActionFormerTrain *t, TslAfBlockSaved *s,
                          const float *mask /* [B, T] */, const float *key_bias /* [B, T] */,
                          int B, int T)
{
    TslBackend *be = t->m->be;
    const TslBackendOps *ops = be->ops;
    const int D = t->m->cfg.embd_dim, H = t->m->cfg.n_head, Dh = D / H;
    const size_t head = (size_t) Dh * T, square = (size_t) T * T;
    float *scores = t->scores[0]; /* [B, H, T, T] */

    /* scores[b, h, t, s] = scale * sum_d q[b, h Dh + d, t] k[b, h Dh + d, s] */
    ops->gemm (be, s->att, s->qkv[0], s->qkv[1], B * H, T, T, Dh, TRUE, FALSE,
               1.0f / sqrtf ((float) Dh), 0.0f, head, head, square);
    /* -inf on the padded keys of each video ([H T, T, 1] view: bias over keys) */
    for (int b = 0; b < B; b++)
        ops->bias_add (be, scores + b * H * square, s->att + b * H * square,
                       key_bias + (size_t) b * T, H * T, T, 1);
    ops->softmax (be, s->att, scores, B * H * T, T);
    /* out[b, h Dh + d, t] = sum_s (v * mask)[b, h Dh + d, s] att[b, h, t, s] */
    tsl_actionformer_train_apply_mask (be, s->v_masked, s->qkv[2], mask, B, D, T);
    ops->gemm (be, s->attn_out, s->v_masked, s->att, B * H, Dh, T, T, FALSE, TRUE, 1.0f, 0.0f,
               head, square, head);
}

/* out = factor[b] * scale[c] * y: AffineDropPath, with the drop-path
 * factors of the forward when there are any */
static void
drop_path_forward (TslBackend *be, float *out /* [B, D, T] */, const float *y /* [B, D, T] */,
                   const float *scale /* [D] */, const float *factor /* [B] or NULL */, int B,
                   int D, int T)
{
    be->ops->channel_scale (be, out, y, scale, B, D, T);
    if (factor != NULL)
        be->ops->channel_scale (be, out, out, factor, 1, B, D * T);
}

static void
block_forward (TslActionFormerTrain *t, const TslAfBlock *b, TslAfBlockSaved *s,
               const float *x /* [B, D, T_in] */, const float *mask /* [B, T_out] */,
               const float *key_bias /* [B, T_out] or NULL */, int B)
{
    TslBackend *be = t->m->be;
    const TslBackendOps *ops = be->ops;
    const int D = t->m->cfg.embd_dim, H = t->m->cfg.n_head;
    const int T_in = s->T_in, T_out = s->T_out;
    const size_t n = (size_t) B * D * T_out;
    const TslAfConv *qkv_conv[3] = { &b->query_conv, &b->key_conv, &b->value_conv };
    const TslAfNorm *qkv_norm[3] = { &b->query_norm, &b->key_norm, &b->value_norm };
    const TslAfConv *qkv_proj[3] = { &b->query, &b->key, &b->value };
    const float *skip = x;

    layernorm (be, &s->ln1, x, &b->ln1, B, D, T_in);
    for (int j = 0; j < 3; j++) {
        ops->conv1d (be, s->qkv_conv[j], s->ln1.out, qkv_conv[j]->weight, NULL, mask, B, D, D,
                     T_in, T_out, b->kernel, b->stride, b->kernel / 2, D);
        layernorm (be, &s->qkv_norm[j], s->qkv_conv[j], qkv_norm[j], B, D, T_out);
        pointwise (be, s->qkv[j], s->qkv_norm[j].out, qkv_proj[j], NULL, B, D, D, T_out);
    }
    if (b->window > 0)
        ops->local_attention (be, s->attn_out, s->att, s->qkv[0], s->qkv[1], s->qkv[2], mask, B,
                              D, T_out, H, b->window, 1.0f / sqrtf ((float) (D / H)));
    else
        global_attention_forward (t, s, mask, key_bias, B, T_out);
    pointwise (be, s->proj_out, s->attn_out, &b->proj, mask, B, D, D, T_out);

    if (b->stride > 1) {
        ops->maxpool1d (be, s->skip_masked, s->argmax, x, B, D, T_in, T_out, b->stride + 1,
                        b->stride, (b->stride + 1) / 2);
        skip = s->skip_masked;
    }
    tsl_actionformer_train_apply_mask (be, s->skip_masked, skip, mask, B, D, T_out);
    if (b->drop_path_attn != NULL)
        drop_path_forward (be, s->drop_attn_out, s->proj_out, b->drop_path_attn,
                           s->drop_factor[0], B, D, T_out);
    ops->add (be, s->residual, s->skip_masked, s->drop_attn_out, n);

    layernorm (be, &s->ln2, s->residual, &b->ln2, B, D, T_out);
    pointwise (be, s->hidden, s->ln2.out, &b->mlp_in, NULL, B, D, 4 * D, T_out);
    ops->gelu (be, s->hidden_act, s->hidden, (size_t) 4 * n);
    pointwise (be, s->mlp_out, s->hidden_act, &b->mlp_out, mask, B, 4 * D, D, T_out);
    if (b->drop_path_mlp != NULL)
        drop_path_forward (be, s->drop_mlp_out, s->mlp_out, b->drop_path_mlp, s->drop_factor[1],
                           B, D, T_out);
    ops->add (be, s->out, s->residual, s->drop_mlp_out, n);
}

/* Trunk of one head on one level; returns the features its output conv reads. */
static const float *
trunk_forward (TslActionFormerTrain *t, const TslAfHead *head, TslAfHeadLayerSaved *layers,
               const float *x /* [B, fpn_dim, T] */, const float *mask /* [B, T] */, int B,
               int T)
{
    TslBackend *be = t->m->be;
    const TslActionFormerConfig *cfg = &t->m->cfg;
    const int K = cfg->head_kernel_size, HD = cfg->head_dim;
    const float *cur = x;

    for (int i = 0; i < cfg->head_num_layers - 1; i++) {
        TslAfHeadLayerSaved *s = &layers[i];
        const float *activated = s->conv;
        be->ops->conv1d (be, s->conv, cur, head->conv[i].weight, head->conv[i].bias, mask, B,
                         i == 0 ? cfg->fpn_dim : HD, HD, T, T, K, 1, K / 2, 1);
        if (head->norm != NULL) {
            layernorm (be, &s->norm, s->conv, &head->norm[i], B, HD, T);
            activated = s->norm.out;
        }
        be->ops->relu (be, s->act, activated, (size_t) B * HD * T);
        cur = s->act;
    }
    return cur;
}

static void
heads_forward (TslActionFormerTrain *t, int B)
{
    TslBackend *be = t->m->be;
    const TslActionFormerConfig *cfg = &t->m->cfg;
    const TslAfParams *p = &t->m->params;
    const int K = cfg->head_kernel_size;
    const int c_in = cfg->head_num_layers > 1 ? cfg->head_dim : cfg->fpn_dim;

    for (int level = 0; level < cfg->n_fpn_levels; level++) {
        const int T = t->level_len[level];
        const float *mask = t->mask[level], *fpn = t->feats[level], *y;

        if (cfg->fpn_with_ln) {
            layernorm (be, &t->fpn[level], t->feats[level], &p->fpn_norm[level], B, cfg->fpn_dim,
                       T);
            fpn = t->fpn[level].out;
        }
        y = trunk_forward (t, &p->cls_head, t->trunk[0][level], fpn, mask, B, T);
        be->ops->conv1d (be, t->cls_logits[level], y, p->cls_head.out.weight,
                         p->cls_head.out.bias, mask, B, c_in, cfg->num_classes, T, T, K, 1,
                         K / 2, 1);
        y = trunk_forward (t, &p->reg_head, t->trunk[1][level], fpn, mask, B, T);
        be->ops->conv1d (be, t->reg_raw[level], y, p->reg_head.out.weight, p->reg_head.out.bias,
                         mask, B, c_in, 2, T, T, K, 1, K / 2, 1);
        be->ops->channel_scale (be, t->reg_scaled[level], t->reg_raw[level], p->reg_scale[level],
                                B, 1, 2 * T);
        be->ops->relu (be, t->reg_offsets[level], t->reg_scaled[level], (size_t) B * 2 * T);
    }
}

gboolean
tsl_actionformer_train_forward (TslActionFormerTrain *t, const float *feats_host, int T_feats,
                                const int *lengths, int B, const float *drop_keep,
                                GError **error)
{
    const TslActionFormerConfig *cfg = &t->m->cfg;

    g_return_val_if_fail (feats_host != NULL && lengths != NULL, FALSE);
    if (B < 1 || B > t->max_batch) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "ActionFormer training: batch of %d videos; 1 to %d are accepted", B,
                     t->max_batch);
        return FALSE;
    }
    for (int b = 0; b < B; b++) {
        if (lengths[b] < 1 || lengths[b] > MIN (T_feats, t->padded_len)) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                         "ActionFormer training: video %d has %d feature vectors; 1 to "
                         "max_seq_len = %d (and at most the %d columns given) are accepted", b,
                         lengths[b], t->padded_len, T_feats);
            return FALSE;
        }
    }
    t->batch = 0;
    upload_inputs (t, feats_host, T_feats, lengths, drop_keep, B);
    embedding_forward (t, B);
    for (int i = 0; i < cfg->n_stem_blocks + cfg->n_branch_blocks; i++) {
        int level = i < cfg->n_stem_blocks ? 0 : i - cfg->n_stem_blocks + 1;
        const float *x = i == 0 ? t->embd_out : t->blocks[i - 1].out;
        block_forward (t, &t->m->params.blocks[i], &t->blocks[i], x, t->mask[level],
                       t->key_bias[level], B);
    }
    heads_forward (t, B);
    if (!tsl_backend_synchronize (t->m->be, error))
        return FALSE;
    t->batch = B;
    return TRUE;
}

void
tsl_actionformer_train_output (const TslActionFormerTrain *t, TslActionFormerTrainOutput *out)
{
    const TslActionFormerConfig *cfg = &t->m->cfg;

    memset (out, 0, sizeof *out);
    out->batch = t->batch;
    out->n_levels = cfg->n_fpn_levels;
    for (int level = 0; level < cfg->n_fpn_levels; level++) {
        out->level_len[level] = t->level_len[level];
        out->cls_logits[level] = t->cls_logits[level];
        out->reg_offsets[level] = t->reg_offsets[level];
        out->mask[level] = t->mask[level];
    }
}

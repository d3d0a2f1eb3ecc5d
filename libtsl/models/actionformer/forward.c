/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * forward.c: ActionFormer's activation arena and eval forward driver, as
 * happyharrycn/actionformer_release (61ea7eb9) libs/modeling/meta_archs.py
 * PtTransformer.preprocessing and forward (up to the heads):
 *
 * - padding: to max_seq_len, or to the next multiple of the max div factor
 *   for longer inputs; the padded features are zero;
 * - masks: level L keeps position i when i * scale_factor^L < T (the
 *   official nearest-neighbour downsampling of the level-0 mask);
 * - absolute position embedding: the sinusoid table of max_seq_len columns
 *   divided by sqrt(D), linearly interpolated (align_corners=False) to Tp
 *   when Tp > max_seq_len, multiplied by the mask and added to the
 *   embedding output.
 *
 * Masks, key biases and the embedding are made on the host (they depend
 * only on T) and uploaded; all other arithmetic runs through the backend's
 * op table (backbone.c, heads.c). The arena layout is planned by one
 * function that either counts bytes (sizing) or hands out the buffers (each
 * forward), so the two cannot disagree.
 */
#include <math.h>
#include <string.h>

#include "actionformer-private.h"

/* ---- activation arena ---- */

typedef struct {
    TslArena *arena; /* NULL: count bytes only */
    size_t bytes;
    GError *error;   /* first arena failure (a sizing bug), or NULL */
} Planner;

/* n floats, rounded as the arena rounds (256 bytes); NULL when counting */
static float *
plan_floats (Planner *p, size_t n)
{
    p->bytes += (n * sizeof (float) + 255) / 256 * 256;
    if (p->arena == NULL || p->error != NULL)
        return NULL;
    return tsl_arena_alloc (p->arena, n, &p->error);
}

static void
plan_tensor (Planner *p, TslTensor *t, int d0, int d1 /* 0: one dimension */)
{
    float *data = plan_floats (p, (size_t) d0 * MAX (d1, 1));

    if (p->arena == NULL)
        return;
    memset (t, 0, sizeof *t);
    t->ndim = d1 > 0 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->be = p->arena->be;
    t->data = data;
}

/* Lays out every activation of a forward at padded length Tp into act
 * (when p->arena is set); returns the bytes needed. */
static size_t
activations_plan (const TslActionFormer *m, Planner *p, TslAfActivations *act, int Tp)
{
    const TslActionFormerConfig *cfg = &m->cfg;
    const int D = cfg->embd_dim, H = cfg->n_head, K = cfg->num_classes;
    const int head_width = MAX (MAX (cfg->fpn_dim, cfg->head_dim), 2);
    size_t att = 0, scores = 0;

    act->padded_len = Tp;
    for (int level = 0; level < cfg->n_levels; level++)
        act->level_len[level] = Tp / tsl_actionformer_config_level_stride (cfg, level);

    plan_tensor (p, &act->input, cfg->input_dim, Tp);
    plan_tensor (p, &act->embd_out, D, Tp);
    for (int i = 0; i < cfg->n_stem_blocks; i++)
        plan_tensor (p, &act->stem_out[i], D, Tp);
    for (int level = 0; level < cfg->n_levels; level++) {
        const int T = act->level_len[level];
        plan_tensor (p, &act->mask[level], T, 0);
        act->key_bias[level] = plan_floats (p, T);
        if (level > 0)
            plan_tensor (p, &act->backbone_feats[level], D, T);
        else if (p->arena != NULL)
            act->backbone_feats[0] = cfg->n_stem_blocks > 0
                                         ? act->stem_out[cfg->n_stem_blocks - 1]
                                         : act->embd_out;
        if (cfg->fpn_with_ln)
            plan_tensor (p, &act->fpn_feats[level], cfg->fpn_dim, T);
        else if (p->arena != NULL)
            act->fpn_feats[level] = act->backbone_feats[level];
        plan_tensor (p, &act->cls_logits[level], K, T);
        plan_tensor (p, &act->reg_offsets[level], 2, T);
    }
    act->pe = cfg->use_abs_pe ? plan_floats (p, (size_t) D * Tp) : NULL;

    for (int i = 0; i < 7; i++)
        act->tmp[i] = plan_floats (p, (size_t) D * Tp);
    act->hidden = plan_floats (p, (size_t) 4 * D * Tp);
    act->hidden_act = plan_floats (p, (size_t) 4 * D * Tp);
    for (int i = 0; i < cfg->n_stem_blocks + cfg->n_branch_blocks; i++) {
        const TslAfBlock *b = &m->params.blocks[i];
        size_t T = (size_t) act->level_len[i < cfg->n_stem_blocks ? 0 : i - cfg->n_stem_blocks + 1];
        att = MAX (att, (size_t) H * T * (b->window > 0 ? (size_t) b->window : T));
        if (b->window == 0)
            scores = MAX (scores, (size_t) H * T * T);
    }
    act->att = plan_floats (p, att);
    act->scores = scores > 0 ? plan_floats (p, scores) : NULL;
    act->argmax = (int32_t *) plan_floats (p, (size_t) D * Tp);
    act->mean = plan_floats (p, Tp);
    act->rstd = plan_floats (p, Tp);
    for (int i = 0; i < 3; i++)
        act->head_tmp[i] = plan_floats (p, (size_t) head_width * Tp);
    return p->bytes;
}

gboolean
tsl_actionformer_reserve (TslActionFormer *m, int max_padded_len, GError **error)
{
    const TslActionFormerConfig *cfg = &m->cfg;
    Planner counter = { NULL, 0, NULL };
    TslAfActivations sizes = { 0 };
    size_t bytes, level_total = 0;

    if (max_padded_len <= m->reserved_len)
        return TRUE;
    sizes.stem_out = m->act.stem_out; /* not written while counting */
    bytes = activations_plan (m, &counter, &sizes, max_padded_len);
    if (!tsl_backend_synchronize (m->be, error))
        return FALSE;
    tsl_arena_clear (&m->arena);
    m->have_forward = FALSE;
    if (!tsl_arena_init (&m->arena, m->be, bytes, error)) {
        m->reserved_len = 0;
        return FALSE;
    }
    for (int level = 0; level < cfg->n_levels; level++)
        level_total += sizes.level_len[level];
    m->host_input = g_renew (float, m->host_input, (size_t) cfg->input_dim * max_padded_len);
    m->host_pe = g_renew (float, m->host_pe, (size_t) cfg->embd_dim * max_padded_len);
    m->host_mask = g_renew (float, m->host_mask, level_total);
    m->host_key_bias = g_renew (float, m->host_key_bias, level_total);
    m->host_out = g_renew (float, m->host_out,
                           (size_t) (cfg->num_classes + 2 + cfg->fpn_dim) * level_total);
    m->reserved_len = max_padded_len;
    g_debug ("ActionFormer: %zu bytes of activations for padded length %d", bytes,
             max_padded_len);
    return TRUE;
}

/* ---- forward ---- */

/* The masked position embedding [D, Tp] into m->host_pe: the table itself
 * at Tp == max_seq_len, else F.interpolate(mode='linear',
 * align_corners=False) in float as PyTorch's CPU kernel computes it. */
static void
position_embedding (TslActionFormer *m, int Tp, int T)
{
    const int D = m->cfg.embd_dim, n_in = m->cfg.max_seq_len;
    const float scale = (float) n_in / (float) Tp;

    for (int c = 0; c < D; c++) {
        const float *table_c = m->pe_table + (size_t) c * n_in;
        float *pe_c = m->host_pe + (size_t) c * Tp;
        for (int t = 0; t < Tp; t++) {
            float value;
            if (Tp <= n_in) {
                value = table_c[t];
            } else {
                float src = MAX (scale * (t + 0.5f) - 0.5f, 0.0f);
                int i0 = (int) src, i1 = i0 + (i0 < n_in - 1 ? 1 : 0);
                float lambda1 = src - (float) i0, lambda0 = 1.0f - lambda1;
                value = lambda0 * table_c[i0] + lambda1 * table_c[i1];
            }
            pe_c[t] = t < T ? value : 0.0f;
        }
    }
}

/* Pads the input, builds masks, key biases and the position embedding on
 * the host and uploads them. */
static void
upload_inputs (TslActionFormer *m, const float *feats /* [C_in, T] */, int T)
{
    TslBackend *be = m->be;
    const TslActionFormerConfig *cfg = &m->cfg;
    TslAfActivations *act = &m->act;
    const int Tp = act->padded_len;
    size_t offset = 0;

    /* each channel alone writes its row */
#pragma omp parallel for
    for (int c = 0; c < cfg->input_dim; c++) {
        float *row = m->host_input + (size_t) c * Tp;
        memcpy (row, feats + (size_t) c * T, sizeof (float) * T);
        memset (row + T, 0, sizeof (float) * (Tp - T));
    }
    tsl_backend_upload (be, act->input.data, m->host_input, sizeof (float) * cfg->input_dim * Tp);

    for (int level = 0; level < cfg->n_levels; level++) {
        const gint64 stride = tsl_actionformer_config_level_stride (cfg, level);
        const int T_L = act->level_len[level];
        float *mask = m->host_mask + offset, *key_bias = m->host_key_bias + offset;
        for (int i = 0; i < T_L; i++) {
            gboolean valid = i * stride < T;
            mask[i] = valid ? 1.0f : 0.0f;
            key_bias[i] = valid ? 0.0f : -INFINITY;
        }
        act->all_valid[level] = (T_L - 1) * stride < T;
        tsl_backend_upload (be, act->mask[level].data, mask, sizeof (float) * T_L);
        tsl_backend_upload (be, act->key_bias[level], key_bias, sizeof (float) * T_L);
        offset += T_L;
    }

    if (act->pe != NULL) {
        position_embedding (m, Tp, T);
        tsl_backend_upload (be, act->pe, m->host_pe, sizeof (float) * cfg->embd_dim * Tp);
    }
}

gboolean
tsl_actionformer_forward (TslActionFormer *m, const float *feats_host, int T,
                          TslActionFormerOutput *out, GError **error)
{
    const TslActionFormerConfig *cfg = &m->cfg;
    TslAfActivations *act = &m->act;
    Planner planner = { &m->arena, 0, NULL };
    double buffer_len = ceil ((double) cfg->max_seq_len * cfg->max_buffer_len_factor);
    float *host_out;
    size_t offset = 0;
    int Tp;

    g_return_val_if_fail (feats_host != NULL && out != NULL, FALSE);
    if (T < 1 || (double) T > buffer_len) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "ActionFormer: input of %d feature vectors; 1 to max_seq_len x "
                     "max_buffer_len_factor = %.0f are accepted", T, buffer_len);
        return FALSE;
    }
    Tp = tsl_actionformer_config_padded_len (cfg, T);
    if ((double) Tp > buffer_len) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "ActionFormer: input of %d feature vectors pads to %d, beyond the %.0f "
                     "points of max_seq_len x max_buffer_len_factor", T, Tp, buffer_len);
        return FALSE;
    }
    if (!tsl_actionformer_reserve (m, Tp, error))
        return FALSE;
    tsl_arena_reset (&m->arena);
    activations_plan (m, &planner, act, Tp);
    if (planner.error != NULL) {
        g_propagate_prefixed_error (error, planner.error, "ActionFormer activations: ");
        m->have_forward = FALSE;
        return FALSE;
    }
    m->have_forward = TRUE;
    host_out = m->host_out;

    upload_inputs (m, feats_host, T);
    tsl_actionformer_backbone_forward (m);
    tsl_actionformer_heads_forward (m);

    memset (out, 0, sizeof *out);
    out->n_levels = cfg->n_fpn_levels;
    out->valid_len = T;
    out->padded_len = Tp;
    for (int level = 0; level < cfg->n_fpn_levels; level++) {
        const size_t T_L = act->level_len[level];
        const size_t n_cls = cfg->num_classes * T_L, n_fpn = cfg->fpn_dim * T_L;
        out->level_len[level] = act->level_len[level];
        out->mask[level] = m->host_mask + offset;
        offset += T_L;
        tsl_backend_download (m->be, host_out, act->cls_logits[level].data, n_cls * sizeof (float));
        out->cls_logits[level] = host_out;
        host_out += n_cls;
        tsl_backend_download (m->be, host_out, act->reg_offsets[level].data,
                              2 * T_L * sizeof (float));
        out->reg_offsets[level] = host_out;
        host_out += 2 * T_L;
        tsl_backend_download (m->be, host_out, act->fpn_feats[level].data, n_fpn * sizeof (float));
        out->fpn_feats[level] = host_out;
        host_out += n_fpn;
    }
    return tsl_backend_synchronize (m->be, error);
}

const TslTensor *
tsl_actionformer_activation (const TslActionFormer *m, TslActionFormerActivation which, int index)
{
    const TslActionFormerConfig *cfg = &m->cfg;
    const TslAfActivations *act = &m->act;
    int n = which == TSL_ACTIONFORMER_STEM_OUT ? cfg->n_stem_blocks : cfg->n_fpn_levels;

    if (!m->have_forward || (which != TSL_ACTIONFORMER_EMBD_OUT && (index < 0 || index >= n)))
        return NULL;
    switch (which) {
    case TSL_ACTIONFORMER_EMBD_OUT:
        return &act->embd_out;
    case TSL_ACTIONFORMER_STEM_OUT:
        return &act->stem_out[index];
    case TSL_ACTIONFORMER_BACKBONE_FEATS:
        return &act->backbone_feats[index];
    case TSL_ACTIONFORMER_FPN_FEATS:
        return &act->fpn_feats[index];
    case TSL_ACTIONFORMER_CLS_LOGITS:
        return &act->cls_logits[index];
    case TSL_ACTIONFORMER_REG_OFFSETS:
        return &act->reg_offsets[index];
    case TSL_ACTIONFORMER_MASK:
        return &act->mask[index];
    }
    return NULL;
}

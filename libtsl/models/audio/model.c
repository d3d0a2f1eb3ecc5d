/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * model.c: creating the audio model (model.h) from a safetensors file: the
 * configuration (tsl.config or the caller's), the log-mel front end, and
 * every parameter under the names of model.h, shape-checked and uploaded
 * once; plus the activation arena and the accessors. The forward is in
 * forward.c.
 */
#include <string.h>

#include "audio-private.h"
#include "../../ops.h"

#define AUDIO_MODEL_NAME "audio-resnet"

/* ---- loading ---- */

static const float *
load_tensor (TslAudioModel *m, const TslSafetensors *st, const char *name, int ndim,
             const int *shape, GError **error)
{
    TslTensor *t = tsl_safetensors_load (st, name, m->be, ndim, shape, error);

    if (t == NULL)
        return NULL;
    g_ptr_array_add (m->tensors, t);
    return t->data;
}

static gboolean
load_batch_norm (TslAudioModel *m, const TslSafetensors *st, const char *prefix, int C,
                 TslAudioBatchNorm *bn, GError **error)
{
    static const char *const fields[4] = { "scale", "offset", "mean", "var" };
    const float **slots[4] = { &bn->scale, &bn->offset, &bn->mean, &bn->var };

    for (int i = 0; i < 4; i++) {
        g_autofree char *name = g_strdup_printf ("%s.%s", prefix, fields[i]);
        *slots[i] = load_tensor (m, st, name, 1, &C, error);
        if (*slots[i] == NULL)
            return FALSE;
    }
    return TRUE;
}

static const float *
load_conv (TslAudioModel *m, const TslSafetensors *st, const char *name, int c_out, int c_in,
           int k, GError **error)
{
    const int shape[4] = { c_out, c_in, k, k };

    return load_tensor (m, st, name, 4, shape, error);
}

static gboolean
load_block (TslAudioModel *m, const TslSafetensors *st, int stage, int index, int c_in,
            TslAudioBlock *blk, GError **error)
{
    g_autofree char *prefix = g_strdup_printf ("resnet.block_group_%d.block_%d", stage, index);
    const int kernel[3] = { 1, 3, 1 };

    blk->c_in = c_in;
    blk->c_out = tsl_audio_config_stage_channels (&m->cfg, stage);
    blk->c_mid = blk->c_out / 4;
    blk->stride = index == 0 && stage > 0 ? 2 : 1;
    blk->projection = index == 0 && c_in != blk->c_out;
    for (int j = 0; j < 3; j++) {
        const int bn_c = j == 0 ? c_in : blk->c_mid;
        const int conv_in = j == 0 ? c_in : blk->c_mid;
        const int conv_out = j == 2 ? blk->c_out : blk->c_mid;
        g_autofree char *bn = g_strdup_printf ("%s.batch_norm_%d", prefix, j);
        g_autofree char *conv = g_strdup_printf ("%s.conv_%d.w", prefix, j);

        if (!load_batch_norm (m, st, bn, bn_c, &blk->bn[j], error))
            return FALSE;
        blk->conv[j] = load_conv (m, st, conv, conv_out, conv_in, kernel[j], error);
        if (blk->conv[j] == NULL)
            return FALSE;
    }
    blk->shortcut = NULL;
    if (blk->projection) {
        g_autofree char *name = g_strdup_printf ("%s.shortcut_conv.w", prefix);
        blk->shortcut = load_conv (m, st, name, blk->c_out, c_in, 1, error);
        if (blk->shortcut == NULL)
            return FALSE;
    }
    return TRUE;
}

static gboolean
load_resnet (TslAudioModel *m, const TslSafetensors *st, GError **error)
{
    const TslAudioConfig *cfg = &m->cfg;
    int c_in = cfg->width, i = 0;

    m->initial_conv = load_conv (m, st, "resnet.initial_conv.w", cfg->width, 1, 7, error);
    if (m->initial_conv == NULL)
        return FALSE;
    m->n_blocks = 0;
    for (int g = 0; g < TSL_AUDIO_N_STAGES; g++)
        m->n_blocks += cfg->blocks[g];
    m->blocks = g_new0 (TslAudioBlock, m->n_blocks);
    for (int g = 0; g < TSL_AUDIO_N_STAGES; g++) {
        for (int b = 0; b < cfg->blocks[g]; b++, i++) {
            if (!load_block (m, st, g, b, c_in, &m->blocks[i], error))
                return FALSE;
            c_in = m->blocks[i].c_out;
        }
    }
    return load_batch_norm (m, st, "resnet.batch_norm", c_in, &m->final_bn, error);
}

/* The head tensors: loaded when the file has them or when the configured
 * head needs them (then a missing one is the loader's error). */
static gboolean
load_heads (TslAudioModel *m, const TslSafetensors *st, GError **error)
{
    const TslAudioConfig *cfg = &m->cfg;
    const int c3 = tsl_audio_config_stage_channels (cfg, TSL_AUDIO_N_STAGES - 1);
    const int va_shape[2] = { cfg->va_dim, c3 }, vat_shape[2] = { cfg->vat_dim, cfg->va_dim };
    const gboolean want_va = cfg->head != TSL_AUDIO_HEAD_BACKBONE ||
                             tsl_safetensors_find (st, "audio_embd.final_projection.w") != NULL;
    const gboolean want_vat = cfg->head == TSL_AUDIO_HEAD_VAT ||
                              tsl_safetensors_find (st, "vis_embd.final_projection.w") != NULL;

    if (want_va) {
        m->va_w = load_tensor (m, st, "audio_embd.final_projection.w", 2, va_shape, error);
        if (m->va_w == NULL)
            return FALSE;
        m->va_b = load_tensor (m, st, "audio_embd.final_projection.b", 1, &cfg->va_dim, error);
        if (m->va_b == NULL)
            return FALSE;
    }
    if (want_vat && want_va) {
        m->vat_w = load_tensor (m, st, "vis_embd.final_projection.w", 2, vat_shape, error);
        if (m->vat_w == NULL)
            return FALSE;
        m->vat_b = load_tensor (m, st, "vis_embd.final_projection.b", 1, &cfg->vat_dim, error);
        if (m->vat_b == NULL)
            return FALSE;
        if (!load_batch_norm (m, st, "vis_embd.batch_norm", cfg->vat_dim, &m->vat_bn, error))
            return FALSE;
    }
    return TRUE;
}

static gboolean
check_ops (const TslBackend *be, GError **error)
{
    const TslBackendOps *ops = be->ops;

    if (ops->conv2d && ops->maxpool2d && ops->batchnorm && ops->relu && ops->add && ops->mean &&
        ops->gemm && ops->bias_add)
        return TRUE;
    g_set_error (error, TSL_ERROR, TSL_ERROR_UNSUPPORTED,
                 "audio model: backend '%s' lacks one of the ops conv2d, maxpool2d, batchnorm, "
                 "relu, add, mean, gemm, bias_add", ops->name);
    return FALSE;
}

TslAudioModel *
tsl_audio_model_new (TslBackend *be, const TslSafetensors *st, const TslAudioConfig *config,
                     GError **error)
{
    TslAudioConfig parsed;
    TslAudioModel *m;
    GError *local_error = NULL;

    if (config == NULL) {
        const char *model = tsl_safetensors_get_metadata (st, "tsl.model");
        const char *json = tsl_safetensors_get_metadata (st, "tsl.config");

        if (g_strcmp0 (model, AUDIO_MODEL_NAME) != 0) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                         "%s: metadata tsl.model is '%s', expected '%s'",
                         tsl_safetensors_path (st), model ? model : "(none)", AUDIO_MODEL_NAME);
            return NULL;
        }
        if (json == NULL) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                         "%s: no 'tsl.config' metadata (the model configuration)",
                         tsl_safetensors_path (st));
            return NULL;
        }
        tsl_audio_config_init (&parsed);
        if (!tsl_audio_config_parse (&parsed, json, &local_error)) {
            g_propagate_prefixed_error (error, local_error, "%s: ", tsl_safetensors_path (st));
            return NULL;
        }
        config = &parsed;
    }
    if (!check_ops (be, error))
        return NULL;
    m = g_new0 (TslAudioModel, 1);
    m->be = be;
    m->cfg = *config;
    m->head = config->head;
    m->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) tsl_tensor_free);
    m->logmel = tsl_logmel_new (&config->logmel, &local_error);
    if (m->logmel == NULL) {
        g_propagate_prefixed_error (error, local_error, "%s: ", tsl_safetensors_path (st));
        tsl_audio_model_free (m);
        return NULL;
    }
    if (!load_resnet (m, st, error) || !load_heads (m, st, error)) {
        tsl_audio_model_free (m);
        return NULL;
    }
    return m;
}

TslAudioModel *
tsl_audio_model_load (TslBackend *be, const char *path, GError **error)
{
    g_autoptr (TslSafetensors) st = tsl_safetensors_open (path, error);

    if (st == NULL)
        return NULL;
    return tsl_audio_model_new (be, st, NULL, error);
}

void
tsl_audio_model_free (TslAudioModel *m)
{
    if (m == NULL)
        return;
    tsl_arena_clear (&m->arena);
    tsl_logmel_free (m->logmel);
    g_ptr_array_unref (m->tensors);
    g_free (m->blocks);
    g_free (m->host_logmel);
    g_free (m);
}

/* ---- activations ---- */

void
tsl_audio_geometry (const TslAudioConfig *cfg, int B, int F, TslAudioGeometry *g)
{
    const int mel = cfg->logmel.num_mel_bins;
    int pad, h, w, c_in = cfg->width;
    size_t most;

    g->B = B;
    g->F = F;
    tsl_conv2d_same_padding (F, 7, 2, &pad, &g->conv_h);
    tsl_conv2d_same_padding (mel, 7, 2, &pad, &g->conv_w);
    tsl_conv2d_same_padding (g->conv_h, 3, 2, &pad, &g->stem_h);
    tsl_conv2d_same_padding (g->conv_w, 3, 2, &pad, &g->stem_w);
    most = (size_t) B * cfg->width * g->conv_h * g->conv_w;
    h = g->stem_h;
    w = g->stem_w;
    for (int s = 0; s < TSL_AUDIO_N_STAGES; s++) {
        const int c_out = tsl_audio_config_stage_channels (cfg, s), c_mid = c_out / 4;
        const int stride = s > 0 ? 2 : 1;
        const size_t in_plane = (size_t) B * h * w;
        int ho, wo;

        tsl_conv2d_same_padding (h, 3, stride, &pad, &ho);
        tsl_conv2d_same_padding (w, 3, stride, &pad, &wo);
        /* the first block is the largest of its stage */
        most = MAX (most, in_plane * MAX (c_in, c_mid));
        most = MAX (most, (size_t) B * ho * wo * c_out);
        g->stage_h[s] = h = ho;
        g->stage_w[s] = w = wo;
        c_in = c_out;
    }
    most = MAX (most, (size_t) B * MAX (cfg->va_dim, cfg->vat_dim));
    g->scratch = most;
}

gboolean
tsl_audio_reserve_frames (TslAudioModel *m, int B, int F, GError **error)
{
    const TslAudioConfig *cfg = &m->cfg;
    const int mel = cfg->logmel.num_mel_bins;
    const int c3 = tsl_audio_config_stage_channels (cfg, TSL_AUDIO_N_STAGES - 1);
    TslAudioGeometry g;
    size_t floats = 0;

    if (B < 1 || F < 1) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "audio model: %d windows of %d log-mel frames", B, F);
        return FALSE;
    }
    if (B <= m->reserved_B && F <= m->reserved_F)
        return TRUE;
    B = MAX (B, m->reserved_B);
    F = MAX (F, m->reserved_F);
    tsl_audio_geometry (cfg, B, F, &g);
    floats += (size_t) B * F * mel + (size_t) B * cfg->width * g.stem_h * g.stem_w;
    for (int s = 0; s < TSL_AUDIO_N_STAGES; s++)
        floats += (size_t) B * tsl_audio_config_stage_channels (cfg, s) * g.stage_h[s] *
                  g.stage_w[s];
    floats += (size_t) B * (c3 + cfg->va_dim + cfg->vat_dim);
    floats += G_N_ELEMENTS (m->act.scratch) * g.scratch;
    /* each allocation is rounded up to 256 bytes */
    floats += (TSL_AUDIO_N_STAGES + 5 + G_N_ELEMENTS (m->act.scratch)) * 64;

    tsl_arena_clear (&m->arena);
    m->reserved_B = m->reserved_F = 0;
    m->have_output = FALSE;
    if (!tsl_arena_init (&m->arena, m->be, floats * sizeof (float), error))
        return FALSE;
    g_free (m->host_logmel);
    m->host_logmel = g_new (float, (size_t) B * F * mel);
    m->reserved_B = B;
    m->reserved_F = F;
    return TRUE;
}

gboolean
tsl_audio_model_reserve (TslAudioModel *m, int B, int N, GError **error)
{
    const int F = tsl_logmel_n_frames (m->logmel, N);

    if (F < 1) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "audio model: %d samples give no log-mel frame (frame_length %d)", N,
                     m->cfg.logmel.frame_length);
        return FALSE;
    }
    return tsl_audio_reserve_frames (m, B, F, error);
}

/* ---- accessors ---- */

const TslAudioConfig *
tsl_audio_model_get_config (const TslAudioModel *m)
{
    return &m->cfg;
}

int
tsl_audio_model_sample_rate (const TslAudioModel *m)
{
    return m->cfg.logmel.sample_rate;
}

int
tsl_audio_model_window_samples (const TslAudioModel *m)
{
    return m->cfg.window_samples;
}

TslAudioHead
tsl_audio_model_get_head (const TslAudioModel *m)
{
    return m->head;
}

int
tsl_audio_model_output_dim (const TslAudioModel *m)
{
    return tsl_audio_config_head_dim (&m->cfg, m->head);
}

gboolean
tsl_audio_model_set_head (TslAudioModel *m, TslAudioHead head, GError **error)
{
    if ((head != TSL_AUDIO_HEAD_BACKBONE && m->va_w == NULL) ||
        (head == TSL_AUDIO_HEAD_VAT && m->vat_w == NULL)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_UNSUPPORTED,
                     "audio model: the file has no '%s' head (no %s tensors)",
                     tsl_audio_head_name (head),
                     m->va_w == NULL ? "audio_embd" : "vis_embd");
        return FALSE;
    }
    m->head = head;
    return TRUE;
}

int
tsl_audio_model_n_frames (const TslAudioModel *m, int N)
{
    return tsl_logmel_n_frames (m->logmel, N);
}

void
tsl_audio_model_logmel (TslAudioModel *m, float *logmel, const float *waveforms, int B, int N)
{
    tsl_logmel_compute (m->logmel, logmel, waveforms, B, N);
}

const TslTensor *
tsl_audio_model_activation (const TslAudioModel *m, TslAudioActivation which, int index)
{
    if (!m->have_output)
        return NULL;
    switch (which) {
    case TSL_AUDIO_LOGMEL:
        return &m->act.logmel;
    case TSL_AUDIO_STEM:
        return &m->act.stem;
    case TSL_AUDIO_STAGE:
        return index >= 0 && index < TSL_AUDIO_N_STAGES ? &m->act.stage[index] : NULL;
    case TSL_AUDIO_POOLED:
        return &m->act.pooled;
    case TSL_AUDIO_VA:
        return m->last_head != TSL_AUDIO_HEAD_BACKBONE ? &m->act.va : NULL;
    case TSL_AUDIO_VAT:
        return m->last_head == TSL_AUDIO_HEAD_VAT ? &m->act.vat : NULL;
    }
    return NULL;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * forward.c: the inference forward of the audio model (model.h), every op
 * through the backend's table. Layout NCHW, H = frames, W = mel bins.
 *
 * Scratch use inside a block (x = block input, out = block output):
 *   T1 = bn_0(x); P = relu(T1)                       pre-activation a0
 *   SC = shortcut_conv(P) when projecting, else x    (resnet.py: the
 *        shortcut is taken from the pre-activated input)
 *   T1 = conv_0(P); T2 = bn_1(T1); P = relu(T2)
 *   T1 = conv_1(P) (stride, 'SAME'); T2 = bn_2(T1); P = relu(T2)
 *   T1 = conv_2(P); out = T1 + SC
 * Blocks inside a stage alternate between the buffers Q0 and Q1; the last
 * one writes the stage's output tensor, which is kept for inspection.
 */
#include "audio-private.h"
#include "../../ops.h"

enum { SCRATCH_P, SCRATCH_T1, SCRATCH_T2, SCRATCH_SC, SCRATCH_Q0, SCRATCH_Q1 };

/* 'SAME' convolution without bias, k x k, stride s */
static void
conv_same (TslBackend *be, float *out /* [B, Cout, Ho, Wo] */, const float *x /* [B, Cin, H, W] */,
           const float *w /* [Cout, Cin, k, k] */, int B, int Cin, int H, int W, int Cout, int k,
           int stride, int *Ho, int *Wo)
{
    int pad_top, pad_left;

    tsl_conv2d_same_padding (H, k, stride, &pad_top, Ho);
    tsl_conv2d_same_padding (W, k, stride, &pad_left, Wo);
    be->ops->conv2d (be, out, x, w, NULL, B, Cin, H, W, Cout, k, k, stride, stride, pad_top,
                     pad_left, *Ho, *Wo);
}

/* out = relu(bn(x)), through `tmp` */
static void
bn_relu (const TslAudioModel *m, float *out /* [B, C, S] */, float *tmp /* [B, C, S] */,
         const float *x /* [B, C, S] */, const TslAudioBatchNorm *bn, int B, int C, int S)
{
    TslBackend *be = m->be;

    be->ops->batchnorm (be, tmp, x, bn->mean, bn->var, bn->scale, bn->offset, B, C, S,
                        (float) m->cfg.bn_eps);
    be->ops->relu (be, out, tmp, (size_t) B * C * S);
}

/* One pre-activation bottleneck block; *H and *W become the output size */
static void
block_forward (TslAudioModel *m, const TslAudioBlock *blk, float *out /* [B, c_out, Ho, Wo] */,
               const float *x /* [B, c_in, H, W] */, int B, int *H, int *W)
{
    TslBackend *be = m->be;
    float **s = m->act.scratch;
    const int S = *H * *W;
    const float *shortcut = x;
    int Ho, Wo, h, w;

    bn_relu (m, s[SCRATCH_P], s[SCRATCH_T1], x, &blk->bn[0], B, blk->c_in, S);
    if (blk->projection) {
        conv_same (be, s[SCRATCH_SC], s[SCRATCH_P], blk->shortcut, B, blk->c_in, *H, *W,
                   blk->c_out, 1, blk->stride, &Ho, &Wo);
        shortcut = s[SCRATCH_SC];
    }
    conv_same (be, s[SCRATCH_T1], s[SCRATCH_P], blk->conv[0], B, blk->c_in, *H, *W, blk->c_mid, 1,
               1, &h, &w);
    bn_relu (m, s[SCRATCH_P], s[SCRATCH_T2], s[SCRATCH_T1], &blk->bn[1], B, blk->c_mid, S);
    conv_same (be, s[SCRATCH_T1], s[SCRATCH_P], blk->conv[1], B, blk->c_mid, *H, *W, blk->c_mid,
               3, blk->stride, &Ho, &Wo);
    bn_relu (m, s[SCRATCH_P], s[SCRATCH_T2], s[SCRATCH_T1], &blk->bn[2], B, blk->c_mid,
             Ho * Wo);
    conv_same (be, s[SCRATCH_T1], s[SCRATCH_P], blk->conv[2], B, blk->c_mid, Ho, Wo, blk->c_out,
               1, 1, &h, &w);
    be->ops->add (be, out, s[SCRATCH_T1], shortcut, (size_t) B * blk->c_out * Ho * Wo);
    *H = Ho;
    *W = Wo;
}

/* Lays the activation tensors of this forward out in the arena */
static gboolean
activations_layout (TslAudioModel *m, const TslAudioGeometry *g, GError **error)
{
    const TslAudioConfig *cfg = &m->cfg;
    const int B = g->B, c3 = tsl_audio_config_stage_channels (cfg, TSL_AUDIO_N_STAGES - 1);
    const int logmel_shape[3] = { B, g->F, cfg->logmel.num_mel_bins };
    const int stem_shape[4] = { B, cfg->width, g->stem_h, g->stem_w };
    const int pooled_shape[2] = { B, c3 };
    const int va_shape[2] = { B, cfg->va_dim }, vat_shape[2] = { B, cfg->vat_dim };

    tsl_arena_reset (&m->arena);
    if (!tsl_arena_tensor (&m->arena, &m->act.logmel, 3, logmel_shape, error) ||
        !tsl_arena_tensor (&m->arena, &m->act.stem, 4, stem_shape, error) ||
        !tsl_arena_tensor (&m->arena, &m->act.pooled, 2, pooled_shape, error) ||
        !tsl_arena_tensor (&m->arena, &m->act.va, 2, va_shape, error) ||
        !tsl_arena_tensor (&m->arena, &m->act.vat, 2, vat_shape, error))
        return FALSE;
    for (int s = 0; s < TSL_AUDIO_N_STAGES; s++) {
        const int shape[4] = { B, tsl_audio_config_stage_channels (cfg, s), g->stage_h[s],
                               g->stage_w[s] };
        if (!tsl_arena_tensor (&m->arena, &m->act.stage[s], 4, shape, error))
            return FALSE;
    }
    for (size_t i = 0; i < G_N_ELEMENTS (m->act.scratch); i++) {
        m->act.scratch[i] = tsl_arena_alloc (&m->arena, g->scratch, error);
        if (m->act.scratch[i] == NULL)
            return FALSE;
    }
    return TRUE;
}

/* The network from the log-mel in act.logmel to the head's output */
static void
network_forward (TslAudioModel *m, const TslAudioGeometry *g)
{
    TslBackend *be = m->be;
    const TslAudioConfig *cfg = &m->cfg;
    float **s = m->act.scratch;
    const int B = g->B;
    const float *x = m->act.stem.data;
    int H, W, pad_top, pad_left, i = 0, C = cfg->width;

    /* stem: the log-mel as a 1-channel image [B, 1, F, mel] */
    conv_same (be, s[SCRATCH_T1], m->act.logmel.data, m->initial_conv, B, 1, g->F,
               cfg->logmel.num_mel_bins, cfg->width, 7, 2, &H, &W);
    tsl_conv2d_same_padding (H, 3, 2, &pad_top, &H);
    tsl_conv2d_same_padding (W, 3, 2, &pad_left, &W);
    be->ops->maxpool2d (be, m->act.stem.data, s[SCRATCH_T1], B, cfg->width, g->conv_h, g->conv_w,
                        3, 3, 2, 2, pad_top, pad_left, H, W);

    for (int stage = 0; stage < TSL_AUDIO_N_STAGES; stage++) {
        for (int b = 0; b < cfg->blocks[stage]; b++, i++) {
            const gboolean last = b == cfg->blocks[stage] - 1;
            float *out = last ? m->act.stage[stage].data
                              : s[x == s[SCRATCH_Q0] ? SCRATCH_Q1 : SCRATCH_Q0];

            block_forward (m, &m->blocks[i], out, x, B, &H, &W);
            x = out;
            C = m->blocks[i].c_out;
        }
    }

    /* final BN-ReLU, then the mean over time and frequency: [B * C, H * W, 1] */
    bn_relu (m, s[SCRATCH_P], s[SCRATCH_T1], x, &m->final_bn, B, C, H * W);
    be->ops->mean (be, m->act.pooled.data, s[SCRATCH_P], B * C, H * W, 1);
    if (m->head == TSL_AUDIO_HEAD_BACKBONE)
        return;

    /* va = pooled W_va^T + b_va */
    be->ops->gemm (be, s[SCRATCH_T1], m->act.pooled.data, m->va_w, 1, B, cfg->va_dim, C, FALSE,
                   TRUE, 1.0f, 0.0f, 0, 0, 0);
    be->ops->bias_add (be, m->act.va.data, s[SCRATCH_T1], m->va_b, B, cfg->va_dim, 1);
    if (m->head == TSL_AUDIO_HEAD_VA)
        return;

    /* vat = bn(relu(va) W_vat^T + b_vat) */
    be->ops->relu (be, s[SCRATCH_T2], m->act.va.data, (size_t) B * cfg->va_dim);
    be->ops->gemm (be, s[SCRATCH_T1], s[SCRATCH_T2], m->vat_w, 1, B, cfg->vat_dim, cfg->va_dim,
                   FALSE, TRUE, 1.0f, 0.0f, 0, 0, 0);
    be->ops->bias_add (be, s[SCRATCH_T2], s[SCRATCH_T1], m->vat_b, B, cfg->vat_dim, 1);
    be->ops->batchnorm (be, m->act.vat.data, s[SCRATCH_T2], m->vat_bn.mean, m->vat_bn.var,
                        m->vat_bn.scale, m->vat_bn.offset, B, cfg->vat_dim, 1,
                        (float) cfg->bn_eps);
}

static const TslTensor *
head_output (const TslAudioModel *m)
{
    switch (m->head) {
    case TSL_AUDIO_HEAD_VA:
        return &m->act.va;
    case TSL_AUDIO_HEAD_VAT:
        return &m->act.vat;
    default:
        return &m->act.pooled;
    }
}

/* Uploads `logmel` (host) and runs the network; features: host [B, D] */
static gboolean
run (TslAudioModel *m, const float *logmel /* [B, F, mel] */, int B, int F, float *features,
     GError **error)
{
    const TslAudioConfig *cfg = &m->cfg;
    TslAudioGeometry g;
    const TslTensor *out;

    tsl_audio_geometry (cfg, B, F, &g);
    if (!activations_layout (m, &g, error))
        return FALSE;
    tsl_backend_upload (m->be, m->act.logmel.data, logmel,
                        (size_t) B * F * cfg->logmel.num_mel_bins * sizeof (float));
    network_forward (m, &g);
    m->have_output = TRUE;
    m->last_head = m->head;
    out = head_output (m);
    tsl_backend_download (m->be, features, out->data, tsl_tensor_numel (out) * sizeof (float));
    return tsl_backend_synchronize (m->be, error);
}

gboolean
tsl_audio_model_forward_logmel (TslAudioModel *m, const float *logmel, int B, int F,
                                float *features, GError **error)
{
    if (!tsl_audio_reserve_frames (m, B, F, error))
        return FALSE;
    return run (m, logmel, B, F, features, error);
}

gboolean
tsl_audio_model_forward (TslAudioModel *m, const float *waveforms, int B, int N, float *features,
                         GError **error)
{
    const int F = tsl_logmel_n_frames (m->logmel, N);

    if (!tsl_audio_model_reserve (m, B, N, error))
        return FALSE;
    tsl_logmel_compute (m->logmel, m->host_logmel, waveforms, B, N);
    return run (m, m->host_logmel, B, F, features, error);
}

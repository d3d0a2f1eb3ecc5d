/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * audio-private.h: the parameters and activations of the audio model
 * (model.h), shared by model.c (loading) and forward.c. Parameter pointers
 * are device memory owned by the tensors in `tensors`; activation tensors
 * borrow the arena.
 */
#pragma once

#include "logmel.h"
#include "model.h"

G_BEGIN_DECLS

/* Inference batch norm over channels: all [C] */
typedef struct {
    const float *scale, *offset, *mean, *var;
} TslAudioBatchNorm;

/* One pre-activation bottleneck block */
typedef struct {
    int c_in, c_mid, c_out, stride;
    gboolean projection;           /* shortcut_conv present */
    TslAudioBatchNorm bn[3];       /* before conv_0, conv_1, conv_2 */
    const float *conv[3];          /* [c_mid, c_in, 1, 1], [c_mid, c_mid, 3, 3],
                                      [c_out, c_mid, 1, 1] */
    const float *shortcut;         /* [c_out, c_in, 1, 1] or NULL */
} TslAudioBlock;

/* Spatial size of the activations of one forward size */
typedef struct {
    int B, F;                                  /* windows, frames */
    int conv_h, conv_w;                        /* after initial_conv */
    int stem_h, stem_w;                        /* after the max pool */
    int stage_h[TSL_AUDIO_N_STAGES], stage_w[TSL_AUDIO_N_STAGES];
    size_t scratch;                            /* floats of each scratch buffer */
} TslAudioGeometry;

struct _TslAudioModel {
    TslBackend *be;
    TslAudioConfig cfg;
    TslLogmel *logmel;
    TslAudioHead head;
    GPtrArray *tensors;            /* TslTensor *, the parameters */

    const float *initial_conv;     /* [width, 1, 7, 7] */
    TslAudioBlock *blocks;         /* stage by stage */
    int n_blocks;
    TslAudioBatchNorm final_bn;    /* [4 * 8 * width] */
    const float *va_w, *va_b;      /* [va_dim, C3], [va_dim]; NULL when absent */
    const float *vat_w, *vat_b;    /* [vat_dim, va_dim], [vat_dim]; NULL when absent */
    TslAudioBatchNorm vat_bn;      /* [vat_dim] */

    /* activations, sized for reserved_B windows of reserved_F frames */
    TslArena arena;
    int reserved_B, reserved_F;
    gboolean have_output;          /* a forward has run */
    TslAudioHead last_head;        /* the head of the last forward */
    struct {
        TslTensor logmel;                       /* [B, F, mel] */
        TslTensor stem;                         /* [B, width, stem_h, stem_w] */
        TslTensor stage[TSL_AUDIO_N_STAGES];    /* [B, C_g, H_g, W_g] */
        TslTensor pooled;                       /* [B, C3] */
        TslTensor va;                           /* [B, va_dim] */
        TslTensor vat;                          /* [B, vat_dim] */
        float *scratch[6];                      /* [geometry.scratch] each */
    } act;
    float *host_logmel;            /* [reserved_B, reserved_F, mel] */
};

/* Sizes the arena (and the host log-mel buffer) for B windows of F frames. */
gboolean tsl_audio_reserve_frames (TslAudioModel *m, int B, int F, GError **error);

/* The activation sizes for B windows of F frames. */
void tsl_audio_geometry (const TslAudioConfig *cfg, int B, int F, TslAudioGeometry *g);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * config.h: the hyper-parameters of the audio model, read from the
 * `tsl.config` metadata of its model file: one flat JSON object whose keys
 * are the field names below (docs/audio-model.md lists them with their
 * sources). Absent keys keep the defaults, which are the released MMV
 * audio network's (deepmind-research mmv/config.py: ResNet-50, batch-norm
 * eps 1e-5) fed by DMVR's spectrogram defaults (48 kHz, 2048-sample frames
 * every 1024 samples, 80 mel bins from 80 to 7600 Hz, log(|.| + 1e-6)).
 * Unknown keys and values of the wrong type or range are TSL_ERROR_CONFIG
 * errors naming the key.
 */
#pragma once

#include <glib.h>

#include "logmel.h"

G_BEGIN_DECLS

#define TSL_AUDIO_N_STAGES 4

/* What tsl_audio_model_forward returns per window. */
typedef enum {
    TSL_AUDIO_HEAD_BACKBONE = 0, /* the mean-pooled ResNet output, 4 * 8 * width (2048) */
    TSL_AUDIO_HEAD_VA = 1,       /* audio -> video space: Linear (512) */
    TSL_AUDIO_HEAD_VAT = 2,      /* -> video-audio-text space: Linear, ReLU, Linear, BN (256) */
} TslAudioHead;

typedef struct {
    TslLogmelConfig logmel;  /* the front end (logmel.h) */
    int window_samples;      /* samples per feature window the model expects (3.2 s) */
    int width;               /* stem channels (64); stage g has 4 * width * 2^g outputs */
    int blocks[TSL_AUDIO_N_STAGES];  /* bottleneck blocks per stage (3, 4, 6, 3) */
    double bn_eps;           /* every batch norm (1e-5) */
    int va_dim;              /* 'va' embedding size (512) */
    int vat_dim;             /* 'vat' embedding size (256) */
    TslAudioHead head;       /* default output */
} TslAudioConfig;

void tsl_audio_config_init (TslAudioConfig *cfg);
/* Parses `json` over the defaults. */
gboolean tsl_audio_config_parse (TslAudioConfig *cfg, const char *json, GError **error);

/* "backbone", "va", "vat" */
const char *tsl_audio_head_name (TslAudioHead head);
/* FALSE for an unknown name */
gboolean tsl_audio_head_from_name (const char *name, TslAudioHead *head);

/* Channels of stage g's output; the backbone feature size is stage 3's. */
int tsl_audio_config_stage_channels (const TslAudioConfig *cfg, int stage);
/* The size of one output vector for head. */
int tsl_audio_config_head_dim (const TslAudioConfig *cfg, TslAudioHead head);

G_END_DECLS

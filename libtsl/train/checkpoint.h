/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/checkpoint.h: the whole training state in one safetensors file, so
 * that a stopped run resumes exactly where it was.
 *
 * Layout: for every model parameter <name> four float32 tensors of its
 * shape, param.<name> (the weights), ema.<name> (the exponential moving
 * average kept for evaluation), adam_m.<name> and adam_v.<name> (AdamW's
 * first and second moments); "__metadata__" holds
 *   tsl.checkpoint   "actionformer-train-state"
 *   tsl.version      "1"
 *   epoch, iteration, step_count   decimal integers >= 0
 *   loss_normalizer  %.17g decimal text (reads back to the same double)
 *   rng_state        64 lower-case hex digits, the four generator words
 *   config           the training configuration as JSON text
 *   tensor_sha256    SHA-256 (hex) of the tensors' bytes, parameter by
 *                    parameter in the caller's order, param, ema, adam_m,
 *                    adam_v each, so that damaged data is detected
 * The file is written to a temporary name, flushed and renamed (the
 * safetensors writer), so a crash leaves the previous checkpoint intact.
 *
 * Loading checks everything against the caller's parameter list before
 * copying anything: every expected tensor present, float32, of the
 * expected shape; no other tensors; every metadata field present and well
 * formed; the checksum matching. The first problem is reported by name (TSL_ERROR_FORMAT, or
 * TSL_ERROR_SHAPE for a shape mismatch), the message starting with the
 * file name.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "../error.h"
#include "../tensor.h"
#include "crop.h"

G_BEGIN_DECLS

#define TSL_CHECKPOINT_KIND "actionformer-train-state"
#define TSL_CHECKPOINT_VERSION "1"

/* One parameter and its training companions, host memory, numel floats each. */
typedef struct {
    const char *name;
    int ndim;                  /* 0 .. TSL_MAX_DIMS */
    int shape[TSL_MAX_DIMS];
    float *param;              /* [shape...] */
    float *ema;                /* [shape...] */
    float *adam_m;             /* [shape...] */
    float *adam_v;             /* [shape...] */
} TslCheckpointTensor;

typedef struct {
    int64_t epoch;
    int64_t iteration;
    int64_t step_count;        /* optimiser steps taken (AdamW's t) */
    double loss_normalizer;    /* the running EMA of positives */
    TslTrainRng rng;
    char *config_json;         /* owned by the caller on save; newly allocated on load */
} TslCheckpointState;

gboolean tsl_checkpoint_save (const char *path, const TslCheckpointState *state,
                              const TslCheckpointTensor *tensors, int n_tensors, GError **error);

/* Fills state (config_json: g_free) and the four buffers of every tensor,
 * which must already have the expected names and shapes. Nothing is
 * written unless the whole file is valid. */
gboolean tsl_checkpoint_load (const char *path, TslCheckpointState *state,
                              const TslCheckpointTensor *tensors, int n_tensors, GError **error);

G_END_DECLS

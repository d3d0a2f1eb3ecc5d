/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * decode/decode.h: ActionFormer's post-processing in one call, from the
 * heads' outputs of one video to its events in seconds, and the umbrella
 * header of the decode stages:
 *   candidates.h  per-level score threshold, top-k, segment decoding
 *   sigmoid.h     the class-score sigmoid, rounded as the reference
 *   nms.h         batched soft / hard NMS (and voting)
 *   seconds.h     grid units to seconds, clamped to the video
 * They reproduce happyharrycn/actionformer_release (commit 61ea7eb)
 * LocPointTransformer.inference_single_video + postprocessing bit for bit
 * (class-agnostic voting aside, see nms.h).
 */
#pragma once

#include <glib.h>

#include "candidates.h"
#include "config.h"
#include "nms.h"
#include "seconds.h"
#include "segment.h"
#include "sigmoid.h"

G_BEGIN_DECLS

/* One FPN level of one video, channels-first as the heads output it. */
typedef struct {
    const float *cls_logits; /* [K, T], before the sigmoid */
    const float *offsets;    /* [2, T], start / end distances in units of stride */
    const float *mask;       /* [T], 1 = valid, 0 = padding; NULL: all valid */
    int T;
    int stride;              /* grid units between the level's points (2^L) */
} TslDecodeLevel;

/* Candidates of levels[0, n_levels) in order, NMS, conversion to seconds.
 * Returns a new GArray of TslSegment (seconds, descending score), or NULL
 * with TSL_ERROR_CONFIG when the config fails tsl_decode_config_check(). */
GArray *tsl_decode_video (const TslDecodeLevel *levels /* [n_levels] */, int n_levels, int K,
                          const TslDecodeTiming *timing, const TslDecodeConfig *config,
                          GError **error);

G_END_DECLS

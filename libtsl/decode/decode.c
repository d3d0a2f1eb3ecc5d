/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * decode/decode.c: the whole post-processing of one video, stage after
 * stage as LocPointTransformer.inference_single_video and postprocessing
 * run them; see decode.h.
 */
#include "decode.h"

GArray *
tsl_decode_video (const TslDecodeLevel *levels, int n_levels, int K,
                  const TslDecodeTiming *timing, const TslDecodeConfig *config, GError **error)
{
    if (!tsl_decode_config_check (config, error))
        return NULL;

    g_autoptr (GArray) candidates = g_array_new (FALSE, FALSE, sizeof (TslSegment));
    for (int l = 0; l < n_levels; l++) {
        const TslDecodeLevel *level = &levels[l];
        tsl_decode_candidates (candidates, level->cls_logits, level->offsets, level->mask, K,
                               level->T, level->stride, config);
    }

    GArray *events = g_array_new (FALSE, FALSE, sizeof (TslSegment));
    tsl_decode_nms (events, (const TslSegment *) candidates->data, (int) candidates->len, config);
    tsl_decode_grid_to_seconds ((TslSegment *) events->data, (int) events->len, timing);
    return events;
}

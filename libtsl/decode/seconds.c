/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * decode/seconds.c: grid units to seconds with the reference's float32
 * rounding and clamping; see seconds.h.
 */
#include "seconds.h"

/* the reference rounds x * feat_stride before adding: no fused multiply-add */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

static inline float
grid_to_seconds (float x, float stride, float half_window, float fps, float duration)
{
    const float scaled = x * stride;

    x = (scaled + half_window) / fps;
    if (x <= 0.0f)
        x *= 0.0f;
    if (x >= duration)
        x = x * 0.0f + duration;
    return x;
}

void
tsl_decode_grid_to_seconds (TslSegment *segs, int n, const TslDecodeTiming *timing)
{
    const float stride = (float) timing->feat_stride;
    const float half_window = (float) (0.5 * timing->num_frames);
    const float fps = (float) timing->fps;
    const float duration = (float) timing->duration_s;

    for (int i = 0; i < n; i++) {
        segs[i].start = grid_to_seconds (segs[i].start, stride, half_window, fps, duration);
        segs[i].end = grid_to_seconds (segs[i].end, stride, half_window, fps, duration);
    }
}

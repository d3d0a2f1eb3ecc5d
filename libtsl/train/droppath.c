/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/droppath.c: the per-video keep draws of stochastic drop path; see
 * droppath.h.
 */
#include "droppath.h"

#include <math.h>

void
tsl_train_drop_path_draw (TslTrainRng *rng, double drop_prob, float *keep, size_t n)
{
    const float keep_prob = (float) (1.0 - drop_prob);

    for (size_t i = 0; i < n; i++) {
        const float u = (float) (tsl_train_rng_next (rng) >> 40) * 0x1p-24f;
        keep[i] = floorf (keep_prob + u);
    }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/droppath.h: which residual branches stochastic drop path keeps in
 * one training iteration (happyharrycn/actionformer_release 61ea7eb9,
 * libs/modeling/blocks.py drop_path, called by every AffineDropPath of a
 * TransformerBlock in training).
 *
 * The official rule, per module call and per video of the batch: u =
 * torch.rand (float32, uniform in [0, 1)), keep = floor(keep_prob + u) in
 * float32, keep_prob = 1 - drop_prob; the branch is kept (then divided by
 * keep_prob) when keep is 1 and dropped when it is 0, so it is kept with
 * probability keep_prob. Here u is the top 24 bits of one draw of the
 * trainer's generator (TslTrainRng, crop.h) times 2^-24, the float32 grid
 * torch.rand draws from; the values are drawn in the order the official
 * forward calls the modules (block by block, attention branch then MLP
 * branch, video by video), which is the layout
 * tsl_actionformer_train_forward reads.
 */
#pragma once

#include <glib.h>

#include "crop.h"

G_BEGIN_DECLS

/* keep[i] = floor((float) (1 - drop_prob) + u_i) for i < n, one draw each. */
void tsl_train_drop_path_draw (TslTrainRng *rng, double drop_prob, float *keep /* [n] */,
                               size_t n);

G_END_DECLS

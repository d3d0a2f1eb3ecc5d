/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/crop.h: the random cropping of training videos and the padding of a
 * batch, as the official ActionFormer training does it
 * (happyharrycn/actionformer_release libs/datasets/data_utils.py
 * truncate_feats, in the form with a window offset that the Perception Test
 * fork calls with the dataset's feat_offset; the batch padding of
 * libs/modeling/meta_archs.py preprocessing in training mode).
 *
 * Cropping a sample of length T to max_seq_len:
 *   - T <= max_seq_len and no crop ratio: unchanged. With a crop ratio
 *     [r0, r1], the target length is a uniform integer in
 *     [max (round (r0 T), 1), min (round (r1 T), T)] (round half to even,
 *     as Python's round); a target equal to T leaves the sample unchanged.
 *   - Up to max_num_trials times: a start st uniform in [0, T - len], the
 *     window [st - offset, st + len + offset] (float32) is intersected with
 *     every segment; a segment is kept when intersection / length >=
 *     trunc_thresh. The first window that keeps at least one segment (and,
 *     with no_trunc, cuts none partially) is taken; after the last trial its
 *     window is taken whatever it keeps.
 *   - The features become columns [st, st + len), the kept segments are
 *     clipped to the window and shifted by -st, their labels kept in order.
 * All arithmetic on segments is float32, as the official tensors are.
 *
 * Randomness comes from TslTrainRng (xoshiro256** seeded by splitmix64),
 * not from Python's Mersenne Twister, so the crops drawn for a given seed
 * differ from the official run; the distribution and every rule above are
 * the same. The generator's state is four 64-bit words that a checkpoint
 * stores, so a resumed run continues the same stream.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "../error.h"
#include "dataset.h"

G_BEGIN_DECLS

typedef struct {
    guint64 s[4];
} TslTrainRng;

void tsl_train_rng_seed (TslTrainRng *rng, guint64 seed);
guint64 tsl_train_rng_next (TslTrainRng *rng);
/* Uniform integer in [lo, hi] (lo <= hi), without modulo bias. */
int64_t tsl_train_rng_int (TslTrainRng *rng, int64_t lo, int64_t hi);

typedef struct {
    int max_seq_len;
    double trunc_thresh;   /* dataset.trunc_thresh, e.g. 0.5 */
    double offset;         /* window widening in grid units (the sample's feat_offset) */
    gboolean use_crop_ratio;
    double crop_ratio[2];  /* dataset.crop_ratio, e.g. [0.9, 1.0] */
    int max_num_trials;    /* 200 officially */
    gboolean has_action;   /* TRUE officially: keep at least one segment */
    gboolean no_trunc;     /* FALSE officially: also refuse partial cuts */
} TslCropConfig;

/* The official defaults: max_num_trials 200, has_action, no crop ratio. */
void tsl_crop_config_init (TslCropConfig *config, int max_seq_len, double trunc_thresh,
                           double offset);

/* Crops `sample` in place (see above). TRUE when it changed. */
gboolean tsl_crop_sample (TslTrainSample *sample, const TslCropConfig *config,
                          TslTrainRng *rng);

/* Pads samples[0, n) into feats [n, C, padded_len] (zeros after each
 * sample's length) and lengths [n]. TSL_ERROR_SHAPE naming the video when a
 * sample is longer than padded_len or its channel count is not C. Training
 * pads to max_seq_len. */
gboolean tsl_pad_batch (TslTrainSample *const *samples, int n, int n_channels, int padded_len,
                        float *feats /* [n, C, padded_len] */, int *lengths /* [n] */,
                        GError **error);

G_END_DECLS

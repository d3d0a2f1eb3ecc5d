/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/crop.c: the training crop (official truncate_feats rules, our own
 * random generator) and batch padding; see crop.h.
 */
#include "crop.h"

#include <math.h>
#include <string.h>

static guint64
splitmix64 (guint64 *x)
{
    guint64 z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void
tsl_train_rng_seed (TslTrainRng *rng, guint64 seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64 (&seed);
}

static inline guint64
rotl (guint64 x, int k)
{
    return (x << k) | (x >> (64 - k));
}

guint64
tsl_train_rng_next (TslTrainRng *rng)
{
    guint64 *s = rng->s;
    guint64 result = rotl (s[1] * 5, 7) * 9;
    guint64 t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl (s[3], 45);
    return result;
}

int64_t
tsl_train_rng_int (TslTrainRng *rng, int64_t lo, int64_t hi)
{
    g_return_val_if_fail (lo <= hi, lo);
    guint64 span = (guint64) hi - (guint64) lo; /* values above lo */
    if (span == 0)
        return lo;
    /* rejection on the smallest covering power of two: no modulo bias */
    guint64 mask = span;
    for (int shift = 1; shift < 64; shift <<= 1)
        mask |= mask >> shift;
    guint64 r;
    do
        r = tsl_train_rng_next (rng) & mask;
    while (r > span);
    return (int64_t) ((guint64) lo + r);
}

void
tsl_crop_config_init (TslCropConfig *config, int max_seq_len, double trunc_thresh,
                      double offset)
{
    *config = (TslCropConfig) {
        .max_seq_len = max_seq_len,
        .trunc_thresh = trunc_thresh,
        .offset = offset,
        .use_crop_ratio = FALSE,
        .crop_ratio = { 1.0, 1.0 },
        .max_num_trials = 200,
        .has_action = TRUE,
        .no_trunc = FALSE,
    };
}

gboolean
tsl_crop_sample (TslTrainSample *sample, const TslCropConfig *config, TslTrainRng *rng)
{
    int t = sample->length, len = config->max_seq_len;
    if (t <= len) {
        if (!config->use_crop_ratio)
            return FALSE;
        /* nearbyint: round half to even, as Python's round */
        int64_t lo = MAX ((int64_t) nearbyint (config->crop_ratio[0] * t), 1);
        int64_t hi = MIN ((int64_t) nearbyint (config->crop_ratio[1] * t), t);
        len = (int) tsl_train_rng_int (rng, lo, hi);
        if (len == t)
            return FALSE;
    }

    int n = sample->n_segments;
    const float *seg = sample->segments; /* [N, 2] */
    float offset = (float) config->offset, thresh = (float) config->trunc_thresh;
    g_autofree float *left = g_new (float, MAX (n, 1));  /* [N] */
    g_autofree float *right = g_new (float, MAX (n, 1)); /* [N] */
    g_autofree gboolean *keep = g_new (gboolean, MAX (n, 1)); /* [N] */
    int st = 0;
    for (int trial = 0; trial < config->max_num_trials; trial++) {
        st = (int) tsl_train_rng_int (rng, 0, t - len);
        float win_lo = (float) st - offset, win_hi = (float) (st + len) + offset;
        int n_kept = 0, n_cut = 0;
        for (int i = 0; i < n; i++) {
            left[i] = fmaxf (win_lo, seg[2 * i]);
            right[i] = fminf (win_hi, seg[2 * i + 1]);
            float inter = fmaxf (right[i] - left[i], 0.0f);
            float ratio = inter / fabsf (seg[2 * i + 1] - seg[2 * i]);
            keep[i] = ratio >= thresh;
            n_kept += keep[i];
            n_cut += ratio > 0.0f && ratio < 1.0f;
        }
        if (config->no_trunc) {
            if (n_kept > 0 && n_cut == 0)
                break;
        } else if (!config->has_action || n_kept > 0) {
            break;
        }
    }

    int c = sample->n_channels;
    for (int ch = 0; ch < c; ch++)
        memmove (sample->feats + (size_t) ch * len, sample->feats + (size_t) ch * t + st,
                 (size_t) len * sizeof (float));
    sample->length = len;
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (!keep[i])
            continue;
        sample->segments[2 * m] = left[i] - (float) st;
        sample->segments[2 * m + 1] = right[i] - (float) st;
        sample->labels[m] = sample->labels[i];
        m++;
    }
    sample->n_segments = m;
    return TRUE;
}

gboolean
tsl_pad_batch (TslTrainSample *const *samples, int n, int n_channels, int padded_len,
               float *feats, int *lengths, GError **error)
{
    for (int b = 0; b < n; b++) {
        const TslTrainSample *s = samples[b];
        if (s->length > padded_len || s->n_channels != n_channels) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                         "video '%s': features [%d, %d] do not fit a batch of [%d, %d]",
                         s->video_id, s->n_channels, s->length, n_channels, padded_len);
            return FALSE;
        }
    }
    for (int b = 0; b < n; b++) {
        const TslTrainSample *s = samples[b];
        for (int ch = 0; ch < n_channels; ch++) {
            float *row = feats + ((size_t) b * n_channels + ch) * padded_len;
            memcpy (row, s->feats + (size_t) ch * s->length, (size_t) s->length * sizeof (float));
            memset (row + s->length, 0, (size_t) (padded_len - s->length) * sizeof (float));
        }
        lengths[b] = s->length;
    }
    return TRUE;
}

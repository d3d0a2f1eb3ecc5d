/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslscores.h: the application/x-tsl-scores format that tslactionformer
 * produces and tsldecode consumes: ActionFormer's per-level outputs for one
 * inference window of a feature stream.
 *
 * Caps: application/x-tsl-scores, classes=(int)K, levels=(int)L,
 *       rate=(fraction)R, window=(guint64)W
 *   R and W are the rate and window of the feature stream the scores were
 *   computed from (application/x-tsl-features), so that grid positions turn
 *   into stream time: a point at grid position g (level-0 feature index,
 *   counted from the first feature of the window) stands for
 *   PTS + g / R + W / 2, where PTS is the buffer's timestamp = the start of
 *   the window's first feature vector. This is ActionFormer's
 *   (g * feat_stride + 0.5 * num_frames) / fps with R = fps / feat_stride
 *   and W = num_frames / fps.
 *
 * Buffer: one per inference window, a GstTslScoresHeader followed, for each
 * level l = 0 .. L-1, by float32 arrays
 *     cls_logits [K, T_l]   class logits before the sigmoid
 *     offsets    [2, T_l]   distances to start and end, in units of stride_l
 *     mask       [T_l]      1 = a valid point, 0 = padding
 * back to back, in that order (GstTslScoresLevel gives T_l and stride_l).
 * The buffer's duration covers the window's valid features.
 *
 * Each point of the stream must be decoded from exactly one window: the
 * window says which grid range [commit_start, commit_end) of its points it
 * answers for (offline: the whole video; streaming: the hop it is
 * responsible for). Points outside that range are context only.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TSL_SCORES_CAPS_NAME "application/x-tsl-scores"
#define GST_TSL_SCORES_VERSION 1
#define GST_TSL_SCORES_MAX_LEVELS 16

typedef struct {
  gint32 T;                     /* points at this level (padded) */
  gint32 stride;                /* level-0 grid units between two points */
} GstTslScoresLevel;

typedef struct {
  guint32 version;              /* GST_TSL_SCORES_VERSION */
  gint32 num_classes;           /* K */
  gint32 n_levels;              /* L */
  gint32 valid_len;             /* feature vectors in the window */
  gint32 commit_start;          /* first grid position this window answers for */
  gint32 commit_end;            /* one past the last */
  guint64 stream_offset;        /* level-0 index of the window's first feature in the stream */
  guint64 stream_len;           /* features in the whole stream so far (at EOS: all) */
  gboolean final;               /* last window of the stream (sent at EOS) */
  GstTslScoresLevel levels[GST_TSL_SCORES_MAX_LEVELS];
} GstTslScoresHeader;

/* Bytes of a scores buffer with these levels. */
gsize gst_tsl_scores_size (const GstTslScoresHeader *header);

/* Pointers into a mapped scores buffer; FALSE when its size or header is
 * inconsistent (the caller posts an error). */
gboolean gst_tsl_scores_parse (const guint8 *data, gsize size, const GstTslScoresHeader **header,
    const float *cls_logits[GST_TSL_SCORES_MAX_LEVELS],
    const float *offsets[GST_TSL_SCORES_MAX_LEVELS],
    const float *mask[GST_TSL_SCORES_MAX_LEVELS]);

G_END_DECLS

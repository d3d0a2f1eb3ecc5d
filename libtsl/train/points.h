/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/points.h: the point table of ActionFormer training: every position
 * of every pyramid level with the regression range of its level and its
 * stride, as the official PointGenerator builds it
 * (happyharrycn/actionformer_release, commit 61ea7eb9,
 * libs/modeling/loc_generators.py) and label_points concatenates it.
 *
 * Layout: rows [FT, 4] float32, levels concatenated level 0 first (level L
 * starts at row level_start[L] and has level_len[L] = Tp / stride_L rows);
 * columns = position t = i * stride_L (grid units), regression-range min,
 * regression-range max, stride_L. stride_L = scale_factor^(fpn_start_level
 * + L). The range bounds are the configuration's values rounded to float32,
 * as the official code converts them.
 *
 * The table depends only on the padded length Tp, so one table serves every
 * batch padded to that length.
 */
#pragma once

#include <glib.h>

#include "../models/actionformer/config.h"

G_BEGIN_DECLS

/* Columns of a point row. */
enum {
    TSL_POINT_T,         /* position, grid units */
    TSL_POINT_RANGE_MIN, /* regression range of the level, grid units */
    TSL_POINT_RANGE_MAX,
    TSL_POINT_STRIDE,    /* level stride, grid units */
    TSL_POINT_COLUMNS,
};

typedef struct {
    int n_levels;                                /* L: pyramid levels with heads */
    int padded_len;                              /* Tp */
    int n_points;                                /* FT: sum of level_len */
    int level_len[TSL_ACTIONFORMER_MAX_LEVELS];   /* T_L = Tp / stride_L */
    int level_start[TSL_ACTIONFORMER_MAX_LEVELS]; /* first row of level L */
    int level_stride[TSL_ACTIONFORMER_MAX_LEVELS]; /* stride_L */
    float *rows;                                 /* [FT, 4], host memory */
} TslTrainPoints;

/* Fills pts for inputs padded to padded_len. TSL_ERROR_SHAPE when
 * padded_len is not a positive multiple of the coarsest stride or exceeds
 * the official generator's max_seq_len x max_buffer_len_factor points. */
gboolean tsl_train_points_init (TslTrainPoints *pts, const TslActionFormerConfig *cfg,
                                int padded_len, GError **error);
void tsl_train_points_clear (TslTrainPoints *pts);

/* The valid mask over the table for a video of `length` feature vectors:
 * 1 where t < length, else 0. This is the backbone's level mask (the input
 * mask downsampled by nearest neighbour: point i of level L is valid when
 * i * stride_L < length), concatenated as the rows are. */
void tsl_train_points_valid_mask (const TslTrainPoints *pts, int length,
                                  float *valid /* [FT] */);

G_END_DECLS

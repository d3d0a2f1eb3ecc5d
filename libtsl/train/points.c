/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/points.c: the point table; what it holds and the reference are in
 * points.h.
 */
#include "points.h"

#include <math.h>

#include "../error.h"

gboolean
tsl_train_points_init (TslTrainPoints *pts, const TslActionFormerConfig *cfg, int padded_len,
                       GError **error)
{
    const double buffer_len = ceil ((double) cfg->max_seq_len * cfg->max_buffer_len_factor);
    int n_points = 0;

    g_return_val_if_fail (cfg->n_fpn_levels >= 1
                          && cfg->n_fpn_levels <= TSL_ACTIONFORMER_MAX_LEVELS, FALSE);
    pts->rows = NULL;
    pts->n_levels = cfg->n_fpn_levels;
    pts->padded_len = padded_len;
    for (int level = 0; level < cfg->n_fpn_levels; level++) {
        const int stride = tsl_actionformer_config_level_stride (cfg, cfg->fpn_start_level + level);

        if (padded_len < 1 || padded_len % stride != 0) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                         "training points: padded length %d is not a positive multiple of the "
                         "stride %d of level %d", padded_len, stride, level);
            return FALSE;
        }
        pts->level_stride[level] = stride;
        pts->level_start[level] = n_points;
        pts->level_len[level] = padded_len / stride;
        n_points += pts->level_len[level];
    }
    if ((double) padded_len > buffer_len) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "training points: padded length %d exceeds the %.0f points of "
                     "max_seq_len x max_buffer_len_factor", padded_len, buffer_len);
        return FALSE;
    }
    pts->n_points = n_points;
    pts->rows = g_new (float, (size_t) n_points * TSL_POINT_COLUMNS);
    for (int level = 0; level < pts->n_levels; level++) {
        const int stride = pts->level_stride[level];
        float *rows_l = pts->rows + (size_t) pts->level_start[level] * TSL_POINT_COLUMNS;

        for (int i = 0; i < pts->level_len[level]; i++) {
            float *row = rows_l + (size_t) i * TSL_POINT_COLUMNS; /* [4] */
            row[TSL_POINT_T] = (float) (i * stride);
            row[TSL_POINT_RANGE_MIN] = (float) cfg->regression_range[level][0];
            row[TSL_POINT_RANGE_MAX] = (float) cfg->regression_range[level][1];
            row[TSL_POINT_STRIDE] = (float) stride;
        }
    }
    return TRUE;
}

void
tsl_train_points_clear (TslTrainPoints *pts)
{
    g_clear_pointer (&pts->rows, g_free);
}

void
tsl_train_points_valid_mask (const TslTrainPoints *pts, int length, float *valid)
{
    for (int level = 0; level < pts->n_levels; level++) {
        const int stride = pts->level_stride[level];
        float *valid_l = valid + pts->level_start[level]; /* [T_L] */

        for (int i = 0; i < pts->level_len[level]; i++)
            valid_l[i] = (gint64) i * stride < length ? 1.0f : 0.0f;
    }
}

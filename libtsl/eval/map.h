/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * eval/map.h: detection mean average precision (mAP) over temporal IoU
 * thresholds, and top-kx recall, exactly as the Perception Test challenge
 * evaluates temporal sound localisation: ANETdetection of
 * ptchallenge-workshop/actionformer_release_PT (libs/utils/metrics.py,
 * commit 10684a4), the ActivityNet / EPIC-Kitchens detection metric as
 * ActionFormer adapted it. Same algorithm, float64 throughout, additions
 * in the same order, so the numbers are the reference's bit for bit.
 *
 * Ground truth: every segment of every video in `split` (ASCII
 * case-insensitive), duplicates included, in file order. Classes are the
 * distinct GT label ids, ascending; class index k = rank of the id.
 * Predictions keep their input order. Each prediction's label id is mapped
 * to its class index; an id no GT segment has is KEPT AS IS (the
 * reference's pandas `replace` leaves unknown values alone), so when GT ids
 * are not 0..K-1 such a prediction can land in the class whose index equals
 * its id. With ids 0..K-1 it is simply never evaluated.
 *
 * Per class k and threshold t (compute_average_precision_detection):
 *   - no prediction of class k: AP 0 at every threshold (still averaged);
 *   - rank the class's predictions by np.argsort(score)[::-1] (numpy's
 *     quicksort: among equal scores, for <= 16 predictions the later one in
 *     the input ranks first; see numpy-argsort.h for more);
 *   - for each prediction in rank order: the class's GT of its video (none:
 *     false positive at every threshold); IoU with each (below), GT visited
 *     by np.argsort(iou)[::-1]; at each threshold skip GT already matched at
 *     that threshold, match the first free one with IoU >= t (true
 *     positive), and stop as a false positive at the first with IoU < t;
 *   - IoU = max(0, min(e1, e2) - max(s1, s2)) / ((e_gt - s_gt) + (e_p - s_p)
 *     - intersection);
 *   - recall_i = TP_i / n_gt, precision_i = TP_i / (TP_i + FP_i) over the
 *     first i + 1 ranked predictions; AP = the VOC all-point interpolated
 *     area: precision made non-increasing from the right, summed over the
 *     points where recall changes, (r_i - r_{i-1}) * p_i (np.sum order).
 * mAP[t] = mean of AP[t, :] over all classes, average = mean of mAP.
 *
 * Top-kx recall (compute_topkx_recall_detection), for k in top_k: per video
 * holding GT of class k, its predictions of class k ranked as above and cut
 * to the first k * n_gt(video); a GT counts when one of them has IoU >= t.
 * recall = counted / n_gt(class); a class without predictions has 0.
 * mRecall[t, k] = mean over classes.
 *
 * Thresholds: the reference uses np.linspace(0.1, 0.5, 5), whose third
 * value is 0.30000000000000004, not 0.3 (an IoU of exactly 0.3 does not
 * match there); tsl_map_linspace computes numpy's values.
 */
#pragma once

#include <glib.h>

#include "../io/annotations.h"

G_BEGIN_DECLS

#define TSL_MAP_DEFAULT_N_THRESHOLDS 5
#define TSL_MAP_N_TOP_K 2 /* top-1x and top-5x recall */

/* One detection, as the metric sees it. */
typedef struct {
    char *video_id;
    int label_id;
    double start_s;
    double end_s;
    double score;
} TslPrediction;

/* An empty GArray of TslPrediction that frees each video_id. */
GArray *tsl_predictions_new (void);
void tsl_predictions_add (GArray *preds, const char *video_id, int label_id, double start_s,
                          double end_s, double score);

typedef struct {
    int n_thresholds;                 /* T */
    double *thresholds;               /* [T] */
    int n_classes;                    /* K: distinct GT label ids in the split */
    int *class_label_ids;             /* [K] ascending */
    int *n_gt;                        /* [K] GT segments per class */
    int *n_predictions;               /* [K] predictions evaluated per class */
    int n_gt_videos;                  /* videos of the split */
    double *ap;                       /* [T, K] */
    double *map;                      /* [T] mean of ap over classes */
    double average_map;               /* mean of map */
    int top_k[TSL_MAP_N_TOP_K];       /* 1, 5 */
    double *recall;                   /* [T, TSL_MAP_N_TOP_K, K] */
    double *mean_recall;              /* [T, TSL_MAP_N_TOP_K] */
} TslMapResult;

/* numpy.linspace(start, stop, num) (endpoint included) bit for bit:
 * out[i] = i * step + start with step = (stop - start) / (num - 1), except
 * out[num - 1] = stop; when step rounds to 0, out[i] = i / (num - 1) *
 * (stop - start) + start; num == 1 gives start. */
void tsl_map_linspace (double *out /* [num] */, double start, double stop, int num);

/* The reference's thresholds: np.linspace(0.1, 0.5, 5). */
void tsl_map_default_thresholds (double out[TSL_MAP_DEFAULT_N_THRESHOLDS]);

/* Scores preds[0, n) against the segments of `split`'s videos (NULL: all
 * videos) at thresholds[0, n_thresholds). TSL_ERROR_CONFIG when the split
 * holds no GT segment (the mean over zero classes is undefined) or no
 * threshold is given. */
TslMapResult *tsl_map_evaluate (const TslAnnotations *gt, const char *split,
                                const TslPrediction *preds, int n,
                                const double *thresholds, int n_thresholds, GError **error);

void tsl_map_result_free (TslMapResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslMapResult, tsl_map_result_free)

G_END_DECLS

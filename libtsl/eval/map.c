/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * eval/map.c: the Perception Test detection mAP and top-kx recall (see
 * map.h for the algorithm and the reference it reproduces).
 *
 * Layout: ground truth is gathered per class (class index k) as flat lists
 * in file order; per class, a table maps a video id to the positions of its
 * GT in that list. Matching state lock[t, g] (-1 = free) and the TP/FP
 * flags [t, rank] are per class, as in the reference.
 *
 * Floating point: every value the reference computes with numpy float64
 * array operations is computed here as one rounded operation per element,
 * in the same order; products and sums are kept in separate passes (a
 * fused multiply-add would round differently), and reductions go through
 * tsl_numpy_sum.
 */
#include "map.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "numpy-argsort.h"
#include "numpy-sum.h"

static const int default_top_k[TSL_MAP_N_TOP_K] = { 1, 5 };

/* ---- predictions ---- */

static void
clear_prediction (gpointer data)
{
    TslPrediction *p = data;

    g_free (p->video_id);
}

GArray *
tsl_predictions_new (void)
{
    GArray *preds = g_array_new (FALSE, FALSE, sizeof (TslPrediction));

    g_array_set_clear_func (preds, clear_prediction);
    return preds;
}

void
tsl_predictions_add (GArray *preds, const char *video_id, int label_id, double start_s,
                     double end_s, double score)
{
    TslPrediction p = {
        .video_id = g_strdup (video_id),
        .label_id = label_id,
        .start_s = start_s,
        .end_s = end_s,
        .score = score,
    };

    g_array_append_val (preds, p);
}

/* ---- thresholds ---- */

void
tsl_map_linspace (double *out, double start, double stop, int num)
{
    const double delta = stop - start;
    const int div = num - 1;

    if (num <= 0)
        return;
    /* pass 1: the offsets from start, as numpy's in-place y *= step */
    if (div > 0) {
        const double step = delta / div;
        for (int i = 0; i < num; i++)
            out[i] = (double) i;
        if (step == 0) {
            /* numpy's path for a step that underflows: y /= div; y *= delta */
            for (int i = 0; i < num; i++)
                out[i] /= div;
            for (int i = 0; i < num; i++)
                out[i] *= delta;
        } else {
            for (int i = 0; i < num; i++)
                out[i] *= step;
        }
    } else {
        out[0] = 0.0 * delta;
    }
    /* pass 2: y += start, then the exact end point */
    for (int i = 0; i < num; i++)
        out[i] += start;
    if (num > 1)
        out[num - 1] = stop;
}

void
tsl_map_default_thresholds (double out[TSL_MAP_DEFAULT_N_THRESHOLDS])
{
    tsl_map_linspace (out, 0.1, 0.5, TSL_MAP_DEFAULT_N_THRESHOLDS);
}

/* ---- ground truth per class ---- */

typedef struct {
    GArray *start;      /* double [n_gt], file order */
    GArray *end;        /* double [n_gt] */
    GHashTable *videos; /* video id (borrowed) -> GArray of int: positions in start/end */
} ClassGt;

typedef struct {
    int n_classes;
    int *label_ids;     /* [K] ascending */
    ClassGt *classes;   /* [K] */
} GtIndex;

static int
compare_ints (const void *a, const void *b)
{
    int x = *(const int *) a, y = *(const int *) b;

    return (x > y) - (x < y);
}

/* Class index of a GT label id (present by construction). */
static int
class_of_gt_label (const GtIndex *index, int label_id)
{
    const int *found = bsearch (&label_id, index->label_ids, index->n_classes, sizeof (int),
                                compare_ints);

    return (int) (found - index->label_ids);
}

/* The class a prediction is scored in: the index of its label id among the
 * GT ids, or the id itself when no GT has it (see map.h); -1 when that is
 * not a class index. */
static int
class_of_prediction (const GtIndex *index, int label_id)
{
    const int *found = bsearch (&label_id, index->label_ids, index->n_classes, sizeof (int),
                                compare_ints);
    int k = found ? (int) (found - index->label_ids) : label_id;

    return k >= 0 && k < index->n_classes ? k : -1;
}

static void
free_positions (gpointer data)
{
    g_array_unref (data);
}

static void
gt_index_clear (GtIndex *index)
{
    for (int k = 0; k < index->n_classes; k++) {
        g_array_unref (index->classes[k].start);
        g_array_unref (index->classes[k].end);
        g_hash_table_unref (index->classes[k].videos);
    }
    g_free (index->classes);
    g_free (index->label_ids);
}

static void
gt_index_build (GtIndex *index, const TslAnnotations *gt, const char *split, int *n_videos)
{
    g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (int));

    /* pass 1: the distinct label ids, ascending */
    *n_videos = 0;
    for (guint v = 0; v < gt->videos->len; v++) {
        const TslAnnotationVideo *video = g_ptr_array_index (gt->videos, v);
        if (!tsl_annotation_video_in_split (video, split))
            continue;
        (*n_videos)++;
        for (guint i = 0; i < video->segments->len; i++)
            g_array_append_val (ids, g_array_index (video->segments, TslAnnotationSegment, i)
                                         .label_id);
    }
    g_array_sort (ids, compare_ints);
    index->label_ids = g_new (int, ids->len + 1);
    index->n_classes = 0;
    for (guint i = 0; i < ids->len; i++) {
        int id = g_array_index (ids, int, i);
        if (index->n_classes == 0 || index->label_ids[index->n_classes - 1] != id)
            index->label_ids[index->n_classes++] = id;
    }

    /* pass 2: each segment into its class, file order */
    index->classes = g_new0 (ClassGt, MAX (index->n_classes, 1));
    for (int k = 0; k < index->n_classes; k++) {
        index->classes[k].start = g_array_new (FALSE, FALSE, sizeof (double));
        index->classes[k].end = g_array_new (FALSE, FALSE, sizeof (double));
        index->classes[k].videos =
            g_hash_table_new_full (g_str_hash, g_str_equal, NULL, free_positions);
    }
    for (guint v = 0; v < gt->videos->len; v++) {
        const TslAnnotationVideo *video = g_ptr_array_index (gt->videos, v);
        if (!tsl_annotation_video_in_split (video, split))
            continue;
        for (guint i = 0; i < video->segments->len; i++) {
            const TslAnnotationSegment *seg =
                &g_array_index (video->segments, TslAnnotationSegment, i);
            ClassGt *cls = &index->classes[class_of_gt_label (index, seg->label_id)];
            int position = (int) cls->start->len;
            GArray *positions = g_hash_table_lookup (cls->videos, video->video_id);

            if (positions == NULL) {
                positions = g_array_new (FALSE, FALSE, sizeof (int));
                g_hash_table_insert (cls->videos, video->video_id, positions);
            }
            g_array_append_val (positions, position);
            g_array_append_val (cls->start, seg->start_s);
            g_array_append_val (cls->end, seg->end_s);
        }
    }
}

/* ---- shared steps ---- */

/* np.maximum / np.minimum: NaN propagates, ties keep the first operand */
static inline double
np_maximum (double a, double b)
{
    return a >= b || isnan (a) ? a : b;
}

static inline double
np_minimum (double a, double b)
{
    return a <= b || isnan (a) ? a : b;
}

/* segment_iou: one prediction against GT positions[0, m) of a class;
 * intersection clipped at 0 as ndarray.clip(0) = np.maximum(x, 0). */
static void
segment_iou (double *iou /* [m] */, const TslPrediction *p, const ClassGt *cls,
             const int *positions /* [m] */, int m)
{
    const double *gs = (const double *) cls->start->data;
    const double *ge = (const double *) cls->end->data;

    for (int j = 0; j < m; j++) {
        const double s = gs[positions[j]], e = ge[positions[j]];
        const double t1 = np_maximum (p->start_s, s), t2 = np_minimum (p->end_s, e);
        const double inter = np_maximum (t2 - t1, 0.0);
        const double uni = ((e - s) + (p->end_s - p->start_s)) - inter;
        iou[j] = inter / uni;
    }
}

/* rank[0, n) = items[0, n) by np.argsort(score)[::-1]. */
static void
rank_by_score (int *rank /* [n] */, const TslPrediction *preds, const int *items /* [n] */,
               int n)
{
    g_autofree double *scores = g_new (double, MAX (n, 1));
    g_autofree int *order = g_new (int, MAX (n, 1));

    for (int i = 0; i < n; i++)
        scores[i] = preds[items[i]].score;
    tsl_numpy_argsort (order, scores, n);
    for (int r = 0; r < n; r++)
        rank[r] = items[order[n - 1 - r]];
}

/* interpolated_prec_rec: VOC all-point AP of n ranked points. */
static double
interpolated_ap (const double *precision /* [n] */, const double *recall /* [n] */, int n)
{
    g_autofree double *mprec = g_new (double, n + 2);
    g_autofree double *mrec = g_new (double, n + 2);
    g_autofree double *terms = g_new (double, n + 1);
    int n_terms = 0;

    mprec[0] = 0.0;
    mrec[0] = 0.0;
    for (int i = 0; i < n; i++) {
        mprec[i + 1] = precision[i];
        mrec[i + 1] = recall[i];
    }
    mprec[n + 1] = 0.0;
    mrec[n + 1] = 1.0;
    /* pass 1: precision envelope, right to left (Python max keeps the left on ties) */
    for (int i = n; i >= 0; i--) {
        if (mprec[i + 1] > mprec[i])
            mprec[i] = mprec[i + 1];
    }
    /* pass 2: the recall steps' widths, then times their precision */
    for (int i = 1; i <= n + 1; i++) {
        if (mrec[i] != mrec[i - 1])
            terms[n_terms++] = mrec[i] - mrec[i - 1];
    }
    for (int i = 1, q = 0; i <= n + 1; i++) {
        if (mrec[i] != mrec[i - 1])
            terms[q++] *= mprec[i];
    }
    return tsl_numpy_sum (terms, n_terms);
}

/* ---- per class ---- */

/* compute_average_precision_detection for one class: ap[t * K + k]. */
static void
class_ap (double *ap /* [T, K] */, int k, int K, const ClassGt *cls, const TslPrediction *preds,
          const int *items /* [n] */, int n, const double *thresholds, int T)
{
    const int n_gt = (int) cls->start->len;
    g_autofree int *rank = g_new (int, MAX (n, 1));
    g_autofree int *lock = g_new (int, (size_t) T * MAX (n_gt, 1));      /* [T, n_gt] */
    g_autofree guint8 *tp = g_new0 (guint8, (size_t) T * MAX (n, 1));   /* [T, n] */
    g_autofree guint8 *fp = g_new0 (guint8, (size_t) T * MAX (n, 1));   /* [T, n] */
    g_autofree double *precision = g_new (double, MAX (n, 1));
    g_autofree double *recall = g_new (double, MAX (n, 1));

    for (int t = 0; t < T; t++)
        ap[(size_t) t * K + k] = 0.0;
    if (n == 0)
        return;
    for (size_t i = 0; i < (size_t) T * n_gt; i++)
        lock[i] = -1;
    rank_by_score (rank, preds, items, n);

    /* pass 1: match in rank order */
    for (int r = 0; r < n; r++) {
        const TslPrediction *p = &preds[rank[r]];
        GArray *positions = g_hash_table_lookup (cls->videos, p->video_id);

        if (positions == NULL) {
            for (int t = 0; t < T; t++)
                fp[(size_t) t * n + r] = 1;
            continue;
        }
        const int m = (int) positions->len;
        const int *pos = (const int *) positions->data;
        g_autofree double *iou = g_new (double, m);
        g_autofree int *by_iou = g_new (int, m);
        segment_iou (iou, p, cls, pos, m);
        tsl_numpy_argsort (by_iou, iou, m);
        for (int t = 0; t < T; t++) {
            guint8 *tp_t = tp + (size_t) t * n, *fp_t = fp + (size_t) t * n;
            int *lock_t = lock + (size_t) t * n_gt;

            for (int q = m - 1; q >= 0; q--) {
                const int j = by_iou[q];
                if (iou[j] < thresholds[t]) {
                    fp_t[r] = 1;
                    break;
                }
                if (lock_t[pos[j]] >= 0)
                    continue;
                tp_t[r] = 1;
                lock_t[pos[j]] = r;
                break;
            }
            if (!tp_t[r] && !fp_t[r])
                fp_t[r] = 1;
        }
    }

    /* pass 2: cumulative precision and recall, then the interpolated AP */
    for (int t = 0; t < T; t++) {
        double tp_sum = 0.0, fp_sum = 0.0;
        for (int r = 0; r < n; r++) {
            tp_sum += tp[(size_t) t * n + r];
            fp_sum += fp[(size_t) t * n + r];
            recall[r] = tp_sum / (double) n_gt;
            precision[r] = tp_sum / (tp_sum + fp_sum);
        }
        ap[(size_t) t * K + k] = interpolated_ap (precision, recall, n);
    }
}

/* compute_topkx_recall_detection for one class: recall[(t * NK + kk) * K + k]. */
static void
class_recall (double *recall /* [T, NK, K] */, int k, int K, const ClassGt *cls,
              const TslPrediction *preds, const int *items /* [n] */, int n,
              const double *thresholds, int T, const int *top_k, int NK)
{
    g_autofree double *hits = g_new0 (double, (size_t) T * NK); /* [T, NK] */
    g_autoptr (GHashTable) by_video = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                             free_positions);
    GHashTableIter iter;
    gpointer key, value;
    int max_k = 0;

    for (int kk = 0; kk < NK; kk++)
        max_k = MAX (max_k, top_k[kk]);
    for (int t = 0; t < T; t++)
        for (int kk = 0; kk < NK; kk++)
            recall[((size_t) t * NK + kk) * K + k] = 0.0;
    if (n == 0)
        return;

    /* the class's predictions per video, input order */
    for (int i = 0; i < n; i++) {
        GArray *list = g_hash_table_lookup (by_video, preds[items[i]].video_id);
        if (list == NULL) {
            list = g_array_new (FALSE, FALSE, sizeof (int));
            g_hash_table_insert (by_video, preds[items[i]].video_id, list);
        }
        g_array_append_val (list, items[i]);
    }

    /* per video with GT: do the first k * n_gt ranked predictions cover each GT? */
    g_hash_table_iter_init (&iter, cls->videos);
    while (g_hash_table_iter_next (&iter, &key, &value)) {
        GArray *positions = value;
        GArray *list = g_hash_table_lookup (by_video, key);
        const int m = (int) positions->len;

        if (list == NULL)
            continue;
        const int n_video = (int) list->len;
        const int n_top = MIN (n_video, max_k * m);
        g_autofree int *rank = g_new (int, n_video);
        g_autofree double *iou = g_new (double, (size_t) n_top * m); /* [n_top, m] */
        rank_by_score (rank, preds, (const int *) list->data, n_video);
        for (int r = 0; r < n_top; r++)
            segment_iou (iou + (size_t) r * m, &preds[rank[r]], cls, (const int *) positions->data,
                         m);
        for (int t = 0; t < T; t++) {
            for (int kk = 0; kk < NK; kk++) {
                const int limit = MIN (n_top, top_k[kk] * m);
                int covered = 0;
                for (int j = 0; j < m; j++) {
                    gboolean hit = FALSE;
                    for (int r = 0; r < limit && !hit; r++)
                        hit = iou[(size_t) r * m + j] >= thresholds[t];
                    covered += hit;
                }
                hits[(size_t) t * NK + kk] += covered;
            }
        }
    }
    for (int t = 0; t < T; t++)
        for (int kk = 0; kk < NK; kk++)
            recall[((size_t) t * NK + kk) * K + k] =
                hits[(size_t) t * NK + kk] / (double) cls->start->len;
}

/* ---- evaluation ---- */

void
tsl_map_result_free (TslMapResult *result)
{
    if (result == NULL)
        return;
    g_free (result->thresholds);
    g_free (result->class_label_ids);
    g_free (result->n_gt);
    g_free (result->n_predictions);
    g_free (result->ap);
    g_free (result->map);
    g_free (result->recall);
    g_free (result->mean_recall);
    g_free (result);
}

TslMapResult *
tsl_map_evaluate (const TslAnnotations *gt, const char *split, const TslPrediction *preds, int n,
                  const double *thresholds, int n_thresholds, GError **error)
{
    GtIndex index;
    int n_videos;

    if (n_thresholds < 1) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG, "mAP: no tIoU threshold given");
        return NULL;
    }
    gt_index_build (&index, gt, split, &n_videos);
    if (index.n_classes == 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "%s: no ground-truth segment in split '%s' (%d video%s): nothing to "
                     "evaluate", gt->path, split ? split : "(all)", n_videos,
                     n_videos == 1 ? "" : "s");
        gt_index_clear (&index);
        return NULL;
    }

    const int T = n_thresholds, K = index.n_classes, NK = TSL_MAP_N_TOP_K;
    TslMapResult *res = g_new0 (TslMapResult, 1);
    res->n_thresholds = T;
    res->thresholds = g_memdup2 (thresholds, sizeof (double) * T);
    res->n_classes = K;
    res->class_label_ids = g_memdup2 (index.label_ids, sizeof (int) * K);
    res->n_gt = g_new (int, K);
    res->n_predictions = g_new0 (int, K);
    res->n_gt_videos = n_videos;
    res->ap = g_new (double, (size_t) T * K);
    res->map = g_new (double, T);
    memcpy (res->top_k, default_top_k, sizeof res->top_k);
    res->recall = g_new (double, (size_t) T * NK * K);
    res->mean_recall = g_new (double, (size_t) T * NK);

    /* pass 1: each prediction into its class, input order */
    g_autofree int *cls_of = g_new (int, MAX (n, 1));
    g_autofree int *offset = g_new0 (int, K + 1);
    g_autofree int *items = g_new (int, MAX (n, 1));
    for (int i = 0; i < n; i++) {
        cls_of[i] = class_of_prediction (&index, preds[i].label_id);
        if (cls_of[i] >= 0)
            res->n_predictions[cls_of[i]]++;
    }
    for (int k = 0; k < K; k++)
        offset[k + 1] = offset[k] + res->n_predictions[k];
    g_autofree int *fill = g_memdup2 (offset, sizeof (int) * K);
    for (int i = 0; i < n; i++) {
        if (cls_of[i] >= 0)
            items[fill[cls_of[i]]++] = i;
    }

    /* pass 2: AP and recall per class */
    for (int k = 0; k < K; k++) {
        const ClassGt *cls = &index.classes[k];
        res->n_gt[k] = (int) cls->start->len;
        class_ap (res->ap, k, K, cls, preds, items + offset[k], res->n_predictions[k],
                  thresholds, T);
        class_recall (res->recall, k, K, cls, preds, items + offset[k], res->n_predictions[k],
                      thresholds, T, res->top_k, NK);
    }

    /* pass 3: means over classes (ap.mean(axis=1)), then over thresholds */
    for (int t = 0; t < T; t++)
        res->map[t] = tsl_numpy_sum (res->ap + (size_t) t * K, K) / K;
    res->average_map = tsl_numpy_sum (res->map, T) / T;
    for (size_t row = 0; row < (size_t) T * NK; row++)
        res->mean_recall[row] = tsl_numpy_sum (res->recall + row * K, K) / K;

    gt_index_clear (&index);
    return res;
}

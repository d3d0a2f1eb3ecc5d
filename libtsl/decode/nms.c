/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * decode/nms.c: batched soft / hard NMS and segment voting; what is
 * reproduced, and how exactly, is in nms.h.
 *
 * A group (one class, or all candidates) is copied into structure-of-arrays
 * scratch (start, end, score, length, index) that the suppression permutes
 * in place, as the reference kernel does with its tensors. Comparisons
 * follow std::max / std::min (a < b ? b : a), and every float32 operation
 * is the reference's, in its order.
 */
#include "nms.h"

#include <math.h>
#include <stdlib.h>

#include "score-sort.h"

/* keep products rounded before they are added, as the reference does */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

typedef struct {
    float *start;  /* [n] */
    float *end;    /* [n] */
    float *score;  /* [n] */
    float *length; /* [n], end - start + 1e-6 */
    int *index;    /* [n], position in the candidate array */
    int n;
} Group;

static inline float
max_f (float a, float b)
{
    return a < b ? b : a;
}

static inline float
min_f (float a, float b)
{
    return b < a ? b : a;
}

/* IoU of the reference kernels: lengths carry the 1e-6 already */
static inline float
kernel_iou (float start_i, float end_i, float length_i, float start_j, float end_j,
            float length_j)
{
    const float inter = max_f (0.0f, min_f (end_i, end_j) - max_f (start_i, start_j));

    return inter / (length_i + length_j - inter);
}

static void
group_fill (Group *g, const TslSegment *candidates, const int *members, int n)
{
    const float eps = (float) 1e-6;

    g->n = n;
    for (int j = 0; j < n; j++) {
        const TslSegment *c = &candidates[members[j]];
        g->start[j] = c->start;
        g->end[j] = c->end;
        g->score[j] = c->score;
        g->length[j] = (c->end - c->start) + eps;
        g->index[j] = members[j];
    }
}

static inline void
group_move (Group *g, int to, int from)
{
    g->start[to] = g->start[from];
    g->end[to] = g->end[from];
    g->score[to] = g->score[from];
    g->length[to] = g->length[from];
    g->index[to] = g->index[from];
}

/* ---- suppression of one group ---- */

/* Soft-NMS (softnms_1d_cpu). Writes the selected segments, in selection
 * order and with their scores at selection, to kept[]; returns how many. */
static int
soft_nms (TslSegment *kept /* [g->n] */, Group *g, const TslSegment *candidates,
          const TslDecodeConfig *config)
{
    const gboolean gaussian = config->nms_method == TSL_NMS_SOFT;
    const float sigma = (float) config->sigma;
    const float iou_threshold = (float) config->iou_threshold;
    const float min_score = (float) config->min_score;
    int n = g->n;

    for (int i = 0; i < n; i++) {
        /* pass 1: the highest remaining score, first on ties */
        int best = i;
        for (int j = i + 1; j < n; j++) {
            if (g->score[best] < g->score[j])
                best = j;
        }

        /* pass 2: swap it into position i and output it */
        const float start_i = g->start[best], end_i = g->end[best];
        const float score_i = g->score[best], length_i = g->length[best];
        const int index_i = g->index[best];
        group_move (g, best, i);
        g->start[i] = start_i;
        g->end[i] = end_i;
        g->score[i] = score_i;
        g->length[i] = length_i;
        g->index[i] = index_i;
        kept[i] = (TslSegment) { start_i, end_i, score_i, candidates[index_i].label };

        /* pass 3: decay the rest; drop by moving the last element in */
        for (int j = i + 1; j < n; j++) {
            const float iou = kernel_iou (start_i, end_i, length_i, g->start[j], g->end[j],
                                          g->length[j]);
            float weight = 1.0f;
            if (gaussian)
                weight = expf (-(iou * iou) / sigma);
            else if (iou >= iou_threshold)
                weight = 1.0f - iou;
            g->score[j] *= weight;
            if (g->score[j] < min_score) {
                group_move (g, j, n - 1);
                n--;
                j--;
            }
        }
    }
    return n;
}

/* Hard NMS (NMSop + nms_1d_cpu). Returns how many segments it wrote. */
static int
hard_nms (TslSegment *kept /* [g->n] */, Group *g, const TslSegment *candidates,
          const TslDecodeConfig *config)
{
    const float min_score = (float) config->min_score;
    const float iou_threshold = (float) config->iou_threshold;
    int n = 0;

    /* pass 1: score filter, order kept */
    for (int j = 0; j < g->n; j++) {
        if (config->min_score <= 0.0 || g->score[j] > min_score)
            group_move (g, n++, j);
    }

    /* pass 2: sort descending */
    TslScoreIndex *order = g_new (TslScoreIndex, MAX (n, 1));
    gboolean *selected = g_new (gboolean, MAX (n, 1));
    for (int j = 0; j < n; j++) {
        order[j] = (TslScoreIndex) { g->score[j], j };
        selected[j] = TRUE;
    }
    tsl_decode_sort_desc (order, n);

    /* pass 3: greedy suppression in sorted order */
    int n_kept = 0;
    for (int a = 0; a < n; a++) {
        if (!selected[a])
            continue;
        const int i = order[a].index;
        for (int b = a + 1; b < n; b++) {
            if (!selected[b])
                continue;
            const int j = order[b].index;
            if (kernel_iou (g->start[i], g->end[i], g->length[i], g->start[j], g->end[j],
                            g->length[j]) >= iou_threshold)
                selected[b] = FALSE;
        }
        kept[n_kept++] = (TslSegment) { g->start[i], g->end[i], g->score[i],
                                        candidates[g->index[i]].label };
    }
    g_free (order);
    g_free (selected);
    return n_kept;
}

/* ---- segment voting (seg_voting) ---- */

static void
vote (TslSegment *kept /* [n_kept] */, int n_kept, const TslSegment *candidates /* [N] */, int N,
      float voting_thresh)
{
    float *weight = g_new (float, N);

    for (int i = 0; i < n_kept; i++) {
        const float start_i = kept[i].start, end_i = kept[i].end;
        const float length_i = end_i - start_i;
        double weight_sum = 0.0;

        for (int j = 0; j < N; j++) {
            const TslSegment *c = &candidates[j];
            const float inter = max_f (0.0f, min_f (end_i, c->end) - max_f (start_i, c->start));
            const float iou = inter / (length_i + (c->end - c->start) - inter);
            weight[j] = (iou >= voting_thresh ? 1.0f : 0.0f) * c->score;
            weight_sum += weight[j];
        }
        const float norm = (float) weight_sum;
        double start = 0.0, end = 0.0;
        for (int j = 0; j < N; j++) {
            const float w = weight[j] / norm;
            start += (double) w * candidates[j].start;
            end += (double) w * candidates[j].end;
        }
        kept[i].start = (float) start;
        kept[i].end = (float) end;
    }
    g_free (weight);
}

/* ---- batched NMS ---- */

static int
compare_int (const void *a, const void *b)
{
    const int ia = *(const int *) a, ib = *(const int *) b;

    return (ia > ib) - (ia < ib);
}

static int
suppress_group (TslSegment *kept, Group *g, const TslSegment *candidates,
                const TslDecodeConfig *config)
{
    int n_kept = config->nms_method == TSL_NMS_HARD ? hard_nms (kept, g, candidates, config)
                                                    : soft_nms (kept, g, candidates, config);
    return MIN (n_kept, config->max_seg_num);
}

void
tsl_decode_nms (GArray *out, const TslSegment *candidates, int N, const TslDecodeConfig *config)
{
    if (config->nms_method == TSL_NMS_NONE) {
        g_array_append_vals (out, candidates, N);
        return;
    }
    if (N == 0)
        return;

    Group g = {
        .start = g_new (float, N),
        .end = g_new (float, N),
        .score = g_new (float, N),
        .length = g_new (float, N),
        .index = g_new (int, N),
    };
    TslSegment *merged = g_new (TslSegment, N);
    int *members = g_new (int, N);
    int n_merged = 0;

    if (config->multiclass) {
        /* classes present, in ascending id (torch.unique) */
        int *labels = g_new (int, N);
        int n_labels = 0;
        for (int j = 0; j < N; j++)
            labels[j] = candidates[j].label;
        qsort (labels, N, sizeof (int), compare_int);
        for (int j = 0; j < N; j++) {
            if (j == 0 || labels[j] != labels[j - 1])
                labels[n_labels++] = labels[j];
        }
        /* each class on its own, its candidates in input order */
        for (int c = 0; c < n_labels; c++) {
            int n_members = 0;
            for (int j = 0; j < N; j++) {
                if (candidates[j].label == labels[c])
                    members[n_members++] = j;
            }
            group_fill (&g, candidates, members, n_members);
            n_merged += suppress_group (merged + n_merged, &g, candidates, config);
        }
        g_free (labels);
    } else {
        for (int j = 0; j < N; j++)
            members[j] = j;
        group_fill (&g, candidates, members, N);
        n_merged = suppress_group (merged, &g, candidates, config);
        if (config->voting_thresh > 0.0)
            vote (merged, n_merged, candidates, N, (float) config->voting_thresh);
    }

    /* final order: descending score, cut to max_seg_num */
    TslScoreIndex *order = g_new (TslScoreIndex, MAX (n_merged, 1));
    for (int j = 0; j < n_merged; j++)
        order[j] = (TslScoreIndex) { merged[j].score, j };
    tsl_decode_sort_desc (order, n_merged);
    const int n_out = MIN (n_merged, config->max_seg_num);
    for (int j = 0; j < n_out; j++)
        g_array_append_val (out, merged[order[j].index]);

    g_free (order);
    g_free (members);
    g_free (merged);
    g_free (g.start);
    g_free (g.end);
    g_free (g.score);
    g_free (g.length);
    g_free (g.index);
}

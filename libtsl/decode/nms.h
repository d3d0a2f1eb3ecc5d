/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * decode/nms.h: non-maximum suppression of candidate segments, as
 * happyharrycn/actionformer_release (commit 61ea7eb) does it:
 * libs/utils/nms.py batched_nms with the C++ kernels of
 * libs/utils/csrc/nms_cpu.cpp (softnms_1d_cpu, nms_1d_cpu).
 *
 * Multiclass (config->multiclass): each class present, in ascending class
 * id, is suppressed on its own (candidates in input order), keeps at most
 * max_seg_num segments in selection order; the classes are concatenated,
 * sorted by descending score (torch.sort order, see score-sort.h) and cut
 * to max_seg_num. Class-agnostic: one suppression over all candidates,
 * then (voting_thresh > 0) segment voting, then the same sort and cut.
 *
 * Soft-NMS (TSL_NMS_SOFT, TSL_NMS_SOFT_LINEAR), float32 throughout:
 *   length = (end - start) + 1e-6 for every candidate;
 *   round i: pick the highest remaining score (the first one on exact
 *   ties), SWAP it with the element at position i (the remaining order is
 *   permuted, not shifted) and output it with its current score; then for
 *   every later element: IoU = inter / (length_i + length_j - inter),
 *   score_j *= exp(-IoU^2 / sigma) (Gaussian; no factor 2) or, linear,
 *   *= 1 - IoU when IoU >= iou_threshold; an element whose score drops
 *   below min_score is removed by moving the LAST element into its slot,
 *   and that moved element is processed next.
 * Hard NMS (TSL_NMS_HARD): with min_score > 0, keep scores > min_score
 * first; sort descending; walk the sorted list, dropping every later
 * segment with IoU >= iou_threshold with a kept one. Scores are unchanged.
 * TSL_NMS_NONE: the candidates are copied unchanged (the reference skips
 * batched_nms, and with it the cut to max_seg_num).
 *
 * Segment voting (class-agnostic only): each kept segment becomes the
 * average of ALL input candidates whose IoU with it (plain lengths, no
 * 1e-6) is >= voting_thresh, weighted by their input scores. The
 * reference computes these sums with a float32 BLAS product; here they are
 * accumulated in double, so voted boundaries can differ from it by a few
 * ulp. Everything else is bit-exact.
 */
#pragma once

#include <glib.h>

#include "config.h"
#include "segment.h"

G_BEGIN_DECLS

/* Appends the segments that survive NMS to `out` (GArray of TslSegment),
 * in the reference's output order: descending score. Grid units in and
 * out. The config must pass tsl_decode_config_check(). */
void tsl_decode_nms (GArray *out, const TslSegment *candidates /* [N] */, int N,
                     const TslDecodeConfig *config);

G_END_DECLS

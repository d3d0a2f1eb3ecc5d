/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * golden.h: the ActionFormer reference data for the decode tests: tensors
 * recorded from the official PyTorch implementation
 * (happyharrycn/actionformer_release, commit 61ea7eb) for the AF1 case
 * (three videos, 5 classes, 6 FPN levels; README.md next to the files).
 *
 * The folder is $TSL_GOLDEN_DIR/actionformer, by default
 * ../shared/golden/actionformer next to the source tree (found through
 * TSL_TEST_DATA, which meson sets to <source>/tests/data). It is optional:
 * when it is absent golden_open() marks the test skipped.
 *
 * Comparisons here are bitwise: the decode stages reproduce the reference
 * float32 operations exactly, so any difference is a bug.
 */
#pragma once

#include <glib.h>

#include "decode/decode.h"
#include "io/safetensors.h"

G_BEGIN_DECLS

#define GOLDEN_N_VIDEOS 3
#define GOLDEN_N_LEVELS 6
#define GOLDEN_N_CLASSES 5

/* af1_video<k>.safetensors, or NULL after g_test_skip() when the golden
 * folder is absent. A file that exists but does not open fails the test. */
TslSafetensors *golden_open_video (int k);

/* Tensor `name` of any dtype as a new float array (g_free); *numel gets its
 * element count. Fails the test when it is missing. */
float *golden_read (const TslSafetensors *st, const char *name, size_t *numel);

/* The test_cfg of the AF1 case: pre_nms_thresh 0.001, pre_nms_topk 5000,
 * duration_thresh 0.05, soft, sigma 0.4, min_score 0.001, max_seg_num 200,
 * iou_threshold 0.1, multiclass, voting_thresh 0.75. */
void golden_af1_config (TslDecodeConfig *config);

/* fps, duration, feat_stride, num_frames from the file's metadata. */
void golden_timing (const TslSafetensors *st, TslDecodeTiming *timing);

/* Levels of the video: cls_logits.L, reg_offsets.L, mask.L, stride 2^L.
 * The arrays stay valid until golden_free_levels(). */
void golden_read_levels (const TslSafetensors *st, TslDecodeLevel *levels /* [6] */);
void golden_free_levels (TslDecodeLevel *levels /* [6] */);

/* Compares got[0, n) with <prefix>_segments / _scores / _labels bit for bit
 * (so -0.0 differs from 0.0); prints the first differences and fails the
 * test on any. */
gboolean golden_check_segments (const char *what, const TslSegment *got, int n,
                                const TslSafetensors *st, const char *prefix);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * decode/config.h: the parameters of ActionFormer's post-processing
 * (candidate selection, NMS), named and defaulted as the `test_cfg` section
 * of the reference configuration (happyharrycn/actionformer_release,
 * libs/core/config.py DEFAULTS).
 *
 * Thresholds are doubles, as the reference's Python floats; each stage
 * rounds them to float32 where the reference compares float32 tensors with
 * them (see the stage headers).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
    TSL_NMS_NONE,        /* "none": candidates pass through unchanged, no cut to max_seg_num */
    TSL_NMS_HARD,        /* "hard": greedy NMS, drops IoU >= iou_threshold */
    TSL_NMS_SOFT,        /* "soft": Gaussian soft-NMS, score *= exp(-IoU^2 / sigma) */
    TSL_NMS_SOFT_LINEAR, /* "linear": score *= 1 - IoU where IoU >= iou_threshold (method 1 of
                          * the reference C++ kernel; its Python always picks Gaussian) */
} TslNmsMethod;

typedef struct {
    double pre_nms_thresh;  /* keep candidates with score > this */
    int pre_nms_topk;       /* keep at most this many candidates PER FPN LEVEL, > 0 */
    double duration_thresh; /* keep candidates longer than this, grid units */
    TslNmsMethod nms_method;
    double sigma;           /* Gaussian soft-NMS: exp(-IoU^2 / sigma), > 0 */
    double min_score;       /* soft-NMS drops scores decayed below this; hard NMS keeps > this */
    int max_seg_num;        /* per class, and in total after the final sort, > 0 */
    double iou_threshold;   /* hard and linear NMS only */
    gboolean multiclass;    /* NMS per class (TRUE) or over all classes at once */
    double voting_thresh;   /* class-agnostic only: segment voting at IoU >= this; <= 0: off */
} TslDecodeConfig;

/* The reference defaults: pre_nms_thresh 0.001, pre_nms_topk 5000,
 * duration_thresh 0.05, soft, sigma 0.5, min_score 0.01, max_seg_num 1000,
 * iou_threshold 0.1, multiclass TRUE, voting_thresh 0.75. Model files
 * usually override some (sigma, min_score, max_seg_num). */
void tsl_decode_config_init (TslDecodeConfig *config);

/* FALSE with TSL_ERROR_CONFIG naming the field when a value is out of range
 * (the reference silently misbehaves on these: a non-positive top-k or
 * max_seg_num empties the output, sigma <= 0 gives NaN scores) or a
 * threshold is not finite. */
gboolean tsl_decode_config_check (const TslDecodeConfig *config, GError **error);

/* "none", "hard", "soft" (the reference's nms_method strings) and "linear";
 * FALSE with TSL_ERROR_CONFIG for anything else. */
gboolean tsl_nms_method_from_name (const char *name, TslNmsMethod *method, GError **error);
const char *tsl_nms_method_name (TslNmsMethod method);

G_END_DECLS

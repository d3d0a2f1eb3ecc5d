/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * decode/config.c: defaults and range checks of TslDecodeConfig; the values
 * are those of happyharrycn/actionformer_release libs/core/config.py
 * (DEFAULTS["test_cfg"]).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "../error.h"

static const char *const method_names[] = {
    [TSL_NMS_NONE] = "none",
    [TSL_NMS_HARD] = "hard",
    [TSL_NMS_SOFT] = "soft",
    [TSL_NMS_SOFT_LINEAR] = "linear",
};

void
tsl_decode_config_init (TslDecodeConfig *config)
{
    *config = (TslDecodeConfig) {
        .pre_nms_thresh = 0.001,
        .pre_nms_topk = 5000,
        .duration_thresh = 0.05,
        .nms_method = TSL_NMS_SOFT,
        .sigma = 0.5,
        .min_score = 0.01,
        .max_seg_num = 1000,
        .iou_threshold = 0.1,
        .multiclass = TRUE,
        .voting_thresh = 0.75,
    };
}

gboolean
tsl_decode_config_check (const TslDecodeConfig *config, GError **error)
{
    const struct {
        const char *name;
        double value;
    } thresholds[] = {
        { "pre_nms_thresh", config->pre_nms_thresh },
        { "duration_thresh", config->duration_thresh },
        { "sigma", config->sigma },
        { "min_score", config->min_score },
        { "iou_threshold", config->iou_threshold },
        { "voting_thresh", config->voting_thresh },
    };

    for (guint i = 0; i < G_N_ELEMENTS (thresholds); i++) {
        if (!isfinite (thresholds[i].value)) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG, "decode config: %s is %g, not finite",
                         thresholds[i].name, thresholds[i].value);
            return FALSE;
        }
    }
    if (config->pre_nms_topk <= 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "decode config: pre_nms_topk is %d, must be > 0", config->pre_nms_topk);
        return FALSE;
    }
    if (config->max_seg_num <= 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "decode config: max_seg_num is %d, must be > 0", config->max_seg_num);
        return FALSE;
    }
    if ((guint) config->nms_method >= G_N_ELEMENTS (method_names)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG, "decode config: unknown nms_method %d",
                     (int) config->nms_method);
        return FALSE;
    }
    if (config->nms_method == TSL_NMS_SOFT && !((float) config->sigma > 0.0f)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "decode config: sigma is %g, must be > 0 for soft NMS", config->sigma);
        return FALSE;
    }
    return TRUE;
}

gboolean
tsl_nms_method_from_name (const char *name, TslNmsMethod *method, GError **error)
{
    for (guint i = 0; i < G_N_ELEMENTS (method_names); i++) {
        if (strcmp (name, method_names[i]) == 0) {
            *method = (TslNmsMethod) i;
            return TRUE;
        }
    }
    g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                 "decode config: nms_method \"%s\" is none of none, hard, soft, linear", name);
    return FALSE;
}

const char *
tsl_nms_method_name (TslNmsMethod method)
{
    g_return_val_if_fail ((guint) method < G_N_ELEMENTS (method_names), NULL);
    return method_names[method];
}

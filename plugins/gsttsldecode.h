/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttsldecode.h: tsldecode, the element that turns ActionFormer scores
 * (application/x-tsl-scores, see gsttslscores.h) into timed sound events.
 * The instance struct and its locking are documented in gsttsldecode.c.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_TSL_DECODE (gst_tsl_decode_get_type ())
#define GST_TSL_DECODE(obj) (G_TYPE_CHECK_INSTANCE_CAST ((obj), GST_TYPE_TSL_DECODE, GstTslDecode))
#define GST_TSL_DECODE_CLASS(klass) \
  (G_TYPE_CHECK_CLASS_CAST ((klass), GST_TYPE_TSL_DECODE, GstTslDecodeClass))
#define GST_IS_TSL_DECODE(obj) (G_TYPE_CHECK_INSTANCE_TYPE ((obj), GST_TYPE_TSL_DECODE))
#define GST_IS_TSL_DECODE_CLASS(klass) (G_TYPE_CHECK_CLASS_TYPE ((klass), GST_TYPE_TSL_DECODE))

typedef struct _GstTslDecode GstTslDecode;
typedef struct _GstTslDecodeClass GstTslDecodeClass;

/**
 * GstTslDecodeFormat:
 * @GST_TSL_DECODE_FORMAT_JSON: one JSON object per event and buffer,
 *   newline-terminated (application/x-json)
 * @GST_TSL_DECODE_FORMAT_TEXT: a caption "label (score)" per event
 *   (text/x-raw, format=utf8)
 *
 * What the events' buffers hold.
 *
 * Since: 0.1
 */
typedef enum {
  GST_TSL_DECODE_FORMAT_JSON,
  GST_TSL_DECODE_FORMAT_TEXT,
} GstTslDecodeFormat;

/**
 * GstTslDecodeNmsMethod:
 * @GST_TSL_DECODE_NMS_MODEL: the model's test_cfg.nms_method
 * @GST_TSL_DECODE_NMS_SOFT: Gaussian soft-NMS
 * @GST_TSL_DECODE_NMS_HARD: greedy NMS
 * @GST_TSL_DECODE_NMS_LINEAR: linear soft-NMS
 * @GST_TSL_DECODE_NMS_NONE: no suppression
 *
 * Non-maximum suppression of the candidate events.
 *
 * Since: 0.1
 */
typedef enum {
  GST_TSL_DECODE_NMS_MODEL,
  GST_TSL_DECODE_NMS_SOFT,
  GST_TSL_DECODE_NMS_HARD,
  GST_TSL_DECODE_NMS_LINEAR,
  GST_TSL_DECODE_NMS_NONE,
} GstTslDecodeNmsMethod;

GType gst_tsl_decode_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (tsldecode);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslmeta.h: GstTslEventMeta, the meta that tsldecode attaches to each
 * event buffer: which sound event (label and class id), how sure (score)
 * and when (start and end, nanoseconds of stream time).
 *
 * The API is the usual four functions of a GStreamer meta: the API type,
 * the implementation info, add and get. The meta does not depend on the
 * buffer's memory, so it has no tags and survives every copy.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TSL_EVENT_META_API_TYPE (gst_tsl_event_meta_api_get_type ())
#define GST_TSL_EVENT_META_INFO (gst_tsl_event_meta_get_info ())

typedef struct _GstTslEventMeta GstTslEventMeta;

/**
 * GstTslEventMeta:
 * @meta: parent #GstMeta
 * @label: name of the event's class (owned by the meta)
 * @label_id: class index, 0 .. classes - 1
 * @score: confidence, 0 .. 1 (the class probability after NMS)
 * @start: start of the event (ns, stream time)
 * @end: end of the event (ns, stream time), >= @start
 *
 * One detected sound event.
 *
 * Since: 0.1
 */
struct _GstTslEventMeta {
  GstMeta meta;

  gchar *label;
  gint label_id;
  gdouble score;
  GstClockTime start;
  GstClockTime end;
};

GType gst_tsl_event_meta_api_get_type (void);

const GstMetaInfo *gst_tsl_event_meta_get_info (void);

GstTslEventMeta *gst_buffer_add_tsl_event_meta (GstBuffer *buffer, const gchar *label,
    gint label_id, gdouble score, GstClockTime start, GstClockTime end);

GstTslEventMeta *gst_buffer_get_tsl_event_meta (GstBuffer *buffer);

G_END_DECLS

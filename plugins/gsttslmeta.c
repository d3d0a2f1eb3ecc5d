/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslmeta.c: GstTslEventMeta, one detected sound event attached to a
 * buffer (see gsttslmeta.h), written in the manner of GstAudioLevelMeta
 * (gst-plugins-base gst-libs/gst/audio/gstaudiometa.c): an API type
 * registered once, an implementation info with init / free / transform,
 * and add / get functions.
 *
 * Ownership: the meta owns a copy of its label. Copying a buffer copies
 * the meta (every copy, whole or region: the values do not depend on the
 * memory); other transforms drop it.
 *
 * Registration looks for an existing registration by name first, so that
 * an application that compiles this file in to read the meta shares the
 * one registration with the plugin, whichever of the two comes first.
 */
#include "gsttslmeta.h"

#define GST_TSL_EVENT_META_API_NAME "GstTslEventMetaAPI"
#define GST_TSL_EVENT_META_IMPL_NAME "GstTslEventMeta"

/**
 * gst_tsl_event_meta_api_get_type:
 *
 * The API type of #GstTslEventMeta, registered on the first call.
 *
 * Returns: the #GType of the meta API
 *
 * Since: 0.1
 */
GType
gst_tsl_event_meta_api_get_type (void)
{
  static gsize api_type = 0;
  static const gchar *tags[] = { NULL };

  if (g_once_init_enter (&api_type)) {
    GType type = g_type_from_name (GST_TSL_EVENT_META_API_NAME);

    if (type == 0)
      type = gst_meta_api_type_register (GST_TSL_EVENT_META_API_NAME, tags);
    g_once_init_leave (&api_type, type);
  }
  return (GType) api_type;
}

static gboolean
gst_tsl_event_meta_init (GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  GstTslEventMeta *event = (GstTslEventMeta *) meta;

  event->label = NULL;
  event->label_id = 0;
  event->score = 0.0;
  event->start = GST_CLOCK_TIME_NONE;
  event->end = GST_CLOCK_TIME_NONE;
  return TRUE;
}

static void
gst_tsl_event_meta_free (GstMeta *meta, GstBuffer *buffer)
{
  GstTslEventMeta *event = (GstTslEventMeta *) meta;

  g_clear_pointer (&event->label, g_free);
}

/* Copies only. A destination that already carries an event meta gets its
 * values replaced rather than a second meta. */
static gboolean
gst_tsl_event_meta_transform (GstBuffer *dest, GstMeta *meta, GstBuffer *buffer, GQuark type,
    gpointer data)
{
  GstTslEventMeta *src = (GstTslEventMeta *) meta;
  GstTslEventMeta *dst;

  if (!GST_META_TRANSFORM_IS_COPY (type))
    return FALSE;

  dst = gst_buffer_get_tsl_event_meta (dest);
  if (dst == NULL)
    return gst_buffer_add_tsl_event_meta (dest, src->label, src->label_id, src->score,
        src->start, src->end) != NULL;

  g_free (dst->label);
  dst->label = g_strdup (src->label);
  dst->label_id = src->label_id;
  dst->score = src->score;
  dst->start = src->start;
  dst->end = src->end;
  return TRUE;
}

/**
 * gst_tsl_event_meta_get_info:
 *
 * The implementation of #GstTslEventMeta, registered on the first call.
 *
 * Returns: (transfer none): the #GstMetaInfo of the meta
 *
 * Since: 0.1
 */
const GstMetaInfo *
gst_tsl_event_meta_get_info (void)
{
  static const GstMetaInfo *meta_info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) & meta_info)) {
    const GstMetaInfo *info = gst_meta_get_info (GST_TSL_EVENT_META_IMPL_NAME);

    if (info == NULL)
      info = gst_meta_register (GST_TSL_EVENT_META_API_TYPE, GST_TSL_EVENT_META_IMPL_NAME,
          sizeof (GstTslEventMeta), gst_tsl_event_meta_init, gst_tsl_event_meta_free,
          gst_tsl_event_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & meta_info, (GstMetaInfo *) info);
  }
  return meta_info;
}

/**
 * gst_buffer_add_tsl_event_meta:
 * @buffer: a writable #GstBuffer
 * @label: (transfer none): name of the event's class; the meta keeps a copy
 * @label_id: class index, >= 0
 * @score: confidence of the event
 * @start: start of the event (ns, stream time), a valid time
 * @end: end of the event (ns, stream time), a valid time >= @start
 *
 * Attaches a #GstTslEventMeta describing one sound event to @buffer.
 *
 * Returns: (transfer none) (nullable): the meta on @buffer, or %NULL when
 * an argument is invalid
 *
 * Since: 0.1
 */
GstTslEventMeta *
gst_buffer_add_tsl_event_meta (GstBuffer *buffer, const gchar *label, gint label_id,
    gdouble score, GstClockTime start, GstClockTime end)
{
  GstTslEventMeta *event;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (gst_buffer_is_writable (buffer), NULL);
  g_return_val_if_fail (label != NULL, NULL);
  g_return_val_if_fail (label_id >= 0, NULL);
  g_return_val_if_fail (GST_CLOCK_TIME_IS_VALID (start), NULL);
  g_return_val_if_fail (GST_CLOCK_TIME_IS_VALID (end), NULL);
  g_return_val_if_fail (end >= start, NULL);

  event = (GstTslEventMeta *) gst_buffer_add_meta (buffer, GST_TSL_EVENT_META_INFO, NULL);
  if (event == NULL)
    return NULL;
  event->label = g_strdup (label);
  event->label_id = label_id;
  event->score = score;
  event->start = start;
  event->end = end;
  return event;
}

/**
 * gst_buffer_get_tsl_event_meta:
 * @buffer: a #GstBuffer
 *
 * Finds the #GstTslEventMeta on @buffer.
 *
 * Returns: (transfer none) (nullable): the meta, or %NULL when @buffer has
 * none
 *
 * Since: 0.1
 */
GstTslEventMeta *
gst_buffer_get_tsl_event_meta (GstBuffer *buffer)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);

  return (GstTslEventMeta *) gst_buffer_get_meta (buffer, GST_TSL_EVENT_META_API_TYPE);
}

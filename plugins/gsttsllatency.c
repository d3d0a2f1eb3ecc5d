/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttsllatency.c: see gsttsllatency.h.
 */
#include "gsttsllatency.h"

gboolean
gst_tsl_latency_query_add (GstPad * sinkpad, GstQuery * query, GstClockTime added)
{
  GstClockTime min, max;
  gboolean live;

  if (!gst_pad_peer_query (sinkpad, query))
    return FALSE;
  gst_query_parse_latency (query, &live, &min, &max);
  GST_DEBUG_OBJECT (sinkpad, "adding %" GST_TIME_FORMAT " to upstream latency %"
      GST_TIME_FORMAT, GST_TIME_ARGS (added), GST_TIME_ARGS (min));
  min += added;
  if (GST_CLOCK_TIME_IS_VALID (max))
    max += added;
  gst_query_set_latency (query, live, min, max);
  return TRUE;
}

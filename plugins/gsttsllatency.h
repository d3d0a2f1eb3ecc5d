/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttsllatency.h: answering a LATENCY query on the src pad of an element
 * that delays its stream: upstream's answer, with the element's own delay
 * added to the minimum and (when bounded) the maximum.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Sends `query` upstream through sinkpad's peer and adds `added` (ns) to
 * its answer. FALSE when upstream does not answer. */
gboolean gst_tsl_latency_query_add (GstPad * sinkpad, GstQuery * query, GstClockTime added);

G_END_DECLS

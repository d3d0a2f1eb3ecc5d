/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslfuse.h: tslfuse, early fusion of feature streams: N
 * application/x-tsl-features streams in (request pads sink_%u), one out,
 * on the first pad's time grid, each output vector the concatenation (in
 * pad order) of the first stream's vector and the other streams' vectors
 * linearly interpolated at its time.
 *
 * A GstAggregator (as cccombiner and the mixers are): it waits for every
 * stream in non-live pipelines and, in live ones, gives up on a late
 * stream after the aggregator's latency and fills it as the `missing`
 * property says.
 */
#pragma once

#include <gst/base/gstaggregator.h>

G_BEGIN_DECLS

/* What a stream contributes where it has no data (live and late, or it
 * has sent nothing at all). */
typedef enum
{
  GST_TSL_FUSE_MISSING_HOLD_LAST,       /* its last vector (zeros before any) */
  GST_TSL_FUSE_MISSING_ZEROS,           /* zeros */
} GstTslFuseMissing;

#define GST_TYPE_TSL_FUSE_MISSING (gst_tsl_fuse_missing_get_type ())
GType gst_tsl_fuse_missing_get_type (void);

#define GST_TYPE_TSL_FUSE_PAD (gst_tsl_fuse_pad_get_type ())
G_DECLARE_FINAL_TYPE (GstTslFusePad, gst_tsl_fuse_pad, GST, TSL_FUSE_PAD, GstAggregatorPad)

#define GST_TYPE_TSL_FUSE (gst_tsl_fuse_get_type ())
G_DECLARE_FINAL_TYPE (GstTslFuse, gst_tsl_fuse, GST, TSL_FUSE, GstAggregator)

GST_ELEMENT_REGISTER_DECLARE (tslfuse);

G_END_DECLS

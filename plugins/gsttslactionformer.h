/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslactionformer.h: tslactionformer, ActionFormer over a feature
 * stream: application/x-tsl-features in, application/x-tsl-scores out
 * (gsttslscores.h), all maths in libtsl/models/actionformer.
 *
 * A plain GstElement with its own chain and event functions rather than a
 * GstBaseTransform: output does not follow input buffer by buffer. Offline
 * mode answers once, at EOS, for everything received; streaming mode
 * answers once per `hop` features, for windows that straddle many input
 * buffers; and GAP events, timestamp jumps and EOS all change the feature
 * grid itself. See the SECTION block in gsttslactionformer.c.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* How the feature stream is cut into inference windows. */
typedef enum
{
  GST_TSL_ACTION_FORMER_MODE_OFFLINE,   /* one inference over the whole stream, at EOS */
  GST_TSL_ACTION_FORMER_MODE_STREAMING, /* sliding windows of `window` features, every `hop` */
} GstTslActionFormerMode;

#define GST_TYPE_TSL_ACTION_FORMER_MODE (gst_tsl_action_former_mode_get_type ())
GType gst_tsl_action_former_mode_get_type (void);

#define GST_TYPE_TSL_ACTION_FORMER (gst_tsl_action_former_get_type ())
G_DECLARE_FINAL_TYPE (GstTslActionFormer, gst_tsl_action_former, GST, TSL_ACTION_FORMER,
    GstElement)

GST_ELEMENT_REGISTER_DECLARE (tslactionformer);

G_END_DECLS

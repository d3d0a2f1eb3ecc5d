/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslfeaturesrc.h: tslfeaturesrc, a source that plays a feature file
 * (FILE.npy [T, D] or FILE.safetensors:NAME [D, T] / [1, D, T]) as an
 * application/x-tsl-features stream of [N, D] buffers, so that a model can
 * be re-run on stored features without decoding video again.
 *
 * A GstPushSrc: the whole file is loaded at start (feature files are small
 * next to the video they summarise) and create() hands out consecutive
 * slices of it. See the SECTION block in gsttslfeaturesrc.c.
 */
#pragma once

#include <gst/base/gstpushsrc.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_TSL_FEATURE_SRC (gst_tsl_feature_src_get_type ())
G_DECLARE_FINAL_TYPE (GstTslFeatureSrc, gst_tsl_feature_src, GST, TSL_FEATURE_SRC, GstPushSrc)

GST_ELEMENT_REGISTER_DECLARE (tslfeaturesrc);

G_END_DECLS

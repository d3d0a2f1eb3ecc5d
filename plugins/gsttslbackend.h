/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslbackend.h: the `backend` property every model-running element of
 * gst-tsl shares (where libtsl runs the network: tsl_backend_new), and the
 * mapping of libtsl load errors to GStreamer error messages.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef enum
{
  GST_TSL_BACKEND_AUTO,   /* CUDA when built in and a GPU is present, else CPU */
  GST_TSL_BACKEND_CPU,
  GST_TSL_BACKEND_CUDA,
} GstTslBackend;

#define GST_TYPE_TSL_BACKEND (gst_tsl_backend_get_type ())
GType gst_tsl_backend_get_type (void);

/* "auto", "cpu" or "cuda", as tsl_backend_new takes it. */
const gchar *gst_tsl_backend_to_string (GstTslBackend backend);

/* Posts a libtsl error met while loading a model: a file that cannot be
 * opened is RESOURCE NOT_FOUND, anything else LIBRARY INIT. */
void gst_tsl_backend_post_load_error (GstElement * element, const GError * error);

G_END_DECLS

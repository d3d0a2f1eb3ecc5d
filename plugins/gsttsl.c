/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttsl.c: the gst-tsl plugin: plugin_init and nothing else. Each element
 * registers itself through GST_ELEMENT_REGISTER in its own file.
 */
#include <gst/gst.h>

#include "gsttslactionformer.h"
#include "gsttslaudioenc.h"
#include "gsttsldecode.h"
#include "gsttslfeaturesrc.h"
#include "gsttslfuse.h"
#include "gsttslvideoenc.h"
#include "tsl-build-config.h"

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (tslfeaturesrc, plugin);
  ret |= GST_ELEMENT_REGISTER (tslactionformer, plugin);
  ret |= GST_ELEMENT_REGISTER (tsldecode, plugin);
  ret |= GST_ELEMENT_REGISTER (tslvideoenc, plugin);
  ret |= GST_ELEMENT_REGISTER (tslaudioenc, plugin);
  ret |= GST_ELEMENT_REGISTER (tslfuse, plugin);
  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, tsl,
    "Temporal sound localisation: finds sound events in video",
    plugin_init, TSL_VERSION, "LGPL", GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)

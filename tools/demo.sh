#!/bin/sh
# demo.sh: the main job on a built tree (tools/bootstrap.sh builds it).
# For now: shows the GStreamer plugin and the trainer's commands.
set -eu
cd "$(dirname "$0")/.."
builddir=${TSL_BUILD_DIR:-build}

GST_PLUGIN_PATH="$PWD/$builddir/plugins" gst-inspect-1.0 tsl
"$builddir/gst-tsl-train/gst-tsl-train" --help

#!/bin/sh
# bootstrap.sh: installs what gst-tsl needs on Debian 12 (only the packages
# that are missing), then configures and builds it in ./build.
#   tools/bootstrap.sh [MESON_SETUP_OPTION...]
# Run as root (or with sudo available) the first time, when packages are
# missing. Extra arguments go to `meson setup` (e.g. -Dcuda=enabled).
set -eu
cd "$(dirname "$0")/.."

packages="meson ninja-build pkg-config gcc libglib2.0-dev libjson-glib-dev \
libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools \
gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-x libopenblas-openmp-dev \
clang libclang-rt-dev"
# what tools/make-sample-dataset.py needs (the demo's recipe and the
# end-to-end test): recorded sounds, espeak-ng, sox, numpy, GStreamer tools
packages="$packages $(grep -v '^#' tools/sample-dataset-packages.txt | tr '\n' ' ')"

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "bootstrap: installing$missing"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends $missing
fi

builddir=${TSL_BUILD_DIR:-build}
if [ -f "$builddir/build.ninja" ]; then
  [ $# -eq 0 ] || meson configure "$builddir" "$@"
else
  meson setup "$builddir" "$@"
fi
ninja -C "$builddir"

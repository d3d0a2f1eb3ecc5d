#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# file-events.sh: the sound events of one feature file, as JSON lines on
# stdout, from the offline pipeline
#
#   tslfeaturesrc ! tslactionformer ! tsldecode format=json ! fdsink
#
# Usage: examples/file-events.sh FEATURES MODEL [TSLDECODE-PROPERTY=VALUE...]
#
#   FEATURES  FILE.npy ([T, D]) or FILE.safetensors:NAME ([D, T])
#   MODEL     an ActionFormer model file (.safetensors, see docs/models.md)
#   extra arguments are tsldecode properties, e.g. min-score=0.2
#
# Try it on the test model, which also holds a feature sequence:
#
#   examples/file-events.sh tests/data/actionformer-fixture.safetensors:video0.feats \
#       tests/data/actionformer-fixture.safetensors
#
# That model has random weights: its events are meaningless, but every
# element runs for real.
#
# The plugin is taken from GST_PLUGIN_PATH, by default the build tree's
# build/plugins next to this repository's root. Set GST_TSL_BACKEND to
# cpu or cuda to choose where the network runs (default: auto).
set -eu

if [ $# -lt 2 ]; then
    echo "usage: $0 FEATURES MODEL [TSLDECODE-PROPERTY=VALUE...]" >&2
    exit 2
fi
features=$1
model=$2
shift 2

root=$(cd "$(dirname "$0")/.." && pwd)
export GST_PLUGIN_PATH="${GST_PLUGIN_PATH:-$root/build/plugins}"

# Debian's OpenBLAS may not recognise a recent x86 CPU and fall back to slow
# generic kernels; name the right ones unless the caller already did.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
    if grep -qw avx512f /proc/cpuinfo; then
        export OPENBLAS_CORETYPE=SkylakeX
    elif grep -qw avx2 /proc/cpuinfo; then
        export OPENBLAS_CORETYPE=Haswell
    fi
fi

if ! gst-inspect-1.0 tslactionformer >/dev/null 2>&1; then
    echo "$0: the tsl plugin is not in GST_PLUGIN_PATH=$GST_PLUGIN_PATH (build it first)" >&2
    exit 1
fi

# tslfeaturesrc takes the feature rate and window from the model, so that
# event times come out in seconds of the original video.
exec gst-launch-1.0 -q \
    tslfeaturesrc location="$features" model="$model" ! \
    tslactionformer model="$model" backend="${GST_TSL_BACKEND:-auto}" ! \
    tsldecode model="$model" format=json "$@" ! \
    fdsink fd=1

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# streaming-events.sh: the sound events of one feature file, as JSON lines
# on stdout, computed the way a live pipeline computes them: sliding
# inference windows, events emitted while the stream goes on.
#
#   tslfeaturesrc ! tslactionformer mode=streaming window=W hop=H !
#       tsldecode latency=L format=json ! fdsink
#
# Usage: examples/streaming-events.sh FEATURES MODEL [WINDOW [HOP [LATENCY]]]
#
#   FEATURES  FILE.npy ([T, D]) or FILE.safetensors:NAME ([D, T])
#   MODEL     an ActionFormer model file (.safetensors, see docs/models.md)
#   WINDOW    feature vectors per inference (default 0: the model's max_seq_len)
#   HOP       feature vectors between two inferences (default 0: WINDOW / 2)
#   LATENCY   seconds tsldecode waits after an event's end before emitting
#             it (default 10)
#
# Window k covers vectors [k*HOP, k*HOP + WINDOW) and answers for the HOP
# vectors in its middle; see docs/elements.md. Try it on the test model
# (max_seq_len 64, feature sequence of 50 vectors), with windows of 32
# vectors every 16 and a 2 s latency:
#
#   examples/streaming-events.sh tests/data/actionformer-fixture.safetensors:video0.feats \
#       tests/data/actionformer-fixture.safetensors 32 16 2
#
# That model has random weights: its events are meaningless, but every
# element runs for real. Run with GST_DEBUG=tslactionformer:5 to see each
# window's range and commit range.
#
# The plugin is taken from GST_PLUGIN_PATH, by default the build tree's
# build/plugins next to this repository's root. Set GST_TSL_BACKEND to
# cpu or cuda to choose where the network runs (default: auto).
set -eu

if [ $# -lt 2 ] || [ $# -gt 5 ]; then
    echo "usage: $0 FEATURES MODEL [WINDOW [HOP [LATENCY-SECONDS]]]" >&2
    exit 2
fi
features=$1
model=$2
window=${3:-0}
hop=${4:-0}
latency_s=${5:-10}
latency_ns=$(awk -v s="$latency_s" 'BEGIN { if (s !~ /^[0-9]*\.?[0-9]+$/) exit 1; printf "%.0f", s * 1e9 }') || {
    echo "$0: LATENCY must be a number of seconds, not '$latency_s'" >&2
    exit 2
}

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

exec gst-launch-1.0 -q \
    tslfeaturesrc location="$features" model="$model" ! \
    tslactionformer model="$model" backend="${GST_TSL_BACKEND:-auto}" \
        mode=streaming window="$window" hop="$hop" ! \
    tsldecode model="$model" format=json latency="$latency_ns" ! \
    fdsink fd=1

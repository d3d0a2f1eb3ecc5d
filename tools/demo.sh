#!/bin/sh
# demo.sh: the main job on a built tree (tools/bootstrap.sh builds it).
#
# Lists the plugin's elements, then runs the file pipeline
#   tslfeaturesrc ! tslactionformer ! tsldecode
# on a bundled feature sequence with the bundled ActionFormer model, and
# prints the sound events as JSON lines. The bundled model is the small
# random-weight model the tests use (tests/data/actionformer-fixture.*):
# the events show the plumbing, not a trained detector. The same features
# go through `gst-tsl-train predict` too, which gives the same events.
set -eu
cd "$(dirname "$0")/.."
builddir=${TSL_BUILD_DIR:-build}
model=tests/data/actionformer-fixture.safetensors
features="$model:video0.feats"
out=${TSL_DEMO_OUT:-$builddir/demo}
mkdir -p "$out"

export GST_PLUGIN_PATH="$PWD/$builddir/plugins"
# Debian's OpenBLAS may not know this CPU; name its kernels (see README).
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
fi

echo "== the tsl plugin"
gst-inspect-1.0 tsl | sed -n '/^  Name/p;/^  tsl/p'
echo
echo "== events from: tslfeaturesrc location=$features ! tslactionformer ! tsldecode"
gst-launch-1.0 -q tslfeaturesrc location="$features" model="$model" \
  ! tslactionformer model="$model" ! tsldecode model="$model" format=json min-score=0.2 \
  ! filesink location="$out/events.jsonl"
cat "$out/events.jsonl"
echo
echo "== the same features through gst-tsl-train predict"
"$builddir/gst-tsl-train/gst-tsl-train" predict --model "$model" --features "$features" \
  --output "$out/events.json"
echo "all events: $out/events.jsonl (pipeline), $out/events.json (predict)"

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make-demo-models.sh: the recipe of the demo's bundled models and sample
# clip (data/demo/), made with the project's own tools only:
#
#   1. a sample dataset (tools/make-sample-dataset.py, fixed seed): 48 clips
#      of 20-40 s with 8 classes of recorded sounds, some with visual cues;
#   2. small encoders with random weights: a VideoMAE V2 ViT (112 x 112,
#      patch 16, 2 blocks of 96 channels) and an MMV audio ResNet-v2 of
#      width 8 with one block per stage (the pooled 256-d output); random
#      encoders keep the inputs' structure well enough for a trained
#      localiser on this data, and keep the files small;
#   3. their features for every clip (gst-tsl-train extract, through the
#      GStreamer elements);
#   4. an ActionFormer localiser trained on the training split
#      (gst-tsl-train fit, configs/demo.json), then scored on the
#      validation split (gst-tsl-train eval);
#   5. data/demo/: the three model files, one validation clip and its
#      annotations.
#
# Usage: tools/make-demo-models.sh [OUT_DIR]   (default data/demo; a built
# tree is needed: tools/bootstrap.sh). Takes a few minutes on 2 cores.
set -eu
cd "$(dirname "$0")/.."
out=${1:-data/demo}
builddir=${TSL_BUILD_DIR:-build}
work=${TSL_DEMO_WORK:-$builddir/demo-recipe}
train=$builddir/gst-tsl-train/gst-tsl-train
python=/usr/bin/python3
export GST_PLUGIN_PATH="$PWD/$builddir/plugins"
export OMP_WAIT_POLICY=passive
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
fi
mkdir -p "$out" "$work"

echo "== 1. sample dataset"
$python tools/make-sample-dataset.py --output "$work/dataset" --clips 48 --seed 7 \
  --min-seconds 20 --max-seconds 40 --valid-fraction 0.25

echo "== 2. small random encoders"
cat > "$work/video-tiny.json" <<JSON
{"patch_size": 16, "tubelet_size": 2, "img_size": 112, "all_frames": 16,
 "embed_dim": 96, "depth": 2, "num_heads": 3, "mlp_ratio": 4.0}
JSON
$python tools/make-random-videomae.py --config-json "$work/video-tiny.json" --seed 1 \
  --output "$out/video.safetensors"
$python tools/make-random-audio-model.py --width 8 --blocks 1,1,1,1 --head backbone --seed 2 \
  --output "$out/audio.safetensors"

echo "== 3. features"
"$train" extract --input "$work/dataset/videos" --output "$work/features" \
  --video-model "$out/video.safetensors" --audio-model "$out/audio.safetensors" --batch 8

echo "== 4. localiser"
rm -rf "$work/run"
"$train" fit --config configs/demo.json --annotations "$work/dataset/annotations.json" \
  --features "$work/features/video" --features "$work/features/audio" --output "$work/run" \
  --seed 3 --checkpoint-every 10
"$train" eval --model "$work/run/model.safetensors" --annotations "$work/dataset/annotations.json" \
  --features "$work/features/video" --features "$work/features/audio" --split valid \
  | tee "$work/eval-valid.txt"
cp "$work/run/model.safetensors" "$out/localiser.safetensors"

echo "== 5. the sample clip"
sample=$($python - "$work/dataset/annotations.json" <<'PY'
import json, sys
gt = json.load(open(sys.argv[1]))
valid = sorted(v for v, e in gt.items() if e["metadata"]["split"] == "valid")
print(valid[0])
PY
)
cp "$work/dataset/videos/$sample.webm" "$out/sample.webm"
$python - "$work/dataset/annotations.json" "$sample" "$out/sample-annotations.json" <<'PY'
import json, sys
gt = json.load(open(sys.argv[1]))
json.dump({sys.argv[2]: gt[sys.argv[2]]}, open(sys.argv[3], "w"), indent=1)
PY
cp "$work/dataset/labels.json" "$out/labels.json"
cp "$work/eval-valid.txt" "$out/eval-valid.txt"
ls -l "$out"

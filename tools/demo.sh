#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# demo.sh: the main job on a built tree (tools/bootstrap.sh builds it).
#
# Finds the sound events of the bundled sample clip (data/demo/sample.webm:
# 8 classes of recorded sounds over background noise, some with a visual
# cue) with the whole pipeline
#
#   filesrc ! decodebin ─┬─ videoconvert ! tslvideoenc ──┐
#                        └─ audioresample ! tslaudioenc ─┴─ tslfuse !
#       tslactionformer ! tsldecode format=json ! (stdout, events.jsonl)
#
# and the bundled models (data/demo/: small random encoders and a
# localiser trained on the project's sample dataset, made by
# tools/make-demo-models.sh). Prints each event as tsldecode pushes it,
# writes events.json and a WebVTT caption file, and scores the events
# against the clip's annotations with the Perception Test metric.
set -eu
cd "$(dirname "$0")/.."
builddir=${TSL_BUILD_DIR:-build}
demo=data/demo
out=${TSL_DEMO_OUT:-$builddir/demo}
train=$builddir/gst-tsl-train/gst-tsl-train
mkdir -p "$out"

export GST_PLUGIN_PATH="$PWD/$builddir/plugins"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
# Debian's OpenBLAS may not know this CPU; name its kernels (see README).
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
fi

echo "== the tsl plugin"
gst-inspect-1.0 tsl | sed -n '/^  Name/p;/^  tsl/p'
echo
echo "== sound events in $demo/sample.webm, as tsldecode pushes them"
gst-launch-1.0 -q filesrc location="$demo/sample.webm" ! decodebin name=d \
  d. ! queue ! videoconvert ! tslvideoenc model="$demo/video.safetensors" ! f. \
  d. ! queue ! audioconvert ! audioresample ! tslaudioenc model="$demo/audio.safetensors" ! f. \
  tslfuse name=f ! tslactionformer model="$demo/localiser.safetensors" ! \
  tsldecode model="$demo/localiser.safetensors" format=json min-score=0.1 ! tee name=t \
  t. ! queue ! fdsink fd=1 \
  t. ! queue ! filesink location="$out/events.jsonl"

# events.json (an array, as gst-tsl-train predict writes), captions.vtt,
# and the events as a submission for the metric
/usr/bin/python3 - "$out" "$demo/sample-annotations.json" <<'PY'
import json, os, sys
out, gt_path = sys.argv[1], sys.argv[2]
events = [json.loads(l) for l in open(os.path.join(out, "events.jsonl")) if l.strip()]
json.dump(events, open(os.path.join(out, "events.json"), "w"), indent=1)
def stamp(s):
    ms = int(round(s * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
with open(os.path.join(out, "captions.vtt"), "w") as vtt:
    vtt.write("WEBVTT\n")
    for i, e in enumerate(sorted(events, key=lambda e: e["start"])):
        vtt.write(f"\n{i + 1}\n{stamp(e['start'])} --> {stamp(e['end'])}\n"
                  f"{e['label']} ({e['score']:.2f})\n")
(video,) = json.load(open(gt_path))
json.dump({video: {"sound_localisation": [
    {"label": e["label_id"], "score": e["score"], "timestamps": [e["start"], e["end"]]}
    for e in events]}}, open(os.path.join(out, "submission.json"), "w"))
print(f"\n== the clip's annotations ({video})")
for a in json.load(open(gt_path))[video]["sound_localisation"]:
    s, e = (t / 1e6 for t in a["timestamps"])
    print(f"  {a['label']:<16} {s:7.2f} - {e:7.2f} s")
PY
echo
echo "== the Perception Test metric on this clip"
"$train" eval --annotations "$demo/sample-annotations.json" \
  --predictions "$out/submission.json" --split valid
echo
echo "written: $out/events.json, $out/captions.vtt (WebVTT), $out/events.jsonl"

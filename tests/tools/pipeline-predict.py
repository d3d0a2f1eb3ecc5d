#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The GStreamer pipeline finds the events `gst-tsl-train predict` finds.

    pipeline-predict.py GST_LAUNCH GST_TSL_TRAIN

For each video of the project's ActionFormer fixture (a small model that
also holds video0.feats [12, 50] and video1.feats [12, 64],
tools/make-actionformer-fixture.py), fed once as an .npy file [T, C] and
once as the fixture's own [C, T] tensor:

    gst-launch-1.0 tslfeaturesrc location=F model=M ! tslactionformer model=M !
        tsldecode model=M format=json ! filesink location=out.jsonl

gives the same events as `gst-tsl-train predict --model M --features F`:
one to one, the same label and label id, start, end and score within 1e-5.
The plugin is found through GST_PLUGIN_PATH_1_0, filesink among the system
plugins. Needs numpy; exit 77 (skipped) without it.
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError as e:
    print(f"# skipped: {e}")
    sys.exit(77)

SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tools"))
import tsl_safetensors  # noqa: E402

FIXTURE = os.path.join(SOURCE_ROOT, "tests", "data", "actionformer-fixture.safetensors")
TOLERANCE = 1e-5  # seconds and score; float32 seconds near 30 s are exact to 2e-6
failures = 0


def check(ok, message):
    global failures
    print(("ok - " if ok else "not ok - ") + message)
    failures += 0 if ok else 1


def pipeline_events(launch, spec, out):
    run = subprocess.run([launch, "-q",
                          "tslfeaturesrc", f"location={spec}", f"model={FIXTURE}", "!",
                          "tslactionformer", f"model={FIXTURE}", "backend=cpu", "!",
                          "tsldecode", f"model={FIXTURE}", "format=json", "!",
                          "filesink", f"location={out}"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        return None, run.stderr.strip()
    with open(out) as f:
        return [json.loads(line) for line in f if line.strip()], ""


def predict_events(tool, spec, out):
    run = subprocess.run([tool, "predict", "--backend", "cpu", "--model", FIXTURE,
                          "--features", spec, "--output", out], capture_output=True, text=True)
    if run.returncode != 0:
        return None, run.stderr.strip()
    with open(out) as f:
        return json.load(f), ""


def unmatched(ours, theirs):
    """Events of `ours` without a partner in `theirs`, pairing one to one."""
    pool = list(theirs)
    lonely = []
    for a in ours:
        partner = next((b for b in pool if a["label"] == b["label"]
                        and a["label_id"] == b["label_id"]
                        and all(abs(a[k] - b[k]) <= TOLERANCE for k in ("start", "end", "score"))),
                       None)
        if partner is None:
            lonely.append(a)
        else:
            pool.remove(partner)
    return lonely


def main():
    launch, tool = sys.argv[1], sys.argv[2]
    tensors, _ = tsl_safetensors.read(FIXTURE)
    with tempfile.TemporaryDirectory() as tmp:
        for video in (0, 1):
            npy = os.path.join(tmp, f"video{video}.npy")
            np.save(npy, np.ascontiguousarray(tensors[f"video{video}.feats"].T, np.float32))
            for spec in (npy, f"{FIXTURE}:video{video}.feats"):
                name = f"video{video} from {'.npy' if spec == npy else '.safetensors'}"
                ours, err = pipeline_events(launch, spec, os.path.join(tmp, "out.jsonl"))
                check(ours is not None, f"{name}: the pipeline runs" + (f" ({err})" if err else ""))
                theirs, err = predict_events(tool, spec, os.path.join(tmp, "predict.json"))
                check(theirs is not None, f"{name}: predict runs" + (f" ({err})" if err else ""))
                if ours is None or theirs is None:
                    continue
                check(len(theirs) > 0, f"{name}: predict finds events ({len(theirs)})")
                extra, missing = unmatched(ours, theirs), unmatched(theirs, ours)
                check(not extra and not missing,
                      f"{name}: {len(ours)} pipeline events = {len(theirs)} predict events"
                      + (f" (first unmatched: {(extra + missing)[0]})" if extra or missing
                         else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

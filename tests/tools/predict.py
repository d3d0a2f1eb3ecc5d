#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests `gst-tsl-train predict` from outside, as a user runs it.

    predict.py GST_TSL_TRAIN

1. On the project's ActionFormer fixture (a small model and its reference
   outputs, tools/make-actionformer-fixture.py): the dumped per-level outputs
   match the reference within 1e-4, the decoding stages are consistent with
   each other and the events JSON is well formed and sorted.
2. Bad input fails with a message: a feature tensor with the wrong channel
   count, NaN features, a missing tensor.
3. When the official golden data is present (TSL_GOLDEN_DIR, default
   ../shared/golden next to the source tree), case AF1 end to end: the events
   agree with the official ones as a set (same label, start and end within
   1e-3 s, score within 1e-3 relative, for every event scoring >= 0.01 on
   either side).
Needs numpy; exit 77 (skipped) without it.
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
failures = 0


def check(ok, message):
    global failures
    print(("ok - " if ok else "not ok - ") + message)
    failures += 0 if ok else 1


def predict(tool, model, features, out_dir, tag, *extra):
    out = os.path.join(out_dir, tag + ".json")
    dump = os.path.join(out_dir, tag + ".dump.safetensors")
    run = subprocess.run([tool, "predict", "--backend", "cpu", "--model", model, "--features",
                          features, "--output", out, "--dump-outputs", dump, *extra],
                         capture_output=True, text=True)
    return run, out, dump


def test_fixture(tool, tmp):
    ref, meta = tsl_safetensors.read(FIXTURE)
    config = json.loads(meta["tsl.config"])
    n_levels = config["model"]["backbone_arch"][2] + 1
    for video in (0, 1):
        run, out, dump = predict(tool, FIXTURE, f"{FIXTURE}:video{video}.feats", tmp,
                                 f"fixture{video}")
        check(run.returncode == 0, f"video{video}: predict runs ({run.stderr.strip()})")
        if run.returncode != 0:
            continue
        got, _ = tsl_safetensors.read(dump)
        worst = 0.0
        for level in range(n_levels):
            for name in ("cls_logits", "reg_offsets", "fpn_feats"):
                a, b = got[f"{name}.{level}"], ref[f"video{video}.{name}.{level}"]
                if a.shape != b.shape:
                    check(False, f"video{video} {name}.{level} shape {a.shape} != {b.shape}")
                    continue
                worst = max(worst, float(np.abs(a - b).max()))
        check(worst < 1e-4, f"video{video}: per-level outputs within 1e-4 (max {worst:.3g})")

        events = json.load(open(out))
        T = ref[f"video{video}.feats"].shape[1]
        fps = config["dataset"]["default_fps"]
        duration = T * config["dataset"]["feat_stride"] / fps
        scores = [e["score"] for e in events]
        check(len(events) == len(got["nms_scores"]), f"video{video}: one event per NMS output")
        check(scores == sorted(scores, reverse=True), f"video{video}: events sorted by score")
        check(all(0 <= e["start"] <= e["end"] <= duration + 1e-4 for e in events),
              f"video{video}: events inside [0, {duration:.3f}] s")
        check(all(e["label"] == f"class_{e['label_id']}" for e in events),
              f"video{video}: unnamed classes are labelled class_N")
        nms = got["nms_segments"]
        seconds = (nms * config["dataset"]["feat_stride"] + 0.5 * config["dataset"]["num_frames"]) / fps
        seconds = np.clip(seconds, 0, duration)
        got_s = np.array([[e["start"], e["end"]] for e in events]).reshape(-1, 2)
        check(np.allclose(got_s, seconds, atol=1e-4),
              f"video{video}: events are the NMS output converted to seconds")
        check(len(got["prenms_scores"]) >= len(got["nms_scores"]),
              f"video{video}: NMS keeps at most its candidates")


def test_bad_input(tool, tmp):
    bad = os.path.join(tmp, "bad.safetensors")
    feats = np.ones((13, 20), np.float32)
    nan = np.ones((12, 20), np.float32)
    nan[3, 7] = np.nan
    tsl_safetensors.write(bad, [("wrong_dim", feats), ("nan", nan)], {})
    for spec, words in ((f"{bad}:wrong_dim", "13 feature channels"),
                        (f"{bad}:nan", "NaN"),
                        (f"{bad}:absent", "no tensor named"),
                        (os.path.join(tmp, "missing.npy"), "missing.npy")):
        run, _, _ = predict(tool, FIXTURE, spec, tmp, "bad")
        check(run.returncode != 0 and words in run.stderr,
              f"bad features {os.path.basename(spec)} rejected: {run.stderr.strip()}")


def match_as_sets(events, ref_segments, ref_scores, ref_labels):
    """Every event scoring >= 0.01 on either side has a partner on the other."""
    ours = [(e["label_id"], e["start"], e["end"], e["score"]) for e in events]
    theirs = [(int(l), float(s[0]), float(s[1]), float(p))
              for s, p, l in zip(ref_segments, ref_scores, ref_labels)]

    def has_partner(a, pool):
        return any(a[0] == b[0] and abs(a[1] - b[1]) <= 1e-3 and abs(a[2] - b[2]) <= 1e-3
                   and abs(a[3] - b[3]) <= 1e-3 * max(a[3], b[3]) for b in pool)

    lonely = [a for a in ours if a[3] >= 0.01 and not has_partner(a, theirs)]
    lonely += [b for b in theirs if b[3] >= 0.01 and not has_partner(b, ours)]
    return lonely


def test_golden(tool, tmp):
    golden = os.environ.get("TSL_GOLDEN_DIR",
                            os.path.join(SOURCE_ROOT, "..", "shared", "golden"))
    folder = os.path.join(golden, "actionformer")
    if not os.path.isfile(os.path.join(folder, "af1_params.safetensors")):
        print("# golden AF1 data absent: end-to-end parity not checked")
        return
    params, _ = tsl_safetensors.read(os.path.join(folder, "af1_params.safetensors"))
    config = json.load(open(os.path.join(folder, "af1_config.json")))["config"]
    model = os.path.join(tmp, "af1.safetensors")
    tsl_safetensors.write(model, list(params.items()),
                          {"tsl.model": "actionformer", "tsl.config": json.dumps(config)})
    for video in range(3):
        path = os.path.join(folder, f"af1_video{video}.safetensors")
        ref, _ = tsl_safetensors.read(path)
        run, out, _ = predict(tool, model, f"{path}:feats", tmp, f"af1_{video}")
        check(run.returncode == 0, f"AF1 video{video}: predict runs ({run.stderr.strip()})")
        if run.returncode != 0:
            continue
        lonely = match_as_sets(json.load(open(out)), ref["final_segments"], ref["final_scores"],
                               ref["final_labels"])
        check(not lonely, f"AF1 video{video}: events match the official ones as a set"
              + (f" ({len(lonely)} without a partner, first {lonely[0]})" if lonely else ""))


def main():
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        test_fixture(tool, tmp)
        test_bad_input(tool, tmp)
        test_golden(tool, tmp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Trains a shipped configuration briefly with `gst-tsl-train fit`.

    fit-shipped-config.py GST_TSL_TRAIN CONFIG.json

configs/pt-audio-baseline.json has global attention on its top level
(windows [7, 7, 7, 7, 7, -1]) and, by the official default, drop path 0.1.
On a synthetic Perception Test dataset made here (6 videos of 40 to 120
feature vectors of 8 channels, upsampled to the configuration's 192 steps),
the configuration with only its sizes made small by --set (input 8,
2 classes, width 16, batch 2, 1 + 1 warm-up epochs):
1. fit runs, logs two epochs of finite losses and writes a model that
   predict loads and runs;
2. a second run with the same --seed writes the same model file, byte for
   byte (crops, shuffles and drop-path draws all come from the seed).
Needs numpy; exit 77 (skipped) without it.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError as e:
    print(f"# skipped: {e}")
    sys.exit(77)

FPS = 30.0
FEAT_STRIDE = 16
N_VIDEOS, C, K = 6, 8, 2
OVERRIDES = ["dataset.input_dim=8", "dataset.num_classes=2", "model.embd_dim=16",
             "model.fpn_dim=16", "model.head_dim=16", "loader.batch_size=2", "opt.epochs=1",
             "opt.warmup_epochs=1"]
failures = 0
n_checks = 0


def check(ok, message):
    global failures, n_checks
    n_checks += 1
    print(("ok " if ok else "not ok ") + f"{n_checks} - {message}")
    failures += 0 if ok else 1


def make_dataset(root):
    rng = np.random.default_rng(11)
    feat_dir = os.path.join(root, "feats")
    os.makedirs(feat_dir)
    annotations = {}
    for v in range(N_VIDEOS):
        video_id = f"video_{v}"
        T = int(rng.integers(40, 121))
        feats = rng.normal(0.0, 0.5, (T, C)).astype(np.float32)
        start = int(rng.integers(2, T // 2))
        length = int(rng.integers(5, T // 3))
        label = v % K
        feats[start:start + length, label * (C // K):(label + 1) * (C // K)] += 1.5
        event = {"label": f"sound_{label}", "label_id": label,
                 "timestamps": [int(round(start * FEAT_STRIDE / FPS * 1e6)),
                                int(round((start + length) * FEAT_STRIDE / FPS * 1e6))]}
        np.save(os.path.join(feat_dir, video_id + ".npy"), feats)
        annotations[video_id] = {
            "metadata": {"split": "train", "num_frames": T * FEAT_STRIDE, "frame_rate": FPS},
            "sound_localisation": [event],
        }
    ann_path = os.path.join(root, "annotations.json")
    with open(ann_path, "w") as f:
        json.dump(annotations, f)
    return ann_path, feat_dir


def fit(tool, config, ann, feats, out):
    args = [tool, "fit", "--backend", "cpu", "--config", config, "--annotations", ann,
            "--features", feats, "--output", out, "--seed", "42"]
    for item in OVERRIDES:
        args += ["--set", item]
    return subprocess.run(args, capture_output=True, text=True)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    tool, config = sys.argv[1], sys.argv[2]
    with open(config) as f:
        windows = json.load(f)["model"]["n_mha_win_size"]
    print(f"# {os.path.basename(config)}: windows {windows}")
    with tempfile.TemporaryDirectory() as root:
        ann, feat_dir = make_dataset(root)
        runs = []
        for name in ("run_a", "run_b"):
            out = os.path.join(root, name)
            run = fit(tool, config, ann, feat_dir, out)
            check(run.returncode == 0, f"fit {name} runs: " + run.stderr.strip()[-300:])
            if run.returncode != 0:
                break
            runs.append(out)
        if len(runs) == 2:
            with open(os.path.join(runs[0], "log.jsonl")) as f:
                log = [json.loads(line) for line in f]
            losses = [entry["final_loss"] for entry in log]
            print("# loss per epoch: " + " ".join(f"{x:.4f}" for x in losses))
            check(len(log) == 2 and all(math.isfinite(x) for x in losses),
                  f"two epochs of finite losses ({losses})")
            with open(os.path.join(runs[0], "model.safetensors"), "rb") as f:
                model_a = f.read()
            with open(os.path.join(runs[1], "model.safetensors"), "rb") as f:
                model_b = f.read()
            check(model_a == model_b, "the same --seed gives the same model file")
            predict = subprocess.run(
                [tool, "predict", "--backend", "cpu", "--model",
                 os.path.join(runs[0], "model.safetensors"), "--features",
                 os.path.join(feat_dir, "video_0.npy"), "--output",
                 os.path.join(root, "events.json")], capture_output=True, text=True)
            check(predict.returncode == 0, "predict runs on the model: " + predict.stderr.strip())
    print(f"1..{n_checks}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

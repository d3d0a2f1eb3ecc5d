#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests `gst-tsl-train fit` from outside, as a user runs it.

    fit-converges.py GST_TSL_TRAIN

1. Convergence: on a synthetic dataset made here (8 videos of 64 feature
   vectors of 8 channels; each event a block of columns shifted along its
   class's direction; Perception Test annotations in microseconds, fps 30,
   feat_stride 16, num_frames 16), a small model trained on the CPU lowers
   its training loss (log.jsonl, first epoch against last) and reaches a
   training-set mAP above 0.9 (average over tIoU 0.1 .. 0.5, with
   `gst-tsl-train predict` per video and `gst-tsl-train eval --json`).
2. Resume: 4 epochs straight and 2 epochs + --resume for the other 2 end
   with the same model file, byte for byte.
3. Clear errors: a missing annotation file, a missing feature file, a bad
   --set.
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

FPS = 30.0
FEAT_STRIDE = 16
N_VIDEOS, T, C, K = 8, 64, 8, 2
CONVERGENCE_EPOCHS = 149  # + 1 warmup epoch: 600 iterations, enough for the EMA (decay 0.999)
failures = 0


def check(ok, message):
    global failures
    print(("ok - " if ok else "not ok - ") + message)
    failures += 0 if ok else 1


def seconds(column):
    """Start time of feature column `column`."""
    return column * FEAT_STRIDE / FPS


def make_dataset(root):
    rng = np.random.default_rng(7)
    feat_dir = os.path.join(root, "feats")
    os.makedirs(feat_dir)
    directions = np.zeros((K, C), np.float32)
    directions[0, :C // 2] = 1.5
    directions[1, C // 2:] = 1.5
    annotations = {}
    for v in range(N_VIDEOS):
        video_id = f"video_{v}"
        feats = rng.normal(0.0, 0.3, (T, C)).astype(np.float32)
        events = []
        column = int(rng.integers(2, 8))
        while True:
            length = int(rng.integers(6, 16))
            if column + length > T - 2:
                break
            label = int(rng.integers(0, K))
            feats[column:column + length] += directions[label]
            events.append({"label": f"sound_{label}", "label_id": label,
                           "timestamps": [int(round(seconds(column) * 1e6)),
                                          int(round(seconds(column + length) * 1e6))]})
            column += length + int(rng.integers(4, 12))
        np.save(os.path.join(feat_dir, video_id + ".npy"), feats)
        annotations[video_id] = {
            "metadata": {"split": "train", "num_frames": T * FEAT_STRIDE, "frame_rate": FPS},
            "sound_localisation": events,
        }
    ann_path = os.path.join(root, "annotations.json")
    with open(ann_path, "w") as f:
        json.dump(annotations, f)
    return ann_path, feat_dir


def write_config(root, epochs):
    config = {
        "dataset": {"input_dim": C, "num_classes": K, "max_seq_len": T,
                    "feat_stride": FEAT_STRIDE, "num_frames": FEAT_STRIDE, "default_fps": FPS,
                    "trunc_thresh": 0.5, "train_split": ["train"]},
        "model": {"backbone_arch": [2, 2, 3], "embd_dim": 16, "fpn_dim": 16, "head_dim": 16,
                  "n_mha_win_size": 5, "use_abs_pe": False,
                  "regression_range": [[0, 4], [4, 8], [8, 16], [16, 10000]]},
        "opt": {"learning_rate": 0.01, "epochs": epochs, "warmup_epochs": 1,
                "weight_decay": 0.05},
        "loader": {"batch_size": 2},
        "train_cfg": {"clip_grad_l2norm": 1.0, "init_loss_norm": 50},
        "test_cfg": {"pre_nms_thresh": 0.001, "min_score": 0.001, "max_seg_num": 50},
    }
    path = os.path.join(root, f"config-{epochs}.json")
    with open(path, "w") as f:
        json.dump(config, f)
    return path


def fit(tool, config, ann, feats, out, *extra):
    return subprocess.run([tool, "fit", "--backend", "cpu", "--config", config,
                           "--annotations", ann, "--features", feats, "--output", out, *extra],
                          capture_output=True, text=True)


def training_map(tool, root, model, ann, feat_dir):
    submission = {}
    for v in range(N_VIDEOS):
        video_id = f"video_{v}"
        out = os.path.join(root, video_id + ".events.json")
        run = subprocess.run([tool, "predict", "--backend", "cpu", "--model", model,
                              "--features", os.path.join(feat_dir, video_id + ".npy"),
                              "--output", out], capture_output=True, text=True)
        if run.returncode != 0:
            print("# " + run.stderr.strip())
            return None
        with open(out) as f:
            events = json.load(f)
        submission[video_id] = {"sound_localisation": [
            {"label": str(e["label_id"]), "score": e["score"],
             "timestamps": [e["start"], e["end"]]} for e in events]}
    sub_path = os.path.join(root, "submission.json")
    with open(sub_path, "w") as f:
        json.dump(submission, f)
    run = subprocess.run([tool, "eval", "--annotations", ann, "--predictions", sub_path,
                          "--split", "train", "--json"], capture_output=True, text=True)
    if run.returncode != 0:
        print("# " + run.stderr.strip())
        return None
    return json.loads(run.stdout)


def test_convergence(tool, root, ann, feat_dir):
    out = os.path.join(root, "run")
    run = fit(tool, write_config(root, CONVERGENCE_EPOCHS), ann, feat_dir, out, "--checkpoint-every", "10")
    check(run.returncode == 0, "fit runs: " + run.stderr.strip()[-300:])
    if run.returncode != 0:
        return
    with open(os.path.join(out, "log.jsonl")) as f:
        log = [json.loads(line) for line in f]
    losses = [entry["final_loss"] for entry in log]
    print("# loss per epoch: " + " ".join(f"{x:.3f}" for x in losses))
    check(len(log) == CONVERGENCE_EPOCHS + 1, f"log.jsonl has one line per epoch ({len(log)})")
    check(losses[-1] < 0.5 * losses[0], f"loss fell: {losses[0]:.4f} -> {losses[-1]:.4f}")
    result = training_map(tool, root, os.path.join(out, "model.safetensors"), ann, feat_dir)
    check(result is not None, "predict and eval run on the trained model")
    if result is not None:
        print("# mAP: " + json.dumps(result))
        check(result["average"] > 0.9, f"training-set mAP {result['average']:.4f} > 0.9")
    # the same through `eval --model`, which reads the features as training does
    sub_path = os.path.join(root, "eval-model.json")
    run = subprocess.run([tool, "eval", "--backend", "cpu", "--annotations", ann,
                          "--model", os.path.join(out, "model.safetensors"),
                          "--features", feat_dir, "--split", "train", "--json",
                          "--predictions-out", sub_path], capture_output=True, text=True)
    check(run.returncode == 0, "eval --model runs: " + run.stderr.strip()[-300:])
    if run.returncode == 0:
        direct = json.loads(run.stdout)
        print("# eval --model mAP: " + json.dumps(direct))
        check(direct["average"] > 0.9, f"eval --model mAP {direct['average']:.4f} > 0.9")
        with open(sub_path) as f:
            check(sorted(json.load(f)) == [f"video_{v}" for v in range(N_VIDEOS)],
                  "eval --model wrote a submission with every video")


def test_resume(tool, root, ann, feat_dir):
    config = write_config(root, 3)
    straight = os.path.join(root, "straight")
    parts = os.path.join(root, "parts")
    a = fit(tool, config, ann, feat_dir, straight)
    b = fit(tool, config, ann, feat_dir, parts, "--stop-after", "2")
    c = fit(tool, config, ann, feat_dir, parts, "--resume")
    check(a.returncode == 0 and b.returncode == 0 and c.returncode == 0,
          "straight, first part and resumed runs succeed: " +
          (a.stderr + b.stderr + c.stderr).strip()[-300:])
    if a.returncode or b.returncode or c.returncode:
        return
    check("resuming" in c.stdout, "the resumed run says so")
    with open(os.path.join(straight, "model.safetensors"), "rb") as f:
        whole = f.read()
    with open(os.path.join(parts, "model.safetensors"), "rb") as f:
        resumed = f.read()
    check(whole == resumed, "4 epochs straight == 2 epochs + resume 2, byte for byte")
    with open(os.path.join(parts, "log.jsonl")) as f:
        check(len(f.readlines()) == 4, "the resumed log continues the first part's")


def test_errors(tool, root, ann, feat_dir):
    config = write_config(root, 1)
    out = os.path.join(root, "errors")
    run = fit(tool, config, os.path.join(root, "missing.json"), feat_dir, out)
    check(run.returncode != 0 and "missing.json" in run.stderr,
          "a missing annotation file is named: " + run.stderr.strip())
    partial = os.path.join(root, "partial-feats")
    os.makedirs(partial)
    for v in range(1, N_VIDEOS):
        os.link(os.path.join(feat_dir, f"video_{v}.npy"), os.path.join(partial, f"video_{v}.npy"))
    run = fit(tool, config, ann, partial, out)
    check(run.returncode != 0 and "video_0" in run.stderr,
          "a missing feature file is named: " + run.stderr.strip())
    for bad in ("opt.epochs", "nosection.key=1", "opt.epochs=\"many\""):
        run = fit(tool, config, ann, feat_dir, out, "--set", bad)
        check(run.returncode != 0 and ("--set" in run.stderr or "opt.epochs" in run.stderr),
              f"bad --set {bad} is refused: " + run.stderr.strip())


def main():
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory() as root:
        ann, feat_dir = make_dataset(root)
        test_errors(tool, root, ann, feat_dir)
        test_resume(tool, root, ann, feat_dir)
        test_convergence(tool, root, ann, feat_dir)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

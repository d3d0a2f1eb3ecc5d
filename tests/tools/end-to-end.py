#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The main job end to end, small: a sample dataset, features through the
GStreamer encoders, a trained localiser, its mAP, and the whole pipeline on
a held-out clip.

1. tools/make-sample-dataset.py: 16 clips of 20-30 s (seed 11), 4 held out;
2. small random encoders (the demo's recipe, tools/make-demo-models.sh);
3. gst-tsl-train extract: video and audio features of every clip;
4. gst-tsl-train fit with configs/demo.json (batches of 2, 100 epochs,
   a loss normaliser started near this data's positives); the training
   loss falls to less than half its value after the warm-up;
5. gst-tsl-train eval --model on the training and held-out splits: mAP
   reported; on the training split it must exceed 0.3 (an untrained
   localiser scores about 0.02 here: it has learnt the data it saw);
6. on one held-out clip, the pipeline
     filesrc ! decodebin ! tslvideoenc / tslaudioenc ! tslfuse !
     tslactionformer ! tsldecode format=json
   runs, its events lie inside the clip with known labels, and they are
   scored against the clip's annotations (reported: mAP at tIoU 0.1-0.5
   through gst-tsl-train eval).

Arguments: gst-launch-1.0, gst-tsl-train. Exit 77 (skipped) when the
dataset generator's programs or sound packages are missing
(tools/sample-dataset-packages.txt).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = os.path.join(SOURCE_ROOT, "tools")
LAUNCH, TRAIN = sys.argv[1], sys.argv[2]
PYTHON = sys.executable
n_test = 0


def ok(condition, message):
    global n_test
    n_test += 1
    print(f"{'ok' if condition else 'not ok'} {n_test} - {message}")
    sys.stdout.flush()
    if not condition:
        sys.exit(1)


def run(args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        print(f"# {' '.join(args)}\n# " + (result.stdout[-2000:] + result.stderr[-2000:])
              .replace("\n", "\n# "))
    return result


def have_generator():
    need = ["sox", "espeak-ng", "gst-launch-1.0"]
    missing = [p for p in need if shutil.which(p) is None]
    if not os.path.exists("/usr/share/sounds/freedesktop/stereo/bell.oga"):
        missing.append("sound-theme-freedesktop")
    try:
        import numpy  # noqa: F401
    except ImportError:
        missing.append("python3-numpy")
    return missing


def average_map(text):
    return json.loads(text)["average"]


def main():
    missing = have_generator()
    if missing:
        print(f"# skipped: missing {', '.join(missing)}")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "dataset")
        result = run([PYTHON, os.path.join(TOOLS, "make-sample-dataset.py"), "--output", data,
                      "--clips", "16", "--seed", "11", "--min-seconds", "20",
                      "--max-seconds", "30", "--valid-fraction", "0.25", "--jobs", "2"])
        ok(result.returncode == 0, "sample dataset of 16 clips")
        annotations = os.path.join(data, "annotations.json")
        gt = json.load(open(annotations))
        labels = json.load(open(os.path.join(data, "labels.json")))

        video_json = os.path.join(tmp, "video.json")
        with open(video_json, "w") as f:
            json.dump({"patch_size": 16, "tubelet_size": 2, "img_size": 112, "all_frames": 16,
                       "embed_dim": 96, "depth": 2, "num_heads": 3, "mlp_ratio": 4.0}, f)
        video_model = os.path.join(tmp, "video.safetensors")
        audio_model = os.path.join(tmp, "audio.safetensors")
        ok(run([PYTHON, os.path.join(TOOLS, "make-random-videomae.py"), "--config-json",
                video_json, "--seed", "1", "--output", video_model]).returncode == 0 and
           run([PYTHON, os.path.join(TOOLS, "make-random-audio-model.py"), "--width", "8",
                "--blocks", "1,1,1,1", "--head", "backbone", "--seed", "2", "--output",
                audio_model]).returncode == 0, "small random encoders")

        features = os.path.join(tmp, "features")
        result = run([TRAIN, "extract", "--input", os.path.join(data, "videos"), "--output",
                      features, "--video-model", video_model, "--audio-model", audio_model,
                      "--batch", "8", "--backend", "cpu"])
        ok(result.returncode == 0 and len(os.listdir(os.path.join(features, "video"))) == 16,
           "extract: " + result.stdout.strip().splitlines()[-1])

        run_dir = os.path.join(tmp, "run")
        feats = ["--features", os.path.join(features, "video"),
                 "--features", os.path.join(features, "audio")]
        result = run([TRAIN, "fit", "--config", os.path.join(SOURCE_ROOT, "configs", "demo.json"),
                      "--annotations", annotations, "--output", run_dir, "--seed", "3",
                      "--backend", "cpu", "--set", "opt.epochs=100", "--set", "opt.warmup_epochs=3",
                      "--set", "loader.batch_size=2", "--set", "train_cfg.init_loss_norm=20"]
                     + feats)
        ok(result.returncode == 0, "fit")
        log = [json.loads(line) for line in open(os.path.join(run_dir, "log.jsonl"))]
        warm, last = log[3]["final_loss"], log[-1]["final_loss"]
        ok(last < 0.5 * warm, f"training loss falls: {warm:.3f} (epoch 4) -> {last:.3f}")

        model = os.path.join(run_dir, "model.safetensors")
        scores = {}
        for split in ("train", "valid"):
            result = run([TRAIN, "eval", "--model", model, "--annotations", annotations,
                          "--split", split, "--json", "--backend", "cpu"] + feats)
            scores[split] = average_map(result.stdout) if result.returncode == 0 else -1
            print(f"# mAP on the {split} split: {result.stdout.strip()}")
        ok(scores["train"] > 0.3, f"training-split average mAP {scores['train']:.3f} > 0.3")
        ok(scores["valid"] >= 0, f"held-out average mAP {scores['valid']:.3f} (reported)")

        clip = sorted(v for v, e in gt.items() if e["metadata"]["split"] == "valid")[0]
        media = [f for f in os.listdir(os.path.join(data, "videos")) if f.startswith(clip + ".")]
        events_path = os.path.join(tmp, "events.jsonl")
        pipeline = (f"filesrc location={os.path.join(data, 'videos', media[0])} ! decodebin name=d "
                    f"d. ! queue ! videoconvert ! tslvideoenc model={video_model} backend=cpu ! f. "
                    f"d. ! queue ! audioconvert ! audioresample ! tslaudioenc "
                    f"model={audio_model} backend=cpu ! f. "
                    f"tslfuse name=f ! tslactionformer model={model} backend=cpu ! "
                    f"tsldecode model={model} format=json ! filesink location={events_path}")
        result = run([LAUNCH, "-q"] + pipeline.split())
        ok(result.returncode == 0, f"the file pipeline on held-out clip {clip}")
        events = [json.loads(line) for line in open(events_path) if line.strip()]
        meta = gt[clip]["metadata"]
        duration = meta["num_frames"] / meta["frame_rate"]
        # tslvideoenc pads the last partial clip (16 frames), so the feature
        # grid, and events, may reach up to one clip past the last frame
        covered = duration + 16 / meta["frame_rate"]
        last_end = max((e["end"] for e in events), default=0.0)
        ok(len(events) > 0 and all(0 <= e["start"] <= e["end"] <= covered + 1e-6 and
                                   e["label"] == labels[e["label_id"]] for e in events),
           f"{len(events)} events within the {duration:.2f} s clip and its padded last clip "
           f"(last end {last_end:.2f} s), labels from the model")
        submission = {clip: {"sound_localisation": [
            {"label": e["label_id"], "score": e["score"], "timestamps": [e["start"], e["end"]]}
            for e in events]}}
        sub_path = os.path.join(tmp, "submission.json")
        json.dump(submission, open(sub_path, "w"))
        clip_gt = os.path.join(tmp, "clip.json")
        json.dump({clip: gt[clip]}, open(clip_gt, "w"))
        result = run([TRAIN, "eval", "--annotations", clip_gt, "--predictions", sub_path,
                      "--split", "valid", "--json"])
        ok(result.returncode == 0, f"pipeline events against the clip's annotations: "
           f"{result.stdout.strip()}")
    print(f"1..{n_test}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests tools/make-sample-dataset.py from outside, as a user runs it.

    sample-dataset.py GST_TSL_TRAIN

Makes a set of 3 clips of 8-12 s twice with the same seed, then checks:
1. Determinism: annotations.json, labels.json and every video are
   byte-identical between the two runs.
2. The annotations: Perception Test layout, both splits present, every
   event inside its clip, events in time order without overlap, label and
   label_id agreeing with labels.json, the classes balanced (event counts
   differ by at most one).
3. The media: gst-discoverer-1.0 finds one video and one audio stream of
   the clip's length; decoding gives num_frames frames of 320x240 and the
   clip's length of 48 kHz audio.
4. Sound and picture agree with the annotations: each event is loud
   against the background just before it and its loud part starts and ends
   where the annotation says (within 10 ms); the visual cues (yellow
   square for bell, green square for phone_ring, white flash for
   camera_shutter) show at the event's start and nowhere far from an event.
5. `gst-tsl-train eval` loads the annotations and scores the ground truth,
   given as predictions for each split, at mAP 1.0.
Exit 77 (skipped) when numpy, a program or a sound file the generator needs
is missing (tools/sample-dataset-packages.txt lists the Debian packages).
"""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
except ImportError as e:
    print(f"# skipped: {e}")
    sys.exit(77)

SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GENERATOR = os.path.join(SOURCE_ROOT, "tools", "make-sample-dataset.py")
SEED = 11
ARGS = ["--clips", "3", "--seed", str(SEED), "--min-seconds", "8", "--max-seconds", "12",
        "--valid-fraction", "0.34"]
FPS, RATE, WIDTH, HEIGHT = 30, 48000, 320, 240
ALIGN_TOLERANCE_S = 0.010   # decoded loud part vs annotated extent
LOUD_SHARE = 0.3            # "loud": above this share of the event's decoded peak
ONSET_TOLERANCE_S = 0.15    # speech that begins softly ('th', 'p') reaches LOUD_SHARE late
CUE_SHOWN, CUE_HIDDEN = 0.5, 0.35  # cue scores 0.6-1, the muted background's < 0.25
failures = 0


def check(ok, message):
    global failures
    print(("ok - " if ok else "not ok - ") + message)
    failures += 0 if ok else 1


def load_generator():
    spec = importlib.util.spec_from_file_location("make_sample_dataset", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generate(out_dir):
    t0 = time.monotonic()
    run = subprocess.run([sys.executable, GENERATOR, "--output", out_dir] + ARGS,
                         capture_output=True, text=True)
    return run, time.monotonic() - t0


def same_files(a, b, names):
    return [n for n in names
            if open(os.path.join(a, n), "rb").read() != open(os.path.join(b, n), "rb").read()]


def check_annotations(ann, labels):
    splits = {rec["metadata"]["split"] for rec in ann.values()}
    check(splits == {"train", "valid"}, f"both splits present (found {sorted(splits)})")
    counts = [0] * len(labels)
    for vid, rec in ann.items():
        m = rec["metadata"]
        check(m["video_id"] == vid and m["frame_rate"] == 30.0 and
              m["resolution"] == [HEIGHT, WIDTH] and isinstance(m["num_frames"], int),
              f"{vid}: metadata {m}")
        seconds = m["num_frames"] / FPS
        check(8.0 - 1 / FPS <= seconds <= 12.0 + 1 / FPS,
              f"{vid}: length {seconds:.3f} s in 8-12 s")
        events = rec["sound_localisation"]
        check(len(events) >= 1, f"{vid}: has events ({len(events)})")
        previous_end = 0
        for k, e in enumerate(events):
            start, end = e["timestamps"]
            ok = (e["id"] == k and isinstance(start, int) and isinstance(end, int) and
                  previous_end <= start < end <= seconds * 1e6)
            check(ok, f"{vid}: event {k} [{start}, {end}] us in the clip, after the previous one")
            ok = 0 <= e["label_id"] < len(labels) and labels[e["label_id"]] == e["label"]
            check(ok, f"{vid}: event {k} label {e['label']!r} is labels.json[{e['label_id']}]")
            previous_end = end
            counts[e["label_id"]] += 1
    check(max(counts) - min(counts) <= 1, f"classes balanced within one event ({counts})")


def discover(path):
    run = subprocess.run(["gst-discoverer-1.0", path], capture_output=True, text=True)
    text = run.stdout
    duration = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text)
    seconds = None
    if duration:
        h, m, s = duration.groups()
        seconds = int(h) * 3600 + int(m) * 60 + float(s)
    n_video = len(re.findall(r"^\s*video #\d+", text, re.M))
    n_audio = len(re.findall(r"^\s*audio #\d+", text, re.M))
    return run.returncode, seconds, n_video, n_audio


def decode(path, tmp):
    """All frames (n, H, W, 3) uint8 and the audio (48 kHz mono float32)."""
    video, audio = os.path.join(tmp, "frames.rgb"), os.path.join(tmp, "audio.f32")
    pipeline = (f"filesrc location={path} ! decodebin name=d "
                f"d. ! queue ! videoconvert ! video/x-raw,format=RGB ! filesink location={video} "
                "d. ! queue ! audioconvert ! audioresample "
                f"! audio/x-raw,format=F32LE,channels=1,rate={RATE} ! filesink location={audio}")
    run = subprocess.run(["gst-launch-1.0", "-q"] + pipeline.split(), capture_output=True,
                         text=True)
    if run.returncode != 0:
        return None, None, run.stderr.strip()
    frames = np.fromfile(video, np.uint8)
    return frames.reshape(-1, HEIGHT, WIDTH, 3), np.fromfile(audio, "<f4"), ""


def check_sound(vid, audio, events):
    for e in events:
        start, end = (t * RATE // 1000000 for t in e["timestamps"])
        inside = np.abs(audio[start:end])
        before = np.abs(audio[start - int(0.45 * RATE):start - int(0.05 * RATE)])
        check(inside.max() > 5 * before.max(),
              f"{vid}: {e['label']} peak {inside.max():.3f} > 5x the background before it "
              f"({before.max():.4f})")
        around = slice(start - RATE // 4, end + RATE // 4)
        loud = np.flatnonzero(np.abs(audio[around]) > LOUD_SHARE * inside.max()) + around.start
        early, late = (start - loud[0]) / RATE, (loud[-1] - end) / RATE
        check(-ONSET_TOLERANCE_S <= early <= ALIGN_TOLERANCE_S and late <= ALIGN_TOLERANCE_S,
              f"{vid}: {e['label']} loud part within its extent and starting at its start "
              f"({-early * 1e3:.1f} ms after the start, {-late * 1e3:.1f} ms before the end)")


def cue_scores(frames):
    """Per frame: how yellow the top left square, how green the top right
    one, and how bright the frame's darker part is (its 10th percentile of
    brightness), 0..1 each."""
    f = frames.astype(np.float32) / 255.0
    left, right = f[:, 16:48, 16:48].mean(axis=(1, 2)), f[:, 16:48, -48:-16].mean(axis=(1, 2))
    yellow = np.minimum(left[:, 0], left[:, 1]) - left[:, 2]
    green = right[:, 1] - np.maximum(right[:, 0], right[:, 2])
    dark = np.percentile(f.mean(axis=3), 10, axis=(1, 2))
    return {"bell": yellow, "phone_ring": green, "camera_shutter": dark}


def check_picture(vid, frames, events):
    scores = cue_scores(frames)
    near_event = np.zeros(len(frames), dtype=bool)
    for e in events:
        first = e["timestamps"][0] * FPS // 1000000
        last = e["timestamps"][1] * FPS // 1000000
        near_event[max(first - 3, 0):last + 4] = True
        if e["label"] in scores:
            shown = scores[e["label"]][first:first + 3].max()
            check(shown > CUE_SHOWN, f"{vid}: {e['label']} cue shows at {first / FPS:.2f} s "
                               f"(score {shown:.2f})")
    for label, score in scores.items():
        quiet = score[~near_event]
        highest = quiet.max() if quiet.size else 0.0
        check(highest < CUE_HIDDEN, f"{vid}: no {label} cue away from events (max {highest:.2f})")


def check_eval(tool, annotations_path, ann, tmp):
    for split in ("train", "valid"):
        preds = {vid: {"sound_localisation": [
                    {"label": str(e["label_id"]), "score": 1.0,
                     "timestamps": [e["timestamps"][0] / 1e6, e["timestamps"][1] / 1e6]}
                    for e in rec["sound_localisation"]]}
                 for vid, rec in ann.items() if rec["metadata"]["split"] == split}
        path = os.path.join(tmp, f"{split}-predictions.json")
        with open(path, "w") as f:
            json.dump(preds, f)
        run = subprocess.run([tool, "eval", "--annotations", annotations_path, "--predictions",
                              path, "--split", split, "--json"], capture_output=True, text=True)
        check(run.returncode == 0, f"eval --split {split} runs ({run.stderr.strip()})")
        if run.returncode == 0:
            result = json.loads(run.stdout)
            check(result["average"] == 1.0,
                  f"eval --split {split}: ground truth as predictions scores {result['average']}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: sample-dataset.py GST_TSL_TRAIN")
    tool = sys.argv[1]
    missing = load_generator().missing_requirements()
    missing += [p for p in ("gst-discoverer-1.0",) if shutil.which(p) is None]
    if missing:
        print("# skipped: missing " + ", ".join(missing))
        sys.exit(77)

    with tempfile.TemporaryDirectory(prefix="tsl-sample-test-") as tmp:
        first, second = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        for out in (first, second):
            run, seconds = generate(out)
            check(run.returncode == 0, f"generator runs in {seconds:.1f} s ({run.stderr.strip()})")
            if run.returncode != 0:
                sys.exit(1)
        videos = sorted(os.listdir(os.path.join(first, "videos")))
        check(not same_files(first, second, ["annotations.json", "labels.json"]),
              "same seed, same annotations.json and labels.json")
        differ = same_files(first, second, [os.path.join("videos", v) for v in videos])
        check(not differ, f"same seed, byte-identical videos (differ: {differ})")
        check(os.path.exists(os.path.join(first, "README.txt")), "README.txt written")

        annotations_path = os.path.join(first, "annotations.json")
        ann = json.load(open(annotations_path))
        labels = json.load(open(os.path.join(first, "labels.json")))
        check(sorted(v[:-len(".webm")] for v in videos) == sorted(ann),
              f"one video per annotated clip ({videos})")
        check_annotations(ann, labels)

        for vid, rec in ann.items():
            path = os.path.join(first, "videos", vid + ".webm")
            n_frames = rec["metadata"]["num_frames"]
            rc, seconds, n_video, n_audio = discover(path)
            check(rc == 0 and n_video == 1 and n_audio == 1,
                  f"{vid}: discoverer finds 1 video and 1 audio stream ({n_video}, {n_audio})")
            check(seconds is not None and abs(seconds - n_frames / FPS) < 0.05,
                  f"{vid}: duration {seconds} s, expected {n_frames / FPS:.3f} s")
            frames, audio, err = decode(path, tmp)
            check(frames is not None, f"{vid}: decodes ({err})")
            if frames is None:
                continue
            check(len(frames) == n_frames, f"{vid}: {len(frames)} frames, expected {n_frames}")
            expected = n_frames * RATE // FPS
            check(expected <= len(audio) <= expected + RATE // 20,
                  f"{vid}: {len(audio)} audio samples, expected {expected} (+ codec padding)")
            check_sound(vid, audio, rec["sound_localisation"])
            check_picture(vid, frames, rec["sound_localisation"])

        check_eval(tool, annotations_path, ann, tmp)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

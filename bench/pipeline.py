#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Real-time factor of the whole file pipeline, per video encoder size.

    pipeline.py GST_LAUNCH [--media data/demo/sample.webm] [--variants ...]
                [--backend cpu] [--batch 4]

For each video encoder (the demo's small ViT, then official variants with
random weights: vit_small_patch16_224, vit_base_patch16_224 by default),
with the full-size MMV audio network (random weights, 'vat' head) and a
seed-sized ActionFormer localiser (random weights, input = video + 256),
times

    filesrc ! decodebin ! videoconvert ! tslvideoenc ! tslfuse !
    tslactionformer ! tsldecode ! fakesink      (+ audioresample ! tslaudioenc)

on the media file and prints wall seconds, media seconds and the real-time
factor (wall / media; below 1 is faster than real time). The encoders
batch `--batch` clips. Random weights cost what trained ones cost. Needs
numpy and PyTorch (Debian python3-numpy, python3-torch) for the random
localiser; exit 77 (skipped) without them.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import torch  # noqa: F401 (the localiser maker uses it)
except ImportError as e:
    print(f"# skipped: {e}")
    sys.exit(77)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import tsl_safetensors  # noqa: E402
import tsl_videomae  # noqa: E402


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"),
                                                  os.path.join(ROOT, "tools", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_localiser(path, input_dim):
    """The seed's ActionFormer shape (D 512, window 11, 17 classes)."""
    fixture = load_tool("make-actionformer-fixture")
    config = fixture.make_config(
        {"feat_stride": 16, "num_frames": 16, "default_fps": 30, "input_dim": input_dim,
         "num_classes": 17, "downsample_rate": 1, "max_seq_len": 2560, "trunc_thresh": 0.5,
         "crop_ratio": None, "force_upsampling": False},
        {"backbone_type": "convTransformer", "fpn_type": "identity", "backbone_arch": [2, 2, 5],
         "scale_factor": 2,
         "regression_range": [[0, 4], [4, 8], [8, 16], [16, 32], [32, 64], [64, 10000]],
         "n_head": 4, "n_mha_win_size": 11, "embd_kernel_size": 3, "embd_dim": 512,
         "embd_with_ln": True, "fpn_dim": 512, "fpn_with_ln": True, "fpn_start_level": 0,
         "head_dim": 512, "head_kernel_size": 3, "head_num_layers": 3, "head_with_ln": True,
         "max_buffer_len_factor": 1.0, "use_abs_pe": False, "use_rel_pe": False},
        droppath=0.1)
    m = fixture.Model(config)
    params = fixture.random_params(m, seed=5)
    tsl_safetensors.write(path, [(n, t.numpy()) for n, t in params],
                          {"tsl.model": "actionformer", "tsl.config": json.dumps(config)})


def media_seconds(media):
    out = subprocess.run(["gst-discoverer-1.0", media], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.strip().startswith("Duration:"):
            h, m, s = line.split(":", 1)[1].strip().split(":")
            return int(h) * 3600 + int(m) * 60 + float(s)
    raise SystemExit(f"cannot read the duration of {media}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("launch", help="gst-launch-1.0")
    parser.add_argument("--media", default=os.path.join(ROOT, "data", "demo", "sample.webm"))
    parser.add_argument("--variants", default="vit_small_patch16_224,vit_base_patch16_224")
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    media_s = media_seconds(args.media)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        audio = os.path.join(tmp, "audio.safetensors")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "make-random-audio-model.py"),
                        "--output", audio], check=True, capture_output=True)
        videos = [("demo (96-d, 2 blocks, 112 px)", os.path.join(ROOT, "data", "demo",
                                                                 "video.safetensors"), 96)]
        for variant in args.variants.split(","):
            config = tsl_videomae.config_for_variant(variant)
            path = os.path.join(tmp, variant + ".safetensors")
            tsl_safetensors.write(path, list(tsl_videomae.random_params(
                config, np.random.default_rng(1)).items()), tsl_videomae.metadata(config, "bench"))
            videos.append((variant, path, config["embed_dim"]))
        for name, video, dim in videos:
            localiser = os.path.join(tmp, f"localiser-{dim}.safetensors")
            random_localiser(localiser, dim + 256)
            pipeline = (
                f"filesrc location={args.media} ! decodebin name=d "
                f"d. ! queue ! videoconvert ! tslvideoenc model={video} batch-size={args.batch} "
                f"backend={args.backend} ! queue ! f. "
                f"d. ! queue ! audioconvert ! audioresample ! tslaudioenc model={audio} "
                f"batch-size={args.batch} backend={args.backend} ! queue ! f. "
                f"tslfuse name=f ! tslactionformer model={localiser} backend={args.backend} ! "
                f"tsldecode model={localiser} ! fakesink")
            t0 = time.perf_counter()
            subprocess.run([args.launch, "-q"] + pipeline.split(), check=True)
            wall = time.perf_counter() - t0
            rows.append((name, wall))
            print(f"# {name}: {wall:.1f} s", flush=True)

    print(f"Whole file pipeline on {os.path.basename(args.media)} ({media_s:.1f} s of 30 fps "
          f"video + 48 kHz audio), backend {args.backend}, encoders in batches of {args.batch}, "
          f"{os.environ.get('OMP_NUM_THREADS', 'all')} threads")
    print("| video encoder | audio encoder | wall s | real-time factor |")
    print("| --- | --- | --- | --- |")
    for name, wall in rows:
        print(f"| {name} | MMV ResNet-50, vat (256) | {wall:.1f} | {wall / media_s:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""VideoMAE V2 ViT clips per second: gst-tsl (C, CPU) against PyTorch on
the same machine, in the same run, with the same random weights.

    videomae.py BENCH_VIDEOMAE [--variants vit_small_patch16_224,vit_base_patch16_224]
        [--runs 3] [--threads N]

For each variant, at the official feature-extraction input (16 frames,
224 x 224, one clip per forward as the official script runs it): writes a
random model (tools/tsl_videomae.py), times bench-videomae on it in its
own process, then the PyTorch forward of tools/tsl_videomae.py (the
official module's operations: Conv3d patches, matmul attention, exact
GELU) on the same weights and input size, and prints seconds per clip,
clips/s, GFLOP/s against the sgemm peak, and the ratio. Needs Debian's
python3-torch; exit 77 (skipped) without it.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"# skipped: {e}")
    sys.exit(77)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import tsl_safetensors  # noqa: E402
import tsl_videomae  # noqa: E402


def time_torch(params, config, runs):
    clip = torch.rand(1, 3, config["all_frames"], config["img_size"], config["img_size"])
    torch_params = {k: torch.from_numpy(v) for k, v in params.items()}
    times = []
    with torch.no_grad():
        for i in range(runs + 1):
            t0 = time.perf_counter()
            tsl_videomae.forward(torch_params, config, clip)
            if i > 0:
                times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", help="path of the bench-videomae program")
    parser.add_argument("--variants", default="vit_small_patch16_224,vit_base_patch16_224")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))

    rows = []
    for variant in args.variants.split(","):
        config = tsl_videomae.config_for_variant(variant)
        params = tsl_videomae.random_params(config, np.random.default_rng(1))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.safetensors")
            tsl_safetensors.write(path, list(params.items()),
                                  tsl_videomae.metadata(config, "benchmark"))
            run = subprocess.run([args.bench, path, "1", str(args.runs)], capture_output=True,
                                 text=True, check=True, env=env)
            ours = json.loads(run.stdout)
        torch_s = time_torch(params, config, args.runs)
        rows.append((variant, tsl_videomae.gflop_per_clip(config), ours, torch_s))

    print(f"VideoMAE V2 forward_features, one 16 x 224 x 224 clip per call, "
          f"{args.threads} threads both sides, OpenBLAS core {rows[0][2]['blas_core']}, "
          f"sgemm peak {rows[0][2]['sgemm_peak_gflops']:.0f} GFLOP/s")
    print("| variant | GFLOP/clip | gst-tsl s/clip | clips/s | GFLOP/s | PyTorch s/clip | "
          "PyTorch GFLOP/s | speed-up | gst-tsl peak RSS MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for variant, gflop, ours, torch_s in rows:
        s = ours["median_s"]
        print(f"| {variant} | {gflop:.1f} | {s:.3f} | {1 / s:.2f} | {gflop / s:.0f} | "
              f"{torch_s:.3f} | {gflop / torch_s:.0f} | {torch_s / s:.2f}x | "
              f"{ours['peak_rss_mib']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

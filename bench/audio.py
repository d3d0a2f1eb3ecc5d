#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Audio encoder (MMV ResNet-v2-50, log-mel front end included): gst-tsl
(C, CPU) against PyTorch on the same machine, in the same run.

    audio.py BENCH_AUDIO [--batch 8] [--runs 3] [--threads 2]

Writes a random full-size model (tools/make-random-audio-model.py: width
64, blocks [3, 4, 6, 3], 'vat' head, 48 kHz, 3.2 s windows -> 150 x 80
log-mel), times bench-audio on it, then times the project's PyTorch
reimplementation of the same front end and network
(tools/make-audio-fixture.py) on the same weights, and prints windows per
second for both and their ratio (tests/parity/audio.c checks that the two
compute the same thing). Needs Debian's python3-torch; exit 77 (skipped) without it.
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
    import torch
except ImportError as e:
    print(f"# skipped: {e}")
    sys.exit(77)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import tsl_safetensors  # noqa: E402


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"),
                                                  os.path.join(ROOT, "tools", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", help="path of the bench-audio program")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for both implementations")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    maker = load_tool("make-random-audio-model")
    fixture = load_tool("make-audio-fixture")
    config = dict(maker.DEFAULT_CONFIG)
    tensors = maker.random_model(config, np.random.default_rng(1))

    with tempfile.TemporaryDirectory() as tmp:
        model_path = os.path.join(tmp, "audio.safetensors")
        tsl_safetensors.write(model_path, tensors,
                              {"tsl.model": "audio-resnet", "tsl.config": json.dumps(config)})
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        run = subprocess.run([args.bench, model_path, str(args.batch), str(args.runs)],
                             capture_output=True, text=True, check=True, env=env)
        ours = json.loads(run.stdout)

    n = config["window_samples"]
    i = np.arange(args.batch * n, dtype=np.uint64)
    waves = torch.from_numpy(((i * 2654435761 % 2**32) % 2001).astype(np.float32) / 2000.0 - 0.5)
    waves = waves.reshape(args.batch, n)
    p = {name: torch.from_numpy(value) for name, value in tensors}
    times = []
    with torch.no_grad():
        for r in range(args.runs + 1):
            t0 = time.perf_counter()
            out = fixture.network(config, p, fixture.logmel_torch(config, waves))["vat"]
            if r > 0:
                times.append(time.perf_counter() - t0)
    torch_s = sorted(times)[len(times) // 2]

    print(f"MMV audio encoder, {args.batch} windows of {n} samples "
          f"({ours['frames']} x {config['num_mel_bins']} log-mel), head vat ({ours['dim']}-d)")
    print(f"threads: {args.threads} for both; OpenBLAS core {ours['blas_core']}")
    print("| implementation | median s | windows/s | of which log-mel s | peak RSS MiB |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| gst-tsl (C, {ours['backend']}) | {ours['median_s']:.3f} | "
          f"{ours['windows_per_s']:.1f} | {ours['frontend_s']:.3f} | {ours['peak_rss_mib']:.0f} |")
    print(f"| PyTorch {torch.__version__} | {torch_s:.3f} | {args.batch / torch_s:.1f} | - | - |")
    print(f"speed-up over PyTorch: {torch_s / ours['median_s']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

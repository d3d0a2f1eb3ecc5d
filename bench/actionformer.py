#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ActionFormer forward: gst-tsl (C, CPU) against PyTorch on the same
machine, in the same run.

    actionformer.py BENCH_ACTIONFORMER [--T 2560] [--runs 3]

Builds a random model in the seed's setting (input 1408 + 256 = 1664,
17 classes, embedding / FPN / head width 512, backbone (2, 2, 5), local
attention window 11 on every level, max_seq_len 2560) under the official
parameter names, times PyTorch's forward of the same model (the project's
reimplementation of the official eval forward in
tools/make-actionformer-fixture.py, with the official chunked local
attention of tools/make-op-fixtures.py), then times bench-actionformer on
the same model file, and prints the ratio, the achieved GFLOP/s against
the measured sgemm peak, and peak memory. Needs Debian's python3-torch;
exit 77 (skipped) without it.
"""
import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

try:
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


def seed_config(fixture, T):
    return fixture.make_config(
        {"feat_stride": 16, "num_frames": 16, "default_fps": 30, "input_dim": 1664,
         "num_classes": 17, "downsample_rate": 1, "max_seq_len": T, "trunc_thresh": 0.5,
         "crop_ratio": None, "force_upsampling": False},
        {"backbone_type": "convTransformer", "fpn_type": "identity", "backbone_arch": [2, 2, 5],
         "scale_factor": 2,
         "regression_range": [[0, 4], [4, 8], [8, 16], [16, 32], [32, 64], [64, 10000]],
         "n_head": 4, "n_mha_win_size": 11, "embd_kernel_size": 3, "embd_dim": 512,
         "embd_with_ln": True, "fpn_dim": 512, "fpn_with_ln": True, "fpn_start_level": 0,
         "head_dim": 512, "head_kernel_size": 3, "head_num_layers": 3, "head_with_ln": True,
         "max_buffer_len_factor": 6.0, "use_abs_pe": False, "use_rel_pe": False},
        droppath=0.1)


def forward_gflop(m, T):
    """Multiply-adds x 2 of the forward at padded length T (convolutions,
    projections, MLPs, local attention, heads; LayerNorms etc. ignored)."""
    D, K = m.embd_dim, m.num_classes
    flop = 0.0
    for i in range(m.arch[0]):
        flop += 2 * (m.input_dim if i == 0 else D) * D * m.embd_ks * T
    lengths = [T] * m.arch[1] + [T // m.scale_factor ** (i + 1) for i in range(m.arch[2])]
    for t, w in zip(lengths, m.windows[:1] * m.arch[1] + m.windows[1:]):
        flop += 4 * 2 * D * D * t + 2 * 2 * 4 * D * D * t + 2 * 2 * w * D * t
    for t in [T // m.scale_factor ** level for level in range(m.n_levels)]:
        flop += 2 * (m.head_num_layers - 1) * 2 * D * D * m.head_ks * t
        flop += 2 * (K + 2) * D * m.head_ks * t
    return flop / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", help="path of the bench-actionformer program")
    parser.add_argument("--T", type=int, default=2560)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads for both implementations (default: all cores)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    fixture = load_tool("make-actionformer-fixture")
    ops = load_tool("make-op-fixtures")

    def official_local_attention(q, k, v, mask, n_head, window):
        out, _ = ops.local_attention(q[None], k[None], v[None], (mask > 0)[None], n_head, window)
        return out[0]

    fixture.banded_attention = official_local_attention
    config = seed_config(fixture, args.T)
    m = fixture.Model(config)
    params = fixture.random_params(m, seed=5)
    p = dict(params)
    feats = torch.randn(m.input_dim, args.T, generator=torch.Generator().manual_seed(6))

    with tempfile.TemporaryDirectory() as tmp:
        model_path = os.path.join(tmp, "seed.safetensors")
        tsl_safetensors.write(model_path, [(n, t.numpy()) for n, t in params],
                              {"tsl.model": "actionformer", "tsl.config": json.dumps(config)})
        # gst-tsl first, in its own process
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        run = subprocess.run([args.bench, model_path, str(args.T), str(args.runs)],
                             capture_output=True, text=True, check=True, env=env)
        ours = json.loads(run.stdout)

    torch_times = []
    with torch.no_grad():
        for i in range(args.runs + 1):
            t0 = time.perf_counter()
            fixture.forward(m, p, feats)
            if i > 0:
                torch_times.append(time.perf_counter() - t0)
    torch_s = sorted(torch_times)[len(torch_times) // 2]
    # this process also held the model's parameters as numpy copies and wrote
    # the model file, so its peak is an upper bound for PyTorch's
    torch_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    gflop = forward_gflop(m, args.T)
    ours_rate = gflop / ours["median_s"]
    print(f"ActionFormer forward, T={args.T}, C_in={m.input_dim}, D={m.embd_dim}, "
          f"{m.num_classes} classes, window 11: {gflop:.1f} GFLOP")
    print(f"threads: {args.threads} for both; OpenBLAS core {ours['blas_core']}")
    print(f"| implementation | median s | GFLOP/s | of sgemm peak | peak RSS MiB |")
    print(f"| --- | --- | --- | --- | --- |")
    print(f"| gst-tsl (C, {ours['backend']}) | {ours['median_s']:.3f} | {ours_rate:.1f} | "
          f"{ours_rate / ours['sgemm_peak_gflops']:.0%} | {ours['peak_rss_mib']:.0f} |")
    print(f"| PyTorch {torch.__version__} | {torch_s:.3f} | {gflop / torch_s:.1f} | "
          f"{gflop / torch_s / ours['sgemm_peak_gflops']:.0%} | {torch_rss:.0f} (upper bound) |")
    print(f"speed-up over PyTorch: {torch_s / ours['median_s']:.2f}x "
          f"(sgemm peak {ours['sgemm_peak_gflops']:.0f} GFLOP/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

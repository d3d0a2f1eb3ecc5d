#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""One ActionFormer training step: gst-tsl (C, CPU) against PyTorch on the
same machine, in the same run.

    train_step.py BENCH_TRAIN_STEP [--T 2560] [--batch 2] [--runs 3]

The seed solution's setting (bench/actionformer.py's model: input 1408 +
256 = 1664, 17 classes, width 512, backbone (2, 2, 5), window 11 on every
level, max_seq_len 2560) trained as its configuration does: batch 2,
drop path 0.1, AdamW lr 1e-4 with weight decay 0.05 on convolution
weights, clip_grad_l2norm 1.0, EMA 0.999. One step = label assignment,
train forward with drop-path draws, focal + DIoU losses, backward,
clipping, AdamW, EMA.

gst-tsl runs bench-train-step (the trainer's own step on a synthetic batch)
in its own process; PyTorch runs the project's reimplementation of the
official training forward (tools/make-actionformer-fixture.py, with the
official chunked local attention of tools/make-op-fixtures.py, one video
at a time as tools/make-actionformer-grad-fixture.py batches it), label
assignment and losses (tools/make-train-fixture.py), differentiated by
autograd, then torch.nn.utils.clip_grad_norm_, torch.optim.AdamW and an
EMA update, on the same batch (lengths T, T - 460, ...; the segments of
bench-train-step.c). Prints seconds per step, the ratio, peak memory and
the arithmetic floor (the step's multiply-add FLOPs at the sgemm peak).
Needs Debian's python3-torch; exit 77 (skipped) without it.
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
LENGTH_STEP = 460  # bench-train-step.c BENCH_LENGTH_STEP
SEGMENTS = [(0.05, 0.12, 1), (0.30, 0.34, 4), (0.50, 0.78, 9), (0.81, 0.815, 16)]
EMA_DECAY = 0.999


def load_module(path):
    name = os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_config(bench_af, fixture, T, batch):
    config = bench_af.seed_config(fixture, T)
    config["opt"] = {"learning_rate": 1e-4, "weight_decay": 0.05, "epochs": 35,
                     "warmup_epochs": 5}
    config["loader"] = {"batch_size": batch}
    config["dataset"]["crop_ratio"] = None
    return config


def step_gflop(bench_af, m, T, batch):
    """Forward, plus backward at twice the forward (input and weight
    gradients) except the first convolution, whose input needs none."""
    forward = bench_af.forward_gflop(m, T)
    first_conv = 2 * m.input_dim * m.embd_dim * m.embd_ks * T / 1e9
    return batch * (3 * forward - first_conv)


def is_decayed(name):
    """The official weight-decay group: Conv1d weights (LayerNorm gains,
    biases and scales do not decay)."""
    return name.endswith(".weight") and "norm" not in name and ".ln" not in name


class TorchTrainer:
    def __init__(self, config, fixture, grad_fixture, targets, T, batch):
        self.m = m = fixture.Model(config)
        self.grad_fixture = grad_fixture
        self.targets = targets
        self.keep_prob = 1.0 - m.drop_prob
        self.n_blocks = m.arch[1] + m.arch[2]
        params = fixture.random_params(m, seed=5)
        self.p = {name: t.clone().requires_grad_(True) for name, t in params}
        decay = [t for name, t in self.p.items() if is_decayed(name)]
        no_decay = [t for name, t in self.p.items() if not is_decayed(name)]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                      {"params": no_decay, "weight_decay": 0.0}],
                                     lr=config["opt"]["learning_rate"])
        self.ema = [t.detach().clone() for t in self.p.values()]
        self.clip = config["train_cfg"]["clip_grad_l2norm"]

        gen = torch.Generator().manual_seed(7)
        self.lengths = [T - b * LENGTH_STEP for b in range(batch)]
        self.feats = torch.zeros(batch, m.input_dim, T)
        self.segments, self.labels = [], []
        for b, length in enumerate(self.lengths):
            self.feats[b, :, :length] = torch.rand(m.input_dim, length, generator=gen) * 2 - 1
            self.segments.append(torch.tensor([[s, e] for s, e, _ in SEGMENTS]) * length)
            self.labels.append(torch.tensor([k % m.num_classes for _, _, k in SEGMENTS]))
        dataset_model = config["model"]
        ranges = dataset_model["regression_range"]
        buffer_len = int(m.max_seq_len * dataset_model["max_buffer_len_factor"])
        self.points = targets.make_points(T, buffer_len, m.scale_factor, ranges)
        self.masks = targets.level_masks(self.lengths, T, m.n_levels, m.scale_factor)
        train_cfg = dict(config["train_cfg"], num_classes=m.num_classes)
        self.assign_cfg = train_cfg
        self.losses = targets.Losses(train_cfg)
        self.keep_gen = torch.Generator().manual_seed(8)

    def step(self):
        m = self.m
        gt_cls, gt_off = self.targets.label_batch(self.points, self.segments, self.labels,
                                                  self.assign_cfg)
        keep = (torch.rand(self.n_blocks, 2, len(self.lengths), generator=self.keep_gen)
                < self.keep_prob).float()
        cls, reg = self.grad_fixture.batch_outputs(m, self.p, self.feats, self.lengths, keep)
        out = self.losses(self.masks, [cls[level] for level in range(m.n_levels)],
                          [reg[level] for level in range(m.n_levels)], gt_cls, gt_off)
        out["final_loss"].backward()
        norm = torch.nn.utils.clip_grad_norm_(self.p.values(), self.clip)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            for e, t in zip(self.ema, self.p.values()):
                e.mul_(EMA_DECAY).add_(t, alpha=1.0 - EMA_DECAY)
        return float(out["final_loss"]), float(norm)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", help="path of the bench-train-step program")
    parser.add_argument("--T", type=int, default=2560)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads for both implementations (default: all cores)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    sys.path.insert(0, os.path.join(ROOT, "tools"))
    bench_af = load_module("bench/actionformer.py")
    fixture = load_module("tools/make-actionformer-fixture.py")
    grad_fixture = load_module("tools/make-actionformer-grad-fixture.py")
    targets = load_module("tools/make-train-fixture.py")
    ops = load_module("tools/make-op-fixtures.py")

    def official_local_attention(q, k, v, mask, n_head, window):
        out, _ = ops.local_attention(q[None], k[None], v[None], (mask > 0)[None], n_head, window)
        return out[0]

    fixture.banded_attention = official_local_attention
    grad_fixture.ref = fixture
    config = train_config(bench_af, fixture, args.T, args.batch)

    with tempfile.TemporaryDirectory() as tmp:
        config_path = os.path.join(tmp, "train.json")
        with open(config_path, "w") as f:
            json.dump(config, f)
        # gst-tsl first, in its own process
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        run = subprocess.run([args.bench, config_path, str(args.runs)],
                             capture_output=True, text=True, check=True, env=env)
        ours = json.loads(run.stdout)

    trainer = TorchTrainer(config, fixture, grad_fixture, targets, args.T, args.batch)
    torch_times = []
    for i in range(args.runs + 1):
        t0 = time.perf_counter()
        torch_loss, torch_norm = trainer.step()
        if i > 0:
            torch_times.append(time.perf_counter() - t0)
    torch_s = sorted(torch_times)[len(torch_times) // 2]
    torch_min = min(torch_times)
    torch_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    m = trainer.m
    gflop = step_gflop(bench_af, m, args.T, args.batch)
    peak = ours["sgemm_peak_gflops"]
    floor = gflop / peak
    print(f"ActionFormer training step, batch {args.batch}, T={args.T}, C_in={m.input_dim}, "
          f"D={m.embd_dim}, {m.num_classes} classes, window 11, drop path {m.drop_prob}, "
          f"AdamW + clip + EMA: {gflop:.1f} GFLOP")
    print(f"threads: {args.threads} for both; OpenBLAS core {ours['blas_core']}; "
          f"sgemm peak {peak:.0f} GFLOP/s; floor (GFLOP / peak) {floor:.2f} s")
    print("| implementation | median s/step | min s/step | GFLOP/s | of sgemm peak | x floor "
          "| peak RSS MiB | last loss, grad norm (weights differ) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print(f"| gst-tsl (C, {ours['backend']}) | {ours['median_s']:.3f} | {ours['min_s']:.3f} | "
          f"{gflop / ours['median_s']:.1f} | {gflop / ours['median_s'] / peak:.0%} | "
          f"{ours['median_s'] / floor:.2f} | {ours['peak_rss_mib']:.0f} | "
          f"{ours['final_loss']:.4g}, {ours['grad_norm']:.4g} |")
    print(f"| PyTorch {torch.__version__} | {torch_s:.3f} | {torch_min:.3f} | "
          f"{gflop / torch_s:.1f} | "
          f"{gflop / torch_s / peak:.0%} | {torch_s / floor:.2f} | {torch_rss:.0f} | "
          f"{torch_loss:.4g}, {torch_norm:.4g} |")
    print(f"speed-up over PyTorch: {torch_s / ours['median_s']:.2f}x (medians), "
          f"{torch_min / ours['min_s']:.2f}x (minima); load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

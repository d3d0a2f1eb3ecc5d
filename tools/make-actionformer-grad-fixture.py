#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make-actionformer-grad-fixture.py: the ActionFormer gradient fixtures of tests/parity.

Differentiates the plain-PyTorch reimplementation of the official
ActionFormer forward in tools/make-actionformer-fixture.py (happyharrycn/
actionformer_release 61ea7eb9, checked there against the official outputs)
with torch autograd. Train mode on a batch of two videos, both padded to
max_seq_len (the official training batch shape), the first one shorter.
With fixed random R1 [2, K, T_L] and R2 [2, 2, T_L] per level,

    loss = sum over levels of sum(cls_logits.L * R1.L) + sum(reg_offsets.L * R2.L)

so d loss / d cls_logits.L = R1.L and d loss / d reg_offsets.L = R2.L are the
upstream gradients the C backward starts from. Each file holds

  * the parameters (official names and shapes, float32),
  * "feats" [2, C_in, max_seq_len] (zero beyond each length), "lengths" [2] (I64),
  * with stochastic drop path only: "drop_path.keep" [n_blocks, 2, 2], the
    drawn keep values (1 kept, 0 dropped) of block i's attention (0) and MLP
    (1) branch for video b, fixed here rather than drawn,
  * "upstream.cls_logits.<L>" = R1.L, "upstream.reg_offsets.<L>" = R2.L,
  * the outputs "cls_logits.<L>" [2, K, T_L] and "reg_offsets.<L>" [2, 2, T_L],
  * "grad.<name>": d loss / d parameter for every parameter,
  * __metadata__: "tsl.model", "tsl.config" (official layout), "fixture.version",
    "fixture.generator".

Before writing, a few parameter elements per file are checked by central
finite differences of the same loss in float64 (the reference gradients
are autograd's, so this checks the differentiated graph, not only autograd).

tests/data/actionformer-grad-fixture.safetensors: window 5 local attention,
2 stem + 3 branch blocks, scale factor 2, LayerNorm everywhere, AffineDropPath
scales; lengths 50 and 64 of max_seq_len 64.
tests/data/actionformer-grad-fixture-nonorm.safetensors: scale factor 4,
window 3 and 5, absolute position embedding, no LayerNorm in embedding, neck
and heads (convolution biases instead), head_dim != fpn_dim, kernel 5, no
AffineDropPath; lengths 19 and 32 of max_seq_len 32.
tests/data/actionformer-grad-fixture-global.safetensors: global (MaskedMHCA)
attention on levels 0 and 2 and window 3 on level 1, scale factor 2, 2 stem
+ 2 branch blocks, LayerNorm everywhere, AffineDropPath in training with
droppath 0.1 and a fixed keep pattern that drops four branches across both
videos; lengths 21 and 32 of max_seq_len 32.

Run with Debian's python3-torch: /usr/bin/python3 tools/make-actionformer-grad-fixture.py
[--out-dir tests/data]
"""

import argparse
import importlib.util
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tsl_safetensors  # noqa: E402

FIXTURE_VERSION = "1"
GENERATOR = "tools/make-actionformer-grad-fixture.py"


def load_reference():
    """tools/make-actionformer-fixture.py as a module (its name has dashes)."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(
        "actionformer_reference", os.path.join(here, "make-actionformer-fixture.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = load_reference()


def batch_outputs(m, p, feats, lengths, keep=None):
    """Per video forward (every official op but drop path is per video, and
    drop path is per video given its draws `keep` [n_blocks, 2, B]),
    stacked: dicts level -> [B, K, T_L] logits and [B, 2, T_L] offsets."""
    cls, reg = {}, {}
    for b, T in enumerate(lengths):
        video_keep = None if keep is None else [tuple(row[:, b].tolist()) for row in keep]
        rec = ref.forward(m, p, feats[b, :, :T], video_keep)
        for level in range(m.n_levels):
            cls.setdefault(level, []).append(rec[f"cls_logits.{level}"])
            reg.setdefault(level, []).append(rec[f"reg_offsets.{level}"])
    return ({k: torch.stack(v) for k, v in cls.items()},
            {k: torch.stack(v) for k, v in reg.items()})


def loss_of(m, p, feats, lengths, r1, r2, keep=None):
    cls, reg = batch_outputs(m, p, feats, lengths, keep)
    loss = 0.0
    for level in range(m.n_levels):
        loss = loss + (cls[level] * r1[level]).sum() + (reg[level] * r2[level]).sum()
    return loss, cls, reg


def finite_difference_check(m, params, feats, lengths, r1, r2, names, gen, keep):
    """Central differences in float64 for a few elements of `names`."""
    p64 = {name: t.detach().double() for name, t in params}
    feats64 = feats.double()
    r1_64 = {k: v.double() for k, v in r1.items()}
    r2_64 = {k: v.double() for k, v in r2.items()}
    for name in names:
        p_grad = {k: v.clone().requires_grad_(k == name) for k, v in p64.items()}
        loss, _, _ = loss_of(m, p_grad, feats64, lengths, r1_64, r2_64, keep)
        (grad,) = torch.autograd.grad(loss, [p_grad[name]])
        flat = p64[name].reshape(-1)
        for _ in range(min(2, flat.numel())):
            i = int(torch.randint(flat.numel(), (1,), generator=gen))
            eps = 1e-6
            saved = float(flat[i])
            flat[i] = saved + eps
            with torch.no_grad():
                up = float(loss_of(m, p64, feats64, lengths, r1_64, r2_64, keep)[0])
            flat[i] = saved - eps
            with torch.no_grad():
                down = float(loss_of(m, p64, feats64, lengths, r1_64, r2_64, keep)[0])
            flat[i] = saved
            numeric = (up - down) / (2 * eps)
            analytic = float(grad.reshape(-1)[i])
            err = abs(numeric - analytic) / max(abs(analytic), 1e-3)
            print(f"  finite difference {name}[{i}]: {numeric:.9g} vs autograd {analytic:.9g}"
                  f" (rel {err:.2g})")
            if err > 1e-5:
                raise SystemExit(f"finite-difference check failed for {name}[{i}]")


def write_fixture(path, config, seed, lengths, fd_names, keep=None):
    m = ref.Model(config)
    params = ref.random_params(m, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    B, Tp = len(lengths), m.max_seq_len
    feats = torch.zeros(B, m.input_dim, Tp)
    for b, T in enumerate(lengths):
        feats[b, :, :T] = torch.randn(m.input_dim, T, generator=gen)
    r1 = {level: torch.randn(B, m.num_classes, Tp // m.scale_factor ** level, generator=gen)
          for level in range(m.n_levels)}
    r2 = {level: torch.randn(B, 2, Tp // m.scale_factor ** level, generator=gen)
          for level in range(m.n_levels)}

    p = {name: t.clone().requires_grad_(True) for name, t in params}
    loss, cls, reg = loss_of(m, p, feats, lengths, r1, r2, keep)
    loss.backward()

    print(f"{path}: loss {float(loss):.6g}")
    finite_difference_check(m, params, feats, lengths, r1, r2, fd_names, gen, keep)

    tensors = [(name, t.numpy()) for name, t in params]
    tensors.append(("feats", feats.numpy()))
    tensors.append(("lengths", torch.tensor(lengths, dtype=torch.int64).numpy()))
    if keep is not None:
        tensors.append(("drop_path.keep", keep.numpy()))
    for level in range(m.n_levels):
        tensors.append((f"upstream.cls_logits.{level}", r1[level].numpy()))
        tensors.append((f"upstream.reg_offsets.{level}", r2[level].numpy()))
        tensors.append((f"cls_logits.{level}", cls[level].detach().numpy()))
        tensors.append((f"reg_offsets.{level}", reg[level].detach().numpy()))
    tensors += [(f"grad.{name}", p[name].grad.numpy()) for name, _ in params]
    metadata = {"tsl.model": "actionformer", "tsl.config": json.dumps(config),
                "fixture.version": FIXTURE_VERSION, "fixture.generator": GENERATOR}
    tsl_safetensors.write(path, tensors, metadata)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=os.path.join(here, "..", "tests", "data"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    normed = ref.make_config(
        {"feat_stride": 16, "num_frames": 16, "default_fps": 30, "input_dim": 12,
         "num_classes": 3, "downsample_rate": 1, "max_seq_len": 64, "trunc_thresh": 0.5,
         "crop_ratio": None, "force_upsampling": False},
        {"backbone_type": "convTransformer", "fpn_type": "identity", "backbone_arch": [2, 2, 3],
         "scale_factor": 2, "regression_range": [[0, 4], [4, 8], [8, 16], [16, 10000]],
         "n_head": 4, "n_mha_win_size": 5, "embd_kernel_size": 3, "embd_dim": 16,
         "embd_with_ln": True, "fpn_dim": 16, "fpn_with_ln": True, "fpn_start_level": 0,
         "head_dim": 16, "head_kernel_size": 3, "head_num_layers": 3, "head_with_ln": True,
         "max_buffer_len_factor": 6.0, "use_abs_pe": False, "use_rel_pe": False},
        droppath=0.1)
    write_fixture(os.path.join(args.out_dir, "actionformer-grad-fixture.safetensors"), normed,
                  seed=4242, lengths=[50, 64],
                  fd_names=["backbone.embd.0.conv.weight", "backbone.stem.0.attn.key.weight",
                            "backbone.branch.2.ln1.weight", "reg_head.scale.1.scale"])

    plain = ref.make_config(
        {"feat_stride": 8, "num_frames": 16, "default_fps": 25, "input_dim": 6,
         "num_classes": 2, "downsample_rate": 1, "max_seq_len": 32, "trunc_thresh": 0.5,
         "crop_ratio": None, "force_upsampling": False},
        {"backbone_type": "convTransformer", "fpn_type": "identity", "backbone_arch": [2, 1, 2],
         "scale_factor": 4, "regression_range": [[0, 4], [4, 16], [16, 10000]],
         "n_head": 2, "n_mha_win_size": [3, 5, 3], "embd_kernel_size": 5, "embd_dim": 8,
         "embd_with_ln": False, "fpn_dim": 8, "fpn_with_ln": False, "fpn_start_level": 0,
         "head_dim": 12, "head_kernel_size": 5, "head_num_layers": 3, "head_with_ln": False,
         "max_buffer_len_factor": 6.0, "use_abs_pe": True, "use_rel_pe": False},
        droppath=0.0)
    write_fixture(os.path.join(args.out_dir, "actionformer-grad-fixture-nonorm.safetensors"),
                  plain, seed=99, lengths=[19, 32],
                  fd_names=["backbone.embd.1.conv.bias",
                            "backbone.branch.0.attn.query_conv.conv.weight",
                            "cls_head.head.1.conv.weight", "reg_head.offset_head.conv.bias"])

    global_ = ref.make_config(
        {"feat_stride": 8, "num_frames": 16, "default_fps": 25, "input_dim": 6,
         "num_classes": 2, "downsample_rate": 1, "max_seq_len": 32, "trunc_thresh": 0.5,
         "crop_ratio": None, "force_upsampling": False},
        {"backbone_type": "convTransformer", "fpn_type": "identity", "backbone_arch": [2, 2, 2],
         "scale_factor": 2, "regression_range": [[0, 4], [4, 8], [8, 10000]],
         "n_head": 2, "n_mha_win_size": [-1, 3, -1], "embd_kernel_size": 3, "embd_dim": 8,
         "embd_with_ln": True, "fpn_dim": 8, "fpn_with_ln": True, "fpn_start_level": 0,
         "head_dim": 8, "head_kernel_size": 3, "head_num_layers": 2, "head_with_ln": True,
         "max_buffer_len_factor": 6.0, "use_abs_pe": False, "use_rel_pe": False},
        droppath=0.1)
    # [block][branch][video]: stem.0 drops video 1's MLP, stem.1 video 0's
    # attention, branch.1 video 1's attention and video 0's MLP
    keep = torch.tensor([[[1, 1], [1, 0]], [[0, 1], [1, 1]], [[1, 1], [1, 1]],
                         [[1, 0], [0, 1]]], dtype=torch.float32)
    write_fixture(os.path.join(args.out_dir, "actionformer-grad-fixture-global.safetensors"),
                  global_, seed=31, lengths=[21, 32],
                  fd_names=["backbone.stem.0.attn.query.weight",
                            "backbone.stem.1.attn.key_conv.conv.weight",
                            "backbone.branch.1.attn.value.weight",
                            "backbone.stem.1.drop_path_mlp.scale",
                            "backbone.branch.1.drop_path_attn.scale"],
                  keep=keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make-actionformer-fixture.py: the ActionFormer parity fixtures of tests/parity.

Builds small ActionFormer (LocPointTransformer) models with random weights
under the official state_dict names, runs the eval-mode forward of
happyharrycn/actionformer_release (commit 61ea7eb9) reimplemented below in
plain PyTorch, and writes, per model, one safetensors file holding

  * the parameters (official names and shapes, float32),
  * "video<i>.feats" [C_in, T] and the per-level outputs of each test video:
    "video<i>.<what>" for embd_out, stem0_out [D, Tp] and
    mask.<L> [T_L], backbone_feats.<L>, fpn_feats.<L> [D, T_L],
    cls_logits.<L> [K, T_L], reg_offsets.<L> [2, T_L] (after Scale and ReLU),
  * __metadata__: "tsl.model" = "actionformer", "tsl.config" = the resolved
    configuration dict in the official layout (sections dataset / model /
    train_cfg / test_cfg), "fixture.version", "fixture.generator",
    "video<i>.T" and "video<i>.padded_len".

tests/data/actionformer-fixture.safetensors: window 5 local attention,
2 stem + 3 branch blocks, dim 16, 4 heads, 3 classes, input 12,
max_seq_len 64, LayerNorm everywhere, AffineDropPath scales; videos of
T = 50 (padded to 64) and T = 64.
tests/data/actionformer-fixture-global.safetensors: the other code paths:
global (masked full) attention on levels 0 and 2, scale factor 4, absolute
position embedding (interpolated for the longer video), no LayerNorm in the
embedding, neck and heads (convolution biases instead), no AffineDropPath,
head_dim != fpn_dim, kernel size 5; videos of T = 11 (padded to 16) and
T = 23 (padded to 32).

The forward is checked against the official outputs in
<golden>/actionformer/af1_*.safetensors when that folder exists (max abs
difference printed per tensor; exit status 1 above 1e-4).

Run with Debian's python3-torch: /usr/bin/python3 tools/make-actionformer-fixture.py
[--golden DIR] [--out-dir tests/data]
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tsl_safetensors  # noqa: E402

FIXTURE_VERSION = "1"
GENERATOR = "tools/make-actionformer-fixture.py"
LN_EPS = 1e-5

# ---- configuration ----

class Model:
    """The hyper-parameters the eval forward needs, read from a resolved
    official config dict (sections dataset / model / train_cfg)."""

    def __init__(self, config):
        dataset, model = config["dataset"], config["model"]
        self.input_dim = dataset["input_dim"]
        self.num_classes = dataset["num_classes"]
        self.max_seq_len = dataset["max_seq_len"]
        self.arch = list(model["backbone_arch"])
        self.scale_factor = model["scale_factor"]
        self.n_levels = self.arch[2] + 1
        windows = model["n_mha_win_size"]
        if isinstance(windows, int):
            windows = [windows] * self.n_levels
        self.windows = list(windows)
        self.n_head = model["n_head"]
        self.embd_ks = model["embd_kernel_size"]
        self.embd_dim = model["embd_dim"]
        self.embd_with_ln = model["embd_with_ln"]
        self.fpn_dim = model["fpn_dim"]
        self.fpn_with_ln = model["fpn_with_ln"]
        self.head_dim = model["head_dim"]
        self.head_ks = model["head_kernel_size"]
        self.head_num_layers = model["head_num_layers"]
        self.head_with_ln = model["head_with_ln"]
        self.use_abs_pe = model["use_abs_pe"]
        self.drop_prob = config["train_cfg"]["droppath"]
        self.droppath = self.drop_prob > 0.0
        assert not model["use_rel_pe"], "relative position encoding is not reproduced here"
        assert model["backbone_type"] == "convTransformer" and model["fpn_type"] == "identity"
        div = 1
        for level, window in enumerate(self.windows):
            stride = self.scale_factor ** level
            div = max(div, stride * (window // 2) * 2 if window > 1 else stride)
        self.max_div_factor = div

    def padded_len(self, T):
        if T <= self.max_seq_len:
            return self.max_seq_len
        return (T + self.max_div_factor - 1) // self.max_div_factor * self.max_div_factor

    def param_shapes(self):
        """(official name, shape) in state_dict order."""
        D, out = self.embd_dim, []

        def norm(name, c):
            out.append((name + ".weight", [1, c, 1]))
            out.append((name + ".bias", [1, c, 1]))

        for i in range(self.arch[0]):
            c_in = self.input_dim if i == 0 else D
            out.append((f"backbone.embd.{i}.conv.weight", [D, c_in, self.embd_ks]))
            if not self.embd_with_ln:
                out.append((f"backbone.embd.{i}.conv.bias", [D]))
        if self.embd_with_ln:
            for i in range(self.arch[0]):
                norm(f"backbone.embd_norm.{i}", D)
        blocks = [(f"backbone.stem.{i}", 1) for i in range(self.arch[1])]
        blocks += [(f"backbone.branch.{i}", self.scale_factor) for i in range(self.arch[2])]
        for prefix, stride in blocks:
            k = stride + 1 if stride > 1 else 3
            norm(prefix + ".ln1", D)
            norm(prefix + ".ln2", D)
            for part in ("query", "key", "value"):
                out.append((f"{prefix}.attn.{part}_conv.conv.weight", [D, 1, k]))
                norm(f"{prefix}.attn.{part}_norm", D)
            for part in ("key", "query", "value", "proj"):
                out.append((f"{prefix}.attn.{part}.weight", [D, D, 1]))
                out.append((f"{prefix}.attn.{part}.bias", [D]))
            out.append((prefix + ".mlp.0.weight", [4 * D, D, 1]))
            out.append((prefix + ".mlp.0.bias", [4 * D]))
            out.append((prefix + ".mlp.3.weight", [D, 4 * D, 1]))
            out.append((prefix + ".mlp.3.bias", [D]))
            if self.droppath:
                out.append((prefix + ".drop_path_attn.scale", [1, D, 1]))
                out.append((prefix + ".drop_path_mlp.scale", [1, D, 1]))
        if self.fpn_with_ln:
            for level in range(self.n_levels):
                norm(f"neck.fpn_norms.{level}", self.fpn_dim)
        for head in ("cls_head", "reg_head"):
            for i in range(self.head_num_layers - 1):
                c_in = self.fpn_dim if i == 0 else self.head_dim
                out.append((f"{head}.head.{i}.conv.weight", [self.head_dim, c_in, self.head_ks]))
                if not self.head_with_ln:
                    out.append((f"{head}.head.{i}.conv.bias", [self.head_dim]))
            if self.head_with_ln:
                for i in range(self.head_num_layers - 1):
                    norm(f"{head}.norm.{i}", self.head_dim)
            if head == "cls_head":
                out.append(("cls_head.cls_head.conv.weight",
                            [self.num_classes, self.head_dim, self.head_ks]))
                out.append(("cls_head.cls_head.conv.bias", [self.num_classes]))
            else:
                for level in range(self.n_levels):
                    out.append((f"reg_head.scale.{level}.scale", []))
                out.append(("reg_head.offset_head.conv.weight", [2, self.head_dim, self.head_ks]))
                out.append(("reg_head.offset_head.conv.bias", [2]))
        return out


# ---- the eval forward, channels-first [C, T] tensors, batch of one ----

def layer_norm(x, p, name):
    """LayerNorm over channels, biased variance, as libs/modeling/blocks.py."""
    centred = x - x.mean(dim=0, keepdim=True)
    var = (centred * centred).mean(dim=0, keepdim=True)
    out = centred / torch.sqrt(var + LN_EPS)
    return out * p[name + ".weight"].reshape(-1, 1) + p[name + ".bias"].reshape(-1, 1)


def masked_conv(x, weight, bias, out_mask, stride=1, groups=1):
    """Conv1d with padding kernel // 2, output multiplied by the output mask."""
    y = F.conv1d(x[None], weight, bias, stride=stride, padding=weight.shape[-1] // 2,
                 groups=groups)[0]
    return y * out_mask[None, :]


def pointwise(x, p, name):
    return F.conv1d(x[None], p[name + ".weight"], p[name + ".bias"])[0]


def banded_attention(q, k, v, mask, n_head, window):
    """Local attention over keys t - w .. t + w, w = window // 2: keys outside
    the array are excluded, padded keys get -1e4 added to their score, rows of
    padded queries are zeroed after the softmax."""
    C, T = q.shape
    dh, half = C // n_head, window // 2
    span = 2 * half + 1
    scale = 1.0 / math.sqrt(dh)
    q = q.reshape(n_head, dh, T) * scale
    k = F.pad(k.reshape(n_head, dh, T), (half, half))
    v = F.pad(v.reshape(n_head, dh, T), (half, half))
    index = torch.arange(T)[:, None] + torch.arange(span)[None, :]  # [T, span], padded coords
    scores = torch.einsum("hdt,hdts->hts", q, k[:, :, index])
    key_valid = F.pad(mask, (half, half))[index]
    scores = scores + torch.where(key_valid > 0, 0.0, -1e4)
    key_pos = index - half
    outside = (key_pos < 0) | (key_pos >= T)
    scores = scores.masked_fill(outside[None], float("-inf"))
    att = torch.softmax(scores, dim=-1) * mask[None, :, None]
    out = torch.einsum("hts,hdts->hdt", att, v[:, :, index])
    return out.reshape(C, T)


def global_attention(q, k, v, mask, n_head):
    """Masked full attention: padded keys get -inf, values are multiplied by
    the key mask."""
    C, T = q.shape
    dh = C // n_head
    scale = 1.0 / math.sqrt(dh)
    q = q.reshape(n_head, dh, T) * scale
    scores = torch.einsum("hdt,hds->hts", q, k.reshape(n_head, dh, T))
    scores = scores.masked_fill((mask == 0)[None, None, :], float("-inf"))
    att = torch.softmax(scores, dim=-1)
    out = torch.einsum("hts,hds->hdt", att, (v * mask[None, :]).reshape(n_head, dh, T))
    return out.reshape(C, T)


def drop_path(y, keep, keep_prob):
    """Training-mode drop path of one video (blocks.py drop_path): y / keep_prob
    times the drawn keep value (0 or 1); keep None: y (eval, or drop_prob 0)."""
    if keep is None:
        return y
    return y.div(keep_prob) * torch.tensor(float(keep), dtype=y.dtype)


def transformer_block(m, p, prefix, x, mask, stride, window, keep=(None, None)):
    """Pre-LN block: x' = pool(x) * m + s_a * attn(ln1(x)); out = x' + s_m * mlp(ln2(x')) * m.
    keep: this video's drop-path draws (attention, MLP), or None each."""
    C = x.shape[0]
    out_mask = mask[::stride]
    h = layer_norm(x, p, prefix + ".ln1")
    qkv = []
    for part in ("query", "key", "value"):
        y = masked_conv(h, p[f"{prefix}.attn.{part}_conv.conv.weight"], None, out_mask,
                        stride=stride, groups=C)
        y = layer_norm(y, p, f"{prefix}.attn.{part}_norm")
        qkv.append(pointwise(y, p, f"{prefix}.attn.{part}"))
    if window > 1:
        a = banded_attention(*qkv, out_mask, m.n_head, window)
    else:
        a = global_attention(*qkv, out_mask, m.n_head)
    a = pointwise(a, p, prefix + ".attn.proj") * out_mask[None, :]
    if stride > 1:
        skip = F.max_pool1d(x[None], stride + 1, stride=stride, padding=(stride + 1) // 2)[0]
    else:
        skip = x
    if m.droppath:
        a = drop_path(a * p[prefix + ".drop_path_attn.scale"].reshape(-1, 1), keep[0],
                      1 - m.drop_prob)
    out = skip * out_mask[None, :] + a
    y = pointwise(layer_norm(out, p, prefix + ".ln2"), p, prefix + ".mlp.0")
    y = pointwise(F.gelu(y), p, prefix + ".mlp.3") * out_mask[None, :]
    if m.droppath:
        y = drop_path(y * p[prefix + ".drop_path_mlp.scale"].reshape(-1, 1), keep[1],
                      1 - m.drop_prob)
    return out + y, out_mask


def sinusoid_table(n_pos, dim):
    """[dim, n_pos]: sin(pos / 10000^(2 (j // 2) / dim)) for even j, cos for odd j."""
    pos = np.arange(n_pos, dtype=np.float64)[:, None]
    j = np.arange(dim)[None, :]
    angle = pos / np.power(10000.0, 2 * (j // 2) / dim)
    table = np.where(j % 2 == 0, np.sin(angle), np.cos(angle))
    return torch.from_numpy(table.T.astype(np.float32))


def forward(m, p, feats, keep=None):
    """feats [C_in, T] -> dict of every recorded tensor (padded lengths).
    keep: training-mode drop-path draws of this video, [n_blocks][2] (stem
    blocks first; attention, MLP), or None for eval."""
    keep = keep if keep is not None else [(None, None)] * (m.arch[1] + m.arch[2])
    T = feats.shape[1]
    Tp = m.padded_len(T)
    x = F.pad(feats, (0, Tp - T))
    mask = (torch.arange(Tp) < T).float()
    rec = {}
    for i in range(m.arch[0]):
        bias = None if m.embd_with_ln else p[f"backbone.embd.{i}.conv.bias"]
        x = masked_conv(x, p[f"backbone.embd.{i}.conv.weight"], bias, mask)
        if m.embd_with_ln:
            x = layer_norm(x, p, f"backbone.embd_norm.{i}")
        x = torch.relu(x)
    if m.use_abs_pe:
        pe = sinusoid_table(m.max_seq_len, m.embd_dim) / (m.embd_dim ** 0.5)
        if Tp > m.max_seq_len:
            pe = F.interpolate(pe[None], size=Tp, mode="linear", align_corners=False)[0]
        x = x + pe[:, :Tp] * mask[None, :]
    rec["embd_out"] = x
    for i in range(m.arch[1]):
        x, mask = transformer_block(m, p, f"backbone.stem.{i}", x, mask, 1, m.windows[0],
                                    keep[i])
        if i == 0:
            rec["stem0_out"] = x
    feats_l, masks_l = [x], [mask]
    for i in range(m.arch[2]):
        x, mask = transformer_block(m, p, f"backbone.branch.{i}", x, mask, m.scale_factor,
                                    m.windows[1 + i], keep[m.arch[1] + i])
        feats_l.append(x)
        masks_l.append(mask)
    for level in range(m.n_levels):
        f, mask = feats_l[level], masks_l[level]
        rec[f"mask.{level}"] = mask
        rec[f"backbone_feats.{level}"] = f
        if m.fpn_with_ln:
            f = layer_norm(f, p, f"neck.fpn_norms.{level}")
        rec[f"fpn_feats.{level}"] = f
        for head in ("cls_head", "reg_head"):
            y = f
            for i in range(m.head_num_layers - 1):
                bias = None if m.head_with_ln else p[f"{head}.head.{i}.conv.bias"]
                y = masked_conv(y, p[f"{head}.head.{i}.conv.weight"], bias, mask)
                if m.head_with_ln:
                    y = layer_norm(y, p, f"{head}.norm.{i}")
                y = torch.relu(y)
            if head == "cls_head":
                rec[f"cls_logits.{level}"] = masked_conv(
                    y, p["cls_head.cls_head.conv.weight"], p["cls_head.cls_head.conv.bias"], mask)
            else:
                off = masked_conv(y, p["reg_head.offset_head.conv.weight"],
                                  p["reg_head.offset_head.conv.bias"], mask)
                rec[f"reg_offsets.{level}"] = torch.relu(off * p[f"reg_head.scale.{level}.scale"])
    return rec


# ---- check against the official outputs ----

def check_golden(golden_dir):
    folder = os.path.join(golden_dir, "actionformer")
    if not os.path.isdir(folder):
        print(f"golden folder {folder} absent: check skipped")
        return True
    with open(os.path.join(folder, "af1_config.json")) as f:
        m = Model(json.load(f)["config"])
    arrays, _ = tsl_safetensors.read(os.path.join(folder, "af1_params.safetensors"))
    p = {name: torch.from_numpy(a.copy()) for name, a in arrays.items()}
    ok = True
    for video in range(3):
        ref, _ = tsl_safetensors.read(os.path.join(folder, f"af1_video{video}.safetensors"))
        with torch.no_grad():
            rec = forward(m, p, torch.from_numpy(ref["feats"].copy()))
        worst = 0.0
        for name, got in rec.items():
            diff = float(np.max(np.abs(got.numpy().astype(np.float64) - ref[name])))
            print(f"af1_video{video} {name:18s} max abs diff {diff:.3g}")
            worst = max(worst, diff)
        ok = ok and worst <= 1e-4
    print("golden check:", "passed" if ok else "FAILED")
    return ok


# ---- the fixtures ----

def make_config(dataset, model, droppath):
    """A resolved config dict in the official layout (as _update_config leaves it)."""
    train_cfg = {"center_sample": "radius", "center_sample_radius": 1.5, "loss_weight": 1.0,
                 "cls_prior_prob": 0.01, "init_loss_norm": 100, "clip_grad_l2norm": 1.0,
                 "head_empty_cls": [], "dropout": 0.0, "droppath": droppath,
                 "label_smoothing": 0.0}
    test_cfg = {"pre_nms_thresh": 0.001, "pre_nms_topk": 5000, "iou_threshold": 0.1,
                "min_score": 0.001, "max_seg_num": 200, "nms_method": "soft", "nms_sigma": 0.4,
                "duration_thresh": 0.05, "multiclass_nms": True, "ext_score_file": None,
                "voting_thresh": 0.75}
    model = dict(model, input_dim=dataset["input_dim"], num_classes=dataset["num_classes"],
                 max_seq_len=dataset["max_seq_len"], train_cfg=train_cfg, test_cfg=test_cfg)
    return {"model_name": "LocPointTransformer", "dataset": dataset, "model": model,
            "train_cfg": train_cfg, "test_cfg": test_cfg}


def random_params(m, seed):
    """Random weights large enough that every path matters (LayerNorm
    weights near 1, scales in [0.5, 1.5])."""
    gen = torch.Generator().manual_seed(seed)
    params = []
    for name, shape in m.param_shapes():
        if name.endswith(".scale"):
            t = 0.5 + torch.rand(shape, generator=gen)
        elif "norm" in name or ".ln" in name:
            t = 0.1 * torch.randn(shape, generator=gen)
            if name.endswith(".weight"):
                t = t + 1.0
        elif name.startswith(("cls_head.cls_head", "reg_head.offset_head")):
            t = 0.3 * torch.randn(shape, generator=gen)
        else:
            t = 0.1 * torch.randn(shape, generator=gen)
        params.append((name, t.float()))
    return params


def write_fixture(path, config, seed, lengths):
    m = Model(config)
    params = random_params(m, seed)
    p = dict(params)
    gen = torch.Generator().manual_seed(seed + 1)
    tensors = [(name, t.numpy()) for name, t in params]
    metadata = {"tsl.model": "actionformer", "tsl.config": json.dumps(config),
                "fixture.version": FIXTURE_VERSION, "fixture.generator": GENERATOR}
    for video, T in enumerate(lengths):
        feats = torch.randn(m.input_dim, T, generator=gen)
        with torch.no_grad():
            rec = forward(m, p, feats)
        metadata[f"video{video}.T"] = str(T)
        metadata[f"video{video}.padded_len"] = str(m.padded_len(T))
        tensors.append((f"video{video}.feats", feats.numpy()))
        tensors += [(f"video{video}.{name}", t.numpy()) for name, t in rec.items()]
    tsl_safetensors.write(path, tensors, metadata)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golden", default=os.path.join(here, "..", "..", "shared", "golden"),
                        help="folder holding actionformer/af1_* (checked when present)")
    parser.add_argument("--out-dir", default=os.path.join(here, "..", "tests", "data"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    if not check_golden(args.golden):
        return 1

    local = make_config(
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
    write_fixture(os.path.join(args.out_dir, "actionformer-fixture.safetensors"), local,
                  seed=2024, lengths=[50, 64])

    global_ = make_config(
        {"feat_stride": 8, "num_frames": 16, "default_fps": 25, "input_dim": 6,
         "num_classes": 2, "downsample_rate": 1, "max_seq_len": 16, "trunc_thresh": 0.5,
         "crop_ratio": None, "force_upsampling": False},
        {"backbone_type": "convTransformer", "fpn_type": "identity", "backbone_arch": [1, 1, 2],
         "scale_factor": 4, "regression_range": [[0, 4], [4, 16], [16, 10000]],
         "n_head": 2, "n_mha_win_size": [-1, 3, -1], "embd_kernel_size": 5, "embd_dim": 8,
         "embd_with_ln": False, "fpn_dim": 8, "fpn_with_ln": False, "fpn_start_level": 0,
         "head_dim": 12, "head_kernel_size": 5, "head_num_layers": 2, "head_with_ln": False,
         "max_buffer_len_factor": 6.0, "use_abs_pe": True, "use_rel_pe": False},
        droppath=0.0)
    write_fixture(os.path.join(args.out_dir, "actionformer-fixture-global.safetensors"),
                  global_, seed=77, lengths=[11, 23])
    return 0


if __name__ == "__main__":
    sys.exit(main())

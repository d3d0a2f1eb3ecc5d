#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make-train-fixture.py: the training-target and loss fixture of tests/unit/train.

Reimplements, in plain PyTorch and in the official order of float32
operations, three pieces of ActionFormer training from
happyharrycn/actionformer_release (commit 61ea7eb9):

  * the point table (libs/modeling/loc_generators.py, PointGenerator):
    per level L the positions i * s^L, the level's regression range and its
    stride, levels concatenated level 0 first ([FT, 4]);
  * label assignment (libs/modeling/meta_archs.py, label_points_single_video):
    centre sampling, regression ranges, the shortest-GT rule with its
    1e-3 multi-label tie, offsets divided by the stride;
  * the losses (meta_archs.py, losses, with libs/modeling/losses.py):
    the loss normaliser EMA (updated before it is used), label smoothing,
    the sigmoid focal loss over valid points, the centre DIoU loss over
    positive points, the loss weight (a value <= 0 selects the official
    automatic balance).

It checks itself against the official tensors in
<golden>/actionformer/af3_train.safetensors and af3b_extra.safetensors when
that folder exists (points, targets, positives and normaliser exactly;
losses to 1e-6 relative; exit status 1 otherwise), then writes
tests/data/train-fixture.safetensors: a batch of two videos, 3 classes,
padded length 64, 4 levels (strides 1, 2, 4, 8), for two configurations

  "a." centre sampling radius 1.5, loss weight 1, no label smoothing,
       lengths [64, 50];
  "b." no centre sampling, automatic loss weight, label smoothing 0.1,
       lengths [64, 37], the second video without ground truth;

each with its configuration ("<case>cfg.*", F64 scalars, center_sample 1
for 'radius' and 0 for 'none'), inputs (gt_segments.<b> [N, 2] grid
units, gt_labels.<b> [N] I64, lengths [2] I64, cls_logits.<L> [2, 3, T_L],
reg_offsets.<L> [2, 2, T_L]), targets (valid_mask [2, FT] I64,
gt_cls [2, FT, 3], gt_offsets [2, FT, 2]), num_pos (I64), loss_normalizer
(F64), cls_loss, reg_loss, final_loss, the autograd gradients of
final_loss (grad.cls_logits.<L>, grad.reg_offsets.<L>), and the normaliser
and losses of a second call on the same inputs (step2.*). "points" [FT, 4]
is shared by both cases.

Run with Debian's python3-torch: /usr/bin/python3 tools/make-train-fixture.py
[--golden DIR] [--out tests/data/train-fixture.safetensors]
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tsl_safetensors  # noqa: E402

FIXTURE_VERSION = "1"
GENERATOR = "tools/make-train-fixture.py"
NORMALIZER_MOMENTUM = 0.9
FOCAL_ALPHA = 0.25
FOCAL_GAMMA = 2.0
DIOU_EPS = 1e-8


# ---- points ----

def make_points(padded_len, buffer_len, scale_factor, ranges):
    """Per level a [T_L, 4] float32 table: t, range min, range max, stride.
    The official generator builds it once for buffer_len positions and
    slices the first T_L rows for a feature map of length T_L."""
    grid = torch.arange(0, buffer_len, 1.0)
    levels = []
    for level, (lo, hi) in enumerate(ranges):
        stride = scale_factor ** level
        t = grid[::stride][:, None]
        rng = torch.as_tensor([lo, hi], dtype=torch.float)[None].repeat(t.shape[0], 1)
        st = torch.as_tensor(stride, dtype=torch.float)[None].repeat(t.shape[0], 1)
        table = torch.cat((t, rng, st), dim=1)
        levels.append(table[:padded_len // stride])
    return levels


def level_masks(lengths, padded_len, n_levels, scale_factor):
    """[B, T_L] bool per level: the backbone's nearest-neighbour downsampled
    input masks, i.e. position i is valid when i * stride < length."""
    base = torch.arange(padded_len)[None, :] < torch.as_tensor(lengths)[:, None]
    masks = []
    for level in range(n_levels):
        stride = scale_factor ** level
        masks.append(base[:, ::stride].clone())
    return masks


# ---- label assignment ----

def assign_video(points, segments, labels, num_classes, center_sample, radius):
    """points [FT, 4], segments [N, 2], labels [N] -> cls [FT, K], offsets [FT, 2]."""
    n_pts, n_gt = points.shape[0], segments.shape[0]
    if n_gt == 0:
        return segments.new_full((n_pts, num_classes), 0), segments.new_zeros((n_pts, 2))

    t = points[:, 0, None]
    stride = points[:, 3, None]
    starts = segments[None, :, 0].expand(n_pts, n_gt)
    ends = segments[None, :, 1].expand(n_pts, n_gt)
    length = (segments[:, 1] - segments[:, 0])[None, :].repeat(n_pts, 1)
    dist = torch.stack((t - starts, ends - t), dim=-1)           # [FT, N, 2]

    if center_sample == "radius":
        middle = 0.5 * (starts + ends)
        low = middle - stride * radius
        high = middle + stride * radius
        to_low = t - torch.maximum(low, starts)
        to_high = torch.minimum(high, ends) - t
        inside = torch.stack((to_low, to_high), -1).min(-1)[0] > 0
    else:
        inside = dist.min(-1)[0] > 0

    reach = dist.max(-1)[0]
    in_range = torch.logical_and(reach >= points[:, 1, None], reach <= points[:, 2, None])

    length.masked_fill_(inside == 0, float("inf"))
    length.masked_fill_(in_range == 0, float("inf"))
    shortest, shortest_idx = length.min(dim=1)
    ties = torch.logical_and(length <= (shortest[:, None] + 1e-3),
                             length < float("inf")).to(dist.dtype)
    one_hot = F.one_hot(labels, num_classes).to(dist.dtype)
    cls = (ties @ one_hot).clamp_(min=0.0, max=1.0)
    offsets = dist[range(n_pts), shortest_idx]
    offsets /= stride
    return cls, offsets


# ---- losses ----

def focal_loss_sum(logits, targets):
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** FOCAL_GAMMA)
    alpha_t = FOCAL_ALPHA * targets + (1 - FOCAL_ALPHA) * (1 - targets)
    return (alpha_t * loss).sum()


def diou_loss_sum(pred, target):
    lp, rp = pred[:, 0], pred[:, 1]
    lg, rg = target[:, 0], target[:, 1]
    inter = torch.min(lp, lg) + torch.min(rp, rg)
    union = (lp + rp) + (lg + rg) - inter
    iou = inter / union.clamp(min=DIOU_EPS)
    enclose = torch.max(lp, lg) + torch.max(rp, rg)
    rho = 0.5 * (rp - lp - rg + lg)
    return (1.0 - iou + torch.square(rho / enclose.clamp(min=DIOU_EPS))).sum()


class Losses:
    """The official losses(), with the normaliser kept between calls."""

    def __init__(self, cfg):
        self.num_classes = cfg["num_classes"]
        self.label_smoothing = cfg["label_smoothing"]
        self.loss_weight = cfg["loss_weight"]
        self.normalizer = cfg["init_loss_norm"]

    def __call__(self, masks, cls_logits, reg_offsets, gt_cls, gt_offsets):
        """masks [B, T_L] bool, cls_logits [B, K, T_L], reg_offsets [B, 2, T_L]
        per level; gt_cls [B, FT, K], gt_offsets [B, FT, 2]."""
        valid = torch.cat(masks, dim=1)
        logits = torch.cat([x.permute(0, 2, 1) for x in cls_logits], dim=1)
        offsets = torch.cat([x.permute(0, 2, 1) for x in reg_offsets], dim=1)
        positive = torch.logical_and(gt_cls.sum(-1) > 0, valid)
        pred = offsets[positive]
        target_offsets = gt_offsets[positive]

        num_pos = positive.sum().item()
        self.normalizer = NORMALIZER_MOMENTUM * self.normalizer + (
            1 - NORMALIZER_MOMENTUM) * max(num_pos, 1)

        target = gt_cls[valid]
        target *= 1 - self.label_smoothing
        target += self.label_smoothing / (self.num_classes + 1)
        cls_loss = focal_loss_sum(logits[valid], target)
        cls_loss /= self.normalizer

        if num_pos == 0:
            reg_loss = 0 * pred.sum()
        else:
            reg_loss = diou_loss_sum(pred, target_offsets)
            reg_loss /= self.normalizer

        if self.loss_weight > 0:
            weight = self.loss_weight
        else:
            weight = cls_loss.detach() / max(reg_loss.item(), 0.01)
        final_loss = cls_loss + reg_loss * weight
        return {"num_pos": num_pos, "loss_normalizer": self.normalizer, "cls_loss": cls_loss,
                "reg_loss": reg_loss, "final_loss": final_loss}


def label_batch(points, segments, labels, cfg):
    cat = torch.cat(points, dim=0)
    cls, off = [], []
    for seg, lab in zip(segments, labels):
        c, o = assign_video(cat, seg, lab, cfg["num_classes"], cfg["center_sample"],
                            cfg["center_sample_radius"])
        cls.append(c)
        off.append(o)
    return torch.stack(cls), torch.stack(off)


# ---- check against the official tensors ----

def report(what, ok, detail=""):
    print(f"  {what}: {'OK' if ok else 'MISMATCH'} {detail}")
    return ok


def relative(a, b):
    return abs(float(a) - float(b)) / max(abs(float(b)), 1e-30)


def check_golden(golden):
    folder = os.path.join(golden, "actionformer")
    train_path = os.path.join(folder, "af3_train.safetensors")
    if not os.path.exists(train_path):
        print(f"{train_path} absent: golden check skipped")
        return True
    af3, _ = tsl_safetensors.read(train_path)
    af3b, _ = tsl_safetensors.read(os.path.join(folder, "af3b_extra.safetensors"))
    with open(os.path.join(folder, "af1_config.json")) as f:
        config = json.load(f)["config"]
    model, train = config["model"], config["train_cfg"]
    n_levels = len(model["regression_range"])
    padded = config["dataset"]["max_seq_len"]
    cfg = {"num_classes": config["dataset"]["num_classes"],
           "center_sample": train["center_sample"],
           "center_sample_radius": train["center_sample_radius"],
           "loss_weight": train["loss_weight"], "init_loss_norm": train["init_loss_norm"],
           "label_smoothing": train["label_smoothing"]}

    points = make_points(padded, int(padded * model["max_buffer_len_factor"]),
                         model["scale_factor"], model["regression_range"])
    print("golden AF3:")
    ok = report("points", np.array_equal(torch.cat(points).numpy(), af3["points"]))
    segments = [torch.from_numpy(af3[f"gt_segments.{b}"].copy()) for b in range(2)]
    labels = [torch.from_numpy(af3[f"gt_labels.{b}"].copy()) for b in range(2)]
    gt_cls, gt_off = label_batch(points, segments, labels, cfg)
    ok &= report("gt_cls", np.array_equal(gt_cls.numpy(), af3["gt_cls"]))
    ok &= report("gt_offsets", np.array_equal(gt_off.numpy(), af3["gt_offsets"]))

    def run(data, lengths, case_cfg, prefix, ref):
        levels = range(n_levels)
        masks = level_masks(lengths, padded, n_levels, model["scale_factor"])
        good = report(prefix + "valid_mask", np.array_equal(
            torch.cat(masks, dim=1).numpy(), data["valid_mask"]))
        losses = Losses(case_cfg)
        out = losses(masks, [torch.from_numpy(data[f"cls_logits.{L}"].copy()) for L in levels],
                     [torch.from_numpy(data[f"reg_offsets.{L}"].copy()) for L in levels],
                     torch.from_numpy(data["gt_cls"].copy()),
                     torch.from_numpy(data["gt_offsets"].copy()))
        good &= report(prefix + "num_pos", out["num_pos"] == int(ref["num_pos"]))
        good &= report(prefix + "loss_normalizer",
                       out["loss_normalizer"] == float(ref[prefix + "loss_normalizer"]))
        for name in ("cls_loss", "reg_loss", "final_loss"):
            err = relative(out[name], ref[prefix + name])
            good &= report(prefix + name, err <= 1e-6, f"(relative {err:.2g})")
        return good

    ok &= run(af3, [256, 256], cfg, "", af3)
    print("golden AF3b (lengths [256, 200]):")
    ok &= report("gt_cls", np.array_equal(gt_cls.numpy(), af3b["gt_cls"]))
    ok &= run(af3b, [256, 200], cfg, "", af3b)
    print("golden AF3 with label smoothing 0.1:")
    ok &= run(af3, [256, 256], dict(cfg, label_smoothing=0.1), "ls0.1.",
              dict(af3b, num_pos=af3["num_pos"]))
    return ok


# ---- the fixture ----

PADDED_LEN = 64
SCALE_FACTOR = 2
RANGES = [[0, 4], [4, 8], [8, 16], [16, 10000]]
NUM_CLASSES = 3


def random_segments(rng, n, limit):
    segs = []
    for _ in range(n):
        length = float(rng.uniform(1.0, 30.0))
        start = float(rng.uniform(-2.0, limit - length))
        segs.append([start, start + length])
    return segs


def make_case(rng, points, cfg, lengths, videos):
    """videos: per video a list of ([start, end], label). Returns tensors."""
    n_levels = len(points)
    segments = [torch.tensor([s for s, _ in v], dtype=torch.float32).reshape(-1, 2)
                for v in videos]
    labels = [torch.tensor([lab for _, lab in v], dtype=torch.int64) for v in videos]
    gt_cls, gt_off = label_batch(points, segments, labels, cfg)
    masks = level_masks(lengths, PADDED_LEN, n_levels, SCALE_FACTOR)

    B = len(videos)
    cls_logits, reg_offsets = [], []
    for level in range(n_levels):
        T = PADDED_LEN // SCALE_FACTOR ** level
        x = torch.from_numpy(rng.normal(-1.0, 2.0, (B, NUM_CLASSES, T)).astype(np.float32))
        o = torch.from_numpy(rng.uniform(0.05, 4.0, (B, 2, T)).astype(np.float32))
        cls_logits.append(x.requires_grad_())
        reg_offsets.append(o.requires_grad_())

    losses = Losses(cfg)
    out = losses(masks, cls_logits, reg_offsets, gt_cls, gt_off)
    out["final_loss"].backward()
    step2 = losses(masks, cls_logits, reg_offsets, gt_cls, gt_off)

    t = [("cfg.center_sample", np.array(1.0 if cfg["center_sample"] == "radius" else 0.0)),
         ("cfg.center_sample_radius", np.array(cfg["center_sample_radius"], dtype=np.float64)),
         ("cfg.loss_weight", np.array(cfg["loss_weight"], dtype=np.float64)),
         ("cfg.init_loss_norm", np.array(cfg["init_loss_norm"], dtype=np.float64)),
         ("cfg.label_smoothing", np.array(cfg["label_smoothing"], dtype=np.float64)),
         ("lengths", np.array(lengths, dtype=np.int64))]
    for b in range(B):
        t.append((f"gt_segments.{b}", segments[b].numpy()))
        t.append((f"gt_labels.{b}", labels[b].numpy()))
    t += [("valid_mask", torch.cat(masks, dim=1).numpy().astype(np.int64)),
          ("gt_cls", gt_cls.numpy()), ("gt_offsets", gt_off.numpy())]
    for level in range(n_levels):
        t.append((f"cls_logits.{level}", cls_logits[level].detach().numpy()))
        t.append((f"reg_offsets.{level}", reg_offsets[level].detach().numpy()))
        t.append((f"grad.cls_logits.{level}", cls_logits[level].grad.numpy()))
        t.append((f"grad.reg_offsets.{level}", reg_offsets[level].grad.numpy()))
    for prefix, res in (("", out), ("step2.", step2)):
        t += [(prefix + "num_pos", np.array(res["num_pos"], dtype=np.int64)),
              (prefix + "loss_normalizer", np.array(res["loss_normalizer"], dtype=np.float64))]
        for name in ("cls_loss", "reg_loss", "final_loss"):
            t.append((prefix + name, res[name].detach().numpy().astype(np.float32)))
    print(f"  num_pos {out['num_pos']}, losses {float(out['cls_loss']):.6g} "
          f"{float(out['reg_loss']):.6g} {float(out['final_loss']):.6g}")
    return t


def write_fixture(path):
    rng = np.random.RandomState(2025)
    points = make_points(PADDED_LEN, int(PADDED_LEN * 6.0), SCALE_FACTOR, RANGES)

    # hand-placed segments: [2, 10] puts 4 = range bound on points 6 (level 0)
    # and 4 (level 1); [20, 28] / [22, 30] tie in length (multi-label);
    # [40.5, 47.25] twice with one label (clamped to 1); [30, 37] has level-0
    # points exactly on its centre-sampling bounds 32 and 35; [-1.5, 2.25]
    # starts before the video; [44, 58] runs past the valid length 50.
    video0 = [([2.0, 10.0], 0), ([20.0, 28.0], 1), ([22.0, 30.0], 2), ([40.5, 47.25], 1),
              ([40.5, 47.25], 1), ([5.3, 60.7], 2), ([30.0, 37.0], 0)]
    video1 = [([-1.5, 2.25], 0), ([44.0, 58.0], 2)]
    video1 += [(s, int(rng.randint(NUM_CLASSES))) for s in random_segments(rng, 4, 50.0)]
    cfg_a = {"num_classes": NUM_CLASSES, "center_sample": "radius", "center_sample_radius": 1.5,
             "loss_weight": 1.0, "init_loss_norm": 20.0, "label_smoothing": 0.0}
    print("case a:")
    tensors = [("points", torch.cat(points).numpy())]
    tensors += [("a." + n, v) for n, v in
                make_case(rng, points, cfg_a, [64, 50], [video0, video1])]

    video0 = [(s, int(rng.randint(NUM_CLASSES))) for s in random_segments(rng, 5, 64.0)]
    video0 += [([8.0, 16.0], 1), ([8.0, 16.0], 2)]
    cfg_b = {"num_classes": NUM_CLASSES, "center_sample": "none", "center_sample_radius": 1.5,
             "loss_weight": -1.0, "init_loss_norm": 30.0, "label_smoothing": 0.1}
    print("case b:")
    tensors += [("b." + n, v) for n, v in
                make_case(rng, points, cfg_b, [64, 37], [video0, []])]

    metadata = {"fixture.version": FIXTURE_VERSION, "fixture.generator": GENERATOR,
                "reference": "happyharrycn/actionformer_release 61ea7eb9: PointGenerator, "
                             "label_points_single_video, losses",
                "regression_range": json.dumps(RANGES), "scale_factor": str(SCALE_FACTOR),
                "padded_len": str(PADDED_LEN), "num_classes": str(NUM_CLASSES)}
    tsl_safetensors.write(path, tensors, metadata)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golden", default=os.path.join(here, "..", "..", "shared", "golden"),
                        help="folder holding actionformer/af3_* (checked when present)")
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "data",
                                                      "train-fixture.safetensors"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    if not check_golden(args.golden):
        print("golden check failed: fixture not written")
        return 1
    write_fixture(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes tests/data/op-fixtures.safetensors: PyTorch results that
tests/unit/cpu/fixtures.c compares the CPU ops with.

Run with Debian's python3 (python3-torch 1.13, numpy):

    /usr/bin/python3 tools/make-op-fixtures.py [OUTPUT]

Contents (tensor names start with the group):
  focal.<i>.*   sigmoid focal loss of ActionFormer (losses.py,
                sigmoid_focal_loss) summed over the valid points, and its
                autograd gradient, in float32 (the official code casts to
                float) and float64 (the same formulas in double)
  diou.<i>.*    ctr_diou_loss_1d of ActionFormer, likewise
  adamw.*       5 steps of torch.optim.AdamW (lr 1e-3, betas (0.9, 0.999),
                eps 1e-8) on one tensor with weight decay 0.05 and one
                without, the gradients of each step and the parameters after
  clip.*        torch.nn.utils.clip_grad_norm_ (max_norm 1) of 3 gradients
  attn.*        the inner attention of ActionFormer's LocalMaskedMHCA
                (blocks.py): banded query-key products computed chunk by
                chunk, -1e4 on padded keys, softmax, padded query rows zeroed,
                probabilities times values; with autograd dq, dk, dv
  conv.*        depthwise conv1d (K 3, stride 2, padding 1) with the output
                mask of ActionFormer's MaskedConv1D, and its gradients
  ln.*          ActionFormer's LayerNorm over channels and its gradients

Reference computations other than AdamW, clipping and the float32 losses run
in float64 on float32 inputs, so the stored float32 outputs carry only their
final rounding. The file is written with struct + json (no safetensors
package); the same seed gives the same bytes. Bump VERSION when the contents
change, together with tests/unit/cpu/fixtures.c.
"""

import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

VERSION = "1"
GENERATOR = "tools/make-op-fixtures.py"
SEED = 20231015

DTYPE_NAMES = {torch.float32: "F32", torch.float64: "F64"}


# ---- safetensors writer ----

def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, tensor) in file order; metadata: str -> str."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, tensor in tensors:
        tensor = tensor.detach().contiguous().cpu()
        array = tensor.numpy()
        data = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": DTYPE_NAMES[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # data section 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)
    os.replace(tmp, path)


# ---- ActionFormer losses (libs/modeling/losses.py), reduction 'sum' ----

def focal_loss_sum(logits, targets, alpha, gamma):
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss.sum()


def diou_loss_sum(pred, target, eps):
    lp, rp = pred[:, 0], pred[:, 1]
    lg, rg = target[:, 0], target[:, 1]
    inter = torch.min(lp, lg) + torch.min(rp, rg)
    union = (lp + rp) + (lg + rg) - inter
    iou = inter / union.clamp(min=eps)
    enclose = torch.max(lp, lg) + torch.max(rp, rg)
    rho = 0.5 * (rp - lp - rg + lg)
    return (1.0 - iou + torch.square(rho / enclose.clamp(min=eps))).sum()


def loss_and_grad(fn, x, keep, *args):
    """fn over the rows of x where keep is true (as ActionFormer selects
    valid points before its loss); returns the loss and d loss / d x."""
    x = x.clone().requires_grad_(True)
    loss = fn(x[keep], *args)
    loss.backward()
    return loss.detach().reshape(1), x.grad


def focal_cases(gen):
    out = []
    # (N, K, alpha, gamma, targets, mask)
    specs = [
        (45, 7, 0.25, 2.0, "hard", True),
        (64, 20, 0.25, 2.0, "smoothed", False),
        (33, 5, -1.0, 0.0, "uniform", True),
    ]
    for i, (n, k, alpha, gamma, kind, masked) in enumerate(specs):
        logits = 2.5 * torch.randn(n, k, generator=gen)
        if kind == "uniform":
            targets = torch.rand(n, k, generator=gen)
        else:
            targets = (torch.rand(n, k, generator=gen) < 0.15).float()
            if kind == "smoothed":
                # ActionFormer's label smoothing with 0.1
                targets = targets * (1 - 0.1) + 0.1 / (k + 1)
        valid = torch.ones(n)
        if masked:
            valid[torch.rand(n, generator=gen) < 0.3] = 0.0
            valid[-3:] = 0.0
        keep = valid > 0
        prefix = "focal.%d." % i
        out += [(prefix + "logits", logits), (prefix + "targets", targets),
                (prefix + "valid", valid),
                (prefix + "alpha", torch.tensor([alpha])),
                (prefix + "gamma", torch.tensor([gamma]))]
        for dtype, suffix in ((torch.float32, "f32"), (torch.float64, "f64")):
            loss, grad = loss_and_grad(focal_loss_sum, logits.to(dtype), keep,
                                       targets.to(dtype)[keep], alpha, gamma)
            out += [(prefix + "loss_" + suffix, loss), (prefix + "dlogits_" + suffix, grad)]
    return out


def diou_cases(gen):
    out = []
    # (N, masked, ties)
    for i, (n, masked, ties) in enumerate(((40, True, True), (25, False, False))):
        pred = 0.1 + 4.0 * torch.rand(n, 2, generator=gen)
        target = 0.1 + 4.0 * torch.rand(n, 2, generator=gen)
        if ties:
            # equal distances: torch.min / torch.max split the gradient
            pred[0::4, 0] = target[0::4, 0]
            pred[1::5, 1] = target[1::5, 1]
            pred[2] = target[2]
        weight = torch.ones(n)
        if masked:
            weight[torch.rand(n, generator=gen) < 0.3] = 0.0
            weight[:5] = 1.0  # the ties above count
        keep = weight > 0
        eps = 1e-8
        prefix = "diou.%d." % i
        out += [(prefix + "pred", pred), (prefix + "target", target),
                (prefix + "weight", weight), (prefix + "eps", torch.tensor([eps]))]
        for dtype, suffix in ((torch.float32, "f32"), (torch.float64, "f64")):
            loss, grad = loss_and_grad(diou_loss_sum, pred.to(dtype), keep,
                                       target.to(dtype)[keep], eps)
            out += [(prefix + "loss_" + suffix, loss), (prefix + "dpred_" + suffix, grad)]
    return out


# ---- optimiser ----

def adamw_case(gen):
    steps = 5
    decayed = torch.randn(19, 13, generator=gen).requires_grad_(True)
    plain = torch.randn(31, generator=gen).requires_grad_(True)
    out = [("adamw.decay.init", decayed.detach().clone()),
           ("adamw.plain.init", plain.detach().clone())]
    opt = torch.optim.AdamW([{"params": [decayed], "weight_decay": 0.05},
                             {"params": [plain], "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    for step in range(1, steps + 1):
        for name, p in (("decay", decayed), ("plain", plain)):
            p.grad = 0.1 * step * torch.randn(p.shape, generator=gen)
            if step == 2:
                p.grad.view(-1)[0] = 0.0
            out.append(("adamw.%s.grad%d" % (name, step), p.grad.clone()))
        opt.step()
        for name, p in (("decay", decayed), ("plain", plain)):
            out.append(("adamw.%s.param%d" % (name, step), p.detach().clone()))
    for name, p in (("decay", decayed), ("plain", plain)):
        state = opt.state[p]
        out += [("adamw.%s.exp_avg" % name, state["exp_avg"].clone()),
                ("adamw.%s.exp_avg_sq" % name, state["exp_avg_sq"].clone())]
    out.append(("adamw.hparams", torch.tensor([1e-3, 0.9, 0.999, 1e-8, 0.05])))
    return out


def clip_case(gen):
    params = [torch.zeros(17, 5, requires_grad=True), torch.zeros(33, requires_grad=True),
              torch.zeros(4, 3, 7, requires_grad=True)]
    out = []
    for i, p in enumerate(params):
        p.grad = (0.05 + 0.1 * i) * torch.randn(p.shape, generator=gen)
        out.append(("clip.grad%d" % i, p.grad.clone()))
    total = torch.nn.utils.clip_grad_norm_(params, max_norm=1.0)
    out.append(("clip.total_norm", total.reshape(1)))
    for i, p in enumerate(params):
        out.append(("clip.clipped%d" % i, p.grad.clone()))
    return out


# ---- LocalMaskedMHCA inner attention (libs/modeling/blocks.py) ----

def overlapping_chunks(x, w):
    """[BH, T, D] -> [BH, T / w - 1, 2w, D]: chunks of 2w rows every w rows."""
    bh, t, d = x.shape
    s = x.stride()
    return x.as_strided((bh, t // w - 1, 2 * w, d), (s[0], w * s[1], s[1], s[2]))


def banded_scores(query, key, heads, w):
    """query . key for keys within w of each query: [BH, T, D] x 2 ->
    [B, T, heads, 2w + 1], column j = key t - w + j, -inf outside [0, T)."""
    bh, t, _ = query.shape
    n_chunks = t // w - 1
    products = torch.einsum("bcxd,bcyd->bcxy",
                            overlapping_chunks(query, w), overlapping_chunks(key, w))
    # one padding row turns each chunk's diagonals into columns
    diag = F.pad(products, (0, 0, 0, 1)).view(bh, n_chunks, 2 * w, 2 * w + 1)
    band = diag.new_zeros(bh, n_chunks + 1, w, 2 * w + 1)
    band[:, :-1, :, w:] = diag[:, :, :w, :w + 1]
    band[:, -1, :, w:] = diag[:, -1, w:, :w + 1]
    band[:, 1:, :, :w] = diag[:, :, -(w + 1):-1, w + 1:]
    band[:, 0, 1:w, 1:w] = diag[:, 0, :w - 1, 1 - w:]
    band = band.view(bh // heads, heads, t, 2 * w + 1).transpose(2, 1)
    t_idx = torch.arange(t)[:, None]
    key_idx = t_idx - w + torch.arange(2 * w + 1)[None, :]
    outside = ((key_idx < 0) | (key_idx >= t))[None, :, None, :]
    return band.masked_fill(outside, float("-inf"))


def banded_probs_value(probs, value, heads, w):
    """probs [B, T, heads, 2w + 1] times value [BH, T, D] -> [B, heads, T, D]."""
    bh, t, d = value.shape
    n_chunks = t // w - 1
    chunked_probs = probs.transpose(1, 2).reshape(bh, t // w, w, 2 * w + 1)
    padded = F.pad(value, (0, 0, w, w), value=-1)
    s = padded.stride()
    chunked_value = padded.as_strided((bh, n_chunks + 1, 3 * w, d),
                                      (s[0], w * s[1], s[1], s[2]))
    # shift row r of each chunk r places right: [.., w, 2w + 1] -> [.., w, 3w]
    shifted = F.pad(chunked_probs, (0, w + 1)).view(bh, t // w, -1)[:, :, :-w]
    shifted = shifted.view(bh, t // w, w, 3 * w + 1)[:, :, :, :-1]
    context = torch.einsum("bcwd,bcdh->bcwh", shifted, chunked_value)
    return context.view(bh // heads, heads, t, d)


def local_attention(q, k, v, mask, heads, window):
    """q, k, v [B, C, T]; mask [B, T] bool. Returns out [B, C, T] and the
    probabilities [B, heads, T, window]."""
    b, c, t = q.shape
    dh = c // heads
    w = window // 2
    scale = 1.0 / math.sqrt(dh)

    def heads_first(x):
        return x.view(b, heads, dh, t).transpose(2, 3).reshape(b * heads, t, dh).contiguous()

    qh, kh, vh = heads_first(q) * scale, heads_first(k), heads_first(v)
    att = banded_scores(qh, kh, heads, w)
    key_pad = torch.logical_not(mask)[:, :, None]
    key_bias = key_pad.to(q.dtype).masked_fill(key_pad, -1e4)
    att = att + banded_scores(torch.ones_like(key_bias), key_bias, 1, w)
    att = F.softmax(att, dim=-1)
    att = att.masked_fill(torch.logical_not(mask)[:, :, None, None], 0.0)
    out = banded_probs_value(att, vh, heads, w)
    return out.transpose(2, 3).reshape(b, c, t), att.permute(0, 2, 1, 3)


def local_attention_plain(q, k, v, mask, heads, window):
    """The same attention written as loops over the band, to check the
    chunked version above."""
    b, c, t = q.shape
    dh = c // heads
    w = window // 2
    out = torch.zeros_like(q)
    for bi in range(b):
        for h in range(heads):
            qs, ks, vs = (x[bi, h * dh:(h + 1) * dh] for x in (q, k, v))
            for ti in range(t):
                if not mask[bi, ti]:
                    continue
                keys = [j for j in range(ti - w, ti + w + 1) if 0 <= j < t]
                scores = torch.stack([(qs[:, ti] * ks[:, j]).sum() / math.sqrt(dh)
                                      + (0.0 if mask[bi, j] else -1e4) for j in keys])
                p = torch.softmax(scores, dim=0)
                out[bi, h * dh:(h + 1) * dh, ti] = (vs[:, keys] * p[None, :]).sum(dim=1)
    return out


def attention_case(gen):
    b, c, t, heads, window = 2, 16, 24, 4, 9
    q, k, v = (torch.randn(b, c, t, generator=gen) for _ in range(3))
    mask = torch.ones(b, t)
    mask[1, 17:] = 0.0
    dout = torch.randn(b, c, t, generator=gen)
    q64, k64, v64 = (x.double().requires_grad_(True) for x in (q, k, v))
    out, att = local_attention(q64, k64, v64, mask > 0, heads, window)
    plain = local_attention_plain(q64.detach(), k64.detach(), v64.detach(), mask > 0,
                                  heads, window)
    assert torch.allclose(out, plain, atol=1e-12), "chunked attention disagrees with the band"
    (out * dout.double()).sum().backward()
    return [("attn.q", q), ("attn.k", k), ("attn.v", v), ("attn.mask", mask),
            ("attn.scale", torch.tensor([1.0 / math.sqrt(c // heads)])),
            ("attn.out", out.float()), ("attn.att", att.float()), ("attn.dout", dout),
            ("attn.dq", q64.grad.float()), ("attn.dk", k64.grad.float()),
            ("attn.dv", v64.grad.float())]


# ---- depthwise conv1d and LayerNorm (blocks.py MaskedConv1D, LayerNorm) ----

def conv_case(gen):
    b, c, t, kernel, stride = 2, 8, 18, 3, 2
    x = torch.randn(b, c, t, generator=gen)
    w = 0.5 * torch.randn(c, 1, kernel, generator=gen)
    bias = 0.1 * torch.randn(c, generator=gen)
    mask = torch.ones(b, t)
    mask[1, 11:] = 0.0
    # MaskedConv1D: nearest down-sampling of the mask, output times mask
    mask_out = F.interpolate(mask[:, None, :], size=t // stride, mode="nearest")[:, 0]
    x64, w64, b64 = (p.double().requires_grad_(True) for p in (x, w, bias))
    out = F.conv1d(x64, w64, b64, stride=stride, padding=kernel // 2, groups=c)
    out = out * mask_out.double()[:, None, :]
    dout = torch.randn(out.shape, generator=gen)
    (out * dout.double()).sum().backward()
    return [("conv.x", x), ("conv.w", w), ("conv.bias", bias), ("conv.mask_out", mask_out),
            ("conv.out", out.detach().float()), ("conv.dout", dout),
            ("conv.dx", x64.grad.float()), ("conv.dw", w64.grad.float()),
            ("conv.dbias", b64.grad.float())]


def layernorm_case(gen):
    b, c, t, eps = 2, 16, 13, 1e-5
    x = 1.5 * torch.randn(b, c, t, generator=gen) + 0.3
    gamma = 1.0 + 0.2 * torch.randn(c, generator=gen)
    beta = 0.2 * torch.randn(c, generator=gen)
    x64, g64, b64 = (p.double().requires_grad_(True) for p in (x, gamma, beta))
    mu = torch.mean(x64, dim=1, keepdim=True)
    res = x64 - mu
    sigma = torch.mean(res ** 2, dim=1, keepdim=True)
    out = res / torch.sqrt(sigma + eps) * g64[None, :, None] + b64[None, :, None]
    dout = torch.randn(out.shape, generator=gen)
    (out * dout.double()).sum().backward()
    return [("ln.x", x), ("ln.gamma", gamma), ("ln.beta", beta),
            ("ln.eps", torch.tensor([eps])), ("ln.out", out.detach().float()),
            ("ln.mean", mu[:, 0].detach().float()),
            ("ln.rstd", (1.0 / torch.sqrt(sigma + eps))[:, 0].detach().float()),
            ("ln.dout", dout), ("ln.dx", x64.grad.float()),
            ("ln.dgamma", g64.grad.float()), ("ln.dbeta", b64.grad.float())]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        root, "tests", "data", "op-fixtures.safetensors")
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    tensors = []
    for make in (focal_cases, diou_cases, adamw_case, clip_case, attention_case, conv_case,
                 layernorm_case):
        tensors += make(gen)
    names = [name for name, _ in tensors]
    assert len(names) == len(set(names))
    write_safetensors(path, tensors, {"generator": GENERATOR, "version": VERSION})
    print("%s: %d tensors, %d bytes" % (path, len(tensors), os.path.getsize(path)))


if __name__ == "__main__":
    main()

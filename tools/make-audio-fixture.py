#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make-audio-fixture.py: the audio-model parity fixture of tests/parity/audio.c.

Builds a tiny MMV audio encoder with random weights under gst-tsl's tensor
names (docs/audio-model.md), runs the front end and the network, both
re-implemented below in plain PyTorch from the behaviour of the official
code, and writes tests/data/audio-fixture.safetensors holding

  * the parameters (float32, PyTorch layouts: conv [out, in, kh, kw],
    linear [out, in], batch norms scale/offset/mean/var [C]),
  * __waveform [B, N], __logmel [B, F, mel], __stem [B, width, H, W],
    __stage<g> [B, C_g, H_g, W_g], __pooled [B, C3], __va [B, va_dim] and
    __vat [B, vat_dim],
  * __metadata__: tsl.model = "audio-resnet", tsl.config (every key of
    docs/audio-model.md), fixture.version, fixture.generator.

What is reproduced:
  front end: google-deepmind/dmvr processors.compute_audio_spectrogram
    ('logmf'): tf.signal.stft(frame_length, frame_step, fft_length,
    periodic Hann, pad_end=True), |X| (or |X|^2), the HTK mel matrix of
    tf.signal.linear_to_mel_weight_matrix, log(mel + log_offset);
  network: google-deepmind/deepmind-research mmv/models/resnet.py ResNetV2
    (pre-activation bottlenecks, 'SAME' padding, max pool 3x3/2 'SAME',
    final BN-ReLU, mean over time and frequency) and the heads of
    mm_embeddings.py (audio_embd Linear; fac_relu: ReLU then vis_embd
    Linear + BN), batch norms in inference form.

The tiny configuration: 8 kHz, frames of 200 samples every 80 with a
256-point FFT (the window is shorter than the FFT, as the zero padding
must be checked), 16 mel bins, width 4, blocks [1, 2, 1, 1], two windows
of 3000 samples (37.5 hops: the last frame runs past the end). The
script also checks its torch log-mel against an independent numpy float64
computation (explicit DFT sums).

Usage: tools/make-audio-fixture.py [--output PATH]
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
SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

CONFIG = {
    "sample_rate": 8000, "window_samples": 3000,
    "frame_length": 200, "frame_step": 80, "fft_length": 256, "pad_end": True,
    "num_mel_bins": 16, "lower_edge_hertz": 60.0, "upper_edge_hertz": 3800.0,
    "spectrogram": "magnitude", "log_offset": 1e-6,
    "width": 4, "blocks": [1, 2, 1, 1], "bn_eps": 1e-5,
    "va_dim": 24, "vat_dim": 12, "head": "vat",
}
BATCH = 2


# ---- front end ----

def hertz_to_mel(f):
    return 1127.0 * np.log(1.0 + f / 700.0)


def mel_weights(cfg):
    """tf.signal.linear_to_mel_weight_matrix in float64, [bins, mel]."""
    n_bins = cfg["fft_length"] // 2 + 1
    n_mel = cfg["num_mel_bins"]
    freqs = np.linspace(0.0, cfg["sample_rate"] / 2.0, n_bins)
    mel = hertz_to_mel(freqs)[:, None]
    edges = np.linspace(hertz_to_mel(cfg["lower_edge_hertz"]),
                        hertz_to_mel(cfg["upper_edge_hertz"]), n_mel + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (mel - lower) / (center - lower)
    falling = (upper - mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0  # the DC bin
    return weights


def n_frames(cfg, n):
    if cfg["pad_end"]:
        return -(-n // cfg["frame_step"])
    return 0 if n < cfg["frame_length"] else 1 + (n - cfg["frame_length"]) // cfg["frame_step"]


def logmel_torch(cfg, waves):
    """waves [B, N] float32 -> [B, F, mel] float32, all in torch float32."""
    length, step = cfg["frame_length"], cfg["frame_step"]
    frames = n_frames(cfg, waves.shape[1])
    padded = F.pad(waves, (0, max(0, (frames - 1) * step + length - waves.shape[1])))
    framed = padded.unfold(1, length, step)[:, :frames]             # [B, F, length]
    window = torch.hann_window(length, periodic=True, dtype=torch.float32)
    spectrum = torch.fft.rfft(framed * window, n=cfg["fft_length"])  # zero-pads the end
    spec = spectrum.abs()
    if cfg["spectrogram"] == "power":
        spec = spec * spec
    weights = torch.from_numpy(mel_weights(cfg).astype(np.float32))
    return torch.log(spec @ weights + cfg["log_offset"])


def logmel_numpy64(cfg, waves):
    """The same in float64 with explicit loops and DFT sums."""
    length, step, n_fft = cfg["frame_length"], cfg["frame_step"], cfg["fft_length"]
    n_bins = n_fft // 2 + 1
    t = np.arange(length)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * t / length)
    k = np.arange(n_bins)[:, None]
    basis = np.exp(-2j * np.pi * k * t[None, :] / n_fft)  # samples >= length are zeros
    weights = mel_weights(cfg)
    frames = n_frames(cfg, waves.shape[1])
    out = np.zeros((waves.shape[0], frames, cfg["num_mel_bins"]))
    for b in range(waves.shape[0]):
        x = waves[b].astype(np.float64)
        for f in range(frames):
            seg = np.zeros(length)
            chunk = x[f * step:f * step + length]
            seg[:len(chunk)] = chunk
            spec = np.abs(basis @ (seg * window))
            if cfg["spectrogram"] == "power":
                spec = spec ** 2
            out[b, f] = np.log(spec @ weights + cfg["log_offset"])
    return out


# ---- network ----

def same_pad(size, k, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def conv_same(x, w, stride):
    k = w.shape[-1]
    top, bottom = same_pad(x.shape[2], k, stride)
    left, right = same_pad(x.shape[3], k, stride)
    return F.conv2d(F.pad(x, (left, right, top, bottom)), w, stride=stride)


def maxpool_same(x, k, stride):
    top, bottom = same_pad(x.shape[2], k, stride)
    left, right = same_pad(x.shape[3], k, stride)
    x = F.pad(x, (left, right, top, bottom), value=-math.inf)
    return F.max_pool2d(x, k, stride)


def batch_norm(x, p, prefix, eps):
    return F.batch_norm(x, p[prefix + ".mean"], p[prefix + ".var"], p[prefix + ".scale"],
                        p[prefix + ".offset"], training=False, eps=eps)


def stage_channels(cfg, g):
    return 4 * cfg["width"] << g


def network(cfg, p, logmel):
    """logmel [B, F, mel] -> dict of the recorded tensors."""
    eps = cfg["bn_eps"]
    rec = {}
    x = conv_same(logmel[:, None], p["resnet.initial_conv.w"], 2)
    x = maxpool_same(x, 3, 2)
    rec["stem"] = x
    c_in = cfg["width"]
    for g in range(4):
        c_out = stage_channels(cfg, g)
        for b in range(cfg["blocks"][g]):
            pre = f"resnet.block_group_{g}.block_{b}"
            stride = 2 if (b == 0 and g > 0) else 1
            net = F.relu(batch_norm(x, p, pre + ".batch_norm_0", eps))
            shortcut = x
            if b == 0 and c_in != c_out:
                shortcut = conv_same(net, p[pre + ".shortcut_conv.w"], stride)
            net = conv_same(net, p[pre + ".conv_0.w"], 1)
            net = F.relu(batch_norm(net, p, pre + ".batch_norm_1", eps))
            net = conv_same(net, p[pre + ".conv_1.w"], stride)
            net = F.relu(batch_norm(net, p, pre + ".batch_norm_2", eps))
            net = conv_same(net, p[pre + ".conv_2.w"], 1)
            x = net + shortcut
            c_in = c_out
        rec[f"stage{g}"] = x
    x = F.relu(batch_norm(x, p, "resnet.batch_norm", eps))
    pooled = x.mean(dim=(2, 3))
    rec["pooled"] = pooled
    va = F.linear(pooled, p["audio_embd.final_projection.w"], p["audio_embd.final_projection.b"])
    rec["va"] = va
    vat = F.linear(F.relu(va), p["vis_embd.final_projection.w"], p["vis_embd.final_projection.b"])
    rec["vat"] = F.batch_norm(vat, p["vis_embd.batch_norm.mean"], p["vis_embd.batch_norm.var"],
                              p["vis_embd.batch_norm.scale"], p["vis_embd.batch_norm.offset"],
                              training=False, eps=eps)
    return rec


def random_params(cfg, gen):
    """Parameters in model.h's order; batch norms with non-trivial statistics."""
    params = []

    def conv(name, c_out, c_in, k):
        std = math.sqrt(2.0 / (c_in * k * k))
        params.append((name, torch.randn(c_out, c_in, k, k, generator=gen) * std))

    def bn(prefix, c):
        params.append((prefix + ".scale", 0.5 + torch.rand(c, generator=gen)))
        params.append((prefix + ".offset", 0.2 * torch.randn(c, generator=gen)))
        params.append((prefix + ".mean", 0.3 * torch.randn(c, generator=gen)))
        params.append((prefix + ".var", 0.5 + 1.5 * torch.rand(c, generator=gen)))

    def linear(prefix, d_out, d_in):
        params.append((prefix + ".w", torch.randn(d_out, d_in, generator=gen) / math.sqrt(d_in)))
        params.append((prefix + ".b", 0.1 * torch.randn(d_out, generator=gen)))

    conv("resnet.initial_conv.w", cfg["width"], 1, 7)
    c_in = cfg["width"]
    for g in range(4):
        c_out = stage_channels(cfg, g)
        c_mid = c_out // 4
        for b in range(cfg["blocks"][g]):
            pre = f"resnet.block_group_{g}.block_{b}"
            cin_b = c_in if b == 0 else c_out
            bn(pre + ".batch_norm_0", cin_b)
            conv(pre + ".conv_0.w", c_mid, cin_b, 1)
            bn(pre + ".batch_norm_1", c_mid)
            conv(pre + ".conv_1.w", c_mid, c_mid, 3)
            bn(pre + ".batch_norm_2", c_mid)
            conv(pre + ".conv_2.w", c_out, c_mid, 1)
            if b == 0 and c_in != c_out:
                conv(pre + ".shortcut_conv.w", c_out, cin_b, 1)
        c_in = c_out
    bn("resnet.batch_norm", c_in)
    linear("audio_embd.final_projection", cfg["va_dim"], c_in)
    linear("vis_embd.final_projection", cfg["vat_dim"], cfg["va_dim"])
    bn("vis_embd.batch_norm", cfg["vat_dim"])
    return params


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=os.path.join(SOURCE_ROOT, "tests", "data",
                                                         "audio-fixture.safetensors"))
    args = parser.parse_args()
    cfg = CONFIG
    gen = torch.Generator().manual_seed(20231)
    torch.manual_seed(20231)

    n = cfg["window_samples"]
    t = torch.arange(n, dtype=torch.float64) / cfg["sample_rate"]
    tone = torch.stack([0.5 * torch.sin(2 * math.pi * 440.0 * t),
                        0.3 * torch.sin(2 * math.pi * 1250.0 * t + 0.3)])
    waves = (tone + 0.2 * torch.randn(BATCH, n, generator=gen, dtype=torch.float64)).float()

    logmel = logmel_torch(cfg, waves)
    check = logmel_numpy64(cfg, waves.numpy())
    diff = np.abs(logmel.numpy() - check).max()
    print(f"log-mel torch float32 vs numpy float64: max abs diff {diff:.3g}")
    if diff > 1e-4:
        sys.exit(f"log-mel mismatch {diff}")

    params = random_params(cfg, gen)
    with torch.no_grad():
        rec = network(cfg, dict(params), logmel)
    for name, value in rec.items():
        print(f"{name:8s} {list(value.shape)} std {value.std().item():.3g}")

    tensors = [(name, value.numpy().astype(np.float32)) for name, value in params]
    tensors.append(("__waveform", waves.numpy()))
    tensors.append(("__logmel", logmel.numpy()))
    for name, value in rec.items():
        tensors.append(("__" + name, value.numpy().astype(np.float32)))
    metadata = {
        "tsl.model": "audio-resnet",
        "tsl.config": json.dumps(cfg),
        "fixture.version": FIXTURE_VERSION,
        "fixture.generator": "tools/make-audio-fixture.py",
    }
    tsl_safetensors.write(args.output, tensors, metadata)
    print(f"wrote {args.output} ({os.path.getsize(args.output)} bytes)")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make-random-audio-model.py: a randomly initialised audio model file.

Writes a gst-tsl audio model (docs/audio-model.md) with random weights:
He-normal convolutions, Linear weights N(0, 1/fan_in), and batch norms
whose scale, offset and moving statistics are drawn around (1, 0, 0, 1),
for running pipelines and benchmarks without the released checkpoint.
Defaults give the full-size network (ResNet-50, width 64, 'vat' head,
DMVR front end); numpy only.

Usage: tools/make-random-audio-model.py --output MODEL.safetensors
           [--head vat|va|backbone] [--seed N] [--width 64] [--blocks 3,4,6,3]
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tsl_safetensors  # noqa: E402

DEFAULT_CONFIG = {
    "sample_rate": 48000, "window_samples": 153600,
    "frame_length": 2048, "frame_step": 1024, "fft_length": 2048, "pad_end": True,
    "num_mel_bins": 80, "lower_edge_hertz": 80.0, "upper_edge_hertz": 7600.0,
    "spectrogram": "magnitude", "log_offset": 1e-6,
    "width": 64, "blocks": [3, 4, 6, 3], "bn_eps": 1e-5,
    "va_dim": 512, "vat_dim": 256, "head": "vat",
}


def random_model(config, rng):
    tensors = []

    def conv(name, c_out, c_in, k):
        std = np.sqrt(2.0 / (c_in * k * k))
        tensors.append((name, (rng.standard_normal((c_out, c_in, k, k)) * std)))

    def bn(prefix, c):
        tensors.append((prefix + ".scale", 1.0 + 0.1 * rng.standard_normal(c)))
        tensors.append((prefix + ".offset", 0.1 * rng.standard_normal(c)))
        tensors.append((prefix + ".mean", 0.1 * rng.standard_normal(c)))
        tensors.append((prefix + ".var", 1.0 + 0.2 * rng.random(c)))

    def linear(prefix, d_out, d_in):
        tensors.append((prefix + ".w", rng.standard_normal((d_out, d_in)) / np.sqrt(d_in)))
        tensors.append((prefix + ".b", 0.01 * rng.standard_normal(d_out)))

    width = config["width"]
    conv("resnet.initial_conv.w", width, 1, 7)
    c_in = width
    for g, n in enumerate(config["blocks"]):
        c_out = 4 * width << g
        c_mid = c_out // 4
        for b in range(n):
            pre = f"resnet.block_group_{g}.block_{b}"
            bn(pre + ".batch_norm_0", c_in)
            conv(pre + ".conv_0.w", c_mid, c_in, 1)
            bn(pre + ".batch_norm_1", c_mid)
            conv(pre + ".conv_1.w", c_mid, c_mid, 3)
            bn(pre + ".batch_norm_2", c_mid)
            conv(pre + ".conv_2.w", c_out, c_mid, 1)
            if b == 0 and c_in != c_out:
                conv(pre + ".shortcut_conv.w", c_out, c_in, 1)
            c_in = c_out
    bn("resnet.batch_norm", c_in)
    if config["head"] in ("va", "vat"):
        linear("audio_embd.final_projection", config["va_dim"], c_in)
    if config["head"] == "vat":
        linear("vis_embd.final_projection", config["vat_dim"], config["va_dim"])
        bn("vis_embd.batch_norm", config["vat_dim"])
    return [(name, value.astype(np.float32)) for name, value in tensors]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", required=True)
    parser.add_argument("--head", choices=("vat", "va", "backbone"), default="vat")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--blocks", default="3,4,6,3", help="blocks per stage, 4 integers")
    args = parser.parse_args()
    config = dict(DEFAULT_CONFIG)
    config["head"] = args.head
    config["width"] = args.width
    config["blocks"] = [int(b) for b in args.blocks.split(",")]
    if len(config["blocks"]) != 4 or min(config["blocks"]) < 1:
        sys.exit("--blocks: 4 positive integers")
    tensors = random_model(config, np.random.default_rng(args.seed))
    metadata = {"tsl.model": "audio-resnet", "tsl.config": json.dumps(config),
                "tsl.source": f"random, seed {args.seed}"}
    tsl_safetensors.write(args.output, tensors, metadata)
    count = sum(t.size for _, t in tensors)
    print(f"{args.output}: {len(tensors)} tensors, {count} parameters, head {args.head}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make-videomae-fixture.py: the VideoMAE V2 parity fixtures of tests/parity.

Writes, with random weights and inputs and the PyTorch forward of
tools/tsl_videomae.py:

tests/data/videomae-fixture.safetensors: a small ViT with separate q/v
  biases, no layer scale and the giant variant's mlp_ratio 48/11 (hidden
  size truncated as int() does): parameters under the official names,
  "tsl.config" metadata, and `__input` [B, 3, T, S, S], `__hidden.{i}`
  [B, N, C], `__features` [B, C].
tests/data/videomae-fixture-ls.safetensors: the other code paths: layer
  scale (init_values > 0, gamma_1/gamma_2), no qkv bias, tubelet 1.
tests/data/videomae-preprocess.safetensors: the official frame transform
  (ToFloatTensorInZeroOne + Resize((S, S)) = F.interpolate bilinear,
  align_corners False, on [C, T, H, W]): `down.frames` uint8 [T, H, W, 3]
  -> `down.clip` [3, T, S, S] (a smaller S), and `up.frames` -> `up.clip`
  (a larger S).

When <golden>/videomae/vm1.safetensors exists, the forward is first run on
its parameters and input and compared with its recorded hidden states and
features (exit status 1 above 1e-5), and the transform is compared with
tad_preprocess.safetensors.

Run with Debian's python3-torch: /usr/bin/python3 tools/make-videomae-fixture.py
[--golden DIR] [--out-dir tests/data]
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
import tsl_videomae  # noqa: E402

GENERATOR = "tools/make-videomae-fixture.py"


def transform(frames, size):
    """extract_tad_feature.py's clip transform with target size `size`."""
    clip = torch.from_numpy(frames.copy()).permute(3, 0, 1, 2).float() / 255.0
    return F.interpolate(clip, size=(size, size), mode="bilinear", align_corners=False)


def check_golden(golden):
    vm1 = os.path.join(golden, "videomae", "vm1.safetensors")
    if not os.path.exists(vm1):
        print(f"{vm1}: absent, golden check skipped")
        return True
    tensors, meta = tsl_safetensors.read(vm1)
    full = json.loads(meta["config"])
    config = tsl_videomae.complete_config({k: full[k] for k in tsl_videomae.CONFIG_KEYS})
    params = {k: torch.from_numpy(v.copy()) for k, v in tensors.items()}
    with torch.no_grad():
        features, hidden = tsl_videomae.forward(params, config, params["__input"])
    worst = float((features - params["__features"]).abs().max())
    for i, h in enumerate(hidden):
        worst = max(worst, float((h - params[f"__hidden.{i}"]).abs().max()))
    print(f"golden VM1: max abs difference {worst:.3g}")
    tensors, _ = tsl_safetensors.read(os.path.join(golden, "videomae",
                                                   "tad_preprocess.safetensors"))
    clip = transform(tensors["frames"], tensors["clip"].shape[-1]).numpy()
    pre = float(np.abs(clip - tensors["clip"]).max())
    print(f"golden TAD transform: max abs difference {pre:.3g}")
    return worst <= 1e-5 and pre <= 1e-6


def write_model(path, config, batch, seed):
    rng = np.random.default_rng(seed)
    params = tsl_videomae.random_params(config, rng)
    clips = rng.random((batch, 3, config["all_frames"], config["img_size"],
                        config["img_size"])).astype(np.float32)
    torch_params = {k: torch.from_numpy(v) for k, v in params.items()}
    with torch.no_grad():
        features, hidden = tsl_videomae.forward(torch_params, config, torch.from_numpy(clips))
    tensors = list(params.items()) + [("__input", clips)]
    tensors += [(f"__hidden.{i}", h.numpy()) for i, h in enumerate(hidden)]
    tensors += [("__features", features.numpy())]
    meta = tsl_videomae.metadata(config, GENERATOR)
    meta["fixture.seed"] = str(seed)
    tsl_safetensors.write(path, tensors, meta)
    print(f"{path}: N={tsl_videomae.num_tokens(config)} hidden={tsl_videomae.mlp_hidden(config)}")


def write_preprocess(path, seed):
    rng = np.random.default_rng(seed)
    down = rng.integers(0, 256, (16, 30, 44, 3), dtype=np.uint8)
    down[0, 0, 0] = 0
    down[0, 0, 1] = 255
    up = rng.integers(0, 256, (3, 7, 11, 3), dtype=np.uint8)
    with torch.no_grad():
        tensors = [("down.frames", down), ("down.clip", transform(down, 24).numpy()),
                   ("up.frames", up), ("up.clip", transform(up, 16).numpy())]
    tsl_safetensors.write(path, tensors, {"fixture.generator": GENERATOR,
                                          "fixture.seed": str(seed)})
    print(f"{path}: written")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golden", default=os.path.join(here, "..", "..", "shared", "golden"))
    parser.add_argument("--out-dir", default=os.path.join(here, "..", "tests", "data"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    if not check_golden(args.golden):
        print("the PyTorch forward does not match the golden data", file=sys.stderr)
        return 1
    plain = tsl_videomae.complete_config({
        "patch_size": 8, "tubelet_size": 2, "img_size": 24, "all_frames": 6, "embed_dim": 36,
        "depth": 2, "num_heads": 3, "mlp_ratio": 48 / 11})
    layer_scale = tsl_videomae.complete_config({
        "patch_size": 4, "tubelet_size": 1, "img_size": 8, "all_frames": 3, "embed_dim": 24,
        "depth": 3, "num_heads": 2, "mlp_ratio": 2.0, "qkv_bias": False, "init_values": 0.1,
        "num_classes": 5})
    write_model(os.path.join(args.out_dir, "videomae-fixture.safetensors"), plain, 2, 301)
    write_model(os.path.join(args.out_dir, "videomae-fixture-ls.safetensors"), layer_scale, 3,
                302)
    write_preprocess(os.path.join(args.out_dir, "videomae-preprocess.safetensors"), 303)
    return 0


if __name__ == "__main__":
    sys.exit(main())

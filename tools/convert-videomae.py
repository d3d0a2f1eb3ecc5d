#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Converts an official VideoMAE V2 checkpoint into a gst-tsl model file.

    convert-videomae.py --checkpoint X.pth \
        (--variant vit_giant_patch14_224 | --config-json CONFIG.json) \
        [--img-size 224] [--frames 16] [--tubelet 2] [--keep-head] \
        --output M.safetensors

X.pth is what the official repository (OpenGVLab/VideoMAEv2) releases or
its fine-tuning saves: a state dict, or a dict holding it under `model` or
`module`; keys may carry `module.`, `encoder.` or `backbone.` prefixes,
which are removed. The encoder of a fine-tuned or distilled model is
expected (`fc_norm` present, as forward_features pools by the mean);
decoder, mask-token and head tensors are dropped (the head is kept with
--keep-head). Every tensor the configuration needs must be present with
its official shape, else the converter stops naming it.

CONFIG.json holds VisionTransformer's constructor arguments: patch_size,
tubelet_size, img_size, all_frames, embed_dim, depth, num_heads, mlp_ratio
(plus optional in_chans, qkv_bias, init_values, layernorm_eps). --variant
takes them from the official model definitions at --img-size / --frames.
The result stores them as `tsl.config`, with `tsl.model` = videomae.

Needs PyTorch (Debian: python3-torch) to read .pth files.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tsl_safetensors  # noqa: E402
import tsl_videomae  # noqa: E402

PREFIXES = ("module.", "encoder.", "backbone.")
DROPPED = ("decoder", "mask_token", "encoder_to_decoder", "head.", "pos_embed")


def unwrap(checkpoint):
    for key in ("model", "module", "state_dict"):
        if isinstance(checkpoint, dict) and key in checkpoint and isinstance(checkpoint[key], dict):
            return checkpoint[key]
    return checkpoint


def strip_prefixes(name):
    changed = True
    while changed:
        changed = False
        for prefix in PREFIXES:
            if name.startswith(prefix):
                name, changed = name[len(prefix):], True
    return name


def convert(state, config, keep_head):
    """[(name, float32 array)] in the official order, or SystemExit."""
    arrays = {}
    for key, value in state.items():
        name = strip_prefixes(key)
        if name.startswith(DROPPED) and not (keep_head and name.startswith("head.")):
            continue
        arrays[name] = value.detach().cpu().float().numpy() if hasattr(value, "detach") \
            else np.asarray(value, dtype=np.float32)
    if keep_head and "head.weight" in arrays:
        config["num_classes"] = int(arrays["head.weight"].shape[0])
    out = []
    for name, shape in tsl_videomae.param_shapes(config):
        if name not in arrays:
            hint = " (a pre-training checkpoint? its encoder has no fc_norm)" \
                if name.startswith("fc_norm") else ""
            sys.exit(f"convert-videomae: the checkpoint has no tensor {name}{hint}")
        if tuple(arrays[name].shape) != tuple(shape):
            sys.exit(f"convert-videomae: {name} has shape {list(arrays[name].shape)}, the "
                     f"configuration needs {list(shape)}")
        out.append((name, np.ascontiguousarray(arrays.pop(name), dtype=np.float32)))
    if arrays:
        names = ", ".join(sorted(arrays)[:8])
        print(f"convert-videomae: ignoring {len(arrays)} tensors the encoder does not use: "
              f"{names}{' ...' if len(arrays) > 8 else ''}", file=sys.stderr)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--variant", choices=sorted(tsl_videomae.VARIANTS))
    which.add_argument("--config-json", help="file with the constructor arguments")
    parser.add_argument("--img-size", type=int, default=224)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--tubelet", type=int, default=2)
    parser.add_argument("--keep-head", action="store_true")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    import torch
    if args.variant:
        config = tsl_videomae.config_for_variant(args.variant, args.img_size, args.frames,
                                                 args.tubelet)
    else:
        with open(args.config_json) as f:
            config = tsl_videomae.complete_config(json.load(f))
    config["num_classes"] = 0
    checkpoint = torch.load(args.checkpoint, map_location="cpu")
    state = unwrap(checkpoint)
    tensors = convert(state, config, args.keep_head)
    tsl_safetensors.write(args.output, tensors,
                          tsl_videomae.metadata(config, os.path.basename(args.checkpoint)))
    print(f"{args.output}: {len(tensors)} tensors, embed_dim {config['embed_dim']}, "
          f"depth {config['depth']}, {tsl_videomae.num_tokens(config)} tokens per clip")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a VideoMAE V2 ViT model file with random weights, for tests,
benchmarks and demos (numpy only).

    make-random-videomae.py (--variant vit_small_patch16_224 | --config-json C.json)
        [--img-size 224] [--frames 16] [--tubelet 2] [--seed 0] --output M.safetensors

Weights are 0.05 N(0, 1) (Linear and Conv3d), LayerNorm weights
1 + 0.1 N(0, 1), biases 0.1 N(0, 1). The features of such a model carry
no meaning; its cost is that of the real variant.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tsl_safetensors  # noqa: E402
import tsl_videomae  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--variant", choices=sorted(tsl_videomae.VARIANTS))
    which.add_argument("--config-json", help="file with the constructor arguments")
    parser.add_argument("--img-size", type=int, default=224)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--tubelet", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    if args.variant:
        config = tsl_videomae.config_for_variant(args.variant, args.img_size, args.frames,
                                                 args.tubelet)
    else:
        with open(args.config_json) as f:
            config = tsl_videomae.complete_config(json.load(f))
    params = tsl_videomae.random_params(config, np.random.default_rng(args.seed))
    source = f"random (make-random-videomae.py, seed {args.seed})"
    tsl_safetensors.write(args.output, list(params.items()), tsl_videomae.metadata(config, source))
    print(f"{args.output}: random {args.variant or 'custom'} model, "
          f"{sum(p.size for p in params.values())} parameters")
    return 0


if __name__ == "__main__":
    sys.exit(main())

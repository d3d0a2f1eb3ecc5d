#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""convert-mmv-audio.py: an MMV checkpoint's audio network -> a gst-tsl model file.

Input: a checkpoint as released with google-deepmind/deepmind-research mmv
(mmv_s3d.pkl, mmv_tsm_resnet_x1.pkl, mmv_tsm_resnet_x2.pkl): a pickle
(written with dill; plain pickle reads it when it holds only dicts and
numpy arrays, dill is used when installed) of

    {"params": {module path: {parameter name: array}},
     "state":  {module path: {state name: array}}}

as Haiku's transform_with_state keeps them (mmv/eval_ucf101.py reads
exactly these two keys). The audio network's modules live under
".../audio_module/<resnet>/" (ResNetV2 of mmv/models/resnet.py):

    initial_conv                               w [7, 7, 1, W]       (HWIO)
    block_group_G/block_B/conv_J               w [k, k, Cin, Cout]
    block_group_G/block_B/shortcut_conv        w [1, 1, Cin, Cout]
    block_group_G/block_B/<bn>, <bn>_1, <bn>_2 scale, offset [1, 1, 1, C]
    <bn> (directly under <resnet>: the final one)
and the heads under the top module:
    audio_embd/final_projection                w [C3, 512], b [512]
    vis_embd/final_projection                  w [512, 256], b [256]
    vis_embd/<bn>                              scale, offset [1, 256]
where <bn> is the batch-norm module's name (Haiku derives it from the class,
e.g. "cross_replica_batch_norm" or "batch_norm", with a numeric suffix for
the 2nd and 3rd in a block; any leading underscores are accepted). A batch
norm's moving averages are the state entries "<bn>/~/mean_ema" and
"<bn>/~/var_ema", key "average".

Output (docs/audio-model.md): safetensors with tensors under gst-tsl's
names (conv weights [out, in, kh, kw], linear weights [out, in], batch
norms as 1-D scale/offset/mean/var), metadata tsl.model = "audio-resnet"
and tsl.config. The width, the blocks per stage and the head sizes come
from the checkpoint; the front end's values are not in it and come from
the options (defaults: DMVR's compute_audio_spectrogram).

Usage: tools/convert-mmv-audio.py CHECKPOINT.pkl --output MODEL.safetensors
           [--head vat|va|backbone] [--config-json '{"sample_rate": 48000, ...}']
"""
import argparse
import json
import os
import pickle
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tsl_safetensors  # noqa: E402

FRONTEND_DEFAULTS = {
    "sample_rate": 48000, "window_samples": 153600,
    "frame_length": 2048, "frame_step": 1024, "fft_length": 2048, "pad_end": True,
    "num_mel_bins": 80, "lower_edge_hertz": 80.0, "upper_edge_hertz": 7600.0,
    "spectrogram": "magnitude", "log_offset": 1e-6, "bn_eps": 1e-5,
}
BN_NAME = re.compile(r"^_*(?:cross_replica_)?batch_norm(?:_(\d+))?$")


class ConversionError(Exception):
    pass


def load_checkpoint(path):
    with open(path, "rb") as f:
        try:
            import dill
            data = dill.load(f)
        except ImportError:
            data = pickle.load(f)
    if not isinstance(data, dict) or "params" not in data or "state" not in data:
        raise ConversionError(f"{path}: expected a dict with 'params' and 'state'")
    return data["params"], data["state"]


def array(value):
    return np.asarray(value, dtype=np.float32)


class Tree:
    """The audio part of a Haiku params/state tree, by path relative to the
    audio ResNet (resnet) or to the top module (heads)."""

    def __init__(self, params, state):
        self.params, self.state = params, state
        resnets = {m[:m.index("audio_module/") + len("audio_module/")] +
                   m[m.index("audio_module/") + len("audio_module/"):].split("/")[0]
                   for m in params if "audio_module/" in m}
        if len(resnets) != 1:
            raise ConversionError(f"expected one audio network under audio_module/, found "
                                  f"{sorted(resnets) or 'none'}")
        self.resnet = resnets.pop()
        self.top = self.resnet[:self.resnet.index("audio_module/")]

    def param(self, module, name, shape_rank=None):
        if module not in self.params or name not in self.params[module]:
            raise ConversionError(f"missing parameter {module}/{name}")
        value = array(self.params[module][name])
        if shape_rank is not None and value.ndim != shape_rank:
            raise ConversionError(f"{module}/{name}: rank {value.ndim}, expected {shape_rank}")
        return value

    def batch_norms(self, parent):
        """{index: module path} of the batch norms directly under parent."""
        found = {}
        for module in self.params:
            if not module.startswith(parent + "/"):
                continue
            rest = module[len(parent) + 1:]
            match = BN_NAME.match(rest)
            if match:
                index = int(match.group(1) or 0)
                if index in found:
                    raise ConversionError(f"two batch norms number {index} under {parent}")
                found[index] = module
        return found

    def batch_norm(self, module):
        out = {"scale": self.param(module, "scale").reshape(-1),
               "offset": self.param(module, "offset").reshape(-1)}
        for stat, key in (("mean", "mean_ema"), ("var", "var_ema")):
            path = module + "/~/" + key
            if path not in self.state or "average" not in self.state[path]:
                raise ConversionError(f"missing state {path}/average")
            out[stat] = array(self.state[path]["average"]).reshape(-1)
        return out


def hwio_to_oihw(w):
    return np.ascontiguousarray(w.transpose(3, 2, 0, 1))


def convert(params, state, head, frontend):
    tree = Tree(params, state)
    r = tree.resnet
    tensors = []

    def add_bn(name, module):
        for field, value in tree.batch_norm(module).items():
            tensors.append((f"{name}.{field}", value))

    stem = tree.param(r + "/initial_conv", "w", 4)
    width = stem.shape[3]
    tensors.append(("resnet.initial_conv.w", hwio_to_oihw(stem)))
    blocks = []
    for g in range(4):
        n = 0
        while f"{r}/block_group_{g}/block_{n}/conv_0" in tree.params:
            n += 1
        if n == 0:
            raise ConversionError(f"no blocks under {r}/block_group_{g}")
        blocks.append(n)
        for b in range(n):
            block = f"{r}/block_group_{g}/block_{b}"
            norms = tree.batch_norms(block)
            if sorted(norms) != [0, 1, 2]:
                raise ConversionError(f"{block}: expected 3 batch norms, found "
                                      f"{sorted(norms.values())}")
            for j in range(3):
                add_bn(f"resnet.block_group_{g}.block_{b}.batch_norm_{j}", norms[j])
                tensors.append((f"resnet.block_group_{g}.block_{b}.conv_{j}.w",
                                hwio_to_oihw(tree.param(f"{block}/conv_{j}", "w", 4))))
            if f"{block}/shortcut_conv" in tree.params:
                tensors.append((f"resnet.block_group_{g}.block_{b}.shortcut_conv.w",
                                hwio_to_oihw(tree.param(f"{block}/shortcut_conv", "w", 4))))
    final = tree.batch_norms(r)
    if sorted(final) != [0]:
        raise ConversionError(f"{r}: expected one final batch norm, found {sorted(final.values())}")
    add_bn("resnet.batch_norm", final[0])

    config = dict(FRONTEND_DEFAULTS)
    config.update(frontend)
    config.update({"width": int(width), "blocks": blocks, "head": head})
    if head in ("va", "vat"):
        w = tree.param(tree.top + "audio_embd/final_projection", "w", 2)
        tensors.append(("audio_embd.final_projection.w", np.ascontiguousarray(w.T)))
        tensors.append(("audio_embd.final_projection.b",
                        tree.param(tree.top + "audio_embd/final_projection", "b", 1)))
        config["va_dim"] = int(w.shape[1])
    if head == "vat":
        w = tree.param(tree.top + "vis_embd/final_projection", "w", 2)
        tensors.append(("vis_embd.final_projection.w", np.ascontiguousarray(w.T)))
        tensors.append(("vis_embd.final_projection.b",
                        tree.param(tree.top + "vis_embd/final_projection", "b", 1)))
        norms = tree.batch_norms(tree.top + "vis_embd")
        if sorted(norms) != [0]:
            raise ConversionError(f"{tree.top}vis_embd: expected one batch norm")
        add_bn("vis_embd.batch_norm", norms[0])
        config["vat_dim"] = int(w.shape[1])
    return tensors, config


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--output", required=True)
    parser.add_argument("--head", choices=("vat", "va", "backbone"), default="vat")
    parser.add_argument("--config-json", default="{}",
                        help="front-end keys of tsl.config overriding the defaults")
    args = parser.parse_args()
    frontend = json.loads(args.config_json)
    unknown = set(frontend) - set(FRONTEND_DEFAULTS)
    if unknown:
        sys.exit(f"--config-json: keys {sorted(unknown)} are not front-end keys")
    try:
        params, state = load_checkpoint(args.checkpoint)
        tensors, config = convert(params, state, args.head, frontend)
    except ConversionError as e:
        sys.exit(f"{args.checkpoint}: {e}")
    metadata = {"tsl.model": "audio-resnet", "tsl.config": json.dumps(config),
                "tsl.source": os.path.basename(args.checkpoint)}
    tsl_safetensors.write(args.output, tensors, metadata)
    print(f"{args.output}: {len(tensors)} tensors, width {config['width']}, "
          f"blocks {config['blocks']}, head {config['head']}")


if __name__ == "__main__":
    main()

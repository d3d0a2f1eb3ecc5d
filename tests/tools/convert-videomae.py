#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests tools/convert-videomae.py, tools/make-random-videomae.py and
`gst-tsl-train encode` on random models in the official layouts:

- a checkpoint wrapped as {"module": {...}} with `encoder.` prefixes and
  pre-training leftovers (decoder, mask token) converts to the official
  names, and encode's features and hidden states match the PyTorch forward
  of tools/tsl_videomae.py on the same weights;
- {"model": {...}} with a head and --keep-head keeps it (num_classes set);
- a checkpoint without fc_norm is refused, naming the tensor;
- a random model from make-random-videomae.py loads and encodes.

Exit 77 (skipped) without torch. Arguments: the gst-tsl-train executable.
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"# skipped: {e}")
    sys.exit(77)

SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tools"))
import tsl_safetensors  # noqa: E402
import tsl_videomae  # noqa: E402

CONVERTER = os.path.join(SOURCE_ROOT, "tools", "convert-videomae.py")
RANDOM = os.path.join(SOURCE_ROOT, "tools", "make-random-videomae.py")
TRAIN = sys.argv[1]
CONFIG = {"patch_size": 4, "tubelet_size": 2, "img_size": 12, "all_frames": 4,
          "embed_dim": 32, "depth": 2, "num_heads": 4, "mlp_ratio": 48 / 11}
n_test = 0


def ok(condition, message):
    global n_test
    n_test += 1
    print(f"{'ok' if condition else 'not ok'} {n_test} - {message}")
    if not condition:
        sys.exit(1)


def run(args, expect_ok=True):
    """args[0]: gst-tsl-train or a Python tool (run with this interpreter)"""
    if args[0].endswith(".py"):
        args = [sys.executable] + args
    result = subprocess.run(args, capture_output=True, text=True)
    if expect_ok and result.returncode != 0:
        print(result.stdout + result.stderr)
    return result


def encode_and_compare(tmp, model, params, config, label):
    rng = np.random.default_rng(7)
    clips = rng.random((3, 3, config["all_frames"], config["img_size"],
                        config["img_size"])).astype(np.float32)
    inputs = os.path.join(tmp, "clips.safetensors")
    out = os.path.join(tmp, "features.safetensors")
    tsl_safetensors.write(inputs, [("clips", clips)], {})
    result = run([TRAIN, "encode", "--model", model, "--input", inputs + ":clips", "--output",
                  out, "--dump-hidden", "--batch", "2", "--backend", "cpu"])
    ok(result.returncode == 0, f"{label}: encode runs")
    got, _ = tsl_safetensors.read(out)
    torch_params = {k: torch.from_numpy(np.array(v)) for k, v in params.items()}
    with torch.no_grad():
        features, hidden = tsl_videomae.forward(torch_params, config, torch.from_numpy(clips))
    diff = float(np.abs(got["features"] - features.numpy()).max())
    ok(diff < 1e-4, f"{label}: features match the PyTorch forward (max abs diff {diff:.3g})")
    diff = max(float(np.abs(got[f"hidden.{i}"] - h.numpy()).max()) for i, h in enumerate(hidden))
    ok(diff < 1e-4, f"{label}: hidden states match (max abs diff {diff:.3g})")


def main():
    config = tsl_videomae.complete_config(dict(CONFIG))
    params = tsl_videomae.random_params(config, np.random.default_rng(3))
    with tempfile.TemporaryDirectory() as tmp:
        config_json = os.path.join(tmp, "config.json")
        with open(config_json, "w") as f:
            json.dump(CONFIG, f)

        # pre-training style: module wrapper, encoder. prefix, decoder leftovers
        state = {"encoder." + k: torch.from_numpy(v) for k, v in params.items()}
        state["decoder.blocks.0.norm1.weight"] = torch.ones(8)
        state["mask_token"] = torch.zeros(1, 1, 8)
        ckpt = os.path.join(tmp, "a.pth")
        torch.save({"module": state}, ckpt)
        model = os.path.join(tmp, "a.safetensors")
        result = run([CONVERTER, "--checkpoint", ckpt, "--config-json", config_json,
                      "--output", model])
        ok(result.returncode == 0, "converts a wrapped, prefixed checkpoint")
        tensors, meta = tsl_safetensors.read(model)
        ok(meta.get("tsl.model") == "videomae", "tsl.model is videomae")
        ok(json.loads(meta["tsl.config"])["mlp_ratio"] == 48 / 11, "mlp_ratio kept exactly")
        ok(sorted(tensors) == sorted(params) and
           all(np.array_equal(tensors[k], params[k]) for k in params),
           "official names and values, leftovers dropped")
        encode_and_compare(tmp, model, params, config, "converted")

        # fine-tuned style: model wrapper, head kept on request
        state = {k: torch.from_numpy(v) for k, v in params.items()}
        state["head.weight"] = torch.randn(7, config["embed_dim"])
        state["head.bias"] = torch.randn(7)
        torch.save({"model": state}, ckpt)
        result = run([CONVERTER, "--checkpoint", ckpt, "--config-json", config_json,
                      "--keep-head", "--output", model])
        tensors, meta = tsl_safetensors.read(model)
        ok(result.returncode == 0 and "head.weight" in tensors and
           json.loads(meta["tsl.config"])["num_classes"] == 7, "--keep-head keeps the head")
        encode_and_compare(tmp, model, params, config, "with head")

        # no fc_norm: refused with its name
        del state["fc_norm.weight"]
        torch.save(state, ckpt)
        result = run([CONVERTER, "--checkpoint", ckpt, "--config-json", config_json,
                      "--output", model], expect_ok=False)
        ok(result.returncode != 0 and "fc_norm.weight" in result.stderr,
           "a checkpoint without fc_norm is refused: " + result.stderr.strip().splitlines()[-1])

        # random model writer
        result = run([RANDOM, "--config-json", config_json, "--seed", "5", "--output", model])
        ok(result.returncode == 0, "make-random-videomae writes a model")
        tensors, _ = tsl_safetensors.read(model)
        encode_and_compare(tmp, model, tensors, config, "random")
    print(f"1..{n_test}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

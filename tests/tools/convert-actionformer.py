#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests tools/convert-actionformer.py on a random model in the official
layout: a checkpoint as the official train.py saves it (`state_dict` and
`state_dict_ema`, keys prefixed `module.`) and an official-style YAML config
that overrides only some defaults. Exit 77 (skipped) without torch or yaml.
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import yaml
except ImportError as e:
    print(f"# skipped: {e}")
    sys.exit(77)

SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tools"))
import tsl_safetensors  # noqa: E402

FIXTURE = os.path.join(SOURCE_ROOT, "tests", "data", "actionformer-fixture.safetensors")
CONVERTER = os.path.join(SOURCE_ROOT, "tools", "convert-actionformer.py")


def fail(message):
    print(f"not ok - {message}")
    sys.exit(1)


def main():
    tensors, metadata = tsl_safetensors.read(FIXTURE)
    resolved = json.loads(metadata["tsl.config"])
    params = {k: v for k, v in tensors.items() if not k.startswith("video")}
    # An official YAML only overrides what differs from the defaults.
    yaml_config = {
        "dataset": dict(resolved["dataset"]),
        "model": {k: v for k, v in resolved["model"].items()
                  if k not in ("input_dim", "num_classes", "max_seq_len", "train_cfg",
                               "test_cfg")},
        "test_cfg": {"min_score": resolved["test_cfg"]["min_score"],
                     "max_seg_num": resolved["test_cfg"]["max_seg_num"],
                     "nms_sigma": resolved["test_cfg"]["nms_sigma"]},
    }
    state = {"module." + k: torch.from_numpy(np.array(v)) for k, v in params.items()}
    ema = {k: v + 1.0 for k, v in state.items()}
    num_classes = resolved["dataset"]["num_classes"]
    labels = [f"sound {i}" for i in range(num_classes)]

    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "epoch_010.pth.tar")
        torch.save({"epoch": 10, "state_dict": state, "state_dict_ema": ema}, ckpt)
        cfg = os.path.join(tmp, "config.yaml")
        with open(cfg, "w") as f:
            yaml.safe_dump(yaml_config, f)
        label_file = os.path.join(tmp, "labels.json")
        with open(label_file, "w") as f:
            json.dump({name: i for i, name in enumerate(labels)}, f)

        for use_ema in (False, True):
            out = os.path.join(tmp, "model.safetensors")
            cmd = [sys.executable, CONVERTER, "--checkpoint", ckpt, "--config", cfg,
                   "--labels", label_file, "--output", out] + (["--ema"] if use_ema else [])
            subprocess.run(cmd, check=True)
            got, got_meta = tsl_safetensors.read(out)
            if got_meta["tsl.model"] != "actionformer":
                fail("tsl.model is not actionformer")
            if json.loads(got_meta["tsl.labels"]) != labels:
                fail("labels were not written in class-id order")
            config = json.loads(got_meta["tsl.config"])
            for section in ("dataset", "model"):
                for key, value in resolved[section].items():
                    if key in ("train_cfg", "test_cfg"):
                        continue
                    if config[section][key] != value:
                        fail(f"config {section}.{key}: {config[section][key]!r} != {value!r}")
            if config["test_cfg"]["min_score"] != resolved["test_cfg"]["min_score"]:
                fail("test_cfg override lost")
            if config["train_cfg"]["init_loss_norm"] != 2000:
                fail("official default train_cfg.init_loss_norm not filled in")
            if config["model"]["test_cfg"] != config["test_cfg"]:
                fail("model.test_cfg is not the resolved test_cfg")
            if sorted(got) != sorted(params):
                fail(f"tensor names differ: {sorted(set(got) ^ set(params))}")
            for name, value in params.items():
                want = np.float32(value + np.float32(1.0 if use_ema else 0.0))
                if got[name].shape != value.shape or not np.array_equal(got[name], want):
                    fail(f"tensor {name} changed in conversion (ema={use_ema})")
            print(f"ok - converted {len(got)} tensors (ema={use_ema})")

        yaml_config["dataset"]["num_classes"] = num_classes + 1
        with open(cfg, "w") as f:
            yaml.safe_dump(yaml_config, f)
        bad = subprocess.run([sys.executable, CONVERTER, "--checkpoint", ckpt, "--config", cfg,
                              "--output", os.path.join(tmp, "y.safetensors")],
                             capture_output=True, text=True)
        if bad.returncode == 0 or "do not match" not in bad.stderr:
            fail("a config that does not match the checkpoint was accepted")
        print("ok - mismatched config rejected: " + bad.stderr.strip().splitlines()[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())

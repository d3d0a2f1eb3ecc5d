#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Converts an official ActionFormer checkpoint into a gst-tsl model file.

    convert-actionformer.py --checkpoint CKPT.pth.tar --config CONFIG.yaml \
        [--labels LABELS.json|LABELS.txt] [--ema] --output MODEL.safetensors

CKPT is what the official train.py saves: a dict holding `state_dict` and
`state_dict_ema` (keys prefixed `module.` when trained with DataParallel),
or a bare state dict. CONFIG is the official YAML config; it is resolved the
way the official code does it (its defaults merged in, then the derived
model fields filled in) and stored as JSON in the `tsl.config` metadata.
The tensors keep their official names without the `module.` prefix.

Labels: a JSON list of names in class-id order, a JSON object mapping name
to id (as the Perception Test dataset builds it) or id to name, or a text
file with one name per line. Without --labels the classes are named
class_0, class_1, ...
"""
import argparse
import copy
import json
import os
import sys


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tsl_safetensors  # noqa: E402

# The defaults of the official libs/core/config.py (actionformer_release at
# 61ea7eb9), which an official YAML config only overrides.
OFFICIAL_DEFAULTS = {
    "init_rand_seed": 1234567891,
    "dataset_name": "epic",
    "devices": ["cuda:0"],
    "train_split": ["training"],
    "val_split": ["validation"],
    "model_name": "LocPointTransformer",
    "dataset": {
        "feat_stride": 16, "num_frames": 32, "default_fps": None, "input_dim": 2304,
        "num_classes": 97, "downsample_rate": 1, "max_seq_len": 2304, "trunc_thresh": 0.5,
        "crop_ratio": None, "force_upsampling": False,
    },
    "loader": {"batch_size": 8, "num_workers": 4},
    "model": {
        "backbone_type": "convTransformer", "fpn_type": "identity", "backbone_arch": [2, 2, 5],
        "scale_factor": 2,
        "regression_range": [[0, 4], [4, 8], [8, 16], [16, 32], [32, 64], [64, 10000]],
        "n_head": 4, "n_mha_win_size": -1, "embd_kernel_size": 3, "embd_dim": 512,
        "embd_with_ln": True, "fpn_dim": 512, "fpn_with_ln": True, "fpn_start_level": 0,
        "head_dim": 512, "head_kernel_size": 3, "head_num_layers": 3, "head_with_ln": True,
        "max_buffer_len_factor": 6.0, "use_abs_pe": False, "use_rel_pe": False,
    },
    "train_cfg": {
        "center_sample": "radius", "center_sample_radius": 1.5, "loss_weight": 1.0,
        "cls_prior_prob": 0.01, "init_loss_norm": 2000, "clip_grad_l2norm": -1,
        "head_empty_cls": [], "dropout": 0.1, "droppath": 0.1, "label_smoothing": 0.0,
    },
    "test_cfg": {
        "pre_nms_thresh": 0.001, "pre_nms_topk": 5000, "iou_threshold": 0.1, "min_score": 0.01,
        "max_seg_num": 1000, "nms_method": "soft", "nms_sigma": 0.5, "duration_thresh": 0.05,
        "multiclass_nms": True, "ext_score_file": None, "voting_thresh": 0.75,
    },
    "opt": {
        "type": "AdamW", "momentum": 0.9, "weight_decay": 0.0, "learning_rate": 1e-3,
        "epochs": 30, "warmup": True, "warmup_epochs": 5, "schedule_type": "cosine",
        "schedule_steps": [], "schedule_gamma": 0.1,
    },
}


def merge_defaults(defaults, config):
    """Adds every default the config lacks, recursing into sections present
    in both (the official merge rule)."""
    for key, value in defaults.items():
        if key not in config:
            config[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(config[key], dict):
            merge_defaults(value, config[key])


def resolve_config(user):
    config = copy.deepcopy(user)
    merge_defaults(OFFICIAL_DEFAULTS, config)
    model, dataset = config["model"], config["dataset"]
    model["input_dim"] = dataset["input_dim"]
    model["num_classes"] = dataset["num_classes"]
    model["max_seq_len"] = dataset["max_seq_len"]
    model["train_cfg"] = config["train_cfg"]
    model["test_cfg"] = config["test_cfg"]
    return config


def read_labels(path, num_classes):
    if path is None:
        return [f"class_{i}" for i in range(num_classes)]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        data = json.loads(text)
        if isinstance(data, list):
            labels = [str(x) for x in data]
        elif isinstance(data, dict) and all(isinstance(v, int) for v in data.values()):
            labels = [None] * (max(data.values()) + 1)
            for name, index in data.items():
                labels[index] = name
        elif isinstance(data, dict):
            labels = [None] * (max(int(k) for k in data) + 1)
            for index, name in data.items():
                labels[int(index)] = str(name)
        else:
            raise SystemExit(f"{path}: expected a JSON list or object of labels")
        if None in labels:
            raise SystemExit(f"{path}: label ids are not contiguous from 0")
    else:
        labels = [line.strip() for line in text.splitlines() if line.strip()]
    if len(labels) != num_classes:
        raise SystemExit(f"{path}: {len(labels)} labels, but the model has {num_classes} classes")
    return labels


def load_state_dict(path, use_ema):
    import torch  # only the converter needs torch, the model file does not

    checkpoint = torch.load(path, map_location="cpu")
    key = "state_dict_ema" if use_ema else "state_dict"
    if isinstance(checkpoint, dict) and key in checkpoint:
        state = checkpoint[key]
    elif use_ema:
        raise SystemExit(f"{path}: --ema given, but the checkpoint has no 'state_dict_ema'")
    else:
        state = checkpoint
    tensors = []
    for name, value in state.items():
        if not hasattr(value, "detach"):
            raise SystemExit(f"{path}: entry {name} is not a tensor; is this a checkpoint?")
        if name.startswith("module."):
            name = name[len("module."):]
        tensors.append((name, value.detach().to(torch.float32).cpu().numpy()))
    return tensors


def check_shapes(tensors, config):
    shapes = {name: array.shape for name, array in tensors}
    model = config["model"]
    expect = {
        "backbone.embd.0.conv.weight": (1, model["input_dim"]),
        "cls_head.cls_head.conv.weight": (0, model["num_classes"]),
    }
    for name, (axis, size) in expect.items():
        if name not in shapes:
            raise SystemExit(f"the checkpoint has no tensor {name}: not an ActionFormer model?")
        if shapes[name][axis] != size:
            raise SystemExit(f"{name} has shape {list(shapes[name])}, but the config says "
                             f"{size} at axis {axis}: config and checkpoint do not match")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--config", required=True, help="official YAML config")
    parser.add_argument("--labels")
    parser.add_argument("--ema", action="store_true", help="use the EMA weights")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    import yaml

    with open(args.config, encoding="utf-8") as f:
        user = yaml.safe_load(f) or {}
    config = resolve_config(user)
    tensors = load_state_dict(args.checkpoint, args.ema)
    check_shapes(tensors, config)
    labels = read_labels(args.labels, config["model"]["num_classes"])
    metadata = {
        "tsl.model": "actionformer",
        "tsl.config": json.dumps(config),
        "tsl.labels": json.dumps(labels),
        "tsl.source": os.path.basename(args.checkpoint) + (" (EMA)" if args.ema else ""),
    }
    tsl_safetensors.write(args.output, tensors, metadata)
    print(f"{args.output}: {len(tensors)} tensors, {len(labels)} classes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

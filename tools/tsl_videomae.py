# SPDX-License-Identifier: LGPL-2.1-or-later
"""VideoMAE V2 ViT encoders for gst-tsl's Python tools.

What the converter, the random-model writer, the fixture generator and the
benchmark share: the official variants (models/modeling_finetune.py of
OpenGVLab/VideoMAEv2), the model file's `tsl.config`, the parameter names
and shapes of the official state_dict, random parameters, and a plain
PyTorch forward of VisionTransformer.forward_features written from the
official module's behaviour (eval mode):

  tokens = Conv3d(kernel = stride = (tubelet, P, P))(clip) flattened, time
  slowest; + fixed sinusoid table; blocks x = x + attn(norm1(x)),
  x = x + mlp(norm2(x)) (times gamma_1/gamma_2 with layer scale), the qkv
  projection biased by cat(q_bias, zeros, v_bias), q scaled by
  head_dim^-0.5, exact GELU, LayerNorm eps 1e-6; features =
  fc_norm(mean over tokens).
"""
import json

import numpy as np

# name -> (patch_size, embed_dim, depth, num_heads, mlp_ratio)
VARIANTS = {
    "vit_small_patch16_224": (16, 384, 12, 6, 4.0),
    "vit_base_patch16_224": (16, 768, 12, 12, 4.0),
    "vit_large_patch16_224": (16, 1024, 24, 16, 4.0),
    "vit_huge_patch16_224": (16, 1280, 32, 16, 4.0),
    "vit_giant_patch14_224": (14, 1408, 40, 16, 48 / 11),
}

CONFIG_KEYS = ("patch_size", "tubelet_size", "img_size", "all_frames", "in_chans",
               "embed_dim", "depth", "num_heads", "mlp_ratio", "qkv_bias", "init_values",
               "use_mean_pooling", "layernorm_eps", "num_classes")


def config_for_variant(variant, img_size=224, all_frames=16, tubelet_size=2, num_classes=0):
    """The full configuration dict of an official variant."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    patch, dim, depth, heads, ratio = VARIANTS[variant]
    return complete_config({"patch_size": patch, "embed_dim": dim, "depth": depth,
                            "num_heads": heads, "mlp_ratio": ratio, "img_size": img_size,
                            "all_frames": all_frames, "tubelet_size": tubelet_size,
                            "num_classes": num_classes})


def complete_config(partial):
    """partial (constructor argument names) with the defaults filled in;
    unknown keys are an error."""
    config = {"patch_size": 16, "tubelet_size": 2, "img_size": 224, "all_frames": 16,
              "in_chans": 3, "embed_dim": 768, "depth": 12, "num_heads": 12, "mlp_ratio": 4.0,
              "qkv_bias": True, "init_values": 0.0, "use_mean_pooling": True,
              "layernorm_eps": 1e-6, "num_classes": 0}
    unknown = set(partial) - set(CONFIG_KEYS)
    if unknown:
        raise ValueError(f"unknown VideoMAE config keys: {', '.join(sorted(unknown))}")
    config.update(partial)
    if config["embed_dim"] % config["num_heads"]:
        raise ValueError("num_heads must divide embed_dim")
    if config["img_size"] % config["patch_size"] or config["all_frames"] % config["tubelet_size"]:
        raise ValueError("img_size / all_frames must be multiples of patch_size / tubelet_size")
    return config


def mlp_hidden(config):
    return int(config["embed_dim"] * config["mlp_ratio"])


def num_tokens(config):
    side = config["img_size"] // config["patch_size"]
    return config["all_frames"] // config["tubelet_size"] * side * side


def metadata(config, source):
    return {"tsl.model": "videomae", "tsl.config": json.dumps(config), "tsl.source": source}


def param_shapes(config):
    """[(name, shape)] of the official state_dict, in its order."""
    C, P, t = config["embed_dim"], config["patch_size"], config["tubelet_size"]
    hidden = mlp_hidden(config)
    shapes = [("patch_embed.proj.weight", (C, config["in_chans"], t, P, P)),
              ("patch_embed.proj.bias", (C,))]
    for i in range(config["depth"]):
        b = f"blocks.{i}."
        if config["init_values"] > 0:
            shapes += [(b + "gamma_1", (C,)), (b + "gamma_2", (C,))]
        shapes += [(b + "norm1.weight", (C,)), (b + "norm1.bias", (C,))]
        if config["qkv_bias"]:
            shapes += [(b + "attn.q_bias", (C,)), (b + "attn.v_bias", (C,))]
        shapes += [(b + "attn.qkv.weight", (3 * C, C)), (b + "attn.proj.weight", (C, C)),
                   (b + "attn.proj.bias", (C,)), (b + "norm2.weight", (C,)),
                   (b + "norm2.bias", (C,)), (b + "mlp.fc1.weight", (hidden, C)),
                   (b + "mlp.fc1.bias", (hidden,)), (b + "mlp.fc2.weight", (C, hidden)),
                   (b + "mlp.fc2.bias", (C,))]
    shapes += [("fc_norm.weight", (C,)), ("fc_norm.bias", (C,))]
    if config["num_classes"] > 0:
        shapes += [("head.weight", (config["num_classes"], C)),
                   ("head.bias", (config["num_classes"],))]
    return shapes


def random_params(config, rng, weight_std=0.05):
    """Random float32 parameters: weights weight_std * N(0, 1), LayerNorm
    weights 1 + 0.1 N(0, 1), biases and gammas 0.1 N(0, 1)."""
    params = {}
    for name, shape in param_shapes(config):
        if name.endswith("norm1.weight") or name.endswith("norm2.weight") or \
                name == "fc_norm.weight":
            value = 1.0 + 0.1 * rng.standard_normal(shape)
        elif len(shape) == 1:
            value = 0.1 * rng.standard_normal(shape)
        else:
            value = weight_std * rng.standard_normal(shape)
        params[name] = value.astype(np.float32)
    return params


def sinusoid_table(n_position, dim):
    """The fixed [n_position, dim] table, in float64 then float32."""
    pos = np.arange(n_position, dtype=np.float64)[:, None]
    j = np.arange(dim)
    angle = pos / np.power(10000.0, 2 * (j // 2) / dim)[None, :]
    table = np.where(j % 2 == 0, np.sin(angle), np.cos(angle))
    return table.astype(np.float32)


def forward(params, config, clips):
    """forward_features of a [B, 3, T, S, S] float tensor with the torch
    parameters `params` (name -> tensor). Returns (features [B, C],
    [hidden state after each block, [B, N, C]])."""
    import torch
    import torch.nn.functional as F

    C, heads = config["embed_dim"], config["num_heads"]
    eps = config["layernorm_eps"]
    t, P = config["tubelet_size"], config["patch_size"]
    x = F.conv3d(clips, params["patch_embed.proj.weight"], params["patch_embed.proj.bias"],
                 stride=(t, P, P))
    x = x.flatten(2).transpose(1, 2)
    B, N, _ = x.shape
    x = x + torch.from_numpy(sinusoid_table(N, C))[None]
    hidden = []
    for i in range(config["depth"]):
        b = f"blocks.{i}."

        def norm(name, v):
            return F.layer_norm(v, (C,), params[b + name + ".weight"], params[b + name + ".bias"],
                                eps)
        bias = None
        if config["qkv_bias"]:
            bias = torch.cat([params[b + "attn.q_bias"], torch.zeros(C),
                              params[b + "attn.v_bias"]])
        qkv = F.linear(norm("norm1", x), params[b + "attn.qkv.weight"], bias)
        qkv = qkv.reshape(B, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * (C // heads) ** -0.5, qkv[1], qkv[2]
        att = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, N, C)
        y = F.linear(y, params[b + "attn.proj.weight"], params[b + "attn.proj.bias"])
        if config["init_values"] > 0:
            y = params[b + "gamma_1"] * y
        x = x + y
        y = F.linear(norm("norm2", x), params[b + "mlp.fc1.weight"], params[b + "mlp.fc1.bias"])
        y = F.linear(F.gelu(y), params[b + "mlp.fc2.weight"], params[b + "mlp.fc2.bias"])
        if config["init_values"] > 0:
            y = params[b + "gamma_2"] * y
        x = x + y
        hidden.append(x)
    features = F.layer_norm(x.mean(1), (C,), params["fc_norm.weight"], params["fc_norm.bias"],
                            eps)
    return features, hidden


def gflop_per_clip(config):
    """Multiply-adds x 2 of one clip's forward (projections and attention)."""
    C, N, hidden = config["embed_dim"], num_tokens(config), mlp_hidden(config)
    P, t = config["patch_size"], config["tubelet_size"]
    per_block = 2 * N * (4 * C * C + 2 * C * hidden) + 4 * N * N * C
    return (2 * N * C * 3 * t * P * P + config["depth"] * per_block) / 1e9


#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests tools/convert-mmv-audio.py and tools/make-random-audio-model.py.

The converter: the parameters of tests/data/audio-fixture.safetensors are
put back into the layout of a released MMV checkpoint (a pickled
{"params", "state"} Haiku tree: HWIO convolutions, [in, out] Linear
weights, batch-norm scale/offset [1, ..., C] with their moving averages in
"<bn>/~/mean_ema" and "/~/var_ema" state entries, modules under
"text_audio_video/audio_module/res_net_v2/...", plus video and text modules
the converter must ignore). The converted file must give back every tensor
of the fixture bit for bit and its configuration; then the C side loads it
and reproduces the fixture's outputs (the parity program run with
TSL_AUDIO_MODEL and TSL_AUDIO_REFERENCE). Broken trees (a missing batch
norm state, no audio network) must fail with a message naming what is
missing. The random model writer: a tiny model of each head loads in C.

Arguments: the parity-audio program. Exit 77 (skipped) without numpy.
"""
import json
import os
import pickle
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError as e:
    print(f"# skipped: {e}")
    sys.exit(77)

SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tools"))
import tsl_safetensors  # noqa: E402

FIXTURE = os.path.join(SOURCE_ROOT, "tests", "data", "audio-fixture.safetensors")
CONVERTER = os.path.join(SOURCE_ROOT, "tools", "convert-mmv-audio.py")
RANDOM_MODEL = os.path.join(SOURCE_ROOT, "tools", "make-random-audio-model.py")
TOP = "text_audio_video/"
RESNET = TOP + "audio_module/res_net_v2"
FRONTEND_KEYS = ("sample_rate", "window_samples", "frame_length", "frame_step", "fft_length",
                 "pad_end", "num_mel_bins", "lower_edge_hertz", "upper_edge_hertz",
                 "spectrogram", "log_offset", "bn_eps")
tests_run = 0


def ok(message):
    global tests_run
    tests_run += 1
    print(f"ok {tests_run} - {message}")


def fail(message):
    print(f"not ok {tests_run + 1} - {message}")
    sys.exit(1)


def official_tree(params):
    """gst-tsl tensors -> (params, state) as Haiku would hold them."""
    hk_params, hk_state = {}, {}

    def bn(module, prefix, rank):
        shape = [1] * (rank - 1) + [-1]
        hk_params[module] = {"scale": params[prefix + ".scale"].reshape(shape),
                             "offset": params[prefix + ".offset"].reshape(shape)}
        for stat, key in (("mean", "mean_ema"), ("var", "var_ema")):
            value = params[prefix + "." + stat].reshape(shape)
            hk_state[f"{module}/~/{key}"] = {"average": value, "hidden": value,
                                             "counter": np.array(1000, np.int32)}

    for name, value in params.items():
        parts = name.split(".")
        if name.endswith(".w") and value.ndim == 4:  # conv [out, in, kh, kw] -> HWIO
            module = RESNET + "/" + "/".join(parts[1:-1])
            hk_params[module] = {"w": value.transpose(2, 3, 1, 0)}
    for name in params:
        if name.endswith(".scale") and name.startswith("resnet."):
            prefix = name[:-len(".scale")]
            parts = prefix.split(".")[1:]
            if parts[-1].startswith("batch_norm_"):  # in a block: bn, bn_1, bn_2
                j = int(parts[-1][len("batch_norm_"):])
                parts[-1] = "cross_replica_batch_norm" + (f"_{j}" if j else "")
            else:
                parts[-1] = "cross_replica_batch_norm"
            bn(RESNET + "/" + "/".join(parts), prefix, 4)
    for head in ("audio_embd", "vis_embd"):
        module = TOP + head + "/final_projection"
        hk_params[module] = {"w": params[head + ".final_projection.w"].T,
                             "b": params[head + ".final_projection.b"]}
    bn(TOP + "vis_embd/cross_replica_batch_norm", "vis_embd.batch_norm", 2)
    # modules of the other modalities, which must be left out
    hk_params[TOP + "visual_module/s3d/conv_1"] = {"w": np.zeros((3, 3, 3, 3, 8), np.float32)}
    hk_params[TOP + "text_module/text_conv1"] = {"w": np.zeros((1, 300, 16), np.float32)}
    return hk_params, hk_state


def run(cmd, env=None):
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def main():
    if len(sys.argv) != 2:
        fail("usage: convert-mmv-audio.py PARITY_AUDIO_PROGRAM")
    parity = sys.argv[1]
    print("1..6")
    tensors, metadata = tsl_safetensors.read(FIXTURE)
    fixture_config = json.loads(metadata["tsl.config"])
    params = {k: v for k, v in tensors.items() if not k.startswith("__")}
    hk_params, hk_state = official_tree(params)
    frontend = {k: fixture_config[k] for k in FRONTEND_KEYS}

    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "mmv_tiny.pkl")
        with open(ckpt, "wb") as f:
            pickle.dump({"params": hk_params, "state": hk_state}, f)
        out = os.path.join(tmp, "audio.safetensors")
        r = run([sys.executable, CONVERTER, ckpt, "--output", out,
                 "--config-json", json.dumps(frontend)])
        if r.returncode != 0:
            fail(f"converter failed: {r.stderr}")
        converted, converted_meta = tsl_safetensors.read(out)
        if set(converted) != set(params):
            fail(f"names differ: missing {sorted(set(params) - set(converted))}, "
                 f"extra {sorted(set(converted) - set(params))}")
        for name, value in params.items():
            if converted[name].shape != value.shape or not np.array_equal(converted[name], value):
                fail(f"{name}: shape {converted[name].shape} vs {value.shape} or values differ")
        ok(f"{len(params)} tensors back with their names, shapes and values")
        config = json.loads(converted_meta["tsl.config"])
        if converted_meta["tsl.model"] != "audio-resnet" or config != fixture_config:
            fail(f"config {config} != {fixture_config}")
        ok("tsl.model and tsl.config (width, blocks, head sizes from the tree)")

        env = dict(os.environ, TSL_AUDIO_MODEL=out, TSL_AUDIO_REFERENCE=FIXTURE)
        r = run([parity, "-p", "/audio/external"], env=env)
        if r.returncode != 0 or "ok 1 /audio/external" not in r.stdout:
            fail(f"C side on the converted file: {r.stdout}{r.stderr}")
        ok("the C model on the converted file reproduces the fixture")

        broken_state = dict(hk_state)
        del broken_state[RESNET + "/block_group_1/block_1/cross_replica_batch_norm_2/~/var_ema"]
        with open(ckpt, "wb") as f:
            pickle.dump({"params": hk_params, "state": broken_state}, f)
        r = run([sys.executable, CONVERTER, ckpt, "--output", out])
        if r.returncode == 0 or "block_1/cross_replica_batch_norm_2/~/var_ema" not in r.stderr:
            fail(f"missing state not reported: {r.stderr}")
        no_audio = {k: v for k, v in hk_params.items() if "audio_module" not in k}
        with open(ckpt, "wb") as f:
            pickle.dump({"params": no_audio, "state": hk_state}, f)
        r = run([sys.executable, CONVERTER, ckpt, "--output", out])
        if r.returncode == 0 or "audio_module" not in r.stderr:
            fail(f"missing audio network not reported: {r.stderr}")
        ok("broken trees are refused, naming what is missing")

        for head in ("backbone", "vat"):
            model = os.path.join(tmp, f"random-{head}.safetensors")
            r = run([sys.executable, RANDOM_MODEL, "--output", model, "--head", head,
                     "--width", "4", "--blocks", "1,1,2,1", "--seed", "3"])
            if r.returncode != 0:
                fail(f"make-random-audio-model: {r.stderr}")
            env = dict(os.environ, TSL_AUDIO_MODEL=model)
            r = run([parity, "-p", "/audio/external", "--verbose"], env=env)
            want = {"backbone": "head backbone, 128-d", "vat": "head vat, 256-d"}[head]
            if r.returncode != 0 or want not in r.stdout:
                fail(f"random {head} model in C: {r.stdout}{r.stderr}")
            ok(f"a random '{head}' model loads in C ({want})")


if __name__ == "__main__":
    main()

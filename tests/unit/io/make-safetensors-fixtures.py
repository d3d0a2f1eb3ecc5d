#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make-safetensors-fixtures.py: writes tests/data/safetensors/reference.safetensors,
# a safetensors file built byte by byte with struct and json (independently
# of libtsl's writer), for tests/unit/io/safetensors.c. It holds one tensor
# of every dtype, a scalar, an empty tensor and a name that needs JSON
# escapes. On purpose:
#   - the JSON lists the tensors in a different order than the data section,
#     so readers must order entries by offset, not by key;
#   - the header is NOT padded to 8 bytes, so tensor data is misaligned.
# Values follow the formulas of make-npy-fixtures.py:
#   floats (i - 3) * 0.25, signed ints i - 3, U8 i * 40 % 256, BOOL i % 3 == 0
# Bump FIXTURE_VERSION (and the test's copy) when the content changes.
# Usage: tests/unit/io/make-safetensors-fixtures.py [OUTDIR]
import json
import os
import struct
import sys

import numpy as np

FIXTURE_VERSION = "1"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "data", "safetensors")

# (name, safetensors dtype, numpy dtype, shape) in data-section order
TENSORS = [
    ("f32", "F32", "<f4", (2, 3)),
    ("f16", "F16", "<f2", (3, 2)),
    ("bf16", "BF16", None, (2, 2, 2)),
    ("f64", "F64", "<f8", (5,)),
    ("i64", "I64", "<i8", (2, 2)),
    ("i32", "I32", "<i4", (3,)),
    ("i16", "I16", "<i2", (4,)),
    ("i8", "I8", "|i1", (2, 3)),
    ("u8", "U8", "|u1", (6,)),
    ("bool", "BOOL", "|b1", (5,)),
    ("scalar", "F32", "<f4", ()),
    ("empty", "F32", "<f4", (0, 4)),
    ('na\u00efve/"quoted"', "F32", "<f4", (1, 2)),
]


def tensor_bytes(st_dtype, np_dtype, shape):
    n = int(np.prod(shape, dtype=np.int64))
    i = np.arange(n, dtype=np.int64)
    if st_dtype == "BF16":
        # bfloat16 = the upper half of float32 (exact for these values)
        f32 = ((i - 3) * 0.25).astype("<f4").tobytes()
        return b"".join(f32[k + 2:k + 4] for k in range(0, len(f32), 4))
    kind = np.dtype(np_dtype).kind
    if kind == "f":
        v = (i - 3) * 0.25
    elif kind == "i":
        v = i - 3
    elif kind == "u":
        v = i * 40 % 256
    else:
        v = i % 3 == 0
    return v.astype(np_dtype).tobytes()


def main():
    os.makedirs(OUT, exist_ok=True)
    data = b""
    entries = {}
    for name, st_dtype, np_dtype, shape in TENSORS:
        if name == "scalar":
            blob = np.array(42.5, dtype="<f4").tobytes()
        else:
            blob = tensor_bytes(st_dtype, np_dtype, shape)
        entries[name] = {"dtype": st_dtype, "shape": list(shape),
                         "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    header = {"__metadata__": {
        "tsl.fixture-version": FIXTURE_VERSION,
        "tsl.fixture-script": "tests/unit/io/make-safetensors-fixtures.py",
        "description": "one tensor of every dtype\nsecond line",
    }}
    for name in sorted(entries):  # JSON order differs from data order
        header[name] = entries[name]
    text = json.dumps(header).encode("utf-8")
    # pad so that 8 + len(text) is 3 more than a multiple of 8: misaligned data
    text += b" " * ((3 - 8 - len(text)) % 8)
    with open(os.path.join(OUT, "reference.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(data)


if __name__ == "__main__":
    main()

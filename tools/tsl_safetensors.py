# SPDX-License-Identifier: LGPL-2.1-or-later
"""Minimal safetensors reader and writer for gst-tsl's Python tools.

Only numpy is needed. The writer emits tensors in the order given, packed
back to back, with the JSON header padded by spaces to a multiple of 8
bytes, and replaces the target file atomically (temporary file + rename).
"""
import json
import os
import struct
import tempfile

import numpy as np

DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4",
          "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}
_NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


def read(path):
    """Returns (dict name -> numpy array, metadata dict)."""
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len])
    data = blob[8 + header_len:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=DTYPES[entry["dtype"]])
        tensors[name] = array.reshape(entry["shape"])
    return tensors, metadata


def write(path, tensors, metadata):
    """tensors: iterable of (name, numpy array); metadata: dict str -> str."""
    header = {"__metadata__": {str(k): str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name, array in tensors:
        array = np.asarray(array)
        if array.dtype.newbyteorder("<") not in _NAMES:
            raise ValueError(f"{name}: dtype {array.dtype} has no safetensors name")
        blob = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
        if name in header:
            raise ValueError(f"duplicate tensor name {name}")
        header[name] = {"dtype": _NAMES[array.dtype.newbyteorder("<")],
                        "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for blob in blobs:
                f.write(blob)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise

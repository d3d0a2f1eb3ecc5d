#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make-npy-fixtures.py: writes the .npy files that tests/unit/io/npy.c reads,
# with NumPy's own writer, into tests/data/npy/. Rerun it (and commit the
# output) whenever the list below changes; the test recomputes every value
# from the same formulas:
#   float arrays:   element i (row-major index) = (i - 3) * 0.25
#   signed ints:    i - 3;   u1: i * 40 % 256;   b1: i % 3 == 0
# Usage: tests/unit/io/make-npy-fixtures.py [OUTDIR]
import os
import sys

import numpy as np
from numpy.lib import format as npy_format

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "data", "npy")


def values(shape, dtype):
    n = int(np.prod(shape, dtype=np.int64))
    i = np.arange(n, dtype=np.int64)
    kind = np.dtype(dtype).kind
    if kind == "f":
        v = (i - 3) * 0.25
    elif kind == "i":
        v = i - 3
    elif kind == "u":
        v = i * 40 % 256
    else:
        v = i % 3 == 0
    return v.astype(dtype).reshape(shape)


def save(name, array, version=None):
    with open(os.path.join(OUT, name), "wb") as f:
        npy_format.write_array(f, array, version=version, allow_pickle=False)


def main():
    os.makedirs(OUT, exist_ok=True)
    save("f4-2x3.npy", values((2, 3), "<f4"))
    save("f2-3x5.npy", values((3, 5), "<f2"))
    save("f8-2x2x3.npy", values((2, 2, 3), "<f8"))
    save("f4-big-endian-2x3.npy", values((2, 3), ">f4"))
    save("f4-fortran-3x4x2.npy", np.asfortranarray(values((3, 4, 2), "<f4")))
    save("f8-fortran-2x5.npy", np.asfortranarray(values((2, 5), "<f8")))
    save("f4-v2-4x3.npy", values((4, 3), "<f4"), version=(2, 0))
    save("f4-v3-4x3.npy", values((4, 3), "<f4"), version=(3, 0))
    save("f4-scalar.npy", np.array(42.5, dtype="<f4"))
    save("f4-empty-0x3.npy", values((0, 3), "<f4"))
    save("i1-7.npy", values((7,), "|i1"))
    save("i2-2x3.npy", values((2, 3), "<i2"))
    save("i4-2x3.npy", values((2, 3), "<i4"))
    save("i8-2x3.npy", values((2, 3), "<i8"))
    save("u1-8.npy", values((8,), "|u1"))
    save("b1-6.npy", values((6,), "|b1"))
    # every kind of binary16 value: zeros, normals, the largest, the
    # smallest normal and subnormal, infinities and a NaN
    special = np.array([0.0, -0.0, 1.0, -2.0, 65504.0, 2.0**-14, 2.0**-24,
                        np.inf, -np.inf, np.nan], dtype="<f2")
    save("f2-special.npy", special)


if __name__ == "__main__":
    main()

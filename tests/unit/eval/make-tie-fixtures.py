#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make-tie-fixtures.py: writes tests/data/eval/numpy-order.safetensors, the
# answers NumPy itself gives for the three NumPy operations whose exact
# behaviour the detection metric (libtsl/eval/) depends on:
#
#   argsort   np.argsort(values) (default kind 'quicksort') on float64
#             arrays full of ties, sizes 1 .. 1000: the order of equal
#             values is the whole point. Includes -0.0 / +0.0 (equal), NaN
#             (sorted last), and inputs built by McIlroy's quicksort
#             adversary that drive NumPy's introsort into its heap sort
#             fallback.
#   sum       np.sum(values) on float64 arrays whose rounding depends on the
#             order of additions (NumPy's pairwise summation), sizes 1 .. 1000.
#   linspace  np.linspace(start, stop, num), including a step that rounds
#             to zero (numpy then scales i / (num - 1) by stop - start) and one
#             whose last value i * step + start misses stop.
#   tie_class the scores of one class of 24 predictions with ties, and
#             np.argsort(scores)[::-1], the ranking the metric uses.
#
# Run it with the NumPy the reference metric was run with (Debian 12's
# python3-numpy 1.24.2): newer NumPy releases sort with AVX-512 / other
# algorithms on some machines and give other tie orders. The script checks
# the version and, before writing, that its own model of NumPy 1.24's
# argsort (used to build the adversarial inputs) agrees with np.argsort on
# every case.
#
# Layout (all little-endian, 8-byte aligned): for each group G in argsort,
# sum, linspace: G.offsets I64 [cases + 1] delimiting the cases in the
# concatenated G.values F64; argsort.result I64 (same length as values),
# sum.result F64 [cases], linspace.args F64 [cases, 3] (start, stop, num)
# and linspace.result F64 (concatenated); tie_class.scores F64 [24],
# tie_class.ranking I64 [24]. Metadata: tsl.fixture-version (bump it and the
# test's copy when the content changes), tsl.fixture-script, numpy version,
# heap-fallback case indices.
# Usage: tests/unit/eval/make-tie-fixtures.py [OUTDIR]
import json
import os
import struct
import sys

import numpy as np

FIXTURE_VERSION = "1"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "data", "eval")
SMALL = 15  # partitions with at most SMALL + 1 elements are insertion sorted


def less(a, b):
    """NumPy's float order: NaN after everything, NaN == NaN."""
    return a < b or (b != b and a == a)


def model_argsort(v, cmp_less=None):
    """NumPy 1.24 aquicksort (introsort) on the list v; returns the index
    order and whether the heap sort fallback ran. cmp_less(i, j) compares
    elements by index (default: NumPy's float order on v)."""
    lt = cmp_less or (lambda i, j: less(v[i], v[j]))
    n = len(v)
    a = list(range(n))
    used_heap = False

    def heapsort(lo, num):
        # 1-based heap over a[lo .. lo + num - 1]
        def at(i):
            return a[lo + i - 1]

        def put(i, x):
            a[lo + i - 1] = x

        for l in range(num >> 1, 0, -1):
            tmp = at(l)
            i, j = l, l << 1
            while j <= num:
                if j < num and lt(at(j), at(j + 1)):
                    j += 1
                if lt(tmp, at(j)):
                    put(i, at(j))
                    i = j
                    j += j
                else:
                    break
            put(i, tmp)
        m = num
        while m > 1:
            tmp = at(m)
            put(m, at(1))
            m -= 1
            i, j = 1, 2
            while j <= m:
                if j < m and lt(at(j), at(j + 1)):
                    j += 1
                if lt(tmp, at(j)):
                    put(i, at(j))
                    i = j
                    j += j
                else:
                    break
            put(i, tmp)

    if n == 0:
        return a, False
    pl, pr = 0, n - 1
    stack = []
    cdepth = (n.bit_length() - 1) * 2
    while True:
        if cdepth < 0:
            used_heap = True
            heapsort(pl, pr - pl + 1)
        else:
            while pr - pl > SMALL:
                pm = pl + ((pr - pl) >> 1)
                if lt(a[pm], a[pl]):
                    a[pm], a[pl] = a[pl], a[pm]
                if lt(a[pr], a[pm]):
                    a[pr], a[pm] = a[pm], a[pr]
                if lt(a[pm], a[pl]):
                    a[pm], a[pl] = a[pl], a[pm]
                vp = a[pm]
                pi, pj = pl, pr - 1
                a[pm], a[pj] = a[pj], a[pm]
                while True:
                    pi += 1
                    while lt(a[pi], vp):
                        pi += 1
                    pj -= 1
                    while lt(vp, a[pj]):
                        pj -= 1
                    if pi >= pj:
                        break
                    a[pi], a[pj] = a[pj], a[pi]
                pk = pr - 1
                a[pi], a[pk] = a[pk], a[pi]
                cdepth -= 1
                if pi - pl < pr - pi:
                    stack.append((pi + 1, pr, cdepth))
                    pr = pi - 1
                else:
                    stack.append((pl, pi - 1, cdepth))
                    pl = pi + 1
            for pi in range(pl + 1, pr + 1):
                vi = a[pi]
                pj = pi
                while pj > pl and lt(vi, a[pj - 1]):
                    a[pj] = a[pj - 1]
                    pj -= 1
                a[pj] = vi
        if not stack:
            break
        pl, pr, cdepth = stack.pop()
    return a, used_heap


def adversary(n):
    """McIlroy's 'killer adversary for quicksort' run against the model:
    values are fixed lazily so that every pivot is nearly the smallest."""
    gas = n
    val = [gas] * n
    state = {"solid": 0, "candidate": 0}

    def freeze(i):
        val[i] = state["solid"]
        state["solid"] += 1

    def lt(i, j):
        if val[i] == gas and val[j] == gas:
            freeze(i if i == state["candidate"] else j)
        if val[i] == gas:
            state["candidate"] = i
        elif val[j] == gas:
            state["candidate"] = j
        return val[i] < val[j]

    model_argsort(val, lt)
    return [float(x) for x in val]


def argsort_cases(rng):
    cases = []
    for n in list(range(1, 41)) + [47, 64, 100, 257, 300]:
        for levels in (1, 2, 3, 7, max(1, n // 3)):
            cases.append(rng.integers(0, levels, n).astype(np.float64) * 0.125)
    for n in (17, 20, 33, 100, 500):
        cases.append(np.full(n, 0.333))
    ramp = np.repeat(np.arange(30, dtype=np.float64), 3)  # sorted, each value 3 times
    cases += [ramp, ramp[::-1].copy(), np.concatenate([ramp, ramp[::-1]])]
    signed_zero = np.where(rng.random(41) < 0.5, 0.0, -0.0)
    signed_zero[::5] = 0.25
    cases.append(signed_zero)
    with_nan = rng.integers(0, 4, 53).astype(np.float64)
    with_nan[rng.random(53) < 0.2] = np.nan
    cases.append(with_nan)
    heap_cases = []
    for n in (64, 300, 1000):
        killer = np.array(adversary(n))
        heap_cases.append(len(cases))
        cases.append(np.floor(killer / 2))  # pairs of equal values
    return cases, heap_cases


def sum_cases(rng):
    cases = []
    for n in list(range(1, 21)) + [31, 64, 127, 128, 129, 255, 256, 300, 1000]:
        mag = 10.0 ** rng.integers(-8, 9, n)
        cases.append(rng.random(n) * mag * np.where(rng.random(n) < 0.3, -1.0, 1.0))
    return cases


LINSPACE = [(0.1, 0.5, 5), (0.5, 0.95, 10), (0.3, 0.7, 5), (0.1, 0.5, 1), (0.1, 0.5, 2),
            (0.3, 0.9, 3), (1.0, 0.0, 7), (-0.35, 0.9, 11), (0.0, 5e-324, 3),
            (0.0, 1e-320, 3), (0.0, 1.5e-323, 9)]


def ties_class():
    """24 predictions of one class: scores 0.9 x7, 0.6 x9, 0.3 x8, in an
    order that is neither sorted nor grouped."""
    scores = np.array([0.9] * 7 + [0.6] * 9 + [0.3] * 8)
    perm = np.random.default_rng(24).permutation(24)
    return scores[perm]


def concat(arrays, dtype):
    offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(a) for a in arrays])
    flat = np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)
    return offsets, flat


def write(path, tensors, metadata):
    header = {"__metadata__": metadata}
    data = b""
    for name, array in tensors:
        blob = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        dtype = {"f8": "F64", "i8": "I64"}[array.dtype.str[1:]]
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((-8 - len(text)) % 8)  # 8-byte aligned data
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(data)


def main():
    if not np.__version__.startswith("1.24."):
        sys.exit("make-tie-fixtures.py: needs NumPy 1.24 (the reference's), found "
                 + np.__version__)
    rng = np.random.default_rng(20231)
    cases, heap_cases = argsort_cases(rng)
    results = []
    for k, v in enumerate(cases):
        got = np.argsort(v)
        model, used_heap = model_argsort(list(v))
        if list(got) != model:
            sys.exit("make-tie-fixtures.py: model disagrees with np.argsort on case %d" % k)
        if (k in heap_cases) != used_heap:
            sys.exit("make-tie-fixtures.py: case %d heap fallback %s" % (k, used_heap))
        results.append(got.astype(np.int64))
    a_off, a_val = concat(cases, np.float64)
    _, a_res = concat(results, np.int64)

    sums = sum_cases(rng)
    s_off, s_val = concat(sums, np.float64)
    s_res = np.array([np.sum(v) for v in sums], dtype=np.float64)

    l_args = np.array(LINSPACE, dtype=np.float64)
    l_off, l_res = concat([np.linspace(a, b, n) for a, b, n in LINSPACE], np.float64)

    scores = ties_class()
    ranking = scores.argsort()[::-1].astype(np.int64)

    os.makedirs(OUT, exist_ok=True)
    write(os.path.join(OUT, "numpy-order.safetensors"), [
        ("argsort.offsets", a_off), ("argsort.values", a_val), ("argsort.result", a_res),
        ("sum.offsets", s_off), ("sum.values", s_val), ("sum.result", s_res),
        ("linspace.args", l_args), ("linspace.offsets", l_off), ("linspace.result", l_res),
        ("tie_class.scores", scores), ("tie_class.ranking", ranking),
    ], {
        "tsl.fixture-version": FIXTURE_VERSION,
        "tsl.fixture-script": "tests/unit/eval/make-tie-fixtures.py",
        "numpy": np.__version__,
        "argsort.heap-fallback-cases": json.dumps(heap_cases),
    })


if __name__ == "__main__":
    main()

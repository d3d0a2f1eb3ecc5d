#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# info.sh GST_TSL_TRAIN DATA_DIR: tests `gst-tsl-train info`. Good files
# (the safetensors reference and .npy fixtures, recognised by content even
# when renamed) must print their tensors and exit 0; malformed files must
# exit 1 with "gst-tsl-train info: FILE: problem" on stderr; usage errors
# must exit 2; --help must exit 0. Output is TAP.
set -u

tool=$1
data=$2
command=info
. "$(dirname "$0")/tap.sh"

# a good safetensors file, also under a name that says nothing
reference="$data/safetensors/reference.safetensors"
cp "$reference" "$tmp/renamed.npy"
for f in "$reference" "$tmp/renamed.npy"; do
    if run 0 "info on $(basename "$f") succeeds" "$f"; then
        expect "$tmp/out" "safetensors, 13 tensors" "$(basename "$f"): summary line"
        expect "$tmp/out" '^  f32  *F32  *\[2, 3\]  *24$' "$(basename "$f"): f32 row"
        expect "$tmp/out" '^  bf16  *BF16  *\[2, 2, 2\]  *16$' "$(basename "$f"): bf16 row"
        expect "$tmp/out" '^  scalar  *F32  *\[\]  *4$' "$(basename "$f"): scalar row"
        expect "$tmp/out" 'tsl.fixture-version  1$' "$(basename "$f"): metadata"
        expect "$tmp/out" 'one tensor of every dtype second line' \
            "$(basename "$f"): multi-line value on one line"
    fi
done

# a long metadata value is cut unless --full
long_value=$(printf '%0300d' 0)
header="{\"__metadata__\":{\"tsl.config\":\"$long_value\"}}"
length_lo=$(printf '%03o' $((${#header} % 256)))
length_hi=$(printf '%03o' $((${#header} / 256)))
printf "\\$length_lo\\$length_hi\\0\\0\\0\\0\\0\\0%s" "$header" > "$tmp/long.safetensors"
if run 0 "info on a file with a long metadata value" "$tmp/long.safetensors"; then
    expect "$tmp/out" 'tsl.config  0000000000.* \.\.\. (300 bytes)$' "long value cut"
fi
if run 0 "info --full" --full "$tmp/long.safetensors"; then
    expect "$tmp/out" "tsl.config  $long_value\$" "--full prints the value whole"
fi

# .npy files
if run 0 "info on a Fortran-order .npy" "$data/npy/f4-fortran-3x4x2.npy"; then
    expect "$tmp/out" '\.npy version 1\.0' "npy version"
    expect "$tmp/out" 'dtype  F32, little-endian' "npy dtype"
    expect "$tmp/out" 'shape  \[3, 4, 2\]' "npy shape"
    expect "$tmp/out" 'order  Fortran' "npy order"
fi
cp "$data/npy/f4-v3-4x3.npy" "$tmp/renamed.safetensors"
if run 0 "a .npy named .safetensors is read as .npy" "$tmp/renamed.safetensors"; then
    expect "$tmp/out" '\.npy version 3\.0' "npy recognised by content"
fi

# malformed files: exit 1 and the reader's message
printf 'abc' > "$tmp/short.safetensors"
printf '\002\0\0\0\0\0\0\0[]' > "$tmp/array.safetensors"
printf '\377\0\0\0\0\0\0\0{}' > "$tmp/past-end.safetensors"
printf '\223NUMPY\004\0\0\0' > "$tmp/version.npy"
: > "$tmp/empty"
for case in "short.safetensors:shorter than the 8-byte header length" \
            "array.safetensors:header is not a JSON object" \
            "past-end.safetensors:runs past the end of the file" \
            "version.npy:unsupported .npy format version 4.0" \
            "empty:file is 0 bytes"; do
    file=${case%%:*}
    problem=${case#*:}
    if run 1 "malformed $file exits 1" "$tmp/$file"; then
        expect "$tmp/err" "^gst-tsl-train info: $tmp/$file: .*$problem" "$file: message"
    fi
done
if run 1 "a missing file exits 1" "$tmp/missing"; then
    expect "$tmp/err" "^gst-tsl-train info: $tmp/missing: cannot open" "missing file: message"
fi
if run 1 "a directory exits 1" "$tmp"; then
    expect "$tmp/err" "not a regular file" "directory: message"
fi

# usage
if run 2 "no FILE exits 2"; then expect "$tmp/err" "missing FILE" "no FILE: message"; fi
if run 2 "two FILEs exit 2" "$reference" "$reference"; then
    expect "$tmp/err" "one FILE only" "two FILEs: message"
fi
if run 2 "an unknown option exits 2" --bogus "$reference"; then
    expect "$tmp/err" "unknown option '--bogus'" "unknown option: message"
fi
if run 0 "--help exits 0" --help; then
    expect "$tmp/out" "^Usage: gst-tsl-train info" "help text"
fi
# a FILE that starts with '-' needs '--'
cp "$reference" "$tmp/-dash.safetensors"
cd "$tmp" || exit 1
run 2 "-dash.safetensors alone is an unknown option" -dash.safetensors && ok "option parsing"
run 0 "'--' ends the options" -- -dash.safetensors && ok "'--' ends the options"

echo "1..$n"
exit $failed

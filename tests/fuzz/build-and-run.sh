#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# build-and-run.sh TARGET SECONDS [OUTDIR]
#
# Compiles tests/fuzz/fuzz-TARGET.c (TARGET: safetensors or npy) with clang,
# libFuzzer, AddressSanitizer (with leak detection) and UBSan, together with
# the file readers it exercises, then fuzzes it for SECONDS seconds starting
# from the seed corpus tests/fuzz/corpus/TARGET. New inputs go to
# OUTDIR/corpus-TARGET, crash reproducers to OUTDIR/ (default OUTDIR:
# $TMPDIR/tsl-fuzz). The main build uses gcc, hence this separate compile.
#
# Exit status: 0 when nothing was found, 1 on a crash, sanitizer report,
# leak or timeout, 77 (skipped) when clang with libFuzzer is not available.
# CLANG overrides the compiler; extra arguments for libFuzzer may follow in
# FUZZ_ARGS (e.g. FUZZ_ARGS=-jobs=2).
set -eu

target=$1
seconds=$2
out=${3:-${TMPDIR:-/tmp}/tsl-fuzz}
src=$(cd "$(dirname "$0")/../.." && pwd)

clang=${CLANG:-}
if [ -z "$clang" ]; then
    clang=$(command -v clang-14 || command -v clang || true)
fi
if [ -z "$clang" ]; then
    echo "skipping: no clang found (set CLANG)"
    exit 77
fi
case $target in
    safetensors|npy) ;;
    *) echo "unknown fuzz target '$target' (safetensors or npy)" >&2; exit 2 ;;
esac

mkdir -p "$out/corpus-$target"
probe="$out/probe-$target"
printf 'int LLVMFuzzerTestOneInput (const char *d, unsigned long n) { return 0; }\n' > "$probe.c"
if ! "$clang" -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" 2>"$probe.log"; then
    echo "skipping: $clang cannot build libFuzzer targets:"
    cat "$probe.log"
    exit 77
fi

io="$src/libtsl/io"
# shellcheck disable=SC2046 # pkg-config output is meant to be split
"$clang" -std=gnu11 -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Wall -Wno-unused-parameter \
    -I"$src/libtsl" $(pkg-config --cflags glib-2.0 json-glib-1.0) \
    "$src/tests/fuzz/fuzz-$target.c" "$src/libtsl/error.c" "$io/dtype.c" "$io/file.c" \
    "$io/json-check.c" "$io/npy.c" "$io/safetensors.c" "$io/safetensors-writer.c" \
    $(pkg-config --libs glib-2.0 json-glib-1.0) -lm \
    -o "$out/fuzz-$target"

# GLib's slice allocator would hide heap errors from ASan
export G_SLICE=always-malloc
# libFuzzer's default exit status for a finding is 77, which means "skipped"
# to test harnesses: report findings as 1
# shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
exec "$out/fuzz-$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
    -dict="$src/tests/fuzz/$target.dict" -artifact_prefix="$out/$target-" \
    ${FUZZ_ARGS:-} "$out/corpus-$target" "$src/tests/fuzz/corpus/$target"

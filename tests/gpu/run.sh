#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/gpu/run.sh: the one command run on a GPU machine, from the
# repository root, with the bundle made by tools/gpu-bundle.sh carried in
# .gpu/ (executables in .gpu/bin, their libraries in .gpu/lib; files
# gzipped there are unpacked into a temporary copy first).
#
# Steps, in order of value, each under its own time limit and all within
# TSL_GPU_BUDGET_S (default 480 s) so the run ends well inside 10 minutes:
#   1. the device: nvidia-smi -L, driver version;
#   2. gpu-ops --mode test, --mode grad (CUDA-vs-CPU parity of every op);
#   3. gpu-ops --mode perf (median times, TFLOP/s, CPU times);
#   4. every other bundled executable: parity-* on the CUDA backend
#      (TSL_TEST_BACKEND=cuda), then bench-* (bench-actionformer on the
#      shipped fixture model, on CUDA and on the CPU; bench-videomae on a
#      random full-size ViT-g: clips/s and TFLOP/s);
#   5. compute-sanitizer, when it is there: memcheck over the op cases of
#      step 2 (test mode), racecheck over the ops whose kernels share
#      memory within a block.
# A missing executable or tool is reported, not fatal. The full log is
# $OUT/gpu-run.log (each step also in $OUT/<step>.log); the short summary
# table comes last. Exit status: 0 when every step passed or skipped.
set -u

cd "$(dirname "$0")/../.." || exit 2
root=$PWD
out=${OUT:-$root/gpu-out}
mkdir -p "$out"
deadline=$((SECONDS + ${TSL_GPU_BUDGET_S:-480}))
exec > >(tee "$out/gpu-run.log") 2>&1

echo "== device"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi -L
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
else
    echo "nvidia-smi not found"
fi

# the bundle, with its gzipped files unpacked into a temporary copy
gpu=$root/.gpu
if compgen -G "$gpu/*/*.gz" >/dev/null; then
    unpacked=$(mktemp -d)
    cp -r "$gpu/bin" "$gpu/lib" "$unpacked/"
    for packed in "$unpacked"/*/*.gz; do
        gunzip -f "$packed"
    done
    chmod +x "$unpacked"/bin/*
    gpu=$unpacked
fi
bin=$gpu/bin

# the bundle's libraries first, then the CUDA toolkit's (cudart, cuBLAS)
libdirs=$gpu/lib
for dir in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
           /usr/local/cuda-*/lib64; do
    [ -d "$dir" ] && libdirs=$libdirs:$dir
done
export LD_LIBRARY_PATH=$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export TSL_TEST_DATA=$root/tests/data
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

rows=()
failed=0

# step NAME LIMIT_S COMMAND...: runs COMMAND with a time limit, logs it to
# $out/NAME.log and adds a row to the summary
step () {
    local name=$1 limit=$2
    shift 2
    local left=$((deadline - SECONDS - 5))
    local status detail start rc

    if [ ! -x "$1" ] && ! command -v "$1" >/dev/null 2>&1; then
        rows+=("$(printf '%-28s %-8s %6s  %s' "$name" MISSING - "$1")")
        return
    fi
    if [ "$left" -lt 10 ]; then
        rows+=("$(printf '%-28s %-8s %6s  %s' "$name" NO-TIME - "time budget used up")")
        return
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo
    echo "== $name: $* (limit ${limit}s)"
    start=$SECONDS
    timeout -k 10 "$limit" "$@" 2>&1 | tee "$out/$name.log"
    rc=${PIPESTATUS[0]}
    case $rc in
    0) status=PASS ;;
    77) status=SKIP ;;
    124 | 137) status=TIMEOUT; failed=1 ;;
    *) status="FAIL($rc)"; failed=1 ;;
    esac
    detail=$(grep -E '^# [0-9]+ passed' "$out/$name.log" | tail -1 | sed 's/^# //')
    [ -z "$detail" ] && detail=$(grep -o -m 1 '# SKIP.*' "$out/$name.log")
    [ -z "$detail" ] && detail=$(grep -o -m 1 '"median_s": [0-9.]*' "$out/$name.log")
    if [ -z "$detail" ] && grep -q -E '^(not )?ok ' "$out/$name.log"; then
        detail="$(grep -c '^ok ' "$out/$name.log") ok,"
        detail="$detail $(grep -c '^not ok ' "$out/$name.log") not ok"
    fi
    rows+=("$(printf '%-28s %-8s %6s  %s' "$name" "$status" $((SECONDS - start)) "$detail")")
}

step gpu-ops-test 150 "$bin/gpu-ops" --mode test
step gpu-ops-grad 150 "$bin/gpu-ops" --mode grad
step gpu-ops-perf 180 "$bin/gpu-ops" --mode perf

for exe in "$bin"/parity-*; do
    [ -e "$exe" ] || continue
    step "$(basename "$exe")-cuda" 120 env TSL_TEST_BACKEND=cuda "$exe"
done
for exe in "$bin"/bench-*; do
    [ -e "$exe" ] || continue
    name=$(basename "$exe")
    case $name in
    bench-actionformer)
        # the whole model on the shipped fixture (it accepts up to 384 steps)
        model=$root/tests/data/actionformer-fixture.safetensors
        step "$name-cuda" 90 "$exe" "$model" 384 20 cuda
        step "$name-cpu" 90 "$exe" "$model" 384 5 cpu ;;
    bench-videomae)
        # ViT-g (the seed's video encoder) at full size with random weights,
        # written there (4 GB, numpy only), 4 clips per forward
        vitg=$(mktemp -d)/vit-g.safetensors
        step make-vit-g 150 python3 "$root/tools/make-random-videomae.py" \
            --variant vit_giant_patch14_224 --output "$vitg"
        if [ -f "$vitg" ]; then
            step "$name-vit-g-cuda" 120 "$exe" "$vitg" 4 5 cuda
            rm -f "$vitg"
        fi ;;
    bench-audio)
        step "$name-cuda" 60 "$exe" "$root/tests/data/audio-fixture.safetensors" 64 10 cuda ;;
    *)
        step "$name" 90 "$exe" ;;
    esac
done

if command -v compute-sanitizer >/dev/null 2>&1; then
    step memcheck 150 compute-sanitizer --tool memcheck --error-exitcode 99 \
        "$bin/gpu-ops" --mode test
    step racecheck 120 compute-sanitizer --tool racecheck --error-exitcode 99 \
        "$bin/gpu-ops" --op layernorm,local_attention,softmax,conv1d,bias_add,focal_loss,sum_squares
else
    rows+=("$(printf '%-28s %-8s %6s  %s' compute-sanitizer MISSING - "not on PATH")")
fi

echo
if [ -f "$out/gpu-ops-perf.log" ]; then
    echo "== perf (from gpu-ops-perf.log)"
    grep -v '^#' "$out/gpu-ops-perf.log"
    echo
fi
echo "== summary ($(nvidia-smi -L 2>/dev/null | head -1); full log: $out/gpu-run.log)"
printf '%-28s %-8s %6s  %s\n' step status secs detail
printf '%s\n' "${rows[@]}"
exit $failed

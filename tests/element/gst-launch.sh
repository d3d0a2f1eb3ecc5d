#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# gst-launch.sh: the elements together in gst-launch-1.0, as a user runs
# them: feature file -> tslfeaturesrc -> tslactionformer -> tsldecode ->
# fakesink, in offline and in streaming mode; and a missing feature file
# must fail with its name in the error. (tests/tools/pipeline-predict.py
# checks the events themselves.)
#
#   gst-launch.sh GST_LAUNCH MODEL
#
# MODEL is the ActionFormer fixture (tests/data), which also holds the
# features video0.feats [12, 50] and video1.feats [12, 64]. The plugin comes
# from GST_PLUGIN_PATH_1_0; fakesink from the system plugins.
set -u

launch=$1
model=$2
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME EXPECTED-STATUS PIPELINE...: ok when gst-launch exits with the
# expected status (0 or "fail") and, on success, prints nothing to stderr
run () {
    name=$1
    expect=$2
    shift 2
    "$launch" -q "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
    if [ "$expect" = 0 ] && [ $status -eq 0 ] && [ ! -s "$tmp/err" ]; then
        echo "ok - $name"
    elif [ "$expect" = fail ] && [ $status -ne 0 ]; then
        echo "ok - $name (exit $status)"
    else
        echo "not ok - $name (exit $status)"
        sed 's/^/# /' "$tmp/out" "$tmp/err"
        failures=$((failures + 1))
        return 1
    fi
}

run "offline, safetensors features" 0 \
    tslfeaturesrc location="$model:video0.feats" ! \
    tslactionformer model="$model" backend=cpu ! \
    tsldecode model="$model" ! fakesink
run "streaming, window 16, hop 6" 0 \
    tslfeaturesrc location="$model:video1.feats" model="$model" vectors-per-buffer=3 ! \
    tslactionformer model="$model" backend=cpu mode=streaming window=16 hop=6 ! \
    tsldecode model="$model" format=text ! fakesink
run "missing feature file" fail \
    tslfeaturesrc location="$tmp/missing.npy" ! \
    tslactionformer model="$model" backend=cpu ! tsldecode model="$model" ! fakesink
if grep -q "missing.npy" "$tmp/err" "$tmp/out"; then
    echo "ok - the error names the missing file"
else
    echo "not ok - the error names the missing file"
    sed 's/^/# /' "$tmp/out" "$tmp/err"
    failures=$((failures + 1))
fi

echo "1..4"
[ $failures -eq 0 ]

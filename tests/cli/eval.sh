#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# eval.sh GST_TSL_TRAIN DATA_DIR: tests `gst-tsl-train eval` on the small
# pair in DATA_DIR/eval: annotations.json (Perception Test form; valid split:
# v1 dog [0, 10] s and bell [20, 30] s, v2 dog [5, 15] s; train split: v3
# bell [0, 5] s) and the same predictions in the submission form
# (predictions.json) and as a list (predictions-list.json).
# By hand, ranking each class by score:
#   dog:  v1 [0, 10] 0.9 (IoU 1), v2 [10, 15] 0.8 (IoU 0.5), v3 0.7 (train
#         split: false positive), v9 0.1 (no such video: false positive):
#         TP, TP, FP, FP -> AP 1 at every threshold;
#   bell: v1 [0, 3] 0.95 (false positive), v1 [20, 23] 0.6 (IoU 3/10 = 0.3):
#         FP, TP -> AP 1/2 at 0.1 and 0.2, and 0 from the third threshold on,
#         which is 0.30000000000000004 (np.linspace), not 0.3;
#   label 9 has no ground truth and is not evaluated.
# mAP = (0.75, 0.75, 0.5, 0.5, 0.5), average 3.0 / 5 = 0.6.
# Output is TAP.
set -u

tool=$1
data=$2/eval
command=eval
. "$(dirname "$0")/tap.sh"

# same FILE TEXT DESCRIPTION: FILE holds exactly the line TEXT
same () {
    if [ "$(cat "$1")" = "$2" ]; then ok "$3"; else not_ok "$3"; fi
}

gt="$data/annotations.json"
want='{"mAP": {"0.1": 0.75, "0.2": 0.75, "0.3": 0.5, "0.4": 0.5, "0.5": 0.5}, "average": 0.6}'

for preds in predictions.json predictions-list.json; do
    if run 0 "eval --json on $preds" --annotations "$gt" --predictions "$data/$preds" --json; then
        same "$tmp/out" "$want" "$preds: mAP per threshold and average"
    fi
done
if run 0 "eval --split valid (short options)" -a "$gt" -p "$data/predictions.json" -s valid \
       --json; then
    same "$tmp/out" "$want" "explicit split: same numbers"
fi

if run 0 "eval prints a table" --annotations "$gt" --predictions "$data/predictions.json"; then
    expect "$tmp/out" "split valid: 2 videos, 3 segments, 2 classes" "table: ground truth summary"
    expect "$tmp/out" '^dog  *0  *2  *4   1\.0000   1\.0000   1\.0000   1\.0000   1\.0000$' \
        "table: dog row"
    expect "$tmp/out" '^bell  *1  *1  *2   0\.5000   0\.5000   0\.0000   0\.0000   0\.0000$' \
        "table: bell row"
    expect "$tmp/out" '^mAP  *0\.7500   0\.7500   0\.5000   0\.5000   0\.5000$' "table: mAP row"
    expect "$tmp/out" '^average mAP: 0\.6000$' "table: average"
fi

# the train split holds one segment (v3, bell)
if run 0 "eval --split train" -a "$gt" -p "$data/predictions.json" --split train; then
    expect "$tmp/out" "split train: 1 videos, 1 segments, 1 classes" "train split summary"
fi

# usage errors: exit 2
if run 2 "--model with --predictions exits 2" -a "$gt" -p "$data/predictions.json" \
    --model m.safetensors --features feats/; then
    expect "$tmp/err" "either --predictions, or --model with --features" "--model: message"
fi
if run 2 "--model without --features exits 2" -a "$gt" --model m.safetensors; then
    expect "$tmp/err" "either --predictions, or --model with --features" "--features: message"
fi
if run 2 "missing --predictions exits 2" --annotations "$gt"; then
    expect "$tmp/err" "--annotations and either --predictions" "missing option: message"
fi
if run 2 "an unknown option exits 2" -a "$gt" -p "$data/predictions.json" --bogus; then
    expect "$tmp/err" "Unknown option --bogus" "unknown option: message"
fi
if run 0 "--help exits 0" --help; then
    expect "$tmp/out" "^Usage:" "help text"
fi

# unreadable or unusable input: exit 1 with the reader's message
if run 1 "a split without ground truth exits 1" -a "$gt" -p "$data/predictions.json" \
       --split test; then
    expect "$tmp/err" "^gst-tsl-train eval: $gt: no ground-truth segment in split 'test'" \
        "empty split: message"
fi
printf '{"v1": {"sound_localisation": [{"label": "dog", "score": 1, "timestamps": [0, 1]}]}}' \
    > "$tmp/bad-label.json"
if run 1 "a label name instead of an id exits 1" -a "$gt" -p "$tmp/bad-label.json"; then
    expect "$tmp/err" "^gst-tsl-train eval: $tmp/bad-label.json: video 'v1': \
sound_localisation\\[0\\]\\.label: 'dog' is not an integer label id" "bad label: message"
fi
printf '{"v1": {"metadata": {"split": "valid"}, "sound_localisation": [%s]}}' \
    '{"label": "dog", "timestamps": [0, 1]}' > "$tmp/bad-gt.json"
if run 1 "annotations without label_id exit 1" -a "$tmp/bad-gt.json" \
       -p "$data/predictions.json"; then
    expect "$tmp/err" "^gst-tsl-train eval: $tmp/bad-gt.json: video 'v1': \
sound_localisation\\[0\\]\\.label_id: missing" "bad annotations: message"
fi
if run 1 "a missing predictions file exits 1" -a "$gt" -p "$tmp/missing.json"; then
    expect "$tmp/err" "^gst-tsl-train eval: $tmp/missing.json: cannot open" "missing file: message"
fi

echo "1..$n"
exit $failed

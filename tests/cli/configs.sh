#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The shipped training configurations parse: `fit` reads its configuration
# before anything else, so with a missing annotation file a valid config
# fails on that file, and an invalid one (checked too) on the config.
#   configs.sh GST_TSL_TRAIN CONFIGS_DIR
tool=$1
dir=$2
n=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check () {  # description, expected stderr pattern, fit arguments...
    desc=$1; pattern=$2; shift 2
    n=$((n + 1))
    "$tool" fit --annotations "$tmp/absent.json" --features "$tmp" --output "$tmp/run" "$@" \
        >/dev/null 2>"$tmp/err"
    status=$?
    if [ $status -ne 0 ] && grep -q "$pattern" "$tmp/err"; then
        echo "ok $n - $desc"
    else
        echo "not ok $n - $desc (exit $status: $(cat "$tmp/err"))"
        failed=1
    fi
}

for config in "$dir"/*.json; do
    check "$(basename "$config") parses" "absent.json: cannot open" --config "$config"
    check "$(basename "$config") with a bad override is refused" "model.n_head" \
        --config "$config" --set model.n_head=5
done
echo "1..$n"
exit $failed

# SPDX-License-Identifier: LGPL-2.1-or-later
# tap.sh: TAP helpers the command-line tests source. Before sourcing, set
# tool (the gst-tsl-train binary) and command (its subcommand under test).
# Leaves the output of each run in $tmp/out and $tmp/err; $failed is 1
# once a check failed, and $n counts the checks.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tsl-cli-$command-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

ok () {
    n=$((n + 1))
    echo "ok $n - $1"
}

not_ok () {
    n=$((n + 1))
    failed=1
    echo "not ok $n - $1"
    sed 's/^/# /' "$tmp/out" "$tmp/err"
}

# run EXPECTED_STATUS DESCRIPTION ARGS...: runs the command, output in $tmp/out and $tmp/err
run () {
    expected=$1
    what=$2
    shift 2
    "$tool" "$command" "$@" > "$tmp/out" 2> "$tmp/err"
    status=$?
    if [ "$status" -ne "$expected" ]; then
        echo "# exit status $status, expected $expected" >> "$tmp/err"
        not_ok "$what"
        return 1
    fi
    return 0
}

# expect FILE PATTERN DESCRIPTION: FILE has a line matching PATTERN
expect () {
    if grep -q -- "$2" "$1"; then ok "$3"; else not_ok "$3"; fi
}

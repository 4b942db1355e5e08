#!/usr/bin/env bash
# Runs integration-test binaries one after another (inside the VM, through tests/vm/run.sh),
# timing each, going on after a failure, and exiting non-zero if any failed. Arguments after
# `--` go to every binary (e.g. a test name filter, --test-threads=1).
#
#   tests/vm/suite.sh target/debug/deps/cgroup-0123abcd target/debug/deps/process-4567ef01
set -uo pipefail

bins=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    bins+=("$1")
    shift
done
[ $# -gt 0 ] && shift
[ ${#bins[@]} -gt 0 ] || {
    echo "usage: $0 TEST_BINARY... [-- ARG...]" >&2
    exit 2
}

failed=()
summary=()
start=$(date +%s)
for bin in "${bins[@]}"; do
    name=$(basename "$bin")
    name=${name%-*}
    echo "=== $name ($bin $*)"
    t0=$(date +%s)
    "$bin" "$@"
    status=$?
    t=$(($(date +%s) - t0))
    [ "$status" = 0 ] || failed+=("$name")
    summary+=("$(printf '%-16s %4ss  exit %s' "$name" "$t" "$status")")
done

echo "=== suite on ${SBX_VM_KERNEL:-$(uname -r)}: $(($(date +%s) - start))s"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "=== FAILED: ${failed[*]}"
    exit 1
fi

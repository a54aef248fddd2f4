#!/usr/bin/env bash
# What scripts/scenario (and so scripts/demo) builds (issue 10, point 5): only
# the programs the scenario runs, with CMake's progress shown (a first run
# used to be silent for ~50 s while it built every test and benchmark too).
#
#   build_targets.sh BUILD_DIR
set -euo pipefail

build_dir="$1"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pass=0 fail=0
check() {
    local what="$1"; shift
    if "$@"; then echo "ok   $what"; pass=$((pass + 1)); else echo "FAIL $what"; fail=$((fail + 1)); fi
}

out="$(node "$repo/scripts/scenario.mjs" example-network --build-only --build-dir "$build_dir" 2>&1)" || true
echo "$out"
check "announces what it builds" grep -q "^building paychand, persistence-service, random-nr-service, public-service" <<<"$out"
for t in paychand persistence-service random-nr-service public-service; do
    check "shows the progress of $t" grep -q "Built target $t\$" <<<"$out"
done
check "builds no test or benchmark" bash -c '! grep -Eq "Built target (test_|bench_|paychan_test_support)" <<<"$1"' _ "$out"
check "starts nothing (--build-only)" bash -c '! grep -q "^running" <<<"$1"' _ "$out"
# A scenario that also runs programs not built by CMake (the Python services of
# example-network-proxy): only the build/ ones are CMake targets.
out="$(node "$repo/scripts/scenario.mjs" example-network-proxy --build-only --build-dir "$build_dir" 2>&1)" || true
echo "$out"
check "builds only the CMake programs of example-network-proxy" grep -q "^building paychand, paychan-proxy in" <<<"$out"
check "example-network-proxy builds" grep -q "Built target paychan-proxy\$" <<<"$out"
echo "build_targets.sh: $pass passed, $fail failed"
((fail == 0))

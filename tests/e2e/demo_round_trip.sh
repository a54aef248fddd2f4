#!/usr/bin/env bash
# End-to-end: the main job's round trip (paychan-demo) on a dev chain started
# by devnet/start.sh, with the dev-only keystores. Arguments after the demo
# binary go to devnet/start.sh (e.g. --block-time 2 for real-chain timing).
# Passes when paychan-demo exits 0, i.e. both balances matched to the wei.
set -euo pipefail

demo_bin="$1"; shift
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
state_dir="$(mktemp -d)"
trap '"$repo/devnet/stop.sh" --state-dir "$state_dir" >/dev/null 2>&1 || true; rm -rf "$state_dir"' EXIT

# Pick a free port; start.sh refuses a taken one, so retry on a race.
for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    if "$repo/devnet/start.sh" --port "$port" --state-dir "$state_dir" "$@" >/dev/null; then
        cd "$repo"
        "$demo_bin" --node "http://127.0.0.1:$port" --requests 20
        exit $?
    fi
done
echo "demo_round_trip: could not start a dev chain" >&2
exit 1

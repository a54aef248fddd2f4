#!/usr/bin/env bash
# scripts/scenario in the foreground (issue 10, point 3): started without
# --detach it must stay up (it used to exit with code 13 within 0.5 s,
# leaving its processes without a parent, and Ctrl-C did nothing), serve,
# and on SIGTERM or SIGINT stop every process it started, then exit 0.
#
#   foreground.sh BUILD_DIR SCENARIO SIGNAL
#
# Runs on free ports (--port-offset) with its own run directory, the
# programs of BUILD_DIR as they are (--no-build).
set -euo pipefail

build_dir="$1" scenario="$2" signal="$3"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
# shellcheck source=tests/scenario/lib.sh
source "$repo/tests/scenario/lib.sh"
trap stop_scenario_and_clean EXIT

# Job control: a background job then gets SIGINT like a foreground one would (else bash ignores it).
set -m
started=0
# ports below 32768: outside the kernel's ephemeral range
start_scenario 10000 14000 && started=1
ports="$(cut -d' ' -f1 <<<"$endpoints" | tr '\n' ' ')"
check "scenario $scenario started" test "$started" = 1
((started)) || { echo "foreground.sh: $pass passed, $fail failed"; exit 1; }

# The processes it runs: every PID file of the run (the chain's under chain/).
pids="$(cat "$work/run"/*.pid "$work/run"/chain/anvil.pid 2>/dev/null | tr '\n' ' ' || true)"
check "PID files name the processes ($pids)" test -n "$pids"

sleep 2 # the old runner exited with code 13 within 0.5 s
check "the runner stays in the foreground" kill -0 "$runner_pid"
while read -r p ready; do # a readiness path answers 200; other ports answer HTTP at all
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$p${ready/#-//}" || true)"
    if [[ "$ready" == - ]]; then
        check "port $p answers HTTP (got ${code:-none})" test "${code:-000}" != 000
    else
        check "http://127.0.0.1:$p$ready answers 200 (got ${code:-none})" test "${code:-000}" = 200
    fi
done <<<"$endpoints"
for pid in $pids; do check "process $pid runs" kill -0 "$pid"; done

kill "-$signal" "$runner_pid"
rc=0
wait "$runner_pid" || rc=$?
runner_pid=""
check "the runner exits 0 after SIG$signal (exit $rc)" test "$rc" = 0
for pid in $pids; do check "process $pid is gone" bash -c "! kill -0 $pid 2>/dev/null"; done
for p in $ports; do check "port $p is free again" port_free "$p"; done
check "no PID file is left" bash -c "! ls '$work/run'/*.pid '$work/run'/chain/anvil.pid 2>/dev/null | grep -q ."
# latest started first, each gone before the next: a process stops while what it calls still runs
order="$(node -e 'const d = require(process.argv[1]);
  console.log(d.scenarios[process.argv[2]].processes.map((p) => p.name).reverse().join(" "))' \
  "$repo/deploy/scenarios.json" "$scenario")"
stopped="$(sed -n 's/^  stopped \([^ ]*\) (PID.*/\1/p' "$work/out.log" | paste -sd' ')"
check "stopped latest started first ($stopped)" test "$stopped" = "$order"
tail -n 8 "$work/out.log"
echo "foreground.sh ($scenario, SIG$signal): $pass passed, $fail failed"
((fail == 0))

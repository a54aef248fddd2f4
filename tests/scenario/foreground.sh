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
runner_pid=""
pass=0 fail=0

check() { # check DESCRIPTION COMMAND...: counts and prints the outcome
    local what="$1"; shift
    if "$@"; then echo "ok   $what"; pass=$((pass + 1)); else echo "FAIL $what"; fail=$((fail + 1)); fi
}

cleanup() {
    [[ -n "$runner_pid" ]] && kill -KILL "$runner_pid" 2>/dev/null || true
    node "$repo/scripts/scenario.mjs" stop "$scenario" --run-dir "$work/run" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# The scenario's ports, shifted, each with its readiness path (none: "-"), from deploy/scenarios.json.
endpoints_of() {
    node -e '
      const d = require(process.argv[1]); const s = d.scenarios[process.argv[2]];
      const off = Number(process.argv[3]);
      for (const p of s.processes) console.log(`${p.port + off} ${p.ready ?? "-"}`);
      if (s.chain) console.log(`${d.chain.port + off} -`);' \
      "$repo/deploy/scenarios.json" "$scenario" "$1"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Job control: a background job then gets SIGINT like a foreground one would (else bash ignores it).
set -m
started=0
for _ in 1 2 3 4 5; do
    offset=$((10000 + RANDOM % 14000)) # ports below 32768: outside the kernel's ephemeral range
    endpoints="$(endpoints_of "$offset")"
    ports="$(cut -d' ' -f1 <<<"$endpoints" | tr '\n' ' ')"
    all_free=1
    for p in $ports; do port_free "$p" || all_free=0; done
    ((all_free)) || continue
    node "$repo/scripts/scenario.mjs" "$scenario" --no-build --build-dir "$build_dir" \
        --port-offset "$offset" --run-dir "$work/run" >"$work/out.log" 2>&1 &
    runner_pid=$!
    for _ in $(seq 600); do # up to 60 s to start
        grep -q "^running;" "$work/out.log" && { started=1; break; }
        kill -0 "$runner_pid" 2>/dev/null || break
        sleep 0.1
    done
    ((started)) && break
    wait "$runner_pid" || true
    runner_pid=""
    # a port taken meanwhile by another process (a parallel test) is worth another try
    cat "$work/out.log"
    for log in "$work/run"/*.log; do [[ -f "$log" ]] && { echo "--- $log"; tail -n 15 "$log"; }; done
    grep -Eq "is in use|exited with" "$work/out.log" || break
    rm -rf "$work/run"
done
cat "$work/out.log"
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
tail -n 8 "$work/out.log"
echo "foreground.sh ($scenario, SIG$signal): $pass passed, $fail failed"
((fail == 0))

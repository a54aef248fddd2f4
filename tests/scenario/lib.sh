# shellcheck shell=bash
# tests/scenario/lib.sh: what the scenario tests share (sourced, not run): counting
# outcomes, and starting a scenario of deploy/scenarios.json with scripts/scenario in the
# foreground on free ports (--port-offset) with its own run directory, the programs of a
# build directory as they are (--no-build). The sourcing script sets repo, work (a
# temporary directory), build_dir and scenario before calling start_scenario.

pass=0 fail=0
runner_pid=""
offset=0

check() { # check DESCRIPTION COMMAND...: counts and prints the outcome
    local what="$1"; shift
    if "$@"; then echo "ok   $what"; pass=$((pass + 1)); else echo "FAIL $what"; fail=$((fail + 1)); fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The scenario's ports shifted by $1, each with its readiness path (none: "-"), from deploy/scenarios.json.
endpoints_of() {
    node -e '
      const d = require(process.argv[1]); const s = d.scenarios[process.argv[2]];
      const off = Number(process.argv[3]);
      for (const p of s.processes) console.log(`${p.port + off} ${p.ready ?? "-"}`);
      if (s.chain) console.log(`${d.chain.port + off} -`);' \
      "$repo/deploy/scenarios.json" "$scenario" "$1"
}

# Stops the runner (if still there) and whatever its run left, removes $work.
stop_scenario_and_clean() {
    [[ -n "$runner_pid" ]] && kill -KILL "$runner_pid" 2>/dev/null || true
    node "$repo/scripts/scenario.mjs" stop "$scenario" --run-dir "$work/run" >/dev/null 2>&1 || true
    rm -rf "$work"
}

# start_scenario LOW SPAN [OPTION...]: starts the scenario in the foreground (a background job:
# with `set -m` it gets SIGINT like a foreground one), or detached with the option --detach, at
# a port offset from LOW to LOW + SPAN - 1 where every port is free; up to 5 tries, since a
# parallel test may take a port meanwhile. Sets runner_pid, offset and endpoints; returns 1 if
# it did not start within 60 s.
start_scenario() {
    local low="$1" span="$2" ports p all_free started=0
    shift 2
    for _ in 1 2 3 4 5; do
        offset=$((low + RANDOM % span))
        endpoints="$(endpoints_of "$offset")"
        ports="$(cut -d' ' -f1 <<<"$endpoints" | tr '\n' ' ')"
        all_free=1
        for p in $ports; do port_free "$p" || all_free=0; done
        ((all_free)) || continue
        node "$repo/scripts/scenario.mjs" "$scenario" --no-build --build-dir "$build_dir" \
            --port-offset "$offset" --run-dir "$work/run" "$@" >"$work/out.log" 2>&1 &
        runner_pid=$!
        for _ in $(seq 600); do
            grep -q "^running;" "$work/out.log" && { started=1; break; }
            kill -0 "$runner_pid" 2>/dev/null || break
            sleep 0.1
        done
        ((started)) && break
        wait "$runner_pid" || true
        runner_pid=""
        cat "$work/out.log"
        for log in "$work/run"/*.log; do [[ -f "$log" ]] && { echo "--- $log"; tail -n 15 "$log"; }; done
        grep -Eq "is in use|exited with" "$work/out.log" || break
        rm -rf "$work/run"
    done
    cat "$work/out.log"
    ((started))
}

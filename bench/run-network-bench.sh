#!/usr/bin/env bash
# run-network-bench.sh: the benchmark of issue 4. Builds Release (build-bench/)
# if needed, then in ONE run: starts the seed's no-payment scenario, runs the
# seed's ab-style load pattern against PublicService's /action with
# bench_http, stops it; starts the example-network scenario (dev chain, two
# paychand, three services), calls /init once, runs the same pattern, stops
# it. Prints both side by side, the /action trace steps, the CPU each process
# spent per /action, and the load average before and after. Not a test.
#
# The processes are those of deploy/scenarios.json (commands, environment,
# ports: the seed's 8001-8003, 3001, 3002, chain 8545), started by this script
# rather than by scripts/scenario, because scripts/scenario runs the
# RelWithDebInfo binaries of build/; here every build/ path is replaced by
# the Release build directory and ${RUN} by a temp dir. See --help.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"
BUILD="${PAYCHAN_BENCH_BUILD:-$REPO/build-bench}"
SCENARIOS="$REPO/deploy/scenarios.json"
PUBLIC_URL="http://127.0.0.1:8003"

patterns="100:1 500:5 1000:10 2000:20"
warmup=50
keep=0

usage() {
  cat <<USAGE
Usage: bench/run-network-bench.sh [--patterns "100:1 500:5 1000:10 2000:20"] [--warmup N] [--keep]

Runs the seed's load pattern (ab-style, keep-alive) against $PUBLIC_URL/action,
first on the example network without payment (scenario no-payment), then with
payment (scenario example-network, after one /init), in one run on this
machine, and prints the figures side by side (DEVELOPMENT keys and chain only).
Needs the scenarios' ports free: 8001-8003, 3001, 3002 and 8545.

  --patterns LIST  N:C pairs: N requests at concurrency C (default the seed's:
                   "100:1 500:5 1000:10 2000:20")
  --warmup N       /action calls sent before the patterns, not measured (default 50;
                   they open the services' connections and fill caches)
  --keep           keep the temp dir (logs, paychand data, raw results) and print its path

Environment: PAYCHAN_BENCH_BUILD = build directory (default <repo>/build-bench,
Release). Exit status 0 only if every request of every pattern answered 200.
USAGE
}

BENCH_NAME=run-network-bench.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
die() { bench_die "$@"; }

while [[ $# -gt 0 ]]; do
  [[ "$1" == --keep || "$1" == -h || "$1" == --help || $# -ge 2 ]] || die "option $1 needs a value"
  case "$1" in
    --patterns) patterns="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for p in $patterns; do
  [[ "$p" =~ ^[1-9][0-9]*:[1-9][0-9]*$ ]] || die "bad pattern '$p' (want N:C)"
done
[[ "$warmup" =~ ^[0-9]+$ ]] || die "--warmup must be a number"

# ---- build ------------------------------------------------------------------------------
LOADGEN="$BUILD/bench/bench_http"
bench_build "$BUILD" paychand persistence-service random-nr-service public-service bench_http

# ---- processes we start, stopped on any exit ---------------------------------------------
TMP="$(mktemp -d /tmp/network-bench.XXXXXX)"
pids=()  # of the running scenario
names=() # process names, parallel to pids
chain_dir=""

stop_scenario() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  pids=()
  names=()
  if [[ -n "$chain_dir" ]]; then
    "$REPO/devnet/stop.sh" --state-dir "$chain_dir" >/dev/null 2>&1 || true
    chain_dir=""
  fi
}
cleanup() {
  stop_scenario
  if ((keep)); then
    echo "kept: $TMP"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# scenario_lines NAME: one line per process of the scenario in deploy/scenarios.json:
# name TAB port TAB env (K=V, \x1f-separated) TAB argv (\x1f-separated), with every
# build/ path pointing into $BUILD and ${RUN} into $TMP/NAME/.
scenario_lines() {
  node - "$SCENARIOS" "$1" "$BUILD/" "$TMP/$1/" <<'JS'
const [file, name, build, run] = process.argv.slice(2);
const s = JSON.parse(require('fs').readFileSync(file, 'utf8')).scenarios[name];
if (!s || !s.processes) { console.error(`no scenario ${name} with processes`); process.exit(1); }
const fix = (a) => a.replaceAll('${RUN}', run).replace(/^build\//, build);
for (const p of s.processes) {
  const env = Object.entries(p.env ?? {}).map(([k, v]) => `${k}=${fix(v)}`);
  console.log([p.name, p.port, env.join('\x1f'), p.command.map(fix).join('\x1f')].join('\t'));
}
JS
}

# start_scenario NAME: the chain if the scenario has one, then its processes in order,
# each waited for until it listens on its port.
start_scenario() {
  local scenario="$1" lines line name port envs argv has_chain
  lines="$(scenario_lines "$scenario")" || die "cannot read $scenario from $SCENARIOS"
  has_chain="$(node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(s.scenarios[process.argv[2]].chain ? s.chain.port : "")' "$SCENARIOS" "$scenario")"
  while IFS=$'\t' read -r name port envs argv; do
    ! port_in_use "$port" || die "port $port ($name) is in use: is a scenario running? (scripts/scenario stop $scenario)"
  done <<<"$lines"
  mkdir -p "$TMP/$scenario"
  if [[ -n "$has_chain" ]]; then
    ! port_in_use "$has_chain" || die "port $has_chain (chain) is in use"
    chain_dir="$TMP/$scenario/chain"
    "$REPO/devnet/start.sh" --port "$has_chain" --state-dir "$chain_dir" >/dev/null
  fi
  while IFS=$'\t' read -r name port envs argv; do
    local -a env_arr=() argv_arr=()
    [[ -z "$envs" ]] || IFS=$'\x1f' read -r -a env_arr <<<"$envs"
    IFS=$'\x1f' read -r -a argv_arr <<<"$argv"
    (cd "$REPO" && exec env "${env_arr[@]}" "${argv_arr[@]}") >"$TMP/$scenario/$name.log" 2>&1 &
    pids+=($!)
    names+=("$name")
    for _ in $(seq 200); do
      port_in_use "$port" && break
      kill -0 "${pids[-1]}" 2>/dev/null || { tail -n 20 "$TMP/$scenario/$name.log" >&2; die "$name exited"; }
      sleep 0.1
    done
    port_in_use "$port" || die "$name does not listen on $port after 20 s"
  done <<<"$lines"
}

CLK_TCK="$(getconf CLK_TCK)"

# run_patterns LABEL: the warm-up, then every pattern against /action; the RESULT and
# TRACE lines go to $TMP/LABEL.N:C, the CPU µs per /action of each process to
# $TMP/LABEL.N:C.cpu (lines "name us").
run_patterns() {
  local label="$1" p n c i all_pids=("${pids[@]}") all_names=("${names[@]}")
  if [[ -n "$chain_dir" ]]; then
    all_pids+=("$(cat "$chain_dir/anvil.pid")")
    all_names+=(anvil)
  fi
  if ((warmup > 0)); then
    "$LOADGEN" -n "$warmup" -c 1 "$PUBLIC_URL/action" >"$TMP/$label.warmup" ||
      { cat "$TMP/$label.warmup"; die "$label: the warm-up failed"; }
  fi
  for p in $patterns; do
    n="${p%%:*}"
    c="${p##*:}"
    local -a t0=()
    for i in "${!all_pids[@]}"; do t0[i]="$(cpu_ticks "${all_pids[i]}")"; done
    if ! "$LOADGEN" -n "$n" -c "$c" --trace "$PUBLIC_URL/action" >"$TMP/$label.$p" 2>"$TMP/$label.$p.err"; then
      failed=1
      cat "$TMP/$label.$p.err" >&2
    fi
    : >"$TMP/$label.$p.cpu"
    for i in "${!all_pids[@]}"; do
      awk -v a="${t0[i]}" -v b="$(cpu_ticks "${all_pids[i]}")" -v hz="$CLK_TCK" -v n="$n" \
        -v name="${all_names[i]}" 'BEGIN { printf "%s %.0f\n", name, (b - a) * 1e6 / hz / n }' \
        >>"$TMP/$label.$p.cpu"
    done
    sed -n 's/^RESULT .*client_cpu_us_per_req=\([^ ]*\).*/bench_http \1/p' "$TMP/$label.$p" >>"$TMP/$label.$p.cpu"
    echo "  $label n=$n c=$c: $(grep '^RESULT' "$TMP/$label.$p" | cut -d' ' -f4-12)" >&2
  done
}

# ---- the run ------------------------------------------------------------------------------
failed=0
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
started_at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

echo "no-payment scenario..." >&2
start_scenario no-payment
run_patterns nopay
stop_scenario

echo "example-network scenario..." >&2
start_scenario example-network
init_t0="$(date +%s.%N)"
curl -fsS --max-time 120 "$PUBLIC_URL/init" >"$TMP/init.json" || die "/init failed: $(cat "$TMP/init.json" 2>/dev/null)"
init_s="$(awk -v a="$init_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')"
run_patterns pay
stop_scenario
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- report --------------------------------------------------------------------------------
field() { sed -n "s/^RESULT.* $1=\([^ ]*\).*/\1/p" "$2"; }
trace_field() { sed -n "s/^TRACE step=$1 .* $2=\([^ ]*\).*/\1/p" "$3"; }

echo "# example network benchmark, $started_at"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "command: bench/run-network-bench.sh --patterns \"$patterns\" --warmup $warmup"
echo "binaries: Release ($BUILD), processes and ports of deploy/scenarios.json (no-payment, then"
echo "example-network: anvil instant mining, paychand SQLite WAL synchronous=FULL); /init took ${init_s} s."
echo "with payment: Mediators $(node -e 'const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(JSON.stringify(a.mediators))' "$TMP/init.json" 2>/dev/null || echo '?') from /init."
echo "load generator: bench_http (one thread, libcurl multi, C keep-alive connections); $warmup"
echo "unmeasured /action calls before the patterns; latency over all N requests, as ab."
echo "Everything shares the machine's $(nproc) cores."
echo
echo "load average before: $load_before   after: $load_after (other work on the machine skews the figures)"
echo
echo "## /action: without payment | with payment"
echo
echo "| pattern | req/s | p50 ms | p90 ms | p99 ms | req/s | p50 ms | p90 ms | p99 ms | failures (no pay / pay) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for p in $patterns; do
  a="$TMP/nopay.$p"
  b="$TMP/pay.$p"
  printf '| n=%s c=%s | %s | %s | %s | %s | **%s** | **%s** | %s | %s | %s / %s |\n' "${p%%:*}" "${p##*:}" \
    "$(field rps "$a")" "$(field p50_ms "$a")" "$(field p90_ms "$a")" "$(field p99_ms "$a")" \
    "$(field rps "$b")" "$(field p50_ms "$b")" "$(field p90_ms "$b")" "$(field p99_ms "$b")" \
    "$(field failed "$a")" "$(field failed "$b")"
done

echo
echo "## where the time goes: /action trace steps, mean (p50) ms, without | with payment"
echo
steps="$(sed -n 's/^TRACE step=\([^ ]*\) .*/\1/p' "$TMP"/pay.* "$TMP"/nopay.* 2>/dev/null | awk '!seen[$0]++')"
header="| step |"
rule="|---|"
for p in $patterns; do
  header+=" n=${p%%:*} c=${p##*:} no pay | with pay |"
  rule+="---:|---:|"
done
echo "$header"
echo "$rule"
for s in $steps; do
  row="| $s |"
  for p in $patterns; do
    for label in nopay pay; do
      m="$(trace_field "$s" mean_ms "$TMP/$label.$p")"
      q="$(trace_field "$s" p50_ms "$TMP/$label.$p")"
      row+=" ${m:--} ${q:+($q)} |"
    done
  done
  echo "$row"
done

echo
echo "## CPU time per /action, µs (user + system, all threads), without | with payment"
echo
echo "${header/| step |/| process |}"
echo "$rule"
procs="$(cut -d' ' -f1 "$TMP"/pay.*.cpu "$TMP"/nopay.*.cpu | awk '!seen[$0]++')"
for proc in $procs total; do
  row="| $proc |"
  for p in $patterns; do
    for label in nopay pay; do
      if [[ "$proc" == total ]]; then
        v="$(awk '{ s += $2 } END { print s }' "$TMP/$label.$p.cpu")"
      else
        v="$(awk -v n="$proc" '$1 == n { print $2 }' "$TMP/$label.$p.cpu")"
      fi
      row+=" ${v:--} |"
    done
  done
  echo "$row"
done
echo "(a 2-core machine has 2e6 µs of CPU per second: at X µs per /action it cannot exceed 2e6/X req/s)"

echo
echo "## targets (issue 4: 100x the prototype's 22 req/s at c=1 and 45 req/s at c=20 with payment, p50 < 2 ms at c=1)"
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = op == ">=" ? v >= t : v < t; print ok ? "met" : "MISSED" }'; }
for p in $patterns; do
  c="${p##*:}"
  b="$TMP/pay.$p"
  if [[ "$c" == 1 ]]; then
    echo "- with payment, c=1 (n=${p%%:*}): $(field rps "$b") req/s vs target 2200: $(verdict "$(field rps "$b")" 2200 '>=');" \
      "p50 $(field p50_ms "$b") ms vs target < 2 ms: $(verdict "$(field p50_ms "$b")" 2 '<')"
  elif [[ "$c" == 20 ]]; then
    echo "- with payment, c=20 (n=${p%%:*}): $(field rps "$b") req/s vs target 4500: $(verdict "$(field rps "$b")" 4500 '>=')"
  fi
done

for label in no-payment example-network; do
  if grep -qiE 'error|warn' "$TMP/$label"/*.log 2>/dev/null; then
    echo
    echo "$label: warnings or errors in the logs (last lines):"
    grep -hiE 'error|warn' "$TMP/$label"/*.log | tail -n 5
  fi
done
((failed == 0)) || die "at least one request failed: those figures are invalid"

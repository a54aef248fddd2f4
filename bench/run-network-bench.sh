#!/usr/bin/env bash
# run-network-bench.sh: the benchmark of issues 4 and 11. Builds Release
# (build-bench/) if needed, then in ONE run: starts the seed's no-payment
# scenario, runs the seed's load pattern against PublicService's /action twice
# per pattern, with kept-alive connections (bench_http) and with the seed's own
# method, `ab -l` (a new connection per request), stops it; starts the
# example-network scenario (dev chain, two paychand, three services), calls
# /init once, does the same, stops it. Prints all four side by side, the
# /action trace steps, the CPU each process spent per /action, the issue's
# targets, the load average before and after, and with --perf a perf profile
# of every process under `ab -l` with payment. Not a test.
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
perf_dir=""
perf_c=""

usage() {
  cat <<USAGE
Usage: bench/run-network-bench.sh [--patterns "100:1 500:5 1000:10 2000:20"] [--warmup N] [--keep]
                                  [--perf DIR [--perf-c C]]

Runs the seed's load pattern against $PUBLIC_URL/action, each pattern with
kept-alive connections (bench_http) and with \`ab -l\` (a new connection per
request, the seed's method), first on the example network without payment
(scenario no-payment), then with payment (scenario example-network, after one
/init), in one run on this machine, and prints the figures side by side
(DEVELOPMENT keys and chain only).
Needs the scenarios' ports free: 8001-8003, 3001, 3002 and 8545.

  --patterns LIST  N:C pairs: N requests at concurrency C (default the seed's:
                   "100:1 500:5 1000:10 2000:20")
  --warmup N       /action calls sent before the patterns, not measured (default 50;
                   they open the services' connections and fill caches)
  --keep           keep the temp dir (logs, paychand data, raw results) and print its path
  --perf DIR       sample every process with perf (call graphs) during the \`ab -l\`
                   pattern at the highest concurrency, with and without payment;
                   reports in DIR/ab-{pay,nopay}.NAME.txt (needs linux-perf)
  --perf-c C       sample the pattern of concurrency C instead

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
    --perf) perf_dir="$2"; shift 2 ;;
    --perf-c) perf_c="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for p in $patterns; do
  [[ "$p" =~ ^[1-9][0-9]*:[1-9][0-9]*$ ]] || die "bad pattern '$p' (want N:C)"
done
[[ "$warmup" =~ ^[0-9]+$ ]] || die "--warmup must be a number"
command -v ab >/dev/null || die "ab not found: apt-get install apache2-utils"
if [[ -n "$perf_dir" ]]; then
  command -v perf >/dev/null || die "perf not found: apt-get install linux-perf"
  mkdir -p "$perf_dir"
  perf_dir="$(cd "$perf_dir" && pwd)"
  [[ -n "$perf_c" ]] || perf_c="$(for p in $patterns; do echo "${p##*:}"; done | sort -n | tail -n 1)"
fi

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

# ab_result FILE: ab's output as a RESULT line like bench_http's (rps, latency
# percentiles over all requests, failures = failed + non-2xx answers).
ab_result() {
  awk '/^Complete requests:/ { n = $3 } /^Failed requests:/ { f += $3 } /^Non-2xx responses:/ { f += $3 }
       /^Requests per second:/ { r = $4 } /^ *50%/ { p50 = $2 } /^ *90%/ { p90 = $2 } /^ *99%/ { p99 = $2 }
       END { printf "RESULT n=%d ok=%d failed=%d rps=%s p50_ms=%s p90_ms=%s p99_ms=%s\n", n, n - f, f, r, p50, p90, p99 }' "$1"
}

# perf_start LABEL: when --perf is given, samples every process of the scenario
# (call graphs) until perf_stop; the reports go to $perf_dir/LABEL.NAME.txt.
perf_pids=()
perf_start() {
  local i
  [[ -n "$perf_dir" ]] || return 0
  for i in "${!all_pids[@]}"; do
    perf record -q -F 1999 -g -o "$perf_dir/$1.${all_names[i]}.data" -p "${all_pids[i]}" \
      >/dev/null 2>&1 &
    perf_pids+=($!)
  done
  sleep 0.5 # perf attaches
}
perf_stop() {
  local pid f
  [[ -n "$perf_dir" ]] || return 0
  for pid in "${perf_pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${perf_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  perf_pids=()
  for f in "$perf_dir/$1".*.data; do
    perf report -q -i "$f" --no-children --sort dso,symbol --percent-limit 0.7 2>/dev/null \
      >"${f%.data}.txt" || true
  done
}

# measure LABEL N C: one pattern with one generator (label ka-* = bench_http,
# kept-alive connections with traces; ab-* = `ab -l`, a new connection per
# request); RESULT (and TRACE) lines to $TMP/LABEL.N:C, CPU µs per /action of
# each process to $TMP/LABEL.N:C.cpu (lines "name us").
measure() {
  local label="$1" n="$2" c="$3" i out="$TMP/$1.$2:$3"
  local -a t0=()
  [[ "$label" != ab-* || "$c" != "$perf_c" ]] || perf_start "$label"
  for i in "${!all_pids[@]}"; do t0[i]="$(cpu_ticks "${all_pids[i]}")"; done
  if [[ "$label" == ab-* ]]; then
    ab -l -n "$n" -c "$c" "$PUBLIC_URL/action" >"$out.ab" 2>"$out.err" || true
    ab_result "$out.ab" >"$out"
  else
    "$LOADGEN" -n "$n" -c "$c" --trace "$PUBLIC_URL/action" >"$out" 2>"$out.err" || true
  fi
  : >"$out.cpu"
  for i in "${!all_pids[@]}"; do
    awk -v a="${t0[i]}" -v b="$(cpu_ticks "${all_pids[i]}")" -v hz="$CLK_TCK" -v n="$n" \
      -v name="${all_names[i]}" 'BEGIN { printf "%s %.0f\n", name, (b - a) * 1e6 / hz / n }' \
      >>"$out.cpu"
  done
  [[ "$label" != ab-* || "$c" != "$perf_c" ]] || perf_stop "$label"
  sed -n 's/^RESULT .*client_cpu_us_per_req=\([^ ]*\).*/bench_http \1/p' "$out" >>"$out.cpu"
  if ! grep -q '^RESULT.* failed=0 ' "$out"; then
    failed=1
    cat "$out.err" >&2
  fi
  echo "  $label n=$n c=$c: $(grep '^RESULT' "$out" | cut -d' ' -f2-9)" >&2
}

# run_patterns SCENARIO: the warm-up, then every pattern against /action, with
# both generators (labels ka-SCENARIO and ab-SCENARIO).
run_patterns() {
  local label="$1" p
  all_pids=("${pids[@]}")
  all_names=("${names[@]}")
  if [[ -n "$chain_dir" ]]; then
    all_pids+=("$(cat "$chain_dir/anvil.pid")")
    all_names+=(anvil)
  fi
  if ((warmup > 0)); then
    "$LOADGEN" -n "$warmup" -c 1 "$PUBLIC_URL/action" >"$TMP/$label.warmup" ||
      { cat "$TMP/$label.warmup"; die "$label: the warm-up failed"; }
  fi
  for p in $patterns; do
    measure "ka-$label" "${p%%:*}" "${p##*:}"
    measure "ab-$label" "${p%%:*}" "${p##*:}"
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
# 1 ether per Mediator: at the example prices (10,000 and 20,000 gwei per
# request) 5 finney lasts 250 /save calls, and paychand's top-ups cannot keep
# up with a thousand per second (the patterns then fail with InsufficientFunds).
export FUNDING_WEI="${FUNDING_WEI:-1000000000000000000}"
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
echo "load generators: bench_http (one thread, libcurl multi, C kept-alive connections) and"
echo "\`ab -l\` ($(ab -V | head -n 1 | cut -d, -f1); a new connection per request); $warmup unmeasured"
echo "/action calls before the patterns; latency over all N requests."
echo "Everything shares the machine's $(nproc) cores."
echo
echo "load average before: $load_before   after: $load_after (other work on the machine skews the figures)"
bench_netfilter_note
echo
echo "## /action: without payment | with payment"
echo
LABELS="ka-nopay ab-nopay ka-pay ab-pay"
label_name() {
  case "$1" in
    ka-nopay) echo "no pay, kept-alive" ;; ab-nopay) echo "no pay, ab -l" ;;
    ka-pay) echo "pay, kept-alive" ;; ab-pay) echo "pay, ab -l" ;;
  esac
}
echo "| pattern | $(for l in $LABELS; do printf '%s req/s (p50 ms) | ' "$(label_name "$l")"; done)failures |"
echo "|---|---:|---:|---:|---:|---:|"
for p in $patterns; do
  row="| n=${p%%:*} c=${p##*:} |"
  fails=""
  for l in $LABELS; do
    row+=" $(field rps "$TMP/$l.$p") ($(field p50_ms "$TMP/$l.$p")) |"
    fails+="$(field failed "$TMP/$l.$p")/"
  done
  echo "$row ${fails%/} |"
done

echo
echo "## where the time goes: /action trace steps (kept-alive), mean (p50) ms, without | with payment"
echo
steps="$(sed -n 's/^TRACE step=\([^ ]*\) .*/\1/p' "$TMP"/ka-pay.* "$TMP"/ka-nopay.* 2>/dev/null | awk '!seen[$0]++')"
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
    for label in ka-nopay ka-pay; do
      m="$(trace_field "$s" mean_ms "$TMP/$label.$p")"
      q="$(trace_field "$s" p50_ms "$TMP/$label.$p")"
      row+=" ${m:--} ${q:+($q)} |"
    done
  done
  echo "$row"
done

echo
echo "## CPU time per /action, µs (user + system, all threads of each process)"
procs="$(cut -d' ' -f1 "$TMP"/*-pay.*.cpu "$TMP"/*-nopay.*.cpu | awk '!seen[$0]++')"
for p in $patterns; do
  echo
  echo "n=${p%%:*} c=${p##*:}:"
  echo
  echo "| process |$(for l in $LABELS; do printf ' %s |' "$(label_name "$l")"; done)"
  echo "|---|---:|---:|---:|---:|"
  for proc in $procs total; do
    row="| $proc |"
    for label in $LABELS; do
      if [[ "$proc" == total ]]; then
        v="$(awk '$1 != "bench_http" { s += $2 } END { print s }' "$TMP/$label.$p.cpu")"
      else
        v="$(awk -v n="$proc" '$1 == n { print $2 }' "$TMP/$label.$p.cpu")"
      fi
      row+=" ${v:--} |"
    done
    echo "$row"
  done
done
echo "(total: the network's processes, not the load generator; a 2-core machine has 2e6 µs of"
echo "CPU per second: at X µs per /action it cannot exceed 2e6/X req/s, less what the generator uses)"

echo
echo "## targets (issue 11, on these 2 cores, in one run)"
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v >= t) ? "met" : "MISSED" }'; }
target() { # LABEL C MIN WHAT
  local p
  for p in $patterns; do
    [[ "${p##*:}" == "$2" ]] || continue
    local v; v="$(field rps "$TMP/$1.$p")"
    echo "- $4 (n=${p%%:*} c=$2): $v req/s vs target $3: $(verdict "$v" "$3")"
  done
}
target ab-nopay 20 8000 "ab -l, unpaid"
target ab-pay 20 2500 "ab -l, paid"
target ab-pay 1 1000 "ab -l, paid"
target ka-pay 20 3000 "kept-alive, paid"
for p in $patterns; do
  [[ "${p##*:}" == 20 ]] || continue
  echo "- new-connection cost, unpaid c=20: ab -l $(field rps "$TMP/ab-nopay.$p") vs kept-alive $(field rps "$TMP/ka-nopay.$p") req/s (target: at most ~25% over)"
done
if [[ -n "$perf_dir" ]]; then
  echo
  echo "## perf profiles (ab -l, c=$perf_c): $perf_dir/*.txt"
  for f in "$perf_dir"/ab-pay.*.txt; do
    [[ -f "$f" ]] || continue
    echo
    echo "### $(basename "$f" .txt)"
    echo '```'
    head -n 25 "$f"
    echo '```'
  done
fi

for label in no-payment example-network; do
  if grep -qiE 'error|warn' "$TMP/$label"/*.log 2>/dev/null; then
    echo
    echo "$label: warnings or errors in the logs (last lines):"
    grep -hiE 'error|warn' "$TMP/$label"/*.log | tail -n 5
  fi
done
((failed == 0)) || die "at least one request failed: those figures are invalid"

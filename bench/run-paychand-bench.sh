#!/usr/bin/env bash
# run-paychand-bench.sh: the benchmark of issue 3. Builds Release (build-bench/)
# if needed, starts a dev chain and two paychand processes (the consumer's and
# the provider's team, SQLite store each, in a temp dir), deploys and funds a
# Mediator through the consumer's API, runs bench_core (raw secp256k1 rates)
# and then bench_paychand (one client thread driving every keep-alive
# connection with epoll) against validateToken (provider) and
# createSignatureHeaders (consumer) at 1, 8 and 32 connections, prints a
# table, and stops everything it started. Not a test. See --help.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"
BUILD="${PAYCHAN_BENCH_BUILD:-$REPO/build-bench}"

connections="1 8 32"
endpoints="validate create"
auths="signature mac"
warmup=1
duration=5
core_seconds=1
store=sqlite
keep=0

usage() {
  cat <<USAGE
Usage: bench/run-paychand-bench.sh [--connections "1 8 32"] [--endpoints "validate create"]
                                   [--auth "signature mac"] [--warmup S] [--duration S]
                                   [--store sqlite|memory] [--keep]

Benchmarks paychand's validateToken and createSignatureHeaders end to end over
HTTP on this machine (DEVELOPMENT keys and chain only). Client and servers run
on the same machine and share its cores; every request is pre-signed before
the measurement so the client's crypto is not measured.

  --connections LIST  concurrent keep-alive connections per run (default "1 8 32")
  --endpoints LIST    validate and/or create (default both)
  --auth LIST         request authentication: signature (docs/protocol.md §3, ECDSA, what the
                      prototype's clients send) and/or mac (our x-pay-mac, what
                      libpaychan sends); default both
  --warmup S          seconds sent but not measured per run (default 1)
  --duration S        seconds measured per run (default 5)
  --store B           paychand storage backend: sqlite (default, the durable one)
                      or memory (tests only; shows what the durable store costs)
  --keep              keep the temp dir (logs, SQLite files) and print its path

Environment: PAYCHAN_BENCH_BUILD = build directory (default <repo>/build-bench),
PAYCHAN_BENCH_REQUESTS = requests pre-signed per run (default: by connections),
PAYCHAN_BENCH_LOADGEN = another bench_paychand binary to run (to compare load
generators; default <build>/bench/bench_paychand),
PAYCHAN_BENCH_SERVER_ARGS = extra paychand options for both servers, split at
spaces (e.g. "--http-mode threads" or "--http-loops 1").
Exit status 0 only if every run was valid (every answer 200 and correct).
USAGE
}

BENCH_NAME=run-paychand-bench.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
die() { bench_die "$@"; }

while [[ $# -gt 0 ]]; do
  [[ "$1" == --keep || "$1" == -h || "$1" == --help || $# -ge 2 ]] || die "option $1 needs a value"
  case "$1" in
    --connections) connections="$2"; shift 2 ;;
    --endpoints) endpoints="$2"; shift 2 ;;
    --auth) auths="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --store) store="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ "$store" == sqlite || "$store" == memory ]] || die "--store must be sqlite or memory"

# ---- build ------------------------------------------------------------------------------
PAYCHAND="$BUILD/src/server/paychand"
LOADGEN="${PAYCHAN_BENCH_LOADGEN:-$BUILD/bench/bench_paychand}"
CORE="$BUILD/bench/bench_core"
bench_build "$BUILD" paychand bench_paychand bench_core

# ---- processes we start, stopped on any exit ---------------------------------------------
TMP="$(mktemp -d /tmp/paychand-bench.XXXXXX)"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  "$REPO/devnet/stop.sh" --state-dir "$TMP/chain" >/dev/null 2>&1 || true
  if ((keep)); then
    echo "kept: $TMP"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

chain_port="$(bench_free_port)"
node_url="$("$REPO/devnet/start.sh" --port "$chain_port" --state-dir "$TMP/chain" | tail -n 1)"

read -r -a server_args <<<"${PAYCHAN_BENCH_SERVER_ARGS:-}"

# start_paychand NAME KEYSTORE: starts a paychand serving that account; sets $url.
start_paychand() {
  local name="$1" keystore="$2" port
  port="$(bench_free_port)"
  mkdir -p "$TMP/$name"
  "$PAYCHAND" --node-url "$node_url" --chain-id "$CHAIN_ID" --port "$port" \
    --store "$store" --data-dir "$TMP/$name" --account "$keystore:$PASSWORD" \
    --log-level warn ${server_args[@]+"${server_args[@]}"} 2>"$TMP/$name.log" &
  pids+=($!)
  url="http://127.0.0.1:$port"
  bench_wait_ok "${pids[-1]}" "$url/status" "$TMP/$name.log"
}
start_paychand consumer "$KEYS/consumer.json"
consumer_url="$url"
consumer_pid="${pids[-1]}"
start_paychand provider "$KEYS/persistence.json"
provider_url="$url"
provider_pid="${pids[-1]}"

CLK_TCK="$(getconf CLK_TCK)"

consumer_key=(--keystore "$KEYS/consumer.json" --password-file "$PASSWORD")
provider_key=(--keystore "$KEYS/persistence.json" --password-file "$PASSWORD")

# ---- the Mediator: deployed and funded through the consumer's API ------------------------
bench_open_mediator "$LOADGEN" "$consumer_url"

echo "# paychand benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "command: bench/run-paychand-bench.sh --connections \"$connections\" --endpoints \"$endpoints\" --auth \"$auths\" --warmup $warmup --duration $duration --store $store"
echo "paychand: Release, extra options: ${PAYCHAN_BENCH_SERVER_ARGS:-(none)}, store $store (sqlite: WAL, synchronous=FULL) in $TMP, dev chain $node_url (instant mining)"
echo "Mediator $mediator, token id $token_id; client and both servers share the cores;"
echo "requests pre-signed before each run (client crypto not measured); one client thread"
echo "drives all connections with epoll (load generator: $LOADGEN)."
echo
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
bench_netfilter_note
echo
echo "## raw crypto, one core (bench_core, same run)"
"$CORE" "$core_seconds" | grep -E 'secp256k1|token (sign|verify)'
echo

# ---- load runs ----------------------------------------------------------------------------
# requests_for CONNS: enough pre-signed requests for warmup + duration at a
# generous rate (a run that runs out says so and counts only until then)
requests_for() {
  if [[ -n "${PAYCHAN_BENCH_REQUESTS:-}" ]]; then
    echo "$PAYCHAN_BENCH_REQUESTS"
  else
    local rate=$(($1 == 1 ? 12000 : 40000))
    awk -v r="$rate" -v s="$warmup" -v d="$duration" 'BEGIN { printf "%d", r * (s + d) + 1000 }'
  fi
}

results=()
failed=0
next_count=1000 # validate counts: above anything the consumer hands out here
for auth in $auths; do
for ep in $endpoints; do
  for c in $connections; do
    n="$(requests_for "$c")"
    server_pid="$consumer_pid"
    if [[ "$ep" == validate ]]; then
      server_pid="$provider_pid"
      args=(--url "$provider_url" "${provider_key[@]}" --endpoint validate
        --token-keystore "$KEYS/consumer.json" --token-password-file "$PASSWORD"
        --token-id "$token_id" --chain-id "$CHAIN_ID" --first-count "$next_count")
      next_count=$((next_count + n))
    else
      args=(--url "$consumer_url" "${consumer_key[@]}" --endpoint create)
    fi
    ticks0="$(cpu_ticks "$server_pid")"
    line="$("$LOADGEN" load "${args[@]}" --mediator "$mediator" --connections "$c" \
      --warmup "$warmup" --duration "$duration" --requests "$n" --auth "$auth" |
      grep '^RESULT')" || failed=1
    ticks1="$(cpu_ticks "$server_pid")"
    # the server's CPU time per request sent (warm-up included; background duties too)
    sent="$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' <<<"$line")"
    server_us="$(awk -v t=$((ticks1 - ticks0)) -v hz="$CLK_TCK" -v n="${sent:-0}" \
      'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "-" }')"
    results+=("$line server_cpu_us_per_req=$server_us auth=$auth")
  done
done
done

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
echo "## paychand over HTTP (keep-alive, ${duration} s measured after ${warmup} s warm-up)"
echo
echo "| endpoint | auth | connections | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU µs/req | client CPU µs/req |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for line in "${results[@]}"; do
  [[ -n "$line" ]] || continue
  ms() { awk -v u="$(field "$1" "$line")" 'BEGIN { printf "%.2f", u / 1000 }'; }
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.0f |\n' "$(field endpoint "$line")" "$(field auth "$line")" \
    "$(field connections "$line")" "$(field rps "$line")" "$(ms p50_us)" "$(ms p90_us)" \
    "$(ms p99_us)" "$(ms max_us)" "$(field errors "$line")" \
    "$(field server_cpu_us_per_req "$line")" "$(field client_cpu_us_per_req "$line")"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -s "$TMP/provider.log" || -s "$TMP/consumer.log" ]]; then
  echo
  echo "server warnings (last lines):"
  tail -n 5 "$TMP/provider.log" "$TMP/consumer.log"
fi
((failed == 0)) || die "at least one run had errors: its figures are invalid"

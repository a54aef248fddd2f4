#!/usr/bin/env bash
# run-proxy-bench.sh: the benchmark of issue 13, in ONE run on this machine:
#  1. the example network's paid /action through libpaychan (the C services
#     with payment, as scenario example-network), after one /init;
#  2. the same /action through paychan-proxy: the same C services with
#     payment OFF (PAYMENT_INACTIVE), a provider proxy in front of each
#     provider and a consumer sidecar for PublicService, which opens the
#     channels on its first 402 (the warm-up);
#     both at the seed's n=100 c=1 and n=2000 c=20 (bench_http, kept-alive);
#  3. a provider proxy passing unpaid requests (--unknown-routes free) to a
#     trivial upstream (random-nr-service with payment off) at 32 connections;
#  and, for the c=1 breakdown (n=1000 c=1 each), the same /action with payment
#  off twice more: the C services alone, and behind the same proxies with
#  every route free (the four extra loopback hops without any payment work).
# Prints RESULT lines, the CPU each process spent per request and a
# BREAKDOWN line of the c=1 gap (hops, payment work of each path). Not a test.
# Ports: PAYCHAN_BENCH_PORT_BASE (default 12000, below the ephemeral range) + the seed's (8001 -> 20001, ...),
# so that it runs next to the scenarios. DEVELOPMENT keys and chain only.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"
BUILD="${PAYCHAN_BENCH_BUILD:-$REPO/build-bench}"
BASE="${PAYCHAN_BENCH_PORT_BASE:-12000}"
BENCH_NAME=run-proxy-bench.sh
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

case "${1:-}" in
  -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) bench_die "no arguments (see --help)" ;;
esac

bench_build "$BUILD" paychand persistence-service random-nr-service public-service bench_http \
  paychan-proxy
LOADGEN="$BUILD/bench/bench_http"
KS="$REPO/devnet/dev-only/keystores"
PW="$REPO/devnet/dev-only/password.txt"
CHAIN=$((BASE + 8545)) PS_PROV=$((BASE + 3001)) PS_PUB=$((BASE + 3002))
PERS=$((BASE + 8001)) RAND=$((BASE + 8002)) PUB=$((BASE + 8003)) SIDECAR=$((BASE + 8013))
PERS_IN=$((BASE + 9001)) RAND_IN=$((BASE + 9002)) PASS=$((BASE + 9010))
TMP="$(mktemp -d /tmp/proxy-bench.XXXXXX)"
pids=() names=()

stop_named() { # stop_named NAME...: SIGTERM those processes and wait for them
  local i keep_pids=() keep_names=()
  for i in "${!pids[@]}"; do
    if [[ " $* " == *" ${names[i]} "* ]]; then
      kill -TERM "${pids[i]}" 2>/dev/null || true
      wait "${pids[i]}" 2>/dev/null || true
    else
      keep_pids+=("${pids[i]}") keep_names+=("${names[i]}")
    fi
  done
  pids=("${keep_pids[@]}") names=("${keep_names[@]}")
}
cleanup() {
  stop_named "${names[@]}"
  "$REPO/devnet/stop.sh" --state-dir "$TMP/chain" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME PORT [VAR=value...] -- COMMAND...: runs it, waits until it listens on PORT.
start() {
  local name="$1" port="$2" envs=()
  shift 2
  while [[ "$1" != -- ]]; do envs+=("$1"); shift; done
  shift
  ! port_in_use "$port" || bench_die "port $port ($name) is in use"
  (cd "$REPO" && exec env "${envs[@]}" "$@") >"$TMP/$name.log" 2>&1 &
  pids+=($!) names+=("$name")
  for _ in $(seq 200); do
    port_in_use "$port" && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || { tail -n 20 "$TMP/$name.log" >&2; bench_die "$name exited"; }
    sleep 0.1
  done
  bench_die "$name does not listen on $port"
}

CLK_TCK="$(getconf CLK_TCK)"
# measure LABEL N C URL: bench_http, then each running process's CPU per request (µs).
measure() {
  local label="$1" n="$2" c="$3" url="$4" i cpu="" out
  local -a t0=()
  for i in "${!pids[@]}"; do t0[i]="$(cpu_ticks "${pids[i]}")"; done
  out="$("$LOADGEN" -n "$n" -c "$c" "$url" | grep '^RESULT')" || true
  for i in "${!pids[@]}"; do
    cpu+="$(awk -v a="${t0[i]}" -v b="$(cpu_ticks "${pids[i]}")" -v hz="$CLK_TCK" -v n="$n" \
      -v name="${names[i]}" 'BEGIN { printf " %s=%.0f", name, (b - a) * 1e6 / hz / n }')"
  done
  echo "$label $out"
  echo "    cpu_us_per_req:$cpu"
}

declare -A P50=() # p50 (ms) at n=1000 c=1 by label, for the breakdown
latency() { # latency LABEL: the warm-up, then n=1000 c=1 on /action, its p50 kept
  local out
  "$LOADGEN" -n 50 -c 1 "http://127.0.0.1:$PUB/action" >/dev/null || bench_die "$1: warm-up failed"
  out="$(measure "$1" 1000 1 "http://127.0.0.1:$PUB/action")"
  echo "$out"
  P50[$1]="$(sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p' <<<"$out" | head -n 1)"
}

patterns() { # patterns LABEL: the warm-up, then n=100 c=1 and n=2000 c=20 on /action
  "$LOADGEN" -n 50 -c 1 "http://127.0.0.1:$PUB/action" >"$TMP/$1.warmup" ||
    { cat "$TMP/$1.warmup"; bench_die "$1: the warm-up failed"; }
  measure "$1" 100 1 "http://127.0.0.1:$PUB/action"
  measure "$1" 2000 20 "http://127.0.0.1:$PUB/action"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
bench_netfilter_note
"$REPO/devnet/start.sh" --port "$CHAIN" --state-dir "$TMP/chain" >/dev/null
paychand=("$BUILD/src/server/paychand" --node-url "http://127.0.0.1:$CHAIN" --chain-id 31337
          --listen 127.0.0.1)
start paychand-providers "$PS_PROV" -- "${paychand[@]}" --port "$PS_PROV" --data-dir "$TMP/ps-prov" \
  --account "$KS/persistence.json:$PW" --account "$KS/random.json:$PW"
start paychand-public "$PS_PUB" -- "${paychand[@]}" --port "$PS_PUB" --data-dir "$TMP/ps-pub" \
  --account "$KS/consumer.json:$PW"

# ---- 1. libpaychan ---------------------------------------------------------------------------
svc="$BUILD/examples/network"
start persistence "$PERS" PORT="$PERS" PAYMENT_SERVER_URL="http://127.0.0.1:$PS_PROV" \
  KEYSTORE="$KS/persistence.json" PASSWORD_FILE="$PW" -- "$svc/persistence-service"
start random "$RAND" PORT="$RAND" PAYMENT_SERVER_URL="http://127.0.0.1:$PS_PROV" \
  KEYSTORE="$KS/random.json" PASSWORD_FILE="$PW" -- "$svc/random-nr-service"
FUND=1000000000000000000 THRESHOLD=1000000000000000
# Funding as in run-network-bench.sh: the seed's 5 finney at the seed's prices lasts ~500 /actions,
# and automatic top-ups do not keep up at c=20 (the pattern then fails with InsufficientFunds).
start public "$PUB" PORT="$PUB" PAYMENT_SERVER_URL="http://127.0.0.1:$PS_PUB" \
  KEYSTORE="$KS/consumer.json" PASSWORD_FILE="$PW" FUNDING_WEI="$FUND" \
  PERSISTENCE_SERVICE_URL="http://127.0.0.1:$PERS" RANDOM_NR_SERVICE_URL="http://127.0.0.1:$RAND" \
  -- "$svc/public-service"
curl -fsS --max-time 120 "http://127.0.0.1:$PUB/init" >/dev/null || bench_die "/init failed"
patterns libpaychan
latency libpaychan
stop_named persistence random public

# ---- 1b. the same services unpaid: the floor both paths build on -------------------------------
start persistence "$PERS" PORT="$PERS" PAYMENT_INACTIVE=true -- "$svc/persistence-service"
start random "$RAND" PORT="$RAND" PAYMENT_INACTIVE=true -- "$svc/random-nr-service"
start public "$PUB" PORT="$PUB" PAYMENT_INACTIVE=true PERSISTENCE_SERVICE_URL="http://127.0.0.1:$PERS" \
  RANDOM_NR_SERVICE_URL="http://127.0.0.1:$RAND" -- "$svc/public-service"
latency unpaid
stop_named persistence random public

# ---- 2. sidecars ----
# The same prices and funding as the libpaychan path (the seed's prices; 1 ether, topped up below
# the seed's threshold), so that both paths make the same redemptions and top-ups.---------------------------------------------------------------------------
nopay=(PAYMENT_INACTIVE=true)
proxy="$BUILD/src/proxy/paychan-proxy"
start persistence-svc "$PERS_IN" PORT="$PERS_IN" "${nopay[@]}" -- "$svc/persistence-service"
start random-svc "$RAND_IN" PORT="$RAND_IN" "${nopay[@]}" -- "$svc/random-nr-service"
# consumer_side: PublicService with payment off and the consumer sidecar it calls the providers through
consumer_side() {
  start sidecar "$SIDECAR" -- "$proxy" --mode consumer --port "$SIDECAR" --log-level warn \
    --payment-server "http://127.0.0.1:$PS_PUB" --account "public:$KS/consumer.json:$PW" \
    --target "persistence http://127.0.0.1:$PERS 20000000000000 $FUND $THRESHOLD 100000000000000000000" \
    --target "random http://127.0.0.1:$RAND 10000000000000 $FUND $THRESHOLD 100000000000000000000"
  start public "$PUB" PORT="$PUB" "${nopay[@]}" \
    PERSISTENCE_SERVICE_URL="http://127.0.0.1:$SIDECAR/persistence" \
    RANDOM_NR_SERVICE_URL="http://127.0.0.1:$SIDECAR/random" -- "$svc/public-service"
}
# the hops alone: the same proxies with every route free (no 402, so no channel and no token)
free=(--mode provider --log-level warn --unknown-routes free)
start persistence-proxy "$PERS" -- "$proxy" "${free[@]}" --port "$PERS" --upstream "http://127.0.0.1:$PERS_IN"
start random-proxy "$RAND" -- "$proxy" "${free[@]}" --port "$RAND" --upstream "http://127.0.0.1:$RAND_IN"
consumer_side
latency sidecars-unpaid
stop_named public sidecar persistence-proxy random-proxy
start persistence-proxy "$PERS" -- "$proxy" --mode provider --port "$PERS" --log-level warn \
  --upstream "http://127.0.0.1:$PERS_IN" --payment-server "http://127.0.0.1:$PS_PROV" \
  --account "persistence:$KS/persistence.json:$PW" --route "GET /save paid persistence 20000000000000 40 20"
start random-proxy "$RAND" -- "$proxy" --mode provider --port "$RAND" --log-level warn \
  --upstream "http://127.0.0.1:$RAND_IN" --payment-server "http://127.0.0.1:$PS_PROV" \
  --account "random:$KS/random.json:$PW" --route "GET /randomNumber paid random 10000000000000 40 20"
consumer_side
patterns sidecars
latency sidecars
stop_named public sidecar persistence-proxy random-proxy persistence-svc paychand-public \
  paychand-providers

# ---- 3. unpaid pass-through ---------------------------------------------------------------------
start pass-proxy "$PASS" -- "$proxy" --mode provider --port "$PASS" --log-level warn \
  --upstream "http://127.0.0.1:$RAND_IN" --unknown-routes free
"$LOADGEN" -n 2000 -c 32 "http://127.0.0.1:$PASS/randomNumber" >/dev/null
measure "pass-through" 30000 32 "http://127.0.0.1:$PASS/randomNumber"
measure "pass-through" 30000 32 "http://127.0.0.1:$PASS/randomNumber"
measure "upstream-direct" 30000 32 "http://127.0.0.1:$RAND_IN/randomNumber"
awk -v u="${P50[unpaid]}" -v h="${P50[sidecars-unpaid]}" -v l="${P50[libpaychan]}" \
  -v s="${P50[sidecars]}" 'BEGIN { printf "BREAKDOWN c=1 p50 ms: unpaid %.3f; hops (sidecars-unpaid - unpaid) %+.3f; " \
  "payment libpaychan (libpaychan - unpaid) %+.3f; payment sidecars (sidecars - sidecars-unpaid) %+.3f; " \
  "gap (sidecars - libpaychan) %+.3f\n", u, h - u, l - u, s - h, s - l }'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# run-scale-bench.sh: the scaling figures of issue 16 (point 4) in one run. Builds Release
# (build-bench/) if needed, starts a dev chain and one Redis primary with one replica (both
# appendonly, appendfsync always), then for each instance count N: N paychand instances (each
# serving the dev consumer and provider on that Redis, WAIT 1) behind HAProxy with
# deploy/haproxy.cfg (its server lines replaced by N), and drives validateToken and
# createSignatureHeaders through the balancer with bench_paychand (one client thread, keep-alive
# connections). For each run: req/s, p50/p99, and the CPU time per request of every process
# (all paychand instances together, the Redis primary, the replica, HAProxy, the client), read
# from /proc, and the share of the server side's CPU spent in Redis. Last, WAIT's added latency
# per acknowledged count: validateToken at one connection on an instance with
# --redis-wait-replicas 0 and on one with 1, alternated. Prints Markdown tables and stops
# everything it started. Not a test. See --help.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_NAME=run-scale-bench.sh
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"
BUILD="${PAYCHAN_BENCH_BUILD:-$REPO/build-bench}"

BENCH_OPTIONS="instances connections warmup duration wait_rounds"
instances="1 2 4" connections=32 warmup=1 duration=5 wait_rounds=3 keep=0

usage() {
  cat <<USAGE
Usage: bench/run-scale-bench.sh [--instances "1 2 4"] [--connections 32] [--warmup S]
                                [--duration S] [--wait-rounds N] [--keep]

Measures paychand scaled out behind HAProxy on one Redis (primary + replica, WAIT 1) on this
machine (DEVELOPMENT keys and chain only): validateToken and createSignatureHeaders through the
balancer with 1, 2 and 4 instances, CPU per request per process and Redis's share, and WAIT's
added latency per acknowledged count. Client, balancer, instances and Redis share the cores;
every request is pre-signed before the measurement (client crypto not measured).

  --instances LIST    instance counts to run (default "1 2 4")
  --connections N     concurrent keep-alive connections to the balancer (default 32)
  --warmup S          seconds sent but not measured per run (default 1)
  --duration S        seconds measured per run (default 5)
  --wait-rounds N     rounds of the WAIT 0 / WAIT 1 comparison, 3 s each side (default 3)
  --keep              keep the temp dir (logs, configuration) and print its path

Environment: PAYCHAN_BENCH_BUILD = build directory (default <repo>/build-bench),
PAYCHAN_BENCH_SERVER_ARGS = extra paychand options for every instance, split at spaces
(e.g. "--http-workers 32").
Needs haproxy, redis-server (scripts/install-deps.sh). Exit status 0 only if every run was
valid (every answer 200 and correct).
USAGE
}

bench_options "$@"
for tool in haproxy redis-server redis-cli; do
  command -v "$tool" >/dev/null || bench_die "$tool is missing (scripts/install-deps.sh installs it)"
done

PAYCHAND="$BUILD/src/server/paychand"
LOADGEN="$BUILD/bench/bench_paychand"
bench_build "$BUILD" paychand bench_paychand
CLK_TCK="$(getconf CLK_TCK)"
read -r -a server_args <<<"${PAYCHAN_BENCH_SERVER_ARGS:-}"

# ---- processes we start, stopped on any exit ---------------------------------------------
TMP="$(mktemp -d /tmp/scale-bench.XXXXXX)"
pids=()     # everything (stopped at exit)
group=()    # the current instance set and its balancer (stopped between runs)
stop_pids() {
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}
cleanup() {
  stop_pids "${group[@]}" "${pids[@]}"
  "$REPO/devnet/stop.sh" --state-dir "$TMP/chain" >/dev/null 2>&1 || true
  if ((keep)); then echo "kept: $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node_url="$("$REPO/devnet/start.sh" --port "$(bench_free_port)" --state-dir "$TMP/chain" | tail -n 1)"

# start_redis NAME [OPTION...]: a redis-server with its AOF fsynced on every write; sets $port.
start_redis() {
  local name="$1"
  shift
  port="$(bench_free_port)"
  mkdir -p "$TMP/$name"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$TMP/$name" --appendonly yes \
    --appendfsync always --save "" "$@" >"$TMP/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return
    sleep 0.05
  done
  bench_die "redis $name did not start (see $TMP/$name.log)"
}
start_redis redis-primary
redis_port="$port"
redis_pid="${pids[-1]}"
start_redis redis-replica --replicaof 127.0.0.1 "$redis_port"
replica_pid="${pids[-1]}"
for _ in $(seq 200); do
  redis-cli -p "$redis_port" info replication | grep -q 'state=online' && break
  sleep 0.05
done
redis-cli -p "$redis_port" info replication | grep -q 'state=online' || bench_die "the replica did not come online"

# start_instance NAME WAIT: a paychand serving the dev consumer and provider on the Redis
# primary, acknowledging once WAIT replicas have a count; waits for /ready; sets $url.
start_instance() {
  local name="$1" wait="$2" port
  port="$(bench_free_port)"
  mkdir -p "$TMP/$name"
  "$PAYCHAND" --node-url "$node_url" --chain-id "$CHAIN_ID" --port "$port" --data-dir "$TMP/$name" \
    --store redis --redis-port "$redis_port" --redis-wait-replicas "$wait" --log-level warn \
    --account "$KEYS/consumer.json:$PASSWORD" --account "$KEYS/persistence.json:$PASSWORD" \
    ${server_args[@]+"${server_args[@]}"} 2>"$TMP/$name.log" &
  group+=($!)
  url="http://127.0.0.1:$port"
  bench_wait_ok "${group[-1]}" "$url/ready" "$TMP/$name.log"
}

# start_balanced N: N instances behind HAProxy (deploy/haproxy.cfg with N server lines); sets
# lb_url, instance_pids and lb_pid once HAProxy has every instance in rotation.
start_balanced() {
  local n="$1" i servers="" lb_port seen
  instance_pids=()
  for i in $(seq "$n"); do
    start_instance "paychand-$n-$i" 1
    instance_pids+=("${group[-1]}")
    servers+="    server paychand$i ${url#http://}"$'\n'
  done
  { sed '/^ *server paychand/d' "$REPO/deploy/haproxy.cfg"; printf '%s' "$servers"; } >"$TMP/haproxy-$n.cfg"
  lb_port="$(bench_free_port)"
  PAYCHAN_LB_LISTEN=127.0.0.1 PAYCHAN_LB_PORT="$lb_port" haproxy -db -f "$TMP/haproxy-$n.cfg" \
    >"$TMP/haproxy-$n.log" 2>&1 &
  group+=($!)
  lb_pid=$!
  lb_url="http://127.0.0.1:$lb_port"
  for _ in $(seq 200); do
    seen="$(for _ in $(seq $((2 * n))); do
      curl -s -D - -o /dev/null --max-time 1 "$lb_url/ready" | tr -d '\r' | sed -n 's/^x-paychan-instance: //Ip'
    done | sort -u | wc -l)" || true
    ((seen == n)) && return
    sleep 0.1
  done
  bench_die "HAProxy did not put all $n instances in rotation (see $TMP/haproxy-$n.log)"
}

# ticks_of PID...: the CPU ticks of these processes together.
ticks_of() {
  local pid sum=0
  for pid in "$@"; do sum=$((sum + $(cpu_ticks "$pid"))); done
  echo "$sum"
}
us_per_req() { awk -v t="$1" -v hz="$CLK_TCK" -v n="$2" 'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "-" }'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

next_count=1000000 # validate counts: far above anything createSignatureHeaders hands out here
failed=0
# run_load URL ENDPOINT CONNECTIONS DURATION REQUESTS: one bench_paychand run; sets line to its
# RESULT line (not in a subshell: the validate counts must move on).
run_load() {
  local url="$1" ep="$2" c="$3" d="$4" n="$5" args
  if [[ "$ep" == validate ]]; then
    args=(--keystore "$KEYS/persistence.json" --password-file "$PASSWORD" --endpoint validate
      --token-keystore "$KEYS/consumer.json" --token-password-file "$PASSWORD"
      --token-id "$token_id" --chain-id "$CHAIN_ID" --first-count "$next_count")
    next_count=$((next_count + n))
  else
    args=(--keystore "$KEYS/consumer.json" --password-file "$PASSWORD" --endpoint create)
  fi
  "$LOADGEN" load --url "$url" "${args[@]}" --mediator "$mediator" --connections "$c" \
    --warmup "$warmup" --duration "$d" --requests "$n" --auth mac >"$TMP/result" || failed=1
  line="$(grep '^RESULT' "$TMP/result" || true)"
}

echo "# paychand scaled out behind HAProxy, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "command: bench/run-scale-bench.sh --instances \"$instances\" --connections $connections --warmup $warmup --duration $duration --wait-rounds $wait_rounds"
echo "paychand Release, extra options: ${PAYCHAN_BENCH_SERVER_ARGS:-(none)}, --store redis (primary + 1 replica, appendfsync always, WAIT 1), HAProxy $(haproxy -v | head -n 1 | cut -d' ' -f3) with deploy/haproxy.cfg, request auth mac; one bench_paychand thread drives $connections keep-alive connections to HAProxy"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
bench_netfilter_note
echo

rows=()
for n in $instances; do
  start_balanced "$n"
  [[ -n "${mediator:-}" ]] || bench_open_mediator "$LOADGEN" "$lb_url"
  for ep in validate create; do
    requests=$((9000 * (warmup + duration) + 1000))
    t_pc0="$(ticks_of "${instance_pids[@]}")" t_r0="$(cpu_ticks "$redis_pid")"
    t_rr0="$(cpu_ticks "$replica_pid")" t_lb0="$(cpu_ticks "$lb_pid")"
    run_load "$lb_url" "$ep" "$connections" "$duration" "$requests"
    sent="$(field sent "$line")"
    pc="$(us_per_req $(($(ticks_of "${instance_pids[@]}") - t_pc0)) "$sent")"
    r="$(us_per_req $(($(cpu_ticks "$redis_pid") - t_r0)) "$sent")"
    rr="$(us_per_req $(($(cpu_ticks "$replica_pid") - t_rr0)) "$sent")"
    lb="$(us_per_req $(($(cpu_ticks "$lb_pid") - t_lb0)) "$sent")"
    share="$(awk -v p="$pc" -v r="$r" -v rr="$rr" -v l="$lb" 'BEGIN { t = p + r + rr + l; if (t > 0) printf "%.0f", 100 * (r + rr) / t; else print "-" }')"
    rows+=("$(printf '| %s | %s | %s | %.2f | %.2f | %s | %s | %s | %s | %s | %.0f | %s%% |' \
      "$(field endpoint "$line")" "$n" "$(field rps "$line")" \
      "$(awk -v u="$(field p50_us "$line")" 'BEGIN { print u / 1000 }')" \
      "$(awk -v u="$(field p99_us "$line")" 'BEGIN { print u / 1000 }')" \
      "$(field errors "$line")" "$pc" "$r" "$rr" "$lb" "$(field client_cpu_us_per_req "$line")" "$share")")
  done
  stop_pids "${group[@]}"
  group=()
done

echo "## Throughput and CPU per request, $connections connections through HAProxy (${duration} s measured after ${warmup} s warm-up)"
echo
echo "| endpoint | instances | req/s | p50 ms | p99 ms | errors | paychand µs/req (all) | Redis primary µs/req | replica µs/req | HAProxy µs/req | client µs/req | Redis share of server CPU |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo

# ---- WAIT's cost: the same validations at one connection, WAIT 0 and WAIT 1 alternated ----------
start_instance wait-0 0
url_0="$url"
start_instance wait-1 1
url_1="$url"
p50_0=() p50_1=()
for _ in $(seq "$wait_rounds"); do
  run_load "$url_0" validate 1 3 20000
  p50_0+=("$(field p50_us "$line")")
  run_load "$url_1" validate 1 3 20000
  p50_1+=("$(field p50_us "$line")")
done
echo "## WAIT's added latency per acknowledged count (validateToken, one connection, direct, p50 of each 3 s run)"
echo
echo "| round | --redis-wait-replicas 0 p50 ms | --redis-wait-replicas 1 p50 ms | WAIT adds ms |"
echo "|---:|---:|---:|---:|"
for i in $(seq 0 $((wait_rounds - 1))); do
  awk -v r=$((i + 1)) -v a="${p50_0[$i]}" -v b="${p50_1[$i]}" \
    'BEGIN { printf "| %d | %.3f | %.3f | %+.3f |\n", r, a / 1000, b / 1000, (b - a) / 1000 }'
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
((failed == 0)) || bench_die "at least one run had errors: its figures are invalid"

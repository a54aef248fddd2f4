# shellcheck shell=bash
# bench/lib.sh: helpers shared by the benchmark scripts (sourced, not run).
# The sourcing script sets BENCH_NAME (for messages) and REPO.

# The DEVELOPMENT keys and chain id every benchmark uses.
KEYS="$REPO/devnet/dev-only/keystores"
PASSWORD="$REPO/devnet/dev-only/password.txt"
CHAIN_ID=31337

# Prints the message prefixed with the script's name and exits 1.
bench_die() {
  echo "$BENCH_NAME: $*" >&2
  exit 1
}

# bench_build DIR TARGET...: configures DIR as a Release build if it is not
# one yet, then builds the targets, printing the build log only on failure.
bench_build() {
  local dir="$1" log
  shift
  if [[ ! -f "$dir/CMakeCache.txt" ]]; then
    cmake -S "$REPO" -B "$dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  grep -q 'CMAKE_BUILD_TYPE:STRING=Release' "$dir/CMakeCache.txt" ||
    bench_die "$dir is not a Release build; set PAYCHAN_BENCH_BUILD to a fresh directory"
  log="$(mktemp "/tmp/$BENCH_NAME-build.XXXXXX")"
  if ! cmake --build "$dir" -j2 --target "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    bench_die "build failed"
  fi
  rm -f "$log"
}

# port_in_use PORT: true if something accepts connections on 127.0.0.1:PORT.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# cpu_ticks PID: user + system CPU time of a process so far, in clock ticks.
cpu_ticks() {
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# bench_free_port: a port nobody accepts connections on, below the kernel's ephemeral range
# (32768-60999: a port there can be the local end of some outgoing connection, free to
# connect to but not to bind).
bench_free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 12000))
    port_in_use "$p" || { echo "$p"; return; }
  done
  bench_die "no free port found"
}

# bench_json_field NAME: the string value of "NAME" in the JSON object on stdin.
bench_json_field() {
  sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p"
}

# bench_open_mediator LOADGEN URL: deploys a Mediator of the dev consumer (consumer.json) for
# the dev provider (persistence.json) at 1 wei per request through the consumer's paychand at
# URL and deposits 1000 ETH (funds never run out); sets mediator and token_id (its active id).
# Needs KEYS and PASSWORD (the dev keystores) and REPO.
bench_open_mediator() {
  local loadgen="$1" url="$2" provider answer
  local key=(--keystore "$KEYS/consumer.json" --password-file "$PASSWORD")
  provider="$(sed -n 's/.*"address": *"\(0x[0-9a-fA-F]*\)".*/\1/p' \
    "$REPO/devnet/dev-only/accounts.json" | sed -n 2p | tr 'A-F' 'a-f')"
  answer="$("$loadgen" call --url "$url" "${key[@]}" \
    "/useService?serviceProvider=$provider&costPerRequest=1&terminationTimeout=3600&tokenRedemptionTimeout=3600")"
  mediator="$(bench_json_field mediatorAddress <<<"$answer")"
  [[ -n "$mediator" ]] || bench_die "useService answered: $answer"
  "$loadgen" call --url "$url" "${key[@]}" "/contracts/$mediator/deposit/1000000000000000000000" >/dev/null
  answer="$("$loadgen" call --url "$url" "${key[@]}" "/contracts/$mediator/createSignatureHeaders")"
  token_id="$(bench_json_field x-pay-token-id <<<"$answer")"
  [[ -n "$token_id" ]] || bench_die "createSignatureHeaders answered: $answer"
}

# bench_options ARG...: the command line of a benchmark whose options are all "--NAME VALUE"
# (setting the variable NAME, dashes as underscores, which the script declared in
# BENCH_OPTIONS) plus --keep (keep=1) and -h/--help (the script's usage function).
bench_options() {
  local name
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --keep) keep=1; shift; continue ;;
      -h|--help) usage; exit 0 ;;
    esac
    name="${1#--}"
    name="${name//-/_}"
    [[ "$1" == --* && " $BENCH_OPTIONS " == *" $name "* ]] || bench_die "unknown argument '$1' (see --help)"
    [[ $# -ge 2 ]] || bench_die "option $1 needs a value"
    printf -v "$name" '%s' "$2"
    shift 2
  done
}

# bench_wait_ok PID URL LOG: waits (10 s at most) until URL answers 200, dying with LOG shown if
# process PID exits first.
bench_wait_ok() {
  local pid="$1" url="$2" log="$3"
  for _ in $(seq 100); do
    curl -fs --max-time 1 "$url" >/dev/null 2>&1 && return
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; bench_die "the server of $url exited"; }
    sleep 0.1
  done
  bench_die "$url did not answer 200 within 10 s (see $log)"
}

# bench_netfilter_note: warns when NAT rules put connection tracking on the
# loopback path (podman/netavark leaves them behind after a container has
# run, e.g. after scripts/test's deploy_containers): every new connection
# then costs more (measured: ab -l on the unpaid /action 6,400-7,500 req/s
# with them, 7,700-8,600 without, docs/benchmarks.md).
bench_netfilter_note() {
  if command -v nft >/dev/null 2>&1 && nft list ruleset 2>/dev/null | grep -q 'type nat hook'; then
    echo "note: NAT rules are loaded (nft list ruleset): connection tracking slows loopback" \
      "connections; figures are not comparable with a machine without them"
  fi
}

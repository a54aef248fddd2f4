# shellcheck shell=bash
# bench/lib.sh: helpers shared by the benchmark scripts (sourced, not run).
# The sourcing script sets BENCH_NAME (for messages) and REPO.

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

#!/usr/bin/env bash
# start.sh: starts the DEVELOPMENT chain (anvil) with the dev-only accounts funded.
# See devnet/README.md. Stop it with devnet/stop.sh.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
ANVIL="${PAYCHAN_ANVIL:-$REPO_ROOT/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil}"
MNEMONIC_FILE="$SCRIPT_DIR/dev-only/mnemonic.txt"

port=8545
block_time=""
chain_id=31337
state_dir="$REPO_ROOT/run/devnet"
ready_deadline_s=10

usage() {
  cat <<USAGE
Usage: devnet/start.sh [--port N] [--block-time S] [--chain-id ID] [--state-dir DIR]

Starts anvil (DEVELOPMENT ONLY) in the background with the dev-only mnemonic
(devnet/dev-only/mnemonic.txt), 10 accounts of 10000 ETH each, and waits until
it answers eth_chainId.

  --port N         JSON-RPC port on 127.0.0.1 (default 8545)
  --block-time S   mine a block every S seconds (e.g. 2) instead of instantly
                   per transaction, so timeouts behave as on a real chain
  --chain-id ID    chain id (default 31337)
  --state-dir DIR  where anvil.log and anvil.pid go (default <repo>/run/devnet)
  -h, --help       this text

Environment: PAYCHAN_ANVIL overrides the anvil binary
  (default <repo>/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil).
Prints the node URL on success; exits non-zero with a message otherwise.
USAGE
}

die() {
  echo "devnet/start.sh: $*" >&2
  exit 1
}

need_value() {
  [[ $# -ge 2 && -n "$2" ]] || die "option $1 needs a value (see --help)"
}

# uint_between VALUE MIN MAX: VALUE is a decimal integer in [MIN, MAX].
uint_between() {
  [[ "$1" =~ ^[0-9]{1,15}$ ]] && ((10#$1 >= $2 && 10#$1 <= $3))
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) need_value "$@"; port="$2"; shift 2 ;;
    --block-time) need_value "$@"; block_time="$2"; shift 2 ;;
    --chain-id) need_value "$@"; chain_id="$2"; shift 2 ;;
    --state-dir) need_value "$@"; state_dir="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

uint_between "$port" 1 65535 || die "--port must be 1..65535, got '$port'"
uint_between "$chain_id" 1 999999999999999 || die "--chain-id must be a positive integer, got '$chain_id'"
if [[ -n "$block_time" ]]; then
  uint_between "$block_time" 1 3600 || die "--block-time must be whole seconds in 1..3600, got '$block_time'"
fi
port=$((10#$port))
chain_id=$((10#$chain_id))
[[ -x "$ANVIL" ]] || die "anvil not found at $ANVIL (run scripts/install-deps.sh, or set PAYCHAN_ANVIL)"
[[ -r "$MNEMONIC_FILE" ]] || die "dev mnemonic missing: $MNEMONIC_FILE"
command -v curl >/dev/null || die "curl is needed to check that anvil answers"

mkdir -p "$state_dir"
state_dir="$(cd "$state_dir" && pwd)"
pid_file="$state_dir/anvil.pid"
log_file="$state_dir/anvil.log"
url="http://127.0.0.1:$port"

if [[ -f "$pid_file" ]]; then
  old_pid="$(cat "$pid_file")"
  if [[ "$old_pid" =~ ^[0-9]+$ ]] && kill -0 "$old_pid" 2>/dev/null; then
    die "a dev chain already runs with PID $old_pid ($pid_file); stop it with devnet/stop.sh --state-dir $state_dir"
  fi
  rm -f "$pid_file" # stale: its process is gone
fi

# bash's /dev/tcp connects only if something listens on the port.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
port_in_use "$port" && die "port $port is already in use; choose another with --port N"

rpc_chain_id() {
  curl -s --max-time 1 -H 'Content-Type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$url" 2>/dev/null |
    sed -n 's/.*"result":"\(0x[0-9a-fA-F]*\)".*/\1/p' || true
}

args=(--host 127.0.0.1 --port "$port" --chain-id "$chain_id"
  --mnemonic "$(cat "$MNEMONIC_FILE")" --accounts 10 --balance 10000)
mode="instant mining"
if [[ -n "$block_time" ]]; then
  args+=(--block-time "$block_time")
  mode="a block every ${block_time} s"
fi

# setsid: anvil must not die with this shell or receive its terminal's signals.
setsid "$ANVIL" "${args[@]}" >"$log_file" 2>&1 </dev/null &
anvil_pid=$!
echo "$anvil_pid" >"$pid_file"

deadline=$((SECONDS + ready_deadline_s))
while :; do
  answer="$(rpc_chain_id)"
  [[ -n "$answer" ]] && break
  if ! kill -0 "$anvil_pid" 2>/dev/null; then
    rm -f "$pid_file"
    echo "devnet/start.sh: anvil exited during start-up; last lines of $log_file:" >&2
    tail -n 20 "$log_file" >&2
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    kill -TERM "$anvil_pid" 2>/dev/null || true
    rm -f "$pid_file"
    die "anvil did not answer eth_chainId on $url within ${ready_deadline_s} s (log: $log_file)"
  fi
  sleep 0.1
done

((answer == chain_id)) || die "node on $url reports chain id $((answer)), expected $chain_id"

# The MediatorFactory (and with it the Mediator implementation) at its deterministic address:
# CREATE2 through the deterministic deployment proxy anvil ships, salt 0 (see docs/architecture.md). paychand would deploy it on demand; here it is there from the start.
factory_artifact="$REPO_ROOT/contracts/artifacts/MediatorFactory.json"
factory_code="$(sed -n 's/^  "bytecode": "0x\([0-9a-f]*\)",$/\1/p' "$factory_artifact")"
factory_address="$(sed -n 's/^    "address": "\(0x[0-9a-fA-F]*\)",\{0,1\}$/\1/p' "$factory_artifact")"
[[ -n "$factory_code" && -n "$factory_address" ]] || die "cannot read $factory_artifact"
rpc() {
  curl -s --max-time 5 -H 'Content-Type: application/json' \
    --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$url"
}
# From the last dev account (index 9, no role), so the example network's accounts start untouched.
deployer="$(rpc eth_accounts "[]" | sed -n 's/.*"\(0x[0-9a-fA-F]*\)"\].*/\1/p')"
sent="$(rpc eth_sendTransaction "[{\"from\":\"$deployer\",\"to\":\"0x4e59b44847b379578588920ca78fbf26c0b4956c\",\"data\":\"0x$(printf '0%.0s' {1..64})$factory_code\"}]")"
# Wait until it is mined (under load that can take a moment; with a block time, mine at once).
deployed() {
  code="$(rpc eth_getCode "[\"$factory_address\",\"latest\"]")"
  [[ "$code" == *'"result":"0x'[0-9a-f]* && "$code" != *'"result":"0x"'* ]]
}
deadline=$((SECONDS + ready_deadline_s))
while [[ "$sent" == *'"result":"0x'* ]] && ! deployed && ((SECONDS < deadline)); do
  [[ -n "$block_time" ]] && rpc evm_mine "[]" >/dev/null
  sleep 0.1
done
if ! deployed; then
  kill -TERM "$anvil_pid" 2>/dev/null || true # no half-set-up chain left behind
  rm -f "$pid_file"
  die "deploying the MediatorFactory at $factory_address failed: $sent $code"
fi
echo "dev chain (DEVELOPMENT ONLY) running: $url  chain id $chain_id, $mode, PID $anvil_pid"
echo "MediatorFactory: $factory_address"
echo "log: $log_file   stop: devnet/stop.sh --state-dir $state_dir"
echo "$url"

#!/usr/bin/env bash
# stop.sh: stops the dev chain started by devnet/start.sh, by the PID it recorded.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
state_dir="$REPO_ROOT/run/devnet"
grace_s=5

usage() {
  cat <<USAGE
Usage: devnet/stop.sh [--state-dir DIR]

Stops the anvil started by devnet/start.sh: sends TERM to the PID in
DIR/anvil.pid, waits up to ${grace_s} s, then KILL; removes the pid file.
Does nothing (exit 0) when no pid file is there.

  --state-dir DIR  the directory given to start.sh (default <repo>/run/devnet)
  -h, --help       this text
USAGE
}

die() {
  echo "devnet/stop.sh: $*" >&2
  exit 1
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --state-dir) [[ $# -ge 2 && -n "$2" ]] || die "option --state-dir needs a value"; state_dir="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

pid_file="$state_dir/anvil.pid"
if [[ ! -f "$pid_file" ]]; then
  echo "no dev chain recorded in $state_dir (no anvil.pid); nothing to stop"
  exit 0
fi
pid="$(cat "$pid_file")"
[[ "$pid" =~ ^[0-9]+$ ]] || die "$pid_file does not hold a PID: '$pid'"

if ! kill -0 "$pid" 2>/dev/null; then
  rm -f "$pid_file"
  echo "dev chain (PID $pid) was not running; removed stale $pid_file"
  exit 0
fi
# Only signal the process if it still is anvil (PIDs get reused).
comm="$(ps -o comm= -p "$pid" 2>/dev/null || true)"
[[ "$comm" == anvil* ]] || die "PID $pid from $pid_file is '$comm', not anvil; not touching it (remove the file if stale)"

kill -TERM "$pid" 2>/dev/null || true
deadline=$((SECONDS + grace_s))
while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  echo "dev chain (PID $pid) ignored TERM for ${grace_s} s; sending KILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$pid_file"
echo "dev chain (PID $pid) stopped"

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

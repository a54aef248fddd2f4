#!/bin/sh
# install_all.sh CMAKE BUILD_DIR ANVIL [EXTRA_CFLAGS]: `cmake --install` of everything into a
# temporary prefix, then uses what was installed, as an operator would:
#   - the files: programs, libpaychan, the CMake package and pkg-config files, the Visualizer,
#     the --help documents, the systemd unit (checked with `systemd-analyze verify` when present);
#   - the installed CLI: `paychan --help`, `paychan keys new` into a temporary directory;
#   - the installed paychand on a real anvil, serving that new keystore and the installed
#     Visualizer, and `paychan status` / `paychan keys list` against it;
#   - the installed library through find_package(paychan) in a small CMake project
#     (tests/client/install_check.c; EXTRA_CFLAGS: a sanitized build's flags).
set -eu
cmake=$1 build=$2 anvil=$3 extra=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/paychan-install-all.XXXXXX")
prefix=$work/prefix
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" || fail "cmake --install"
for f in bin/paychand bin/paychan include/paychan.h lib/libpaychan.so lib/pkgconfig/paychan.pc \
         lib/cmake/paychan/paychanConfig.cmake lib/cmake/paychan/paychanConfigVersion.cmake \
         lib/cmake/paychan/paychanTargets.cmake share/paychan/visualizer/index.html \
         share/paychan/visualizer/js/app.js share/paychan/visualizer/vendor/ethers.min.js \
         share/doc/paychan/paychand.txt share/doc/paychan/paychan.txt \
         share/doc/paychan/paychand.conf.example lib/systemd/system/paychand.service; do
    [ -e "$prefix/$f" ] || fail "$f not installed"
done
grep -q -- '---- paychan keys new ----' "$prefix/share/doc/paychan/paychan.txt" ||
    fail "paychan.txt lacks the commands' help"
unit=$prefix/lib/systemd/system/paychand.service
grep -q "^ExecStart=$prefix/bin/paychand " "$unit" || fail "the unit does not name the installed paychand"
for k in DynamicUser=yes ProtectSystem=strict StateDirectory=paychan NoNewPrivileges=yes; do
    grep -q "^$k\$" "$unit" || fail "the unit lacks $k"
done
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify "$unit" >"$work/verify.log" 2>&1 || fail "systemd-analyze verify"
    [ ! -s "$work/verify.log" ] || fail "systemd-analyze verify printed warnings"
    echo "OK: systemd-analyze verify paychand.service"
fi

# The installed CLI.
paychan=$prefix/bin/paychan
"$paychan" --help | grep -q '^Exit status:' || fail "paychan --help"
printf 'operator password\n' >"$work/pw"
"$paychan" --json keys new --dir "$work/keys" --password-file "$work/pw" --light >"$work/new.json" ||
    fail "paychan keys new"
account=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["account"])' "$work/new.json")
address=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["address"])' "$work/new.json")
echo "OK: paychan keys new made $address"

# The installed paychand on a real anvil, serving the new key and the installed Visualizer.
aport=$(free_port)
"$anvil" --port "$aport" --silent >"$work/anvil.log" 2>&1 &
pids="$pids $!"
pport=$(free_port)
"$prefix/bin/paychand" --node-url "http://127.0.0.1:$aport" --port "$pport" --store memory \
    --account "$account" --visualizer "$prefix/share/paychan/visualizer" >"$work/paychand.log" 2>&1 &
pids="$pids $!"
tries=0
until "$paychan" --port "$pport" --json status >"$work/status.json" 2>"$work/status.log" &&
      grep -q '"ethereumNodeReachable": true' "$work/status.json"; do
    tries=$((tries + 1))
    [ "$tries" -lt 300 ] || fail "paychan status against the installed paychand"
    sleep 0.1
done
grep -qi "\"$address\"" "$work/status.json" || fail "paychand's /status does not list $address"
echo "OK: paychan status against the installed paychand (serving $address)"
"$paychan" --port "$pport" --account "$account" keys list | grep -q "^$address " ||
    fail "paychan keys list of the configured account"
curl -fsS "http://127.0.0.1:$pport/visualizer/" | grep -qi '<html' || fail "installed Visualizer not served"

# The installed library through find_package(paychan).
mkdir -p "$work/consumer"
cat >"$work/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(install_consumer C)
find_package(paychan 0.1 REQUIRED)
add_executable(install_check "$here/../client/install_check.c")
target_link_libraries(install_check PRIVATE paychan::paychan)
CMAKE
"$cmake" -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_FLAGS="$extra" -DCMAKE_EXE_LINKER_FLAGS="$extra" >"$work/consumer.log" 2>&1 ||
    fail "find_package(paychan)"
"$cmake" --build "$work/consumer/build" >>"$work/consumer.log" 2>&1 || fail "building against paychan::paychan"
key=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 # anvil dev account 0
got=$(LD_LIBRARY_PATH="$prefix/lib" "$work/consumer/build/install_check" "$key")
[ "$got" = 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266 ] || fail "find_package build printed '$got'"
echo "OK: a program built with find_package(paychan) printed $got"
echo "OK: install_all passed"

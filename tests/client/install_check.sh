#!/bin/sh
# install_check.sh CMAKE BUILD_DIR CC [EXTRA_CFLAGS]: installs libpaychan from BUILD_DIR into a
# temporary prefix (component libpaychan), checks the installed files, builds install_check.c
# with nothing but `pkg-config --cflags --libs paychan` (EXTRA_CFLAGS: the sanitizer flags of a
# sanitized build, which the library needs), runs it and compares the address it prints.
set -eu
cmake=$1 build=$2 cc=$3 extra=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
prefix=$(mktemp -d "${TMPDIR:-/tmp}/paychan-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT

"$cmake" --install "$build" --prefix "$prefix" --component libpaychan >"$prefix/install.log"
for f in include/paychan.h lib/pkgconfig/paychan.pc lib/libpaychan.so lib/libpaychan.so.0; do
    [ -e "$prefix/$f" ] || { echo "FAIL: $f not installed"; cat "$prefix/install.log"; exit 1; }
done
if ls "$prefix/include" | grep -v '^paychan\.h$'; then
    echo "FAIL: headers other than paychan.h installed"; exit 1
fi
grep -q "^prefix=$prefix\$" "$prefix/lib/pkgconfig/paychan.pc" ||
    { echo "FAIL: paychan.pc does not carry the prefix"; cat "$prefix/lib/pkgconfig/paychan.pc"; exit 1; }

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
flags=$(pkg-config --cflags --libs paychan)
echo "pkg-config --cflags --libs paychan: $flags"
# shellcheck disable=SC2086 # the flags are words
"$cc" -std=c11 -Wall -Wextra -Werror $extra "$here/install_check.c" -o "$prefix/install_check" $flags

key=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 # anvil dev account 0
want=0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266
got=$(LD_LIBRARY_PATH="$prefix/lib" "$prefix/install_check" "$key")
[ "$got" = "$want" ] || { echo "FAIL: printed '$got', expected $want"; exit 1; }
echo "OK: the installed libpaychan printed $got"

#!/bin/sh
# Installs the built tree into a temporary prefix, then builds and runs an
# application outside the tree against it, twice: with find_package(zmtls)
# and with pkg-config; and checks that bin/zmtls-certs runs.
# Usage: install.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" > "$tmp/install.log"
libdir=$(find "$prefix" -name 'libzmtls.so' -printf '%h\n' | head -n 1)
test -n "$libdir" || { echo "install.sh: no libzmtls.so under $prefix"; exit 1; }
for f in include/zmtls.h include/zmtls_version.h; do
    test -f "$prefix/$f" || { echo "install.sh: $f not installed"; exit 1; }
done
# The development certificate tool, runnable from bin/.
"$prefix/bin/zmtls-certs" --version > /dev/null || { echo "install.sh: bin/zmtls-certs"; exit 1; }

echo "install.sh: find_package(zmtls) from $prefix"
cmake -S "$src/tests/package/consumer" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
    > "$tmp/configure.log" || { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/cmake" > "$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
LD_LIBRARY_PATH=$libdir "$tmp/cmake/consumer"

echo "install.sh: pkg-config zmtls from $prefix"
# --define-prefix: the .pc file names the prefix configured at build time;
# this one was installed elsewhere (cmake --install --prefix).
PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH
# shellcheck disable=SC2046
cc -o "$tmp/consumer-pc" "$src/tests/package/consumer/main.c" \
    $(pkg-config --define-prefix --cflags --libs zmtls)
LD_LIBRARY_PATH=$libdir "$tmp/consumer-pc"

#!/bin/sh
# Installs the Debian packages zmtls needs (only those missing) and builds
# the library, examples and tests into $BUILD_DIR (default: build/).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}

pkgs="build-essential cmake pkg-config libzmq3-dev libssl-dev libczmq-dev openssl
      python3 python3-zmq python3-pytest stunnel4 clang-format gnuplot-nox testssl.sh
      php-cli php-zmq ruby-ffi-rzmq libzmq-ffi-perl
      groff-base man-db"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "zmtls: installing Debian packages:$missing"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)"

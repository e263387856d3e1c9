#!/bin/sh
# Builds zmtls's Debian packages (debian/), checks them with lintian,
# installs them and runs the demo against what was installed: examples/demo.c
# built with the installed pkg-config file and headers, an application found
# through the installed CMake package, certificates made by the installed
# zmtls-certs, the Python example under the installed zmtls-run, and
# `man zmq_tls`. Debian 12, as root or with sudo; every step is bounded.
#
#   scripts/deb.sh [--out DIR] [--nocheck] [--no-install] [--remove]
#
#   --out DIR     where the packages and logs go (default: build-deb/ in the
#                 tree); the tree is built from a copy in DIR/src, since
#                 dpkg-buildpackage writes the packages beside the tree
#   --nocheck     DEB_BUILD_OPTIONS=nocheck: no tests in the package build
#   --no-install  stop after lintian
#   --remove      purge the three packages at the end (on success or not)
#
# Idempotent: DIR is made again on every run, packages already installed are
# replaced. The packages come from what git has committed (git archive
# HEAD); outside a git checkout, from the files as they are.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build-deb
nocheck=0
install=1
remove=0
while [ $# -gt 0 ]; do
    case $1 in
    --out)
        out=${2:?--out needs a directory}
        shift
        ;;
    --nocheck) nocheck=1 ;;
    --no-install) install=0 ;;
    --remove) remove=1 ;;
    -h | --help)
        sed -n '2,20s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        echo "deb.sh: unknown argument '$1' (--help)" >&2
        exit 2
        ;;
    esac
    shift
done
case $out in /*) ;; *) out=$(pwd)/$out ;; esac

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
packages="libzmtls0 libzmtls-dev zmtls-tools"
say() { echo "deb.sh: $*"; }
die() {
    echo "deb.sh: $*" >&2
    exit 1
}
# apt and dpkg wait for a lock another apt holds, up to five minutes.
apt_get() {
    DEBIAN_FRONTEND=noninteractive timeout 1200 $sudo apt-get -o DPkg::Lock::Timeout=300 \
        -y -q --no-install-recommends "$@"
}
purge() {
    installed=""
    for p in $packages; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" &&
            installed="$installed $p"
    done
    [ -z "$installed" ] && return 0
    say "purging$installed"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive timeout 600 $sudo dpkg --purge $installed > /dev/null
}
if [ $remove -eq 1 ]; then
    trap 'purge' EXIT
fi

# 1. What the build needs: the packaging tools, then debian/control's
# Build-Depends (apt reads them from the tree); and what the checks after
# installation use. Only what is missing, so a second run asks apt nothing.
missing=""
for p in dpkg-dev debhelper lintian fakeroot build-essential git man-db python3-zmq; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    say "installing$missing"
    apt_get update -qq
    # shellcheck disable=SC2086
    apt_get install $missing > /dev/null
fi
if ! (cd "$root" && dpkg-checkbuilddeps > /dev/null 2>&1); then
    say "installing the Build-Depends of debian/control"
    apt_get update -qq
    apt_get build-dep "$root" > /dev/null
fi

# 2. A copy of the tree, built into packages in $out.
rm -rf "$out"
mkdir -p "$out/src"
if git -C "$root" rev-parse --verify -q HEAD > /dev/null 2>&1; then
    [ -z "$(git -C "$root" status --porcelain -- . ':!build*')" ] ||
        say "note: uncommitted changes are not in the packages (git archive HEAD)"
    git -C "$root" archive --format=tar HEAD | tar -x -C "$out/src"
else
    tar -C "$root" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -x -C "$out/src"
fi
# Space-separated, with no empty item (dpkg warns about each).
opts=${DEB_BUILD_OPTIONS:-}
if [ $nocheck -eq 1 ]; then
    opts="${opts:+$opts }nocheck"
fi
case " $opts " in
*" parallel="*) ;;
*) opts="${opts:+$opts }parallel=$(nproc)" ;;
esac
say "dpkg-buildpackage -us -uc -b, DEB_BUILD_OPTIONS='$opts' (log: $out/build.log)"
if ! (cd "$out/src" && DEB_BUILD_OPTIONS="$opts" \
    timeout 1800 dpkg-buildpackage -us -uc -b > "$out/build.log" 2>&1); then
    tail -n 40 "$out/build.log" >&2
    die "the package build failed (log: $out/build.log)"
fi
changes=$(ls "$out"/zmtls_*.changes)
for f in "$out"/*.deb; do echo "  $f"; done

# 3. lintian: errors fail (its default), warnings and the rest are shown.
say "lintian (log: $out/lintian.log)"
# lintian warns when run as root; that line is not about the packages.
status=0
timeout 900 lintian --info --pedantic "$changes" > "$out/lintian.log" 2>&1 || status=$?
grep -v 'running with root privileges' "$out/lintian.log" || true
[ $status -eq 0 ] || die "lintian reported errors (exit status $status)"
say "lintian: no errors"

[ $install -eq 1 ] || exit 0

# 4. Installed, then used as a user would, from outside the tree.
debs=""
for p in $packages; do
    debs="$debs $(ls "$out/${p}_"*.deb)"
done
say "installing$debs"
# shellcheck disable=SC2086
apt_get install --reinstall $debs > "$out/install.log" 2>&1 ||
    { cat "$out/install.log" >&2; die "installing the packages failed"; }

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
lib=/usr/lib/$multiarch/libzmtls.so.0
for f in "$lib" "/usr/lib/$multiarch/zmtls/libzmq.so.5" /usr/include/zmtls.h \
    /usr/bin/zmtls-run /usr/bin/zmtls-certs; do
    [ -e "$f" ] || die "$f not installed"
done
work=$(mktemp -d)
if [ $remove -eq 1 ]; then
    trap 'rm -rf "$work"; purge' EXIT
else
    trap 'rm -rf "$work"' EXIT
fi
cd "$work"

say "zmtls-certs: certificates for the demo"
sh "$out/src/scripts/make-certs.sh" "$work/certs" /usr/bin/zmtls-certs

say "demo.c built with pkg-config zmtls (the installed libzmtls-dev)"
# shellcheck disable=SC2046
cc -o demo "$out/src/examples/demo.c" $(pkg-config --cflags --libs zmtls)
# The library the loader picks (through /lib on a merged-/usr system).
found=$(ldd ./demo | awk '$1 == "libzmtls.so.0" { print $3 }')
if [ -z "$found" ] || [ "$(readlink -f "$found")" != "$(readlink -f "$lib")" ]; then
    die "demo loads libzmtls.so.0 from '$found', not $lib"
fi
timeout 60 ./demo "$work/certs" 3 > demo.log 2>&1 || {
    cat demo.log
    die "the demo failed against the installed library"
}
sed -n '/^summary/,$p' demo.log

say "find_package(zmtls) (the installed CMake package)"
if ! { cmake -S "$out/src/tests/package/consumer" -B consumer && cmake --build consumer; } \
    > consumer.log 2>&1; then
    cat consumer.log
    die "find_package(zmtls) failed"
fi
timeout 60 ./consumer/consumer || die "the find_package(zmtls) consumer failed"

say "zmtls-run /usr/bin/python3 examples/python_reqrep.py (pyzmq, installed zmtls-run)"
# shellcheck disable=SC2016
preload=$(zmtls-run sh -c 'printf %s "$LD_PRELOAD"')
[ "$preload" = "$lib" ] || die "zmtls-run preloads '$preload', not $lib"
timeout 60 zmtls-run /usr/bin/python3 "$out/src/examples/python_reqrep.py" "$work/certs" 3 \
    > python.log 2>&1 || { cat python.log; die "the Python example failed under zmtls-run"; }
tail -n 3 python.log

say "man zmq_tls"
page=$(man -w zmq_tls)
case $page in
/usr/share/man/man7/zmq_tls.7*) ;;
*) die "man -w zmq_tls gives '$page'" ;;
esac
MANWIDTH=80 man zmq_tls > man.txt 2> man.err || { cat man.err; die "man zmq_tls failed"; }
if [ -s man.err ]; then
    cat man.err
    die "man zmq_tls warned"
fi
head -n 4 man.txt
say "all checks passed against the installed packages ($page)"

#!/bin/sh
# zmtls-run, in the build tree and installed (cmake --install into a
# temporary prefix, run through a symlink too): options, exit statuses
# passed through, the environment it prepends to, and that an installed
# compatibility libzmq.so.5 reaches the installed libzmtls.
#   zmtls_run.sh BUILD_DIR
set -u
build=$1
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # check WHAT EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then
        echo "ok: $1"
    else
        echo "FAIL: $1: expected '$2', got '$3'"
        fails=$((fails + 1))
    fi
}

status() { "$@" >/dev/null 2>&1; echo $?; }

run_checks() { # run_checks ZMTLS_RUN LIBDIR
    run=$1 libdir=$2
    check "--version" "zmtls-run @VERSION@" "$("$run" --version | sed 's/ [0-9.]*$/ @VERSION@/')"
    check "--help exits 0" 0 "$(status "$run" --help)"
    "$run" --help | grep -q '^Usage: zmtls-run' || { echo "FAIL: --help text"; fails=$((fails + 1)); }
    check "no program: 125" 125 "$(status "$run")"
    check "unknown option: 125" 125 "$(status "$run" --bogus true)"
    check "exit status passed through" 7 "$(status "$run" sh -c 'exit 7')"
    check "killed by a signal: 128+9" 137 "$(status "$run" sh -c 'kill -9 $$')"
    check "missing program: 127" 127 "$(status "$run" /nonexistent/program)"
    check "-- ends options" 3 "$(status "$run" -- sh -c 'exit 3')"
    env=$(LD_PRELOAD= LD_LIBRARY_PATH=/opt/x FFI_CHECKLIB_PATH= "$run" sh -c \
          'echo "$LD_PRELOAD|$LD_LIBRARY_PATH|$FFI_CHECKLIB_PATH"')
    check "environment, prepended" \
        "$libdir/libzmtls.so.0|$libdir/zmtls:/opt/x|$libdir/zmtls" "$env"
    # ctypes opens libzmq.so.5 by name, as FFI bindings do: the zmtls entry
    # points come through it, so its dependency on libzmtls resolved.
    found=$("$run" /usr/bin/python3 -c 'import ctypes
h = ctypes.CDLL("libzmq.so.5")
print(hasattr(h, "zmtls_last_error") and hasattr(h, "zmq_msg_init"))')
    check "libzmq.so.5 through zmtls-run has zmtls and libzmq symbols" True "$found"
}

echo "== build tree"
run_checks "$build/zmtls-run" "$build"

echo "== installed"
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null || { echo "FAIL: install"; exit 1; }
libdir=$(dirname "$(find "$tmp/prefix" -name 'libzmtls.so.0' | head -1)")
[ -f "$libdir/zmtls/libzmq.so.5" ] || { echo "FAIL: no $libdir/zmtls/libzmq.so.5"; exit 1; }
run_checks "$tmp/prefix/bin/zmtls-run" "$libdir"
echo "== installed, through a symlink"
ln -s "$tmp/prefix/bin/zmtls-run" "$tmp/zr"
run_checks "$tmp/zr" "$libdir"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all zmtls-run checks passed"

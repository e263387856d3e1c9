#!/bin/sh
# Benchmarks tls:// against tcp://, CURVE and stunnel in one run: builds in
# Release into build-bench/ (installing the Debian packages first), makes
# throwaway certificates, runs bench/'s zmtls_bench and writes
# bench/results/latest.txt (markdown table), .csv, .json and .png.
#   ./scripts/bench.sh            full run, a few minutes
#   ./scripts/bench.sh --quick    smoke run, about a minute
# Further options go to `zmtls_bench run` (--rounds N, --cases tcp,tls,
# --metrics lat,thr,new,recon,mem, --mem-conns N).
# Exits non-zero when a case could not run; the others are still reported.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-bench
# Tests are not needed to benchmark; Release is what users deploy.
BUILD_DIR="$build" CMAKE_ARGS="-DCMAKE_BUILD_TYPE=Release -DZMTLS_TESTS=OFF" \
    "$root/scripts/setup.sh"
certs=$build/bench-certs
sh "$root/scripts/make-certs.sh" "$certs" "$build/tools/certs/zmtls-certs"
out=$root/bench/results
plot=$build/bench-plot.gp
mkdir -p "$out"
rm -f "$plot"

rc=0
"$build/bench/zmtls_bench" run --certs "$certs" --out "$out" --plot "$plot" "$@" || rc=$?
if [ -f "$plot" ]; then
    if gnuplot "$plot"; then
        echo "zmtls: wrote $out/latest.txt .csv .json .png"
    else
        echo "zmtls: gnuplot could not draw $out/latest.png" >&2
        [ "$rc" -ne 0 ] || rc=1
    fi
fi
exit "$rc"

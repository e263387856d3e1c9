#!/bin/sh
# Measures what hostile peers cost a tls:// REP server: builds into build/
# (scripts/setup.sh, installing the Debian packages first), makes throwaway
# certificates, runs tools/hostile's zmtls_hostile and writes its markdown
# table to stdout and to bench/results/hostile.md (or --out FILE).
#   ./scripts/hostile.sh            every attack on tls://, about 4 minutes
#   ./scripts/hostile.sh --both     then the same on tcp:// (TLS-only attacks
#                                   skipped), one table, about 6 minutes
#   ./scripts/hostile.sh --tcp      the server on tcp:// only
#   ./scripts/hostile.sh --quick    every attack scaled down, about 20 s
# Further options go to `zmtls_hostile run` (--attacks soak,keyupdate,
# --declared-size 16G, --flood-conns 2000, ...; --help lists them).
# A measuring tool: it exits non-zero only when an attack could not be made
# (a server that closes an attacker is an outcome, not a failure).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
BUILD_DIR="$build" "$root/scripts/setup.sh"
certs=$build/hostile-certs
sh "$root/scripts/make-certs.sh" "$certs" "$build/tools/certs/zmtls-certs"

out=$root/bench/results/hostile.md
for a in "$@"; do
    [ "$a" = "--out" ] && out=""
done
if [ -n "$out" ]; then
    mkdir -p "$(dirname "$out")"
    set -- --out "$out" "$@"
fi
exec "$build/tools/hostile/zmtls_hostile" run --certs "$certs" "$@"

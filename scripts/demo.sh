#!/bin/sh
# Sets everything up on a fresh Debian 12 machine, then runs the demo: a
# tls:// REP server, a good REQ client and a client with an untrusted
# certificate, printing their monitor events live.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
certs="$root/build/demo-certs"
sh "$root/scripts/make-certs.sh" "$certs" "$root/build/tools/certs/zmtls-certs"
exec "$root/build/examples/demo" "$certs" "${1:-8}"

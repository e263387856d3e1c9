#!/bin/sh
# Sets everything up on a fresh Debian 12 machine, then runs the demo: a
# tls:// REP server, a good REQ client and a client with an untrusted
# certificate, printing their monitor events live.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
# Throwaway certificates from zmtls-certs: a CA with a server and a good
# client (init), and a client signed by a second CA nobody trusts.
certs="$root/build/demo-certs"
tool="$root/build/tools/certs/zmtls-certs"
rm -rf "$certs"
"$tool" init "$certs" > /dev/null
"$tool" ca "$certs" rogue-ca --cn "rogue CA" > /dev/null
"$tool" client "$certs" rogue-client --issuer rogue-ca --cn "rogue client" > /dev/null
exec "$root/build/examples/demo" "$certs" "${1:-8}"

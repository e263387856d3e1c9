#!/bin/sh
# Makes throwaway credentials for the demo and the tests in DIR, with
# zmtls-certs (tools/certs):
#   ca.pem ca.key                 the trusted CA
#   server.pem server.key         server, SAN localhost, 127.0.0.1, ::1
#   client.pem client.key         client signed by the CA
#   rogue-ca.pem                  a CA nobody trusts
#   rogue-client.pem .key         client signed by the rogue CA
#   expired-client.pem .key       client signed by the CA, expired in 2020
#   wronghost-server.pem .key     server signed by the CA for wrong.example only
#   rsa1024-client.pem .key       client signed by the CA with an RSA-1024 key
#   caleaf.pem .key               leaf signed by the CA but marked CA:TRUE
#                                 (client and server use, SAN localhost, 127.0.0.1, ::1)
#   pinned-server.pem .key        self-signed (CA:TRUE), for a peer that pins it
#   pinned-client.pem .key        the same for a client
#   chainN.pem .key (N = 1..5)    leaf under N intermediates (int1 <- ca, int2 <- int1,
#                                 ...), the file holding the leaf then its
#                                 intermediates; client and server use
#   revoked-client.pem .key       client signed by the CA, revoked
#   revoked-server.pem .key       server signed by the CA (as server.pem), revoked
#   crl-revoked.pem               the CA's CRL revoking revoked-client and revoked-server
#   crl-empty.pem                 the CA's CRL revoking nothing
#   crl-chain1.pem                crl-revoked.pem then int1's CRL revoking nothing:
#                                 a CRL for each CA of chain1's chain
#   crl-int1-revoked.pem          the CA's CRL revoking int1, then int1's empty CRL
# EC P-256 keys unless said otherwise; CAs and CRLs valid for ten years,
# the other certificates for 825 days. Idempotent: does nothing when the
# last file made exists (else it makes everything again).
#
#   make-certs.sh DIR [ZMTLS_CERTS]
#
# ZMTLS_CERTS is the zmtls-certs program to use (default: $ZMTLS_CERTS_TOOL,
# else build/tools/certs/zmtls-certs of this tree).
set -eu
dir=${1:?usage: make-certs.sh DIR [ZMTLS_CERTS]}
root=$(cd "$(dirname "$0")/.." && pwd)
tool=${2:-${ZMTLS_CERTS_TOOL:-$root/build/tools/certs/zmtls-certs}}
[ -f "$dir/ca.pem" ] && [ -f "$dir/crl-int1-revoked.pem" ] && exit 0
if [ ! -x "$tool" ]; then
    echo "make-certs.sh: $tool is not built (scripts/setup.sh builds it) or not executable" >&2
    exit 1
fi
# Everything here is throwaway and made again as a whole, over whatever an
# interrupted run left (a CRL is always replaced: crl needs no --force).
certs() {
    cmd=$1
    shift
    "$tool" "$cmd" "$dir" "$@" --force
}
# Peers that serve as client and as server (on the loopback addresses).
both="--eku server,client --san dns:localhost,ip:127.0.0.1,ip:::1"

# No pathlen on the CAs: the chains below go five intermediates deep.
certs init --cn "zmtls test CA" --pathlen none
certs ca rogue-ca --cn "rogue CA" --pathlen none
certs client rogue-client --issuer rogue-ca --cn "rogue client" --san dns:rogue
certs server wronghost-server --cn wrong.example --san dns:wrong.example
certs client expired-client --cn "expired client" --san dns:expired \
    --not-before 2020-01-01 --not-after 2020-02-01
# Below security level 2 (RSA under 2048 bits): refused whatever the host's
# OpenSSL configuration allows.
certs client rsa1024-client --cn "rsa1024 client" --san dns:rsa1024 --key rsa:1024
# A CA certificate presented as a peer's own.
# shellcheck disable=SC2086
certs server caleaf --cn localhost --ca-flag $both
# Self-signed certificates a peer trusts by holding them as its CA.
for who in server client; do
    # shellcheck disable=SC2086
    certs $who pinned-$who --self-signed --cn "pinned $who" $both
done

certs client revoked-client --cn "revoked client" --san dns:revoked
certs server revoked-server --cn localhost --san dns:localhost,ip:127.0.0.1,ip:::1
"$tool" crl "$dir" --days 3650 --out "$dir/crl-empty.pem"
"$tool" revoke "$dir" revoked-client
"$tool" revoke "$dir" revoked-server
"$tool" crl "$dir" --days 3650 --out "$dir/crl-revoked.pem"

# Intermediates int1 (under the CA) to int5, and a leaf under each; the
# leaf's file carries its intermediates.
issuer=ca
for n in 1 2 3 4 5; do
    certs ca int$n --issuer $issuer --cn "intermediate $n" --pathlen none
    # shellcheck disable=SC2086
    certs server chain$n --issuer int$n --cn "chain $n" $both
    issuer=int$n
done
"$tool" crl "$dir" --issuer int1 --days 3650 --out "$dir/int1-crl.pem"
cat "$dir/crl-revoked.pem" "$dir/int1-crl.pem" > "$dir/crl-chain1.pem"
# The CA's list starts over: a CRL revoking int1 alone.
rm -f "$dir/ca.revoked"
"$tool" revoke "$dir" int1
"$tool" crl "$dir" --days 3650 --out "$dir/ca-int1-crl.pem"
cat "$dir/ca-int1-crl.pem" "$dir/int1-crl.pem" > "$dir/crl-int1-revoked.pem.tmp"
rm -f "$dir"/int*.key "$dir"/int*.pem "$dir"/ca-int1-crl.pem "$dir"/*.revoked
# Last, so that an interrupted run is never taken for a finished one.
mv "$dir/crl-int1-revoked.pem.tmp" "$dir/crl-int1-revoked.pem"

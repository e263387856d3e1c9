#!/bin/sh
# Makes throwaway credentials for the demo and the tests in DIR:
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
# EC P-256 keys unless said otherwise. Idempotent: does nothing when the
# last file made exists.
set -eu
dir=${1:?usage: make-certs.sh DIR}
[ -f "$dir/ca.pem" ] && [ -f "$dir/crl-int1-revoked.pem" ] && exit 0
mkdir -p "$dir"
cd "$dir"
umask 077
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { # name subject
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -sha256 -days 3650 -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem"
}
leaf() { # name ca subject san eku [extra x509 args]
    name=$1 issuer=$2 subj=$3 san=$4 eku=$5
    shift 5
    key "$name.key"
    openssl req -new -key "$name.key" -subj "/CN=$subj" -out "$name.csr"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=%s\n' \
        "$eku" "$san" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" \
        -CAcreateserial -sha256 -extfile "$name.ext" -out "$name.pem" "$@" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
}
signed() { # name issuer subject extensions: a certificate with exactly these extensions
    name=$1 issuer=$2 subj=$3
    openssl req -new -key "$name.key" -subj "/CN=$subj" -out "$name.csr"
    printf '%b\n' "$4" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" \
        -CAcreateserial -sha256 -days 825 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
}
# Peers that serve as client and as server (on the loopback addresses).
both_uses='extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1'
ca ca "zmtls test CA"
ca rogue-ca "rogue CA"
leaf server ca "localhost" "DNS:localhost,IP:127.0.0.1,IP:::1" serverAuth -days 825
leaf client ca "client" "DNS:client" clientAuth -days 825
leaf rogue-client rogue-ca "rogue client" "DNS:rogue" clientAuth -days 825
leaf wronghost-server ca "wrong.example" "DNS:wrong.example" serverAuth -days 825

# Expired: `openssl x509 -req` cannot back-date, so sign with `openssl ca`.
key expired-client.key
openssl req -new -key expired-client.key -subj "/CN=expired client" -out expired.csr
mkdir -p ca.db
: > ca.db/index.txt
cat > ca.db/ca.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
database = ca.db/index.txt
new_certs_dir = ca.db
serial = ca.db/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
x509_extensions = ext
[ any ]
commonName = supplied
[ ext ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:expired
CNF
echo 01 > ca.db/serial
openssl ca -batch -config ca.db/ca.cnf -cert ca.pem -keyfile ca.key \
    -startdate 20200101000000Z -enddate 20200201000000Z -notext \
    -in expired.csr -out expired-client.pem 2>/dev/null
rm -rf expired.csr ca.db

# Below security level 2 (RSA under 2048 bits): refused whatever the host's
# OpenSSL configuration allows.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024-client.key 2>/dev/null
signed rsa1024-client ca "rsa1024 client" \
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:rsa1024'

# A CA certificate presented as a peer's own.
key caleaf.key
signed caleaf ca "localhost" \
    "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\n$both_uses"

# Self-signed certificates a peer trusts by holding them as its CA.
for who in server client; do
    key pinned-$who.key
    openssl req -x509 -new -key pinned-$who.key -sha256 -days 825 -subj "/CN=pinned $who" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,digitalSignature,keyCertSign" \
        -addext "extendedKeyUsage=serverAuth,clientAuth" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" -out pinned-$who.pem
done

# CRLs need `openssl ca` and its database: crl ISSUER OUT [CERT...] writes
# ISSUER's CRL revoking the certificates given, valid for ten years.
crl() {
    issuer=$1 out=$2
    shift 2
    mkdir -p crl.db
    : > crl.db/index.txt
    cat > crl.db/ca.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
database = crl.db/index.txt
default_md = sha256
default_crl_days = 3650
CNF
    for c in "$@"; do
        openssl ca -config crl.db/ca.cnf -cert "$issuer.pem" -keyfile "$issuer.key" \
            -revoke "$c" 2>/dev/null
    done
    openssl ca -gencrl -config crl.db/ca.cnf -cert "$issuer.pem" -keyfile "$issuer.key" \
        -out "$out" 2>/dev/null
    rm -rf crl.db
}
leaf revoked-client ca "revoked client" "DNS:revoked" clientAuth -days 825
leaf revoked-server ca "localhost" "DNS:localhost,IP:127.0.0.1,IP:::1" serverAuth -days 825
crl ca crl-revoked.pem revoked-client.pem revoked-server.pem
crl ca crl-empty.pem

# Intermediates int1 (under the CA) to int5, and a leaf under each.
issuer=ca
for n in 1 2 3 4 5; do
    key int$n.key
    signed int$n $issuer "intermediate $n" \
        'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign'
    key chain$n.key
    signed chain$n int$n "chain $n" "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n$both_uses"
    issuer=int$n
done
crl int1 int1-crl.pem
cat crl-revoked.pem int1-crl.pem > crl-chain1.pem
crl ca ca-int1-crl.pem int1.pem
cat ca-int1-crl.pem int1-crl.pem > crl-int1-revoked.pem
rm -f int1-crl.pem ca-int1-crl.pem
for n in 1 2 3 4 5; do
    i=$n
    while [ "$i" -ge 1 ]; do
        cat int$i.pem >> chain$n.pem
        i=$((i - 1))
    done
done
rm -f int*.key int*.pem ./*.srl
chmod 644 ./*.pem

#!/bin/bash
# Points testssl.sh at a tls:// REP server and checks what it finds:
#   - TLS 1.3 is offered and nothing older (SSLv2 .. TLS 1.2);
#   - only AEAD cipher suites, and forward secrecy;
#   - no vulnerability check flags anything (severity OK or INFO only);
#   - the server (build's tests/interop_scan_server, under the build's
#     libzmtls) kept serving its own good client before, during and after
#     the scan, and never lost that client's connection.
#
#   scripts/tls-scan.sh [BUILD_DIR]     (default: build/)
#
# The server requires a client certificate. Debian 12's testssl.sh (3.0.8)
# has no --mtls option, so it scans without one: every check above reads
# the server's side of the handshake (ServerHello, EncryptedExtensions,
# Certificate), which a TLS 1.3 server sends before it verifies the
# client. The server refuses each of the scanner's connections afterwards,
# as the counts it prints at the end show.
#
# Certificate findings are about the throwaway test CA, not the transport,
# and are not asserted: no CRL or OCSP URI, no CAA record. The CA is passed
# with --add-ca so the chain of trust is checked like any other.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
server="$build/tests/interop_scan_server"
[ -x "$server" ] || { echo "tls-scan: $server not built" >&2; exit 1; }
command -v testssl >/dev/null || { echo "tls-scan: testssl (package testssl.sh) missing" >&2; exit 1; }
export ZMTLS_TEST_CERTS=${ZMTLS_TEST_CERTS:-$build/test-certs}
sh "$root/scripts/make-certs.sh" "$ZMTLS_TEST_CERTS" "$build/tools/certs/zmtls-certs"

tmp=$(mktemp -d)
pid=""
cleanup() {
    exec 3>&- 4<&- 2>/dev/null || true
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# The server reads its stdin until end of file and prints its endpoint
# first: both through fifos, so nothing here polls or sleeps.
mkfifo "$tmp/in" "$tmp/out"
"$server" <"$tmp/in" >"$tmp/out" 2>"$tmp/server.err" &
pid=$!
exec 3>"$tmp/in" 4<"$tmp/out"
if ! read -r -t 30 -u 4 word endpoint || [ "$word" != endpoint ]; then
    echo "tls-scan: the server did not start" >&2
    cat "$tmp/server.err" >&2
    exit 1
fi
port=${endpoint##*:}
echo "tls-scan: server on $endpoint"

t0=$(date +%s)
rc=0
timeout 600 testssl --quiet --color 0 --warnings off --add-ca "$ZMTLS_TEST_CERTS/ca.pem" \
    --jsonfile "$tmp/scan.json" --protocols --std --fs --server-preference \
    --server-defaults --vulnerable "127.0.0.1:$port" >"$tmp/scan.txt" 2>&1 || rc=$?
t1=$(date +%s)
cat "$tmp/scan.txt"
# testssl.sh's exit status counts findings of severity HIGH and above,
# which the certificate of the test CA produces; the JSON decides below.
[ -s "$tmp/scan.json" ] || { echo "tls-scan: testssl wrote no findings (status $rc)" >&2; exit 1; }

# Scan done: the server makes its last round trip and reports.
exec 3>&-
if ! summary=$(timeout 30 cat <&4); then
    echo "tls-scan: the server did not finish" >&2
fi
wait "$pid" && srv_rc=0 || srv_rc=$?
pid=""
echo "$summary"
cat "$tmp/server.err" >&2
[ "$srv_rc" -eq 0 ] || { echo "tls-scan: the server failed (status $srv_rc)" >&2; exit 1; }

python3 - "$tmp/scan.json" <<'PY'
import json, sys

findings = {}
for f in json.load(open(sys.argv[1])):
    findings.setdefault(f["id"], []).append(f)
problems = []


def one(fid):
    if fid not in findings:
        problems.append(f"{fid}: missing from the scan")
        return {"severity": "", "finding": ""}
    return findings[fid][0]


def expect(fid, want):
    got = one(fid)["finding"]
    if not got.startswith(want):
        problems.append(f"{fid}: {got!r}, expected {want!r}")


for p in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2"):
    expect(p, "not offered")
expect("TLS1_3", "offered")
for c in ("NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA", "AVERAGE"):
    expect("cipherlist_" + c, "not offered")
expect("cipherlist_STRONG", "offered")
expect("PFS", "offered")
aead = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256"}
suites = one("cipherorder_TLSv1_3")["finding"].split()
if not suites or not set(suites) <= aead:
    problems.append(f"TLS 1.3 suites {suites}: not all AEAD")
expect("cert_chain_of_trust", "passed")

vulns = ("heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego",
         "secure_client_renego", "CRIME_TLS", "POODLE_SSL", "fallback_SCSV",
         "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4")
for v in vulns:
    for f in findings.get(v, [one(v)]):
        if f["severity"] not in ("OK", "INFO"):
            problems.append(f"{v}: {f['severity']} {f['finding']}")
# Anything else flagged that is not about the test CA's certificate.
about_test_ca = {"cert_revocation", "DNS_CAArecord"}
for fid, fs in findings.items():
    for f in fs:
        if f["severity"] in ("MEDIUM", "HIGH", "CRITICAL") and fid not in about_test_ca:
            problems.append(f"{fid}: {f['severity']} {f['finding']}")

if problems:
    print("tls-scan: FAILED\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"tls-scan: TLS 1.3 only, suites {' '.join(suites)} (all AEAD, forward "
      f"secret), {len(vulns)} vulnerability checks clean")
PY
echo "tls-scan: passed; testssl.sh ran $((t1 - t0)) s"

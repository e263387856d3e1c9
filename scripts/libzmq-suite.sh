#!/bin/sh
# Runs libzmq's own test suite (the tests/ of Debian's zeromq3 source, the
# version of the installed libzmq5) over tcp:// and over tls://, and writes
# which cases pass on each to bench/results/libzmq-suite.md.
#
#   scripts/libzmq-suite.sh [BUILD_DIR [OUT]]
#
# The test programs are built against the installed libzmq (not a rebuilt
# one), twice: as shipped (the reference), and with every "tcp://" of the
# tests and of their endpoint helpers turned into "tls://", run under
# LD_PRELOAD=BUILD_DIR/libzmtls.so with one certificate, good for both roles,
# in ZMTLS_CERT/ZMTLS_KEY/ZMTLS_CA. Programs that do not build against the
# public API (internal symbols, draft-only API) are listed as not built.
# Runs are sequential (several tests bind fixed ports) and each is bounded by
# SUITE_TIMEOUT seconds (default 60). SUITE_TESTS="test_a test_b" runs only
# those; SUITE_RUN=0 only writes the report again from the last results. The source and the programs are kept in BUILD_DIR/libzmq-suite, so a
# second run only runs. Needs the network for `apt-get source` the first
# time; the machine's APT configuration is not touched (a private sources
# list and lists directory inside the work directory).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
out=${2:-$root/bench/results/libzmq-suite.md}
work=$build/libzmq-suite
timeout_s=${SUITE_TIMEOUT:-60}
lib=$build/libzmtls.so
[ -f "$lib" ] || { echo "libzmq-suite: no $lib (build first)" >&2; exit 1; }
mkdir -p "$work"

# --- the source: Debian's zeromq3 at the installed libzmq5's version -------
version=$(dpkg-query -W -f='${Version}' libzmq5)
upstream=${version%-*}
src=$work/zeromq3-$upstream
if [ ! -d "$src/tests" ]; then
    command -v dpkg-source >/dev/null || {
        echo "libzmq-suite: apt-get source needs dpkg-dev" >&2
        exit 1
    }
    apt=$work/apt
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts"
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
        "http://deb.debian.org/debian $codename main" >"$apt/sources.list"
    set -- -o Dir::Etc::SourceList="$apt/sources.list" \
        -o Dir::Etc::SourceParts="$apt/parts" \
        -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" \
        -o APT::Sandbox::User=root
    apt-get "$@" -qq update
    (cd "$work" && apt-get "$@" -qq source --only-source "zeromq3=$version")
    rm -rf "$apt"
fi

# --- credentials: one leaf for both roles, under a throwaway CA -------------
# Its names are every host the tests connect to: the loopback addresses, the
# wildcards whose ZMQ_LAST_ENDPOINT test_unbind_wildcard connects to
# (0.0.0.0, ::), and the name test_socks's proxy resolves itself. tls://
# checks the server's certificate against the endpoint's host, so without
# them those cases would test name verification, not what they are about.
certs=$work/certs
if [ ! -f "$certs/peer.pem" ]; then
    mkdir -p "$certs"
    (
        cd "$certs"
        umask 077
        k() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
        k ca.key
        openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj /CN=suite-ca \
            -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign -out ca.pem
        k peer.key
        openssl req -new -key peer.key -subj /CN=suite-peer -out peer.csr
        printf '%s\n' basicConstraints=CA:FALSE keyUsage=digitalSignature \
            extendedKeyUsage=serverAuth,clientAuth \
            'subjectAltName=DNS:localhost,DNS:somedomainname.org,IP:127.0.0.1,IP:::1,IP:0.0.0.0,IP:::' >peer.ext
        openssl x509 -req -in peer.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -sha256 -days 825 -extfile peer.ext -out peer.pem 2>/dev/null
        rm -f peer.csr peer.ext
    )
fi

# --- the programs ----------------------------------------------------------
# What the configure step would write into platform.hpp, for this libzmq as
# Debian builds it (zmq_has: ipc, pgm, tipc, norm, curve, gssapi).
inc=$work/include
mkdir -p "$inc" "$work/bin" "$work/obj" "$work/logs" "$work/res"
cat >"$inc/platform.hpp" <<'EOF'
#define ZMQ_HAVE_LINUX 1
#define ZMQ_HAVE_IPC 1
#define ZMQ_HAVE_SO_PEERCRED 1
#define ZMQ_HAVE_UIO 1
#define ZMQ_HAVE_SO_PRIORITY 1
#define ZMQ_HAVE_CURVE 1
#define ZMQ_USE_LIBSODIUM 1
#define ZMQ_HAVE_OPENPGM 1
#define ZMQ_HAVE_TIPC 1
#define ZMQ_HAVE_NORM 1
#define HAVE_LIBGSSAPI_KRB5 1
EOF

# The tls variant of the sources: the tests' and the helpers' "tcp://", and
# the scheme testutil.cpp writes for a socket it bound itself (ZMQ_USE_FD).
tls_src=$src/tests-tls
if [ ! -d "$tls_src" ]; then
    cp -r "$src/tests" "$tls_src"
    sed -i 's|tcp://|tls://|g' "$tls_src"/*.cpp "$tls_src"/*.hpp
    sed -i 's|? "tcp"$|? "tls"|' "$tls_src/testutil.cpp"
fi

# Programs needing what the system libzmq lacks or this machine cannot do:
# TIPC and VMCI (kernel modules), WebSockets (not built by Debian), raw
# capabilities.
skip='_tipc$|_vmci$|^test_ws_transport$|^test_wss_transport$|_cap_net_admin$'
cxx() { nice g++ -std=gnu++11 -O1 -g -w -pthread -DZMQ_CUSTOM_PLATFORM_HPP \
    -DUNITY_USE_COMMAND_LINE_ARGS -DUNITY_EXCLUDE_FLOAT \
    -I"$inc" -I"$src/external/unity" "$@"; }

[ -f "$work/obj/unity.o" ] || nice gcc -O1 -g -w -DUNITY_USE_COMMAND_LINE_ARGS \
    -DUNITY_EXCLUDE_FLOAT -c "$src/external/unity/unity.c" -o "$work/obj/unity.o"
for variant in tcp tls; do
    dir=$src/tests
    [ $variant = tls ] && dir=$tls_src
    for u in testutil testutil_monitoring testutil_security testutil_unity; do
        o=$work/obj/$u.$variant.o
        [ -f "$o" ] || cxx -I"$dir" -c "$dir/$u.cpp" -o "$o"
    done
done

# A test "opens tls:// endpoints" when its tls variant has a tls:// literal
# or calls a helper that binds or names one.
uses_tls() {
    grep -Eq 'tls://|bind_loopback|ENDPOINT_[0-9]|bind_socket_resolve_port|test_bind \(|setup_context_and_server_side' \
        "$tls_src/$1.cpp"
}

tests=${SUITE_TESTS:-$(cd "$src/tests" && ls test_*.cpp | sed 's/\.cpp$//')}
build_one() { # name variant
    dir=$src/tests
    [ "$2" = tls ] && dir=$tls_src
    bin=$work/bin/$1.$2
    [ -x "$bin" ] || [ -f "$bin.failed" ] && return 0
    if cxx -I"$dir" "$dir/$1.cpp" "$work"/obj/testutil*."$2".o "$work/obj/unity.o" \
        -lzmq -o "$bin" 2>"$bin.log"; then
        rm -f "$bin.log"
    else
        touch "$bin.failed"
    fi
}
for t in $tests; do
    echo "$t" | grep -Eq "$skip" && continue
    build_one "$t" tcp
    uses_tls "$t" && build_one "$t" tls
done

# --- the runs --------------------------------------------------------------
# res/NAME.VARIANT: one line per case, "case STATUS message", then
# "#exit CODE" (124: timed out; 128+N: killed by signal N).
run_one() { # name variant
    bin=$work/bin/$1.$2
    log=$work/logs/$1.$2.log
    scratch=$(mktemp -d)
    set +e
    if [ "$2" = tls ]; then
        (cd "$scratch" && LD_PRELOAD=$lib ZMTLS_CERT=$certs/peer.pem \
            ZMTLS_KEY=$certs/peer.key ZMTLS_CA=$certs/ca.pem \
            timeout -k 5 "$timeout_s" stdbuf -oL "$bin") >"$log" 2>&1 </dev/null
    else
        (cd "$scratch" && timeout -k 5 "$timeout_s" stdbuf -oL "$bin") >"$log" 2>&1 </dev/null
    fi
    code=$?
    set -e
    rm -rf "$scratch"
    sed -n 's/^[^:]*:[0-9]*:\([A-Za-z0-9_]*\):\(PASS\|FAIL\|IGNORE\)\(.*\)$/\1 \2 \3/p' \
        "$log" >"$work/res/$1.$2"
    echo "#exit $code" >>"$work/res/$1.$2"
}
for t in $tests; do
    [ "${SUITE_RUN:-1}" = 0 ] && break
    echo "$t" | grep -Eq "$skip" && continue
    [ -x "$work/bin/$t.tcp" ] || continue
    printf 'libzmq-suite: %s tcp' "$t"
    run_one "$t" tcp
    if [ -x "$work/bin/$t.tls" ]; then
        printf ' tls'
        run_one "$t" tls
    fi
    echo
done

# --- the report ------------------------------------------------------------
# Why a case that passes on tcp:// does not on tls://, as far as known: test
# file, case (* for every case of the file), cause. A case listed with no
# cause here is new and needs looking at.
causes=$work/causes.tsv
cat >"$causes" <<'EOF'
test_stream*	*	documented: ZMQ_STREAM is not carried (ENOCOMPATPROTO)
test_connect_rid	test_stream_2_stream	documented: ZMQ_STREAM is not carried (ENOCOMPATPROTO)
test_security_plain	*	documented: PLAIN is refused at bind (EINVAL), TLS authenticates
test_security_curve	*	documented: CURVE is refused at bind (EINVAL), TLS authenticates
test_security_zap	*_plain	documented: PLAIN is refused at bind (EINVAL), TLS authenticates
test_security_zap	*_curve	documented: CURVE is refused at bind (EINVAL), TLS authenticates
test_heartbeats	*_with_curve	documented: CURVE is refused at bind (EINVAL), TLS authenticates
test_heartbeats	test_heartbeat_timeout_router*	documented: a mock peer speaks plaintext ZMTP to a TLS port
test_mock_pub_sub	*	documented: a mock peer speaks plaintext ZMTP to a TLS port
test_security_null	test_vanilla_socket	documented: a mock peer speaks plaintext ZMTP to a TLS port
test_metadata	*	documented: messages carry no metadata (zmq_msg_gets)
test_security_zap	test_zap_wrong_status_internal_error_null	documented: a client refused with an ERROR retries on the authentication schedule (libzmq's stops for good), so the test sees a second refusal
test_bind_src_address	*	documented: a source address is resolved at zmq_connect; a DNS name as source (libzmq cannot use one either, it fails every attempt) is refused there
test_socks	test_socks_ipv6	documented: an IPv6 literal needs brackets (tls://::1:PORT is EINVAL)
test_socks	test_socks_bind_before_connect	documented: ZMQ_SOCKS_PROXY with a source address (SRC;HOST:PORT) is refused (EINVAL)
test_srcfd	*	documented: ZMQ_SRCFD is refused (zmq_msg_get: EINVAL), as libzmq does for inproc://
test_spec_pushpull	*_push_multipart_atomic_drop_*	documented: a whole message that reached the socket before zmq_disconnect stays readable (libzmq drops it); never a part of one
EOF
# cases.tsv: test, case, status on tcp://, status on tls:// (MISSING when the
# program ended before reporting it, with its exit code), tls:// message.
cases=$work/cases.tsv
: >"$cases"
for t in $tests; do
    [ -f "$work/res/$t.tls" ] || continue
    awk -v t="$t" '
        FNR == 1 { f++ }
        /^#exit/ { code[f] = $2; next }
        f == 1 { order[++n] = $1; tcp[$1] = $2 }
        f == 2 { st = $2; $1 = $1; c = $1; $1 = ""; $2 = ""
                 sub(/^ *:? */, ""); gsub(/[|\t]/, "/"); tls[c] = st; msg[c] = $0 }
        END {
            gone = "exit " code[2]
            if (code[2] > 128) gone = "signal " code[2] - 128
            if (code[2] == 124 || code[2] == 137) gone = "timed out"
            for (i = 1; i <= n; i++) {
                c = order[i]
                if (c in tls) printf "%s\t%s\t%s\t%s\t%s\n", t, c, tcp[c], tls[c], msg[c]
                else printf "%s\t%s\t%s\tMISSING\t(%s)\n", t, c, tcp[c], gone
            }
        }' "$work/res/$t.tcp" "$work/res/$t.tls" >>"$cases"
done
{
    echo "# libzmq $upstream's own tests over tcp:// and tls://"
    echo
    echo "Made by \`scripts/libzmq-suite.sh\` (zmtls" \
        "$(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')," \
        "Debian's zeromq3 $version, each run bounded by ${timeout_s} s)."
    echo "Only the test files that open tls:// endpoints are listed. A case"
    echo "counts on tls:// when it passes on tcp:// and on tls://."
    echo
    awk -F'\t' '
        { if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
          cases[$1]++; if ($3 == "PASS") { tcp[$1]++; T++; if ($4 == "PASS") { tls[$1]++; L++ } } }
        END {
            printf "**Totals**: %d test files, %d cases pass on tcp://, %d of them on tls://.\n\n", n, T, L
            print "| test file | cases | pass tcp:// | pass tls:// |"
            print "|---|---|---|---|"
            for (i = 1; i <= n; i++)
                printf "| %s | %d | %d | %d |\n", order[i], cases[order[i]], tcp[order[i]], tls[order[i]]
        }' "$cases"
    echo
    echo "## Cases that pass on tcp:// and not on tls://"
    echo
    echo "| test file | case | on tls:// | cause |"
    echo "|---|---|---|---|"
    awk -F'\t' '
        function glob(p, s) { gsub(/\*/, ".*", p); return s ~ ("^" p "$") }
        FNR == NR { nc++; cf[nc] = $1; cc[nc] = $2; cw[nc] = $3; next }
        $3 == "PASS" && $4 != "PASS" {
            m = $5; if (length(m) > 100) m = substr(m, 1, 97) "..."
            why = "**unexplained**"
            for (i = 1; i <= nc; i++)
                if (glob(cf[i], $1) && glob(cc[i], $2)) { why = cw[i]; break }
            printf "| %s | %s | %s %s | %s |\n", $1, $2, $4, m, why }' "$causes" "$cases"
    echo
    echo "## Not built against the installed libzmq"
    echo
    for t in $tests; do
        [ -f "$work/bin/$t.tcp.failed" ] && printf '%s ' "$t"
    done
    echo
} >"$out"
echo "libzmq-suite: wrote $out"

/*
 * zmtls — a tls:// transport for libzmq 4.3 applications.
 *
 * Link with -lzmtls before -lzmq, or run any libzmq program with
 * LD_PRELOAD=libzmtls.so, and "tls://host:port" endpoints work with
 * zmq_connect() and zmq_bind(): ZMTP 3.1 carried inside TLS 1.3 with mutual
 * certificate authentication. Everything that is not tls:// passes straight
 * to libzmq.
 *
 * This header adds socket option ids (set and read with the ordinary
 * zmq_setsockopt / zmq_getsockopt) and a few helpers. It does not need to be
 * included by programs that only use the environment defaults below.
 *
 * Credentials, most specific first:
 *   1. socket options set on the socket before zmq_connect / zmq_bind;
 *   2. process defaults from the environment:
 *        ZMTLS_CERT  PEM certificate (chain) file
 *        ZMTLS_KEY   PEM private key file
 *        ZMTLS_CA    PEM file of the certificate authorities trusted for peers
 *        ZMTLS_CRL   PEM file of certificate revocation lists (ZMTLS_CRL_FILE)
 *
 * Credential files (the *_FILE options and the environment defaults, not
 * PEM text) are watched: when one changes (renamed into place, a symlink
 * swapped, rewritten) new handshakes use the new credentials, and
 * established connections carry on. ZMTLS_RELOAD_IVL in the environment
 * sets how often they are checked, in ms (default 2000, 0 = never; read at
 * each tls:// zmq_connect / zmq_bind, the latest value applies to the whole
 * process); zmtls_reload() checks them now. See zmq_tls(7), "Rotation".
 *
 * A bind needs a certificate, a key and a CA (it always asks clients for a
 * certificate and verifies it). A connect needs a CA, or uses the system
 * trust store when none is given; its certificate and key are optional, but a
 * zmtls server refuses a client without one (TLS alert 116).
 *
 * Errors: zmq_connect / zmq_bind on a tls:// endpoint return -1 with errno
 * set when credentials cannot be used (ENOENT missing file, EACCES unreadable,
 * EINVAL unusable content, a missing required credential or a malformed
 * endpoint, as libzmq says for tcp://) and zmtls_last_error() says why.
 *
 * Threading: options follow libzmq's rules for the socket they are set on.
 * The helpers below are thread-safe.
 */
#ifndef ZMTLS_H
#define ZMTLS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ZMTLS_VERSION_MAJOR, _MINOR, _PATCH: generated from the build's version. */
#include "zmtls_version.h"

#define ZMTLS_MAKE_VERSION(major, minor, patch) ((major)*10000 + (minor)*100 + (patch))
#define ZMTLS_VERSION                                                                    \
    ZMTLS_MAKE_VERSION(ZMTLS_VERSION_MAJOR, ZMTLS_VERSION_MINOR, ZMTLS_VERSION_PATCH)

/* Marks what libzmtls exports; everything else in it is hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define ZMTLS_EXPORT __attribute__((visibility("default")))
#else
#define ZMTLS_EXPORT
#endif

/* Option ids live far above libzmq's range so they never collide. */
#define ZMTLS_OPTION_BASE 0x7a540000

/* String options. Set with a char buffer and its length (no terminator
 * needed); read back as a NUL-terminated string. Setting an empty value
 * clears the option (the environment default applies again). Both sides. */
#define ZMTLS_CERT_FILE (ZMTLS_OPTION_BASE + 1) /* PEM certificate chain path */
#define ZMTLS_KEY_FILE  (ZMTLS_OPTION_BASE + 2) /* PEM private key path */
#define ZMTLS_CA_FILE   (ZMTLS_OPTION_BASE + 3) /* PEM trusted CA(s) path */
#define ZMTLS_CERT_PEM  (ZMTLS_OPTION_BASE + 4) /* PEM certificate chain text */
#define ZMTLS_KEY_PEM   (ZMTLS_OPTION_BASE + 5) /* PEM private key text; write-only */
#define ZMTLS_CA_PEM    (ZMTLS_OPTION_BASE + 6) /* PEM trusted CA(s) text */
/* A *_PEM option wins over the matching *_FILE option on the same socket. */

/* Connect side: the name the server certificate must carry (DNS or IP SAN)
 * and the SNI sent. Default: the host of the endpoint. */
#define ZMTLS_SERVER_NAME (ZMTLS_OPTION_BASE + 7)

/* Integer options (int), connect side: the reconnect schedule used after an
 * authentication failure (a certificate refused by either side). It is kept
 * per endpoint across attempts, separately from ZMQ_RECONNECT_IVL, and is
 * reset only by a successful handshake or by setting new credentials on the
 * socket (which also retries at once). A handshake that fails on protocol
 * (not TLS, not ZMTP, incompatible socket types) waits on this schedule too,
 * since retrying soon cannot fix a misconfiguration; ZMTLS_AUTH_STOP applies
 * to authentication failures only.
 *   ZMTLS_AUTH_IVL      first interval in ms, default 1000, >= 1
 *   ZMTLS_AUTH_IVL_MAX  cap in ms, default 60000, >= ZMTLS_AUTH_IVL
 *   ZMTLS_AUTH_STOP     1: stop retrying after an authentication failure;
 *                       default 0
 * Each interval is the current step with +/-20 % jitter; the step doubles
 * after every consecutive authentication failure up to the cap. */
#define ZMTLS_AUTH_IVL     (ZMTLS_OPTION_BASE + 8)
#define ZMTLS_AUTH_IVL_MAX (ZMTLS_OPTION_BASE + 9)
#define ZMTLS_AUTH_STOP    (ZMTLS_OPTION_BASE + 10)

/* Integer option (int 0/1), connect side, default 1: resume the TLS 1.3
 * session of the previous connection when reconnecting to the same
 * endpoint (a PSK handshake: no certificates exchanged again; the server's
 * ticket carries the client's original authentication). 0 makes every
 * connection a full handshake. */
#define ZMTLS_RESUME (ZMTLS_OPTION_BASE + 11)

/*
 * Limits on what a peer can make this process hold. Both sides, read at
 * zmq_connect / zmq_bind like libzmq's options; -1 means no limit.
 *
 * A message is kept until its last part has arrived (so a connection lost
 * in the middle never delivers half of it). A peer that goes past either
 * limit with a message still open gets an rfc 37 ERROR command and is
 * disconnected (DISCONNECTED on the monitor, errno EMSGSIZE internally):
 *   ZMTLS_MULTIPART_MAX_PARTS  int: parts of one message, its last
 *                              included; default 65536, >= 1 or -1
 *   ZMTLS_MULTIPART_MAX_BYTES  int64_t: bytes in the parts before a
 *                              message's last; default 256 MiB, >= 0 or -1
 * ZMQ_MAXMSGSIZE applies first, to every frame (commands included), as in
 * libzmq; whatever the sizes a peer declares, memory for a frame grows
 * only as its bytes arrive.
 *
 * Handshakes in progress on one tls:// bind (from TCP accept until ZMTP
 * READY was exchanged, certificate checks included). A connection over
 * either cap is closed at once, before any TLS work, and reported as
 * ZMQ_EVENT_ACCEPT_FAILED with ENOBUFS (listener cap) or EBUSY (the
 * source address's cap); its client retries on its reconnect schedule:
 *   ZMTLS_HANDSHAKES_MAX       int: on the listener, default 256, >= 1
 *   ZMTLS_HANDSHAKES_PER_ADDR  int: from one source IP address, default
 *                              32, >= 1
 * The TLS phase always has a deadline: ZMQ_HANDSHAKE_IVL, or 30 s when that
 * is 0 (then only the ZMTP handshake that follows has none, as in libzmq).
 */
#define ZMTLS_MULTIPART_MAX_PARTS (ZMTLS_OPTION_BASE + 12)
#define ZMTLS_MULTIPART_MAX_BYTES (ZMTLS_OPTION_BASE + 13)
#define ZMTLS_HANDSHAKES_MAX      (ZMTLS_OPTION_BASE + 14)
#define ZMTLS_HANDSHAKES_PER_ADDR (ZMTLS_OPTION_BASE + 15)

/* Integer option (int), both sides: how many intermediate CA certificates
 * the peer's chain may hold between its own certificate and a CA of
 * ZMTLS_CA. A longer chain is refused (HANDSHAKE_FAILED_AUTH 48,
 * unknown_ca: no trusted CA within reach). 0 (the peer's certificate is
 * issued by a trusted CA itself) to ZMTLS_VERIFY_DEPTH_MAX; default
 * ZMTLS_VERIFY_DEPTH_DEFAULT. Read at zmq_connect / zmq_bind. */
#define ZMTLS_VERIFY_DEPTH (ZMTLS_OPTION_BASE + 16)

/* Integer option (int), both sides: TLS handshake messages the peer may
 * send after the handshake (KeyUpdate above all, which costs the receiver
 * a key derivation and, when it asks for one in return, a record), per
 * minute, in bursts of up to as many. One more ends the connection, as a
 * lost connection (DISCONNECTED once established). The session tickets a
 * client expects after its handshake (up to two) do not count. 0 allows
 * none; default ZMTLS_TLS_UPDATES_MAX_DEFAULT. Read at zmq_connect /
 * zmq_bind. */
#define ZMTLS_TLS_UPDATES_MAX (ZMTLS_OPTION_BASE + 17)

/* Integer option (int), bind side: for how many seconds one full handshake
 * may be resumed (ZMTLS_RESUME) before the client must present its
 * certificate again, counted from that handshake however many resumptions
 * follow it; each ticket given to a client carries what is left. A session
 * is never resumed once the client certificate it was verified with has
 * expired: the full handshake that follows refuses that certificate (45,
 * certificate_expired). 1 to ZMTLS_SESSION_LIFETIME_MAX (7 days, the most
 * TLS 1.3 allows a ticket); default ZMTLS_SESSION_LIFETIME_DEFAULT. Read
 * at zmq_bind. */
#define ZMTLS_SESSION_LIFETIME (ZMTLS_OPTION_BASE + 18)

/* String option, both sides: a PEM file of one or more certificate
 * revocation lists (environment default ZMTLS_CRL, used when the socket
 * has none). Set, every certificate of the peer's chain up to the trusted
 * CA is checked against the CRL of the CA that issued it, so the file
 * must hold a CRL for every CA in the chain (intermediates' included): a
 * chain with a CA whose CRL is missing is refused (HANDSHAKE_FAILED_AUTH
 * 48, unknown_ca), as is one checked against an expired CRL (45); a CRL
 * whose signature does not verify fails the handshake with 51
 * (decrypt_error, HANDSHAKE_FAILED_PROTOCOL). A peer whose certificate, or any
 * intermediate above it, is revoked is refused in the handshake
 * (HANDSHAKE_FAILED_AUTH 44, certificate_revoked) on both sides. A server
 * resumes a session (ZMTLS_RESUME) only while the client certificate it
 * was verified with is not revoked by the CRLs of its current context.
 * A credential like the *_FILE options above: the file is read at
 * zmq_connect / zmq_bind (missing: ENOENT; no CRL in it: EINVAL) and
 * setting it on a socket with endpoints rebuilds their contexts for the
 * handshakes that follow. */
#define ZMTLS_CRL_FILE (ZMTLS_OPTION_BASE + 19)

/* String option, both sides: which verified peers may connect, matched
 * against the peer's certificate once its chain has verified (environment
 * default ZMTLS_ALLOW, used when the socket has none). Entries separated by
 * ',', each KIND:VALUE:
 *   dns:NAME     a DNS SAN, case-insensitive; "*.example.org" stands for
 *                exactly one label ("a.example.org")
 *   uri:URI      a URI SAN exactly; a value whose last two characters
 *                are '/' and '*' matches every URI that starts with what
 *                precedes the '*' (a SPIFFE trust domain or path)
 *   cn:NAME      a commonName of the subject, exactly
 *   email:ADDR   an email SAN, case-insensitive
 *   ip:ADDR      an IP SAN (IPv4 or IPv6)
 * A peer matching any entry is allowed; empty (the default): every peer
 * the CA vouches for. A peer that authenticates but is not allowed is
 * refused inside the handshake: HANDSHAKE_FAILED_AUTH on both sides, and a
 * refused client backs off on the auth schedule. The alert is
 * access_denied (49) between zmtls peers, bad_certificate (42) for a peer
 * on another TLS stack; ZMTLS_LOG names the reason. A server restricts its
 * clients, a client its servers (beyond the name check). Set on a socket
 * with endpoints, it applies to their next handshakes. A malformed list
 * fails zmq_setsockopt (or, from the environment, zmq_connect / zmq_bind)
 * with EINVAL and says why in zmtls_last_error. */
#define ZMTLS_ALLOW (ZMTLS_OPTION_BASE + 23)

/* Integer option (int 0/1), bind side, default 0: with ZMQ_ZAP_DOMAIN, add
 * one frame to each ZAP request after the mechanism: the client's
 * certificate as PEM, for a handler that decides by it. Off, the request
 * is libzmq's NULL request frame for frame (handlers that read exactly its
 * six frames, as libzmq's own tests do, refuse a seventh); CZMQ's zauth
 * works either way. */
#define ZMTLS_ZAP_CERT (ZMTLS_OPTION_BASE + 24)

/* Integer options (int), bind side: repeat offenders. A source address
 * that fails authentication ZMTLS_OFFENDER_FAILURES times within
 * ZMTLS_OFFENDER_WINDOW ms is banned: its connections are closed right
 * after accept, before any TLS work, and reported as ZMQ_EVENT_ACCEPT_FAILED
 * with EACCES. The first ban lasts ZMTLS_OFFENDER_BAN ms; each further ban
 * of the same address within 10 minutes of the last doubles, up to an hour.
 * Each listener remembers at most 256 addresses (the least recently seen
 * make room). ZMTLS_OFFENDER_FAILURES 0 turns this off. Read at zmq_bind.
 *   ZMTLS_OFFENDER_FAILURES  default 20, >= 0
 *   ZMTLS_OFFENDER_WINDOW    ms, default 60000, >= 1
 *   ZMTLS_OFFENDER_BAN       ms, default 10000, >= 1 */
#define ZMTLS_OFFENDER_FAILURES (ZMTLS_OPTION_BASE + 20)
#define ZMTLS_OFFENDER_WINDOW   (ZMTLS_OPTION_BASE + 21)
#define ZMTLS_OFFENDER_BAN      (ZMTLS_OPTION_BASE + 22)

/* Defaults and bounds of the integer options above. */
#define ZMTLS_AUTH_IVL_DEFAULT            1000
#define ZMTLS_AUTH_IVL_MAX_DEFAULT        60000
#define ZMTLS_MULTIPART_MAX_PARTS_DEFAULT 65536
#define ZMTLS_MULTIPART_MAX_BYTES_DEFAULT ((int64_t)256 * 1024 * 1024)
#define ZMTLS_HANDSHAKES_MAX_DEFAULT      256
#define ZMTLS_HANDSHAKES_PER_ADDR_DEFAULT 32
#define ZMTLS_VERIFY_DEPTH_DEFAULT        4
#define ZMTLS_VERIFY_DEPTH_MAX            100
#define ZMTLS_SESSION_LIFETIME_DEFAULT    3600
#define ZMTLS_SESSION_LIFETIME_MAX        604800
#define ZMTLS_TLS_UPDATES_MAX_DEFAULT     60
#define ZMTLS_OFFENDER_FAILURES_DEFAULT   20
#define ZMTLS_OFFENDER_WINDOW_DEFAULT     60000
#define ZMTLS_OFFENDER_BAN_DEFAULT        10000

/*
 * Monitor events for tls:// endpoints use libzmq's codes and two-frame
 * format. Values:
 *   CONNECT_DELAYED        errno of the non-blocking connect (EINPROGRESS)
 *   CONNECTED              fd; only once the first record after the TLS
 *                          handshake is the server's ZMTP greeting
 *   HANDSHAKE_SUCCEEDED    0, after ZMTP READY was exchanged
 *   HANDSHAKE_FAILED_AUTH  the TLS alert number (sent or received): 42, 44,
 *                          45, 48, 49, 116, ...; or the status code (300,
 *                          400, 500) of a ZAP handler's refusal; never
 *                          preceded by CONNECTED and never followed by
 *                          DISCONNECTED
 *   HANDSHAKE_FAILED_PROTOCOL  a ZMQ_PROTOCOL_ERROR_ZMTP_* code for ZMTP
 *                          errors (INVALID_METADATA for incompatible socket
 *                          types), the TLS alert number (< 256) for a TLS
 *                          protocol error that carried one, else
 *                          ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED (e.g. bytes
 *                          that are not TLS at all, which get no alert)
 *   HANDSHAKE_FAILED_NO_DETAIL errno (ETIMEDOUT, ECONNRESET, ...)
 *   CONNECT_RETRIED        the interval in ms actually used for the retry
 *   ACCEPTED, LISTENING    fd; CLOSED fd; DISCONNECTED fd
 */

/* Name of a ZMQ_EVENT_* code ("CONNECTED", "HANDSHAKE_FAILED_AUTH", ...);
 * "UNKNOWN" for anything else. Never NULL. */
ZMTLS_EXPORT const char *zmtls_event_name(int event);

/* RFC 8446 name of a TLS alert ("unknown_ca", "certificate_required", ...);
 * "unknown" for anything else. Never NULL. */
ZMTLS_EXPORT const char *zmtls_alert_name(int alert);

/* 1 when the alert means a certificate was refused (the peer or we did not
 * accept the other's credentials), else 0. */
ZMTLS_EXPORT int zmtls_alert_is_auth(int alert);

/* The message of the last zmtls failure reported to this thread by
 * zmq_connect/zmq_bind/zmq_setsockopt/zmtls_reload; "" when there was none.
 * The string is thread-local and valid until the thread's next zmtls call. */
ZMTLS_EXPORT const char *zmtls_last_error(void);

/*
 * Who is on the other end. The certificate each authenticated tls:// peer
 * presented is kept while its connection lasts. Properties:
 *   "Subject"       subject DN, RFC 2253 form ("CN=client,O=Example")
 *   "Issuer"        issuer DN, same form
 *   "SAN"           subjectAltName entries joined with ','
 *                   ("DNS:client,IP:127.0.0.1"): for display; an entry
 *                   may itself contain ',', so match on SAN.<i>
 *   "SAN-Count"     how many entries there are, decimal ("2")
 *   "SAN.<i>"       entry i, from 0 ("SAN.0", "SAN.1", no leading zeros):
 *                   "DNS:x", "IP:1.2.3.4" / "IP:2001:db8::1", "URI:x",
 *                   "email:x" (other kinds of names are not listed); past
 *                   the last: EINVAL
 *   "SPIFFE-ID"     the URI SAN starting "spiffe://" when the certificate
 *                   has exactly one (an X.509-SVID), without "URI:"; else ""
 *   "Serial"        certificate serial number, hex
 *   "Peer-Address"  remote address ("127.0.0.1:40312", "[::1]:40312")
 *   "Resumed"       "1" when the connection resumed an earlier TLS session
 *                   (ZMTLS_RESUME): the certificate is the one verified in
 *                   the full handshake that session came from (still
 *                   within ZMTLS_SESSION_LIFETIME, not expired, not
 *                   revoked by the server's CRLs); else "0"
 *   "User-Id"       on a bind with ZMQ_ZAP_DOMAIN: the user id the ZAP
 *                   handler returned when it admitted the peer; else ""
 * Every value is whole: no property is cut short inside zmtls.
 *
 * zmtls_peer_property names the peer by the routing id the socket sees for
 * it: what a ROUTER receives as the first frame. A peer that announced no
 * ZMTP Identity gets a generated routing id of libzmq's shape (0x00, then a
 * 32-bit counter, big-endian), so every tls:// peer of a ROUTER can be
 * looked up.
 *
 * zmtls_endpoint_peer_property names it by endpoint: for a connect endpoint
 * (as passed to zmq_connect) the server it is connected to; for a bind
 * endpoint the most recently authenticated client still connected.
 *
 * Both copy the value into buf (NUL-terminated, truncated to len) and return
 * its full length, like snprintf; or -1 with errno ENOTSOCK (not a socket),
 * ENOENT (no such endpoint or no authenticated peer there now), EINVAL
 * (unknown property). Thread-safe with respect to the I/O thread; the
 * socket itself follows libzmq's threading rules.
 *
 * libzmq's own way, zmq_msg_gets(msg, "User-Id"), needs metadata attached
 * to each message inside libzmq's engine; messages from tls:// peers reach
 * the socket through an inproc pipe, and libzmq offers no public way to
 * attach metadata there. */
ZMTLS_EXPORT int zmtls_peer_property(void *socket, const void *routing_id,
                                     size_t routing_id_len, const char *property,
                                     char *buf, size_t len);
ZMTLS_EXPORT int zmtls_endpoint_peer_property(void *socket, const char *endpoint,
                                              const char *property, char *buf,
                                              size_t len);

/* Reads every tls:// socket's credential files again now, changed or not
 * (the periodic check only reads changed ones), for the handshakes that
 * follow; established connections carry on. A client whose credentials
 * were refused retries at once. A socket side whose new files cannot be
 * used (unreadable, unparseable, half written, a key that does not match
 * the certificate) keeps the credentials it had. Returns 0, or -1 with
 * errno EINVAL when some side failed: zmtls_last_error() then names its
 * files and the reason ("zmtls: reload of /etc/app/cert.pem failed: ...",
 * several joined by "; "), and each failure is also written on stderr.
 * Sockets without a tls:// endpoint read their files at their next
 * zmq_connect / zmq_bind. Thread-safe; blocks while the files are read. */
ZMTLS_EXPORT int zmtls_reload(void);

/* Library version. */
ZMTLS_EXPORT void zmtls_version(int *major, int *minor, int *patch);

#ifdef __cplusplus
}
#endif
#endif

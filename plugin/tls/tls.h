/*
 * TLS 1.3 with mutual certificate authentication, over OpenSSL 3.
 *
 * Two objects:
 *  - a credentials context (an OpenSSL SSL_CTX) built once per endpoint from
 *    files or PEM text, on the application thread, then shared read-only
 *    with the I/O thread (reference counted with SSL_CTX_up_ref/SSL_CTX_free);
 *  - a connection wrapping one non-blocking TCP fd.
 *
 * Threading: tls_ctx_new may run on any thread. A tls_conn_t belongs to one
 * thread at a time (the I/O thread).
 *
 * Non-blocking contract: handshake/read/write/shutdown return TLS_OK or
 * TLS_WANT_READ / TLS_WANT_WRITE (wait for the fd, then call again), or a
 * negative TLS_E_* failure. After a failure the connection is dead: only
 * the query functions and tls_conn_destroy may be called.
 */
#ifndef ZMTLS_TLS_H
#define ZMTLS_TLS_H

#include <stddef.h>
#include <time.h>
#include <openssl/ssl.h>

/* Credentials. All strings are optional (NULL or ""); PEM text wins over the
 * matching file. Strings are only read during tls_ctx_new. */
typedef struct tls_creds {
    const char *cert_file;
    const char *key_file;
    const char *ca_file;
    const char *cert_pem;
    const char *key_pem;
    const char *ca_pem;
    const char *crl_file; /* CRLs the peer's chain is checked against */
} tls_creds_t;

/* What a context enforces besides its credentials: the zmtls options of
 * the same names (include/zmtls.h gives their meaning and ranges). */
typedef struct tls_policy {
    int verify_depth;     /* intermediates allowed in the peer's chain */
    int session_lifetime; /* server: seconds one full handshake may be resumed */
    int updates_max;      /* post-handshake handshake messages per minute */
    /* ZMTLS_ALLOW (tls_allow.h): which verified peers may connect; NULL or
     * "": any. Read while the context is built, not kept. */
    const char *allow;
} tls_policy_t;

/* The defaults of include/zmtls.h. */
void tls_policy_init(tls_policy_t *p);
/* 0 when spec is a valid ZMTLS_ALLOW list (include/zmtls.h), else -EINVAL
 * with the reason in err (or -ENOMEM). */
int tls_allow_check(const char *spec, char *err, size_t errlen);

/* Builds a TLS 1.3-only context at OpenSSL security level 2 (whatever the
 * host's configuration says): keys under 2048 bits RSA or 224 bits ECC
 * are refused, ours here with -EINVAL, a peer's in the handshake.
 * `policy` NULL: the defaults; a value out of its range is -EINVAL.
 * Server (is_server = 1): certificate and key required; CA required; asks
 * every client for a certificate and fails the handshake without one
 * (alert 116) or with one that does not verify.
 * Client: CA optional (the system trust store when absent); certificate and
 * key optional but must come together. Server certificates are verified.
 * Checks that the key matches the certificate.
 * With crl_file, both sides check every certificate of the peer's chain
 * against the CRL of its issuer (a missing CRL fails verification) and
 * refuse a revoked one (alert 44); a server resumes only sessions whose
 * client certificate those CRLs do not revoke.
 * Returns 0 and *out (one reference), or -ENOENT (file missing), -EACCES
 * (file unreadable), -EINVAL (unusable content, key mismatch, missing
 * required credential), -ENOMEM. On failure writes a one-line reason (never
 * key material) to err (NUL-terminated, truncated to errlen). */
int tls_ctx_new(SSL_CTX **out, int is_server, const tls_creds_t *creds,
                const tls_policy_t *policy, char *err, size_t errlen);

enum {
    TLS_OK = 0,
    TLS_WANT_READ = 1,
    TLS_WANT_WRITE = 2,
};

enum {
    TLS_E_AUTH = -1,     /* a certificate was refused (by us or the peer) */
    TLS_E_PROTOCOL = -2, /* TLS protocol error (not TLS, bad record, ...) */
    TLS_E_IO = -3,       /* socket error or unexpected EOF: see tls_conn_errno */
    TLS_E_CLOSED = -4,   /* the peer sent close_notify (clean end) */
    TLS_E_NOMEM = -5,
    TLS_E_LIMIT = -6, /* the peer sent more post-handshake handshake messages
                         than the policy allows (tls_conn_errno: EPROTO) */
};

typedef struct tls_conn tls_conn_t;

/* Wraps `fd` (non-blocking, connected). The fd stays the caller's: it is
 * not closed by tls_conn_destroy. Client side: `verify_name` is the name
 * the server certificate must match, an IP literal (matched against IP
 * SANs) or a DNS name (DNS SANs); it is also sent as SNI when it is a DNS
 * name. NULL skips name checks (the chain is still verified). Returns 0,
 * -ENOMEM or -EINVAL. */
int tls_conn_new(tls_conn_t **out, SSL_CTX *ctx, int fd, int is_server,
                 const char *verify_name);
void tls_conn_destroy(tls_conn_t **conn);

/* Drives the handshake. TLS_OK once this side has completed it. In TLS 1.3
 * a client completes before the server has checked the client certificate:
 * a refusal then arrives as an alert on the first tls_conn_read. */
int tls_conn_handshake(tls_conn_t *c);

/* Reads decrypted bytes. TLS_OK with *n > 0, TLS_WANT_* with *n == 0 when
 * nothing is available yet (post-handshake messages such as session tickets
 * are consumed silently), or a failure. Handshake messages the peer sends
 * after the handshake (KeyUpdate; NewSessionTicket beyond the two a client
 * expects) are limited to the context's policy.updates_max per minute, in
 * bursts of as many: the next one ends the connection with TLS_E_LIMIT. */
int tls_conn_read(tls_conn_t *c, void *buf, size_t cap, size_t *n);

/* After a successful tls_conn_read: 1 when that read emptied the socket
 * (its last recv came back short) and nothing is buffered inside the
 * connection, so another read would only find nothing; wait for the fd
 * instead (level-triggered readiness reports what arrives later). */
int tls_conn_drained(const tls_conn_t *c);

/* Bytes already decrypted and buffered inside the connection (a read can
 * return them without touching the fd). */
size_t tls_conn_pending(const tls_conn_t *c);

/* Writes up to len bytes. TLS_OK with *n > 0 bytes accepted (partial writes
 * allowed), TLS_WANT_* with *n == 0, or a failure. After TLS_WANT_*, or a
 * TLS_OK with *n < len, up to one record (16 KiB) of the bytes not accepted
 * may already be encrypted inside the connection (OpenSSL), so the next call
 * must start with the bytes that followed the accepted ones and pass at
 * least min(16 KiB, what remained); only their address may change.
 * len == 0 returns TLS_OK, *n == 0.
 * Never raises SIGPIPE (the socket is written with MSG_NOSIGNAL). */
int tls_conn_write(tls_conn_t *c, const void *buf, size_t len, size_t *n);

/* Gives OpenSSL's record buffers back while the connection is idle (they
 * come back on the next read or write). Does nothing when a buffer still
 * holds data. */
void tls_conn_trim(tls_conn_t *c);

/* Sends close_notify once, best effort. TLS_OK when sent (or nothing could
 * be sent any more), TLS_WANT_WRITE to retry. Never blocks. Allowed after
 * TLS_E_CLOSED too (to answer the peer's close_notify); after any other
 * failure, or before the handshake is done, it sends nothing. */
int tls_conn_shutdown(tls_conn_t *c);

/* After a failure: the TLS alert that ended the connection (received from
 * the peer, or sent by us, e.g. when our verification of the peer failed),
 * or -1 when no alert was involved. */
int tls_conn_alert(const tls_conn_t *c);
/* 1 when that alert was received from the peer, 0 when we sent it. */
int tls_conn_alert_received(const tls_conn_t *c);
/* After TLS_E_IO: the errno (ECONNRESET for an EOF without close_notify);
 * after TLS_E_LIMIT: EPROTO. */
int tls_conn_errno(const tls_conn_t *c);
/* After TLS_E_IO: 1 when the peer's side simply ended (EOF, no
 * close_notify) rather than failed (reset, socket error). */
int tls_conn_peer_eof(const tls_conn_t *c);
/* After any failure: a one-line reason for logs, e.g.
 * "peer refused our certificate: alert 48 unknown_ca". Never NULL. */
const char *tls_conn_reason(const tls_conn_t *c);

/* The peer's certificate as verified in the handshake, for the
 * application to learn who it talks to. Every string is whole, never
 * truncated, and owned by the record (tls_peer_info_free). */
typedef struct tls_peer_info {
    char *subject;         /* RFC 2253 form: "CN=client,O=Example" */
    char *issuer;          /* the same form */
    char *san;             /* the entries joined: "DNS:client,IP:127.0.0.1" */
    char **san_entry;      /* each: "DNS:x", "IP:1.2.3.4", "URI:x", "email:x" */
    size_t san_count;      /* (other kinds of names are left out) */
    const char *spiffe_id; /* the URI SAN "spiffe://..." when the
                              certificate has exactly one; else "". Points
                              into san_entry. */
    char serial[80];       /* hex */
    int resumed;           /* 1: this connection resumed an earlier session */
} tls_peer_info_t;

/* Fills `out` once the handshake has completed. 0, -ENOENT when the peer
 * presented no certificate, -ENOMEM; on failure nothing is held. */
int tls_conn_peer_info(const tls_conn_t *c, tls_peer_info_t *out);
/* Frees what tls_conn_peer_info filled in; a zeroed record is a no-op. */
void tls_peer_info_free(tls_peer_info_t *info);

/* After an authentication failure of our verification: the RFC 2253
 * subject of the certificate the peer presented, which tls_conn_peer_info
 * cannot give (OpenSSL keeps only a certificate it accepted). "" when no
 * certificate was refused. Never NULL. */
const char *tls_conn_refused_subject(const tls_conn_t *c);

/* The peer's certificate as PEM text, once the handshake has completed
 * (resumed or not), for a ZAP handler (ZMTLS_ZAP_CERT). 0 with *pem
 * (NUL-terminated, the caller frees) and *len, -ENOENT when the peer
 * presented none, -ENOMEM. */
int tls_conn_peer_pem(const tls_conn_t *c, char **pem, size_t *len);

/* Seconds from now until the peer certificate's notAfter (<= 0: expired)
 * once the handshake has completed, resumed or not. 0, or -ENOENT when the
 * peer presented no certificate. */
int tls_conn_peer_expiry(const tls_conn_t *c, int64_t *seconds_left);

/* Client contexts: keep the newest resumable TLS 1.3 session per key so a
 * reconnect can resume it instead of a full handshake (tls_session.c).
 * Idempotent; any thread. */
int tls_ctx_enable_resumption(SSL_CTX *ctx);

/* Client, before the first tls_conn_handshake: offer the session cached
 * under `key` (if any, consuming it) and cache the tickets this connection
 * receives under the same key. 0, -EINVAL (context without a cache),
 * -ENOMEM. */
int tls_conn_resume(tls_conn_t *c, const char *key);
int tls_ssl_resume(SSL *ssl, const char *key); /* the same on a raw SSL */

/* Server contexts: resume only what the policy allows (tls_session.c):
 * tickets carry the time of the full handshake they descend from, and a
 * ticket is refused (a full handshake follows) once the context's timeout
 * (the policy's session_lifetime) has passed since then, or once the
 * client certificate it was issued for has expired or is revoked by the
 * CRLs of the context's store (when it checks CRLs). Time is the clock
 * certificates are verified by: the fixed time of the connection's
 * X509_VERIFY_PARAM when one is set, else now. 0 or -ENOMEM. */
int tls_ctx_enable_ticket_policy(SSL_CTX *ctx);

/* The decision itself, pure: 1 when a session authenticated at auth_time
 * with client certificate `peer` may be resumed at `now`, given `lifetime`
 * seconds (now - auth_time < lifetime); 0 when too old, when the certificate's notAfter
 * is not after `now`, without a certificate, or with auth_time < 0 (unknown). */
int tls_ticket_usable(time_t auth_time, long lifetime, const X509 *peer, time_t now);

/* 1 when the handshake resumed a session, else 0. */
int tls_conn_resumed(const tls_conn_t *c);

#endif

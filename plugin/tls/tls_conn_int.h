/*
 * Inside a TLS connection: the record its three files share (tls_conn.c,
 * the connection; tls_bio.c, the socket BIO that records what the kernel
 * said; tls_peer.c, the peer's name and certificate), and what tls_ctx.c
 * gives them: the verify callback it installs, the policy it attached. Not
 * for use outside tls/.
 */
#ifndef ZMTLS_TLS_CONN_INT_H
#define ZMTLS_TLS_CONN_INT_H

#include <stdint.h>
#include <openssl/ssl.h>

#include "tls/tls.h"

enum {
    TLS_ST_HANDSHAKE,
    TLS_ST_OPEN,
    TLS_ST_FAILED,
};

struct tls_conn {
    SSL *ssl;
    int fd;
    int is_server;
    int state;
    int failure; /* TLS_E_* once state == TLS_ST_FAILED */
    int shutdown_done;

    /* Raw observations, filled in while OpenSSL runs. */
    int seen_alert; /* first fatal alert in either direction, or -1 */
    int seen_alert_received;
    int bio_errno; /* hard errno of the current operation, 0 if none */
    int bio_eof;   /* the peer closed the TCP stream (sticky) */
    int bio_dry;   /* recv found nothing in the current operation */
    int bio_more;  /* more records follow the one being written */
    int bio_short; /* the last recv found the socket empty after it */
    /* Why our verify callback refused the peer's chain, or NULL. */
    const char *verify_why;
    /* The subject of the certificate the peer presented, noted when
     * verification refused it (OpenSSL keeps only accepted ones); "" if
     * none was refused. */
    char refused_subject[256];
    /* The peer's chain as its Certificate message arrives, and the state
     * of a trial verification (tls_deny.c). */
    STACK_OF(X509) * deny_chain;
    int deny_probe;         /* a trial: the verify callback only notes */
    int deny_probe_refused; /* the trial met the identity refusal */
    int deny_settled;       /* a trial reached a verdict: no more trials */

    /* Handshake messages the peer sent after the handshake: a token bucket
     * of updates_max per minute, in bursts of updates_max (tls_conn.c). */
    int upd_max;
    int upd_free_tickets; /* client: tickets expected, not counted */
    int upd_over;         /* one too many came: the read that saw it fails */
    int64_t upd_credit;   /* in 1/TLS_UPD_WINDOW_MS of a message */
    uint64_t upd_stamp_ms;

    /* The verdict, fixed by tls_fail. */
    int alert;
    int alert_received;
    int io_errno;
    char reason[200];
};

/* The socket BIO's method, made once per process; NULL when OpenSSL could
 * not make it. */
BIO_METHOD *tls_bio_method(void);

/* The verify callback of every context (SSL_CTX_set_verify): refuses
 * what OpenSSL's verification accepts but zmtls does not, noting why in
 * the connection's verify_why for its failure reason. */
int tls_verify_peer(int ok, X509_STORE_CTX *store);

/* Notes the subject of a refused peer certificate, once, for the logs. */
void tls_note_refused_cert(tls_conn_t *c, X509 *leaf);

/* The policy `ctx` was built with (tls_ctx_new), or the defaults for a
 * context made otherwise. */
void tls_ctx_policy(SSL_CTX *ctx, tls_policy_t *out);

/* Asks for the server certificate to match `name` (a DNS name or an IP
 * address, "[v6]" and "%zone" accepted); 0 or -EINVAL. */
int tls_set_peer_name(SSL *ssl, const char *name);

#endif

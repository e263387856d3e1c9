/*
 * One TLS 1.3 connection over a non-blocking TCP fd (see tls.h).
 *
 * Failure classification rests on two observations gathered while OpenSSL
 * runs: the first fatal alert seen in either direction (info callback) and
 * what our socket BIO saw (hard errno, EOF). The OpenSSL error queue is
 * emptied before every operation and after every failure, so one
 * connection's errors never colour another's on the same thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "policy/alert.h"
#include "tls/tls.h"
#include "tls/tls_conn_int.h"
#include "tls/tls_deny.h"

/* How often tls_conn_read retries an SSL_read that wanted more input while
 * the socket still had some; see tls_conn_read. */
#define TLS_READ_SPINS 4

/* Bounds the records read while looking for a peer's alert after a write
 * failed (tls_salvage_alert). */
#define TLS_SALVAGE_READS 64
/* The largest TLS record payload: tls_conn_write hands OpenSSL one record
 * at a time so that it knows whether more follow. */
#define TLS_RECORD_MAX 16384
/* The window of the post-handshake message limit: updates_max per minute. */
#define TLS_UPD_WINDOW_MS 60000
/* Session tickets a client takes after its handshake without counting them:
 * a zmtls server sends one, a stock OpenSSL server two. */
#define TLS_UPD_FREE_TICKETS 2

/* ---- observations --------------------------------------------------------- */

/* Keeps the first fatal alert only: it is the one that ended the session;
 * anything after it is an echo. */
static void tls_info_cb(const SSL *ssl, int where, int ret)
{
    tls_conn_t *c;

    if ((where & SSL_CB_ALERT) == 0) {
        return;
    }
    c = SSL_get_app_data(ssl);
    if (c == NULL || c->seen_alert >= 0 || ((ret >> 8) & 0xff) != SSL3_AL_FATAL) {
        return;
    }
    c->seen_alert = ret & 0xff;
    c->seen_alert_received = (where & SSL_CB_READ) != 0;
}

static uint64_t tls_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Takes one message from the token bucket: 1, or 0 when it is empty. The
 * credit is kept in 1/TLS_UPD_WINDOW_MS of a message, so that each
 * millisecond adds upd_max of it and a full bucket holds upd_max messages. */
static int tls_updates_take(tls_conn_t *c)
{
    uint64_t now = tls_now_ms();
    uint64_t dt = now - c->upd_stamp_ms;
    int64_t cap = (int64_t)c->upd_max * TLS_UPD_WINDOW_MS;
    if (dt > TLS_UPD_WINDOW_MS)
        dt = TLS_UPD_WINDOW_MS;
    c->upd_stamp_ms = now;
    c->upd_credit += (int64_t)dt * c->upd_max;
    if (c->upd_credit > cap)
        c->upd_credit = cap;
    if (c->upd_credit < TLS_UPD_WINDOW_MS)
        return 0;
    c->upd_credit -= TLS_UPD_WINDOW_MS;
    return 1;
}

/* Sees every message OpenSSL parses; counts the handshake messages the
 * peer sends once our handshake is done. Each is processed after this
 * returns and OpenSSL offers no way to refuse one here, so one over the
 * limit marks the connection as if the peer had closed it: OpenSSL then
 * discards every record it has not processed yet (read-ahead may hold
 * thousands) and the read returns, where tls_conn_read fails it. */
static void tls_msg_cb(int write_p, int version, int content_type, const void *buf,
                       size_t len, SSL *ssl, void *arg)
{
    tls_conn_t *c = arg;

    if (write_p || content_type != SSL3_RT_HANDSHAKE || len == 0 ||
        c->state != TLS_ST_OPEN || c->upd_over) {
        return;
    }
    if (!c->is_server && ((const unsigned char *)buf)[0] == SSL3_MT_NEWSESSION_TICKET &&
        c->upd_free_tickets > 0) {
        c->upd_free_tickets--;
        return;
    }
    if (tls_updates_take(c)) {
        return;
    }
    c->upd_over = 1;
    SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_RECEIVED_SHUTDOWN);
}

/* ---- classification ------------------------------------------------------- */

static void tls_reason(tls_conn_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tls_reason(tls_conn_t *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
}

/* The transport failed. An EOF explains everything after it: OpenSSL
 * answers an unexpected EOF by sending decode_error to the departed peer,
 * and that send's EPIPE is only an echo. */
static int tls_fail_io(tls_conn_t *c)
{
    if (c->bio_eof || c->bio_errno == 0) {
        c->io_errno = ECONNRESET;
        tls_reason(c, "connection closed by peer without close_notify");
    } else {
        c->io_errno = c->bio_errno;
        tls_reason(c, "connection error: %s", strerror(c->io_errno));
    }
    return TLS_E_IO;
}

/* Decides what a failed OpenSSL call means, records it, and empties the
 * error queue. The order of the tests matters: a peer's alert explains
 * more than the EOF that follows it, and our own verification verdict
 * explains more than the alert we sent because of it. */
static int tls_fail(tls_conn_t *c, int sslerr)
{
    unsigned long e = ERR_peek_error();
    const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;
    long vr = SSL_get_verify_result(c->ssl);
    int code, a = c->seen_alert;

    if (why == NULL) {
        why = "unknown error";
    }
    c->alert = -1;
    c->alert_received = 0;
    c->io_errno = 0;

    if (sslerr == SSL_ERROR_ZERO_RETURN) {
        code = TLS_E_CLOSED;
        tls_reason(c, "peer closed the TLS session (close_notify)");
    } else if (a >= 0 && c->seen_alert_received) {
        c->alert = a;
        c->alert_received = 1;
        if (policy_alert_is_auth(a)) {
            code = TLS_E_AUTH;
            tls_reason(c, "%s: alert %d %s",
                       a == 116 ? "peer requires a client certificate"
                                : "peer refused our certificate",
                       a, policy_alert_name(a));
        } else {
            code = TLS_E_PROTOCOL;
            tls_reason(c, "peer sent alert %d %s", a, policy_alert_name(a));
        }
    } else if (sslerr == SSL_ERROR_SYSCALL) {
        code = tls_fail_io(c);
    } else if (vr != X509_V_OK) {
        const char *vwhy =
            c->verify_why != NULL ? c->verify_why : X509_verify_cert_error_string(vr);
        code = TLS_E_AUTH;
        c->alert = a;
        if (a >= 0) {
            tls_reason(c, "peer certificate not accepted: %s (alert %d %s sent)", vwhy, a,
                       policy_alert_name(a));
        } else {
            tls_reason(c, "peer certificate not accepted: %s", vwhy);
        }
    } else if (c->bio_eof) {
        /* OpenSSL 3 reports an EOF without close_notify as a protocol error
         * ("unexpected eof while reading"); for us the transport ended.
         * A hard errno alone does not count here: with SSL_ERROR_SSL it is
         * only OpenSSL failing to deliver its alert about the real error. */
        code = tls_fail_io(c);
    } else if (a >= 0) {
        c->alert = a;
        if (policy_alert_is_auth(a)) {
            /* e.g. 116: the client sent no certificate at all, so there
             * was nothing to verify and the verify result stayed OK. */
            code = TLS_E_AUTH;
            tls_reason(c, "peer certificate not accepted: %s (alert %d %s sent)",
                       c->verify_why != NULL ? c->verify_why : why, a,
                       policy_alert_name(a));
        } else {
            code = TLS_E_PROTOCOL;
            tls_reason(c, "TLS protocol error: %s (alert %d %s sent)", why, a,
                       policy_alert_name(a));
        }
    } else if (e != 0 && ERR_GET_REASON(e) == (ERR_R_MALLOC_FAILURE & ERR_REASON_MASK)) {
        code = TLS_E_NOMEM;
        tls_reason(c, "out of memory in TLS");
    } else if (sslerr == SSL_ERROR_SSL) {
        code = TLS_E_PROTOCOL;
        tls_reason(c, "TLS protocol error: %s", why);
    } else {
        /* Callback-driven states (X509 lookup, async...) are never enabled
         * here; treat one appearing as a protocol failure, not a crash. */
        code = TLS_E_PROTOCOL;
        tls_reason(c, "TLS protocol error: unexpected OpenSSL state %d", sslerr);
    }
    ERR_clear_error();
    c->state = TLS_ST_FAILED;
    c->failure = code;
    return code;
}

/* The peer passed the post-handshake message limit (tls_msg_cb). Whatever
 * OpenSSL said about the read that found it is an effect of our marking. */
static int tls_fail_limit(tls_conn_t *c)
{
    ERR_clear_error();
    c->alert = -1;
    c->alert_received = 0;
    c->io_errno = EPROTO;
    tls_reason(c,
               "peer sent more than %d TLS handshake messages (KeyUpdate...) after the "
               "handshake within a minute",
               c->upd_max);
    c->state = TLS_ST_FAILED;
    c->failure = TLS_E_LIMIT;
    return TLS_E_LIMIT;
}

/* Maps a non-success OpenSSL return: retry conditions or failure. */
static int tls_after(tls_conn_t *c, int ret)
{
    int e = SSL_get_error(c->ssl, ret);

    if (e == SSL_ERROR_WANT_READ) {
        ERR_clear_error();
        return TLS_WANT_READ;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return TLS_WANT_WRITE;
    }
    return tls_fail(c, e);
}

/* Start of every OpenSSL operation: a clean queue (SSL_get_error reads it)
 * and no errno left over from the previous operation. */
static void tls_begin(tls_conn_t *c)
{
    ERR_clear_error();
    c->bio_errno = 0;
    c->bio_dry = 0;
}

static void tls_note_open(tls_conn_t *c)
{
    if (c->state == TLS_ST_HANDSHAKE && SSL_is_init_finished(c->ssl)) {
        c->state = TLS_ST_OPEN;
        tls_deny_release(c);
    }
}

/* ---- public API ----------------------------------------------------------- */

int tls_conn_new(tls_conn_t **out, SSL_CTX *ctx, int fd, int is_server,
                 const char *verify_name)
{
    tls_conn_t *c;
    BIO *bio;

    if (out == NULL) {
        return -EINVAL;
    }
    *out = NULL;
    if (ctx == NULL || fd < 0) {
        return -EINVAL;
    }
    BIO_METHOD *method = tls_bio_method();
    if (method == NULL) {
        ERR_clear_error();
        return -ENOMEM;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        return -ENOMEM;
    }
    c->fd = fd;
    c->is_server = is_server != 0;
    c->state = TLS_ST_HANDSHAKE;
    c->seen_alert = -1;
    c->alert = -1;
    snprintf(c->reason, sizeof c->reason, "no failure");

    ERR_clear_error();
    c->ssl = SSL_new(ctx);
    bio = c->ssl != NULL ? BIO_new(method) : NULL;
    if (bio == NULL) {
        SSL_free(c->ssl);
        free(c);
        ERR_clear_error();
        return -ENOMEM;
    }
    BIO_set_data(bio, c);
    BIO_set_init(bio, 1);
    SSL_set_bio(c->ssl, bio, bio); /* the SSL owns the BIO from here */
    SSL_set_app_data(c->ssl, c);
    SSL_set_info_callback(c->ssl, tls_info_cb);
    {
        tls_policy_t policy;
        tls_ctx_policy(ctx, &policy);
        c->upd_max = policy.updates_max;
        c->upd_credit = (int64_t)c->upd_max * TLS_UPD_WINDOW_MS;
        c->upd_stamp_ms = tls_now_ms();
        c->upd_free_tickets = c->is_server ? 0 : TLS_UPD_FREE_TICKETS;
    }
    SSL_set_msg_callback(c->ssl, tls_msg_cb);
    SSL_set_msg_callback_arg(c->ssl, c);
    /* Also on the SSL, in case ctx was not built by tls_ctx_new. */
    SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
                             SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_AUTO_RETRY);
    if (c->is_server) {
        SSL_set_accept_state(c->ssl);
    } else {
        SSL_set_connect_state(c->ssl);
        if (verify_name != NULL && verify_name[0] != '\0' &&
            tls_set_peer_name(c->ssl, verify_name) != 0) {
            SSL_free(c->ssl);
            free(c);
            ERR_clear_error();
            return -EINVAL;
        }
    }
    ERR_clear_error();
    *out = c;
    return 0;
}

void tls_conn_destroy(tls_conn_t **conn)
{
    tls_conn_t *c;

    if (conn == NULL || *conn == NULL) {
        return;
    }
    c = *conn;
    *conn = NULL;
    SSL_free(c->ssl); /* frees the BIO too; never sends anything */
    tls_deny_release(c);
    ERR_clear_error();
    free(c);
}

int tls_conn_handshake(tls_conn_t *c)
{
    int r;

    if (c == NULL) {
        return TLS_E_IO;
    }
    if (c->state == TLS_ST_FAILED) {
        return c->failure;
    }
    if (c->state == TLS_ST_OPEN) {
        return TLS_OK;
    }
    tls_begin(c);
    r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        ERR_clear_error();
        c->state = TLS_ST_OPEN;
        return TLS_OK;
    }
    return tls_after(c, r);
}

int tls_conn_read(tls_conn_t *c, void *buf, size_t cap, size_t *n)
{
    int i;

    if (n != NULL) {
        *n = 0;
    }
    if (c == NULL || n == NULL || (buf == NULL && cap > 0)) {
        return TLS_E_IO;
    }
    if (c->state == TLS_ST_FAILED) {
        return c->failure;
    }
    if (cap == 0) {
        return TLS_OK;
    }
    /* A read may consume only a post-handshake message (a session ticket,
     * a key update) and report WANT_READ. If that happened without the
     * socket running dry, data may be right behind it: asking again
     * reaches it instead of leaving the caller waiting on an fd that will
     * not fire. (SSL_MODE_AUTO_RETRY makes OpenSSL do this itself; the
     * loop keeps the guarantee whatever the mode.) */
    for (i = 0; i < TLS_READ_SPINS; i++) {
        size_t got = 0;
        int r, e;

        tls_begin(c);
        r = SSL_read_ex(c->ssl, buf, cap, &got);
        if (c->upd_over) {
            return tls_fail_limit(c);
        }
        if (r == 1) {
            /* The queue is clean on success; the next tls_begin clears it
             * anyway (one ERR_clear_error per record is measurable). */
            tls_note_open(c);
            *n = got;
            return TLS_OK;
        }
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ && !c->bio_dry) {
            continue;
        }
        tls_note_open(c);
        return tls_after(c, r);
    }
    ERR_clear_error();
    return TLS_WANT_READ;
}

int tls_conn_drained(const tls_conn_t *c)
{
    return c != NULL && c->state != TLS_ST_FAILED && c->bio_short &&
           !SSL_has_pending(c->ssl);
}

size_t tls_conn_pending(const tls_conn_t *c)
{
    int p;

    if (c == NULL || c->state == TLS_ST_FAILED) {
        return 0;
    }
    p = SSL_pending(c->ssl);
    return p > 0 ? (size_t)p : 0;
}

/* A write that failed because the peer reset the connection: in TLS 1.3
 * the server refuses a client certificate after the client has finished
 * its handshake, so the alert explaining the reset may already sit unread
 * in our receive buffer. Read (and discard) until it shows up. */
static void tls_salvage_alert(tls_conn_t *c)
{
    unsigned char scratch[1024];
    int i;

    for (i = 0; i < TLS_SALVAGE_READS && c->seen_alert < 0; i++) {
        size_t got = 0;

        ERR_clear_error();
        if (SSL_read_ex(c->ssl, scratch, sizeof scratch, &got) != 1) {
            break;
        }
    }
    ERR_clear_error();
}

int tls_conn_write(tls_conn_t *c, const void *buf, size_t len, size_t *n)
{
    const unsigned char *p = buf;
    size_t done = 0;
    int r = 1, e;

    if (n != NULL) {
        *n = 0;
    }
    if (c == NULL || n == NULL || (buf == NULL && len > 0)) {
        return TLS_E_IO;
    }
    if (c->state == TLS_ST_FAILED) {
        return c->failure;
    }
    if (len == 0) {
        return TLS_OK;
    }
    /* One record per call, so the socket can be told whether more follow.
     * A retry after TLS_WANT_* starts at the refused record with at least
     * its length, as OpenSSL requires. */
    while (done < len) {
        size_t chunk = len - done > TLS_RECORD_MAX ? TLS_RECORD_MAX : len - done;
        size_t w = 0;

        tls_begin(c);
        c->bio_more = done + chunk < len;
        r = SSL_write_ex(c->ssl, p + done, chunk, &w);
        c->bio_more = 0;
        if (r != 1) {
            break;
        }
        done += w;
    }
    if (r == 1) {
        tls_note_open(c);
        *n = done;
        return TLS_OK;
    }
    e = SSL_get_error(c->ssl, r);
    if (done > 0 && (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)) {
        ERR_clear_error();
        *n = done; /* the rest waits for the next call */
        return TLS_OK;
    }
    if (e == SSL_ERROR_SYSCALL && SSL_is_init_finished(c->ssl) && c->seen_alert < 0 &&
        (c->bio_errno == EPIPE || c->bio_errno == ECONNRESET)) {
        int saved = c->bio_errno;

        tls_salvage_alert(c);
        if (c->seen_alert >= 0 && c->seen_alert_received) {
            return tls_fail(c, SSL_ERROR_SSL);
        }
        /* The salvage reads changed OpenSSL's notion of the last error;
         * report the write's own failure. */
        c->bio_errno = saved;
        return tls_fail(c, SSL_ERROR_SYSCALL);
    }
    tls_note_open(c);
    return tls_after(c, r);
}

void tls_conn_trim(tls_conn_t *c)
{
    /* Nothing half-read may be inside: before 3.0.14 SSL_free_buffers
     * could free a buffer holding a partial record (CVE-2024-4741), so
     * that case is ruled out here rather than trusted to OpenSSL. */
    if (c != NULL && c->state != TLS_ST_FAILED && !SSL_has_pending(c->ssl)) {
        (void)SSL_free_buffers(c->ssl); /* 0: data still buffered, keep */
        ERR_clear_error();
    }
}

int tls_conn_shutdown(tls_conn_t *c)
{
    int r, e;

    if (c == NULL || c->shutdown_done) {
        return TLS_OK;
    }
    /* After a real failure OpenSSL forbids SSL_shutdown, and mid-handshake
     * there is no session to close: nothing can be sent. A peer's
     * close_notify (TLS_E_CLOSED) still allows answering with ours. */
    if ((c->state == TLS_ST_FAILED && c->failure != TLS_E_CLOSED) ||
        !SSL_is_init_finished(c->ssl)) {
        c->shutdown_done = 1;
        return TLS_OK;
    }
    tls_begin(c);
    r = SSL_shutdown(c->ssl);
    if (r >= 0) {
        /* 0 means our close_notify left and the peer's has not arrived: we
         * never wait for it. */
        ERR_clear_error();
        c->shutdown_done = 1;
        return TLS_OK;
    }
    e = SSL_get_error(c->ssl, r);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_WRITE) {
        return TLS_WANT_WRITE;
    }
    c->shutdown_done = 1;
    return TLS_OK;
}

int tls_conn_alert(const tls_conn_t *c)
{
    return c != NULL && c->state == TLS_ST_FAILED ? c->alert : -1;
}

int tls_conn_alert_received(const tls_conn_t *c)
{
    return c != NULL && c->state == TLS_ST_FAILED ? c->alert_received : 0;
}

int tls_conn_errno(const tls_conn_t *c)
{
    return c != NULL && c->state == TLS_ST_FAILED ? c->io_errno : 0;
}

int tls_conn_peer_eof(const tls_conn_t *c)
{
    return c != NULL && c->state == TLS_ST_FAILED && c->bio_eof;
}

const char *tls_conn_reason(const tls_conn_t *c)
{
    return c != NULL ? c->reason : "no connection";
}

int tls_conn_resume(tls_conn_t *c, const char *key)
{
    if (c == NULL || key == NULL || c->is_server)
        return -EINVAL;
    return tls_ssl_resume(c->ssl, key);
}

int tls_conn_resumed(const tls_conn_t *c)
{
    return c != NULL && c->state != TLS_ST_HANDSHAKE && SSL_session_reused(c->ssl) ? 1
                                                                                   : 0;
}

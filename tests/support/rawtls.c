/* Raw TLS client for tests; see rawtls.h for the contract. */
#define _POSIX_C_SOURCE 200809L

#include "rawtls.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "testutil.h"

SSL_CTX *rt_ctx_new(const char *cert, const char *key, const char *ca, int max_version,
                    int seclevel)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    CHECK(ctx != NULL);
    CHECK_EQ(SSL_CTX_set_max_proto_version(ctx, max_version), 1);
    /* Before the certificate: loading it checks its key against the level. */
    if (seclevel >= 0)
        SSL_CTX_set_security_level(ctx, seclevel);
    if (cert != NULL) {
        CHECK_EQ(SSL_CTX_use_certificate_chain_file(ctx, tu_cert(cert)), 1);
        CHECK_EQ(SSL_CTX_use_PrivateKey_file(ctx, tu_cert(key), SSL_FILETYPE_PEM), 1);
    }
    CHECK_EQ(SSL_CTX_load_verify_locations(ctx, tu_cert(ca), NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

static void rt_info_cb(const SSL *ssl, int where, int ret)
{
    rt_conn_t *c = SSL_get_app_data(ssl);
    if ((where & SSL_CB_ALERT) == 0 || ((ret >> 8) & 0xff) != SSL3_AL_FATAL)
        return;
    int *slot = (where & SSL_CB_READ) ? &c->alert_received : &c->alert_sent;
    if (*slot < 0)
        *slot = ret & 0xff;
}

/* Counts what the server sends besides data. Handshake messages arrive
 * whole, with their 4-byte header; a NewSessionTicket's body starts with
 * its 32-bit lifetime. */
static void rt_msg_cb(int write_p, int version, int content_type, const void *buf,
                      size_t len, SSL *ssl, void *arg)
{
    rt_conn_t *c = SSL_get_app_data(ssl);
    const unsigned char *p = buf;
    (void)version;
    (void)arg;
    if (write_p || content_type != SSL3_RT_HANDSHAKE || len < 1)
        return;
    if (p[0] == SSL3_MT_KEY_UPDATE)
        c->key_updates++;
    if (p[0] == SSL3_MT_NEWSESSION_TICKET && len >= 8) {
        c->tickets++;
        c->ticket_life = (unsigned long)p[4] << 24 | (unsigned long)p[5] << 16 |
                         (unsigned long)p[6] << 8 | p[7];
    }
}

void rt_open(rt_conn_t *c, SSL_CTX *ctx, int port, SSL_SESSION *resume)
{
    rt_open_from(c, ctx, NULL, port, resume);
}

void rt_open_from(rt_conn_t *c, SSL_CTX *ctx, const char *src, int port,
                  SSL_SESSION *resume)
{
    /* SSL_write on a socket the server has closed must fail, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    memset(c, 0, sizeof *c);
    c->alert_sent = c->alert_received = -1;
    c->why = "";
    c->fd = tu_tcp_connect_from(src, port);
    int fl = fcntl(c->fd, F_GETFL);
    CHECK(fl >= 0);
    CHECK_EQ(fcntl(c->fd, F_SETFL, fl | O_NONBLOCK), 0);
    c->ssl = SSL_new(ctx);
    CHECK(c->ssl != NULL);
    CHECK_EQ(SSL_set_fd(c->ssl, c->fd), 1);
    SSL_set_app_data(c->ssl, c);
    SSL_set_info_callback(c->ssl, rt_info_cb);
    SSL_set_msg_callback(c->ssl, rt_msg_cb);
    SSL_set_connect_state(c->ssl);
    if (resume != NULL)
        CHECK_EQ(SSL_set_session(c->ssl, resume), 1);
}

void rt_close(rt_conn_t *c)
{
    if (c->ssl != NULL)
        SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
    ERR_clear_error();
}

/* Records why a call failed with SSL error e (neither WANT_READ nor
 * WANT_WRITE). */
static void rt_failed(rt_conn_t *c, int e)
{
    if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
        c->eof = 1;
    c->why = e == SSL_ERROR_ZERO_RETURN ? "close_notify"
             : e == SSL_ERROR_SYSCALL   ? "eof or reset"
                                        : "ssl error";
}

/* Waits for one of events on the socket: 1 once it came, -1 at the
 * deadline. */
static int rt_wait(rt_conn_t *c, short events, int64_t deadline)
{
    struct pollfd pfd = {c->fd, events, 0};
    for (;;) {
        int64_t left = deadline - tu_now_ms();
        if (left <= 0) {
            c->why = "timeout";
            return -1;
        }
        int rc = poll(&pfd, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        CHECK(rc >= 0);
        if (rc > 0)
            return 1;
    }
}

/* After an SSL call that did not complete: 1 to call again (the socket
 * became ready), -1 when the connection failed or the deadline passed. */
static int rt_after(rt_conn_t *c, int ret, int64_t deadline)
{
    int e = SSL_get_error(c->ssl, ret);
    ERR_clear_error();
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        rt_failed(c, e);
        return -1;
    }
    return rt_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
}

int rt_handshake(rt_conn_t *c, int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    for (;;) {
        int r = SSL_do_handshake(c->ssl);
        if (r == 1)
            return 0;
        if (rt_after(c, r, deadline) < 0)
            return -1;
    }
}

int rt_write(rt_conn_t *c, const void *buf, size_t len, int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    CHECK(len > 0 && len < (size_t)1 << 30);
    for (;;) {
        /* Without SSL_MODE_ENABLE_PARTIAL_WRITE a write is all or nothing,
         * and a retry passes the same arguments. */
        int r = SSL_write(c->ssl, buf, (int)len);
        if (r > 0)
            return 0;
        if (rt_after(c, r, deadline) < 0)
            return -1;
    }
}

int rt_read(rt_conn_t *c, void *buf, size_t len, int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    size_t got = 0;
    while (got < len) {
        int r = SSL_read(c->ssl, (char *)buf + got, (int)(len - got));
        if (r > 0)
            got += (size_t)r;
        else if (rt_after(c, r, deadline) < 0)
            return -1;
    }
    return 0;
}

int rt_wait_closed(rt_conn_t *c, int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    char buf[4096];
    for (;;) {
        int r = SSL_read(c->ssl, buf, sizeof buf);
        if (r > 0)
            continue;
        if (rt_after(c, r, deadline) < 0)
            return strcmp(c->why, "timeout") == 0 ? -1 : 0;
    }
}

int rt_drain(rt_conn_t *c)
{
    char scratch[256];
    int r = SSL_read(c->ssl, scratch, sizeof scratch);
    if (r > 0) {
        c->why = "unexpected data";
        return -1;
    }
    int e = SSL_get_error(c->ssl, r);
    ERR_clear_error();
    /* WANT_WRITE: an answer OpenSSL owes the server is held up; the
     * connection is still there. */
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    rt_failed(c, e);
    return -1;
}

int rt_key_update(rt_conn_t *c, int timeout_ms)
{
    if (SSL_key_update(c->ssl, SSL_KEY_UPDATE_REQUESTED) != 1) {
        ERR_clear_error();
        c->why = "ssl error";
        return -1;
    }
    int64_t deadline = tu_now_ms() + timeout_ms;
    for (;;) {
        int r = SSL_do_handshake(c->ssl);
        if (r == 1)
            return 0;
        if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_WRITE) {
            if (rt_after(c, r, deadline) < 0)
                return -1;
            continue;
        }
        ERR_clear_error();
        /* The server's own KeyUpdates must be read while we wait to write,
         * or both ends could wait on full buffers. */
        if (rt_drain(c) < 0 || rt_wait(c, POLLIN | POLLOUT, deadline) < 0)
            return -1;
    }
}

int rt_raw_write(rt_conn_t *c, const void *buf, size_t len)
{
    return tu_tcp_send(c->fd, buf, len);
}

/* ---- ZMTP ----------------------------------------------------------- */

void rt_zmtp_greeting(uint8_t out[RT_GREETING_SIZE])
{
    memset(out, 0, RT_GREETING_SIZE);
    out[0] = 0xFF;
    out[9] = 0x7F;
    out[10] = 3;
    out[11] = 1;
    memcpy(out + 12, "NULL", 4);
}

size_t rt_zmtp_ready(uint8_t *out, size_t cap, const char *type)
{
    static const char name[] = "Socket-Type";
    size_t tlen = strlen(type);
    size_t body = 1 + 5 + 1 + (sizeof name - 1) + 4 + tlen;
    CHECK(body < 256 && cap >= 2 + body);
    size_t n = 0;
    out[n++] = 0x04; /* command, short size */
    out[n++] = (uint8_t)body;
    out[n++] = 5;
    memcpy(out + n, "READY", 5);
    n += 5;
    out[n++] = (uint8_t)(sizeof name - 1);
    memcpy(out + n, name, sizeof name - 1);
    n += sizeof name - 1;
    out[n++] = 0;
    out[n++] = 0;
    out[n++] = 0;
    out[n++] = (uint8_t)tlen;
    memcpy(out + n, type, tlen);
    return n + tlen;
}

/* One frame: flags and body (at most cap bytes). 0 or -1. */
static int rt_zmtp_frame(rt_conn_t *c, uint8_t *flags, uint8_t *body, size_t cap,
                         size_t *len, int timeout_ms)
{
    uint8_t h[9];
    if (rt_read(c, h, 2, timeout_ms) != 0)
        return -1;
    uint64_t size = h[1];
    if (h[0] & 0x02) {
        if (rt_read(c, h + 2, 7, timeout_ms) != 0)
            return -1;
        size = 0;
        for (int i = 1; i < 9; i++)
            size = size << 8 | h[i];
    }
    if (size > cap) {
        fprintf(stderr, "rawtls: a %llu-byte frame from the server, room for %zu\n",
                (unsigned long long)size, cap);
        return -1;
    }
    *flags = h[0];
    *len = (size_t)size;
    return size == 0 ? 0 : rt_read(c, body, (size_t)size, timeout_ms);
}

int rt_zmtp_handshake(rt_conn_t *c, const char *type, int timeout_ms)
{
    uint8_t g[RT_GREETING_SIZE];
    if (rt_read(c, g, sizeof g, timeout_ms) != 0) {
        fprintf(stderr, "rawtls: no server greeting (%s)\n", c->why);
        return -1;
    }
    if (g[0] != 0xFF || g[9] != 0x7F || g[10] != 3 || memcmp(g + 12, "NULL\0", 5) != 0) {
        fprintf(stderr, "rawtls: not a ZMTP 3 NULL greeting from the server\n");
        return -1;
    }
    uint8_t out[RT_GREETING_SIZE + 64];
    rt_zmtp_greeting(out);
    size_t n = RT_GREETING_SIZE + rt_zmtp_ready(out + RT_GREETING_SIZE, 64, type);
    if (rt_write(c, out, n, timeout_ms) != 0) {
        fprintf(stderr, "rawtls: cannot send greeting and READY (%s)\n", c->why);
        return -1;
    }
    uint8_t flags, body[256];
    size_t len;
    if (rt_zmtp_frame(c, &flags, body, sizeof body, &len, timeout_ms) != 0 ||
        flags != 0x04 || len < 6 || memcmp(body, "\5READY", 6) != 0) {
        fprintf(stderr, "rawtls: no READY from the server (%s)\n", c->why);
        return -1;
    }
    return 0;
}

int rt_zmtp_send_request(rt_conn_t *c, const char *body, int timeout_ms)
{
    size_t blen = strlen(body);
    uint8_t out[4 + 255];
    CHECK(blen <= 255);
    out[0] = 0x01; /* empty delimiter, more */
    out[1] = 0;
    out[2] = 0;
    out[3] = (uint8_t)blen;
    memcpy(out + 4, body, blen);
    if (rt_write(c, out, 4 + blen, timeout_ms) != 0) {
        fprintf(stderr, "rawtls: cannot send the request (%s)\n", c->why);
        return -1;
    }
    return 0;
}

int rt_zmtp_recv_reply(rt_conn_t *c, const char *expect, int timeout_ms)
{
    uint8_t flags, in[256];
    size_t len;
    if (rt_zmtp_frame(c, &flags, in, sizeof in, &len, timeout_ms) != 0 || flags != 0x01 ||
        len != 0) {
        fprintf(stderr, "rawtls: no reply delimiter (%s)\n", c->why);
        return -1;
    }
    if (rt_zmtp_frame(c, &flags, in, sizeof in, &len, timeout_ms) != 0 || flags != 0 ||
        len != strlen(expect) || memcmp(in, expect, len) != 0) {
        fprintf(stderr, "rawtls: no reply \"%s\" (%s)\n", expect, c->why);
        return -1;
    }
    return 0;
}

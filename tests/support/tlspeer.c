/* A raw OpenSSL tls:// client; see tlspeer.h for the contract. */
#define _POSIX_C_SOURCE 200809L

#include "tlspeer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "testutil.h"

/* Counts what the server sends besides data: its alerts, tickets and
 * KeyUpdates, as OpenSSL parses them. */
static void tu_tls_msg_cb(int write_p, int version, int content_type, const void *buf,
                          size_t len, SSL *ssl, void *arg)
{
    tu_tls_t *t = arg;
    const unsigned char *p = buf;
    (void)version;
    (void)ssl;
    if (write_p)
        return;
    if (content_type == SSL3_RT_ALERT && len == 2 && p[0] == SSL3_AL_FATAL &&
        t->alert < 0)
        t->alert = p[1];
    if (content_type == SSL3_RT_HANDSHAKE && len >= 1 && p[0] == SSL3_MT_KEY_UPDATE)
        t->key_updates++;
    if (content_type == SSL3_RT_HANDSHAKE && len >= 8 &&
        p[0] == SSL3_MT_NEWSESSION_TICKET) {
        t->tickets++;
        t->ticket_life = (unsigned long)p[4] << 24 | (unsigned long)p[5] << 16 |
                         (unsigned long)p[6] << 8 | p[7];
    }
}

/* Waits for the fd as OpenSSL asked (ret, a failed call's return). 0 to
 * call again, -1 when the connection failed or the deadline passed. */
static int tu_tls_wait(tu_tls_t *t, int ret, int64_t deadline)
{
    int e = SSL_get_error(t->ssl, ret);
    struct pollfd p = {t->fd, 0, 0};
    if (e == SSL_ERROR_WANT_READ)
        p.events = POLLIN;
    else if (e == SSL_ERROR_WANT_WRITE)
        p.events = POLLOUT;
    else {
        if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
            t->eof = 1;
        ERR_clear_error();
        return -1;
    }
    int64_t left = deadline - tu_now_ms();
    if (left <= 0)
        return -1;
    int n;
    do {
        n = poll(&p, 1, (int)left);
    } while (n < 0 && errno == EINTR);
    return n > 0 ? 0 : -1;
}

int tu_tls_open(tu_tls_t *t, int port, const char *cert, const char *key, const char *ca,
                int seclevel)
{
    memset(t, 0, sizeof(*t));
    t->alert = -1;
    t->fd = tu_tcp_connect(port);
    int fl = fcntl(t->fd, F_GETFL);
    CHECK(fl >= 0 && fcntl(t->fd, F_SETFL, fl | O_NONBLOCK) == 0);

    t->ctx = SSL_CTX_new(TLS_client_method());
    CHECK(t->ctx != NULL);
    CHECK(SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION) == 1);
    if (seclevel >= 0)
        SSL_CTX_set_security_level(t->ctx, seclevel);
    if (cert != NULL) {
        CHECK(SSL_CTX_use_certificate_chain_file(t->ctx, tu_cert(cert)) == 1);
        CHECK(SSL_CTX_use_PrivateKey_file(t->ctx, tu_cert(key), SSL_FILETYPE_PEM) == 1);
    }
    CHECK(SSL_CTX_load_verify_locations(t->ctx, tu_cert(ca), NULL) == 1);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    t->ssl = SSL_new(t->ctx);
    CHECK(t->ssl != NULL);
    CHECK(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), "127.0.0.1") == 1);
    SSL_set_msg_callback(t->ssl, tu_tls_msg_cb);
    SSL_set_msg_callback_arg(t->ssl, t);
    CHECK(SSL_set_fd(t->ssl, t->fd) == 1);

    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    for (;;) {
        int r = SSL_connect(t->ssl);
        if (r == 1)
            return 0;
        if (tu_tls_wait(t, r, deadline) < 0)
            return -1;
    }
}

void tu_tls_close(tu_tls_t *t)
{
    SSL_free(t->ssl);
    SSL_CTX_free(t->ctx);
    if (t->fd >= 0)
        close(t->fd);
    t->ssl = NULL;
    t->ctx = NULL;
    t->fd = -1;
    ERR_clear_error();
}

int tu_tls_read(tu_tls_t *t, void *buf, size_t len, int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    size_t got = 0;
    while (got < len) {
        size_t n = 0;
        int r = SSL_read_ex(t->ssl, (char *)buf + got, len - got, &n);
        if (r == 1)
            got += n;
        else if (tu_tls_wait(t, r, deadline) < 0)
            return -1;
    }
    return 0;
}

int tu_tls_write(tu_tls_t *t, const void *buf, size_t len, int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    size_t done = 0;
    while (done < len) {
        size_t n = 0;
        int r = SSL_write_ex(t->ssl, (const char *)buf + done, len - done, &n);
        if (r == 1)
            done += n;
        else if (tu_tls_wait(t, r, deadline) < 0)
            return -1;
    }
    return 0;
}

int tu_tls_drain(tu_tls_t *t)
{
    for (;;) {
        char scratch[256];
        size_t n = 0;
        int r = SSL_read_ex(t->ssl, scratch, sizeof(scratch), &n);
        if (r == 1)
            return -1; /* data nobody asked for */
        int e = SSL_get_error(t->ssl, r);
        ERR_clear_error();
        if (e == SSL_ERROR_WANT_READ)
            return 0;
        if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
            t->eof = 1;
        return -1;
    }
}

int tu_tls_key_update(tu_tls_t *t, int timeout_ms)
{
    if (SSL_key_update(t->ssl, SSL_KEY_UPDATE_REQUESTED) != 1) {
        ERR_clear_error();
        return -1;
    }
    int64_t deadline = tu_now_ms() + timeout_ms;
    for (;;) {
        int r = SSL_do_handshake(t->ssl);
        if (r == 1)
            return 0;
        /* The server's own KeyUpdates must be read while we wait to write,
         * or both ends could wait on full buffers. */
        if (SSL_get_error(t->ssl, r) == SSL_ERROR_WANT_WRITE && tu_tls_drain(t) < 0)
            return -1;
        if (tu_tls_wait(t, r, deadline) < 0)
            return -1;
    }
}

/* ---- ZMTP ------------------------------------------------------------------ */

/* Reads one frame; *flags gets its flags byte. Returns the body length
 * (copied up to cap) or -1. */
static long tu_tls_frame(tu_tls_t *t, unsigned char *flags, void *body, size_t cap,
                         int timeout_ms)
{
    unsigned char h[9];
    if (tu_tls_read(t, h, 2, timeout_ms) < 0)
        return -1;
    *flags = h[0];
    uint64_t size = h[1];
    if (h[0] & 0x02) {
        if (tu_tls_read(t, h + 2, 7, timeout_ms) < 0)
            return -1;
        size = 0;
        for (int i = 1; i < 9; i++)
            size = size << 8 | h[i];
    }
    if (size > cap)
        return -1;
    if (size > 0 && tu_tls_read(t, body, (size_t)size, timeout_ms) < 0)
        return -1;
    return (long)size;
}

int tu_tls_zmtp_ready(tu_tls_t *t, const char *socket_type, int timeout_ms)
{
    unsigned char greeting[64] = {0xff, 0,    0, 0, 0,   0,   0,   0,
                                  0,    0x7f, 3, 0, 'N', 'U', 'L', 'L'};
    unsigned char ready[64];
    size_t tlen = strlen(socket_type), n = 0;
    CHECK(tlen < 32);
    ready[n++] = 0x04; /* command, short size */
    ready[n++] = (unsigned char)(1 + 5 + 1 + 11 + 4 + tlen);
    ready[n++] = 5;
    memcpy(ready + n, "READY", 5);
    n += 5;
    ready[n++] = 11;
    memcpy(ready + n, "Socket-Type", 11);
    n += 11;
    ready[n++] = 0;
    ready[n++] = 0;
    ready[n++] = 0;
    ready[n++] = (unsigned char)tlen;
    memcpy(ready + n, socket_type, tlen);
    n += tlen;

    unsigned char theirs[64], flags, body[256];
    if (tu_tls_write(t, greeting, sizeof(greeting), timeout_ms) < 0 ||
        tu_tls_read(t, theirs, sizeof(theirs), timeout_ms) < 0 || theirs[0] != 0xff ||
        theirs[9] != 0x7f || tu_tls_write(t, ready, n, timeout_ms) < 0)
        return -1;
    long len = tu_tls_frame(t, &flags, body, sizeof(body), timeout_ms);
    if (len < 6 || !(flags & 0x04) || body[0] != 5 || memcmp(body + 1, "READY", 5) != 0)
        return -1;
    return 0;
}

int tu_tls_req_send(tu_tls_t *t, const char *body, int timeout_ms)
{
    size_t len = strlen(body);
    unsigned char out[2 + 2 + 255] = {0x01, 0x00, 0x00, (unsigned char)len};
    CHECK(len <= 255);
    memcpy(out + 4, body, len);
    return tu_tls_write(t, out, 4 + len, timeout_ms);
}

int tu_tls_req_recv(tu_tls_t *t, char *buf, size_t cap, int timeout_ms)
{
    unsigned char flags;
    long n = tu_tls_frame(t, &flags, buf, cap - 1, timeout_ms);
    if (n != 0 || flags != 0x01) /* the empty delimiter */
        return -1;
    n = tu_tls_frame(t, &flags, buf, cap - 1, timeout_ms);
    if (n < 0 || flags != 0x00)
        return -1;
    buf[n] = '\0';
    return (int)n;
}

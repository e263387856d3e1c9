/*
 * Raw connections to the server, as an attacker makes them: TCP, TLS 1.3
 * with OpenSSL directly, ZMTP 3.1 by hand. Non-blocking sockets, every wait
 * bounded by the caller's deadline.
 *
 * After the ZMTP handshake the bytes the server sends are parsed only far
 * enough to notice an ERROR command; how a connection ended (EOF, reset,
 * TLS alert, ERROR) is recorded in hw_conn_t, so that attacks report a
 * server that closes them as an outcome.
 */
#include "hostile.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>

const char *hw_end_name(hw_end_t e)
{
    static const char *const names[] = {"open",       "EOF",     "reset",      "alert",
                                        "ZMTP ERROR", "timeout", "local error"};
    return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "?";
}

static void set_end(hw_conn_t *c, hw_end_t e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_end(hw_conn_t *c, hw_end_t e, const char *fmt, ...)
{
    if (c->end != HW_OPEN)
        return;
    c->end = e;
    c->ended_ms = tool_now_ms();
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof(c->why), fmt, ap);
    va_end(ap);
}

/* ---- TLS contexts --------------------------------------------------------------- */

static void on_info(const SSL *ssl, int where, int ret)
{
    hw_conn_t *c = SSL_get_app_data(ssl);
    if (c == NULL || !(where & SSL_CB_READ_ALERT))
        return;
    int desc = ret & 0xff;
    if (desc == SSL_AD_CLOSE_NOTIFY)
        set_end(c, HW_EOF, "close_notify");
    else {
        c->alert = desc;
        set_end(c, HW_ALERT, "TLS alert %d %s", desc, SSL_alert_desc_string_long(ret));
    }
}

static void on_msg(int write_p, int version, int content_type, const void *buf,
                   size_t len, SSL *ssl, void *arg)
{
    hw_conn_t *c = SSL_get_app_data(ssl);
    const uint8_t *b = buf;
    if (c == NULL || content_type != SSL3_RT_HANDSHAKE || len == 0 ||
        b[0] != SSL3_MT_KEY_UPDATE)
        return;
    if (write_p)
        c->ku_sent++;
    else
        c->ku_received++;
}

static SSL_CTX *ctx_new(const char *certs, int with_cert)
{
    char path[1024];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_mode(ctx,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Every connection a full handshake, as from a new client. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_info_callback(ctx, on_info);
    SSL_CTX_set_msg_callback(ctx, on_msg);
    tool_fmt(path, sizeof(path), "%s/ca.pem", certs);
    if (SSL_CTX_load_verify_locations(ctx, path, NULL) != 1)
        goto fail;
    if (with_cert) {
        tool_fmt(path, sizeof(path), "%s/client.pem", certs);
        if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1)
            goto fail;
        tool_fmt(path, sizeof(path), "%s/client.key", certs);
        if (SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1)
            goto fail;
    }
    return ctx;
fail:
    hs_log("wire", "%s: %s", path, ERR_reason_error_string(ERR_peek_last_error()));
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

int hw_target_init(hw_target_t *t, int port, int tls, const char *certs,
                   uint32_t src_base, unsigned src_count)
{
    memset(t, 0, sizeof(*t));
    t->src_base = src_base;
    t->src_count = src_count > 0 ? src_count : 1;
    t->addr.sin_family = AF_INET;
    t->addr.sin_port = htons((uint16_t)port);
    t->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    t->tls = tls;
    if (!tls)
        return 0;
    t->good = ctx_new(certs, 1);
    t->anon = ctx_new(certs, 0);
    if (t->good == NULL || t->anon == NULL) {
        hw_target_free(t);
        return -1;
    }
    return 0;
}

void hw_target_free(hw_target_t *t)
{
    SSL_CTX_free(t->good);
    SSL_CTX_free(t->anon);
    t->good = t->anon = NULL;
}

/* ---- waiting and failures ------------------------------------------------------- */

/* Waits for ev on the socket by deadline: 0, or -ETIMEDOUT. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - tool_now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = {fd, ev, 0};
        int rc = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (rc > 0)
            return 0; /* POLLERR/POLLHUP too: the next call says what */
        if (rc < 0 && errno != EINTR)
            return -errno;
    }
}

/* After an OpenSSL call returned rc <= 0 (errno as it left it): the poll
 * events to wait for, or 0 once the connection has ended (recorded). */
static short tls_failed(hw_conn_t *c, int rc, int err_no, const char *op)
{
    int err = SSL_get_error(c->ssl, rc);
    if (err == SSL_ERROR_WANT_READ)
        return POLLIN;
    if (err == SSL_ERROR_WANT_WRITE)
        return POLLOUT;
    unsigned long e = ERR_peek_error();
    /* The info callback has already recorded an alert or close_notify;
     * set_end keeps the first reason. */
    if (err == SSL_ERROR_ZERO_RETURN)
        set_end(c, HW_EOF, "close_notify");
    else if (err == SSL_ERROR_SYSCALL && (err_no == ECONNRESET || err_no == EPIPE))
        set_end(c, HW_RESET, "%s: %s", op, strerror(err_no));
    else if (err == SSL_ERROR_SYSCALL && err_no == 0)
        set_end(c, HW_EOF, "%s: EOF", op);
    else if (err == SSL_ERROR_SYSCALL)
        set_end(c, HW_RESET, "%s: %s", op, strerror(err_no));
    else if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        set_end(c, HW_EOF, "%s: EOF", op);
    else
        set_end(c, HW_LOCAL_ERROR, "%s: %s", op,
                e != 0 ? ERR_reason_error_string(e) : "TLS error");
    ERR_clear_error();
    return 0;
}

static void sys_failed(hw_conn_t *c, int err_no, const char *op)
{
    if (err_no == ECONNRESET || err_no == EPIPE)
        set_end(c, HW_RESET, "%s: %s", op, strerror(err_no));
    else
        set_end(c, HW_LOCAL_ERROR, "%s: %s", op, strerror(err_no));
}

/* ---- connecting ------------------------------------------------------------------ */

int hw_tcp_start(const hw_target_t *t, unsigned src, int *fd)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in from = {.sin_family = AF_INET};
    from.sin_addr.s_addr = htonl(t->src_base + src % t->src_count);
    /* The port is chosen at connect(2), per destination, as without bind:
     * tens of thousands of short connections do not run out of ports. */
    setsockopt(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    if (t->src_base != 0 && bind(s, (const struct sockaddr *)&from, sizeof(from)) != 0) {
        int err = errno;
        close(s);
        return -err;
    }
    if (connect(s, (const struct sockaddr *)&t->addr, sizeof(t->addr)) != 0 &&
        errno != EINPROGRESS) {
        int err = errno;
        close(s);
        return -err;
    }
    *fd = s;
    return 0;
}

int hw_open(hw_conn_t *c, const hw_target_t *t, SSL_CTX *ctx, int64_t deadline)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->opened_ms = tool_now_ms();
    int rc = hw_tcp_start(t, 0, &c->fd);
    if (rc < 0) {
        set_end(c, HW_LOCAL_ERROR, "connect: %s", strerror(-rc));
        return -1;
    }
    rc = wait_fd(c->fd, POLLOUT, deadline);
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (rc == 0 && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        soerr = errno;
    if (rc < 0 || soerr != 0) {
        if (rc == -ETIMEDOUT)
            set_end(c, HW_TIMEOUT, "connect: no answer by our deadline");
        else
            set_end(c, HW_LOCAL_ERROR, "connect: %s", strerror(rc < 0 ? -rc : soerr));
        return -1;
    }
    if (!t->tls)
        return 0;
    c->ssl = SSL_new(ctx != NULL ? ctx : t->good);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        set_end(c, HW_LOCAL_ERROR, "SSL_new failed");
        return -1;
    }
    SSL_set_app_data(c->ssl, c);
    SSL_set_connect_state(c->ssl);
    for (;;) {
        ERR_clear_error();
        errno = 0;
        rc = SSL_do_handshake(c->ssl);
        if (rc == 1)
            return 0;
        short ev = tls_failed(c, rc, errno, "TLS handshake");
        if (ev == 0)
            return -1;
        if (wait_fd(c->fd, ev, deadline) < 0) {
            set_end(c, HW_TIMEOUT, "TLS handshake: not done by our deadline");
            return -1;
        }
    }
}

void hw_close(hw_conn_t *c, int clean)
{
    if (c->ssl != NULL) {
        if (clean && c->end == HW_OPEN) {
            ERR_clear_error();
            SSL_shutdown(c->ssl);
            ERR_clear_error();
        }
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (c->end == HW_OPEN) {
        c->end = HW_LOCAL_ERROR;
        c->ended_ms = tool_now_ms();
        tool_fmt(c->why, sizeof(c->why), "closed by us");
    }
}

/* ---- bytes ---------------------------------------------------------------------------
 */

/* A write that met a reset: the server may have sent an ERROR command or an
 * alert before it closed, still waiting in our receive queue. */
static void explain_reset(hw_conn_t *c)
{
    hw_conn_t saved = *c;
    c->end = HW_OPEN;
    hw_poll(c);
    if (c->end != HW_ZMTP_ERROR && c->end != HW_ALERT) {
        c->end = saved.end;
        c->ended_ms = saved.ended_ms;
        memcpy(c->why, saved.why, sizeof(c->why));
    }
}

int hw_write_some(hw_conn_t *c, const void *p, size_t n, int64_t deadline, size_t *done)
{
    const uint8_t *b = p;
    size_t off = 0;
    int rc = 0;
    while (off < n) {
        if (c->end != HW_OPEN) {
            rc = -1;
            break;
        }
        short ev;
        if (c->ssl != NULL) {
            size_t w = 0;
            ERR_clear_error();
            errno = 0;
            int r = SSL_write_ex(c->ssl, b + off, n - off, &w);
            if (r == 1) {
                off += w;
                continue;
            }
            ev = tls_failed(c, r, errno, "write");
        } else {
            ssize_t w = send(c->fd, b + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                off += (size_t)w;
                continue;
            }
            if (w < 0 && errno == EINTR)
                continue;
            ev = POLLOUT;
            if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                sys_failed(c, errno, "write");
                ev = 0;
            }
        }
        if (ev == 0) {
            rc = -1;
            break;
        }
        if (wait_fd(c->fd, ev, deadline) < 0) {
            rc = -ETIMEDOUT;
            break;
        }
    }
    if (done != NULL)
        *done = off;
    if (rc == -1 && c->end == HW_RESET)
        explain_reset(c);
    return rc;
}

int hw_write(hw_conn_t *c, const void *p, size_t n, int64_t deadline)
{
    return hw_write_some(c, p, n, deadline, NULL);
}

int hw_read_full(hw_conn_t *c, void *p, size_t n, int64_t deadline)
{
    uint8_t *b = p;
    size_t off = 0;
    while (off < n) {
        if (c->end != HW_OPEN)
            return -1;
        short ev;
        if (c->ssl != NULL) {
            size_t got = 0;
            ERR_clear_error();
            errno = 0;
            int r = SSL_read_ex(c->ssl, b + off, n - off, &got);
            if (r == 1) {
                off += got;
                continue;
            }
            ev = tls_failed(c, r, errno, "read");
        } else {
            ssize_t got = recv(c->fd, b + off, n - off, MSG_DONTWAIT);
            if (got > 0) {
                off += (size_t)got;
                continue;
            }
            if (got < 0 && errno == EINTR)
                continue;
            ev = POLLIN;
            if (got == 0) {
                set_end(c, HW_EOF, "EOF");
                ev = 0;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                sys_failed(c, errno, "read");
                ev = 0;
            }
        }
        if (ev == 0)
            return -1;
        if (wait_fd(c->fd, ev, deadline) < 0) {
            set_end(c, HW_TIMEOUT, "read: nothing by our deadline");
            return -1;
        }
    }
    return 0;
}

/* ---- what the server sends after the handshake ------------------------------------- */

/* An ERROR command's reason, from its body (name-size, name, reason-size,
 * reason). */
static void on_error_command(hw_conn_t *c, const uint8_t *body, size_t len)
{
    size_t rlen = len > 7 ? body[6] : 0;
    if (7 + rlen > len)
        rlen = len > 7 ? len - 7 : 0;
    set_end(c, HW_ZMTP_ERROR, "ZMTP ERROR \"%.*s\"", (int)rlen, (const char *)body + 7);
}

static void rx_feed(hw_conn_t *c, const uint8_t *p, size_t n)
{
    if (!c->parse_rx)
        return;
    while (n > 0) {
        if (c->rx_skip > 0) {
            size_t k = c->rx_skip < n ? (size_t)c->rx_skip : n;
            c->rx_skip -= k;
            p += k;
            n -= k;
            continue;
        }
        size_t k = sizeof(c->rx) - c->rx_len < n ? sizeof(c->rx) - c->rx_len : n;
        memcpy(c->rx + c->rx_len, p, k);
        c->rx_len += k;
        p += k;
        n -= k;
        /* Whole frames out of rx. */
        for (;;) {
            if (c->rx_len < 2)
                break;
            uint8_t flags = c->rx[0];
            size_t hl = (flags & 2) ? 9 : 2;
            if (c->rx_len < hl)
                break;
            uint64_t size = 0;
            if (flags & 2)
                for (int i = 0; i < 8; i++)
                    size = size << 8 | c->rx[1 + i];
            else
                size = c->rx[1];
            int command = (flags & 4) != 0;
            if (command && hl + size <= sizeof(c->rx)) {
                if (c->rx_len < hl + size)
                    break;
                const uint8_t *body = c->rx + hl;
                if (size >= 6 && body[0] == 5 && memcmp(body + 1, "ERROR", 5) == 0)
                    on_error_command(c, body, (size_t)size);
                memmove(c->rx, c->rx + hl + size, c->rx_len - hl - size);
                c->rx_len -= hl + (size_t)size;
                continue;
            }
            /* A data frame, or a command too large to look at: skip it. */
            size_t have = c->rx_len - hl;
            if (have >= size) {
                memmove(c->rx, c->rx + hl + size, c->rx_len - hl - size);
                c->rx_len -= hl + (size_t)size;
                continue;
            }
            c->rx_skip = size - have;
            c->rx_len = 0;
            break;
        }
    }
}

int hw_poll(hw_conn_t *c)
{
    uint8_t buf[4096];
    /* Bounded: a server that keeps sending is still open. */
    for (int i = 0; i < 64 && c->end == HW_OPEN && c->fd >= 0; i++) {
        if (c->ssl != NULL) {
            size_t got = 0;
            ERR_clear_error();
            errno = 0;
            int r = SSL_read_ex(c->ssl, buf, sizeof(buf), &got);
            if (r == 1) {
                rx_feed(c, buf, got);
                continue;
            }
            if (tls_failed(c, r, errno, "read") != 0)
                break;
        } else {
            ssize_t got = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (got > 0) {
                rx_feed(c, buf, (size_t)got);
                continue;
            }
            if (got == 0)
                set_end(c, HW_EOF, "EOF");
            else if (errno == EINTR)
                continue;
            else if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            else
                sys_failed(c, errno, "read");
        }
    }
    return c->end == HW_OPEN;
}

int hw_poll_many(hw_conn_t **conns, size_t n, int timeout_ms)
{
    struct pollfd *p = calloc(n > 0 ? n : 1, sizeof(*p));
    if (p == NULL) {
        tool_sleep_ms(timeout_ms);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int live = conns[i]->end == HW_OPEN && conns[i]->fd >= 0;
        p[i].fd = live ? conns[i]->fd : -1;
        p[i].events = POLLIN | POLLRDHUP;
    }
    int64_t deadline = tool_now_ms() + timeout_ms;
    int rc;
    do
        rc = poll(p, n,
                  (int)(deadline - tool_now_ms() > 0 ? deadline - tool_now_ms() : 0));
    while (rc < 0 && errno == EINTR);
    int open = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc > 0 && p[i].fd >= 0 && p[i].revents != 0)
            hw_poll(conns[i]);
        open += conns[i]->end == HW_OPEN;
    }
    free(p);
    return open;
}

/* ---- ZMTP by hand --------------------------------------------------------------------
 */

size_t hw_frame_header(uint8_t *out, int more, uint64_t size, int long_form)
{
    uint8_t flags = more ? 1 : 0;
    if (!long_form && size <= 255) {
        out[0] = flags;
        out[1] = (uint8_t)size;
        return 2;
    }
    out[0] = flags | 2;
    for (int i = 0; i < 8; i++)
        out[1 + i] = (uint8_t)(size >> (56 - 8 * i));
    return 9;
}

int hw_zmtp_handshake(hw_conn_t *c, const char *socket_type, int64_t deadline)
{
    uint8_t out[64 + 2 + 64];
    memset(out, 0, 64);
    out[0] = 0xff;
    out[9] = 0x7f;
    out[10] = 3;
    out[11] = 1;
    memcpy(out + 12, "NULL", 4);
    /* READY: name, then the Socket-Type property */
    size_t tlen = strlen(socket_type);
    uint8_t *b = out + 66;
    size_t k = 0;
    b[k++] = 5;
    memcpy(b + k, "READY", 5);
    k += 5;
    b[k++] = 11;
    memcpy(b + k, "Socket-Type", 11);
    k += 11;
    b[k++] = 0, b[k++] = 0, b[k++] = 0, b[k++] = (uint8_t)tlen;
    memcpy(b + k, socket_type, tlen);
    k += tlen;
    out[64] = 4;
    out[65] = (uint8_t)k;
    if (hw_write(c, out, 66 + k, deadline) != 0) {
        set_end(c, HW_TIMEOUT, "ZMTP handshake: could not send by our deadline");
        return -1;
    }
    uint8_t greeting[64];
    if (hw_read_full(c, greeting, sizeof(greeting), deadline) != 0)
        return -1;
    if (greeting[0] != 0xff || greeting[9] != 0x7f || greeting[10] < 3) {
        set_end(c, HW_LOCAL_ERROR, "ZMTP handshake: the server's greeting is not ZMTP 3");
        return -1;
    }
    uint8_t head[9], body[512];
    if (hw_read_full(c, head, 2, deadline) != 0)
        return -1;
    uint64_t size = head[1];
    if (head[0] & 2) {
        if (hw_read_full(c, head + 2, 7, deadline) != 0)
            return -1;
        size = 0;
        for (int i = 0; i < 8; i++)
            size = size << 8 | head[1 + i];
    }
    if (!(head[0] & 4) || size > sizeof(body) || size < 6) {
        set_end(c, HW_LOCAL_ERROR,
                "ZMTP handshake: the server's first frame is no READY");
        return -1;
    }
    if (hw_read_full(c, body, (size_t)size, deadline) != 0)
        return -1;
    if (body[0] == 5 && memcmp(body + 1, "ERROR", 5) == 0) {
        on_error_command(c, body, (size_t)size);
        return -1;
    }
    if (body[0] != 5 || memcmp(body + 1, "READY", 5) != 0) {
        set_end(c, HW_LOCAL_ERROR,
                "ZMTP handshake: the server's first command is no READY");
        return -1;
    }
    c->parse_rx = 1;
    return 0;
}

/* ---- TLS specifics -------------------------------------------------------------------
 */

int hw_key_update(hw_conn_t *c, int64_t deadline)
{
    if (c->ssl == NULL || c->end != HW_OPEN)
        return -1;
    ERR_clear_error();
    if (SSL_key_update(c->ssl, SSL_KEY_UPDATE_REQUESTED) != 1) {
        unsigned long e = ERR_peek_error();
        ERR_clear_error();
        if (hw_poll(c))
            set_end(c, HW_LOCAL_ERROR, "SSL_key_update: %s",
                    e != 0 ? ERR_reason_error_string(e) : "failed");
        return -1;
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int rc = SSL_do_handshake(c->ssl);
        if (rc == 1)
            return 0;
        short ev = tls_failed(c, rc, errno, "KeyUpdate");
        if (ev == 0)
            return -1;
        if (wait_fd(c->fd, ev, deadline) < 0) {
            set_end(c, HW_TIMEOUT, "KeyUpdate: not written by our deadline");
            return -1;
        }
    }
}

size_t hw_partial_client_hello(const hw_target_t *t, uint8_t *out, size_t cap)
{
    if (t->anon == NULL)
        return 0;
    SSL *s = SSL_new(t->anon);
    BIO *rd = BIO_new(BIO_s_mem()), *wr = BIO_new(BIO_s_mem());
    size_t n = 0;
    if (s != NULL && rd != NULL && wr != NULL) {
        SSL_set_bio(s, rd, wr);
        rd = wr = NULL; /* owned by s */
        SSL_set_connect_state(s);
        SSL_do_handshake(s); /* writes the ClientHello, then wants to read */
        char *data = NULL;
        long len = BIO_get_mem_data(SSL_get_wbio(s), &data);
        if (len > 0 && data != NULL) {
            n = (size_t)len / 2;
            if (n > cap)
                n = cap;
            memcpy(out, data, n);
        }
    }
    ERR_clear_error();
    BIO_free(rd);
    BIO_free(wr);
    SSL_free(s);
    return n;
}

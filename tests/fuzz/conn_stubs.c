/*
 * Link-time stand-ins for what plugin/conn calls outside itself: TLS, the
 * bridge, the I/O thread's services and the peer table. See conn_stubs.h.
 * Each stub also checks the contract its real counterpart documents (the
 * write retry rule of tls.h, "a bridge accepts the rest of a message whose
 * first part it took", no callback or I/O once the conn has ended).
 */
#include "conn_stubs.h"

#include "bridge/bridge.h"
#include "io/io.h"
#include "peers/peers.h"
#include "tls/tls.h"
#include "zap/zap.h"
#include "zmtp/zmtp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

fz_world_t fz;

void fz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
    abort();
}

uint8_t fz_ctl_next(void)
{
    if (fz.benign || fz.ctl_len == 0)
        return 0;
    return fz.ctl[fz.ctl_pos++ % fz.ctl_len];
}

/* ---- the loop clock (-Wl,--wrap=clock_gettime) -------------------------- */

int __real_clock_gettime(clockid_t id, struct timespec *ts);
int __wrap_clock_gettime(clockid_t id, struct timespec *ts);

int __wrap_clock_gettime(clockid_t id, struct timespec *ts)
{
    if (!fz.clock_fake || id != CLOCK_MONOTONIC)
        return __real_clock_gettime(id, ts);
    ts->tv_sec = (time_t)(fz.clock_ms / 1000);
    ts->tv_nsec = (long)(fz.clock_ms % 1000) * 1000000L;
    return 0;
}

/* ---- TLS ---------------------------------------------------------------- */

struct tls_conn {
    int fd;
};

/* The peer has bytes for the conn, an end to report, or handshake records
 * still to come. */
void fz_update_readable(void)
{
    int want = 0;
    if (fz.tls_live && fz.failure == 0 && !fz.fd_closed) {
        if (!fz.hs_done)
            want = 1;
        else if (fz.in_pos < fz.in_avail)
            want = 1;
        else if (fz.in_avail == fz.in_len && fz.end_rc < 0 && !fz.end_given)
            want = 1;
    }
    if (want == fz.readable || fz.fd_closed)
        return;
    uint8_t b = 'r';
    if (want)
        FZ_CHECK(write(fz.peer_fd, &b, 1) == 1);
    else
        FZ_CHECK(recv(fz.conn_fd, &b, 1, MSG_DONTWAIT) == 1);
    fz.readable = want;
}

static void fz_tls_check(const tls_conn_t *c)
{
    FZ_CHECK(c != NULL && fz.tls_live && c->fd == fz.conn_fd);
    FZ_CHECK(!fz.in_destroy && !fz.ended);
}

static int fz_tls_fail(int rc)
{
    fz.failure = rc;
    fz.injected = 1;
    fz.progress++;
    fz_update_readable();
    return rc;
}

int tls_conn_new(tls_conn_t **out, SSL_CTX *ctx, int fd, int is_server,
                 const char *verify_name)
{
    *out = NULL;
    FZ_CHECK(!fz.tls_live && fd == fz.conn_fd && is_server == fz.is_server);
    if (is_server || fz.cfg->verify_name[0] == '\0')
        FZ_CHECK(verify_name == NULL);
    else
        FZ_CHECK(verify_name != NULL && strcmp(verify_name, fz.cfg->verify_name) == 0);
    if (fz.new_rc != 0)
        return fz.new_rc;
    tls_conn_t *c = malloc(sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->fd = fd;
    fz.tls_live = 1;
    fz_update_readable();
    *out = c;
    return 0;
}

void tls_conn_destroy(tls_conn_t **conn)
{
    if (*conn == NULL)
        return;
    FZ_CHECK(fz.tls_live && (*conn)->fd == fz.conn_fd);
    free(*conn);
    *conn = NULL;
    fz.tls_live = 0;
}

int tls_conn_resume(tls_conn_t *c, const char *key)
{
    fz_tls_check(c);
    FZ_CHECK(!fz.is_server && strcmp(key, fz.cfg->uri) == 0);
    return fz.resume_rc;
}

int tls_conn_handshake(tls_conn_t *c)
{
    fz_tls_check(c);
    FZ_CHECK(!fz.dead);
    if (fz.failure)
        return fz.failure;
    if (fz.hs_done)
        return TLS_OK;
    if (fz.hs_wants > 0) {
        fz.hs_wants--;
        return fz.hs_wants & 1 ? TLS_WANT_WRITE : TLS_WANT_READ;
    }
    if (fz.hs_rc != TLS_OK)
        return fz_tls_fail(fz.hs_rc);
    fz.hs_done = 1;
    fz.progress++;
    fz_update_readable();
    return TLS_OK;
}

/* Control byte: 0 everything there is; 1..63 that many bytes; 64..127
 * 64..4096 bytes; 128..191 everything, and the socket looks drained even
 * if more has arrived; 192..254 nothing yet (WANT_READ); 255 WANT_WRITE
 * (a TLS read may need to write). */
int tls_conn_read(tls_conn_t *c, void *buf, size_t cap, size_t *n)
{
    fz_tls_check(c);
    FZ_CHECK(fz.hs_done && !fz.dead);
    /* The real read returns TLS_OK with nothing for cap 0, which would
     * make conn_read spin. */
    FZ_CHECK(buf != NULL && cap > 0);
    *n = 0;
    if (fz.failure)
        return fz.failure;
    size_t avail = fz.in_avail - fz.in_pos;
    if (avail == 0) {
        if (fz.in_avail == fz.in_len && fz.end_rc < 0) {
            fz.end_given = 1;
            return fz_tls_fail(fz.end_rc);
        }
        return TLS_WANT_READ;
    }
    uint8_t b = fz_ctl_next();
    size_t chunk = avail;
    int drained = 0;
    if (b >= 192)
        return b == 255 ? TLS_WANT_WRITE : TLS_WANT_READ;
    if (b >= 128)
        drained = 1;
    else if (b >= 64)
        chunk = (size_t)(b - 63) * 64;
    else if (b > 0)
        chunk = b;
    if (chunk > avail)
        chunk = avail;
    if (chunk > cap)
        chunk = cap;
    memcpy(buf, fz.in + fz.in_pos, chunk);
    fz.in_pos += chunk;
    fz.drained = drained || fz.in_pos == fz.in_avail;
    *n = chunk;
    fz.progress++;
    fz_update_readable();
    return TLS_OK;
}

int tls_conn_drained(const tls_conn_t *c)
{
    fz_tls_check(c);
    return fz.failure == 0 && fz.drained;
}

static void fz_out_append(const uint8_t *p, size_t n)
{
    if (fz.out_len + n > fz.out_cap) {
        size_t cap = fz.out_cap ? fz.out_cap : 4096;
        while (cap < fz.out_len + n)
            cap *= 2;
        uint8_t *q = realloc(fz.out, cap);
        FZ_CHECK(q != NULL);
        fz.out = q;
        fz.out_cap = cap;
    }
    memcpy(fz.out + fz.out_len, p, n);
    fz.out_len += n;
}

/* Control byte: 0..63 take everything; 64..127 a part of it; 128..191
 * WANT_WRITE; 192..254 WANT_READ while the peer has bytes coming (the fd
 * will fire), else WANT_WRITE; 255 the socket fails (EPIPE). */
int tls_conn_write(tls_conn_t *c, const void *buf, size_t len, size_t *n)
{
    fz_tls_check(c);
    FZ_CHECK(fz.hs_done);
    /* Nothing after our close_notify, nor after the end unless it is the
     * end's own last words (its ERROR, in the same iteration). */
    FZ_CHECK(!fz.shutdown && !fz.dead_settled);
    FZ_CHECK(buf != NULL && len > 0);
    *n = 0;
    if (fz.failure)
        return fz.failure;
    /* tls.h: a refused write is retried with the same bytes first, at
     * least min(16 KiB, what remained) of them. */
    if (fz.retry_len > 0) {
        FZ_CHECK(len >= fz.retry_len);
        FZ_CHECK(memcmp(buf, fz.retry, fz.retry_len) == 0);
        fz.retry_len = 0;
    }
    /* conn.h: the client sends nothing before the server's first record,
     * the greeting signature. */
    if (!fz.is_server)
        FZ_CHECK(fz.in_pos >= ZMTP_SIGNATURE_SIZE &&
                 zmtp_signature_check(fz.in, ZMTP_SIGNATURE_SIZE) == ZMTP_OK);
    uint8_t b = fz_ctl_next();
    size_t take = len;
    int rc = TLS_OK;
    if (b == 255) {
        return fz_tls_fail(TLS_E_IO);
    } else if (b >= 192) {
        rc = fz.in_pos < fz.in_avail ? TLS_WANT_READ : TLS_WANT_WRITE;
        take = 0;
    } else if (b >= 128) {
        rc = TLS_WANT_WRITE;
        take = 0;
    } else if (b >= 64) {
        take = 1 + ((size_t)(b - 64) * 997) % len;
    }
    if (take < len) {
        size_t rest = len - take;
        fz.retry_len = rest < sizeof(fz.retry) ? rest : sizeof(fz.retry);
        memcpy(fz.retry, (const uint8_t *)buf + take, fz.retry_len);
    }
    if (take > 0) {
        fz_out_append(buf, take);
        fz.progress++;
    }
    *n = take;
    return rc;
}

void tls_conn_trim(tls_conn_t *c)
{
    fz_tls_check(c);
}

int tls_conn_shutdown(tls_conn_t *c)
{
    fz_tls_check(c);
    FZ_CHECK(fz.dead);
    fz.shutdown = 1;
    return TLS_OK;
}

int tls_conn_alert(const tls_conn_t *c)
{
    fz_tls_check(c);
    return fz.failure == TLS_E_AUTH ? 42 : fz.failure == TLS_E_PROTOCOL ? 10 : -1;
}

int tls_conn_errno(const tls_conn_t *c)
{
    fz_tls_check(c);
    return fz.failure == TLS_E_IO ? EPIPE : fz.failure == TLS_E_LIMIT ? EPROTO : 0;
}

int tls_conn_peer_eof(const tls_conn_t *c)
{
    fz_tls_check(c);
    return 0;
}

int tls_conn_alert_received(const tls_conn_t *c)
{
    fz_tls_check(c);
    return 0;
}

const char *tls_conn_reason(const tls_conn_t *c)
{
    fz_tls_check(c);
    return "fuzz failure";
}

const char *tls_conn_refused_subject(const tls_conn_t *c)
{
    fz_tls_check(c);
    return "";
}

int tls_conn_resumed(const tls_conn_t *c)
{
    fz_tls_check(c);
    return 0;
}

int tls_conn_peer_info(const tls_conn_t *c, tls_peer_info_t *out)
{
    fz_tls_check(c);
    FZ_CHECK(fz.hs_done);
    memset(out, 0, sizeof(*out));
    if (fz.peer_info_rc != 0)
        return fz.peer_info_rc;
    out->subject = strdup("CN=fuzz");
    FZ_CHECK(out->subject != NULL);
    return 0;
}

void tls_peer_info_free(tls_peer_info_t *info)
{
    free(info->subject);
    memset(info, 0, sizeof(*info));
}

/* Certificates in this world do not expire while connected. */
int tls_conn_peer_expiry(const tls_conn_t *c, int64_t *seconds_left)
{
    fz_tls_check(c);
    FZ_CHECK(fz.hs_done);
    *seconds_left = 0;
    return -ENOENT;
}

/* ---- ZAP: the fuzzed binds have no ZAP domain ------------------------------ */

int tls_conn_peer_pem(const tls_conn_t *c, char **pem, size_t *len)
{
    (void)c, (void)pem, (void)len;
    FZ_CHECK(0);
    return -ENOENT;
}

int zap_req_new(zap_req_t **out, const zap_request_t *req)
{
    (void)out, (void)req;
    FZ_CHECK(0);
    return -ENOSYS;
}

void zap_req_destroy(zap_req_t **z)
{
    FZ_CHECK(*z == NULL);
}

int zap_req_fd(const zap_req_t *z)
{
    (void)z;
    FZ_CHECK(0);
    return -1;
}

int zap_req_poll(zap_req_t *z, zap_reply_t *reply)
{
    (void)z, (void)reply;
    FZ_CHECK(0);
    return -ENOSYS;
}

/* ---- bridge -------------------------------------------------------------- */

struct bridge {
    int fd;
};

static bridge_t fz_the_bridge;

bridge_t *fz_bridge_open(void)
{
    if (!fz.bridge_live) {
        int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        FZ_CHECK(fd >= 0);
        fz_the_bridge.fd = fd;
        fz.bridge_fd = fd;
        fz.bridge_live = 1;
    }
    return &fz_the_bridge;
}

void fz_bridge_close(void)
{
    if (!fz.bridge_live)
        return;
    close(fz_the_bridge.fd);
    fz.bridge_live = 0;
}

void fz_bridge_signal(void)
{
    if (!fz.bridge_live)
        return;
    uint64_t v;
    (void)!read(fz.bridge_fd, &v, sizeof(v));
    v = 1;
    FZ_CHECK(write(fz.bridge_fd, &v, sizeof(v)) == sizeof(v));
}

static void fz_bridge_check(const bridge_t *b)
{
    FZ_CHECK(b == &fz_the_bridge && fz.bridge_live);
}

int bridge_carries_subscriptions(int app_type)
{
    return app_type == ZMQ_SUB || app_type == ZMQ_XSUB;
}

void bridge_destroy(bridge_t **bp)
{
    if (*bp == NULL)
        return;
    fz_bridge_check(*bp);
    FZ_CHECK(fz.in_destroy);
    fz_bridge_close();
    *bp = NULL;
}

int bridge_fd(const bridge_t *b)
{
    fz_bridge_check(b);
    return b->fd;
}

/* Control byte 255 on bridge_events, bridge_recv or the first part of a
 * bridge_send: the context is ending (-ETERM). */
static int fz_bridge_term(void)
{
    if (fz_ctl_next() != 255)
        return 0;
    fz.injected = 1;
    return 1;
}

int bridge_events(bridge_t *b)
{
    fz_bridge_check(b);
    FZ_CHECK(!fz.dead && !fz.in_destroy);
    if (fz_bridge_term())
        return -ETERM;
    int ev = 0;
    if (fz.app_next < fz.app_visible)
        ev |= ZMQ_POLLIN;
    if (!fz.send_blocked)
        ev |= ZMQ_POLLOUT;
    return ev;
}

int bridge_recv(bridge_t *b, zmq_msg_t *msg, int *more)
{
    fz_bridge_check(b);
    FZ_CHECK(!fz.dead && !fz.in_destroy);
    if (fz_bridge_term())
        return -ETERM;
    if (fz.app_next >= fz.app_visible)
        return -EAGAIN;
    const fz_part_t *p = &fz.app[fz.app_next++];
    zmq_msg_close(msg);
    FZ_CHECK(zmq_msg_init_size(msg, p->len) == 0);
    if (p->len > 0)
        memcpy(zmq_msg_data(msg), p->data, p->len);
    *more = p->more;
    fz.progress++;
    return 0;
}

/* Control byte for the first part of a message: 0..191 taken, 192..254
 * the application's pipe is full until the harness says it read, 255
 * -ETERM. */
int bridge_send(bridge_t *b, zmq_msg_t *msg, int more)
{
    fz_bridge_check(b);
    FZ_CHECK(!fz.dead && !fz.in_destroy);
    if (!fz.delivering) {
        if (fz.send_blocked)
            return -EAGAIN;
        uint8_t c = fz_ctl_next();
        if (c == 255) {
            fz.injected = 1;
            return -ETERM;
        }
        if (c >= 192) {
            fz.send_blocked = 1;
            return -EAGAIN;
        }
    }
    /* Everything delivered is the next part the input carried, whole. */
    FZ_CHECK(fz.delivered < fz.expect_n);
    const fz_part_t *e = &fz.expect[fz.delivered];
    const uint8_t *d = zmq_msg_data(msg);
    size_t len = zmq_msg_size(msg);
    FZ_CHECK((more != 0) == (e->more != 0));
    if (e->flag >= 0) {
        FZ_CHECK(len == e->len + 1 && d[0] == e->flag);
        d++;
        len--;
    }
    FZ_CHECK(len == e->len && (len == 0 || memcmp(d, e->data, len) == 0));
    fz.delivered++;
    fz.delivering = more != 0;
    zmq_msg_close(msg);
    fz.progress++;
    return 0;
}

/* ---- I/O thread services and the peer table ------------------------------ */

rx_loop_t *io_loop(void)
{
    FZ_CHECK(fz.loop != NULL);
    return fz.loop;
}

/* The event rules of conn.h and of libzmq's monitors. */
void io_emit(uint32_t sock_id, int event, uint32_t value, const char *endpoint)
{
    FZ_CHECK(sock_id == fz.cfg->sock_id && strcmp(endpoint, fz.cfg->uri) == 0);
    FZ_CHECK(!fz.ended && !fz.in_destroy);
    switch (event) {
    case ZMQ_EVENT_CONNECTED:
        FZ_CHECK(!fz.is_server && !fz.ev_connected && !fz.ev_failed);
        FZ_CHECK(value == (uint32_t)fz.conn_fd);
        fz.ev_connected = 1;
        break;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        FZ_CHECK(!fz.ev_succeeded && !fz.ev_failed && !fz.dead);
        fz.ev_succeeded = 1;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        FZ_CHECK(!fz.ev_succeeded && !fz.ev_failed);
        fz.ev_failed = event;
        fz.failed_value = value;
        break;
    case ZMQ_EVENT_DISCONNECTED:
        FZ_CHECK(!fz.ev_disconnected);
        FZ_CHECK(fz.is_server ? fz.ev_succeeded : fz.ev_connected);
        FZ_CHECK(value == (uint32_t)fz.conn_fd);
        fz.ev_disconnected = 1;
        break;
    default:
        FZ_CHECK(!"an event the conn does not emit");
    }
    fz.progress++;
}

void io_linger_close(int fd)
{
    FZ_CHECK(fd == fz.conn_fd && !fz.fd_closed && fz.in_destroy);
    fz.fd_closed = 1;
    close(fd);
}

int peers_add(const void *owner, const peer_key_t *key, tls_peer_info_t *info,
              const char *address, const char *user_id)
{
    FZ_CHECK(user_id != NULL && user_id[0] == '\0');
    FZ_CHECK(owner != NULL && !fz.dead && fz.peer_info_rc == 0);
    FZ_CHECK(key->sock_id == fz.cfg->sock_id && key->ep_id == fz.cfg->ep_id);
    FZ_CHECK(strcmp(info->subject, "CN=fuzz") == 0 && address != NULL);
    tls_peer_info_free(info);
    fz.peer_listed = 1;
    return 0;
}

/* conn_end calls it first thing: from here on the conn is dead. */
void peers_remove(const void *owner)
{
    FZ_CHECK(owner != NULL);
    if (!fz.in_destroy) {
        FZ_CHECK(!fz.dead);
        fz.dead = 1;
    }
    fz.peer_listed = 0;
}

/*
 * Listener: one tls:// zmq_bind. Accepts TCP connections and runs a
 * connection per peer; a peer gets its bridge into the application socket
 * only once its handshake (certificate included) has succeeded.
 *
 * As with libzmq's tcp:// listener, the accepted connections belong to the
 * listener: zmq_unbind closes them too.
 *
 * Handshakes in progress (accept to ZMTP READY) are capped per listener
 * and per source address (ZMTLS_HANDSHAKES_MAX / _PER_ADDR): a connection
 * over a cap is closed right after accept, before any TLS work, and
 * reported as ACCEPT_FAILED (ENOBUFS, EBUSY). So is a connection from an
 * address banned for repeated authentication failures (EACCES,
 * policy/offender.h). Such peers cost an accept and a close, nothing more.
 * Before all of these, as libzmq's tcp:// listener does, a source address
 * that ZMQ_TCP_ACCEPT_FILTER does not allow is closed (EPERM).
 */
#include "ep/ep.h"

#include "conn/conn.h"
#include "io/io.h"
#include "log/log.h"
#include "policy/accept_filter.h"
#include "policy/offender.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

/* Accepts per wake-up, so one busy listener cannot starve connections. */
#define LS_ACCEPT_BATCH 64
/* Pause after an accept error such as EMFILE, which level-triggered epoll
 * would otherwise report again at once. */
#define LS_ACCEPT_PAUSE_MS 100
/* Peers a listener must have had at once before their leaving gives memory
 * back to the system. */
#define LS_TRIM_PEAK 64

typedef struct ls_peer ls_peer_t;

typedef struct listener {
    ep_t base;
    rx_loop_t *loop;
    int fd;
    rx_io_t io;
    rx_timer_t pause;
    ls_peer_t *peers;
    int handshakes; /* peers not established yet */
    int npeers;
    int npeers_peak;              /* since memory was last given back */
    policy_offenders_t offenders; /* ZMTLS_OFFENDER_* */
    int draining;
} listener_t;

struct ls_peer {
    listener_t *ls;
    conn_t *conn;
    int established;
    struct sockaddr_storage addr; /* the source address */
    ls_peer_t *prev, *next;
};

static void ls_emit(listener_t *ls, int event, uint32_t value)
{
    io_emit(ls->base.cfg->sock_id, event, value, ls->base.cfg->uri);
}

static void ls_stop_listening(listener_t *ls)
{
    if (ls->fd < 0)
        return;
    rx_io_close(ls->loop, &ls->io);
    rx_timer_stop(ls->loop, &ls->pause);
    ls_emit(ls, ZMQ_EVENT_CLOSED, (uint32_t)ls->fd);
    close(ls->fd);
    ls->fd = -1;
}

static void ls_unlink(listener_t *ls, ls_peer_t *p);

static void ls_peer_remove(ls_peer_t *p)
{
    listener_t *ls = p->ls;
    ls_unlink(ls, p);
    if (!p->established)
        ls->handshakes--;
    conn_destroy(&p->conn);
    free(p);
    /* A wave of connections has ebbed: give the heap it grew back to the
     * system, at each quarter of the peak on the way down. */
    if (--ls->npeers <= ls->npeers_peak / 4 && ls->npeers_peak >= LS_TRIM_PEAK) {
        io_give_back_memory();
        ls->npeers_peak = ls->npeers;
    }
}

/* The IP part of two source addresses is the same (ports differ). */
static int ls_same_host(const struct sockaddr_storage *a,
                        const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr,
                      sizeof(struct in6_addr)) == 0;
    return 0;
}

/* The IP bytes of a source address; 0 for another family. */
static size_t ls_host_bytes(const struct sockaddr_storage *a, const uint8_t **out)
{
    if (a->ss_family == AF_INET) {
        *out = (const uint8_t *)&((const struct sockaddr_in *)a)->sin_addr;
        return 4;
    }
    if (a->ss_family == AF_INET6) {
        *out = (const uint8_t *)&((const struct sockaddr_in6 *)a)->sin6_addr;
        return 16;
    }
    *out = NULL;
    return 0;
}

/* 0 when a new handshake from `addr` fits the caps, else the errno the
 * refusal is reported with. The walk ends at the cap, so a crowd of
 * established peers costs little: the pending ones are kept first. */
static int ls_over_caps(const listener_t *ls, const struct sockaddr_storage *addr)
{
    const ep_cfg_t *cfg = ls->base.cfg;
    if (ls->handshakes >= cfg->handshakes_max)
        return ENOBUFS;
    int same = 0;
    for (const ls_peer_t *p = ls->peers; p != NULL && !p->established; p = p->next)
        if (ls_same_host(&p->addr, addr) && ++same >= cfg->handshakes_per_addr)
            return EBUSY;
    return 0;
}

static void ls_link_front(listener_t *ls, ls_peer_t *p)
{
    p->prev = NULL;
    p->next = ls->peers;
    if (ls->peers != NULL)
        ls->peers->prev = p;
    ls->peers = p;
}

static void ls_unlink(listener_t *ls, ls_peer_t *p)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        ls->peers = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
}

static void ls_free(listener_t *ls)
{
    ls_stop_listening(ls);
    while (ls->peers != NULL)
        ls_peer_remove(ls->peers);
    ep_gone(&ls->base);
    ep_cfg_destroy(&ls->base.cfg);
    free(ls);
}

/* No longer a handshake: moves behind the pending peers, which stay at the
 * front of the list for ls_over_caps. */
static void ls_peer_established(ls_peer_t *p)
{
    listener_t *ls = p->ls;
    p->established = 1;
    ls->handshakes--;
    ls_unlink(ls, p);
    ls_peer_t *after = NULL;
    for (ls_peer_t *q = ls->peers; q != NULL && !q->established; q = q->next)
        after = q;
    if (after == NULL) {
        ls_link_front(ls, p);
        return;
    }
    p->prev = after;
    p->next = after->next;
    if (after->next != NULL)
        after->next->prev = p;
    after->next = p;
}

static int ls_established(conn_t *c, void *arg)
{
    ls_peer_t *p = arg;
    ep_peer_id_t pid;
    ep_peer_id(c, p->ls->base.cfg, &pid);
    int rc = ep_attach_own_bridge(c, p->ls->base.cfg, &pid);
    if (rc < 0)
        return rc;
    ls_peer_established(p);
    return 0;
}

/* ZMTLS_LOG=info: an address starts a ban. */
static void ls_log_ban(listener_t *ls, const struct sockaddr_storage *addr, uint64_t ms)
{
    if (!log_on(LOG_INFO))
        return;
    char a[64];
    endpoint_format_sockaddr((const struct sockaddr *)addr, a, sizeof(a));
    log_line_t l;
    log_begin(&l, ls->base.cfg->uri, "banned", a);
    log_add(&l, "ban_ms=%llu failures=%u window_ms=%llu", (unsigned long long)ms,
            ls->offenders.failures, (unsigned long long)ls->offenders.window_ms);
    log_end(&l);
}

static void ls_ended(conn_t *c, void *arg, conn_end_t why, uint32_t value)
{
    ls_peer_t *p = arg;
    listener_t *ls = p->ls;
    if (why == CONN_END_AUTH && !p->established) {
        const uint8_t *host;
        size_t len = ls_host_bytes(&p->addr, &host);
        uint64_t ban =
            policy_offenders_failed(&ls->offenders, host, len, rx_now(ls->loop));
        if (ban > 0)
            ls_log_ban(ls, &p->addr, ban);
    }
    ls_peer_remove(p);
    if (ls->draining && ls->peers == NULL)
        ls_free(ls);
}

static void ls_accept(listener_t *ls)
{
    for (int i = 0; i < LS_ACCEPT_BATCH; i++) {
        struct sockaddr_storage addr;
        socklen_t alen = sizeof(addr);
        int fd = accept4(ls->fd, (struct sockaddr *)&addr, &alen,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
                errno == ECONNABORTED)
                return;
            ls_emit(ls, ZMQ_EVENT_ACCEPT_FAILED, (uint32_t)errno);
            rx_io_stop(ls->loop, &ls->io, RX_READ);
            rx_timer_start(ls->loop, &ls->pause, LS_ACCEPT_PAUSE_MS);
            return;
        }
        /* libzmq reports this refusal as ACCEPT_FAILED with whatever errno
         * its thread last had; EPERM says what happened. */
        if (!policy_accept_match(&ls->base.cfg->accept, (struct sockaddr *)&addr,
                                 ls->base.cfg->ipv6)) {
            close(fd);
            ls_emit(ls, ZMQ_EVENT_ACCEPT_FAILED, EPERM);
            continue;
        }
        const uint8_t *host;
        size_t hlen = ls_host_bytes(&addr, &host);
        int over = policy_offenders_banned(&ls->offenders, host, hlen, rx_now(ls->loop))
                       ? EACCES
                       : ls_over_caps(ls, &addr);
        if (over != 0) {
            close(fd);
            ls_emit(ls, ZMQ_EVENT_ACCEPT_FAILED, (uint32_t)over);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        ls_emit(ls, ZMQ_EVENT_ACCEPTED, (uint32_t)fd);
        ls_peer_t *p = calloc(1, sizeof(*p));
        if (p == NULL) {
            close(fd);
            continue;
        }
        p->ls = ls;
        p->addr = addr;
        conn_owner_t owner = {.established = ls_established, .ended = ls_ended, .arg = p};
        if (conn_new(&p->conn, ls->base.cfg, ls->base.cfg->tls, fd, 1, &owner) < 0) {
            free(p);
            continue;
        }
        ls->handshakes++;
        if (++ls->npeers > ls->npeers_peak)
            ls->npeers_peak = ls->npeers;
        ls_link_front(ls, p);
    }
}

static void ls_on_io(rx_io_t *io, unsigned revents)
{
    ls_accept(io->data);
}

static void ls_on_pause(rx_timer_t *t)
{
    listener_t *ls = t->data;
    if (ls->fd >= 0)
        rx_io_start(ls->loop, &ls->io, RX_READ);
}

static void ls_close(ep_t *ep, int linger)
{
    listener_t *ls = (listener_t *)ep;
    if (ep->closing)
        return;
    ep->closing = 1;
    if (linger == EP_CLOSE_NOW || linger == 0 || ls->peers == NULL) {
        ls_free(ls);
        return;
    }
    ls_stop_listening(ls);
    ls->draining = 1;
    uint64_t deadline = linger > 0 ? rx_now(ls->loop) + (uint64_t)linger : 0;
    /* Each drain may end its peer (and the last one, us) synchronously. */
    ls_peer_t *p = ls->peers;
    while (p != NULL) {
        ls_peer_t *next = p->next;
        int last = next == NULL;
        conn_drain(p->conn, deadline);
        if (last)
            break;
        p = next;
    }
}

static void ls_set_tls(ep_t *ep, SSL_CTX *tls)
{
    SSL_CTX_free(ep->cfg->tls);
    ep->cfg->tls = tls;
}

static const ep_ops_t ls_ops = {.close = ls_close, .set_tls = ls_set_tls};

int ep_listener_start(ep_cfg_t *cfg, int fd, ep_t **out)
{
    listener_t *ls = calloc(1, sizeof(*ls));
    if (ls == NULL) {
        close(fd);
        ep_cfg_destroy(&cfg);
        return -ENOMEM;
    }
    ls->base.ops = &ls_ops;
    ls->base.cfg = cfg;
    ls->loop = io_loop();
    ls->fd = fd;
    policy_offenders_init(&ls->offenders, (unsigned)cfg->offender_failures,
                          (uint64_t)cfg->offender_window, (uint64_t)cfg->offender_ban);
    rx_io_init(&ls->io, fd, 0, ls_on_io, ls);
    rx_timer_init(&ls->pause, ls_on_pause, ls);
    int rc = rx_io_start(ls->loop, &ls->io, RX_READ);
    if (rc < 0) {
        close(fd);
        ep_cfg_destroy(&ls->base.cfg);
        free(ls);
        return rc;
    }
    ls_emit(ls, ZMQ_EVENT_LISTENING, (uint32_t)fd);
    *out = &ls->base;
    return 0;
}

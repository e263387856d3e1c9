/*
 * Connecter: one tls:// zmq_connect. Owns the retry schedules, the TCP
 * connect of each attempt and the bridge that outlives connections.
 *
 * Two ways to join the application socket, chosen by ZMQ_IMMEDIATE as
 * libzmq chooses when to create a tcp:// pipe:
 *  - IMMEDIATE 0 (default): the application connected to our inproc
 *    endpoint at zmq_connect, so its pipe exists and queues messages from
 *    the start; one bridge, bound after the first handshake, serves every
 *    connection of this endpoint.
 *  - IMMEDIATE 1: the application bound the inproc endpoint and each
 *    authenticated connection brings its own bridge, so a pipe exists only
 *    while a peer is connected and authenticated.
 *
 * With ZMQ_SOCKS_PROXY the TCP connect goes to the proxy, and the SOCKS5
 * exchange (socks/socks.h) runs here, between the TCP connect and the
 * conn_t, bounded by ZMQ_HANDSHAKE_IVL. A proxy that fails it is reported
 * as libzmq reports it for tcp://, CLOSED then CONNECT_RETRIED, with the
 * reason in ZMTLS_LOG; a refusal of our credentials or a proxy that does
 * not speak SOCKS5 waits on the raised schedule like a protocol failure.
 *
 * The schedules belong here, not to a connection, so they survive across
 * attempts: an auth failure raises the next interval on the auth schedule,
 * any other failure uses libzmq's transient schedule, and only a completed
 * ZMTP handshake (or new credentials, for the auth schedule) resets them.
 *
 * ZMQ_RECONNECT_IVL -1, as libzmq: a TCP connect that fails leaves the
 * endpoint stopped with its pipe (CN_STOPPED); a connection that ends, for
 * whatever reason, ends the endpoint and the application's pipe with it.
 */
#include "ep/ep.h"

#include "conn/conn.h"
#include "io/io.h"
#include "log/log.h"
#include "policy/backoff.h"
#include "socks/socks.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

typedef enum cn_state {
    CN_IDLE,       /* waiting for the retry timer */
    CN_CONNECTING, /* TCP connect in progress */
    CN_PROXY,      /* SOCKS5 exchange with the proxy */
    CN_CONN,       /* a conn_t runs (TLS / ZMTP / traffic) */
    CN_STOPPED,    /* no more attempts (reconnect disabled or auth stop) */
    CN_DRAINING,   /* application closed the socket; flushing */
} cn_state_t;

typedef struct connecter {
    ep_t base;
    cn_state_t state;
    rx_loop_t *loop;
    int fd;
    rx_io_t io;
    rx_timer_t timer;  /* retry, or TCP connect timeout */
    int timer_is_auth; /* the pending retry waits on the auth schedule */
    policy_backoff_transient_t transient;
    policy_backoff_auth_t auth;
    socks_t socks; /* CN_PROXY */
    conn_t *conn;
    bridge_t *bridge;    /* the persistent bridge (IMMEDIATE 0) */
    int bridge_cut;      /* a message from the bridge was cut: drop its rest */
    bridge_subs_t *subs; /* SUB/XSUB: replayed to each new publisher */
    uint8_t rid[255];    /* the persistent bridge's routing id */
    size_t rid_len;
    int attached;             /* cn->conn is past its handshake, on a bridge */
    int lingering;            /* socket closed with messages that never left */
    uint64_t linger_deadline; /* loop clock; 0: none */
    rx_timer_t linger_timer;
} connecter_t;

static void cn_attempt(connecter_t *cn);

static void cn_emit(connecter_t *cn, int event, uint32_t value)
{
    io_emit(cn->base.cfg->sock_id, event, value, cn->base.cfg->uri);
}

static void cn_free(connecter_t *cn)
{
    rx_timer_stop(cn->loop, &cn->timer);
    rx_timer_stop(cn->loop, &cn->linger_timer);
    rx_io_close(cn->loop, &cn->io);
    if (cn->fd >= 0)
        close(cn->fd);
    if (cn->conn != NULL) {
        if (!cn->base.cfg->immediate)
            conn_detach(cn->conn);
        conn_destroy(&cn->conn);
    }
    if (cn->bridge == NULL && !cn->base.cfg->immediate) {
        /* The application's inproc connect is still pending, and libzmq
         * cannot finish closing a socket with a pending pipe until someone
         * binds its endpoint (it would wait for zmq_ctx_term). Bind and
         * drop a bridge so the pipe ends now, as a tcp:// one would. */
        bridge_cfg_t bc = ep_cfg_bridge(cn->base.cfg, 1, NULL, 0);
        bridge_new(&cn->bridge, &bc);
    }
    bridge_destroy(&cn->bridge);
    bridge_subs_destroy(&cn->subs);
    OPENSSL_cleanse(&cn->socks, sizeof(cn->socks));
    ep_gone(&cn->base);
    ep_cfg_destroy(&cn->base.cfg);
    free(cn);
}

/* Which schedule a failure uses. A handshake that failed on protocol (not
 * TLS, not ZMTP, incompatible socket types) is a configuration error that
 * retrying soon cannot fix, so it waits on the raised schedule too; only an
 * authentication failure can stop reconnection (ZMTLS_AUTH_STOP). */
typedef enum cn_retry {
    CN_RETRY_TRANSIENT,
    CN_RETRY_AUTH,
    CN_RETRY_PROTOCOL,
} cn_retry_t;

static int cn_next_interval(connecter_t *cn, cn_retry_t kind)
{
    if (kind == CN_RETRY_TRANSIENT)
        return policy_backoff_transient_next(&cn->transient, io_random());
    if (kind == CN_RETRY_AUTH)
        return policy_backoff_auth_next(&cn->auth, io_random());
    int stop = cn->auth.stop;
    cn->auth.stop = 0;
    int ivl = policy_backoff_auth_next(&cn->auth, io_random());
    cn->auth.stop = stop;
    return ivl;
}

static const char *const cn_retry_names[] = {
    [CN_RETRY_TRANSIENT] = "transient",
    [CN_RETRY_AUTH] = "auth",
    [CN_RETRY_PROTOCOL] = "protocol",
};

/* ZMTLS_LOG: retries are debug detail; giving up is an outcome (info). */
static void cn_log_schedule(connecter_t *cn, cn_retry_t kind, int ivl)
{
    if (!log_on(ivl < 0 ? LOG_INFO : LOG_DEBUG))
        return;
    log_line_t l;
    log_begin(&l, cn->base.cfg->uri, ivl < 0 ? "gave-up" : "retry", NULL);
    if (ivl >= 0)
        log_add(&l, "in_ms=%d", ivl);
    log_add(&l, "schedule=%s", cn_retry_names[kind]);
    log_end(&l);
}

static void cn_log_tcp(connecter_t *cn, const char *verb, int err)
{
    if (!log_on(LOG_DEBUG))
        return;
    log_line_t l;
    log_begin(&l, cn->base.cfg->uri, verb, NULL);
    if (err != 0) {
        log_add(&l, "errno=%d", err);
        log_add_quoted(&l, "error", strerror(err));
    }
    log_end(&l);
}

static void cn_schedule(connecter_t *cn, cn_retry_t kind)
{
    int auth_failure = kind != CN_RETRY_TRANSIENT;
    /* RECONNECT_IVL -1 stops after any failure before a connection (TCP,
     * the SOCKS5 proxy), as libzmq's connecter: no retry on the raised
     * schedule either. */
    int ivl = cn->base.cfg->reconnect_ivl < 0 ? -1 : cn_next_interval(cn, kind);
    cn_log_schedule(cn, kind, ivl);
    if (ivl < 0) {
        cn->state = CN_STOPPED;
        if (cn->lingering)
            cn_free(cn); /* nothing will ever take the queued messages */
        return;
    }
    cn->state = CN_IDLE;
    cn->timer_is_auth = auth_failure;
    rx_timer_start(cn->loop, &cn->timer, (uint64_t)ivl);
    cn_emit(cn, ZMQ_EVENT_CONNECT_RETRIED, (uint32_t)ivl);
}

/* The TCP attempt failed before TLS started: libzmq reports CLOSED. */
static void cn_tcp_failed(connecter_t *cn, int err)
{
    cn_log_tcp(cn, "tcp-failed", err);
    rx_io_close(cn->loop, &cn->io);
    rx_timer_stop(cn->loop, &cn->timer);
    if (cn->fd >= 0) {
        cn_emit(cn, ZMQ_EVENT_CLOSED, (uint32_t)cn->fd);
        close(cn->fd);
        cn->fd = -1;
    }
    cn_schedule(cn, CN_RETRY_TRANSIENT);
}

static int cn_established(conn_t *c, void *arg)
{
    connecter_t *cn = arg;
    const ep_cfg_t *cfg = cn->base.cfg;
    ep_peer_id_t pid;
    ep_peer_id(c, cfg, &pid);
    policy_backoff_transient_reset(&cn->transient);
    policy_backoff_auth_reset(&cn->auth);
    if (cfg->immediate)
        return ep_attach_own_bridge(c, cfg, &pid);
    if (cn->bridge == NULL) {
        bridge_cfg_t bc = ep_cfg_bridge(cfg, 1, pid.id, pid.len);
        int rc = bridge_new(&cn->bridge, &bc);
        if (rc < 0)
            return rc;
        /* The pipe keeps this id for every later connection. */
        memcpy(cn->rid, pid.id, pid.len);
        cn->rid_len = pid.len;
    }
    if (cn->bridge_cut) {
        /* The rest of a message whose start went out on a lost connection
         * must not reach the new peer as a message of its own. libzmq hands
         * over multipart messages whole, so the remaining parts are here. */
        int more = 1;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            int rc = bridge_recv(cn->bridge, &m, &more);
            zmq_msg_close(&m);
            if (rc < 0)
                break;
        }
        cn->bridge_cut = 0;
    }
    conn_attach(c, cn->bridge, 0, cn->subs);
    conn_publish_peer(c, cn->rid, cn->rid_len);
    cn->attached = 1;
    if (cn->lingering) {
        /* The socket is closed: deliver what it left, then end. */
        cn->state = CN_DRAINING;
        conn_drain(c, cn->linger_deadline);
    }
    return 0;
}

static void cn_ended(conn_t *c, void *arg, conn_end_t why, uint32_t value)
{
    connecter_t *cn = arg;
    cn->attached = 0;
    if (cn->conn != NULL && !cn->base.cfg->immediate && conn_detach(cn->conn))
        cn->bridge_cut = 1;
    conn_destroy(&cn->conn);
    if (cn->state == CN_DRAINING) {
        cn_free(cn);
        return;
    }
    cn_retry_t kind = why == CONN_END_AUTH       ? CN_RETRY_AUTH
                      : why == CONN_END_PROTOCOL ? CN_RETRY_PROTOCOL
                                                 : CN_RETRY_TRANSIENT;
    if (cn->base.cfg->reconnect_ivl < 0) {
        /* ZMQ_RECONNECT_IVL -1: libzmq's session ends the endpoint once a
         * connection it had ends, terminating the application's pipe, so
         * the socket can connect again instead of keeping a pipe nobody
         * serves. A refusal ends it too: the auth schedule is for sockets
         * that asked to reconnect. */
        cn_log_schedule(cn, kind, -1);
        cn_free(cn);
        return;
    }
    cn_schedule(cn, kind);
}

static void cn_start_conn(connecter_t *cn)
{
    int one = 1;
    setsockopt(cn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    rx_io_close(cn->loop, &cn->io);
    rx_timer_stop(cn->loop, &cn->timer);
    conn_owner_t owner = {.established = cn_established, .ended = cn_ended, .arg = cn};
    int fd = cn->fd;
    cn->fd = -1; /* the conn owns it now, even on failure */
    int rc = conn_new(&cn->conn, cn->base.cfg, cn->base.cfg->tls, fd, 0, &owner);
    if (rc < 0) {
        cn_emit(cn, ZMQ_EVENT_CLOSED, (uint32_t)fd);
        cn_schedule(cn, CN_RETRY_TRANSIENT);
        return;
    }
    cn->state = CN_CONN;
}

/* ---- SOCKS5 ---------------------------------------------------------- */

/* ZMTLS_LOG: a proxy failure is an outcome (info), since libzmq's events
 * (CLOSED, CONNECT_RETRIED) cannot say why. */
static void cn_log_proxy(connecter_t *cn, int err, const char *reason)
{
    if (!log_on(LOG_INFO))
        return;
    char addr[64];
    log_peer_address(cn->fd, addr, sizeof(addr));
    log_line_t l;
    log_begin(&l, cn->base.cfg->uri, "proxy-failed", addr);
    log_add(&l, "errno=%d", err);
    log_add_quoted(&l, "error", strerror(err));
    log_add(&l, "step=%s", socks_state_name(socks_where(&cn->socks)));
    log_add_quoted(&l, "reason", reason);
    log_end(&l);
}

/* The proxy let us down: as tcp:// reports it (CLOSED, then a retry). A
 * proxy refusing our credentials or not speaking SOCKS5 will do the same
 * on a quick retry, so those wait on the raised schedule. */
static void cn_proxy_failed(connecter_t *cn, int err, const char *reason)
{
    cn_log_proxy(cn, err, reason);
    rx_io_close(cn->loop, &cn->io);
    rx_timer_stop(cn->loop, &cn->timer);
    cn_emit(cn, ZMQ_EVENT_CLOSED, (uint32_t)cn->fd);
    close(cn->fd);
    cn->fd = -1;
    OPENSSL_cleanse(&cn->socks, sizeof(cn->socks));
    cn_schedule(cn,
                err == EACCES || err == EPROTO ? CN_RETRY_PROTOCOL : CN_RETRY_TRANSIENT);
}

static void cn_proxy_step(connecter_t *cn)
{
    int rc = socks_io(&cn->socks, cn->fd);
    if (rc < 0) {
        cn_proxy_failed(cn, -rc, socks_reason(&cn->socks));
        return;
    }
    if (rc == 0) {
        OPENSSL_cleanse(&cn->socks, sizeof(cn->socks)); /* the password went by */
        cn_start_conn(cn);
        return;
    }
    unsigned want = rc == SOCKS_WANT_READ ? RX_READ : RX_WRITE;
    rx_io_stop(cn->loop, &cn->io, (RX_READ | RX_WRITE) & ~want);
    rx_io_start(cn->loop, &cn->io, want);
}

/* TCP to the proxy is up: ask it for the tunnel. */
static void cn_proxy_start(connecter_t *cn)
{
    const ep_cfg_t *cfg = cn->base.cfg;
    rx_timer_stop(cn->loop, &cn->timer);
    cn->state = CN_PROXY;
    /* shim_socks_snapshot checked every field, so this cannot fail. */
    if (socks_init(&cn->socks, &cfg->socks_dest, cfg->socks_user, cfg->socks_user_len,
                   cfg->socks_pass, cfg->socks_pass_len) < 0) {
        cn_proxy_failed(cn, EINVAL, "SOCKS5 request cannot be built");
        return;
    }
    rx_timer_start(cn->loop, &cn->timer,
                   cfg->handshake_ivl > 0 ? (uint64_t)cfg->handshake_ivl
                                          : CONN_TLS_DEADLINE_MS);
    cn_proxy_step(cn);
}

/* ---- TCP ----------------------------------------------------------------- */

/* The TCP connect is done: TLS starts, or first the proxy's tunnel. */
static void cn_tcp_connected(connecter_t *cn)
{
    if (cn->base.cfg->has_proxy)
        cn_proxy_start(cn);
    else
        cn_start_conn(cn);
}

static void cn_on_io(rx_io_t *io, unsigned revents)
{
    connecter_t *cn = io->data;
    if (cn->state == CN_PROXY) {
        cn_proxy_step(cn);
        return;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(cn->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err != 0) {
        cn_tcp_failed(cn, err);
        return;
    }
    cn_tcp_connected(cn);
}

static void cn_on_timer(rx_timer_t *t)
{
    connecter_t *cn = t->data;
    if (cn->state == CN_CONNECTING) /* ZMQ_CONNECT_TIMEOUT */
        cn_tcp_failed(cn, ETIMEDOUT);
    else if (cn->state == CN_PROXY) /* ZMQ_HANDSHAKE_IVL */
        cn_proxy_failed(cn, ETIMEDOUT, "proxy: no answer before ZMQ_HANDSHAKE_IVL");
    else if (cn->state == CN_IDLE)
        cn_attempt(cn);
}

/* tls://SRC;HOST:PORT: the local side is bound first, as libzmq does for
 * tcp://, with SO_REUSEADDR so one source port can reach several servers.
 * A failure (address in use, not local) fails the attempt like a refused
 * connect: CLOSED, then the transient schedule. */
static int cn_bind_source(const ep_cfg_t *cfg, int fd)
{
    if (cfg->src_addr_len == 0)
        return 0;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    return bind(fd, (const struct sockaddr *)&cfg->src_addr, cfg->src_addr_len);
}

static void cn_attempt(connecter_t *cn)
{
    const ep_cfg_t *cfg = cn->base.cfg;
    /* Through a proxy only the proxy's name is resolved here; the
     * destination's goes to the proxy as it was written. */
    const endpoint_t *to = cfg->has_proxy ? &cfg->proxy : &cfg->ep;
    char port[8];
    snprintf(port, sizeof(port), "%d", to->port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = to->is_ip_literal ? AF_UNSPEC : (cfg->ipv6 ? AF_UNSPEC : AF_INET);
    /* With a source address, only a destination (or proxy) of its family
     * can be reached from it. */
    if (cfg->src_addr_len > 0)
        hints.ai_family = cfg->src_addr.ss_family;
    hints.ai_flags = to->is_ip_literal ? AI_NUMERICHOST : 0;
    cn_log_tcp(cn, "connecting", 0);
    /* Resolution blocks the I/O thread as it does libzmq's; literals and
     * /etc/hosts names return at once. */
    if (getaddrinfo(to->host, port, &hints, &res) != 0 || res == NULL) {
        if (res != NULL)
            freeaddrinfo(res);
        cn_schedule(cn, CN_RETRY_TRANSIENT);
        return;
    }
    cn->fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (cn->fd < 0) {
        freeaddrinfo(res);
        cn_schedule(cn, CN_RETRY_TRANSIENT);
        return;
    }
    /* An option that cannot be applied (ZMQ_BINDTODEVICE) fails the attempt. */
    int trc = ep_cfg_tune_socket(cfg, cn->fd);
    int rc = trc < 0 ? -1 : cn_bind_source(cfg, cn->fd);
    if (rc == 0)
        rc = connect(cn->fd, res->ai_addr, res->ai_addrlen);
    int err = trc < 0 ? -trc : errno;
    freeaddrinfo(res);
    cn->state = CN_CONNECTING;
    rx_io_init(&cn->io, cn->fd, 0, cn_on_io, cn);
    if (rc == 0) {
        cn_tcp_connected(cn);
        return;
    }
    if (err != EINPROGRESS) {
        cn_tcp_failed(cn, err);
        return;
    }
    cn_emit(cn, ZMQ_EVENT_CONNECT_DELAYED, (uint32_t)err);
    rx_io_start(cn->loop, &cn->io, RX_WRITE);
    if (cfg->connect_timeout > 0)
        rx_timer_start(cn->loop, &cn->timer, (uint64_t)cfg->connect_timeout);
}

/* Whether the application left messages in its pipe. Binding the bridge
 * early is harmless: only a ROUTER needs the peer's identity as routing id,
 * and a ROUTER cannot have queued anything for a peer it never saw. */
static int cn_has_pending(connecter_t *cn)
{
    if (cn->bridge == NULL) {
        bridge_cfg_t bc = ep_cfg_bridge(cn->base.cfg, 1, NULL, 0);
        if (bridge_new(&cn->bridge, &bc) < 0)
            return 0;
    }
    int ev = bridge_events(cn->bridge);
    return ev > 0 && (ev & ZMQ_POLLIN);
}

static void cn_on_linger_timeout(rx_timer_t *t)
{
    cn_free(t->data);
}

static void cn_close(ep_t *ep, int linger)
{
    connecter_t *cn = (connecter_t *)ep;
    if (ep->closing)
        return;
    ep->closing = 1;
    if (linger == EP_CLOSE_NOW || linger == 0) {
        cn_free(cn);
        return;
    }
    cn->linger_deadline = linger > 0 ? rx_now(cn->loop) + (uint64_t)linger : 0;
    if (cn->attached) {
        cn->state = CN_DRAINING;
        rx_timer_stop(cn->loop, &cn->timer);
        conn_drain(cn->conn, cn->linger_deadline);
        /* cn_ended frees us when the drain ends (possibly already done). */
        return;
    }
    /* Never connected (or between connections): like libzmq, keep trying
     * for the linger time if messages wait, and deliver them to a peer once
     * it has authenticated. */
    if (cn->base.cfg->immediate || cn->state == CN_STOPPED || !cn_has_pending(cn)) {
        cn_free(cn);
        return;
    }
    cn->lingering = 1;
    if (linger > 0)
        rx_timer_start(cn->loop, &cn->linger_timer, (uint64_t)linger);
}

static void cn_set_tls(ep_t *ep, SSL_CTX *tls)
{
    connecter_t *cn = (connecter_t *)ep;
    SSL_CTX_free(ep->cfg->tls);
    ep->cfg->tls = tls;
    policy_backoff_auth_reset(&cn->auth);
    /* A fixed certificate is worth trying now, not after the long wait. */
    if ((cn->state == CN_IDLE && cn->timer_is_auth) ||
        (cn->state == CN_STOPPED && !ep->closing && cn->base.cfg->reconnect_ivl >= 0)) {
        rx_timer_stop(cn->loop, &cn->timer);
        cn_attempt(cn);
    }
}

/* The bridge keeps its id between connections, when the peers table no
 * longer lists it. */
static int cn_holds_id(const ep_t *ep, const uint8_t *id, size_t len)
{
    const connecter_t *cn = (const connecter_t *)ep;
    return cn->bridge != NULL && cn->rid_len == len && memcmp(cn->rid, id, len) == 0;
}

static const ep_ops_t cn_ops = {
    .close = cn_close, .set_tls = cn_set_tls, .holds_id = cn_holds_id};

int ep_connecter_start(ep_cfg_t *cfg, ep_t **out)
{
    connecter_t *cn = calloc(1, sizeof(*cn));
    if (cn == NULL) {
        ep_cfg_destroy(&cfg);
        return -ENOMEM;
    }
    cn->base.ops = &cn_ops;
    cn->base.cfg = cfg;
    cn->loop = io_loop();
    cn->bridge = cfg->bridge;
    cfg->bridge = NULL;
    cn->fd = -1;
    rx_io_init(&cn->io, -1, 0, cn_on_io, cn);
    rx_timer_init(&cn->timer, cn_on_timer, cn);
    rx_timer_init(&cn->linger_timer, cn_on_linger_timeout, cn);
    policy_backoff_transient_init(&cn->transient, cfg->reconnect_ivl,
                                  cfg->reconnect_ivl_max);
    policy_backoff_auth_init(&cn->auth, cfg->auth_ivl, cfg->auth_ivl_max, cfg->auth_stop);
    if (bridge_carries_subscriptions(cfg->app_type) && !cfg->immediate &&
        bridge_subs_new(&cn->subs) < 0) {
        free(cn);
        ep_cfg_destroy(&cfg);
        return -ENOMEM;
    }
    *out = &cn->base;
    cn_attempt(cn);
    return 0;
}

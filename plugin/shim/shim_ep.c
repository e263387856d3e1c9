/*
 * tls:// endpoints of the interposed zmq_connect, zmq_bind, zmq_disconnect
 * and zmq_unbind: the options snapshot, the private inproc:// rendezvous,
 * the listening socket, and the hand-over to the I/O thread (ep/ep.h).
 *
 * Threading: as shim.c.
 */
#include "endpoint/endpoint.h"
#include "ep/ep.h"
#include "io/io.h"
#include "real/real.h"
#include "shim/lasterror.h"
#include "shim/options.h"
#include "shim/registry.h"
#include "zap/zap.h"
#include "shim/zmq_opts.h"
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "shim/shim_int.h"

static int shim_type_supported(int type)
{
    switch (type) {
    case ZMQ_PAIR:
    case ZMQ_PUB:
    case ZMQ_SUB:
    case ZMQ_REQ:
    case ZMQ_REP:
    case ZMQ_DEALER:
    case ZMQ_ROUTER:
    case ZMQ_PULL:
    case ZMQ_PUSH:
    case ZMQ_XPUB:
    case ZMQ_XSUB:
        return 1;
    default:
        return 0;
    }
}

/* The socket's TLS context for this side and a copy of its source, built
 * once per credentials and again when its files changed since. New files
 * that cannot be used leave the context as it was, as for the socket's
 * endpoints (ep_reload_report). */
static int shim_tls(shim_sock_t *e, int is_server, SSL_CTX **out, tls_src_t **src)
{
    SSL_CTX **slot = is_server ? &e->server_tls : &e->client_tls;
    tls_src_t **src_slot = is_server ? &e->server_src : &e->client_src;
    unsigned *gen = is_server ? &e->server_gen : &e->client_gen;
    unsigned now = atomic_load(&shim_reload_gen);
    char err[512];
    /* zmtls_reload() since the last check: rebuild whatever the files'
     * identities say, as the endpoints were. */
    int forced = *gen != now;
    *gen = now;
    if (*slot != NULL && (forced || tls_src_changed(*src_slot))) {
        char files[512];
        SSL_CTX *fresh = NULL;
        io_fork_guard_enter();
        int rc = tls_src_build(*src_slot, &fresh, files, sizeof(files), err, sizeof(err));
        if (rc == 0) {
            SSL_CTX_free(*slot);
            *slot = fresh;
        }
        io_fork_guard_leave();
        if (rc < 0)
            ep_reload_report(files, err);
    }
    if (*slot == NULL) {
        int rc = shim_opts_tls_ctx(&e->opts, is_server, slot, src_slot, err, sizeof(err));
        if (rc < 0)
            return shim_fail(-rc, "zmtls: %s", err);
    }
    *src = tls_src_clone(*src_slot);
    if (*src == NULL || SSL_CTX_up_ref(*slot) != 1) {
        tls_src_destroy(src);
        return shim_fail(ENOMEM, "zmtls: out of memory");
    }
    *out = *slot;
    return 0;
}

/* ZMTLS_RELOAD_IVL: how often every endpoint's credential files are
 * checked, read at each tls:// connect and bind. */
static void shim_reload_ivl(void)
{
    const char *v = getenv("ZMTLS_RELOAD_IVL");
    if (v == NULL || *v == '\0')
        return;
    char *end;
    long ms = strtol(v, &end, 10);
    if (*end == '\0' && ms >= 0 && ms <= INT_MAX)
        ep_reload_ivl_set((int)ms);
}

static int shim_getint(void *s, int opt, int dflt)
{
    int v = dflt;
    size_t len = sizeof(v);
    real()->getsockopt(s, opt, &v, &len);
    return v;
}

/* The libzmq options a tls:// endpoint honours, read when it is created as
 * libzmq reads them for its own endpoints. */
static void shim_snapshot(shim_sock_t *e, ep_cfg_t *cfg)
{
    void *s = e->handle;
    cfg->reconnect_ivl = shim_getint(s, ZMQ_RECONNECT_IVL, 100);
    cfg->reconnect_ivl_max = shim_getint(s, ZMQ_RECONNECT_IVL_MAX, 0);
    cfg->handshake_ivl = shim_getint(s, ZMQ_HANDSHAKE_IVL, 30000);
    cfg->connect_timeout = shim_getint(s, ZMQ_CONNECT_TIMEOUT, 0);
    cfg->linger = shim_getint(s, ZMQ_LINGER, -1);
    cfg->backlog = shim_getint(s, ZMQ_BACKLOG, 100);
    cfg->ipv6 = shim_getint(s, ZMQ_IPV6, 0);
    cfg->immediate = shim_getint(s, ZMQ_IMMEDIATE, 0);
    cfg->conflate = shim_getint(s, ZMQ_CONFLATE, 0);
    cfg->heartbeat_ivl = shim_getint(s, ZMQ_HEARTBEAT_IVL, 0);
    cfg->heartbeat_ttl = shim_getint(s, ZMQ_HEARTBEAT_TTL, 0);
    cfg->heartbeat_timeout = shim_getint(s, ZMQ_HEARTBEAT_TIMEOUT, -1);
    int64_t maxmsg = -1;
    size_t len = sizeof(maxmsg);
    real()->getsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, &len);
    cfg->maxmsgsize = maxmsg;
    shim_registry_ctx_thread_get(e->ctx, &cfg->thread);
    cfg->sndbuf = shim_getint(s, ZMQ_SNDBUF, -1);
    cfg->rcvbuf = shim_getint(s, ZMQ_RCVBUF, -1);
    cfg->tcp_keepalive = shim_getint(s, ZMQ_TCP_KEEPALIVE, -1);
    cfg->tcp_keepalive_cnt = shim_getint(s, ZMQ_TCP_KEEPALIVE_CNT, -1);
    cfg->tcp_keepalive_idle = shim_getint(s, ZMQ_TCP_KEEPALIVE_IDLE, -1);
    cfg->tcp_keepalive_intvl = shim_getint(s, ZMQ_TCP_KEEPALIVE_INTVL, -1);
    cfg->tcp_maxrt = shim_getint(s, ZMQ_TCP_MAXRT, 0);
    cfg->tos = shim_getint(s, ZMQ_TOS, 0);
    len = sizeof(cfg->bound_device);
    if (real()->getsockopt(s, ZMQ_BINDTODEVICE, cfg->bound_device, &len) != 0)
        cfg->bound_device[0] = '\0';
    cfg->bound_device[sizeof(cfg->bound_device) - 1] = '\0';
    cfg->use_fd = shim_getint(s, ZMQ_USE_FD, -1);
    len = sizeof(cfg->routing_id);
    if (real()->getsockopt(s, ZMQ_ROUTING_ID, cfg->routing_id, &len) == 0)
        cfg->routing_id_len = len;
    cfg->auth_ivl = e->opts.auth_ivl;
    cfg->auth_ivl_max = e->opts.auth_ivl_max;
    cfg->auth_stop = e->opts.auth_stop;
    cfg->resume = e->opts.resume;
    cfg->zap_cert = e->opts.zap_cert;
    cfg->multipart_max_parts = e->opts.multipart_max_parts;
    cfg->multipart_max_bytes = e->opts.multipart_max_bytes;
    cfg->handshakes_max = e->opts.handshakes_max;
    cfg->handshakes_per_addr = e->opts.handshakes_per_addr;
    cfg->offender_failures = e->opts.offender_failures;
    cfg->offender_window = e->opts.offender_window;
    cfg->offender_ban = e->opts.offender_ban;
}

/* Common start of a tls:// connect or bind: checks, credentials and the
 * configuration the I/O thread will own. */
static ep_cfg_t *shim_ep_begin(void *s, const char *addr, int is_bind, shim_sock_t **ep)
{
    shim_clear_error();
    shim_sock_t *e = shim_registry_get(s);
    if (e == NULL) {
        shim_fail(ENOTSOCK, "zmtls: not a socket zmtls knows");
        return NULL;
    }
    ep_cfg_t *cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL) {
        shim_fail(ENOMEM, "zmtls: out of memory");
        return NULL;
    }
    if (endpoint_parse(addr, is_bind, &cfg->ep) < 0) {
        free(cfg);
        if (strchr(addr, ';') == NULL)
            shim_fail(EINVAL, "zmtls: malformed endpoint \"%s\"", addr);
        else if (is_bind)
            shim_fail(EINVAL,
                      "zmtls: malformed endpoint \"%s\": a bind has no source "
                      "address (SRC;HOST:PORT is for zmq_connect)",
                      addr);
        else
            shim_fail(EINVAL,
                      "zmtls: malformed endpoint \"%s\": expected "
                      "tls://SRC_HOST:SRC_PORT;HOST:PORT with SRC_HOST an IP literal "
                      "or an interface name and SRC_PORT a number, 0 or *",
                      addr);
        return NULL;
    }
    if (!shim_type_supported(e->type)) {
        free(cfg);
        shim_fail(ENOCOMPATPROTO, "zmtls: tls:// does not support this socket type");
        return NULL;
    }
    if (shim_zmq_opts_check(e, s, is_bind) < 0) {
        free(cfg);
        return NULL;
    }
    /* A ZAP domain on a bind: each peer is put to the context's ZAP
     * handler once its certificate verified (conn/conn_zap.c). */
    size_t zap_len = sizeof(cfg->zap_domain);
    if (real()->getsockopt(s, ZMQ_ZAP_DOMAIN, cfg->zap_domain, &zap_len) != 0)
        cfg->zap_domain[0] = '\0';
    /* libzmq's NULL mechanism would also put the server to the connecting
     * socket's handler; tls:// asks ZAP on the bind side only, and an
     * option that restricts who we talk to is refused, never ignored. */
    if (!is_bind && cfg->zap_domain[0] != '\0') {
        free(cfg);
        shim_fail(EINVAL,
                  "zmtls: ZMQ_ZAP_DOMAIN on a connecting tls:// socket is not supported "
                  "(ZAP is asked on the bind side; restrict servers with ZMTLS_ALLOW)");
        return NULL;
    }
    cfg->zap_enforce = is_bind && shim_getint(s, ZMQ_ZAP_ENFORCE_DOMAIN, 0) != 0;
    cfg->zap_handler_present = shim_registry_ctx_zap_present;
    shim_reload_ivl();
    if (shim_tls(e, is_bind, &cfg->tls, &cfg->src) < 0) {
        free(cfg);
        return NULL;
    }
    cfg->sock_id = e->id;
    cfg->ep_id = shim_registry_next_id();
    cfg->ctx = e->ctx;
    cfg->app_type = e->type;
    cfg->is_bind = is_bind;
    snprintf(cfg->uri, sizeof(cfg->uri), "%s", addr);
    snprintf(cfg->inproc, sizeof(cfg->inproc), SHIM_PRIVATE_PREFIX "%u-%u",
             (unsigned)getpid(), (unsigned)cfg->ep_id);
    shim_snapshot(e, cfg);
    *ep = e;
    return cfg;
}

/* Leaves the private inproc endpoint the application socket joined. */
static void shim_inproc_end(void *s, const char *inproc, int app_bound)
{
    if (app_bound)
        real()->unbind(s, inproc);
    else
        real()->disconnect(s, inproc);
}

static int64_t shim_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How long a connect waits, at most, for the answer of a bridge that
 * closed when its endpoint ended (see shim_settle_end). The answer comes
 * from libzmq's reaper thread, in microseconds; the bound only matters when
 * none is coming (unread messages hold the pipe). */
#define SHIM_SETTLE_MS 100

/* The application's side of an endpoint that ended by itself (a connect
 * with ZMQ_RECONNECT_IVL -1 whose connection ended): the I/O thread closed
 * its bridge, and libzmq lets the socket's pipe go only once the socket has
 * read the pipe's end marker and then heard back from the closed bridge,
 * both in calls into the socket on this thread. They are made here, before
 * a new connect, so that a PAIR (one pipe at a time, a second refused) is
 * free for it, as after libzmq's own end of a tcp:// endpoint. Messages
 * from the lost peer that were not read stay readable, and keep the pipe
 * until they are. */
static void shim_settle_end(void *s, const shim_ep_t *x)
{
    const zmtls_real_t *r = real();
    int ev = 0, fd = -1;
    size_t len = sizeof(ev);
    r->getsockopt(s, ZMQ_EVENTS, &ev, &len); /* commands, then the end marker */
    if (x->app_bound) {
        r->unbind(s, x->inproc);
        return;
    }
    /* ENOENT: the pipe is gone already. Otherwise it is no longer listed
     * and goes with the bridge's answer. */
    if (r->disconnect(s, x->inproc) != 0)
        return;
    len = sizeof(fd);
    if (r->getsockopt(s, ZMQ_FD, &fd, &len) != 0)
        return;
    /* Both ends may have asked to end at once: then two commands. */
    int64_t deadline = shim_now_ms() + SHIM_SETTLE_MS;
    for (int round = 0; round < 2; round++) {
        int64_t left = deadline - shim_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return;
        len = sizeof(ev);
        r->getsockopt(s, ZMQ_EVENTS, &ev, &len);
    }
}

/* Forgets the socket's connect endpoints that ended by itself, settling
 * each (shim_settle_end). One call to the I/O thread. */
static void shim_reap_ended(void *s, shim_sock_t *e)
{
    size_t n = 0;
    for (const shim_ep_t *x = e->eps; x != NULL; x = x->next)
        n += !x->is_bind;
    if (n == 0)
        return;
    uint32_t *ids = calloc(n, sizeof(*ids));
    unsigned char *ended = calloc(n, 1);
    if (ids == NULL || ended == NULL) {
        free(ids);
        free(ended);
        return; /* kept for the next connect */
    }
    size_t i = 0;
    for (const shim_ep_t *x = e->eps; x != NULL; x = x->next)
        if (!x->is_bind)
            ids[i++] = x->ep_id;
    ep_ended(ids, n, ended);
    i = 0;
    for (shim_ep_t **pp = &e->eps; *pp != NULL;) {
        shim_ep_t *x = *pp;
        if (x->is_bind || !ended[i++]) {
            pp = &x->next;
            continue;
        }
        *pp = x->next;
        shim_settle_end(s, x);
        free(x);
    }
    free(ids);
    free(ended);
}

static int shim_ep_commit(shim_sock_t *e, const ep_cfg_t *cfg, const char *addr,
                          int app_bound)
{
    shim_ep_t *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return -1;
    x->ep_id = cfg->ep_id;
    x->is_bind = cfg->is_bind;
    x->app_bound = app_bound;
    snprintf(x->uri, sizeof(x->uri), "%s", addr);
    snprintf(x->resolved, sizeof(x->resolved), "%s", cfg->uri);
    snprintf(x->inproc, sizeof(x->inproc), "%s", cfg->inproc);
    x->next = e->eps;
    e->eps = x;
    e->last_is_tls = 1;
    snprintf(e->last_endpoint, sizeof(e->last_endpoint), "%s", cfg->uri);
    return 0;
}

static int shim_tls_connect(void *s, const char *addr)
{
    shim_sock_t *e;
    ep_cfg_t *cfg = shim_ep_begin(s, addr, 0, &e);
    if (cfg == NULL)
        return -1;
    if (cfg->ep.has_src && shim_source_addr(cfg) < 0) {
        int err = errno;
        ep_cfg_destroy(&cfg);
        errno = err;
        return -1;
    }
    shim_reap_ended(s, e);
    /* The server is who HOST names, whatever the source: the certificate is
     * checked against HOST (or ZMTLS_SERVER_NAME), never SRC_HOST. */
    const char *name = e->opts.server_name ? e->opts.server_name : cfg->ep.host;
    snprintf(cfg->verify_name, sizeof(cfg->verify_name), "%s", name);
    /* Through a proxy the certificate is still checked against this name,
     * the destination's, never the proxy's. */
    if (shim_socks_snapshot(s, cfg) < 0) {
        ep_cfg_destroy(&cfg);
        return -1;
    }
    /* Without ZMQ_IMMEDIATE the application's pipe exists from now on, as
     * with tcp://, and holds what it sends until a peer has authenticated.
     * With it, the application binds and each authenticated connection
     * brings its own pipe, so nothing queues while no peer is up. */
    int app_bound = cfg->immediate;
    if (cfg->conflate && !app_bound) {
        /* libzmq drops the newest message of a conflating pipe whose inproc
         * connect was pending (it discards the routing id it wrote first,
         * which conflation already overwrote), so bind the bridge now. */
        bridge_cfg_t bc = ep_cfg_bridge(cfg, 1, NULL, 0);
        int brc = bridge_new(&cfg->bridge, &bc);
        if (brc < 0) {
            ep_cfg_destroy(&cfg);
            return shim_fail(-brc, "zmtls: cannot set up the connection: %s",
                             zmq_strerror(-brc));
        }
    }
    int rc = app_bound ? real()->bind(s, cfg->inproc) : real()->connect(s, cfg->inproc);
    if (rc != 0) {
        int err = errno;
        ep_cfg_destroy(&cfg);
        return shim_fail(err, "zmtls: cannot set up the connection: %s",
                         zmq_strerror(err));
    }
    char inproc[EPCFG_INPROC_MAX];
    snprintf(inproc, sizeof(inproc), "%s", cfg->inproc);
    if (shim_ep_commit(e, cfg, addr, app_bound) < 0) {
        shim_inproc_end(s, inproc, app_bound);
        ep_cfg_destroy(&cfg);
        return shim_fail(ENOMEM, "zmtls: out of memory");
    }
    rc = ep_connect(cfg);
    if (rc < 0) {
        shim_inproc_end(s, inproc, app_bound);
        return shim_fail(-rc, "zmtls: cannot start the I/O thread");
    }
    return 0;
}

static int shim_tls_bind(void *s, const char *addr)
{
    shim_sock_t *e;
    ep_cfg_t *cfg = shim_ep_begin(s, addr, 1, &e);
    if (cfg == NULL)
        return -1;
    /* A bound socket's pipes are made by each connection's bridge, and
     * libzmq conflates an inproc pipe by the connecting socket's options:
     * a SUB's bridge is an XPUB, which libzmq never conflates. */
    if (cfg->conflate && e->type == ZMQ_SUB) {
        ep_cfg_destroy(&cfg);
        return shim_fail(EINVAL, "zmtls: ZMQ_CONFLATE on a SUB that binds tls:// is not "
                                 "supported (connect the SUB instead)");
    }
    /* The accept filter in force is the one set before the bind, as
     * libzmq's listener copies the socket's options. */
    int arc =
        e->accept_err ? -e->accept_err : policy_accept_copy(&cfg->accept, &e->accept);
    if (arc < 0) {
        ep_cfg_destroy(&cfg);
        return shim_fail(-arc,
                         "zmtls: ZMQ_TCP_ACCEPT_FILTER could not be applied to tls:// "
                         "(%s); clear it and set it again",
                         strerror(-arc));
    }
    int fd = shim_listen(cfg);
    if (fd < 0) {
        int err = errno;
        ep_cfg_destroy(&cfg);
        errno = err;
        return -1;
    }
    if (real()->bind(s, cfg->inproc) != 0) {
        int err = errno;
        close(fd);
        ep_cfg_destroy(&cfg);
        return shim_fail(err, "zmtls: cannot set up the listener: %s", zmq_strerror(err));
    }
    char inproc[EPCFG_INPROC_MAX];
    snprintf(inproc, sizeof(inproc), "%s", cfg->inproc);
    if (shim_ep_commit(e, cfg, addr, 1) < 0) {
        real()->unbind(s, inproc);
        close(fd);
        ep_cfg_destroy(&cfg);
        return shim_fail(ENOMEM, "zmtls: out of memory");
    }
    int rc = ep_bind(cfg, fd);
    if (rc < 0) {
        real()->unbind(s, inproc);
        return shim_fail(-rc, "zmtls: cannot start the I/O thread");
    }
    return 0;
}

SHIM_EXPORT int zmq_connect(void *s, const char *addr)
{
    REAL_OR_FAIL(r, -1);
    if (addr != NULL && endpoint_is_tls(addr))
        return shim_tls_connect(s, addr);
    int rc = r->connect(s, addr);
    if (rc == 0) {
        shim_sock_t *e = shim_registry_get(s);
        if (e != NULL)
            e->last_is_tls = 0;
    }
    return rc;
}

SHIM_EXPORT int zmq_bind(void *s, const char *addr)
{
    REAL_OR_FAIL(r, -1);
    if (addr != NULL && endpoint_is_tls(addr))
        return shim_tls_bind(s, addr);
    int rc = r->bind(s, addr);
    if (rc == 0) {
        shim_sock_t *e = shim_registry_get(s);
        int zap = addr != NULL && strcmp(addr, ZAP_ENDPOINT) == 0;
        if (e != NULL) {
            e->last_is_tls = 0;
            if (zap)
                shim_registry_ctx_zap_bound(e->ctx, s);
        } else if (zap) {
            shim_registry_zap_bound_untracked();
        }
    }
    return rc;
}

/* The address `addr` names, as libzmq resolves the argument of
 * zmq_disconnect / zmq_unbind when it matches no endpoint as written: the
 * host looked up as a remote address (an IP literal, or a DNS name), so
 * "*", an interface name and an ephemeral port name nothing. Writes
 * "tls://HOST:PORT" to out; 0 or -1. */
static int shim_resolve_end(void *s, const char *addr, char *out, size_t cap)
{
    endpoint_t ep;
    if (endpoint_parse(addr, 0, &ep) < 0)
        return -1;
    char port[8];
    snprintf(port, sizeof(port), "%d", ep.port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    hints.ai_family = ep.is_ipv6_literal            ? AF_INET6
                      : shim_getint(s, ZMQ_IPV6, 0) ? AF_UNSPEC
                                                    : AF_INET;
    if (getaddrinfo(ep.host, port, &hints, &res) != 0 || res == NULL)
        return -1;
    char where[INET6_ADDRSTRLEN + 16];
    int n = endpoint_format_sockaddr(res->ai_addr, where, sizeof(where));
    freeaddrinfo(res);
    if (n <= 0)
        return -1;
    snprintf(out, cap, "tls://%s", where);
    return 0;
}

/* The link to the endpoint known as `key` (a connect: as it was given; a
 * bind: as resolved, ZMQ_LAST_ENDPOINT), or NULL. */
static shim_ep_t **shim_find_end(shim_sock_t *e, const char *key, int is_bind)
{
    for (shim_ep_t **pp = &e->eps; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->is_bind == is_bind &&
            strcmp(is_bind ? (*pp)->resolved : (*pp)->uri, key) == 0)
            return pp;
    return NULL;
}

/* zmq_disconnect / zmq_unbind of a tls:// endpoint, found as libzmq finds
 * a tcp:// one: addr as written, then addr resolved. A wildcard bind (a
 * host or port of "*") is therefore ended only by its resolved form. */
static int shim_tls_end(void *s, const char *addr, int is_bind)
{
    shim_clear_error();
    shim_sock_t *e = shim_registry_get(s);
    if (e == NULL)
        return shim_fail(ENOTSOCK, "zmtls: not a socket zmtls knows");
    char resolved[ENDPOINT_URI_MAX];
    shim_ep_t **pp = shim_find_end(e, addr, is_bind);
    if (pp == NULL && shim_resolve_end(s, addr, resolved, sizeof(resolved)) == 0)
        pp = shim_find_end(e, resolved, is_bind);
    if (pp == NULL)
        return shim_fail(
            ENOENT, "zmtls: no endpoint %s on this socket%s", addr,
            is_bind ? " (a wildcard bind is unbound by its ZMQ_LAST_ENDPOINT)" : "");
    shim_ep_t *x = *pp;
    *pp = x->next;
    int rc = ep_close_endpoint(x->ep_id);
    if (rc < 0) /* a connect that ended by itself (ZMQ_RECONNECT_IVL -1) */
        shim_settle_end(s, x);
    else
        shim_inproc_end(s, x->inproc, x->app_bound);
    free(x);
    if (rc < 0)
        return shim_fail(ENOENT, "zmtls: %s has already ended (ZMQ_RECONNECT_IVL -1)",
                         addr);
    return 0;
}

SHIM_EXPORT int zmq_disconnect(void *s, const char *addr)
{
    REAL_OR_FAIL(r, -1);
    if (addr != NULL && endpoint_is_tls(addr))
        return shim_tls_end(s, addr, 0);
    return r->disconnect(s, addr);
}

SHIM_EXPORT int zmq_unbind(void *s, const char *addr)
{
    REAL_OR_FAIL(r, -1);
    if (addr != NULL && endpoint_is_tls(addr))
        return shim_tls_end(s, addr, 1);
    int rc = r->unbind(s, addr);
    if (rc == 0 && addr != NULL && strcmp(addr, ZAP_ENDPOINT) == 0) {
        shim_sock_t *e = shim_registry_get(s);
        if (e != NULL)
            shim_registry_ctx_zap_gone(e->ctx, s);
    }
    return rc;
}

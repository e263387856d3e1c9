/*
 * The interposed zmq_* entry points.
 *
 * Anything that is not a tls:// endpoint or a zmtls option goes straight to
 * libzmq. A tls:// zmq_connect / zmq_bind joins the application socket to a
 * private inproc:// endpoint of its own context and hands the network side
 * to the I/O thread (ep/ep.h). Monitoring is taken over for every socket,
 * since a socket may gain a tls:// endpoint after its monitor started.
 *
 * Threading: each function runs on the caller's thread with libzmq's rules
 * for the socket it is given; none holds a lock while calling libzmq (which
 * calls back into some of these for its own monitor sockets).
 */
#include "endpoint/endpoint.h"
#include "ep/ep.h"
#include "io/io.h"
#include "real/real.h"
#include "shim/lasterror.h"
#include "shim/options.h"
#include "shim/registry.h"
#include "shim/zmq_opts.h"
#include "zmtls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "shim/shim_int.h"

/* ---- contexts ---------------------------------------------------------- */

static void *shim_ctx_prepare(void *ctx)
{
    if (ctx != NULL) {
        shim_registry_ctx_add(ctx);
        real()->ctx_set(ctx, ZMQ_MAX_SOCKETS,
                        REGISTRY_DEFAULT_MAX_SOCKETS + SHIM_BRIDGE_RESERVE);
    }
    return ctx;
}

SHIM_EXPORT int zmq_ctx_set(void *ctx, int option, int value)
{
    REAL_OR_FAIL(r, -1);
    if (io_thread_opts_is_option(option)) {
        /* libzmq validates; zmtls's I/O thread follows what it accepted. */
        int rc = r->ctx_set(ctx, option, value);
        if (rc == 0)
            shim_registry_ctx_thread_set(ctx, option, value);
        return rc;
    }
    if (option != ZMQ_MAX_SOCKETS)
        return r->ctx_set(ctx, option, value);
    int rc = shim_registry_ctx_set_max(ctx, value);
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    int room =
        value > INT_MAX - SHIM_BRIDGE_RESERVE ? INT_MAX : value + SHIM_BRIDGE_RESERVE;
    return r->ctx_set(ctx, option, room);
}

SHIM_EXPORT int zmq_ctx_get(void *ctx, int option)
{
    REAL_OR_FAIL(r, -1);
    if (option == ZMQ_MAX_SOCKETS && r->ctx_get(ctx, option) >= 0)
        return shim_registry_ctx_get_max(ctx);
    return r->ctx_get(ctx, option);
}

SHIM_EXPORT void *zmq_ctx_new(void)
{
    REAL_OR_FAIL(r, NULL);
    return shim_ctx_prepare(r->ctx_new());
}

SHIM_EXPORT void *zmq_init(int io_threads)
{
    REAL_OR_FAIL(r, NULL);
    return shim_ctx_prepare(r->init(io_threads));
}

/* libzmq's termination waits for every socket of the context, ours
 * included: close them first. */
SHIM_EXPORT int zmq_ctx_term(void *ctx)
{
    REAL_OR_FAIL(r, -1);
    ep_ctx_term(ctx);
    shim_registry_ctx_remove(ctx);
    return r->ctx_term(ctx);
}

SHIM_EXPORT int zmq_term(void *ctx)
{
    REAL_OR_FAIL(r, -1);
    ep_ctx_term(ctx);
    shim_registry_ctx_remove(ctx);
    return r->term(ctx);
}

SHIM_EXPORT int zmq_ctx_destroy(void *ctx)
{
    REAL_OR_FAIL(r, -1);
    ep_ctx_term(ctx);
    shim_registry_ctx_remove(ctx);
    return r->ctx_destroy(ctx);
}

SHIM_EXPORT int zmq_ctx_shutdown(void *ctx)
{
    REAL_OR_FAIL(r, -1);
    /* Bridges see ETERM like every other socket and their connections end. */
    return r->ctx_shutdown(ctx);
}

/* ---- sockets ----------------------------------------------------------- */

SHIM_EXPORT void *zmq_socket(void *ctx, int type)
{
    REAL_OR_FAIL(r, NULL);
    int rc = shim_registry_ctx_socket_open(ctx);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    void *s = r->socket(ctx, type);
    if (s == NULL) {
        int err = errno;
        shim_registry_ctx_socket_closed(ctx);
        errno = err;
        return NULL;
    }
    if (shim_registry_add(s, ctx, type) == NULL) {
        /* Untracked: works without tls:// and never counts as closed. */
        shim_registry_ctx_socket_closed(ctx);
    }
    return s;
}

SHIM_EXPORT int zmq_close(void *s)
{
    REAL_OR_FAIL(r, -1);
    shim_sock_t *e = shim_registry_take(s);
    if (e != NULL)
        shim_registry_ctx_zap_gone(e->ctx, s);
    if (e != NULL && e->eps != NULL) {
        int linger = -1;
        size_t len = sizeof(linger);
        r->getsockopt(s, ZMQ_LINGER, &linger, &len);
        ep_socket_closed(e->id, linger);
    }
    int rc = r->close(s);
    int err = errno;
    if (e != NULL && rc == 0)
        shim_registry_ctx_socket_closed(e->ctx);
    shim_registry_free(e);
    errno = err;
    return rc;
}

/* ---- options ----------------------------------------------------------- */

/* Forgets the socket's TLS contexts; endpoints keep the references they
 * hold. */
static void shim_contexts_drop(shim_sock_t *e)
{
    io_fork_guard_enter();
    SSL_CTX_free(e->client_tls);
    SSL_CTX_free(e->server_tls);
    tls_src_destroy(&e->client_src);
    tls_src_destroy(&e->server_src);
    io_fork_guard_leave();
    e->client_tls = e->server_tls = NULL;
}

/* New credentials on a socket with endpoints: rebuild its contexts and give
 * them to the I/O thread, which resets the auth backoff and retries at once.
 * Credentials are often set one option at a time; a combination that does
 * not build yet is not an error here (the next connect/bind reports it). */
static void shim_creds_changed(shim_sock_t *e)
{
    shim_contexts_drop(e);
    if (e->eps == NULL)
        return;
    int has_connect = 0, has_bind = 0;
    for (shim_ep_t *x = e->eps; x != NULL; x = x->next) {
        has_bind |= x->is_bind;
        has_connect |= !x->is_bind;
    }
    SSL_CTX *c = NULL, *b = NULL;
    tls_src_t *cs = NULL, *bs = NULL;
    char err[512];
    if (has_connect &&
        shim_opts_tls_ctx(&e->opts, 0, &e->client_tls, &e->client_src, err,
                          sizeof(err)) == 0 &&
        SSL_CTX_up_ref(e->client_tls) == 1) {
        c = e->client_tls;
        cs = tls_src_clone(e->client_src);
    }
    if (has_bind &&
        shim_opts_tls_ctx(&e->opts, 1, &e->server_tls, &e->server_src, err,
                          sizeof(err)) == 0 &&
        SSL_CTX_up_ref(e->server_tls) == 1) {
        b = e->server_tls;
        bs = tls_src_clone(e->server_src);
    }
    if (c != NULL || b != NULL)
        ep_set_tls(e->id, c, b, cs, bs);
}

/* ZMQ_TCP_ACCEPT_FILTER: libzmq keeps the list for tcp:// and is the judge
 * of a value; what it took is copied for tls:// binds, read with the same
 * ZMQ_IPV6 it was (policy/accept_filter.h). A copy that fails leaves the
 * socket unable to bind tls:// (shim_ep.c) rather than open to everyone. */
static int shim_accept_filter(const zmtls_real_t *r, void *s, const void *val, size_t len)
{
    int rc = r->setsockopt(s, ZMQ_TCP_ACCEPT_FILTER, val, len);
    shim_sock_t *e = rc == 0 ? shim_registry_get(s) : NULL;
    if (e == NULL)
        return rc;
    if (val == NULL && len == 0) {
        policy_accept_clear(&e->accept);
        e->accept_err = 0;
        return 0;
    }
    int ipv6 = 0;
    size_t ilen = sizeof(ipv6);
    r->getsockopt(s, ZMQ_IPV6, &ipv6, &ilen);
    policy_accept_entry_t entry;
    int prc = policy_accept_parse(val, len, ipv6, &entry);
    if (prc == 0)
        prc = policy_accept_add(&e->accept, &entry);
    if (prc < 0) {
        e->accept_err = -prc;
        return shim_fail(-prc,
                         "zmtls: ZMQ_TCP_ACCEPT_FILTER entry not kept for tls://: %s",
                         strerror(-prc));
    }
    return 0;
}

SHIM_EXPORT int zmq_setsockopt(void *s, int option, const void *val, size_t len)
{
    REAL_OR_FAIL(r, -1);
    if (option == ZMQ_TCP_ACCEPT_FILTER)
        return shim_accept_filter(r, s, val, len);
    if (!shim_opts_owns(option)) {
        int rc = r->setsockopt(s, option, val, len);
        if (rc == 0)
            shim_zmq_opts_note(s, option, val, len);
        return rc;
    }
    shim_clear_error();
    shim_sock_t *e = shim_registry_get(s);
    if (e == NULL)
        return shim_fail(ENOTSOCK, "zmtls: not a socket zmtls knows");
    if (option == ZMTLS_ALLOW) {
        char why[256];
        int arc = shim_opts_allow_check(val, len, why, sizeof(why));
        if (arc < 0)
            return shim_fail(-arc, "zmtls: %s", arc == -EINVAL ? why : "out of memory");
    }
    int rc = shim_opts_set(&e->opts, option, val, len);
    if (rc < 0)
        return shim_fail(-rc, "zmtls: invalid value for option %#x", (unsigned)option);
    if (shim_opts_is_credential(option))
        shim_creds_changed(e);
    else if (shim_opts_is_policy(option))
        shim_contexts_drop(e); /* like libzmq's options: for endpoints made from now on */
    return 0;
}

SHIM_EXPORT int zmq_getsockopt(void *s, int option, void *val, size_t *len)
{
    REAL_OR_FAIL(r, -1);
    if (shim_opts_owns(option)) {
        shim_sock_t *e = shim_registry_get(s);
        if (e == NULL) {
            errno = ENOTSOCK;
            return -1;
        }
        int rc = shim_opts_get(&e->opts, option, val, len);
        if (rc < 0) {
            errno = -rc;
            return -1;
        }
        return 0;
    }
    if (option == ZMQ_LAST_ENDPOINT) {
        shim_sock_t *e = shim_registry_get(s);
        if (e != NULL && e->last_is_tls) {
            size_t n = strlen(e->last_endpoint) + 1;
            if (val == NULL || len == NULL || *len < n) {
                errno = EINVAL;
                return -1;
            }
            memcpy(val, e->last_endpoint, n);
            *len = n;
            return 0;
        }
    }
    return r->getsockopt(s, option, val, len);
}

/* ---- monitoring -------------------------------------------------------- */

SHIM_EXPORT int zmq_socket_monitor(void *s, const char *addr, int events)
{
    REAL_OR_FAIL(r, -1);
    shim_sock_t *e = shim_registry_get(s);
    if (e == NULL)
        return r->socket_monitor(s, addr, events);
    if (addr == NULL) {
        int rc = r->socket_monitor(s, NULL, 0);
        int err = errno;
        if (e->monitored) {
            io_monitor_stop(e->id);
            e->monitored = 0;
        }
        errno = err;
        return rc;
    }
    if (strncmp(addr, "inproc://", 9) != 0) {
        errno = EPROTONOSUPPORT;
        return -1;
    }
    /* A new monitor replaces the old one, which libzmq stops first. */
    if (e->monitored) {
        r->socket_monitor(s, NULL, 0);
        io_monitor_stop(e->id);
        e->monitored = 0;
    }
    void *out = r->socket(e->ctx, ZMQ_PAIR);
    if (out == NULL)
        return -1;
    int zero = 0;
    r->setsockopt(out, ZMQ_LINGER, &zero, sizeof(zero));
    if (r->bind(out, addr) != 0) {
        int err = errno;
        r->close(out);
        errno = err;
        return -1;
    }
    char priv[EPCFG_INPROC_MAX];
    snprintf(priv, sizeof(priv), SHIM_PRIVATE_PREFIX "mon-%u-%u", (unsigned)getpid(),
             (unsigned)shim_registry_next_id());
    void *in = NULL;
    int rc = r->socket_monitor(s, priv, events);
    if (rc == 0) {
        in = r->socket(e->ctx, ZMQ_PAIR);
        rc = in == NULL ? -1 : 0;
    }
    if (rc == 0) {
        r->setsockopt(in, ZMQ_LINGER, &zero, sizeof(zero));
        rc = r->connect(in, priv);
    }
    if (rc == 0 && io_monitor_start(e->id, e->ctx, in, out, addr, events) < 0) {
        errno = ENOMEM;
        rc = -1;
    }
    if (rc != 0) {
        int err = errno;
        r->socket_monitor(s, NULL, 0);
        if (in != NULL)
            r->close(in);
        if (out != NULL)
            r->close(out);
        errno = err;
        return -1;
    }
    e->monitored = 1;
    return 0;
}

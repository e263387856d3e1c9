/*
 * The list of endpoints on the I/O thread and the commands that reach it:
 * see ep.h.
 */
#include "ep/ep.h"

#include "io/io.h"
#include "log/log.h"
#include "peers/peers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

typedef enum ep_cmd_type {
    EP_CMD_CONNECT,
    EP_CMD_BIND,
    EP_CMD_SOCKET_CLOSED,
    EP_CMD_SET_TLS,
} ep_cmd_type_t;

typedef struct ep_cmd {
    rx_work_t work;
    ep_cmd_type_t type;
    ep_cfg_t *cfg;
    int fd;
    uint32_t id; /* sock_id or ep_id */
    int linger;
    SSL_CTX *client_tls, *server_tls;
    tls_src_t *client_src, *server_src;
} ep_cmd_t;

/* A context termination waiting for its endpoints to finish closing. */
typedef struct ep_term {
    void *ctx;
    io_sync_t *sync;
    struct ep_term *next;
} ep_term_t;

/* I/O thread only */
static ep_t *ep_list;
static ep_term_t *ep_terms;
static rx_timer_t ep_reload_timer;
static int ep_reload_timer_ready;
static void ep_reload_arm(void);

/* Any thread */
static atomic_int ep_reload_ms = EP_RELOAD_IVL_DEFAULT;

/* The child of a fork has no I/O thread: the parent's endpoints and the
 * terminations waiting on them (whose records live on parent threads'
 * stacks) are not the child's. */
static void ep_fork_forget(void)
{
    ep_list = NULL;
    ep_terms = NULL;
    memset(&ep_reload_timer, 0, sizeof(ep_reload_timer));
    ep_reload_timer_ready = 0;
}

static void ep_fork_register(void)
{
    (void)io_on_fork_child(ep_fork_forget); /* the first of IO_FORK_HOOKS */
}

/* Before anything reaches the I/O thread's lists. */
static void ep_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, ep_fork_register);
}

/* Whether a tls:// peer of the socket already goes by this id. */
static int ep_id_in_use(uint32_t sock_id, const uint8_t *id, size_t len)
{
    if (peers_get(sock_id, 0, id, len, "Subject", NULL, 0) != -ENOENT)
        return 1;
    for (const ep_t *ep = ep_list; ep != NULL; ep = ep->next)
        if (ep->cfg->sock_id == sock_id && ep->ops->holds_id != NULL &&
            ep->ops->holds_id(ep, id, len))
            return 1;
    return 0;
}

/* Ids in use are skipped; a run this long of them would take as many
 * peers announcing exactly the counter's next values. */
#define EP_ID_TRIES 1024

void ep_peer_id(const conn_t *c, const ep_cfg_t *cfg, ep_peer_id_t *out)
{
    out->id = conn_peer_identity(c, &out->len);
    if (out->len == 0 && cfg->app_type == ZMQ_ROUTER) {
        int tries = 0;
        do
            io_routing_id(out->gen);
        while (++tries < EP_ID_TRIES &&
               ep_id_in_use(cfg->sock_id, out->gen, sizeof(out->gen)));
        out->id = out->gen;
        out->len = sizeof(out->gen);
    }
}

int ep_attach_own_bridge(conn_t *c, const ep_cfg_t *cfg, const ep_peer_id_t *pid)
{
    bridge_cfg_t bc = ep_cfg_bridge(cfg, 0, pid->id, pid->len);
    bridge_t *b = NULL;
    int rc = bridge_new(&b, &bc);
    if (rc < 0)
        return rc;
    conn_attach(c, b, 1, NULL);
    conn_publish_peer(c, pid->id, pid->len);
    return 0;
}

static int ep_ctx_busy(void *ctx)
{
    for (ep_t *ep = ep_list; ep != NULL; ep = ep->next)
        if (ep->cfg->ctx == ctx)
            return 1;
    return 0;
}

/* Completes the context terminations whose endpoints are all gone. */
static void ep_terms_check(void)
{
    ep_term_t **pp = &ep_terms;
    while (*pp != NULL) {
        ep_term_t *t = *pp;
        if (ep_ctx_busy(t->ctx)) {
            pp = &t->next;
            continue;
        }
        *pp = t->next;
        io_monitors_drop_ctx(t->ctx);
        io_sync_done(t->sync); /* t lives on the waiting caller's stack */
    }
}

void ep_gone(ep_t *ep)
{
    for (ep_t **pp = &ep_list; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == ep) {
            *pp = ep->next;
            io_release();
            break;
        }
    }
    ep_reload_arm();
    ep_terms_check();
}

static void ep_add(ep_t *ep)
{
    ep->next = ep_list;
    ep_list = ep;
    ep_reload_arm();
}

/* ---- credential files ---------------------------------------------------- */

void ep_reload_report(const char *files, const char *reason)
{
    char line[1024];
    int n = snprintf(line, sizeof(line),
                     "zmtls: reload of %s failed: %s; keeping the previous credentials\n",
                     files, reason);
    if (n <= 0)
        return;
    if ((size_t)n >= sizeof(line)) {
        n = (int)sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

/* ZMTLS_LOG=info: new credentials are in use for an endpoint's socket
 * side (one line per rebuild). */
static void ep_reload_log(const ep_t *ep)
{
    if (!log_on(LOG_INFO))
        return;
    log_line_t l;
    log_begin(&l, ep->cfg->uri, "reloaded", NULL);
    log_add(&l, "side=%s", ep->cfg->is_bind ? "bind" : "connect");
    log_end(&l);
}

/* Checks each group of endpoints sharing a source once (force: rebuilds
 * it whatever its files). Returns the number of groups that failed, their
 * reasons appended to err. */
static int ep_reload_run(int force, char *err, size_t errlen)
{
    for (ep_t *ep = ep_list; ep != NULL; ep = ep->next)
        ep->reload_seen = 0;
    int failed = 0;
    size_t used = err != NULL ? strlen(err) : 0;
    for (ep_t *ep = ep_list; ep != NULL; ep = ep->next) {
        tls_src_t *src = ep->cfg->src;
        if (ep->reload_seen || ep->closing || src == NULL || !tls_src_watched(src))
            continue;
        uint64_t origin = tls_src_origin(src);
        if (!force && !tls_src_changed(src)) {
            for (ep_t *x = ep; x != NULL; x = x->next)
                if (x->cfg->src != NULL && tls_src_origin(x->cfg->src) == origin)
                    x->reload_seen = 1;
            continue;
        }
        char files[512], why[512];
        SSL_CTX *ctx = NULL;
        int rc = tls_src_build(src, &ctx, files, sizeof(files), why, sizeof(why));
        /* set_tls never unlinks an endpoint, so the walk may go on. */
        for (ep_t *x = ep; x != NULL; x = x->next) {
            if (x->closing || x->cfg->src == NULL ||
                (x != ep && tls_src_origin(x->cfg->src) != origin))
                continue;
            x->reload_seen = 1;
            if (x != ep)
                tls_src_adopt(x->cfg->src, src);
            if (rc == 0 && SSL_CTX_up_ref(ctx) == 1)
                x->ops->set_tls(x, ctx);
        }
        SSL_CTX_free(ctx);
        if (rc == 0) {
            ep_reload_log(ep);
            continue;
        }
        failed++;
        ep_reload_report(files, why);
        if (err != NULL && used < errlen) {
            int w = snprintf(err + used, errlen - used, "%sreload of %s failed: %s",
                             used > 0 ? "; " : "", files, why);
            used = w < 0 ? errlen : used + (size_t)w;
        }
    }
    return failed;
}

static void ep_reload_tick(rx_timer_t *t)
{
    (void)t;
    (void)ep_reload_run(0, NULL, 0);
    ep_reload_arm();
}

/* Keeps the check running while there are endpoints. */
static void ep_reload_arm(void)
{
    int ms = atomic_load(&ep_reload_ms);
    if (ep_list == NULL || ms <= 0) {
        /* Stopped while the endpoints it serves are gone: the loop may end
         * with them, and the next one gets the timer initialised afresh. */
        if (ep_reload_timer_ready)
            rx_timer_stop(io_loop(), &ep_reload_timer);
        ep_reload_timer_ready = 0;
        return;
    }
    if (!ep_reload_timer_ready) {
        rx_timer_init(&ep_reload_timer, ep_reload_tick, NULL);
        ep_reload_timer_ready = 1;
    }
    if (!rx_timer_active(&ep_reload_timer))
        rx_timer_start(io_loop(), &ep_reload_timer, (uint64_t)ms);
}

void ep_reload_ivl_set(int ms)
{
    atomic_store(&ep_reload_ms, ms < 0 ? 0 : ms);
}

typedef struct ep_reload_req {
    char *err;
    size_t errlen;
    int failed;
} ep_reload_req_t;

static void ep_reload_now(void *arg, io_sync_t *sync)
{
    ep_reload_req_t *r = arg;
    r->failed = ep_reload_run(1, r->err, r->errlen);
    io_sync_done(sync);
}

int ep_reload(char *err, size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    ep_reload_req_t r = {.err = err, .errlen = errlen};
    if (io_call(ep_reload_now, &r) < 0)
        return 0;
    return r.failed;
}

/* Runs op on every open endpoint of a socket. close() may unlink the
 * endpoint it closes: the walk starts from the head again after it. */
static void ep_each_of_socket(const ep_cmd_t *cmd)
{
    int again = 1;
    while (again) {
        again = 0;
        for (ep_t *ep = ep_list; ep != NULL; ep = ep->next) {
            if (ep->cfg->sock_id != cmd->id || ep->closing)
                continue;
            if (cmd->type == EP_CMD_SOCKET_CLOSED) {
                ep->ops->close(ep, cmd->linger);
                again = 1;
                break;
            }
            SSL_CTX *tls = ep->cfg->is_bind ? cmd->server_tls : cmd->client_tls;
            tls_src_t *src = ep->cfg->is_bind ? cmd->server_src : cmd->client_src;
            if (tls == NULL || SSL_CTX_up_ref(tls) != 1)
                continue;
            /* The old source goes whatever comes: watching the old files
             * could bring the old credentials back. Without memory for a
             * copy (or without a source) the new files go unwatched. */
            tls_src_destroy(&ep->cfg->src);
            if (src != NULL)
                ep->cfg->src = tls_src_clone(src);
            ep->ops->set_tls(ep, tls);
        }
    }
}

static void ep_cmd_run(rx_work_t *w)
{
    ep_cmd_t *cmd = w->data;
    ep_t *ep = NULL;
    int rc = 0;
    switch (cmd->type) {
    case EP_CMD_CONNECT:
        io_apply_thread_opts(&cmd->cfg->thread);
        rc = ep_connecter_start(cmd->cfg, &ep);
        break;
    case EP_CMD_BIND:
        io_apply_thread_opts(&cmd->cfg->thread);
        rc = ep_listener_start(cmd->cfg, cmd->fd, &ep);
        break;
    case EP_CMD_SOCKET_CLOSED:
    case EP_CMD_SET_TLS:
        ep_each_of_socket(cmd);
        SSL_CTX_free(cmd->client_tls);
        SSL_CTX_free(cmd->server_tls);
        tls_src_destroy(&cmd->client_src);
        tls_src_destroy(&cmd->server_src);
        break;
    }
    if (cmd->type == EP_CMD_CONNECT || cmd->type == EP_CMD_BIND) {
        if (rc == 0)
            ep_add(ep);
        else
            io_release();
    }
    free(cmd);
}

static ep_cmd_t *ep_cmd_new(ep_cmd_type_t type)
{
    ep_cmd_t *cmd = calloc(1, sizeof(*cmd));
    if (cmd != NULL) {
        cmd->type = type;
        cmd->work.cb = ep_cmd_run;
        cmd->work.data = cmd;
        cmd->fd = -1;
    }
    return cmd;
}

int ep_connect(ep_cfg_t *cfg)
{
    return ep_bind(cfg, -1);
}

int ep_bind(ep_cfg_t *cfg, int listen_fd)
{
    ep_init();
    ep_cmd_t *cmd = ep_cmd_new(listen_fd >= 0 ? EP_CMD_BIND : EP_CMD_CONNECT);
    int rc = -ENOMEM;
    if (cmd != NULL) {
        cmd->cfg = cfg;
        cmd->fd = listen_fd;
        rc = io_post(&cmd->work, 1);
        if (rc == 0)
            return 0;
    }
    if (listen_fd >= 0)
        close(listen_fd);
    ep_cfg_destroy(&cfg);
    free(cmd);
    return rc;
}

/* Best effort: without memory the endpoint lingers until its context ends,
 * which still cleans it up. */
static void ep_post_existing(ep_cmd_t *cmd)
{
    if (cmd != NULL && io_post_existing(&cmd->work) < 0)
        free(cmd);
}

typedef struct ep_close_req {
    uint32_t ep_id;
    int found;
} ep_close_req_t;

static void ep_close_endpoint_run(void *arg, io_sync_t *sync)
{
    ep_close_req_t *r = arg;
    for (ep_t *ep = ep_list; ep != NULL; ep = ep->next) {
        if (ep->cfg->ep_id == r->ep_id && !ep->closing) {
            r->found = 1;
            ep->ops->close(ep, EP_CLOSE_NOW);
            break;
        }
    }
    io_sync_done(sync);
}

typedef struct ep_ended_req {
    const uint32_t *ids;
    size_t n;
    unsigned char *ended;
} ep_ended_req_t;

static void ep_ended_run(void *arg, io_sync_t *sync)
{
    ep_ended_req_t *r = arg;
    for (size_t i = 0; i < r->n; i++) {
        r->ended[i] = 1;
        for (const ep_t *ep = ep_list; ep != NULL; ep = ep->next)
            if (ep->cfg->ep_id == r->ids[i])
                r->ended[i] = 0;
    }
    io_sync_done(sync);
}

void ep_ended(const uint32_t *ids, size_t n, unsigned char *ended)
{
    ep_ended_req_t r = {.ids = ids, .n = n, .ended = ended};
    if (n > 0 && io_call(ep_ended_run, &r) < 0)
        memset(ended, 1, n); /* no I/O thread: no endpoint left */
}

int ep_close_endpoint(uint32_t ep_id)
{
    ep_close_req_t r = {.ep_id = ep_id};
    /* No I/O thread: no endpoint is left either. */
    if (io_call(ep_close_endpoint_run, &r) < 0 || !r.found)
        return -ENOENT;
    return 0;
}

static void ep_socket_closed_now(void *arg, io_sync_t *sync)
{
    ep_cmd_t *cmd = arg;
    ep_each_of_socket(cmd);
    io_sync_done(sync);
}

void ep_socket_closed(uint32_t sock_id, int linger)
{
    /* LINGER 0 drops what is queued: end the connections before libzmq
     * closes the pipes, whose final wake-up would otherwise let them send
     * some of it. */
    if (linger == 0) {
        ep_cmd_t cmd = {.type = EP_CMD_SOCKET_CLOSED, .id = sock_id, .linger = 0};
        (void)io_call(ep_socket_closed_now, &cmd);
        return;
    }
    ep_cmd_t *cmd = ep_cmd_new(EP_CMD_SOCKET_CLOSED);
    if (cmd == NULL)
        return;
    cmd->id = sock_id;
    cmd->linger = linger;
    ep_post_existing(cmd);
}

void ep_set_tls(uint32_t sock_id, SSL_CTX *client, SSL_CTX *server, tls_src_t *client_src,
                tls_src_t *server_src)
{
    ep_cmd_t *cmd = ep_cmd_new(EP_CMD_SET_TLS);
    if (cmd != NULL) {
        cmd->id = sock_id;
        cmd->client_tls = client;
        cmd->server_tls = server;
        cmd->client_src = client_src;
        cmd->server_src = server_src;
        if (io_post_existing(&cmd->work) == 0)
            return;
        free(cmd);
    }
    io_fork_guard_enter();
    SSL_CTX_free(client);
    SSL_CTX_free(server);
    tls_src_destroy(&client_src);
    tls_src_destroy(&server_src);
    io_fork_guard_leave();
}

static void ep_ctx_term_run(void *arg, io_sync_t *sync)
{
    ep_term_t *t = arg;
    int again = 1;
    while (again) {
        again = 0;
        for (ep_t *ep = ep_list; ep != NULL; ep = ep->next) {
            /* Endpoints of sockets the application still holds end now;
             * those already flushing keep their linger. */
            if (ep->cfg->ctx == t->ctx && !ep->closing) {
                ep->ops->close(ep, EP_CLOSE_NOW);
                again = 1;
                break;
            }
        }
    }
    t->sync = sync;
    t->next = ep_terms;
    ep_terms = t;
    ep_terms_check();
}

void ep_ctx_term(void *ctx)
{
    ep_init();
    ep_term_t t = {.ctx = ctx};
    (void)io_call(ep_ctx_term_run, &t);
    /* Stop the thread once nothing is left, so a process that ends its
     * contexts keeps no zmtls thread or memory. */
    io_stop_if_idle();
}

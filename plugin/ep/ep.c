/*
 * The list of endpoints on the I/O thread and the commands that reach it:
 * see ep.h.
 */
#include "ep/ep.h"

#include "io/io.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <zmq.h>

typedef enum ep_cmd_type {
    EP_CMD_CONNECT,
    EP_CMD_BIND,
    EP_CMD_CLOSE_ENDPOINT,
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

/* The child of a fork has no I/O thread: the parent's endpoints and the
 * terminations waiting on them (whose records live on parent threads'
 * stacks) are not the child's. */
static void ep_fork_forget(void)
{
    ep_list = NULL;
    ep_terms = NULL;
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

void ep_peer_id(const conn_t *c, const ep_cfg_t *cfg, ep_peer_id_t *out)
{
    out->id = conn_peer_identity(c, &out->len);
    if (out->len == 0 && cfg->app_type == ZMQ_ROUTER) {
        io_routing_id(out->gen);
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
    ep_terms_check();
}

static void ep_add(ep_t *ep)
{
    ep->next = ep_list;
    ep_list = ep;
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
            if (tls != NULL && SSL_CTX_up_ref(tls) == 1)
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
    case EP_CMD_CLOSE_ENDPOINT:
        for (ep = ep_list; ep != NULL; ep = ep->next) {
            if (ep->cfg->ep_id == cmd->id && !ep->closing) {
                ep->ops->close(ep, EP_CLOSE_NOW);
                break;
            }
        }
        ep = NULL;
        break;
    case EP_CMD_SOCKET_CLOSED:
    case EP_CMD_SET_TLS:
        ep_each_of_socket(cmd);
        SSL_CTX_free(cmd->client_tls);
        SSL_CTX_free(cmd->server_tls);
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

void ep_close_endpoint(uint32_t ep_id)
{
    ep_cmd_t *cmd = ep_cmd_new(EP_CMD_CLOSE_ENDPOINT);
    if (cmd != NULL)
        cmd->id = ep_id;
    ep_post_existing(cmd);
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

void ep_set_tls(uint32_t sock_id, SSL_CTX *client, SSL_CTX *server)
{
    ep_cmd_t *cmd = ep_cmd_new(EP_CMD_SET_TLS);
    if (cmd != NULL) {
        cmd->id = sock_id;
        cmd->client_tls = client;
        cmd->server_tls = server;
        if (io_post_existing(&cmd->work) == 0)
            return;
        free(cmd);
    }
    io_fork_guard_enter();
    SSL_CTX_free(client);
    SSL_CTX_free(server);
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

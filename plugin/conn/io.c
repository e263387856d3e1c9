/*
 * The I/O thread and the commands that reach it: see io.h.
 *
 * Application threads only ever queue commands; every zmtls object lives on
 * this one thread, so none of them needs a lock. The thread starts with the
 * first command and stops when a context ends with nothing left anywhere, so
 * a process that terminates its contexts ends with no zmtls thread and no
 * zmtls memory.
 */
#include "conn/io.h"

#include "conn/ep.h"
#include "conn/threadopts.h"
#include "monitor/monitor.h"
#include "shim/real.h"

#include <openssl/ssl.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct io_mon {
    uint32_t sock_id;
    void *ctx;
    monitor_t *m;
    struct io_mon *next;
} io_mon_t;

typedef struct io_linger {
    rx_io_t io;
    rx_timer_t timer;
    struct io_linger *prev, *next;
} io_linger_t;

typedef enum io_cmd_type {
    CMD_CONNECT,
    CMD_BIND,
    CMD_CLOSE_ENDPOINT,
    CMD_SOCKET_CLOSED,
    CMD_SET_TLS,
    CMD_MONITOR_START,
    CMD_MONITOR_STOP,
    CMD_CTX_TERM,
} io_cmd_type_t;

/* A synchronous command's caller waits on this. */
typedef struct io_sync {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
} io_sync_t;

typedef struct io_cmd {
    rx_work_t work;
    io_cmd_type_t type;
    ep_cfg_t *cfg;
    int fd;
    uint32_t id; /* sock_id or ep_id */
    int linger;
    SSL_CTX *client_tls, *server_tls;
    void *ctx;
    void *mon_in, *mon_out;
    char *mon_addr;
    int events;
    io_sync_t *sync;
    struct io_cmd *next; /* pending context terminations */
} io_cmd_t;

static struct {
    pthread_mutex_t lock; /* thread start/stop */
    int running;
    int exiting; /* exit() has begun: never start the thread again */
    pthread_t thread;
    rx_loop_t *loop;
    /* objects alive or about to be created: the thread stops only at 0 */
    atomic_int live;

    /* I/O thread only */
    io_ep_t *endpoints;
    io_mon_t *monitors;
    io_cmd_t *ctx_terms;
    io_linger_t *lingering;
    uint64_t rng;
    int thread_opts_applied; /* ZMQ_THREAD_* of the first endpoint's context */
} io = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- I/O thread ------------------------------------------------------- */

rx_loop_t *io_loop(void)
{
    return io.loop;
}

uint32_t io_random(void)
{
    /* xorshift64*: jitter needs spread, not secrecy */
    uint64_t x = io.rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    io.rng = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

void io_routing_id(uint8_t out[IO_ROUTING_ID_LEN])
{
    static uint64_t next;
    if (next == 0)
        next = ((uint64_t)io_random() << 32) | io_random();
    uint64_t v = next++;
    out[0] = 0;
    for (int i = 8; i >= 1; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

static io_mon_t *io_mon_find(uint32_t sock_id)
{
    for (io_mon_t *m = io.monitors; m != NULL; m = m->next)
        if (m->sock_id == sock_id)
            return m;
    return NULL;
}

void io_emit(uint32_t sock_id, int event, uint32_t value, const char *endpoint)
{
    io_mon_t *m = io_mon_find(sock_id);
    if (m != NULL)
        monitor_emit(m->m, event, value, endpoint);
}

static void io_sync_done(io_sync_t *s)
{
    pthread_mutex_lock(&s->lock);
    s->done = 1;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static int io_ctx_busy(void *ctx)
{
    for (io_ep_t *ep = io.endpoints; ep != NULL; ep = ep->next)
        if (ep->cfg->ctx == ctx)
            return 1;
    return 0;
}

static void io_mon_remove(io_mon_t *target)
{
    for (io_mon_t **pp = &io.monitors; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == target) {
            *pp = target->next;
            monitor_destroy(&target->m);
            free(target);
            atomic_fetch_sub(&io.live, 1);
            return;
        }
    }
}

/* Completes the context terminations whose endpoints are all gone. */
static void io_ctx_terms_check(void)
{
    io_cmd_t **pp = &io.ctx_terms;
    while (*pp != NULL) {
        io_cmd_t *cmd = *pp;
        if (io_ctx_busy(cmd->ctx)) {
            pp = &cmd->next;
            continue;
        }
        *pp = cmd->next;
        io_mon_t *m = io.monitors;
        while (m != NULL) {
            io_mon_t *next = m->next;
            if (m->ctx == cmd->ctx)
                io_mon_remove(m);
            m = next;
        }
        io_sync_done(cmd->sync);
        free(cmd);
    }
}

void io_ep_gone(io_ep_t *ep)
{
    for (io_ep_t **pp = &io.endpoints; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == ep) {
            *pp = ep->next;
            atomic_fetch_sub(&io.live, 1);
            break;
        }
    }
    io_ctx_terms_check();
}

static void io_ep_add(io_ep_t *ep)
{
    ep->next = io.endpoints;
    io.endpoints = ep;
}

static void io_mon_stopped(monitor_t *m, void *arg)
{
    io_mon_remove(arg);
}

static void io_run_cmd(rx_work_t *w)
{
    io_cmd_t *cmd = w->data;
    io_ep_t *ep = NULL;
    /* The first endpoint since the thread started brings its context's
     * ZMQ_THREAD_* options (threadopts.h). */
    if ((cmd->type == CMD_CONNECT || cmd->type == CMD_BIND) && !io.thread_opts_applied) {
        thread_opts_apply(&cmd->cfg->thread);
        io.thread_opts_applied = 1;
    }
    switch (cmd->type) {
    case CMD_CONNECT:
        if (connecter_start(cmd->cfg, &ep) == 0)
            io_ep_add(ep);
        else
            atomic_fetch_sub(&io.live, 1);
        break;
    case CMD_BIND:
        if (listener_start(cmd->cfg, cmd->fd, &ep) == 0)
            io_ep_add(ep);
        else
            atomic_fetch_sub(&io.live, 1);
        break;
    case CMD_CLOSE_ENDPOINT:
        for (ep = io.endpoints; ep != NULL; ep = ep->next) {
            if (ep->cfg->ep_id == cmd->id && !ep->closing) {
                ep->ops->close(ep, EP_CLOSE_NOW);
                break;
            }
        }
        break;
    case CMD_SOCKET_CLOSED:
    case CMD_SET_TLS: {
        /* close() may unlink the endpoint: walk from the head again. */
        int again = 1;
        while (again) {
            again = 0;
            for (ep = io.endpoints; ep != NULL; ep = ep->next) {
                if (ep->cfg->sock_id != cmd->id || ep->closing)
                    continue;
                if (cmd->type == CMD_SOCKET_CLOSED) {
                    ep->ops->close(ep, cmd->linger);
                    again = 1;
                    break;
                }
                SSL_CTX *tls = ep->cfg->is_bind ? cmd->server_tls : cmd->client_tls;
                if (tls != NULL && SSL_CTX_up_ref(tls) == 1)
                    ep->ops->set_tls(ep, tls);
            }
        }
        SSL_CTX_free(cmd->client_tls);
        SSL_CTX_free(cmd->server_tls);
        break;
    }
    case CMD_MONITOR_START: {
        io_mon_t *old = io_mon_find(cmd->id);
        if (old != NULL)
            io_mon_remove(old);
        io_mon_t *m = calloc(1, sizeof(*m));
        if (m == NULL ||
            monitor_new(&m->m, io.loop, cmd->mon_in, cmd->mon_out, cmd->mon_addr,
                        cmd->events, io_mon_stopped, m) != 0) {
            free(m);
            real()->close(cmd->mon_in);
            real()->close(cmd->mon_out);
            atomic_fetch_sub(&io.live, 1);
            break;
        }
        m->sock_id = cmd->id;
        m->ctx = cmd->ctx;
        m->next = io.monitors;
        io.monitors = m;
        monitor_kick(m->m);
        break;
    }
    case CMD_MONITOR_STOP: {
        io_mon_t *m = io_mon_find(cmd->id);
        if (m != NULL)
            io_mon_remove(m);
        break;
    }
    case CMD_CTX_TERM: {
        int again = 1;
        while (again) {
            again = 0;
            for (ep = io.endpoints; ep != NULL; ep = ep->next) {
                /* Endpoints of sockets the application still holds end now;
                 * those already flushing keep their linger. */
                if (ep->cfg->ctx == cmd->ctx && !ep->closing) {
                    ep->ops->close(ep, EP_CLOSE_NOW);
                    again = 1;
                    break;
                }
            }
        }
        cmd->next = io.ctx_terms;
        io.ctx_terms = cmd;
        io_ctx_terms_check();
        return; /* freed by io_ctx_terms_check */
    }
    }
    if (cmd->sync != NULL)
        io_sync_done(cmd->sync); /* the caller owns cmd->sync; cmd is ours */
    free(cmd->mon_addr);
    free(cmd);
}

static void io_linger_done(io_linger_t *l)
{
    rx_io_close(io.loop, &l->io);
    rx_timer_stop(io.loop, &l->timer);
    close(l->io.fd);
    if (l->prev != NULL)
        l->prev->next = l->next;
    else
        io.lingering = l->next;
    if (l->next != NULL)
        l->next->prev = l->prev;
    free(l);
}

static void io_linger_on_io(rx_io_t *w, unsigned revents)
{
    char buf[4096];
    for (int i = 0; i < 16; i++) {
        ssize_t n = recv(w->fd, buf, sizeof(buf), 0);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        break; /* EOF or error: the peer is done */
    }
    io_linger_done(w->data);
}

static void io_linger_on_timer(rx_timer_t *t)
{
    io_linger_done(t->data);
}

void io_linger_close(int fd)
{
    if (fd < 0)
        return;
    io_linger_t *l = calloc(1, sizeof(*l));
    if (l == NULL || shutdown(fd, SHUT_WR) != 0) {
        free(l);
        close(fd);
        return;
    }
    rx_io_init(&l->io, fd, 0, io_linger_on_io, l);
    rx_timer_init(&l->timer, io_linger_on_timer, l);
    if (rx_io_start(io.loop, &l->io, RX_READ) != 0) {
        free(l);
        close(fd);
        return;
    }
    rx_timer_start(io.loop, &l->timer, IO_LINGER_MS);
    l->next = io.lingering;
    if (l->next != NULL)
        l->next->prev = l;
    io.lingering = l;
}

static void *io_main(void *arg)
{
    /* Visible in top -H, perf and gdb, next to libzmq's ZMQbg/IO/N. */
    pthread_setname_np(pthread_self(), "zmtls/IO");
    io.thread_opts_applied = 0;
    rx_loop_run(io.loop);
    /* The thread is stopping: whatever still lingers closes now. */
    while (io.lingering != NULL)
        io_linger_done(io.lingering);
    return NULL;
}

/* ---- application threads ---------------------------------------------- */

/* exit() without zmq_ctx_term: OpenSSL's own atexit handler frees its
 * global state, and a still running I/O thread would use it afterwards. This
 * handler is registered after OpenSSL initialised (a TLS context exists by
 * the time the thread first starts), so it runs first and stops the thread.
 * Nothing is freed: the process is ending. */
static void io_atexit(void)
{
    pthread_mutex_lock(&io.lock);
    /* Sockets closed by later exit handlers (CZMQ's, say) must not start
     * the thread again once OpenSSL is gone: their commands are dropped. */
    io.exiting = 1;
    if (io.running && !pthread_equal(pthread_self(), io.thread)) {
        rx_loop_stop(io.loop);
        pthread_join(io.thread, NULL);
        io.running = 0;
    }
    pthread_mutex_unlock(&io.lock);
}

/* A child of fork() has no I/O thread: forget the parent's (its objects
 * belong to a context the child cannot use, as libzmq's do), so the child
 * starts a fresh thread when it uses tls:// itself. */
static void io_atfork_child(void)
{
    pthread_mutex_init(&io.lock, NULL);
    io.running = 0;
    io.loop = NULL;
    atomic_store(&io.live, 0);
    io.endpoints = NULL;
    io.monitors = NULL;
    io.ctx_terms = NULL;
    io.lingering = NULL;
}

static void io_register_handlers(void)
{
    /* OpenSSL registers its own exit handler when it initialises; make sure
     * that happened first, so ours runs before it (exit handlers run in
     * reverse order), whatever started the thread. */
    OPENSSL_init_ssl(0, NULL);
    atexit(io_atexit);
    pthread_atfork(NULL, NULL, io_atfork_child);
}

static int io_start_locked(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (io.running)
        return 0;
    if (io.exiting)
        return -ESHUTDOWN;
    pthread_once(&once, io_register_handlers);
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    }
    io.rng = seed | 1;
    int rc = rx_loop_new(&io.loop);
    if (rc < 0)
        return rc;
    rc = pthread_create(&io.thread, NULL, io_main, NULL);
    if (rc != 0) {
        rx_loop_destroy(&io.loop);
        return -rc;
    }
    io.running = 1;
    return 0;
}

static int io_post(io_cmd_t *cmd, int creates)
{
    pthread_mutex_lock(&io.lock);
    int rc = io_start_locked();
    if (rc == 0) {
        if (creates)
            atomic_fetch_add(&io.live, 1);
        cmd->work.cb = io_run_cmd;
        cmd->work.data = cmd;
        rx_post(io.loop, &cmd->work);
    }
    pthread_mutex_unlock(&io.lock);
    return rc;
}

static io_cmd_t *io_cmd_new(io_cmd_type_t type)
{
    io_cmd_t *cmd = calloc(1, sizeof(*cmd));
    if (cmd != NULL)
        cmd->type = type;
    return cmd;
}

/* Commands about existing objects: when the thread is not running there
 * are none, so there is nothing to do (and no thread to start). */
static int io_post_existing(io_cmd_t *cmd)
{
    if (cmd == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&io.lock);
    int running = io.running;
    if (running) {
        cmd->work.cb = io_run_cmd;
        cmd->work.data = cmd;
        rx_post(io.loop, &cmd->work);
    }
    pthread_mutex_unlock(&io.lock);
    return running ? 0 : -ESRCH;
}

/* Posts a command to a running thread and waits for it; no-op when the
 * thread is not running (nothing to act on). */
static void io_call(io_cmd_t *cmd)
{
    io_sync_t sync = {.done = 0};
    pthread_mutex_init(&sync.lock, NULL);
    pthread_cond_init(&sync.cond, NULL);
    cmd->sync = &sync;
    if (io_post_existing(cmd) == 0) {
        pthread_mutex_lock(&sync.lock);
        while (!sync.done)
            pthread_cond_wait(&sync.cond, &sync.lock);
        pthread_mutex_unlock(&sync.lock);
    } else {
        free(cmd);
    }
    pthread_cond_destroy(&sync.cond);
    pthread_mutex_destroy(&sync.lock);
}

int io_connect(ep_cfg_t *cfg)
{
    io_cmd_t *cmd = io_cmd_new(CMD_CONNECT);
    if (cmd == NULL) {
        ep_cfg_destroy(&cfg);
        return -ENOMEM;
    }
    cmd->cfg = cfg;
    int rc = io_post(cmd, 1);
    if (rc < 0) {
        ep_cfg_destroy(&cfg);
        free(cmd);
    }
    return rc;
}

int io_bind(ep_cfg_t *cfg, int listen_fd)
{
    io_cmd_t *cmd = io_cmd_new(CMD_BIND);
    if (cmd == NULL) {
        close(listen_fd);
        ep_cfg_destroy(&cfg);
        return -ENOMEM;
    }
    cmd->cfg = cfg;
    cmd->fd = listen_fd;
    int rc = io_post(cmd, 1);
    if (rc < 0) {
        close(listen_fd);
        ep_cfg_destroy(&cfg);
        free(cmd);
    }
    return rc;
}

/* Best effort: without memory the endpoint lingers until its context ends,
 * which still cleans it up. */
static void io_post_simple(io_cmd_t *cmd)
{
    if (io_post_existing(cmd) < 0)
        free(cmd);
}

void io_close_endpoint(uint32_t ep_id)
{
    io_cmd_t *cmd = io_cmd_new(CMD_CLOSE_ENDPOINT);
    if (cmd != NULL)
        cmd->id = ep_id;
    io_post_simple(cmd);
}

void io_socket_closed(uint32_t sock_id, int linger)
{
    io_cmd_t *cmd = io_cmd_new(CMD_SOCKET_CLOSED);
    if (cmd == NULL)
        return;
    cmd->id = sock_id;
    cmd->linger = linger;
    /* LINGER 0 drops what is queued: end the connections before libzmq
     * closes the pipes, whose final wake-up would otherwise let them send
     * some of it. */
    if (linger == 0)
        io_call(cmd);
    else
        io_post_simple(cmd);
}

void io_set_tls(uint32_t sock_id, SSL_CTX *client, SSL_CTX *server)
{
    io_cmd_t *cmd = io_cmd_new(CMD_SET_TLS);
    if (cmd != NULL) {
        cmd->id = sock_id;
        cmd->client_tls = client;
        cmd->server_tls = server;
        if (io_post_existing(cmd) == 0)
            return;
        free(cmd);
    }
    SSL_CTX_free(client);
    SSL_CTX_free(server);
}

int io_monitor_start(uint32_t sock_id, void *ctx, void *in, void *out, const char *addr,
                     int events)
{
    io_cmd_t *cmd = io_cmd_new(CMD_MONITOR_START);
    if (cmd != NULL)
        cmd->mon_addr = strdup(addr);
    if (cmd == NULL || cmd->mon_addr == NULL) {
        free(cmd);
        return -ENOMEM;
    }
    cmd->id = sock_id;
    cmd->ctx = ctx;
    cmd->mon_in = in;
    cmd->mon_out = out;
    cmd->events = events;
    int rc = io_post(cmd, 1);
    if (rc < 0) {
        free(cmd->mon_addr);
        free(cmd);
    }
    return rc;
}

void io_monitor_stop(uint32_t sock_id)
{
    io_cmd_t *cmd = io_cmd_new(CMD_MONITOR_STOP);
    if (cmd == NULL)
        return;
    cmd->id = sock_id;
    io_call(cmd);
}

void io_ctx_term(void *ctx)
{
    io_cmd_t *cmd = io_cmd_new(CMD_CTX_TERM);
    if (cmd == NULL)
        return;
    cmd->ctx = ctx;
    io_call(cmd);
    /* Stop the thread once nothing is left, so a process that ends its
     * contexts keeps no zmtls thread or memory. */
    pthread_mutex_lock(&io.lock);
    if (io.running && atomic_load(&io.live) == 0) {
        rx_loop_stop(io.loop);
        pthread_join(io.thread, NULL);
        rx_loop_destroy(&io.loop);
        io.running = 0;
    }
    pthread_mutex_unlock(&io.lock);
}

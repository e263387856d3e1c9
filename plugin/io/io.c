/*
 * The I/O thread, its queue, its monitors and the process handlers: see
 * io.h.
 *
 * Application threads only ever queue work; every zmtls object lives on
 * this one thread, so none of them needs a lock.
 */
#include "io/io.h"

#include "monitor/monitor.h"
#include "real/real.h"

#include <openssl/ssl.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
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

struct io_sync {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
};

/* A synchronous call in flight: lives on its caller's stack. */
typedef struct io_call_work {
    rx_work_t work;
    void (*fn)(void *arg, io_sync_t *sync);
    void *arg;
    io_sync_t sync;
} io_call_work_t;

/* A monitor command. */
typedef struct io_mon_cmd {
    rx_work_t work;
    uint32_t sock_id;
    void *ctx;
    void *in, *out;
    char *addr;
    int events;
} io_mon_cmd_t;

static struct {
    pthread_mutex_t lock; /* thread start/stop and posting */
    int running;
    int exiting; /* exit() has begun: never start the thread again */
    pthread_t thread;
    rx_loop_t *loop;
    /* objects alive or about to be created: the thread stops only at 0 */
    atomic_int live;
    atomic_int idle_stop; /* the stop under way is io_stop_if_idle's */

    /* fork: the locks held across it, and the I/O thread parked meanwhile */
    pthread_mutex_t *fork_locks[IO_FORK_LOCKS];
    int nfork_locks;
    void (*fork_forget[IO_FORK_HOOKS])(void); /* layers above, in the child */
    int nfork_forget;
    /* guards the list only, held for nothing else: a lock's first use (on
     * any thread, the I/O thread included) adds it without waiting on
     * io.lock, which may be held by a thread that waits for the I/O
     * thread */
    pthread_mutex_t fork_list_lock;
    pthread_mutex_t park_lock;
    pthread_cond_t park_cond;
    uint64_t park_gen;   /* forks prepared */
    uint64_t parked_gen; /* the fork the I/O thread is parked for */
    uint64_t resume_gen; /* the fork that is over */
    rx_work_t park_work;
    pthread_rwlock_t guard; /* application threads' OpenSSL sections */

    /* I/O thread only */
    io_mon_t *monitors;
    io_linger_t *lingering;
    uint64_t rng;
    int thread_opts_applied; /* ZMQ_THREAD_* of the first endpoint's context */
} io = {.lock = PTHREAD_MUTEX_INITIALIZER,
        .fork_list_lock = PTHREAD_MUTEX_INITIALIZER,
        .park_lock = PTHREAD_MUTEX_INITIALIZER,
        .park_cond = PTHREAD_COND_INITIALIZER};

/* ---- services (I/O thread) -------------------------------------------- */

void io_give_back_memory(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

rx_loop_t *io_loop(void)
{
    return io.loop;
}

void io_release(void)
{
    atomic_fetch_sub(&io.live, 1);
}

void io_apply_thread_opts(const io_thread_opts_t *o)
{
    if (io.thread_opts_applied)
        return;
    io_thread_opts_apply(o);
    io.thread_opts_applied = 1;
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
    static uint32_t next;
    static int started;
    if (!started) {
        next = io_random();
        started = 1;
    }
    uint32_t v = next++;
    out[0] = 0;
    for (int i = IO_ROUTING_ID_LEN - 1; i >= 1; i--) {
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

static void io_mon_remove(io_mon_t *target)
{
    for (io_mon_t **pp = &io.monitors; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == target) {
            *pp = target->next;
            monitor_destroy(&target->m);
            free(target);
            io_release();
            return;
        }
    }
}

void io_monitors_drop_ctx(void *ctx)
{
    io_mon_t *m = io.monitors;
    while (m != NULL) {
        io_mon_t *next = m->next;
        if (m->ctx == ctx)
            io_mon_remove(m);
        m = next;
    }
}

static void io_mon_stopped(monitor_t *m, void *arg)
{
    io_mon_remove(arg);
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
    /* Stopped for being idle: work posted before the stop (an io_call whose
     * caller waits, a command about objects that are gone) still runs, and
     * finds nothing to act on. Stopped at exit: nothing more runs. */
    if (atomic_load(&io.idle_stop))
        rx_loop_run_posted(io.loop);
    /* The thread is stopping: whatever still lingers closes now. */
    while (io.lingering != NULL)
        io_linger_done(io.lingering);
    return NULL;
}

/* ---- process handlers ------------------------------------------------- */

/* exit() without zmq_ctx_term: OpenSSL's own atexit handler frees its
 * global state, and a still running I/O thread would use it afterwards. This
 * handler is registered after OpenSSL initialised (a TLS context exists by
 * the time the thread first starts), so it runs first and stops the thread.
 * Nothing is freed: the process is ending. */
static void io_atexit(void)
{
    pthread_mutex_lock(&io.lock);
    /* Sockets closed by later exit handlers (CZMQ's, say) must not start
     * the thread again once OpenSSL is gone: their work is dropped. */
    io.exiting = 1;
    if (io.running && !pthread_equal(pthread_self(), io.thread)) {
        rx_loop_stop(io.loop);
        pthread_join(io.thread, NULL);
        io.running = 0;
    }
    pthread_mutex_unlock(&io.lock);
}

static void io_register_atexit(void)
{
    /* OpenSSL registers its own exit handler when it initialises; make sure
     * that happened first, so ours runs before it (exit handlers run in
     * reverse order), whatever started the thread. */
    OPENSSL_init_ssl(0, NULL);
    atexit(io_atexit);
}

/* Runs on the I/O thread while a fork is prepared: it waits here, between
 * callbacks, so it holds no lock of ours, OpenSSL's or libzmq's when the
 * process is copied. */
static void io_park(rx_work_t *w)
{
    pthread_mutex_lock(&io.park_lock);
    io.parked_gen = io.park_gen;
    pthread_cond_broadcast(&io.park_cond);
    while (io.resume_gen != io.parked_gen)
        pthread_cond_wait(&io.park_cond, &io.park_lock);
    pthread_mutex_unlock(&io.park_lock);
}

/* Lock order: the OpenSSL guard, io.lock, the I/O thread parked, the list
 * of owners' locks, then those in the order they were added. No zmtls code takes one of
 * these while holding a later one, and the I/O thread takes the owners'
 * locks only inside callbacks. */
static void io_fork_prepare(void)
{
    pthread_rwlock_wrlock(&io.guard);
    pthread_mutex_lock(&io.lock);
    if (io.running && !pthread_equal(pthread_self(), io.thread)) {
        pthread_mutex_lock(&io.park_lock);
        io.park_gen++;
        io.park_work.cb = io_park;
        rx_post(io.loop, &io.park_work);
        while (io.parked_gen != io.park_gen)
            pthread_cond_wait(&io.park_cond, &io.park_lock);
        pthread_mutex_unlock(&io.park_lock);
    }
    pthread_mutex_lock(&io.fork_list_lock);
    for (int i = 0; i < io.nfork_locks; i++)
        pthread_mutex_lock(io.fork_locks[i]);
}

static void io_fork_parent(void)
{
    for (int i = io.nfork_locks - 1; i >= 0; i--)
        pthread_mutex_unlock(io.fork_locks[i]);
    pthread_mutex_unlock(&io.fork_list_lock);
    pthread_mutex_lock(&io.park_lock);
    io.resume_gen = io.park_gen;
    pthread_cond_broadcast(&io.park_cond);
    pthread_mutex_unlock(&io.park_lock);
    pthread_mutex_unlock(&io.lock);
    pthread_rwlock_unlock(&io.guard);
}

/* Writer preference: a fork is not starved by a stream of sections. */
static void io_guard_init(void)
{
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&io.guard, &attr);
    pthread_rwlockattr_destroy(&attr);
}

/* A child of fork() has no I/O thread: forget the parent's (its objects
 * belong to a context the child cannot use, as libzmq's do), so the child
 * starts a fresh thread when it uses tls:// itself. */
static void io_fork_child(void)
{
    /* The locks were taken by the forking thread, which is this one but
     * with another id: initialise them afresh rather than unlock (a
     * read-write lock would take the unlock for a reader's). */
    for (int i = 0; i < io.nfork_locks; i++)
        pthread_mutex_init(io.fork_locks[i], NULL);
    pthread_mutex_init(&io.fork_list_lock, NULL);
    pthread_mutex_init(&io.park_lock, NULL);
    pthread_cond_init(&io.park_cond, NULL);
    io.park_gen = io.parked_gen = io.resume_gen = 0;
    io.running = 0;
    io.loop = NULL;
    atomic_store(&io.live, 0);
    atomic_store(&io.idle_stop, 0);
    io.monitors = NULL;
    io.lingering = NULL;
    pthread_mutex_init(&io.lock, NULL);
    io_guard_init();
    for (int i = 0; i < io.nfork_forget; i++)
        io.fork_forget[i]();
}

static void io_register_fork(void)
{
    io_guard_init();
    pthread_atfork(io_fork_prepare, io_fork_parent, io_fork_child);
}

void io_fork_guard_enter(void)
{
    io_init();
    pthread_rwlock_rdlock(&io.guard);
}

void io_fork_guard_leave(void)
{
    pthread_rwlock_unlock(&io.guard);
}

void io_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, io_register_fork);
}

int io_on_fork_child(void (*forget)(void))
{
    io_init();
    pthread_mutex_lock(&io.fork_list_lock);
    int rc = -ENOSPC;
    if (io.nfork_forget < IO_FORK_HOOKS) {
        io.fork_forget[io.nfork_forget++] = forget;
        rc = 0;
    }
    pthread_mutex_unlock(&io.fork_list_lock);
    return rc;
}

void io_shared_lock(io_shared_lock_t *l)
{
    if (!atomic_load_explicit(&l->known, memory_order_acquire)) {
        io_init();
        pthread_mutex_lock(&io.fork_list_lock);
        if (!atomic_load_explicit(&l->known, memory_order_relaxed) &&
            io.nfork_locks < IO_FORK_LOCKS) {
            io.fork_locks[io.nfork_locks++] = &l->mutex;
            atomic_store_explicit(&l->known, 1, memory_order_release);
        }
        pthread_mutex_unlock(&io.fork_list_lock);
    }
    pthread_mutex_lock(&l->mutex);
}

void io_shared_unlock(io_shared_lock_t *l)
{
    pthread_mutex_unlock(&l->mutex);
}

/* ---- the queue (application threads) --------------------------------- */

static int io_start_locked(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (io.running)
        return 0;
    if (io.exiting)
        return -ESHUTDOWN;
    pthread_once(&once, io_register_atexit);
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

int io_post(rx_work_t *w, int hold)
{
    io_init();
    pthread_mutex_lock(&io.lock);
    int rc = io_start_locked();
    if (rc == 0) {
        if (hold)
            atomic_fetch_add(&io.live, 1);
        rx_post(io.loop, w);
    }
    pthread_mutex_unlock(&io.lock);
    return rc;
}

int io_post_existing(rx_work_t *w)
{
    io_init();
    pthread_mutex_lock(&io.lock);
    int running = io.running;
    if (running)
        rx_post(io.loop, w);
    pthread_mutex_unlock(&io.lock);
    return running ? 0 : -ESRCH;
}

void io_sync_done(io_sync_t *s)
{
    pthread_mutex_lock(&s->lock);
    s->done = 1;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static void io_call_run(rx_work_t *w)
{
    io_call_work_t *c = w->data;
    c->fn(c->arg, &c->sync);
}

int io_call(void (*fn)(void *arg, io_sync_t *sync), void *arg)
{
    io_call_work_t c = {.work = {.cb = io_call_run}, .fn = fn, .arg = arg};
    c.work.data = &c;
    pthread_mutex_init(&c.sync.lock, NULL);
    pthread_cond_init(&c.sync.cond, NULL);
    int rc = io_post_existing(&c.work);
    if (rc == 0) {
        pthread_mutex_lock(&c.sync.lock);
        while (!c.sync.done)
            pthread_cond_wait(&c.sync.cond, &c.sync.lock);
        pthread_mutex_unlock(&c.sync.lock);
    }
    pthread_cond_destroy(&c.sync.cond);
    pthread_mutex_destroy(&c.sync.lock);
    return rc;
}

void io_stop_if_idle(void)
{
    pthread_mutex_lock(&io.lock);
    if (io.running && atomic_load(&io.live) == 0) {
        atomic_store(&io.idle_stop, 1);
        rx_loop_stop(io.loop);
        pthread_join(io.thread, NULL);
        atomic_store(&io.idle_stop, 0);
        rx_loop_destroy(&io.loop);
        io.running = 0;
    }
    pthread_mutex_unlock(&io.lock);
}

/* ---- monitors --------------------------------------------------------- */

static void io_mon_start_run(rx_work_t *w)
{
    io_mon_cmd_t *cmd = w->data;
    io_mon_t *old = io_mon_find(cmd->sock_id);
    if (old != NULL)
        io_mon_remove(old);
    io_mon_t *m = calloc(1, sizeof(*m));
    if (m == NULL || monitor_new(&m->m, io.loop, cmd->in, cmd->out, cmd->addr,
                                 cmd->events, io_mon_stopped, m) != 0) {
        free(m);
        real()->close(cmd->in);
        real()->close(cmd->out);
        io_release();
    } else {
        m->sock_id = cmd->sock_id;
        m->ctx = cmd->ctx;
        m->next = io.monitors;
        io.monitors = m;
        monitor_kick(m->m);
    }
    free(cmd->addr);
    free(cmd);
}

int io_monitor_start(uint32_t sock_id, void *ctx, void *in, void *out, const char *addr,
                     int events)
{
    io_mon_cmd_t *cmd = calloc(1, sizeof(*cmd));
    if (cmd != NULL)
        cmd->addr = strdup(addr);
    if (cmd == NULL || cmd->addr == NULL) {
        free(cmd);
        return -ENOMEM;
    }
    cmd->work.cb = io_mon_start_run;
    cmd->work.data = cmd;
    cmd->sock_id = sock_id;
    cmd->ctx = ctx;
    cmd->in = in;
    cmd->out = out;
    cmd->events = events;
    int rc = io_post(&cmd->work, 1);
    if (rc < 0) {
        free(cmd->addr);
        free(cmd);
    }
    return rc;
}

static void io_mon_stop_run(void *arg, io_sync_t *sync)
{
    io_mon_t *m = io_mon_find(*(uint32_t *)arg);
    if (m != NULL)
        io_mon_remove(m);
    io_sync_done(sync);
}

void io_monitor_stop(uint32_t sock_id)
{
    (void)io_call(io_mon_stop_run, &sock_id);
}

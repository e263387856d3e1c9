/*
 * fork() while other threads are inside zmtls: the child of a fork taken at
 * any moment can use tls:// with a context of its own (as with libzmq, it
 * must not touch the parent's context).
 *
 * Two hammer threads keep zmtls's process-wide locks busy in the parent:
 *   - registry: zmq_socket, credentials, zmq_connect to the parent's tls://
 *     ROUTER, zmtls option set/get, zmq_close in a tight loop (the socket
 *     registry lock ten or more times per round, and a TLS handshake
 *     started and cut on the I/O thread each round; under ASan the set/get
 *     only, on one socket: see HAMMER_ALLOCATES);
 *   - peers: zmtls_peer_property on a ROUTER and
 *     zmtls_endpoint_peer_property on its DEALER, over one tls://
 *     connection established before the forks (the registry lock, then the
 *     peer table lock, on every call).
 * The fork handlers park the parent's I/O thread between callbacks and
 * hold every zmtls lock across fork(), so no child inherits a lock held by
 * a thread it does not have, ours, OpenSSL's or libzmq's.
 *
 * Once both hammers run, the main thread forks FORKS children, up to
 * INFLIGHT at once. Each child makes a new context, binds a REP and
 * connects a REQ over tls://127.0.0.1, does a round trip, reads both
 * sides' peer certificates (zmtls_endpoint_peer_property), closes, terms
 * its context and _exits 0. A child stuck on a lock inherited held is ended
 * by its own alarm, which exits CHILD_HUNG + the step it was in ("zmq_ctx_new"
 * is the registry lock; "round trip" is usually the child's I/O thread
 * stuck on the peer table lock when the handshake completes). The parent
 * waits for each child on a deadline (pidfd, else waitpid polling) and
 * SIGKILLs one that outlives it. Every child must exit 0.
 *
 * Then a fork while a zmq_ctx_term waits on the I/O thread: a second
 * context's DEALER is closed with a message queued for a tls:// endpoint
 * that refuses connections (its endpoint lingers), and another thread's
 * zmq_ctx_term waits for it. TERM_FORKS children are forked while it waits,
 * each running the same child; the waiting termination belongs to the
 * parent's I/O thread and must be forgotten in the child with it. A tls://
 * ROUTER then binds the port, the queued message is delivered and the
 * termination returns.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "testutil.h"
#include "zmtls.h"

#define FORKS    40
#define INFLIGHT 4
/* Forks happen within this window of the hammers running. */
#define FORK_PHASE_MS 8000
/* Fewer forks in FORK_PHASE_MS would mean a machine too slow to tell. */
#define MIN_FORKS 10
/* A healthy child takes a few hundred ms under ASan, a couple of seconds
 * with the CPUs shared with other tests' spinning hammers. */
#define CHILD_WATCHDOG_S 10
/* Longer than the child's own watchdog, so that names the step. */
#define CHILD_WAIT_MS 15000
/* Parent's backstop per child, from its fork. */
#define CHILD_KILL_MS 14000
/* Exit status of a child whose watchdog fired: CHILD_HUNG + step. */
#define CHILD_HUNG 100
/* Children forked while a context termination waits. Not under
 * AddressSanitizer (HAMMER_ALLOCATES 0, below): there one child of this
 * phase hung in its TLS round trip in about twenty runs on a loaded
 * machine, not reproduced since; GCC 12's ASan keeps its allocator's
 * locks out of fork handling, and in this phase threads of the parent's
 * contexts (libzmq's among them) are not kept out of the allocator. The
 * normal build runs it every time. */
#define TERM_FORKS_WANTED 3

/* ------------------------------------------------------------------ */
/* Child                                                                */

enum {
    STEP_START,
    STEP_CTX_NEW,
    STEP_SOCKET,
    STEP_OPTIONS,
    STEP_BIND,
    STEP_CONNECT,
    STEP_ROUNDTRIP,
    STEP_PEER_PROPERTY,
    STEP_CLOSE,
    STEP_CTX_TERM,
    STEP_COUNT
};

static const char *const step_names[STEP_COUNT] = {
    "start",     "zmq_ctx_new", "zmq_socket", "zmq_setsockopt",
    "zmq_bind",  "zmq_connect", "round trip", "zmtls_endpoint_peer_property",
    "zmq_close", "zmq_ctx_term"};

static volatile sig_atomic_t child_step;

static void child_watchdog_fired(int sig)
{
    (void)sig;
    /* Only async-signal-safe calls here. */
    static const char msg[] = "fork child: watchdog fired in ";
    const char *step = step_names[child_step];
    ssize_t rc = write(2, msg, sizeof msg - 1);
    rc = write(2, step, strlen(step));
    rc = write(2, "\n", 1);
    (void)rc;
    _exit(CHILD_HUNG + child_step);
}

static void child_main(const char *server_subject, const char *client_subject)
{
    signal(SIGALRM, child_watchdog_fired);
    alarm(CHILD_WATCHDOG_S);

    child_step = STEP_CTX_NEW;
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    child_step = STEP_SOCKET;
    void *rep = tu_socket(ctx, ZMQ_REP);
    void *req = tu_socket(ctx, ZMQ_REQ);
    child_step = STEP_OPTIONS;
    tu_set_creds(rep, "server.pem", "server.key", "ca.pem");
    tu_set_creds(req, "client.pem", "client.key", "ca.pem");
    child_step = STEP_BIND;
    char ep[TU_EP_MAX];
    tu_bind_ephemeral(rep, "tls://127.0.0.1:*", ep);
    child_step = STEP_CONNECT;
    CHECK_EQ(zmq_connect(req, ep), 0);
    child_step = STEP_ROUNDTRIP;
    CHECK_EQ(tu_roundtrip_str(req, rep, "from the child", CHILD_WAIT_MS), 0);

    /* The peer table, from both ends of the child's own connection. */
    child_step = STEP_PEER_PROPERTY;
    char buf[512];
    CHECK(zmtls_endpoint_peer_property(req, ep, "Subject", buf, sizeof buf) > 0);
    CHECK_STR(buf, server_subject);
    CHECK(zmtls_endpoint_peer_property(rep, ep, "Subject", buf, sizeof buf) > 0);
    CHECK_STR(buf, client_subject);

    child_step = STEP_CLOSE;
    CHECK_EQ(zmq_close(req), 0);
    CHECK_EQ(zmq_close(rep), 0);
    child_step = STEP_CTX_TERM;
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    /* _exit: the parent's exit handlers and stdio buffers are not ours. */
    _exit(0);
}

/* ------------------------------------------------------------------ */
/* Hammers                                                              */

/* Under AddressSanitizer the hammers must not allocate: GCC 12's ASan does
 * not hold its allocator's locks across fork, so a child forked while
 * another thread was inside malloc can hang in the sanitizer whatever zmtls
 * does. The registry hammer then keeps to one socket instead of opening and
 * closing them (glibc's malloc is safe across fork). */
#if defined(__SANITIZE_ADDRESS__)
#define HAMMER_ALLOCATES 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAMMER_ALLOCATES 0
#endif
#endif
#ifndef HAMMER_ALLOCATES
#define HAMMER_ALLOCATES 1
#endif
#define TERM_FORKS (HAMMER_ALLOCATES ? TERM_FORKS_WANTED : 0)

static atomic_int stop;

/* The forks start once every hammer has done a round: a thread that is
 * still starting allocates (under ASan, see above). */
static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
static int ready;

static void hammer_ready(unsigned long rounds)
{
    if (rounds != 1)
        return;
    CHECK_EQ(pthread_mutex_lock(&ready_lock), 0);
    ready++;
    CHECK_EQ(pthread_cond_broadcast(&ready_cond), 0);
    CHECK_EQ(pthread_mutex_unlock(&ready_lock), 0);
}

static void hammers_wait(int n)
{
    struct timespec deadline;
    CHECK_EQ(clock_gettime(CLOCK_REALTIME, &deadline), 0);
    deadline.tv_sec += TU_TIMEOUT_MS / 1000;
    CHECK_EQ(pthread_mutex_lock(&ready_lock), 0);
    while (ready < n)
        CHECK_EQ(pthread_cond_timedwait(&ready_cond, &ready_lock, &deadline), 0);
    CHECK_EQ(pthread_mutex_unlock(&ready_lock), 0);
}

typedef struct registry_hammer {
    void *ctx;
    void *spare; /* a socket of its own, credentials set */
    const char *cert;
    const char *endpoint; /* the parent's tls:// ROUTER */
    unsigned long rounds, cycles, emfile;
} registry_hammer_t;

static void *registry_hammer(void *arg)
{
    registry_hammer_t *h = arg;
    char buf[1024];
    while (!atomic_load(&stop)) {
        void *s = NULL;
        if (HAMMER_ALLOCATES) {
            s = zmq_socket(h->ctx, ZMQ_DEALER);
            /* libzmq frees a closed socket's slot later, on its reaper
             * thread, which a loop this tight can outrun: then the spare. */
            if (s == NULL) {
                CHECK_EQ(errno, EMFILE);
                h->emfile++;
            } else {
                tu_set_creds(s, "client.pem", "client.key", "ca.pem");
                tu_set_int(s, ZMQ_LINGER, 0);
                /* a TLS handshake starts on the I/O thread, and the close
                 * below ends it wherever it got to: forks land while the
                 * I/O thread is inside OpenSSL and libzmq */
                CHECK_EQ(zmq_connect(s, h->endpoint), 0);
            }
        }
        void *use = s != NULL ? s : h->spare;
        for (int i = 0; i < 8; i++) {
            tu_set_int(use, ZMTLS_AUTH_IVL, 100 + i);
            CHECK_EQ(tu_get_int(use, ZMTLS_AUTH_IVL), 100 + i);
        }
        size_t len = sizeof buf;
        CHECK_EQ(zmq_getsockopt(use, ZMTLS_CERT_FILE, buf, &len), 0);
        CHECK_STR(buf, s != NULL ? tu_cert("client.pem") : h->cert);
        if (s != NULL) {
            CHECK_EQ(zmq_close(s), 0);
            h->cycles++;
        }
        hammer_ready(++h->rounds);
    }
    return NULL;
}

typedef struct peers_hammer {
    void *router, *dealer;
    const char *endpoint;
    unsigned char rid[256];
    size_t rid_len;
    char client_subject[512], server_subject[512];
    unsigned long lookups;
} peers_hammer_t;

static void *peers_hammer(void *arg)
{
    peers_hammer_t *h = arg;
    char buf[512];
    while (!atomic_load(&stop)) {
        CHECK(zmtls_peer_property(h->router, h->rid, h->rid_len, "Subject", buf,
                                  sizeof buf) > 0);
        CHECK_STR(buf, h->client_subject);
        CHECK(zmtls_endpoint_peer_property(h->dealer, h->endpoint, "Subject", buf,
                                           sizeof buf) > 0);
        CHECK_STR(buf, h->server_subject);
        h->lookups += 2;
        hammer_ready(h->lookups / 2);
    }
    return NULL;
}

/* A ROUTER and a DEALER over tls://, one message each way, so the peer
 * table has an entry for each end; ph records what the lookups must give. */
static void peers_setup(void *ctx, peers_hammer_t *ph, char *endpoint)
{
    ph->router = tu_socket(ctx, ZMQ_ROUTER);
    tu_set_creds(ph->router, "server.pem", "server.key", "ca.pem");
    tu_bind_ephemeral(ph->router, "tls://127.0.0.1:*", endpoint);
    ph->dealer = tu_socket(ctx, ZMQ_DEALER);
    tu_set_creds(ph->dealer, "client.pem", "client.key", "ca.pem");
    CHECK_EQ(zmq_connect(ph->dealer, endpoint), 0);
    ph->endpoint = endpoint;

    CHECK_EQ(tu_send_str(ph->dealer, "hello", 0), 5);
    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(ph->router, &m, TU_TIMEOUT_MS), 0);
    CHECK_EQ(m.n, 2);
    CHECK(tu_msg_part_is(&m, 1, "hello"));
    ph->rid_len = zmq_msg_size(&m.part[0]);
    CHECK(ph->rid_len > 0 && ph->rid_len <= sizeof ph->rid);
    memcpy(ph->rid, zmq_msg_data(&m.part[0]), ph->rid_len);
    tu_msg_close(&m);
    const void *parts[2] = {ph->rid, "welcome"};
    size_t lens[2] = {ph->rid_len, 7};
    tu_send_parts(ph->router, 2, parts, lens);
    char buf[16];
    CHECK_EQ(tu_recv_str(ph->dealer, buf, sizeof buf, TU_TIMEOUT_MS), 7);
    CHECK_STR(buf, "welcome");

    CHECK(zmtls_peer_property(ph->router, ph->rid, ph->rid_len, "Subject",
                              ph->client_subject, sizeof ph->client_subject) > 0);
    CHECK(zmtls_endpoint_peer_property(ph->dealer, endpoint, "Subject",
                                       ph->server_subject,
                                       sizeof ph->server_subject) > 0);
    CHECK(strcmp(ph->client_subject, ph->server_subject) != 0);
}

/* ------------------------------------------------------------------ */
/* Children, seen from the parent                                       */

typedef struct child {
    pid_t pid;
    int pidfd; /* -1 without pidfd_open: waitpid polling */
    int index;
    int64_t forked_ms;
} child_t;

typedef struct tally {
    int ok, hung, failed;
    long long slowest_ok_ms;
    int hung_at[STEP_COUNT];
} tally_t;

static int pidfd_for(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

static void child_report(const child_t *c, int status, int killed, tally_t *t)
{
    long long ms = (long long)(tu_now_ms() - c->forked_ms);
    if (killed) {
        fprintf(stderr,
                "child %d (pid %d) hung: no exit in %lld ms, killed (deadlock "
                "after fork)\n",
                c->index, (int)c->pid, ms);
        t->hung++;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        t->ok++;
        if (ms > t->slowest_ok_ms)
            t->slowest_ok_ms = ms;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) >= CHILD_HUNG &&
               WEXITSTATUS(status) < CHILD_HUNG + STEP_COUNT) {
        int step = WEXITSTATUS(status) - CHILD_HUNG;
        fprintf(stderr,
                "child %d (pid %d) hung in %s for %d s (deadlock after fork: a "
                "lock held by another thread of the parent at fork)\n",
                c->index, (int)c->pid, step_names[step], CHILD_WATCHDOG_S);
        t->hung++;
        t->hung_at[step]++;
    } else if (WIFEXITED(status)) {
        fprintf(stderr, "child %d (pid %d) failed: exit status %d after %lld ms\n",
                c->index, (int)c->pid, WEXITSTATUS(status), ms);
        t->failed++;
    } else {
        fprintf(stderr, "child %d (pid %d) died of signal %d after %lld ms\n", c->index,
                (int)c->pid, WIFSIGNALED(status) ? WTERMSIG(status) : -1, ms);
        t->failed++;
    }
}

/* Reaps the children that have ended and kills those past CHILD_KILL_MS;
 * waits at most until wait_until for one to end. Returns how many remain. */
static int children_reap(child_t *kids, int n, int64_t wait_until, tally_t *t)
{
    int64_t now = tu_now_ms();
    int64_t until = wait_until;
    struct pollfd pfds[INFLIGHT];
    int npfd = 0, polling = 0;
    for (int i = 0; i < n; i++) {
        if (kids[i].forked_ms + CHILD_KILL_MS < until)
            until = kids[i].forked_ms + CHILD_KILL_MS;
        if (kids[i].pidfd >= 0)
            pfds[npfd++] = (struct pollfd){.fd = kids[i].pidfd, .events = POLLIN};
        else
            polling = 1;
    }
    int timeout = until > now ? (int)(until - now) : 0;
    if (polling && timeout > 10)
        timeout = 10; /* no pidfd: look again shortly */
    if (n > 0 && timeout > 0)
        CHECK(poll(pfds, (nfds_t)npfd, timeout) >= 0 || errno == EINTR);

    int kept = 0;
    for (int i = 0; i < n; i++) {
        child_t *c = &kids[i];
        int status = 0, killed = 0;
        pid_t rc = waitpid(c->pid, &status, WNOHANG);
        CHECK(rc >= 0);
        if (rc == 0 && tu_now_ms() >= c->forked_ms + CHILD_KILL_MS) {
            CHECK_EQ(kill(c->pid, SIGKILL), 0);
            CHECK_EQ(waitpid(c->pid, &status, 0), c->pid);
            killed = 1;
            rc = c->pid;
        }
        if (rc == 0) {
            kids[kept++] = *c;
            continue;
        }
        child_report(c, status, killed, t);
        if (c->pidfd >= 0)
            close(c->pidfd);
    }
    return kept;
}

/* ------------------------------------------------------------------ */
/* A fork while a context termination waits                            */

typedef struct pending_term {
    void *ctx;
    atomic_int tid;
    pthread_t thread;
} pending_term_t;

static void *pending_term_run(void *arg)
{
    pending_term_t *p = arg;
    atomic_store(&p->tid, (int)syscall(SYS_gettid));
    CHECK_EQ(zmq_ctx_term(p->ctx), 0);
    return NULL;
}

/* Whether thread tid is blocked in futex(2) (a condition wait): the
 * termination waits on the I/O thread that way. */
static int thread_in_futex(int tid)
{
    char path[64], line[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    int in = fgets(line, sizeof line, f) != NULL && atol(line) == SYS_futex;
    fclose(f);
    return in;
}

/* Returns how many children exited 0. */
static int forks_while_term_waits(const peers_hammer_t *ph, tally_t *t)
{
    int holder;
    int port = tu_closed_port(&holder);
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof ep, "tls://127.0.0.1:%d", port);

    pending_term_t p = {.ctx = zmq_ctx_new()};
    CHECK(p.ctx != NULL);
    void *dealer = tu_socket(p.ctx, ZMQ_DEALER);
    tu_set_creds(dealer, "client.pem", "client.key", "ca.pem");
    tu_set_int(dealer, ZMQ_LINGER, 60000);
    tu_set_int(dealer, ZMQ_RECONNECT_IVL, 50);
    CHECK_EQ(zmq_connect(dealer, ep), 0);
    CHECK_EQ(tu_send_str(dealer, "kept", 0), 4);
    CHECK_EQ(zmq_close(dealer), 0);
    CHECK_EQ(pthread_create(&p.thread, NULL, pending_term_run, &p), 0);
    int64_t until = tu_now_ms() + TU_TIMEOUT_MS;
    while ((atomic_load(&p.tid) == 0 || !thread_in_futex(atomic_load(&p.tid))) &&
           tu_now_ms() < until)
        sched_yield();
    CHECK(thread_in_futex(atomic_load(&p.tid)));

    int ok_before = t->ok;
    for (int i = 0; i < TERM_FORKS; i++) {
        child_t c = {.index = FORKS + i, .forked_ms = tu_now_ms()};
        c.pid = fork();
        CHECK(c.pid >= 0);
        if (c.pid == 0)
            child_main(ph->server_subject, ph->client_subject);
        c.pidfd = pidfd_for(c.pid);
        int left = 1;
        while (left > 0)
            left = children_reap(&c, 1, INT64_MAX, t);
    }

    /* The endpoint appears: the message goes and the termination ends. */
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    void *router = tu_socket(ctx, ZMQ_ROUTER);
    tu_set_creds(router, "server.pem", "server.key", "ca.pem");
    close(holder);
    CHECK_EQ(zmq_bind(router, ep), 0);
    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(router, &m, TU_TIMEOUT_MS), 0);
    CHECK_EQ(m.n, 2);
    CHECK(tu_msg_part_is(&m, 1, "kept"));
    tu_msg_close(&m);
    CHECK_EQ(pthread_join(p.thread, NULL), 0);
    CHECK_EQ(zmq_close(router), 0);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return t->ok - ok_before;
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    peers_hammer_t ph;
    memset(&ph, 0, sizeof ph);
    char endpoint[TU_EP_MAX];
    peers_setup(ctx, &ph, endpoint);
    registry_hammer_t rh = {
        .ctx = ctx, .cert = tu_cert("client.pem"), .endpoint = endpoint};
    rh.spare = tu_socket(ctx, ZMQ_DEALER);
    tu_set_str(rh.spare, ZMTLS_CERT_FILE, rh.cert);

    pthread_t rt, pt;
    CHECK_EQ(pthread_create(&rt, NULL, registry_hammer, &rh), 0);
    CHECK_EQ(pthread_create(&pt, NULL, peers_hammer, &ph), 0);
    hammers_wait(2);

    child_t kids[INFLIGHT];
    int inflight = 0, forked = 0, pidfds = 0;
    tally_t t;
    memset(&t, 0, sizeof t);
    int64_t t0 = tu_now_ms();
    while (forked < FORKS && tu_now_ms() < t0 + FORK_PHASE_MS) {
        if (inflight == INFLIGHT) {
            inflight = children_reap(kids, inflight, t0 + FORK_PHASE_MS, &t);
            continue;
        }
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0)
            child_main(ph.server_subject, ph.client_subject);
        child_t *c = &kids[inflight++];
        c->pid = pid;
        c->pidfd = pidfd_for(pid);
        c->index = forked++;
        c->forked_ms = tu_now_ms();
        pidfds += c->pidfd >= 0;
        /* Reap without waiting, so a free slot is used at once. */
        inflight = children_reap(kids, inflight, 0, &t);
    }
    long long fork_ms = (long long)(tu_now_ms() - t0);

    atomic_store(&stop, 1);
    CHECK_EQ(pthread_join(rt, NULL), 0);
    CHECK_EQ(pthread_join(pt, NULL), 0);
    while (inflight > 0)
        inflight = children_reap(kids, inflight, INT64_MAX, &t);
    int term_ok = TERM_FORKS > 0 ? forks_while_term_waits(&ph, &t) : 0;

    printf(
        "fork: %d children forked in %lld ms (%d watched by pidfd) while the hammers "
        "did %lu registry rounds (%lu opening and closing a socket, %lu EMFILE) and %lu "
        "peer property lookups\n",
        forked, fork_ms, pidfds, rh.rounds, rh.cycles, rh.emfile, ph.lookups);
    printf("fork: children ok %d (slowest %lld ms), hung %d, failed %d\n", t.ok,
           t.slowest_ok_ms, t.hung, t.failed);
    for (int s = 0; s < STEP_COUNT; s++)
        if (t.hung_at[s] > 0)
            printf("fork:   hung in %s: %d\n", step_names[s], t.hung_at[s]);
    printf("fork: while a context termination waited: %d of %d children ok\n", term_ok,
           TERM_FORKS);

    CHECK_EQ(zmq_close(rh.spare), 0);
    CHECK_EQ(zmq_close(ph.dealer), 0);
    CHECK_EQ(zmq_close(ph.router), 0);
    CHECK_EQ(zmq_ctx_term(ctx), 0);

    CHECK_EQ(t.hung, 0);
    CHECK_EQ(t.failed, 0);
    CHECK_EQ(t.ok, forked + TERM_FORKS);
    CHECK_INT(forked, >=, MIN_FORKS);
    return 0;
}

/*
 * Scale conformance over tls:// against tcp://:
 *   concurrent_2000    one ROUTER server and SCALE_N (2,000) DEALER clients
 *                      in a second context, all connected at once, each
 *                      sending one message and getting its own echo back;
 *                      the server's monitor counts exactly SCALE_N
 *                      HANDSHAKE_SUCCEEDED and no DISCONNECTED; the file
 *                      descriptors in use with every connection open are
 *                      printed (tls:// costs more per peer: the TCP fd plus
 *                      the mailbox eventfd of a bridge socket on each side);
 *   max_sockets_budget a client context whose ZMQ_MAX_SOCKETS covers the
 *                      application's own sockets with a little headroom,
 *                      as an application sizes it for tcp://; every client
 *                      must still get through.
 *
 * RLIMIT_NOFILE is raised to the hard limit first; a limit too low for
 * SCALE_N is reported with the number it would allow. The whole file is
 * bounded by the per-run watchdog (SCALE_WATCHDOG_S), not by timing
 * assertions; the times printed are for information.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "conf.h"
#include "zmtls.h"

#define SCALE_N          2000
#define SCALE_WATCHDOG_S 120
/* Our own deadline for the exchange, inside the watchdog. */
#define SCALE_DEADLINE_MS 100000
/* Connects issued between two service rounds, so the server keeps up and
 * no monitor queue grows without bound. */
#define SCALE_BATCH 100
/* Estimated fds per tls:// peer when both ends live in this process:
 * client TCP fd + client bridge's mailbox eventfd + client socket's
 * eventfd + server TCP fd + server bridge's eventfd. */
#define SCALE_FDS_PER_PEER 5

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the DIR's own fd */
}

static long raise_nofile(void)
{
    struct rlimit rl;
    CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rlim_t before = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    printf("RLIMIT_NOFILE: soft %llu -> %llu (hard limit)\n", (unsigned long long)before,
           (unsigned long long)rl.rlim_cur);
    return rl.rlim_cur == RLIM_INFINITY ? 1L << 30 : (long)rl.rlim_cur;
}

/* A monitor reader with an unlimited queue: thousands of events may come
 * between two reads. */
static void *quiet_monitor(void *ctx, void *sock, int mask)
{
    static unsigned counter;
    char addr[64];
    snprintf(addr, sizeof addr, "inproc://conf-scale-mon-%u", counter++);
    CHECK_EQ(zmq_socket_monitor(sock, addr, mask), 0);
    void *pair = tu_socket(ctx, ZMQ_PAIR);
    tu_set_int(pair, ZMQ_RCVHWM, 0);
    CHECK_EQ(zmq_connect(pair, addr), 0);
    return pair;
}

/* Echoes whatever the ROUTER has ([id, body] back to id), without
 * waiting. Returns the number echoed. */
static int serve(void *router)
{
    int n = 0;
    for (;;) {
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, router, ZMQ_DONTWAIT) < 0) {
            CHECK_EQ(errno, EAGAIN);
            zmq_msg_close(&id);
            return n;
        }
        CHECK(zmq_msg_more(&id));
        zmq_msg_init(&body);
        CHECK(zmq_msg_recv(&body, router, 0) >= 0);
        CHECK(!zmq_msg_more(&body));
        CHECK(zmq_msg_send(&id, router, ZMQ_SNDMORE) >= 0);
        CHECK(zmq_msg_send(&body, router, 0) >= 0);
        n++;
    }
}

typedef struct scale_run {
    int n;
    void *sctx, *cctx;
    void *router, *mon;
    tu_events_t log;
    void **clients;
    char *done;
    int replies;
    int echoed;
} scale_run_t;

/* One round: serve, read the monitor, collect replies (waiting up to
 * wait_ms for anything to happen). Checks each reply is the client's own
 * message. */
static void service(scale_run_t *r, int nclients, int wait_ms)
{
    zmq_pollitem_t *items = calloc((size_t)nclients + 2, sizeof *items);
    CHECK(items != NULL);
    items[0] = (zmq_pollitem_t){r->router, 0, ZMQ_POLLIN, 0};
    items[1] = (zmq_pollitem_t){r->mon, 0, ZMQ_POLLIN, 0};
    for (int i = 0; i < nclients; i++)
        items[i + 2] = (zmq_pollitem_t){r->clients[i], 0, r->done[i] ? 0 : ZMQ_POLLIN, 0};
    int rc = zmq_poll(items, nclients + 2, wait_ms);
    CHECK(rc >= 0 || errno == EINTR);
    r->echoed += serve(r->router);
    tu_pump(r->mon, &r->log);
    for (int i = 0; rc > 0 && i < nclients; i++) {
        if (!(items[i + 2].revents & ZMQ_POLLIN))
            continue;
        char buf[32], want[32];
        CHECK(tu_recv_str(r->clients[i], buf, sizeof buf, 0) > 0);
        snprintf(want, sizeof want, "c-%d", i);
        if (strcmp(buf, want) != 0) {
            fprintf(stderr, "client %d got \"%s\": a reply was misrouted\n", i, buf);
            exit(1);
        }
        CHECK(!r->done[i]);
        r->done[i] = 1;
        r->replies++;
    }
    free(items);
}

/* Runs n clients against one server; returns 0 when every client got its
 * reply within deadline_ms. */
static int scale_exchange(scale_run_t *r, const char *tr, int n, int client_max_sockets,
                          int deadline_ms)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->sctx = zmq_ctx_new();
    r->cctx = zmq_ctx_new();
    CHECK(r->sctx != NULL && r->cctx != NULL);
    if (client_max_sockets > 0)
        CHECK_EQ(zmq_ctx_set(r->cctx, ZMQ_MAX_SOCKETS, client_max_sockets), 0);
    r->router = conf_socket(r->sctx, ZMQ_ROUTER, tr, CONF_SERVER);
    /* Thousands of connects arrive at once; libzmq's default backlog of
     * 100 would make the kernel drop SYNs and clients wait for its
     * retransmission, for either transport. */
    tu_set_int(r->router, ZMQ_BACKLOG, 4096);
    /* The point is that every client is served, not how fast: on a slow
     * machine (a sanitizer build beside other jobs) thousands of queued
     * handshakes may wait past libzmq's default of 30 s, then fail and
     * retry. The whole exchange has its own deadline. */
    tu_set_int(r->router, ZMQ_HANDSHAKE_IVL, SCALE_DEADLINE_MS);
    /* Likewise, tls:// caps the handshakes in progress per listener and
     * per source address (here all from 127.0.0.1), and sends clients over
     * the caps back to their reconnect interval; an operator expecting
     * this many clients at once from one host raises both. */
    if (conf_is_tls(tr)) {
        tu_set_int(r->router, ZMTLS_HANDSHAKES_MAX, 4096);
        tu_set_int(r->router, ZMTLS_HANDSHAKES_PER_ADDR, 4096);
    }
    tu_events_init(&r->log);
    r->mon = quiet_monitor(r->sctx, r->router,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_ACCEPT_FAILED);
    char ep[TU_EP_MAX];
    conf_bind(r->router, tr, ep);
    r->clients = calloc((size_t)n, sizeof *r->clients);
    r->done = calloc((size_t)n, 1);
    CHECK(r->clients != NULL && r->done != NULL);

    int64_t deadline = tu_now_ms() + deadline_ms;
    for (int i = 0; i < n; i++) {
        r->clients[i] = zmq_socket(r->cctx, ZMQ_DEALER);
        if (r->clients[i] == NULL) {
            fprintf(stderr, "zmq_socket for client %d: %s\n", i, zmq_strerror(errno));
            exit(1);
        }
        tu_set_int(r->clients[i], ZMQ_LINGER, 0);
        tu_set_int(r->clients[i], ZMQ_HANDSHAKE_IVL, SCALE_DEADLINE_MS);
        conf_creds(r->clients[i], tr, CONF_CLIENT);
        conf_connect(r->clients[i], ep);
        char msg[32];
        snprintf(msg, sizeof msg, "c-%d", i);
        /* Queued on the connect's pipe until the connection is up. */
        CHECK_EQ(conf_try_send(r->clients[i], msg), 0);
        if ((i + 1) % SCALE_BATCH == 0)
            service(r, i + 1, 0);
    }
    while (r->replies < n && tu_now_ms() < deadline)
        service(r, n, 100);
    /* The events of the last handshakes may trail the replies a little. */
    while (tu_events_count(&r->log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED) < (unsigned)n &&
           tu_now_ms() < deadline)
        service(r, n, 100);
    return r->replies == n ? 0 : -1;
}

static void scale_close(scale_run_t *r)
{
    for (int i = 0; i < r->n; i++)
        CHECK_EQ(zmq_close(r->clients[i]), 0);
    CHECK_EQ(zmq_close(r->mon), 0);
    CHECK_EQ(zmq_close(r->router), 0);
    CHECK_EQ(zmq_ctx_term(r->cctx), 0);
    CHECK_EQ(zmq_ctx_term(r->sctx), 0);
    free(r->clients);
    free(r->done);
}

static void concurrent(const char *tr)
{
    long limit = raise_nofile();
    int base = open_fds();
    long need = (long)SCALE_N * SCALE_FDS_PER_PEER + base + 64;
    if (limit < need) {
        fprintf(stderr,
                "RLIMIT_NOFILE hard limit %ld < ~%ld needed for %d peers "
                "(%d fds each): at most ~%ld peers fit\n",
                limit, need, SCALE_N, SCALE_FDS_PER_PEER,
                (limit - base - 64) / SCALE_FDS_PER_PEER);
        exit(1);
    }
    int64_t t0 = tu_now_ms();
    scale_run_t r;
    /* libzmq's default ZMQ_MAX_SOCKETS is 1023; an application with this
     * many sockets raises it, for either transport. */
    int rc = scale_exchange(&r, tr, SCALE_N, SCALE_N + 64, SCALE_DEADLINE_MS);
    long long ms = tu_now_ms() - t0;
    int peak = open_fds();
    printf("%s: server monitor: HANDSHAKE_SUCCEEDED %u, DISCONNECTED %u, "
           "HANDSHAKE_FAILED_* %u, ACCEPT_FAILED %u\n",
           tr, tu_events_count(&r.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED),
           tu_events_count(&r.log, ZMQ_EVENT_DISCONNECTED),
           tu_events_count(&r.log, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) +
               tu_events_count(&r.log, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) +
               tu_events_count(&r.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH),
           tu_events_count(&r.log, ZMQ_EVENT_ACCEPT_FAILED));
    printf("%s: %d of %d clients got their reply in %lld ms; server echoed %d; "
           "fds in use with all connections open: %d (%d before; %.2f per peer)\n",
           tr, r.replies, SCALE_N, ms, r.echoed, peak, base,
           (double)(peak - base) / SCALE_N);
    CHECK_EQ(rc, 0);
    CHECK_EQ(r.echoed, SCALE_N);
    CHECK_EQ(tu_events_count(&r.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), SCALE_N);
    CHECK_EQ(tu_events_count(&r.log, ZMQ_EVENT_DISCONNECTED), 0);
    CHECK_EQ(tu_events_count(&r.log, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL), 0);
    CHECK_EQ(tu_events_count(&r.log, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL), 0);
    CHECK_EQ(tu_events_count(&r.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
    CHECK_EQ(tu_events_count(&r.log, ZMQ_EVENT_ACCEPT_FAILED), 0);
    int64_t t1 = tu_now_ms();
    scale_close(&r);
    printf("%s: closing %d clients and terminating both contexts took %lld ms\n", tr,
           SCALE_N, (long long)(tu_now_ms() - t1));
}

#define BUDGET_CLIENTS 40
/* The application's own sockets plus headroom, as sized for tcp://. */
#define BUDGET_MAX_SOCKETS (BUDGET_CLIENTS + 16)

static void max_sockets_budget(const char *tr)
{
    scale_run_t r;
    int rc = scale_exchange(&r, tr, BUDGET_CLIENTS, BUDGET_MAX_SOCKETS, TU_TIMEOUT_MS);
    printf("%s: ZMQ_MAX_SOCKETS %d, %d clients: %d got their reply; closing\n", tr,
           BUDGET_MAX_SOCKETS, BUDGET_CLIENTS, r.replies);
    /* Close and terminate first, as the application would: that must
     * work whatever the exchange gave. */
    scale_close(&r);
    printf("%s: closed and terminated\n", tr);
    CHECK_EQ(rc, 0);
}

int main(int argc, char **argv)
{
    static const conf_case_t cases[] = {
        {"concurrent_2000", concurrent, SCALE_WATCHDOG_S},
        {"max_sockets_budget", max_sockets_budget, 0},
    };
    return conf_main(argc, argv, "conf_scale", cases, CONF_N(cases));
}

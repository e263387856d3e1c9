/*
 * The two ends of one measurement. Each runs in its own process, pinned
 * before its context exists, and reports on stdout:
 *   server: "ready ENDPOINT [key=Z85]" once bound, "result k=v ..." when it
 *           measured something;
 *   client: "up N" (memory holders) or "result k=v ...";
 *   both:   "error MESSAGE" before exiting non-zero.
 * Then each waits for EOF on stdin (bounded) and tears down, so that a
 * client never disconnects before its server has finished measuring.
 */
#include "bench.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Longest silence a measurement tolerates before it gives up: far above any
 * honest stall, far below the orchestrator's own deadlines. */
#define ROLE_IO_TIMEOUT_MS 10000
/* The first message can wait for a connection (and a TLS handshake). */
#define ROLE_FIRST_TIMEOUT_MS 20000
/* How long one handshake may take before the run is declared broken. */
#define ROLE_HS_TIMEOUT_MS 5000
/* How long a role waits for the orchestrator's EOF before leaving anyway. */
#define ROLE_LINGER_MS 600000

typedef struct role {
    char who[64];
    int kase;
    int metric;
    const char *certs;
    void *ctx;
} role_t;

static void role_fail(const role_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void role_fail(const role_t *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("error %s\n", msg);
    fflush(stdout);
    bench_log(r->who, "%s", msg);
    /* _exit: tearing libzmq down after a failure could hang, and the
     * orchestrator only needs the message. */
    _exit(3);
}

static void set_int(const role_t *r, void *s, int opt, int v)
{
    if (zmq_setsockopt(s, opt, &v, sizeof(v)) != 0)
        role_fail(r, "zmq_setsockopt(%d, %d): %s", opt, v, zmq_strerror(errno));
}

static void set_str(const role_t *r, void *s, int opt, const char *v)
{
    if (zmq_setsockopt(s, opt, v, strlen(v)) != 0)
        role_fail(r, "zmq_setsockopt(%d, \"%s\"): %s %s", opt, v, zmq_strerror(errno),
                  zmtls_last_error());
}

static void set_cert(const role_t *r, void *s, int opt, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", r->certs, name);
    if (access(path, R_OK) != 0)
        role_fail(r, "%s: %s", path, strerror(errno));
    set_str(r, s, opt, path);
}

/* Options every socket of every case gets, so that transports differ only
 * in the transport. */
static void *role_socket(const role_t *r, int type)
{
    void *s = zmq_socket(r->ctx, type);
    if (s == NULL)
        role_fail(r, "zmq_socket: %s", zmq_strerror(errno));
    set_int(r, s, ZMQ_LINGER, 0);
    set_int(r, s, ZMQ_SNDHWM, 1000);
    set_int(r, s, ZMQ_RCVHWM, 1000);
    set_int(r, s, ZMQ_SNDTIMEO, ROLE_IO_TIMEOUT_MS);
    set_int(r, s, ZMQ_RCVTIMEO, ROLE_IO_TIMEOUT_MS);
    return s;
}

/* Server side of a case: CURVE keys (the public one goes to `pub`, 41
 * bytes) or zmtls credentials. tcp:// and the stunnel backend need
 * nothing. */
static void server_creds(const role_t *r, void *s, char *pub)
{
    pub[0] = '\0';
    if (r->kase == CASE_CURVE) {
        char secret[41];
        if (zmq_curve_keypair(pub, secret) != 0)
            role_fail(r, "zmq_curve_keypair: %s (libzmq without CURVE?)",
                      zmq_strerror(errno));
        set_int(r, s, ZMQ_CURVE_SERVER, 1);
        set_str(r, s, ZMQ_CURVE_SECRETKEY, secret);
    } else if (r->kase == CASE_TLS) {
        set_cert(r, s, ZMTLS_CERT_FILE, "server.pem");
        set_cert(r, s, ZMTLS_KEY_FILE, "server.key");
        set_cert(r, s, ZMTLS_CA_FILE, "ca.pem");
    }
}

static void client_creds(const role_t *r, void *s, const char *server_key, int resume)
{
    if (r->kase == CASE_CURVE) {
        char pub[41], secret[41];
        if (server_key == NULL || strlen(server_key) != 40)
            role_fail(r, "curve client needs key=<server public key>");
        if (zmq_curve_keypair(pub, secret) != 0)
            role_fail(r, "zmq_curve_keypair: %s", zmq_strerror(errno));
        set_str(r, s, ZMQ_CURVE_SERVERKEY, server_key);
        set_str(r, s, ZMQ_CURVE_PUBLICKEY, pub);
        set_str(r, s, ZMQ_CURVE_SECRETKEY, secret);
    } else if (r->kase == CASE_TLS) {
        set_cert(r, s, ZMTLS_CERT_FILE, "client.pem");
        set_cert(r, s, ZMTLS_KEY_FILE, "client.key");
        set_cert(r, s, ZMTLS_CA_FILE, "ca.pem");
#ifdef BENCH_RESUME_OPT
        /* Explicit either way: the library's default may change. */
        set_int(r, s, BENCH_RESUME_OPT, resume);
#else
        if (resume)
            role_fail(r, "this zmtls has no session resumption option");
#endif
    }
}

/* ---- monitor ------------------------------------------------------------ */

static void *mon_open(const role_t *r, void *s, int events)
{
    static unsigned n;
    char addr[64];
    snprintf(addr, sizeof(addr), "inproc://bench-mon-%u", n++);
    if (zmq_socket_monitor(s, addr, events) != 0)
        role_fail(r, "zmq_socket_monitor: %s", zmq_strerror(errno));
    void *m = zmq_socket(r->ctx, ZMQ_PAIR);
    if (m == NULL || zmq_connect(m, addr) != 0)
        role_fail(r, "monitor PAIR: %s", zmq_strerror(errno));
    set_int(r, m, ZMQ_LINGER, 0);
    return m;
}

/* One event within timeout_ms: 0, or -1 on timeout. libzmq 4.3 format:
 * frame 1 is uint16 event + uint32 value, frame 2 the endpoint. */
static int mon_event(const role_t *r, void *m, int timeout_ms, int *ev, uint32_t *value)
{
    zmq_pollitem_t it = {m, 0, ZMQ_POLLIN, 0};
    int rc = zmq_poll(&it, 1, timeout_ms);
    if (rc < 0)
        role_fail(r, "zmq_poll(monitor): %s", zmq_strerror(errno));
    if (rc == 0)
        return -1;
    uint8_t head[6];
    char ep[256];
    if (zmq_recv(m, head, sizeof(head), 0) != 6 || zmq_recv(m, ep, sizeof(ep), 0) < 0)
        role_fail(r, "malformed monitor event");
    uint16_t e;
    memcpy(&e, head, 2);
    memcpy(value, head + 2, 4);
    *ev = e;
    return 0;
}

static int ev_is_failure(int ev)
{
    return ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
           ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
           ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
}

/* ---- lifecycle ---------------------------------------------------------- */

/* Waits for EOF on stdin (the orchestrator is done with us), reading
 * monitor events meanwhile when `mon` is given so libzmq never blocks on a
 * full monitor pipe. Counts HANDSHAKE_SUCCEEDED / failures seen. */
static void wait_release(const role_t *r, void *mon, long *hs, long *failed)
{
    int64_t deadline = tool_now_ms() + ROLE_LINGER_MS;
    for (;;) {
        zmq_pollitem_t it[2] = {{NULL, 0, ZMQ_POLLIN, 0}, {mon, 0, ZMQ_POLLIN, 0}};
        int64_t left = deadline - tool_now_ms();
        if (left <= 0) {
            bench_log(r->who, "no EOF on stdin within %d s; leaving",
                      ROLE_LINGER_MS / 1000);
            return;
        }
        int rc = zmq_poll(it, mon != NULL ? 2 : 1, (long)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return;
        if (it[0].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) {
            char buf[256];
            ssize_t n = read(0, buf, sizeof(buf));
            if (n <= 0)
                return;
        }
        if (mon != NULL && (it[1].revents & ZMQ_POLLIN)) {
            int ev;
            uint32_t v;
            while (mon_event(r, mon, 0, &ev, &v) == 0) {
                if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && hs != NULL)
                    (*hs)++;
                if (ev_is_failure(ev) && failed != NULL)
                    (*failed)++;
            }
        }
    }
}

/* samples=FILE: the raw per-iteration times in µs, in order, for looking
 * at a distribution (stalls, drift) rather than its summary. */
static const char *samples_path;

static void dump_samples(const double *us, long n)
{
    if (samples_path == NULL)
        return;
    FILE *f = fopen(samples_path, "w");
    if (f == NULL)
        return;
    for (long i = 0; i < n; i++)
        fprintf(f, "%.2f\n", us[i]);
    fclose(f);
}

static void print_affinity_tail(void)
{
    char cpus[128];
    int n = tool_affinity(0, cpus, sizeof(cpus));
    printf(" tasks=%d cpus=%s\n", n, cpus);
    fflush(stdout);
}

/* ---- server ------------------------------------------------------------- */

static void server_lat(const role_t *r, void *s)
{
    long n = 0;
    set_int(r, s, ZMQ_RCVTIMEO, ROLE_FIRST_TIMEOUT_MS);
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, 0) < 0)
            role_fail(r, "no request after %ld round trips: %s", n, zmq_strerror(errno));
        if (n == 0)
            set_int(r, s, ZMQ_RCVTIMEO, ROLE_IO_TIMEOUT_MS);
        size_t size = zmq_msg_size(&m);
        if (zmq_msg_send(&m, s, 0) < 0)
            role_fail(r, "reply %ld: %s", n, zmq_strerror(errno));
        n++;
        if (size == 0) /* the client's "stop" */
            break;
    }
    printf("result echoed=%ld", n);
    print_affinity_tail();
}

static void server_thr(const role_t *r, void *s, long count, long size)
{
    set_int(r, s, ZMQ_RCVTIMEO, ROLE_FIRST_TIMEOUT_MS);
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, s, 0) < 0)
        role_fail(r, "no first message: %s", zmq_strerror(errno));
    /* First to last: connection set-up stays out of the figure. */
    int64_t t0 = tool_now_ns();
    set_int(r, s, ZMQ_RCVTIMEO, ROLE_IO_TIMEOUT_MS);
    for (long i = 1; i < count; i++) {
        if (zmq_msg_recv(&m, s, 0) < 0)
            role_fail(r, "message %ld of %ld: %s", i, count, zmq_strerror(errno));
        if ((long)zmq_msg_size(&m) != size)
            role_fail(r, "message %ld: %zu bytes, expected %ld", i, zmq_msg_size(&m),
                      size);
    }
    int64_t t1 = tool_now_ns();
    zmq_msg_close(&m);
    double secs = (double)(t1 - t0) / 1e9;
    double rate = secs > 0 ? (double)(count - 1) / secs : 0;
    printf("result msgs=%ld secs=%.6f rate=%.1f mbps=%.3f", count, secs, rate,
           rate * (double)size / 1e6);
    print_affinity_tail();
}

/* Counts authenticated connections until `target`, or until no new one came
 * for stall_ms (the largest count that fits, e.g. out of descriptors), then
 * reads our RSS. */
static void server_mem(const role_t *r, void *mon, long target, long rss0, int fds0)
{
    const int stall_ms = 5000;
    const int64_t deadline = tool_now_ms() + 240000;
    long hs = 0, failed = 0, accept_failed = 0;
    int64_t last = tool_now_ms();
    while (hs < target) {
        int64_t t = tool_now_ms();
        if (t - last > stall_ms || t > deadline)
            break;
        int ev;
        uint32_t v;
        if (mon_event(r, mon, 200, &ev, &v) != 0)
            continue;
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            hs++;
            last = tool_now_ms();
        } else if (ev_is_failure(ev)) {
            failed++;
        } else if (ev == ZMQ_EVENT_ACCEPT_FAILED) {
            accept_failed++;
        }
    }
    /* Let the last connections' buffers settle (TLS session tickets, ZMTP
     * metadata) before reading; keep reading events meanwhile. */
    int64_t settle = tool_now_ms() + 1000;
    while (tool_now_ms() < settle) {
        int ev;
        uint32_t v;
        if (mon_event(r, mon, 100, &ev, &v) == 0) {
            hs += ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
            failed += ev_is_failure(ev);
            accept_failed += ev == ZMQ_EVENT_ACCEPT_FAILED;
        }
    }
    long rss1 = tool_rss_kb(0);
    printf("result conns=%ld target=%ld rss0=%ld rss1=%ld fds0=%d fds1=%d "
           "hs_failed=%ld accept_failed=%ld",
           hs, target, rss0, rss1, fds0, tool_fd_count(0), failed, accept_failed);
    print_affinity_tail();
}

/* What both roles start with: case, metric and the endpoint argument
 * `ep_key` (failing with `usage` when one is missing), then the process
 * set-up. Returns the endpoint. */
static const char *role_begin(role_t *r, int argc, char **argv, const char *role,
                              const char *ep_key, const char *usage)
{
    r->certs = tool_arg(argc, argv, "certs", ".");
    r->kase = bench_case_parse(tool_arg(argc, argv, "case", NULL));
    r->metric = bench_metric_parse(tool_arg(argc, argv, "metric", NULL));
    snprintf(r->who, sizeof(r->who), "%s %s %s", role, tool_arg(argc, argv, "case", "?"),
             tool_arg(argc, argv, "metric", "?"));
    const char *ep = tool_arg(argc, argv, ep_key, NULL);
    if (r->kase < 0 || r->metric < 0 || ep == NULL)
        role_fail(r, "%s", usage);
    signal(SIGPIPE, SIG_IGN);
    /* Before the context: every thread libzmq and zmtls start inherits it. */
    int cpu = (int)tool_arg_long(argc, argv, "cpu", -1);
    if (tool_pin(cpu) != 0)
        role_fail(r, "cannot pin to CPU %d", cpu);
    tool_raise_nofile();
    return ep;
}

int role_server(int argc, char **argv)
{
    role_t r = {0};
    const char *bind = role_begin(
        &r, argc, argv, "server", "bind",
        "usage: server case=C metric=M bind=EP [size= count= certs= cpu= prio=]");
    long size = tool_arg_long(argc, argv, "size", 64);
    long count = tool_arg_long(argc, argv, "count", 1000);

    r.ctx = zmq_ctx_new();
    if (r.ctx == NULL)
        role_fail(&r, "zmq_ctx_new: %s", zmq_strerror(errno));
    /* Before the first socket, when libzmq starts its I/O threads; zmtls's
     * takes it with the first tls:// endpoint. */
    if (tool_arg_long(argc, argv, "prio", 0) != 0 &&
        zmq_ctx_set(r.ctx, ZMQ_THREAD_PRIORITY, 1) != 0)
        role_fail(&r, "ZMQ_THREAD_PRIORITY: %s", zmq_strerror(errno));
    /* Room for thousands of zmtls bridge sockets (zmtls sets this too). */
    zmq_ctx_set(r.ctx, ZMQ_MAX_SOCKETS, 16384);
    static const int type[] = {ZMQ_REP, ZMQ_PULL, ZMQ_ROUTER, ZMQ_ROUTER, ZMQ_ROUTER};
    void *s = role_socket(&r, type[r.metric]);
    /* Same accept queue for every transport (stunnel uses its own). */
    set_int(&r, s, ZMQ_BACKLOG, 1024);
    char pub[41];
    server_creds(&r, s, pub);
    void *mon = NULL;
    if (r.metric == M_NEW || r.metric == M_RECON || r.metric == M_MEM)
        mon = mon_open(&r, s, ZMQ_EVENT_ALL);
    if (zmq_bind(s, bind) != 0)
        role_fail(&r, "zmq_bind(%s): %s %s", bind, zmq_strerror(errno),
                  zmtls_last_error());
    char ep[256];
    size_t len = sizeof(ep);
    if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len) != 0)
        role_fail(&r, "ZMQ_LAST_ENDPOINT: %s", zmq_strerror(errno));
    long rss0 = tool_rss_kb(0);
    int fds0 = tool_fd_count(0);
    printf("ready %s%s%s\n", ep, pub[0] ? " key=" : "", pub);
    fflush(stdout);

    long hs = 0, failed = 0;
    switch (r.metric) {
    case M_LAT:
        server_lat(&r, s);
        break;
    case M_THR:
        server_thr(&r, s, count, size);
        break;
    case M_MEM:
        server_mem(&r, mon, count, rss0, fds0);
        break;
    default:
        break;
    }
    wait_release(&r, mon, &hs, &failed);
    if (r.metric == M_NEW || r.metric == M_RECON) {
        printf("result handshakes=%ld hs_failed=%ld", hs, failed);
        print_affinity_tail();
    }
    if (r.metric == M_MEM) {
        /* Thousands of connections: leaving is enough, and a teardown of
         * this size is not what is measured. */
        fflush(stdout);
        _exit(0);
    }
    if (mon != NULL) {
        zmq_socket_monitor(s, NULL, 0);
        zmq_close(mon);
    }
    zmq_close(s);
    zmq_ctx_term(r.ctx);
    return 0;
}

/* ---- client ------------------------------------------------------------- */

static void client_lat(const role_t *r, void *s, long size, long count, long warm,
                       double max_secs)
{
    char *buf = malloc((size_t)size + 1);
    double *us = malloc(sizeof(double) * (size_t)(count > 0 ? count : 1));
    if (buf == NULL || us == NULL)
        role_fail(r, "out of memory");
    memset(buf, 'x', (size_t)size);
    zmq_msg_t m;
    zmq_msg_init(&m);
    set_int(r, s, ZMQ_RCVTIMEO, ROLE_FIRST_TIMEOUT_MS);
    for (long i = 0; i < warm; i++) {
        if (zmq_send(s, buf, (size_t)size, 0) < 0 || zmq_msg_recv(&m, s, 0) < 0)
            role_fail(r, "warm-up round trip %ld: %s", i, zmq_strerror(errno));
        if (i == 0)
            set_int(r, s, ZMQ_RCVTIMEO, ROLE_IO_TIMEOUT_MS);
    }
    /* A time cap keeps slow cases bounded; 1000 samples still give a p99. */
    int64_t stop = tool_now_ns() + (int64_t)(max_secs * 1e9);
    long n = 0;
    while (n < count) {
        int64_t t0 = tool_now_ns();
        if (zmq_send(s, buf, (size_t)size, 0) < 0 || zmq_msg_recv(&m, s, 0) < 0)
            role_fail(r, "round trip %ld: %s", n, zmq_strerror(errno));
        int64_t t1 = tool_now_ns();
        if ((long)zmq_msg_size(&m) != size)
            role_fail(r, "reply %ld: %zu bytes, expected %ld", n, zmq_msg_size(&m), size);
        us[n++] = (double)(t1 - t0) / 1e3;
        if (t1 > stop && n >= 1000)
            break;
    }
    if (zmq_send(s, "", 0, 0) < 0 || zmq_msg_recv(&m, s, 0) < 0)
        role_fail(r, "stop round trip: %s", zmq_strerror(errno));
    zmq_msg_close(&m);
    dump_samples(us, n);
    qsort(us, (size_t)n, sizeof(double), tool_cmp_double);
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += us[i];
    printf("result n=%ld p50=%.2f p99=%.2f mean=%.2f min=%.2f max=%.2f", n,
           tool_quantile(us, (size_t)n, 0.50), tool_quantile(us, (size_t)n, 0.99),
           sum / (double)n, us[0], us[n - 1]);
    print_affinity_tail();
    free(us);
    free(buf);
}

static void client_thr(const role_t *r, void *s, long size, long count)
{
    char *buf = malloc((size_t)size + 1);
    if (buf == NULL)
        role_fail(r, "out of memory");
    memset(buf, 'x', (size_t)size);
    set_int(r, s, ZMQ_SNDTIMEO, ROLE_FIRST_TIMEOUT_MS);
    int64_t t0 = tool_now_ns();
    for (long i = 0; i < count; i++) {
        if (zmq_send(s, buf, (size_t)size, 0) < 0)
            role_fail(r, "send %ld of %ld: %s", i, count, zmq_strerror(errno));
        if (i == 0)
            set_int(r, s, ZMQ_SNDTIMEO, ROLE_IO_TIMEOUT_MS);
    }
    printf("result sent=%ld secs=%.6f", count, (double)(tool_now_ns() - t0) / 1e9);
    print_affinity_tail();
    free(buf);
}

/* Waits for `want` on the monitor, remembering when the attempt started
 * (CONNECT_DELAYED, else CONNECTED) and the fd CONNECTED reported. */
typedef struct hs_wait {
    int64_t t_start, t_end;
    int fd;
    long no_delayed; /* attempts where the TCP connect completed at once */
} hs_wait_t;

static void wait_handshake(const role_t *r, void *mon, hs_wait_t *w, long attempt)
{
    w->t_start = 0;
    w->fd = -1;
    int64_t deadline = tool_now_ms() + ROLE_HS_TIMEOUT_MS;
    for (;;) {
        int ev;
        uint32_t v;
        int64_t left = deadline - tool_now_ms();
        if (left <= 0 || mon_event(r, mon, (int)left, &ev, &v) != 0)
            role_fail(r, "connection %ld: no HANDSHAKE_SUCCEEDED within %d ms", attempt,
                      ROLE_HS_TIMEOUT_MS);
        int64_t t = tool_now_ns();
        if (ev == ZMQ_EVENT_CONNECT_DELAYED && w->t_start == 0)
            w->t_start = t;
        if (ev == ZMQ_EVENT_CONNECTED) {
            w->fd = (int)v;
            if (w->t_start == 0) {
                w->t_start = t;
                w->no_delayed++;
            }
        }
        if (ev_is_failure(ev))
            role_fail(r, "connection %ld: %s (%u)", attempt, zmtls_event_name(ev), v);
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            w->t_end = t;
            return;
        }
    }
}

static void print_hs_result(double *us, long n, double extra_mean, const char *extra_key,
                            long no_delayed)
{
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += us[i];
    dump_samples(us, n);
    qsort(us, (size_t)n, sizeof(double), tool_cmp_double);
    printf("result n=%ld rate=%.1f mean=%.2f p50=%.2f p99=%.2f %s=%.2f no_delayed=%ld", n,
           sum > 0 ? (double)n * 1e6 / sum : 0, sum / (double)n,
           tool_quantile(us, (size_t)n, 0.5), tool_quantile(us, (size_t)n, 0.99),
           extra_key, extra_mean, no_delayed);
    print_affinity_tail();
}

/* New connections one after another: zmq_connect, HANDSHAKE_SUCCEEDED,
 * zmq_disconnect. For zmtls the time includes building the endpoint's TLS
 * context on zmq_connect, which an application pays on every connect. */
static void client_new(const role_t *r, void *s, void *mon, const char *ep, long count,
                       long warm, double max_secs)
{
    double *us = malloc(sizeof(double) * (size_t)(count > 0 ? count : 1));
    if (us == NULL)
        role_fail(r, "out of memory");
    hs_wait_t w = {0};
    double call_sum = 0;
    long n = 0;
    int64_t stop = 0;
    for (long i = 0; n < count; i++) {
        if (i == warm)
            stop = tool_now_ns() + (int64_t)(max_secs * 1e9);
        int64_t t0 = tool_now_ns();
        if (zmq_connect(s, ep) != 0)
            role_fail(r, "zmq_connect(%s) #%ld: %s %s", ep, i, zmq_strerror(errno),
                      zmtls_last_error());
        int64_t t_call = tool_now_ns();
        wait_handshake(r, mon, &w, i);
        if (zmq_disconnect(s, ep) != 0)
            role_fail(r, "zmq_disconnect(%s) #%ld: %s", ep, i, zmq_strerror(errno));
        if (i < warm)
            continue;
        us[n++] = (double)(w.t_end - t0) / 1e3;
        call_sum += (double)(t_call - t0) / 1e3;
        if (w.t_end > stop && n >= 50)
            break;
    }
    print_hs_result(us, n, call_sum / (double)n, "connect_call", w.no_delayed);
    free(us);
}

/* Reconnects: the connection is dropped under libzmq / zmtls with
 * shutdown(2) on the fd CONNECTED reported (the fd stays theirs and open,
 * so nothing else can be hit), and the socket reconnects by itself after
 * ZMQ_RECONNECT_IVL (1 ms). Timed from the start of the new TCP connect
 * (CONNECT_DELAYED) to HANDSHAKE_SUCCEEDED, so the reconnect timer stays out
 * of the figure. This is the path TLS session resumption speeds up. */
static void client_recon(const role_t *r, void *s, void *mon, const char *ep, long count,
                         long warm, double max_secs)
{
    double *us = malloc(sizeof(double) * (size_t)(count > 0 ? count : 1));
    if (us == NULL)
        role_fail(r, "out of memory");
    hs_wait_t w = {0};
    if (zmq_connect(s, ep) != 0)
        role_fail(r, "zmq_connect(%s): %s %s", ep, zmq_strerror(errno),
                  zmtls_last_error());
    wait_handshake(r, mon, &w, 0);
    w.no_delayed = 0;
    double wall_sum = 0;
    long n = 0;
    int64_t stop = 0;
    for (long i = 0; n < count; i++) {
        if (i == warm)
            stop = tool_now_ns() + (int64_t)(max_secs * 1e9);
        if (w.fd < 0)
            role_fail(r, "reconnect %ld: no CONNECTED event carried an fd", i);
        int64_t t_drop = tool_now_ns();
        if (shutdown(w.fd, SHUT_RDWR) != 0)
            role_fail(r, "shutdown(fd %d): %s", w.fd, strerror(errno));
        wait_handshake(r, mon, &w, i + 1);
        if (i < warm)
            continue;
        us[n++] = (double)(w.t_end - w.t_start) / 1e3;
        wall_sum += (double)(w.t_end - t_drop) / 1e3;
        if (w.t_end > stop && n >= 50)
            break;
    }
    print_hs_result(us, n, wall_sum / (double)n, "wall", w.no_delayed);
    free(us);
}

int role_client(int argc, char **argv)
{
    role_t r = {0};
    const char *ep = role_begin(&r, argc, argv, "client", "ep",
                                "usage: client case=C metric=M ep=EP [key= size= count= "
                                "warm= secs= resume= certs= cpu=]");
    long size = tool_arg_long(argc, argv, "size", 64);
    long count = tool_arg_long(argc, argv, "count", 1000);
    long warm = tool_arg_long(argc, argv, "warm", 0);
    double secs = tool_arg_double(argc, argv, "secs", 5);
    const char *key = tool_arg(argc, argv, "key", NULL);
    int resume = (int)tool_arg_long(argc, argv, "resume", 0);
    samples_path = tool_arg(argc, argv, "samples", NULL);

    r.ctx = zmq_ctx_new();
    if (r.ctx == NULL)
        role_fail(&r, "zmq_ctx_new: %s", zmq_strerror(errno));
    zmq_ctx_set(r.ctx, ZMQ_MAX_SOCKETS, 16384);

    if (r.metric == M_MEM) {
        /* Holds `count` idle connections, one DEALER each, until released. */
        for (long i = 0; i < count; i++) {
            void *s = role_socket(&r, ZMQ_DEALER);
            client_creds(&r, s, key, 0);
            if (zmq_connect(s, ep) != 0)
                role_fail(&r, "zmq_connect #%ld: %s %s", i, zmq_strerror(errno),
                          zmtls_last_error());
        }
        printf("up %ld", count);
        print_affinity_tail();
        wait_release(&r, NULL, NULL, NULL);
        fflush(stdout);
        _exit(0);
    }

    static const int type[] = {ZMQ_REQ, ZMQ_PUSH, ZMQ_DEALER, ZMQ_DEALER, ZMQ_DEALER};
    void *s = role_socket(&r, type[r.metric]);
    client_creds(&r, s, key, resume);
    void *mon = NULL;
    if (r.metric == M_NEW || r.metric == M_RECON) {
        /* Reconnect at once after a drop; the timer is not what is timed. */
        set_int(&r, s, ZMQ_RECONNECT_IVL, 1);
        mon = mon_open(&r, s, ZMQ_EVENT_ALL);
    } else if (zmq_connect(s, ep) != 0) {
        role_fail(&r, "zmq_connect(%s): %s %s", ep, zmq_strerror(errno),
                  zmtls_last_error());
    }
    switch (r.metric) {
    case M_LAT:
        client_lat(&r, s, size, count, warm, secs);
        break;
    case M_THR:
        client_thr(&r, s, size, count);
        break;
    case M_NEW:
        client_new(&r, s, mon, ep, count, warm, secs);
        break;
    case M_RECON:
        client_recon(&r, s, mon, ep, count, warm, secs);
        break;
    default:
        break;
    }
    wait_release(&r, mon, NULL, NULL);
    if (mon != NULL) {
        zmq_socket_monitor(s, NULL, 0);
        zmq_close(mon);
    }
    zmq_close(s);
    zmq_ctx_term(r.ctx);
    return 0;
}

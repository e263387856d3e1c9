/*
 * Conformance harness: every scenario runs twice, over tcp:// (the
 * reference: libzmq's own transport) and over tls://, with the same code
 * and the same assertions. The promise under test is that an application
 * can swap tcp:// for tls:// and nothing else changes.
 *
 * Each (scenario, transport) run is a forked child with its own watchdog,
 * so a failing or hanging tls:// run neither hides the other scenarios nor
 * the tcp:// reference; the parent prints a matrix at the end and fails
 * the test when any run failed. The parent never touches libzmq (children
 * must not inherit a context across fork).
 *
 * Usage from a test's main:
 *     static const conf_case_t cases[] = {{"name", fn, 0}, ...};
 *     return conf_main(argc, argv, "conf_x", cases, CONF_N(cases));
 * Arguments (for debugging one run): [case-substring [tcp|tls]].
 *
 * A run that has nothing to check on its transport (the reference itself
 * is known not to work there) calls conf_skip(tr, why): the matrix shows
 * "skip" and the run does not count as failed.
 *
 * Metrics: a run may record integers (conf_metric) that the parent keeps;
 * the tls:// run, forked after the tcp:// one, can read the tcp:// value of
 * its own scenario (conf_metric_ref) to compare quantities that are not
 * exactly equal between transports (a high-water mark count, say).
 *
 * Only static functions: each test file is one translation unit.
 */
#ifndef ZMTLS_CONF_H
#define ZMTLS_CONF_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define CONF_N(a) (sizeof(a) / sizeof((a)[0]))

/* A child's watchdog when the case does not name one: far above what a
 * passing run needs, below ctest's 180 s for the whole file. */
#define CONF_CASE_WATCHDOG_S 20

/* Period of the probe loops: how long a probe waits for its own echo
 * before sending the next one. Only the pace of the loop; the deadline is
 * TU_TIMEOUT_MS. */
#define CONF_PROBE_MS 20

typedef void (*conf_fn_t)(const char *tr);

typedef struct conf_case {
    const char *name;
    conf_fn_t fn;
    unsigned watchdog_s; /* 0: CONF_CASE_WATCHDOG_S */
} conf_case_t;

/* ------------------------------------------------------------------ */
/* Transport-parametrised sockets                                       */

enum { CONF_SERVER, CONF_CLIENT };

static inline int conf_is_tls(const char *tr)
{
    return strcmp(tr, "tls") == 0;
}

/* Credentials a tls:// socket needs for its role; tcp:// sockets get
 * nothing, exactly as an application that only swapped the scheme. */
static inline void conf_creds(void *sock, const char *tr, int role)
{
    if (!conf_is_tls(tr))
        return;
    if (role == CONF_SERVER)
        tu_set_creds(sock, "server.pem", "server.key", "ca.pem");
    else
        tu_set_creds(sock, "client.pem", "client.key", "ca.pem");
}

/* tu_socket (LINGER 0) with the role's credentials. */
static inline void *conf_socket(void *ctx, int type, const char *tr, int role)
{
    void *s = tu_socket(ctx, type);
    conf_creds(s, tr, role);
    return s;
}

/* Binds tr://127.0.0.1:* and writes ZMQ_LAST_ENDPOINT to ep (TU_EP_MAX). */
static inline void conf_bind(void *sock, const char *tr, char *ep)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "%s://127.0.0.1:*", tr);
    tu_bind_ephemeral(sock, pattern, ep);
}

static inline void conf_connect(void *sock, const char *ep)
{
    if (zmq_connect(sock, ep) != 0) {
        fprintf(stderr, "zmq_connect(%s): %s\n", ep, zmq_strerror(errno));
        exit(1);
    }
}

/* "tr://127.0.0.1:port" */
static inline void conf_endpoint(char *out, const char *tr, int port)
{
    snprintf(out, TU_EP_MAX, "%s://127.0.0.1:%d", tr, port);
}

/* tu_peer_open with the role's credentials (none for tcp://). */
static inline void conf_peer_open(tu_peer_t *p, const char *name, void *ctx, int type,
                                  const char *tr, int role)
{
    tu_peer_open(p, name, ctx, type, NULL, NULL, NULL);
    conf_creds(p->sock, tr, role);
}

static inline void conf_peer_bind(tu_peer_t *p, const char *tr)
{
    conf_bind(p->sock, tr, p->endpoint);
}

/* ------------------------------------------------------------------ */
/* Messages                                                             */

/* Receives one single-frame string within timeout_ms, skipping frames that
 * start with `skip` (late copies of a probe). Returns its length or -1. */
static inline int conf_recv_skip(void *sock, char *buf, size_t cap, const char *skip,
                                 int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - tu_now_ms();
        int n = tu_recv_str(sock, buf, cap, left > 0 ? (int)left : 0);
        if (n < 0)
            return -1;
        if (skip == NULL || strncmp(buf, skip, strlen(skip)) != 0)
            return n;
    }
}

/* 1 when nothing arrives on sock within window_ms. */
static inline int conf_quiet(void *sock, int window_ms)
{
    return tu_wait_readable(sock, window_ms) != 0;
}

/* Sends one string with DONTWAIT; returns 0 when queued, else errno. */
static inline int conf_try_send(void *sock, const char *s)
{
    int rc = zmq_send(sock, s, strlen(s), ZMQ_DONTWAIT);
    if (rc == (int)strlen(s))
        return 0;
    CHECK(rc == -1);
    return errno;
}

/* Waits for `event` on p's monitor; prints p's events and returns -1 when
 * it does not come within timeout_ms (for callers that CHECK themselves). */
static inline int conf_wait_event(tu_peer_t *p, int event, int timeout_ms, int *value)
{
    if (tu_expect_event(p->mon, &p->log, event, timeout_ms, value) == 0)
        return 0;
    fprintf(stderr, "%s: no %s within %d ms\n", p->name, tu_event_name(event),
            timeout_ms);
    tu_events_print(&p->log, p->name);
    return -1;
}

/* Waits for `event` on p's monitor while polling `kick` for input too.
 * libzmq advances a socket's pipes (attaching a new peer, finishing a
 * disconnect or unbind) only when the application calls into that socket,
 * as any application that polls its sockets does; a test that waited on a
 * monitor alone would stall tcp:// itself. kick must stay unreadable
 * (fails otherwise). Returns 0, or -1 on timeout (p's events printed). */
static inline int conf_wait_event_kick(tu_peer_t *p, int event, void *kick,
                                       int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    for (;;) {
        int ev, val;
        char ep[TU_EP_MAX];
        while (tu_event_recv(p->mon, 0, &ev, &val, ep) == 0) {
            tu_events_add(&p->log, ev, val, ep);
            if (ev == event)
                return 0;
        }
        int64_t left = deadline - tu_now_ms();
        if (left <= 0) {
            fprintf(stderr, "%s: no %s within %d ms\n", p->name, tu_event_name(event),
                    timeout_ms);
            tu_events_print(&p->log, p->name);
            return -1;
        }
        zmq_pollitem_t items[2] = {{p->mon, 0, ZMQ_POLLIN, 0}, {kick, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 2, (long)left);
        CHECK(rc >= 0 || errno == EINTR);
        if (rc > 0 && (items[1].revents & ZMQ_POLLIN)) {
            fprintf(stderr, "%s: unexpected input while waiting for %s\n", p->name,
                    tu_event_name(event));
            exit(1);
        }
    }
}

/* Records p's monitor events for window_ms while polling `kick` (see
 * conf_wait_event_kick; it must stay unreadable). Returns how many. */
static inline int conf_pump_kick(tu_peer_t *p, void *kick, int window_ms)
{
    int64_t end = tu_now_ms() + window_ms;
    int n = 0;
    for (;;) {
        n += tu_pump(p->mon, &p->log);
        int64_t left = end - tu_now_ms();
        if (left <= 0)
            return n;
        zmq_pollitem_t items[2] = {{p->mon, 0, ZMQ_POLLIN, 0}, {kick, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 2, (long)left);
        CHECK(rc >= 0 || errno == EINTR);
        CHECK(rc <= 0 || !(items[1].revents & ZMQ_POLLIN));
    }
}

/* ------------------------------------------------------------------ */
/* Metrics shared with the parent                                      */

#define CONF_METRICS_MAX 32

typedef struct conf_metric_rec {
    char key[48];
    long long value;
} conf_metric_rec_t;

/* Parent: the tcp:// metrics of the case that is running (inherited by the
 * tls:// child through fork). Child: the pipe to the parent. */
static conf_metric_rec_t conf_ref[CONF_METRICS_MAX];
static size_t conf_nref;
static int conf_metric_fd = -1;

/* Set by a scenario whose reference itself leaks inside libzmq (see its
 * comment): the run then ends with _exit, which skips LeakSanitizer's exit
 * check in sanitizer builds. Every other run keeps the check. */
static int conf_skip_leak_check;

static inline void conf_metric(const char *key, long long value)
{
    char line[96];
    int n = snprintf(line, sizeof line, "%s=%lld\n", key, value);
    CHECK(n > 0 && (size_t)n < sizeof line && strlen(key) < sizeof conf_ref[0].key);
    if (conf_metric_fd >= 0)
        CHECK(write(conf_metric_fd, line, (size_t)n) == n);
}

/* The tcp:// run's value of key for this scenario: 0 and *value, or -1
 * when there is none (tcp:// failed, or this is the tcp:// run). */
static inline int conf_metric_ref(const char *key, long long *value)
{
    for (size_t i = 0; i < conf_nref; i++) {
        if (strcmp(conf_ref[i].key, key) == 0) {
            *value = conf_ref[i].value;
            return 0;
        }
    }
    return -1;
}

static inline void conf_metrics_parse(char *buf, conf_metric_rec_t *out, size_t *n)
{
    *n = 0;
    for (char *line = strtok(buf, "\n"); line != NULL && *n < CONF_METRICS_MAX;
         line = strtok(NULL, "\n")) {
        char *eq = strchr(line, '=');
        if (eq == NULL || (size_t)(eq - line) >= sizeof out[0].key)
            continue;
        memcpy(out[*n].key, line, (size_t)(eq - line));
        out[*n].key[eq - line] = '\0';
        out[*n].value = strtoll(eq + 1, NULL, 10);
        (*n)++;
    }
}

/* ------------------------------------------------------------------ */
/* Runner                                                               */

/* A child's exit status for "skipped" (automake's convention). */
#define CONF_SKIP_STATUS 77

/* Ends the running child as skipped, saying why. Only from a case
 * function, before it has opened anything. */
static inline void conf_skip(const char *tr, const char *why)
{
    printf("--- [%s] skipped: %s\n", tr, why);
    fflush(stdout);
    fflush(stderr);
    exit(CONF_SKIP_STATUS);
}

typedef struct conf_result {
    int status; /* 0 pass, else the child's exit code or 128 + signal */
    int ran;
} conf_result_t;

/* Runs one scenario over one transport in a child; returns its status. */
static inline int conf_run_one(const conf_case_t *c, const char *tr,
                               conf_metric_rec_t *metrics, size_t *nmetrics)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        conf_metric_fd = fds[1];
        tu_watchdog(c->watchdog_s ? c->watchdog_s : CONF_CASE_WATCHDOG_S);
        printf("--- %s [%s]\n", c->name, tr);
        c->fn(tr);
        printf("--- %s [%s]: ok\n", c->name, tr);
        fflush(stdout);
        fflush(stderr);
        if (conf_skip_leak_check)
            _exit(0);
        exit(0);
    }
    close(fds[1]);
    char buf[4096];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fds[0], buf + have, sizeof buf - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        if (have == sizeof buf - 1)
            break;
    }
    buf[have] = '\0';
    close(fds[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        CHECK(errno == EINTR);
    conf_metrics_parse(buf, metrics, nmetrics);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static inline const char *conf_status_text(int status, char *buf, size_t cap)
{
    if (status == 0)
        snprintf(buf, cap, "pass");
    else if (status == CONF_SKIP_STATUS)
        snprintf(buf, cap, "skip");
    else if (status == 1)
        snprintf(buf, cap, "FAIL");
    else if (status == 3)
        snprintf(buf, cap, "FAIL(watchdog)");
    else if (status > 128)
        snprintf(buf, cap, "FAIL(signal %d)", status - 128);
    else
        snprintf(buf, cap, "FAIL(exit %d)", status);
    return buf;
}

static inline int conf_main(int argc, char **argv, const char *suite,
                            const conf_case_t *cases, size_t n)
{
    tu_env_creds(argv, NULL, NULL, NULL);
    /* The parent only forks and waits; its own bound covers every child
     * timing out, and stays under ctest's TIMEOUT. */
    tu_watchdog(175);
    const char *only_case = argc > 1 ? argv[1] : NULL;
    const char *only_tr = argc > 2 ? argv[2] : NULL;
    static const char *const trs[2] = {"tcp", "tls"};
    conf_result_t(*res)[2] = calloc(n, sizeof *res);
    CHECK(res != NULL);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (only_case != NULL && strstr(cases[i].name, only_case) == NULL)
            continue;
        conf_nref = 0;
        for (int t = 0; t < 2; t++) {
            if (only_tr != NULL && strcmp(only_tr, trs[t]) != 0)
                continue;
            conf_metric_rec_t got[CONF_METRICS_MAX];
            size_t ngot = 0;
            int st = conf_run_one(&cases[i], trs[t], got, &ngot);
            res[i][t].ran = 1;
            res[i][t].status = st;
            if (st != 0 && st != CONF_SKIP_STATUS)
                failed++;
            /* tcp:// is the reference the tls:// run may compare with. */
            if (t == 0 && st == 0) {
                memcpy(conf_ref, got, ngot * sizeof got[0]);
                conf_nref = ngot;
            }
        }
    }
    printf("\n%s conformance matrix (tcp:// is the reference):\n", suite);
    printf("  %-38s %-16s %s\n", "scenario", "tcp", "tls");
    for (size_t i = 0; i < n; i++) {
        char a[32], b[32];
        if (!res[i][0].ran && !res[i][1].ran)
            continue;
        printf("  %-38s %-16s %s\n", cases[i].name,
               res[i][0].ran ? conf_status_text(res[i][0].status, a, sizeof a) : "-",
               res[i][1].ran ? conf_status_text(res[i][1].status, b, sizeof b) : "-");
    }
    printf("%s: %d run(s) failed\n", suite, failed);
    free(res);
    return failed ? 1 : 0;
}

#endif

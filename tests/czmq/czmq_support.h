/*
 * Helpers shared by the CZMQ tests: CZMQ programs that use tls:// the way
 * an application would, with libzmtls interposing the zmq_* calls CZMQ
 * makes.
 *
 * Header-only (static inline) because tests/CMakeLists.txt builds every
 * tests/czmq/test_*.c on its own and compiles nothing else from here.
 * Every wait is bounded, as in testutil.h: zpoller_wait with a timeout
 * against an absolute deadline, never a sleep.
 */
#ifndef ZMTLS_CZMQ_SUPPORT_H
#define ZMTLS_CZMQ_SUPPORT_H

#include <czmq.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "zmtls.h"

/* ------------------------------------------------------------------ */
/* Process                                                              */

/* Fails unless CZMQ's zmq_bind is libzmtls's. CZMQ calls zmq_* from inside
 * libczmq, so interposition depends on libzmtls being loaded before
 * libzmq; a link line that lost it (Debian's gcc links --as-needed, and
 * drops -lzmtls when the program itself names no symbol of it) would make
 * every tls:// call fail with EPROTONOSUPPORT, a confusing way to fail. */
static inline void cz_check_interposed(void)
{
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "zmq_bind");
    if (sym == NULL || dladdr(sym, &info) == 0 || info.dli_fname == NULL ||
        strstr(info.dli_fname, "libzmtls") == NULL) {
        fprintf(stderr,
                "zmq_bind resolves to %s, not libzmtls: CZMQ would bypass "
                "zmtls (link with -Wl,--no-as-needed -lzmtls)\n",
                sym != NULL && info.dli_fname != NULL ? info.dli_fname : "nothing");
        exit(1);
    }
}

/* Sets the process-default credentials. Call first in main, before any
 * thread exists: setenv is not safe while other threads may call getenv,
 * and the library reads these at zmq_connect / zmq_bind time. */
static inline void cz_env_creds(const char *cert, const char *key, const char *ca)
{
    CHECK(setenv("ZMTLS_CERT", tu_cert(cert), 1) == 0);
    CHECK(setenv("ZMTLS_KEY", tu_cert(key), 1) == 0);
    CHECK(setenv("ZMTLS_CA", tu_cert(ca), 1) == 0);
}

/* CZMQ has no setters for options it does not know; zmtls options go
 * through zmq_setsockopt on the libzmq handle (tu_set_creds does that).
 * Must run before zsock_bind / zsock_connect, which is why sockets that
 * need them are made with zsock_new rather than zsock_new_rep("@..."). */
static inline void cz_set_creds(zsock_t *sock, const char *cert, const char *key)
{
    tu_set_creds(zsock_resolve(sock), cert, key, NULL);
}

/* zsock_last_endpoint into a caller buffer (TU_EP_MAX bytes); CZMQ returns
 * a string the caller must free. */
static inline void cz_last_endpoint(zsock_t *sock, char *out)
{
    char *ep = zsock_last_endpoint(sock);
    CHECK(ep != NULL);
    CHECK(strlen(ep) < TU_EP_MAX);
    strcpy(out, ep);
    zstr_free(&ep);
}

static inline int cz_remaining(int64_t deadline)
{
    int64_t left = deadline - tu_now_ms();
    return left > 0 ? (int)left : 0;
}

/* 0 when sock (zsock_t or zactor_t) becomes readable within timeout_ms,
 * else -1. */
static inline int cz_wait_readable(void *sock, int timeout_ms)
{
    zpoller_t *poller = zpoller_new(sock, NULL);
    CHECK(poller != NULL);
    void *which = zpoller_wait(poller, timeout_ms);
    int rc = which == sock ? 0 : -1;
    if (rc != 0)
        CHECK(!zpoller_terminated(poller));
    zpoller_destroy(&poller);
    return rc;
}

/* ------------------------------------------------------------------ */
/* zmonitor                                                             */

/* Starts a zmonitor actor on sock for the events named (CZMQ 4.2.1 names:
 * "ALL", "CONNECTED", "HANDSHAKE_FAILED_AUTH", ...; at most 8), and waits
 * until it is monitoring. Attach before bind/connect to miss nothing. */
static inline zactor_t *cz_monitor(zsock_t *sock, const char *e1, const char *e2,
                                   const char *e3, const char *e4, const char *e5,
                                   const char *e6, const char *e7, const char *e8)
{
    zactor_t *mon = zactor_new(zmonitor, sock);
    CHECK(mon != NULL);
    zmsg_t *listen = zmsg_new();
    zmsg_addstr(listen, "LISTEN");
    const char *names[8] = {e1, e2, e3, e4, e5, e6, e7, e8};
    for (int i = 0; i < 8 && names[i] != NULL; i++)
        zmsg_addstr(listen, names[i]);
    CHECK(zmsg_send(&listen, mon) == 0);
    CHECK(zstr_send(mon, "START") == 0);
    /* zmonitor signals once zmq_socket_monitor has run; bounded because a
     * broken monitor would otherwise block here forever. */
    CHECK(cz_wait_readable(mon, TU_TIMEOUT_MS) == 0);
    CHECK(zsock_wait(mon) == 0);
    return mon;
}

#define CZ_EVENTS_MAX 256
#define CZ_NAME_MAX   32

typedef struct cz_event {
    char name[CZ_NAME_MAX];
    long value;
    char endpoint[TU_EP_MAX];
} cz_event_t;

typedef struct cz_events {
    const char *label;
    size_t n;
    cz_event_t ev[CZ_EVENTS_MAX];
} cz_events_t;

static inline void cz_events_init(cz_events_t *log, const char *label)
{
    memset(log, 0, sizeof *log);
    log->label = label;
}

/* Reads one zmonitor message within timeout_ms and records it. CZMQ 4.2.1
 * sends three frames: the event name, the value as decimal text and the
 * endpoint. Returns 0, or -1 on timeout. */
static inline int cz_event_recv(zactor_t *mon, cz_events_t *log, int timeout_ms)
{
    if (cz_wait_readable(mon, timeout_ms) != 0)
        return -1;
    zmsg_t *msg = zmsg_recv(mon);
    CHECK(msg != NULL);
    CHECK_EQ(zmsg_size(msg), 3);
    char *name = zmsg_popstr(msg);
    char *value = zmsg_popstr(msg);
    char *endpoint = zmsg_popstr(msg);
    CHECK(name != NULL && value != NULL && endpoint != NULL);
    char *end = NULL;
    long v = strtol(value, &end, 10);
    CHECK(end != value && *end == '\0');
    CHECK(log->n < CZ_EVENTS_MAX);
    cz_event_t *e = &log->ev[log->n++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->value = v;
    snprintf(e->endpoint, sizeof e->endpoint, "%s", endpoint);
    zstr_free(&name);
    zstr_free(&value);
    zstr_free(&endpoint);
    zmsg_destroy(&msg);
    return 0;
}

/* Records everything available now, without waiting. */
static inline void cz_events_pump(zactor_t *mon, cz_events_t *log)
{
    while (cz_event_recv(mon, log, 0) == 0)
        ;
}

static inline unsigned cz_events_count(const cz_events_t *log, const char *name)
{
    unsigned n = 0;
    for (size_t i = 0; i < log->n; i++)
        n += strcmp(log->ev[i].name, name) == 0;
    return n;
}

/* Index of the nth (0-based) event called name, or -1. */
static inline int cz_events_index(const cz_events_t *log, const char *name, unsigned nth)
{
    for (size_t i = 0; i < log->n; i++)
        if (strcmp(log->ev[i].name, name) == 0 && nth-- == 0)
            return (int)i;
    return -1;
}

static inline void cz_events_print(const cz_events_t *log)
{
    printf("%s:", log->label);
    for (size_t i = 0; i < log->n; i++)
        printf(" %s(%ld)", log->ev[i].name, log->ev[i].value);
    printf("\n");
}

/* Waits until log holds `count` events called name, recording all. On
 * timeout prints the log and fails at the caller's line. */
#define CZ_EXPECT_EVENTS(mon, log, name, count)                                          \
    cz_expect_events_at((mon), (log), (name), (count), __FILE__, __LINE__)
static inline void cz_expect_events_at(zactor_t *mon, cz_events_t *log, const char *name,
                                       unsigned count, const char *file, int line)
{
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    while (cz_events_count(log, name) < count) {
        if (cz_event_recv(mon, log, cz_remaining(deadline)) != 0) {
            fprintf(stderr, "%s:%d: %s: %u %s not seen within %d ms\n", file, line,
                    log->label, count, name, TU_TIMEOUT_MS);
            cz_events_print(log);
            exit(1);
        }
    }
}

#endif

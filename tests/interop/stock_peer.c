/*
 * The stock side of the interop tests: an ordinary libzmq program, linked
 * with libzmq only and run as a separate process, so nothing of zmtls is in
 * it (it says so on its first line, checked by dlsym). It speaks tcp:// to
 * stunnel, which carries the bytes in TLS to or from zmtls.
 *
 *   stock_peer ROLE ENDPOINT [N] [timeout=MS] [topic=T] [id=ROUTING_ID]
 *                                [linger=MS] [go=1]
 *
 * ENDPOINT containing '*' is bound (tcp://127.0.0.1:*) and the real
 * endpoint printed; any other is connected to. go=1: a sending role
 * (req, dealer, push) waits for a line "go" on stdin before it starts, so
 * the test can look at the connection before the peer is done and gone.
 *
 *   rep     receives N messages, prints each, sends each back
 *   router  receives N messages, prints each (routing id apart), echoes it
 *           with its envelope so it goes back to the sender
 *   pull    receives N messages, prints each
 *   sub     subscribes to topic (default "A."), prints "ready" on the first
 *           probe, then prints every message up to the end marker
 *   req     sends script messages 0..N-1, each awaiting its reply, which
 *           must equal the request (the peer echoes)
 *   dealer  the same without REQ's envelope: parts go out as they are
 *   push    sends script messages 0..N-1
 *   pub     sends probes until a line "go" arrives on stdin, then script
 *           messages 0..N-1, each under the topic iw_pub_topic gives it
 *           ("A." or "B."), then the end marker
 *   pubsizes  publishes what stdin asks, a line at a time, in order
 *           (support/subsize_wire.h): "topic L" makes the topic the one of
 *           L bytes and prints "topic L", "deliver K" and "cancel K"
 *           publish round K of that phase, "end" finishes. With
 *           ZMQ_XPUB_NODROP: a message that cannot be queued before the
 *           deadline fails the peer instead of being dropped.
 *
 * stdout, one line each, flushed at once (the test reads it through a pipe
 * while we run):
 *   hello libzmq=X.Y.Z zmtls=absent
 *   bound tcp://127.0.0.1:PORT
 *   recv I id=HEX|- n=.. lens=.. crc=..     (interop_wire.h's description)
 *   sent I n=.. lens=.. crc=..
 *   reply I ok | reply I bad n=.. lens=.. crc=..
 *   ready
 *   topic L                                 (pubsizes)
 *   done ok | done timeout | done error
 * Exit status: 0 ok, 2 the deadline (timeout=, default 10 s) passed first,
 * 1 anything else. The process always ends by itself: every wait is a
 * zmq_poll against the deadline, and closing is bounded by linger=.
 */
/* For RTLD_DEFAULT (the build defines it too; this keeps the file whole). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "interop_wire.h"
#include "subsize_wire.h"

/* Up to a routing id, REQ's delimiter and a full script message. */
#define SP_PARTS_MAX (IW_PARTS_MAX + 2)

enum { SP_OK = 0, SP_ERROR = 1, SP_TIMEOUT = 2 };

static int64_t sp_deadline;

static int64_t sp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long sp_left(void)
{
    int64_t left = sp_deadline - sp_now_ms();
    return left > 0 ? (long)left : 0;
}

/* Waits for `events` on sock until the deadline. SP_OK or SP_TIMEOUT. */
static int sp_wait(void *sock, short events)
{
    zmq_pollitem_t item = {sock, 0, events, 0};
    for (;;) {
        int rc = zmq_poll(&item, 1, sp_left());
        if (rc > 0)
            return SP_OK;
        if (rc < 0 && errno != EINTR) {
            fprintf(stderr, "stock_peer: zmq_poll: %s\n", zmq_strerror(errno));
            return SP_ERROR;
        }
        if (sp_left() == 0)
            return SP_TIMEOUT;
    }
}

typedef struct sp_msg {
    size_t n;
    zmq_msg_t part[SP_PARTS_MAX];
} sp_msg_t;

static void sp_msg_close(sp_msg_t *m)
{
    for (size_t i = 0; i < m->n; i++)
        zmq_msg_close(&m->part[i]);
    m->n = 0;
}

/* Receives one whole message before the deadline. */
static int sp_recv(void *sock, sp_msg_t *m)
{
    m->n = 0;
    int rc = sp_wait(sock, ZMQ_POLLIN);
    if (rc != SP_OK)
        return rc;
    /* The parts of a message arrive together: once the first is readable
     * the rest are, so only the first needs the poll. */
    for (;;) {
        if (m->n == SP_PARTS_MAX) {
            fprintf(stderr, "stock_peer: more than %d parts\n", SP_PARTS_MAX);
            return SP_ERROR;
        }
        zmq_msg_t *part = &m->part[m->n];
        zmq_msg_init(part);
        if (zmq_msg_recv(part, sock, ZMQ_DONTWAIT) < 0) {
            fprintf(stderr, "stock_peer: zmq_msg_recv: %s\n", zmq_strerror(errno));
            zmq_msg_close(part);
            return SP_ERROR;
        }
        m->n++;
        if (!zmq_msg_more(part))
            return SP_OK;
    }
}

/* Description of parts [from, n) of m. */
static void sp_describe(sp_msg_t *m, size_t from, char *out)
{
    const void *data[SP_PARTS_MAX];
    size_t len[SP_PARTS_MAX];
    for (size_t i = from; i < m->n; i++) {
        data[i - from] = zmq_msg_data(&m->part[i]);
        len[i - from] = zmq_msg_size(&m->part[i]);
    }
    iw_describe(m->n - from, data, len, out);
}

/* Sends m's parts back (REP and ROUTER route by what they received). */
static int sp_echo(void *sock, sp_msg_t *m)
{
    int rc = sp_wait(sock, ZMQ_POLLOUT);
    if (rc != SP_OK)
        return rc;
    for (size_t i = 0; i < m->n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < m->n ? ZMQ_SNDMORE : 0);
        if (zmq_msg_send(&m->part[i], sock, flags) < 0) {
            fprintf(stderr, "stock_peer: echo part %zu: %s\n", i, zmq_strerror(errno));
            return SP_ERROR;
        }
    }
    return SP_OK;
}

static int sp_send_iw(void *sock, const iw_msg_t *m)
{
    int rc = sp_wait(sock, ZMQ_POLLOUT);
    if (rc != SP_OK)
        return rc;
    /* Once the first part is accepted the rest of the message is too. */
    for (size_t i = 0; i < m->n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < m->n ? ZMQ_SNDMORE : 0);
        if (zmq_send(sock, m->data[i], m->len[i], flags) != (int)m->len[i]) {
            fprintf(stderr, "stock_peer: send part %zu: %s\n", i, zmq_strerror(errno));
            return SP_ERROR;
        }
    }
    return SP_OK;
}

static int sp_part_is(sp_msg_t *m, size_t i, const char *s)
{
    size_t n = strlen(s);
    return i < m->n && zmq_msg_size(&m->part[i]) == n &&
           memcmp(zmq_msg_data(&m->part[i]), s, n) == 0;
}

/* rep, router, pull: receive n messages; echo them unless pull. */
static int sp_serve(void *sock, int type, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        sp_msg_t m;
        int rc = sp_recv(sock, &m);
        if (rc != SP_OK)
            return rc;
        char id[IW_DESC_MAX] = "-", desc[IW_DESC_MAX];
        size_t from = 0;
        if (type == ZMQ_ROUTER) {
            iw_hex(zmq_msg_data(&m.part[0]), zmq_msg_size(&m.part[0]), id);
            from = 1;
        }
        sp_describe(&m, from, desc);
        printf("recv %u id=%s %s\n", i, id, desc);
        rc = type == ZMQ_PULL ? SP_OK : sp_echo(sock, &m);
        sp_msg_close(&m);
        if (rc != SP_OK)
            return rc;
    }
    return SP_OK;
}

static int sp_sub(void *sock)
{
    int ready = 0;
    for (unsigned i = 0;;) {
        sp_msg_t m;
        int rc = sp_recv(sock, &m);
        if (rc != SP_OK)
            return rc;
        if (sp_part_is(&m, 0, IW_PROBE)) {
            /* Our subscription has reached the publisher. */
            if (!ready)
                printf("ready\n");
            ready = 1;
        } else if (sp_part_is(&m, 0, IW_END)) {
            sp_msg_close(&m);
            return SP_OK;
        } else {
            char desc[IW_DESC_MAX];
            sp_describe(&m, 0, desc);
            printf("recv %u id=- %s\n", i++, desc);
        }
        sp_msg_close(&m);
    }
}

/* req, dealer: each request must come back unchanged. */
static int sp_request(void *sock, unsigned n)
{
    int bad = 0;
    for (unsigned i = 0; i < n; i++) {
        iw_msg_t req;
        iw_script(&req, i, "");
        char want[IW_DESC_MAX], got[IW_DESC_MAX];
        iw_msg_describe(&req, want);
        int rc = sp_send_iw(sock, &req);
        iw_msg_free(&req);
        if (rc != SP_OK)
            return rc;
        sp_msg_t m;
        rc = sp_recv(sock, &m);
        if (rc != SP_OK)
            return rc;
        sp_describe(&m, 0, got);
        sp_msg_close(&m);
        if (strcmp(want, got) == 0) {
            printf("reply %u ok\n", i);
        } else {
            printf("reply %u bad %s\n", i, got);
            bad = 1;
        }
    }
    return bad ? SP_ERROR : SP_OK;
}

static int sp_send_script(void *sock, unsigned n, int pubsub)
{
    for (unsigned i = 0; i < n; i++) {
        iw_msg_t m;
        iw_script(&m, i, pubsub ? iw_pub_topic(i) : "");
        char desc[IW_DESC_MAX];
        iw_msg_describe(&m, desc);
        int rc = sp_send_iw(sock, &m);
        iw_msg_free(&m);
        if (rc != SP_OK)
            return rc;
        printf("sent %u %s\n", i, desc);
    }
    return SP_OK;
}

/* Reads stdin without blocking past what poll said was there; returns 1
 * when a line "go" has arrived, 0 when not yet, -1 at EOF or error. */
static int sp_stdin_go(void)
{
    static char line[64];
    static size_t used;
    char c;
    ssize_t n = read(0, &c, 1);
    if (n <= 0)
        return -1;
    if (c != '\n') {
        if (used + 1 < sizeof line)
            line[used++] = c;
        return 0;
    }
    line[used] = '\0';
    used = 0;
    return strcmp(line, "go") == 0;
}

/* Waits for "go" on stdin until the deadline. */
static int sp_wait_go(void)
{
    for (;;) {
        zmq_pollitem_t in = {NULL, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&in, 1, sp_left());
        if (rc < 0 && errno != EINTR)
            return SP_ERROR;
        if (rc > 0) {
            int go = sp_stdin_go();
            if (go < 0) {
                fprintf(stderr, "stock_peer: stdin closed before \"go\"\n");
                return SP_ERROR;
            }
            if (go)
                return SP_OK;
        }
        if (sp_left() == 0)
            return SP_TIMEOUT;
    }
}

static int sp_pub(void *sock, unsigned n)
{
    /* A probe every 50 ms until the test says its subscriber saw one:
     * the wait is a poll on stdin, bounded by the deadline. */
    for (;;) {
        iw_msg_t probe = {0};
        memcpy(iw_part(&probe, strlen(IW_PROBE)), IW_PROBE, strlen(IW_PROBE));
        int rc = sp_send_iw(sock, &probe);
        iw_msg_free(&probe);
        if (rc != SP_OK)
            return rc;
        zmq_pollitem_t in = {NULL, 0, ZMQ_POLLIN, 0};
        long wait = sp_left() < 50 ? sp_left() : 50;
        rc = zmq_poll(&in, 1, wait);
        if (rc < 0 && errno != EINTR)
            return SP_ERROR;
        if (rc > 0) {
            int go = sp_stdin_go();
            if (go < 0) {
                fprintf(stderr, "stock_peer: stdin closed before \"go\"\n");
                return SP_ERROR;
            }
            if (go)
                break;
        }
        if (sp_left() == 0)
            return SP_TIMEOUT;
    }
    int rc = sp_send_script(sock, n, 1);
    if (rc != SP_OK)
        return rc;
    iw_msg_t end = {0};
    memcpy(iw_part(&end, strlen(IW_END)), IW_END, strlen(IW_END));
    rc = sp_send_iw(sock, &end);
    iw_msg_free(&end);
    return rc;
}

/* The next line of stdin (without its newline) before the deadline. */
static int sp_stdin_line(char *out, size_t cap)
{
    static char buf[256];
    static size_t used;
    for (;;) {
        char *nl = memchr(buf, '\n', used);
        if (nl != NULL) {
            size_t n = (size_t)(nl - buf);
            if (n >= cap)
                return SP_ERROR;
            memcpy(out, buf, n);
            out[n] = '\0';
            used -= n + 1;
            memmove(buf, nl + 1, used);
            return SP_OK;
        }
        if (used == sizeof buf)
            return SP_ERROR;
        zmq_pollitem_t in = {NULL, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&in, 1, sp_left());
        if (rc < 0 && errno != EINTR)
            return SP_ERROR;
        if (rc > 0) {
            ssize_t n = read(0, buf + used, sizeof buf - used);
            if (n <= 0) {
                fprintf(stderr, "stock_peer: stdin closed before \"end\"\n");
                return SP_ERROR;
            }
            used += (size_t)n;
        } else if (sp_left() == 0) {
            return SP_TIMEOUT;
        }
    }
}

/* Publishes prefix "#" round, blocking until it is queued (NODROP) or the
 * deadline. */
static int sp_publish_round_part(void *sock, unsigned char *buf, const void *prefix,
                                 size_t plen, unsigned round)
{
    size_t n = ss_frame(buf, prefix, plen, round);
    int ms = (int)sp_left();
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &ms, sizeof ms);
    if (zmq_send(sock, buf, n, 0) == (int)n)
        return SP_OK;
    fprintf(stderr, "stock_peer: publish %zu bytes: %s\n", n, zmq_strerror(errno));
    return errno == EAGAIN ? SP_TIMEOUT : SP_ERROR;
}

static int sp_pubsizes(void *sock)
{
    int on = 1;
    if (zmq_setsockopt(sock, ZMQ_XPUB_NODROP, &on, sizeof on) != 0)
        return SP_ERROR;
    unsigned char *topic = NULL, *near = NULL, *buf = NULL;
    size_t len = 0;
    int rc = SP_OK;
    while (rc == SP_OK) {
        char line[64];
        unsigned long v;
        rc = sp_stdin_line(line, sizeof line);
        if (rc != SP_OK)
            break;
        if (strcmp(line, "end") == 0)
            break;
        if (sscanf(line, "topic %lu", &v) == 1) {
            free(topic);
            free(near);
            free(buf);
            len = (size_t)v;
            topic = malloc(len + 1);
            near = malloc(len + 1);
            buf = malloc(len + SS_SUFFIX_MAX);
            if (topic == NULL || near == NULL || buf == NULL) {
                rc = SP_ERROR;
                break;
            }
            ss_topic(topic, len);
            ss_near(near, topic, len);
            printf("topic %zu\n", len);
        } else if (buf != NULL && sscanf(line, "deliver %lu", &v) == 1) {
            unsigned k = (unsigned)v;
            if (len > 0)
                rc = sp_publish_round_part(sock, buf, near, len, k);
            if (rc == SP_OK)
                rc = sp_publish_round_part(sock, buf, topic, len, k);
            if (rc == SP_OK)
                rc = sp_publish_round_part(sock, buf, SS_PROBE, 2, k);
        } else if (buf != NULL && sscanf(line, "cancel %lu", &v) == 1) {
            unsigned k = (unsigned)v;
            rc = sp_publish_round_part(sock, buf, topic, len, k);
            if (rc == SP_OK)
                rc = sp_publish_round_part(sock, buf, SS_MARK, 2, k);
        } else {
            fprintf(stderr, "stock_peer: pubsizes: bad line \"%s\"\n", line);
            rc = SP_ERROR;
        }
    }
    free(topic);
    free(near);
    free(buf);
    return rc;
}

static const struct {
    const char *name;
    int type;
} sp_roles[] = {{"rep", ZMQ_REP},   {"router", ZMQ_ROUTER}, {"pull", ZMQ_PULL},
                {"sub", ZMQ_SUB},   {"req", ZMQ_REQ},       {"dealer", ZMQ_DEALER},
                {"push", ZMQ_PUSH}, {"pub", ZMQ_PUB},       {"pubsizes", ZMQ_PUB}};

static void sp_usage(void)
{
    fprintf(stderr, "usage: stock_peer rep|router|pull|sub|req|dealer|push|pub|pubsizes "
                    "ENDPOINT [N] [timeout=MS] [topic=T] [id=ROUTING_ID] [linger=MS]\n");
    exit(SP_ERROR);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 3)
        sp_usage();
    int type = -1;
    for (size_t i = 0; i < sizeof sp_roles / sizeof sp_roles[0]; i++)
        if (strcmp(argv[1], sp_roles[i].name) == 0)
            type = sp_roles[i].type;
    if (type < 0)
        sp_usage();
    const char *endpoint = argv[2];
    unsigned n = 1;
    long timeout_ms = 10000, linger = 2000;
    const char *topic = IW_TOPIC_ON, *id = NULL;
    int wait_go = 0;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "timeout=", 8) == 0)
            timeout_ms = strtol(a + 8, NULL, 10);
        else if (strncmp(a, "linger=", 7) == 0)
            linger = strtol(a + 7, NULL, 10);
        else if (strncmp(a, "topic=", 6) == 0)
            topic = a + 6;
        else if (strncmp(a, "id=", 3) == 0)
            id = a + 3;
        else if (strcmp(a, "go=1") == 0)
            wait_go = 1;
        else if (i == 3 && a[0] >= '0' && a[0] <= '9')
            n = (unsigned)strtoul(a, NULL, 10);
        else
            sp_usage();
    }
    sp_deadline = sp_now_ms() + timeout_ms;

    /* Proof that this process runs libzmq alone: no zmtls symbol is
     * loaded (it would be, had LD_PRELOAD or a link pulled it in). */
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    printf("hello libzmq=%d.%d.%d zmtls=%s\n", major, minor, patch,
           dlsym(RTLD_DEFAULT, "zmtls_version") != NULL ? "present" : "absent");

    void *ctx = zmq_ctx_new();
    void *sock = ctx != NULL ? zmq_socket(ctx, type) : NULL;
    if (sock == NULL) {
        fprintf(stderr, "stock_peer: zmq_socket: %s\n", zmq_strerror(errno));
        return SP_ERROR;
    }
    int rc = SP_OK;
    int lg = (int)linger;
    zmq_setsockopt(sock, ZMQ_LINGER, &lg, sizeof lg);
    if (id != NULL && zmq_setsockopt(sock, ZMQ_ROUTING_ID, id, strlen(id)) != 0)
        rc = SP_ERROR;
    if (type == ZMQ_SUB && zmq_setsockopt(sock, ZMQ_SUBSCRIBE, topic, strlen(topic)) != 0)
        rc = SP_ERROR;
    if (rc == SP_OK && strchr(endpoint, '*') != NULL) {
        char last[256];
        size_t len = sizeof last;
        if (zmq_bind(sock, endpoint) != 0 ||
            zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, last, &len) != 0) {
            fprintf(stderr, "stock_peer: bind %s: %s\n", endpoint, zmq_strerror(errno));
            rc = SP_ERROR;
        } else {
            printf("bound %s\n", last);
        }
    } else if (rc == SP_OK && zmq_connect(sock, endpoint) != 0) {
        fprintf(stderr, "stock_peer: connect %s: %s\n", endpoint, zmq_strerror(errno));
        rc = SP_ERROR;
    }

    if (rc == SP_OK && wait_go && type != ZMQ_PUB)
        rc = sp_wait_go();
    if (rc == SP_OK) {
        switch (type) {
        case ZMQ_REP:
        case ZMQ_ROUTER:
        case ZMQ_PULL:
            rc = sp_serve(sock, type, n);
            break;
        case ZMQ_SUB:
            rc = sp_sub(sock);
            break;
        case ZMQ_REQ:
        case ZMQ_DEALER:
            rc = sp_request(sock, n);
            break;
        case ZMQ_PUSH:
            rc = sp_send_script(sock, n, 0);
            break;
        default:
            rc = strcmp(argv[1], "pubsizes") == 0 ? sp_pubsizes(sock) : sp_pub(sock, n);
            break;
        }
    }
    /* zmq_ctx_term waits up to linger for what is still queued (the last
     * reply, pushed messages) to reach stunnel. After a failure nothing
     * is worth waiting for. */
    if (rc != SP_OK) {
        lg = 0;
        zmq_setsockopt(sock, ZMQ_LINGER, &lg, sizeof lg);
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    printf("done %s\n", rc == SP_OK ? "ok" : rc == SP_TIMEOUT ? "timeout" : "error");
    return rc;
}

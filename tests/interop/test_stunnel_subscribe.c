/*
 * Subscriptions of every size from zmtls subscribers to a stock libzmq
 * publisher behind a TLS terminator:
 *
 *   zmtls SUB / XSUB --tls://--> stunnel4 (TLS 1.3 server, client cert
 *   required) --tcp://--> stock_peer pubsizes (libzmq only, bound PUB)
 *
 * zmtls sends each subscription as a ZMTP 3.1 SUBSCRIBE command and each
 * cancel as CANCEL; stunnel's plaintext side is an ordinary ZMTP stream, so
 * what is under test is whether libzmq's own PUB gets and applies them. A
 * topic of 246 bytes or more makes a SUBSCRIBE frame longer than 255 bytes,
 * the long (8-byte size) form (CANCEL from 249 bytes on).
 *
 * The checks are support/subsize.h's, as in integration.subscribe_sizes:
 * ss_deliver (the topic's messages arrive, never its near-miss; a lost
 * SUBSCRIBE is caught as soon as a probe subscribed after it works), then
 * ss_cancel (once the cancel is proved in effect, no topic message
 * arrives). The stock publisher publishes each round when the test writes
 * it a line ("deliver K", "cancel K"), with ZMQ_XPUB_NODROP.
 *
 * What libzmq does with long-form commands is established first, without
 * zmtls and without TLS: a raw ZMTP 3.1 subscriber (this file, plain TCP,
 * straight to the stock PUB's port) sends SUBSCRIBE and CANCEL framed as
 * rfc 23/37 say, the long form whenever the command is longer than 255
 * bytes. Observed with Debian's libzmq 4.3.4, and asserted: the stock PUB
 * parses and applies them at every length tried, 246..255 included (its
 * decoder reads the flags' size form; its bug with those lengths is on the
 * sending side only, see integration.subscribe_sizes). So whatever fails
 * below the raw rows is zmtls's.
 *
 * Cases run one after another, each with a fresh subscriber and
 * connection; a failing one is reported and the next one runs. A table of
 * every case ends the output. The known failure (a SUBSCRIBE lost) is
 * decided by ordering and ends a case in milliseconds; a case that hangs
 * gives up at SUB_PHASE_MS per phase, and cases stop being started after
 * SUB_BUDGET_MS, so the test ends with its table before the watchdog.
 */
/* interop_util.h needs pipe2, close_range and pidfd_open (the build defines
 * it too; this keeps the file whole). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <string.h>

#include "interop_util.h"
#include "subsize.h"
#include "testutil.h"
#include "zmtls.h"

#define SUB_PHASE_MS  3000
#define SUB_PACE_MS   20
#define SUB_BUDGET_MS 40000

static io_child_t stock;
static io_stunnel_t tunnel;
static int stock_port;
static char tls_ep[TU_EP_MAX];
static unsigned next_round; /* round numbers never repeat across cases */
static int64_t t_start;

/* ---- the stock publisher ------------------------------------------------- */

/* Makes the stock PUB publish the topic of len bytes from now on. Its
 * answer comes once it has also published every round asked before, so
 * nothing of an earlier case can reach a subscriber of this one. */
static void stock_topic(size_t len)
{
    char line[64];
    snprintf(line, sizeof line, "topic %zu", len);
    io_child_say(&stock, line);
    IO_EXPECT_LINE(&stock, line);
}

static void stock_publish(ss_case_t *c, int phase, unsigned k)
{
    (void)c;
    char line[64];
    snprintf(line, sizeof line, "%s %u", phase == SS_DELIVER ? "deliver" : "cancel", k);
    io_child_say(&stock, line);
}

/* ---- a raw ZMTP 3.1 subscriber ------------------------------------------- */

typedef struct raw {
    ss_case_t ss;
    int fd;
    unsigned char *in;
    size_t in_len, in_cap, consumed;
} raw_t;

static void raw_send(raw_t *r, const void *buf, size_t len)
{
    CHECK_EQ(tu_tcp_send(r->fd, buf, len), 0);
}

/* One command frame: name, then data; the long form when the body is
 * longer than 255 bytes (rfc 23). */
static void raw_command(raw_t *r, const char *name, const void *data, size_t len)
{
    size_t nlen = strlen(name), body = 1 + nlen + len;
    unsigned char *f = malloc(9 + body);
    CHECK(f != NULL);
    size_t h = 0;
    if (body > 255) {
        f[h++] = 0x06; /* command, long */
        for (int i = 7; i >= 0; i--)
            f[h++] = (unsigned char)(body >> (8 * i));
    } else {
        f[h++] = 0x04; /* command */
        f[h++] = (unsigned char)body;
    }
    f[h] = (unsigned char)nlen;
    memcpy(f + h + 1, name, nlen);
    if (len > 0)
        memcpy(f + h + 1 + nlen, data, len);
    raw_send(r, f, h + body);
    free(f);
}

/* Reads until a whole frame is buffered or until; returns 0 with the
 * frame's flags, body and size, -1 on timeout, -2 when the peer closed. */
static int raw_frame(raw_t *r, int64_t until, int *flags, const unsigned char **body,
                     size_t *size)
{
    for (;;) {
        if (r->consumed > 0) {
            memmove(r->in, r->in + r->consumed, r->in_len - r->consumed);
            r->in_len -= r->consumed;
            r->consumed = 0;
        }
        if (r->in_len >= 2) {
            size_t h = (r->in[0] & 0x02) ? 9 : 2;
            uint64_t n = 0;
            if (r->in_len >= h) {
                if (h == 9)
                    for (int i = 1; i <= 8; i++)
                        n = (n << 8) | r->in[i];
                else
                    n = r->in[1];
                CHECK(n < (1u << 24));
                if (r->in_len >= h + n) {
                    *flags = r->in[0];
                    *body = r->in + h;
                    *size = (size_t)n;
                    r->consumed = h + (size_t)n;
                    return 0;
                }
                if (r->in_cap < h + n) {
                    r->in_cap = h + (size_t)n;
                    r->in = realloc(r->in, r->in_cap);
                    CHECK(r->in != NULL);
                }
            }
        }
        int64_t left = until - tu_now_ms();
        struct pollfd pfd = {r->fd, POLLIN, 0};
        int rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
        if (rc < 0 && errno == EINTR)
            continue;
        CHECK(rc >= 0);
        if (rc == 0)
            return -1;
        ssize_t got = recv(r->fd, r->in + r->in_len, r->in_cap - r->in_len, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -2;
        r->in_len += (size_t)got;
    }
}

static void raw_ctl(ss_case_t *c, int on, const void *topic, size_t len)
{
    raw_command((raw_t *)c->arg, on ? "SUBSCRIBE" : "CANCEL", topic, len);
}

static int raw_recv(ss_case_t *c, int64_t until)
{
    raw_t *r = c->arg;
    for (;;) {
        int flags;
        const unsigned char *body;
        size_t size;
        int rc = raw_frame(r, until, &flags, &body, &size);
        if (rc == -2)
            ss_fail(c, "the stock PUB closed the connection: it refused a command");
        if (rc < 0)
            return rc;
        if (flags & 0x04)
            continue; /* a command (none is expected): not a message */
        if (flags & 0x01) {
            ss_fail(c, "a multipart message; only single frames were published");
            return -2;
        }
        c->msg = body;
        c->msg_len = size;
        return 0;
    }
}

/* TCP connect straight to the stock PUB and the ZMTP 3.1 NULL handshake as
 * a SUB. */
static void raw_open(raw_t *r, size_t len)
{
    memset(r, 0, sizeof *r);
    snprintf(r->ss.what, sizeof r->ss.what,
             "raw ZMTP 3.1 SUB (no TLS) -> stock PUB, topic of %zu bytes", len);
    ss_init(&r->ss, len);
    r->ss.round = next_round;
    r->ss.arg = r;
    r->ss.ctl = raw_ctl;
    r->ss.publish = stock_publish;
    r->ss.recv = raw_recv;
    r->in_cap = 128 * 1024;
    r->in = malloc(r->in_cap);
    CHECK(r->in != NULL);
    r->fd = tu_tcp_connect(stock_port);

    unsigned char greeting[64] = {0};
    greeting[0] = 0xff;
    greeting[9] = 0x7f;
    greeting[10] = 3;
    greeting[11] = 1;
    memcpy(greeting + 12, "NULL", 4);
    raw_send(r, greeting, sizeof greeting);
    static const char ready[] = "\x05READY\x0bSocket-Type\x00\x00\x00\x03SUB";
    unsigned char frame[2 + sizeof ready - 1] = {0x04, sizeof ready - 1};
    memcpy(frame + 2, ready, sizeof ready - 1);
    raw_send(r, frame, sizeof frame);

    /* Its greeting: 64 bytes, ZMTP 3. */
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    while (r->in_len < 64) {
        struct pollfd pfd = {r->fd, POLLIN, 0};
        int rc = poll(&pfd, 1, io_remaining(deadline));
        CHECK(rc > 0 || (rc < 0 && errno == EINTR));
        ssize_t got = recv(r->fd, r->in + r->in_len, 64 - r->in_len, 0);
        CHECK(got > 0);
        r->in_len += (size_t)got;
    }
    CHECK(r->in[0] == 0xff && r->in[9] == 0x7f && r->in[10] == 3);
    r->consumed = 64;
    /* Its READY. */
    int flags;
    const unsigned char *body;
    size_t size;
    CHECK_EQ(raw_frame(r, deadline, &flags, &body, &size), 0);
    CHECK((flags & 0x04) && size >= 6 && memcmp(body, "\x05READY", 6) == 0);
}

static void raw_close(raw_t *r)
{
    close(r->fd);
    free(r->in);
    next_round = r->ss.round;
    ss_free(&r->ss);
}

static int raw_case(size_t len)
{
    stock_topic(len);
    raw_t r;
    raw_open(&r, len);
    int rc = -1;
    if (ss_deliver(&r.ss, SUB_PHASE_MS, SUB_PACE_MS) == 0 &&
        ss_cancel(&r.ss, SUB_PHASE_MS, SUB_PACE_MS) == 0)
        rc = 0;
    raw_close(&r);
    return rc;
}

/* ---- zmtls subscribers through stunnel ------------------------------------ */

typedef struct zs {
    ss_case_t ss;
    int type;
    tu_peer_t sub;
    zmq_msg_t msg;
} zs_t;

static void zs_ctl(ss_case_t *c, int on, const void *topic, size_t len)
{
    zs_t *z = c->arg;
    ss_socket_ctl(z->sub.sock, z->type, on, topic, len);
}

static int zs_recv(ss_case_t *c, int64_t until)
{
    zs_t *z = c->arg;
    tu_pump(z->sub.mon, &z->sub.log);
    if (tu_events_count(&z->sub.log, ZMQ_EVENT_DISCONNECTED) > 0) {
        ss_fail(c, "the connection dropped (DISCONNECTED), which nothing in the test "
                   "asked for (stunnel's log is printed at the end)");
        return -2;
    }
    int64_t left = until - tu_now_ms();
    if (tu_wait_readable(z->sub.sock, left > 0 ? (int)left : 0) != 0)
        return -1;
    CHECK(zmq_msg_recv(&z->msg, z->sub.sock, ZMQ_DONTWAIT) >= 0);
    if (zmq_msg_more(&z->msg)) {
        ss_fail(c, "a multipart message; only single frames were published");
        return -2;
    }
    c->msg = zmq_msg_data(&z->msg);
    c->msg_len = zmq_msg_size(&z->msg);
    return 0;
}

static int zmtls_case(void *ctx, int type, size_t len)
{
    stock_topic(len);
    zs_t z;
    memset(&z, 0, sizeof z);
    z.type = type;
    snprintf(z.ss.what, sizeof z.ss.what,
             "zmtls %s -> stunnel -> stock PUB, topic of %zu bytes",
             type == ZMQ_SUB ? "SUB" : "XSUB", len);
    ss_init(&z.ss, len);
    z.ss.round = next_round;
    z.ss.arg = &z;
    z.ss.ctl = zs_ctl;
    z.ss.publish = stock_publish;
    z.ss.recv = zs_recv;
    CHECK_EQ(zmq_msg_init(&z.msg), 0);
    tu_peer_open(&z.sub, type == ZMQ_SUB ? "zmtls-sub" : "zmtls-xsub", ctx, type,
                 "client.pem", "client.key", "ca.pem");
    tu_peer_connect(&z.sub, tls_ep);
    int rc = -1;
    if (tu_expect_event(z.sub.mon, &z.sub.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED,
                        TU_TIMEOUT_MS, NULL) != 0)
        ss_fail(&z.ss, "no handshake through stunnel in %d ms", TU_TIMEOUT_MS);
    else if (ss_deliver(&z.ss, SUB_PHASE_MS, SUB_PACE_MS) == 0 &&
             ss_cancel(&z.ss, SUB_PHASE_MS, SUB_PACE_MS) == 0)
        rc = 0;
    if (rc != 0)
        tu_events_print(&z.sub.log, z.sub.name);
    zmq_msg_close(&z.msg);
    tu_peer_close(&z.sub);
    next_round = z.ss.round;
    ss_free(&z.ss);
    return rc;
}

/* ---- main ----------------------------------------------------------------- */

#define MAX_RESULTS 64

static struct {
    char what[64];
    size_t len;
    const char *result;
} results[MAX_RESULTS];
static size_t n_results;
static unsigned n_failed;

static void record(const char *what, size_t len, const char *result)
{
    CHECK(n_results < MAX_RESULTS);
    snprintf(results[n_results].what, sizeof results[0].what, "%s", what);
    results[n_results].len = len;
    results[n_results].result = result;
    n_results++;
    if (strcmp(result, "pass") != 0)
        n_failed++;
}

/* Runs one case unless the time budget is spent. */
#define RUN(what, len, call)                                                             \
    do {                                                                                 \
        if (tu_now_ms() - t_start > SUB_BUDGET_MS) {                                     \
            record((what), (len), "NOT RUN (time budget spent)");                        \
        } else {                                                                         \
            printf("--- %s, %zu bytes\n", (what), (size_t)(len));                        \
            fflush(stdout);                                                              \
            record((what), (len), (call) == 0 ? "pass" : "FAIL");                        \
        }                                                                                \
    } while (0)

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    io_guard();
    t_start = tu_now_ms();
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    /* The stock peer runs the whole test: its own deadline is above the
     * time budget, below the watchdog. */
    stock_port = io_stock_start(&stock, "stock-pub", "pubsizes", "tcp://127.0.0.1:*", 0,
                                "timeout=55000", (const char *)NULL);
    io_stunnel_start(&tunnel, "stunnel-server", 0, stock_port, "server.pem", "server.key",
                     NULL);
    snprintf(tls_ep, sizeof tls_ep, "tls://127.0.0.1:%d", tunnel.port);
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    printf("stock PUB: libzmq %d.%d.%d on port %d, stunnel on %d\n", major, minor, patch,
           stock_port, tunnel.port);

    static const size_t raw_lens[] = {0, 245, 246, 250, 255, 256, 300, 4096, 65536};
    for (size_t i = 0; i < sizeof raw_lens / sizeof raw_lens[0]; i++)
        RUN("raw ZMTP 3.1 SUB (no TLS)", raw_lens[i], raw_case(raw_lens[i]));

    static const size_t lens[] = {0, 1, 245, 246, 255, 256, 300, 4096, 65536};
    for (int t = 0; t < 2; t++) {
        int type = t == 0 ? ZMQ_SUB : ZMQ_XSUB;
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
            RUN(type == ZMQ_SUB ? "zmtls SUB -> stunnel" : "zmtls XSUB -> stunnel",
                lens[i], zmtls_case(ctx, type, lens[i]));
    }

    io_child_say(&stock, "end");
    io_stock_finish(&stock, 0, "ok");
    static const char *const want[] = {"TLSv1.3 ciphersuite",
                                       "Certificate accepted at depth=0: CN=client"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!io_log_has(&tunnel, want[i])) {
            fprintf(stderr, "stunnel log lacks \"%s\"\n", want[i]);
            exit(1);
        }
    }
    io_stunnel_stop(&tunnel);
    CHECK(zmq_ctx_term(ctx) == 0);

    printf("\nstunnel_subscribe: subscriptions to a stock libzmq %d.%d.%d PUB\n", major,
           minor, patch);
    printf("  %-32s %8s  %s\n", "subscriber", "topic", "result");
    for (size_t i = 0; i < n_results; i++)
        printf("  %-32s %8zu  %s\n", results[i].what, results[i].len, results[i].result);
    printf("stunnel_subscribe: %u of %zu case(s) failed, %lld ms\n", n_failed, n_results,
           (long long)(tu_now_ms() - t_start));
    if (n_failed > 0)
        return 1;
    return io_finish("stunnel_subscribe");
}

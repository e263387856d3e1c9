/*
 * Subscriptions of every size, over tcp:// (the reference) and tls://
 * with the same code and the same assertions (conf.h runs each case over
 * both, each run in its own child).
 *
 * A ZMTP 3.1 subscription travels as a SUBSCRIBE command ("\x09SUBSCRIBE"
 * then the topic) and a cancel as CANCEL ("\x06CANCEL" then the topic).
 * The command name makes the frame 10 (7) bytes longer than the topic, so
 * a topic of 246 bytes or more needs the long (8-byte) size form although
 * the topic alone would fit the short one. The lengths tried sit on both
 * sides of each boundary: 0, 1, 245 | 246, 255 | 256, 300, 4096, 65536.
 * Topics, messages and the checks themselves are support/subsize.h's.
 *
 * Cases, for each length L, one fresh pair of sockets each:
 *   sub/L, xsub/L  a PUB (bind) and a SUB or XSUB (connect; the XSUB
 *              subscribes by sending "\x01topic", cancels with
 *              "\x00topic"): ss_deliver (the topic's messages arrive,
 *              never its near-miss; a SUBSCRIBE lost is caught as soon as
 *              a probe subscribed after it works) then ss_cancel (after
 *              the cancel, proved in effect by ordering, no topic message
 *              arrives; a SUB filters by its own subscriptions too, so for
 *              SUB this shows what the application sees, and the xpub<-
 *              cases show the CANCEL itself reaching the publisher).
 *   xpub<-sub/L, xpub<-xsub/L  an XPUB (bind) must receive exactly
 *              "\x01" + the topic (every byte: the SUBSCRIBE arrived
 *              intact), then "\x01~p"; after the cancel "\x00" + the
 *              topic, then "\x01~m". "\x01~p" (or "\x01~m") arriving first
 *              means the topic's SUBSCRIBE (CANCEL) was lost.
 *
 * The publisher sets ZMQ_XPUB_NODROP and sends blocking with ZMQ_SNDTIMEO,
 * so a message it published was really queued, never dropped at a
 * high-water mark. No sleeps: every wait is a zmq_poll against a deadline
 * (SZ_PHASE_MS per phase); the known failure (a SUBSCRIBE lost) is decided
 * by ordering, not by a deadline, and ends a case in milliseconds, and so
 * does a connection that drops (DISCONNECTED on the subscriber: a peer
 * that refused a command). A failure names transport, socket types and
 * length, and prints both peers' event counts.
 *
 * Over tcp://, libzmq 4.3.4 (Debian 12) loses a SUB's subscriptions of
 * 246..255 bytes itself: its encoder chooses the short size form from the
 * topic's length before adding the 10-byte command name, so the size byte
 * is wrong (256..265 do not fit it) and the publisher never sees the
 * subscription (observed: the SUB receives nothing, not even the probe
 * subscribed after it, and an XPUB reads an empty message instead). Those
 * tcp:// runs, sub/L and xpub<-sub/L for L in 246..255, are skipped (the
 * matrix says "skip"): there is no reference to compare with. libzmq's XSUB
 * is not affected (observed: its "\x01topic" reaches the publisher intact
 * at every length), so xsub/L and xpub<-xsub/L run over tcp:// too.
 * ZMTLS_TEST_TCP_ALL_SIZES=1 runs the skipped ones anyway, to look at a
 * libzmq that may have fixed it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "subsize.h"

/* Deadline of each phase: far above what a passing run needs (a few
 * rounds), and short enough that a case failing by its deadlines stays
 * well under its watchdog. */
#define SZ_PHASE_MS 3000
#define SZ_WATCHDOG 15

typedef struct sz {
    ss_case_t ss;
    int sub_type;
    unsigned char *buf; /* a message being built */
    void *ctx;
    tu_peer_t pub, sub;
    zmq_msg_t msg; /* the last one received */
} sz_t;

static const char *type_name(int type)
{
    return type == ZMQ_SUB ? "SUB" : type == ZMQ_XSUB ? "XSUB" : "?";
}

/* "name: NAME=count ..." of p's monitor events so far, on one line. */
static void print_counts(tu_peer_t *p)
{
    tu_pump(p->mon, &p->log);
    fprintf(stderr, "  %s events:", p->name);
    for (int bit = 0; bit < 16; bit++)
        if (p->log.count[bit] > 0)
            fprintf(stderr, " %s=%u", tu_event_name(1 << bit), p->log.count[bit]);
    fprintf(stderr, "\n");
}

/* Ends a failed case (the reason is printed already) with both peers'
 * event counts: a connection that broke and came back shows there. */
static void sz_fail_exit(sz_t *c)
{
    print_counts(&c->sub);
    print_counts(&c->pub);
    exit(1);
}

/* Fails the case at once when the subscriber's connection has dropped:
 * nothing here closes it, so one side ended it (on a command it would not
 * take, say), and every later wait would only time out. */
static void check_connected(sz_t *c)
{
    tu_pump(c->sub.mon, &c->sub.log);
    if (tu_events_count(&c->sub.log, ZMQ_EVENT_DISCONNECTED) == 0)
        return;
    ss_fail(&c->ss, "the subscriber's connection dropped (DISCONNECTED), which "
                    "nothing in the test asked for");
    sz_fail_exit(c);
}

static void sub_ctl(ss_case_t *ss, int on, const void *topic, size_t len)
{
    sz_t *c = ss->arg;
    ss_socket_ctl(c->sub.sock, c->sub_type, on, topic, len);
}

/* Publishes prefix "#" k as one frame; blocking, bounded by ZMQ_SNDTIMEO. */
static void publish_one(sz_t *c, const void *prefix, size_t plen, unsigned k)
{
    size_t n = ss_frame(c->buf, prefix, plen, k);
    int rc = zmq_send(c->pub.sock, c->buf, n, 0);
    if (rc != (int)n) {
        ss_fail(&c->ss, "publishing %zu bytes: %s", n, zmq_strerror(errno));
        sz_fail_exit(c);
    }
}

static void publish(ss_case_t *ss, int phase, unsigned k)
{
    sz_t *c = ss->arg;
    if (phase == SS_DELIVER && ss->len > 0)
        publish_one(c, ss->near, ss->len, k);
    publish_one(c, ss->topic, ss->len, k);
    publish_one(c, phase == SS_DELIVER ? SS_PROBE : SS_MARK, 2, k);
}

static int receive(ss_case_t *ss, int64_t until)
{
    sz_t *c = ss->arg;
    check_connected(c);
    int64_t left = until - tu_now_ms();
    if (tu_wait_readable(c->sub.sock, left > 0 ? (int)left : 0) != 0)
        return -1;
    CHECK(zmq_msg_recv(&c->msg, c->sub.sock, ZMQ_DONTWAIT) >= 0);
    /* Only single frames are published. */
    CHECK(!zmq_msg_more(&c->msg));
    ss->msg = zmq_msg_data(&c->msg);
    ss->msg_len = zmq_msg_size(&c->msg);
    return 0;
}

static void sz_open(sz_t *c, const char *tr, int sub_type, size_t len, int pub_type)
{
    memset(c, 0, sizeof *c);
    c->sub_type = sub_type;
    snprintf(c->ss.what, sizeof c->ss.what, "%s:// %s%s, topic of %zu bytes", tr,
             pub_type == ZMQ_XPUB ? "XPUB <- " : "", type_name(sub_type), len);
    ss_init(&c->ss, len);
    c->ss.arg = c;
    c->ss.ctl = sub_ctl;
    c->ss.publish = publish;
    c->ss.recv = receive;
    c->buf = malloc(len + SS_SUFFIX_MAX);
    CHECK(c->buf != NULL);
    CHECK_EQ(zmq_msg_init(&c->msg), 0);
    c->ctx = zmq_ctx_new();
    CHECK(c->ctx != NULL);
    conf_peer_open(&c->pub, pub_type == ZMQ_XPUB ? "xpub" : "pub", c->ctx, pub_type, tr,
                   CONF_SERVER);
    /* Nothing published is ever dropped: a full queue blocks the send
     * (for at most ZMQ_SNDTIMEO, then the case fails). */
    tu_set_int(c->pub.sock, ZMQ_XPUB_NODROP, 1);
    tu_set_int(c->pub.sock, ZMQ_SNDTIMEO, TU_TIMEOUT_MS);
    conf_peer_open(&c->sub, sub_type == ZMQ_SUB ? "sub" : "xsub", c->ctx, sub_type, tr,
                   CONF_CLIENT);
    conf_peer_bind(&c->pub, tr);
    tu_peer_connect(&c->sub, c->pub.endpoint);
    TU_PEER_EXPECT(&c->sub, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    TU_PEER_EXPECT(&c->pub, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
}

static void sz_close(sz_t *c)
{
    zmq_msg_close(&c->msg);
    tu_peer_close(&c->sub);
    tu_peer_close(&c->pub);
    CHECK_EQ(zmq_ctx_term(c->ctx), 0);
    ss_free(&c->ss);
    free(c->buf);
}

/* libzmq 4.3.4's SUB itself loses these over tcp:// (see the top). */
static void skip_reference_bug(const char *tr, int sub_type, size_t len)
{
    if (conf_is_tls(tr) || sub_type != ZMQ_SUB || len < 246 || len > 255)
        return;
    const char *all = getenv("ZMTLS_TEST_TCP_ALL_SIZES");
    if (all != NULL && strcmp(all, "1") == 0)
        return;
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    char why[200];
    snprintf(why, sizeof why,
             "libzmq %d.%d.%d's SUB frames a SUBSCRIBE of a 246..255-byte topic "
             "with the short size form (256..265 bytes do not fit) and loses it "
             "over tcp:// itself: no reference to compare with",
             major, minor, patch);
    conf_skip(tr, why);
}

/* ---- PUB -> SUB / XSUB ---------------------------------------------------- */

static void delivery(const char *tr, int sub_type, size_t len)
{
    skip_reference_bug(tr, sub_type, len);
    sz_t c;
    sz_open(&c, tr, sub_type, len, ZMQ_PUB);
    if (ss_deliver(&c.ss, SZ_PHASE_MS, CONF_PROBE_MS) != 0 ||
        ss_cancel(&c.ss, SZ_PHASE_MS, CONF_PROBE_MS) != 0)
        sz_fail_exit(&c);
    sz_close(&c);
}

/* ---- XPUB sees the subscriptions -------------------------------------------- */

/* The next message on the XPUB must be kind + want (want_len bytes);
 * "\x01" + `instead`, when it arrives first, means want was lost on the
 * way. The subscriber is polled too (it must stay unreadable: nothing is
 * published), as an application that reads its socket does. */
static void expect_sub_msg(sz_t *c, int kind, const void *want, size_t want_len,
                           const char *instead)
{
    int64_t deadline = tu_now_ms() + SZ_PHASE_MS;
    zmq_pollitem_t items[3] = {{c->pub.sock, 0, ZMQ_POLLIN, 0},
                               {c->sub.sock, 0, ZMQ_POLLIN, 0},
                               {c->sub.mon, 0, ZMQ_POLLIN, 0}};
    for (;;) {
        check_connected(c);
        int64_t left = deadline - tu_now_ms();
        if (left <= 0) {
            ss_fail(&c->ss, "the XPUB received no %s of the %zu-byte topic in %d ms",
                    kind ? "subscription" : "cancel", want_len, SZ_PHASE_MS);
            sz_fail_exit(c);
        }
        int rc = zmq_poll(items, 3, (long)left);
        CHECK(rc >= 0 || errno == EINTR);
        if (rc > 0 && (items[1].revents & ZMQ_POLLIN)) {
            ss_fail(&c->ss, "the subscriber received a message; nothing was published");
            sz_fail_exit(c);
        }
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN))
            break;
    }
    CHECK(zmq_msg_recv(&c->msg, c->pub.sock, ZMQ_DONTWAIT) >= 0);
    CHECK(!zmq_msg_more(&c->msg));
    const unsigned char *d = zmq_msg_data(&c->msg);
    const unsigned char *w = want;
    size_t n = zmq_msg_size(&c->msg);
    if (instead != NULL && n == strlen(instead) + 1 && d[0] == 1 &&
        memcmp(d + 1, instead, n - 1) == 0) {
        ss_fail(&c->ss,
                "the XPUB received \"\\x01%s\", sent after the %zu-byte topic's %s, "
                "but never the %s itself: lost on the way",
                instead, want_len, kind ? "SUBSCRIBE" : "CANCEL",
                kind ? "SUBSCRIBE" : "CANCEL");
        sz_fail_exit(c);
    }
    if (n != want_len + 1 || d[0] != kind || memcmp(d + 1, want, want_len) != 0) {
        size_t diff = 0;
        while (diff + 1 < n && diff < want_len && d[diff + 1] == w[diff])
            diff++;
        char s[128];
        ss_fail(&c->ss,
                "the XPUB received %zu bytes \"%s\", expected \"\\x%02x\" + the "
                "%zu-byte topic (first difference at topic byte %zu)",
                n, ss_show(d, n, s, sizeof s), kind, want_len, diff);
        sz_fail_exit(c);
    }
}

static void xpub_sees(const char *tr, int sub_type, size_t len)
{
    skip_reference_bug(tr, sub_type, len);
    sz_t c;
    sz_open(&c, tr, sub_type, len, ZMQ_XPUB);
    sub_ctl(&c.ss, 1, c.ss.topic, len);
    sub_ctl(&c.ss, 1, SS_PROBE, 2);
    expect_sub_msg(&c, 1, c.ss.topic, len, SS_PROBE);
    expect_sub_msg(&c, 1, SS_PROBE, 2, NULL);
    sub_ctl(&c.ss, 0, c.ss.topic, len);
    sub_ctl(&c.ss, 1, SS_MARK, 2);
    expect_sub_msg(&c, 0, c.ss.topic, len, SS_MARK);
    expect_sub_msg(&c, 1, SS_MARK, 2, NULL);
    printf("%s: the XPUB received \\x01 + the whole topic, then \\x00 + the whole "
           "topic\n",
           c.ss.what);
    sz_close(&c);
}

/* ---- cases ------------------------------------------------------------------- */

#define SZ_LENGTHS(X) X(0) X(1) X(245) X(246) X(255) X(256) X(300) X(4096) X(65536)

#define SZ_FUNCTIONS(L)                                                                  \
    static void sub_##L(const char *tr)                                                  \
    {                                                                                    \
        delivery(tr, ZMQ_SUB, L);                                                        \
    }                                                                                    \
    static void xsub_##L(const char *tr)                                                 \
    {                                                                                    \
        delivery(tr, ZMQ_XSUB, L);                                                       \
    }                                                                                    \
    static void xpub_sub_##L(const char *tr)                                             \
    {                                                                                    \
        xpub_sees(tr, ZMQ_SUB, L);                                                       \
    }                                                                                    \
    static void xpub_xsub_##L(const char *tr)                                            \
    {                                                                                    \
        xpub_sees(tr, ZMQ_XSUB, L);                                                      \
    }
SZ_LENGTHS(SZ_FUNCTIONS)

#define SZ_CASE_SUB(L)       {"sub/" #L, sub_##L, SZ_WATCHDOG},
#define SZ_CASE_XSUB(L)      {"xsub/" #L, xsub_##L, SZ_WATCHDOG},
#define SZ_CASE_XPUB_SUB(L)  {"xpub<-sub/" #L, xpub_sub_##L, SZ_WATCHDOG},
#define SZ_CASE_XPUB_XSUB(L) {"xpub<-xsub/" #L, xpub_xsub_##L, SZ_WATCHDOG},

/* Grouped by socket types, then by length, as the matrix shows them. */
#define SZ_CASES                                                                         \
    SZ_LENGTHS(SZ_CASE_SUB)                                                              \
    SZ_LENGTHS(SZ_CASE_XSUB)                                                             \
    SZ_LENGTHS(SZ_CASE_XPUB_SUB)                                                         \
    SZ_LENGTHS(SZ_CASE_XPUB_XSUB)

int main(int argc, char **argv)
{
    static const conf_case_t cases[] = {SZ_CASES};
    return conf_main(argc, argv, "subscribe_sizes", cases, CONF_N(cases));
}

/*
 * Conformance of publisher-side filtering over tls:// against tcp://, both
 * bind directions. libzmq filters where the data is published (PUB/XPUB,
 * per pipe); the subscriber side delivers what was sent on its pipe (a SUB
 * filters it once more by its own subscriptions, an XSUB does not):
 *   manual_xsub    an XPUB with ZMQ_XPUB_MANUAL replaces an XSUB's
 *                  subscription "A" with "B" (then "C"): the XSUB gets "B"
 *                  (then "C") only;
 *   manual_sub     the same for a SUB subscribed to "A", pipe given "B" and
 *                  "AX": the SUB keeps only "AX" (its own filter);
 *   invert_pubsub  ZMQ_INVERT_MATCHING on PUB and SUB: everything but "A";
 *   invert_xpub    the same on XPUB and XSUB, before any subscription
 *                  (everything arrives) and after "A" (all but "A");
 *   welcome_xsub   ZMQ_XPUB_WELCOME_MSG reaches an XSUB that subscribed to
 *                  nothing;
 *   upstream       an XSUB's own messages (single and multipart, one whose
 *                  second part looks like a subscription) reach the XPUB
 *                  as they were sent;
 *   only_first     ZMQ_ONLY_FIRST_SUBSCRIBE (draft API) on XSUB and XPUB:
 *                  what the XPUB sees and what it then delivers;
 *   nodrop         an XPUB with ZMQ_XPUB_NODROP facing a SUB that does not
 *                  read gets EAGAIN, and every message it accepted arrives
 *                  (the subscriber side stops reading, it does not drop).
 *
 * Every wait is bounded. The publisher is polled while waiting on the
 * subscriber and the other way round: libzmq attaches a new peer's pipe
 * (and sends the welcome message or the subscriptions) only when the
 * socket runs, as it does in any application that polls its sockets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_pubsub.h"

#ifndef ZMQ_ONLY_FIRST_SUBSCRIBE
#define ZMQ_ONLY_FIRST_SUBSCRIBE 108 /* draft API of libzmq 4.3.4 */
#endif

/* One whole message as text: a single part that starts with 1 or 0 is
 * "+topic" / "-topic" (a subscription as an XPUB shows it), parts are
 * joined by '|', other control bytes are written as \xNN. */
static void describe(const tu_msg_t *m, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < m->n; i++) {
        const unsigned char *d = zmq_msg_data((zmq_msg_t *)&m->part[i]);
        size_t len = zmq_msg_size((zmq_msg_t *)&m->part[i]);
        size_t k = 0;
        if (i > 0)
            o += (size_t)snprintf(out + o, cap - o, "|");
        if (m->n == 1 && len > 0 && d[0] <= 1) {
            o += (size_t)snprintf(out + o, cap - o, "%c", d[0] ? '+' : '-');
            k = 1;
        }
        for (; k < len && o < cap; k++)
            o += (size_t)(d[k] >= 0x20 && d[k] < 0x7f
                              ? snprintf(out + o, cap - o, "%c", d[k])
                              : snprintf(out + o, cap - o, "\\x%02x", d[k]));
        CHECK(o < cap);
    }
}

/* Receives the next message on `sock` within TU_TIMEOUT_MS, polling
 * `other` meanwhile, which must stay unreadable. Messages starting with
 * `skip` (late copies of a probe) are passed over. Returns 0 and the
 * message's description, or -1 on timeout. */
static int next_msg(void *sock, void *other, const char *skip, char *out, size_t cap,
                    int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - tu_now_ms();
        if (left < 0)
            return -1;
        zmq_pollitem_t items[2] = {{sock, 0, ZMQ_POLLIN, 0}, {other, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 2, (long)left);
        CHECK(rc >= 0 || errno == EINTR);
        if (rc > 0 && (items[1].revents & ZMQ_POLLIN)) {
            tu_msg_t m;
            CHECK_EQ(tu_recv_msg(other, &m, 0), 0);
            describe(&m, out, cap);
            tu_msg_close(&m);
            fprintf(stderr, "unexpected \"%s\" on the other side\n", out);
            exit(1);
        }
        if (rc <= 0 || !(items[0].revents & ZMQ_POLLIN))
            continue;
        tu_msg_t m;
        CHECK_EQ(tu_recv_msg(sock, &m, 0), 0);
        describe(&m, out, cap);
        tu_msg_close(&m);
        if (skip == NULL || strncmp(out, skip, strlen(skip)) != 0)
            return 0;
    }
}

/* The next messages on sock must be want[0..n-1], then nothing for a short
 * window (a late extra message would be caught by the next check or here). */
static void expect(const char *who, void *sock, void *other, const char *skip,
                   const char *const want[], size_t n)
{
    char got[256];
    for (size_t i = 0; i < n; i++) {
        if (next_msg(sock, other, skip, got, sizeof got, TU_TIMEOUT_MS) != 0) {
            fprintf(stderr, "%s: expected \"%s\" (#%zu), got nothing in %d ms\n", who,
                    want[i], i, TU_TIMEOUT_MS);
            exit(1);
        }
        if (strcmp(got, want[i]) != 0) {
            fprintf(stderr, "%s: expected \"%s\" (#%zu), got \"%s\"\n", who, want[i], i,
                    got);
            exit(1);
        }
    }
}

static void expect_one(const char *who, void *sock, void *other, const char *want)
{
    expect(who, sock, other, NULL, &want, 1);
}

static void expect_quiet(const char *who, void *sock, void *other, const char *skip)
{
    char got[256];
    if (next_msg(sock, other, skip, got, sizeof got, 100) == 0) {
        fprintf(stderr, "%s: expected nothing more, got \"%s\"\n", who, got);
        exit(1);
    }
}

static void set_str(void *sock, int option, const char *value)
{
    CHECK_EQ(zmq_setsockopt(sock, option, value, strlen(value)), 0);
}

/* Publishes `probe` until sub receives it (the publisher has attached the
 * subscriber's pipe and, if it filters, lets the probe through). Anything
 * else arriving is a failure. */
static void probe(void *pub, void *sub, const char *probe_msg)
{
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    unsigned sent = 0;
    for (;;) {
        if (tu_now_ms() > deadline) {
            fprintf(stderr, "probe \"%s\": not received after %u sends in %d ms\n",
                    probe_msg, sent, TU_TIMEOUT_MS);
            exit(1);
        }
        int rc = conf_try_send(pub, probe_msg);
        CHECK(rc == 0 || rc == EAGAIN);
        sent++;
        char got[256];
        if (next_msg(sub, pub, NULL, got, sizeof got, CONF_PROBE_MS) != 0)
            continue;
        if (strcmp(got, probe_msg) != 0) {
            fprintf(stderr, "sub got \"%s\" while probing \"%s\"\n", got, probe_msg);
            exit(1);
        }
        return;
    }
}

static void close_all(void *ctx, tu_peer_t *pub, tu_peer_t *sub)
{
    tu_peer_close(sub);
    tu_peer_close(pub);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

/* ---- ZMQ_XPUB_MANUAL ------------------------------------------------------- */

static void pre_manual(void *pub, void *sub)
{
    tu_set_int(pub, ZMQ_XPUB_MANUAL, 1);
}

static void manual_xsub(const char *tr, int dir)
{
    void *ctx = new_ctx();
    tu_peer_t xp, xs;
    open_pair(ctx, tr, dir, ZMQ_XPUB, ZMQ_XSUB, pre_manual, &xp, &xs);

    send_sub_msg(xs.sock, 1, "A", 0);
    expect_one("xpub", xp.sock, xs.sock, "+A");
    /* Manual: the subscription read last names the pipe; the publisher
     * gives it "B" instead of what it asked for. */
    set_str(xp.sock, ZMQ_SUBSCRIBE, "B");
    static const char *const out1[] = {"A-1", "B-1", "A-2", "B-2"};
    publish(xp.sock, out1, CONF_N(out1));
    static const char *const want1[] = {"B-1", "B-2"};
    expect("xsub", xs.sock, xp.sock, NULL, want1, CONF_N(want1));
    expect_quiet("xsub", xs.sock, xp.sock, NULL);

    /* A cancel is the publisher's to apply too: it drops "B", takes "C". */
    send_sub_msg(xs.sock, 0, "A", 0);
    expect_one("xpub", xp.sock, xs.sock, "-A");
    set_str(xp.sock, ZMQ_UNSUBSCRIBE, "B");
    set_str(xp.sock, ZMQ_SUBSCRIBE, "C");
    static const char *const out2[] = {"A-3", "B-3", "C-1", "C-2"};
    publish(xp.sock, out2, CONF_N(out2));
    static const char *const want2[] = {"C-1", "C-2"};
    expect("xsub", xs.sock, xp.sock, NULL, want2, CONF_N(want2));
    expect_quiet("xsub", xs.sock, xp.sock, NULL);
    close_all(ctx, &xp, &xs);
    printf("manual xsub (%s): asked for A, given B then C: got B-1 B-2 C-1 C-2\n",
           dir_name(dir));
}

static void manual_xsub_pub_binds(const char *tr)
{
    manual_xsub(tr, PUB_BINDS);
}

static void manual_xsub_sub_binds(const char *tr)
{
    manual_xsub(tr, SUB_BINDS);
}

static void manual_sub(const char *tr, int dir)
{
    void *ctx = new_ctx();
    tu_peer_t xp, sub;
    open_pair(ctx, tr, dir, ZMQ_XPUB, ZMQ_SUB, pre_manual, &xp, &sub);

    set_str(sub.sock, ZMQ_SUBSCRIBE, "A");
    expect_one("xpub", xp.sock, sub.sock, "+A");
    set_str(xp.sock, ZMQ_SUBSCRIBE, "B");
    set_str(xp.sock, ZMQ_SUBSCRIBE, "AX");
    /* The pipe carries B and AX; the SUB's own filter keeps AX only. */
    static const char *const out[] = {"A-1", "B-1", "AX-1", "A-2", "B-2", "AX-2"};
    publish(xp.sock, out, CONF_N(out));
    static const char *const want[] = {"AX-1", "AX-2"};
    expect("sub", sub.sock, xp.sock, NULL, want, CONF_N(want));
    expect_quiet("sub", sub.sock, xp.sock, NULL);
    close_all(ctx, &xp, &sub);
    printf("manual sub (%s): asked for A, given B and AX: got AX-1 AX-2\n",
           dir_name(dir));
}

static void manual_sub_pub_binds(const char *tr)
{
    manual_sub(tr, PUB_BINDS);
}

static void manual_sub_sub_binds(const char *tr)
{
    manual_sub(tr, SUB_BINDS);
}

/* ---- ZMQ_INVERT_MATCHING -------------------------------------------------- */

static void pre_invert(void *pub, void *sub)
{
    tu_set_int(pub, ZMQ_INVERT_MATCHING, 1);
    tu_set_int(sub, ZMQ_INVERT_MATCHING, 1);
}

static void invert_pubsub(const char *tr, int dir)
{
    void *ctx = new_ctx();
    tu_peer_t pub, sub;
    open_pair(ctx, tr, dir, ZMQ_PUB, ZMQ_SUB, pre_invert, &pub, &sub);
    set_str(sub.sock, ZMQ_SUBSCRIBE, "A");
    /* "ready" matches nothing, so it passes both inverted filters. */
    probe(pub.sock, sub.sock, "ready");
    static const char *const out[] = {"A-1", "B-1", "A-2", "C-1", "AB-1", "end"};
    publish(pub.sock, out, CONF_N(out));
    static const char *const want[] = {"B-1", "C-1", "end"};
    expect("sub", sub.sock, pub.sock, "ready", want, CONF_N(want));
    expect_quiet("sub", sub.sock, pub.sock, "ready");
    close_all(ctx, &pub, &sub);
    printf("invert pub/sub (%s): subscribed to A, got everything else\n", dir_name(dir));
}

static void invert_pubsub_pub_binds(const char *tr)
{
    invert_pubsub(tr, PUB_BINDS);
}

static void invert_pubsub_sub_binds(const char *tr)
{
    invert_pubsub(tr, SUB_BINDS);
}

static void invert_xpub(const char *tr, int dir)
{
    void *ctx = new_ctx();
    tu_peer_t xp, xs;
    open_pair(ctx, tr, dir, ZMQ_XPUB, ZMQ_XSUB, pre_invert, &xp, &xs);
    /* A pipe without subscriptions matches nothing: inverted, it gets all. */
    probe(xp.sock, xs.sock, "ready");
    static const char *const out1[] = {"A-0", "x-0"};
    publish(xp.sock, out1, CONF_N(out1));
    expect("xsub", xs.sock, xp.sock, "ready", out1, CONF_N(out1));

    send_sub_msg(xs.sock, 1, "A", 0);
    expect_one("xpub", xp.sock, xs.sock, "+A");
    static const char *const out2[] = {"A-1", "B-1", "A-2", "C-1"};
    publish(xp.sock, out2, CONF_N(out2));
    static const char *const want2[] = {"B-1", "C-1"};
    expect("xsub", xs.sock, xp.sock, "ready", want2, CONF_N(want2));
    expect_quiet("xsub", xs.sock, xp.sock, "ready");
    close_all(ctx, &xp, &xs);
    printf("invert xpub/xsub (%s): everything before a subscription, all but A "
           "after\n",
           dir_name(dir));
}

static void invert_xpub_pub_binds(const char *tr)
{
    invert_xpub(tr, PUB_BINDS);
}

static void invert_xpub_sub_binds(const char *tr)
{
    invert_xpub(tr, SUB_BINDS);
}

/* ---- ZMQ_XPUB_WELCOME_MSG to an XSUB --------------------------------------- */

static void pre_welcome(void *pub, void *sub)
{
    set_str(pub, ZMQ_XPUB_WELCOME_MSG, "W");
}

static void welcome_xsub(const char *tr, int dir)
{
    void *ctx = new_ctx();
    tu_peer_t xp, xs;
    open_pair(ctx, tr, dir, ZMQ_XPUB, ZMQ_XSUB, pre_welcome, &xp, &xs);
    /* An XSUB does not filter: the welcome arrives without a subscription. */
    expect_one("xsub", xs.sock, xp.sock, "W");
    send_sub_msg(xs.sock, 1, "t", 0);
    expect_one("xpub", xp.sock, xs.sock, "+t");
    static const char *const out[] = {"u-1", "t-1"};
    publish(xp.sock, out, CONF_N(out));
    expect_one("xsub", xs.sock, xp.sock, "t-1");
    expect_quiet("xsub", xs.sock, xp.sock, NULL);
    close_all(ctx, &xp, &xs);
    printf("welcome xsub (%s): \"W\" arrived before any subscription\n", dir_name(dir));
}

static void welcome_xsub_pub_binds(const char *tr)
{
    welcome_xsub(tr, PUB_BINDS);
}

static void welcome_xsub_sub_binds(const char *tr)
{
    welcome_xsub(tr, SUB_BINDS);
}

/* ---- an XSUB's own messages upstream --------------------------------------- */

static void pre_verboser(void *pub, void *sub)
{
    tu_set_int(pub, ZMQ_XPUB_VERBOSER, 1);
}

/* What the XSUB sends, in order, and what the XPUB must then deliver to it
 * ("\x01C" as the second part of a message is a subscription to an XPUB
 * without ZMQ_ONLY_FIRST_SUBSCRIBE). */
static void send_upstream(void *xs)
{
    send_sub_msg(xs, 1, "A", 0);
    CHECK_EQ(tu_send_str(xs, "hello", 0), 5);
    CHECK_EQ(tu_send_str(xs, "m1", ZMQ_SNDMORE), 2);
    CHECK_EQ(tu_send_str(xs, "m2", 0), 2);
    CHECK_EQ(tu_send_str(xs, "x", ZMQ_SNDMORE), 1);
    send_sub_msg(xs, 1, "C", 0);
    send_sub_msg(xs, 1, "D", ZMQ_SNDMORE);
    send_sub_msg(xs, 1, "E", 0);
    send_sub_msg(xs, 1, "end", 0);
}

static void upstream_check(const char *tr, int dir, int only_first)
{
    void *ctx = new_ctx();
    tu_peer_t xp, xs;
    open_pair(ctx, tr, dir, ZMQ_XPUB, ZMQ_XSUB, pre_verboser, &xp, &xs);
    if (only_first) {
        tu_set_int(xp.sock, ZMQ_ONLY_FIRST_SUBSCRIBE, 1);
        tu_set_int(xs.sock, ZMQ_ONLY_FIRST_SUBSCRIBE, 1);
    }
    send_upstream(xs.sock);
    /* A subscription is handed over on its own, even as a first part. */
    static const char *const seen[] = {"+A", "hello", "m1|m2", "x|\\x01C",
                                       "+D", "+E",    "+end"};
    expect("xpub", xp.sock, xs.sock, NULL, seen, CONF_N(seen));
    static const char *const out[] = {"A-1", "C-1", "D-1", "E-1", "F-1", "end"};
    publish(xp.sock, out, CONF_N(out));
    static const char *const want_all[] = {"A-1", "C-1", "D-1", "E-1", "end"};
    static const char *const want_first[] = {"A-1", "D-1", "E-1", "end"};
    if (only_first)
        expect("xsub", xs.sock, xp.sock, NULL, want_first, CONF_N(want_first));
    else
        expect("xsub", xs.sock, xp.sock, NULL, want_all, CONF_N(want_all));
    expect_quiet("xsub", xs.sock, xp.sock, NULL);
    close_all(ctx, &xp, &xs);
    printf("upstream (%s%s): the XPUB read the XSUB's messages as sent; "
           "\\x01C as a second part %s\n",
           dir_name(dir), only_first ? ", only first subscribe" : "",
           only_first ? "stayed data" : "subscribed");
}

static void upstream_pub_binds(const char *tr)
{
    upstream_check(tr, PUB_BINDS, 0);
}

static void upstream_sub_binds(const char *tr)
{
    upstream_check(tr, SUB_BINDS, 0);
}

static void only_first_pub_binds(const char *tr)
{
    upstream_check(tr, PUB_BINDS, 1);
}

static void only_first_sub_binds(const char *tr)
{
    upstream_check(tr, SUB_BINDS, 1);
}

/* ---- ZMQ_XPUB_NODROP --------------------------------------------------------- */

#define NODROP_HWM   50
#define NODROP_SIZE  1000
#define NODROP_CAP   50000 /* far above every buffer on the way */
#define NODROP_STUCK 25

static void pre_nodrop(void *pub, void *sub)
{
    tu_set_int(pub, ZMQ_XPUB_NODROP, 1);
    tu_set_int(pub, ZMQ_SNDHWM, NODROP_HWM);
    tu_set_int(sub, ZMQ_RCVHWM, NODROP_HWM);
}

/* A subscriber that does not read: the XPUB's sends must end in EAGAIN
 * once every buffer on the way is full (the subscriber's side holds what
 * arrived and stops reading, it does not drop), and every message accepted
 * must then arrive, in order, none missing. */
static void nodrop(const char *tr, int dir)
{
    void *ctx = new_ctx();
    tu_peer_t xp, sub;
    open_pair(ctx, tr, dir, ZMQ_XPUB, ZMQ_SUB, pre_nodrop, &xp, &sub);
    set_str(sub.sock, ZMQ_SUBSCRIBE, "");
    expect_one("xpub", xp.sock, sub.sock, "+");
    probe(xp.sock, sub.sock, "ready");

    char msg[NODROP_SIZE];
    memset(msg, '.', sizeof msg);
    /* An EAGAIN may be the I/O threads lagging behind: full means no room
     * for NODROP_STUCK probe periods in a row (an XPUB has no POLLOUT to
     * wait on, the publisher's own POLLIN paces the retries). */
    int accepted = 0, stuck = 0;
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    while (accepted < NODROP_CAP && stuck < NODROP_STUCK && tu_now_ms() < deadline) {
        snprintf(msg, sizeof msg, "%08d", accepted);
        if (zmq_send(xp.sock, msg, sizeof msg, ZMQ_DONTWAIT) == (int)sizeof msg) {
            accepted++;
            stuck = 0;
            continue;
        }
        CHECK_EQ(errno, EAGAIN);
        stuck++;
        CHECK(tu_wait_readable(xp.sock, CONF_PROBE_MS) != 0);
    }
    if (stuck < NODROP_STUCK) {
        fprintf(stderr, "xpub: %d sends accepted, never full in %d ms: something drops\n",
                accepted, TU_TIMEOUT_MS);
        exit(1);
    }
    for (int i = 0; i < accepted; i++) {
        char got[NODROP_SIZE + 1];
        int n;
        do {
            CHECK_EQ(tu_wait_readable(sub.sock, TU_TIMEOUT_MS), 0);
            n = zmq_recv(sub.sock, got, sizeof got, 0);
            CHECK(n >= 0);
        } while (n == 5 && memcmp(got, "ready", 5) == 0);
        if (n != NODROP_SIZE || atoi(got) != i) {
            fprintf(stderr, "sub: expected message %d of %d, got %d bytes \"%.8s\"\n", i,
                    accepted, n, got);
            exit(1);
        }
    }
    expect_quiet("sub", sub.sock, xp.sock, "ready");
    close_all(ctx, &xp, &sub);
    printf("nodrop (%s): full after %d messages, all of them received in order\n",
           dir_name(dir), accepted);
}

static void nodrop_pub_binds(const char *tr)
{
    nodrop(tr, PUB_BINDS);
}

static void nodrop_sub_binds(const char *tr)
{
    nodrop(tr, SUB_BINDS);
}

int main(int argc, char **argv)
{
    static const conf_case_t cases[] = {
        {"manual_xsub_pub_binds", manual_xsub_pub_binds, 0},
        {"manual_xsub_sub_binds", manual_xsub_sub_binds, 0},
        {"manual_sub_pub_binds", manual_sub_pub_binds, 0},
        {"manual_sub_sub_binds", manual_sub_sub_binds, 0},
        {"invert_pubsub_pub_binds", invert_pubsub_pub_binds, 0},
        {"invert_pubsub_sub_binds", invert_pubsub_sub_binds, 0},
        {"invert_xpub_pub_binds", invert_xpub_pub_binds, 0},
        {"invert_xpub_sub_binds", invert_xpub_sub_binds, 0},
        {"welcome_xsub_pub_binds", welcome_xsub_pub_binds, 0},
        {"welcome_xsub_sub_binds", welcome_xsub_sub_binds, 0},
        {"upstream_pub_binds", upstream_pub_binds, 0},
        {"upstream_sub_binds", upstream_sub_binds, 0},
        {"only_first_pub_binds", only_first_pub_binds, 0},
        {"only_first_sub_binds", only_first_sub_binds, 0},
        {"nodrop_pub_binds", nodrop_pub_binds, 0},
        {"nodrop_sub_binds", nodrop_sub_binds, 0},
    };
    return conf_main(argc, argv, "conf_xpub", cases, CONF_N(cases));
}

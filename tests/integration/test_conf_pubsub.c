/*
 * Conformance of PUB/SUB, XPUB/XSUB over tls:// against tcp://, both bind
 * directions:
 *   filter         only topics the SUB subscribed to arrive, in order;
 *   unsubscribe    ZMQ_UNSUBSCRIBE stops delivery of that topic only;
 *   multi          three SUBs with different filters each get their own;
 *   xpub           XPUB sees "\x01topic" / "\x00topic" from a SUB, unique
 *                  subscriptions only, or every one with ZMQ_XPUB_VERBOSE;
 *   xsub           an XSUB sends "\x01topic" / "\x00topic" upstream itself;
 *   restart        a SUB connected to a PUB that is closed and re-bound on
 *                  the same port resubscribes on its own and receives again.
 *
 * A subscription travels to the publisher asynchronously, so a test never
 * publishes real data before it knows the subscription is in effect: it
 * publishes a probe topic (subscribed to as well) in a bounded loop until
 * the SUB receives it. Subscriptions from one SUB travel in order on one
 * connection, so once a later probe arrives the earlier (un)subscriptions
 * have been applied too. Late copies of a probe are skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf_pubsub.h"

static void subscribe(void *sub, const char *topic)
{
    CHECK_EQ(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, topic, strlen(topic)), 0);
}

static void unsubscribe(void *sub, const char *topic)
{
    CHECK_EQ(zmq_setsockopt(sub, ZMQ_UNSUBSCRIBE, topic, strlen(topic)), 0);
}

/* Publishes `probe` until each of the n subs has received a message that
 * starts with it. Any other message is a failure: nothing else has been
 * published yet. */
static void probe_subs(void *pub, void *const subs[], size_t n, const char *probe)
{
    int got[8] = {0};
    size_t done = 0;
    unsigned sent = 0;
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    CHECK(n <= 8);
    while (done < n) {
        if (tu_now_ms() > deadline) {
            fprintf(stderr,
                    "probe \"%s\": %zu of %zu subscribers got it after %u sends "
                    "in %d ms: the subscription never took effect\n",
                    probe, done, n, sent, TU_TIMEOUT_MS);
            exit(1);
        }
        int rc = conf_try_send(pub, probe);
        CHECK(rc == 0 || rc == EAGAIN);
        sent++;
        zmq_pollitem_t items[8];
        for (size_t i = 0; i < n; i++)
            items[i] = (zmq_pollitem_t){subs[i], 0, ZMQ_POLLIN, 0};
        int prc = zmq_poll(items, (int)n, CONF_PROBE_MS);
        CHECK(prc >= 0 || errno == EINTR);
        for (size_t i = 0; prc > 0 && i < n; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            char buf[64];
            CHECK(tu_recv_str(subs[i], buf, sizeof buf, 0) >= 0);
            if (strncmp(buf, probe, strlen(probe)) != 0) {
                fprintf(stderr, "subscriber %zu got \"%s\" while probing \"%s\"\n", i,
                        buf, probe);
                exit(1);
            }
            if (!got[i]) {
                got[i] = 1;
                done++;
            }
        }
    }
}

static void probe_sub(void *pub, void *sub, const char *probe)
{
    void *subs[1] = {sub};
    probe_subs(pub, subs, 1, probe);
}

/* The next messages on sub, skipping late probes, must be exactly want[]. */
static void expect_seq(void *sub, const char *who, const char *skip,
                       const char *const want[], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        int len = conf_recv_skip(sub, buf, sizeof buf, skip, TU_TIMEOUT_MS);
        if (len < 0) {
            fprintf(stderr, "%s: expected \"%s\" (#%zu), got nothing in %d ms\n", who,
                    want[i], i, TU_TIMEOUT_MS);
            exit(1);
        }
        if (strcmp(buf, want[i]) != 0) {
            fprintf(stderr, "%s: expected \"%s\" (#%zu), got \"%s\"\n", who, want[i], i,
                    buf);
            exit(1);
        }
    }
}

/* ---- filter ------------------------------------------------------------ */

static void filter(const char *tr, int dir)
{
    void *ctx = new_ctx();
    tu_peer_t pub, sub;
    open_pair(ctx, tr, dir, ZMQ_PUB, ZMQ_SUB, NULL, &pub, &sub);
    subscribe(sub.sock, "A");
    subscribe(sub.sock, "ready");
    probe_sub(pub.sock, sub.sock, "ready");

    static const char *const out[] = {"B-1",  "A-1",     "C-1", "A-2",
                                      "AB-3", "a-lower", "xA",  "A-end"};
    publish(pub.sock, out, CONF_N(out));
    /* Non-matching messages sent before A-1 would be received first. */
    static const char *const want[] = {"A-1", "A-2", "AB-3", "A-end"};
    expect_seq(sub.sock, "sub", "ready", want, CONF_N(want));
    CHECK(conf_quiet(sub.sock, 100));
    tu_peer_close(&sub);
    tu_peer_close(&pub);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("filter (%s): 8 published, the 4 matching \"A\" received in order\n",
           dir_name(dir));
}

static void filter_pub_binds(const char *tr)
{
    filter(tr, PUB_BINDS);
}

static void filter_sub_binds(const char *tr)
{
    filter(tr, SUB_BINDS);
}

/* ---- unsubscribe ------------------------------------------------------- */

static void unsubscribe_stops(const char *tr, int dir)
{
    void *ctx = new_ctx();
    tu_peer_t pub, sub;
    open_pair(ctx, tr, dir, ZMQ_PUB, ZMQ_SUB, NULL, &pub, &sub);
    subscribe(sub.sock, "A");
    subscribe(sub.sock, "B");
    subscribe(sub.sock, "ready");
    probe_sub(pub.sock, sub.sock, "ready");
    static const char *const out1[] = {"A-1", "B-1"};
    publish(pub.sock, out1, 2);
    expect_seq(sub.sock, "sub", "ready", out1, 2);

    /* The cancel travels before the "again" subscription: once "again"
     * arrives, the publisher has applied the cancel too. */
    unsubscribe(sub.sock, "A");
    subscribe(sub.sock, "again");
    probe_sub(pub.sock, sub.sock, "again");
    static const char *const out2[] = {"A-2", "B-2", "A-3", "B-end"};
    publish(pub.sock, out2, CONF_N(out2));
    static const char *const want2[] = {"B-2", "B-end"};
    expect_seq(sub.sock, "sub", "again", want2, 2);
    CHECK(conf_quiet(sub.sock, 100));
    tu_peer_close(&sub);
    tu_peer_close(&pub);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("unsubscribe (%s): after ZMQ_UNSUBSCRIBE \"A\" only \"B\" arrives\n",
           dir_name(dir));
}

static void unsubscribe_pub_binds(const char *tr)
{
    unsubscribe_stops(tr, PUB_BINDS);
}

static void unsubscribe_sub_binds(const char *tr)
{
    unsubscribe_stops(tr, SUB_BINDS);
}

/* ---- several subscribers ----------------------------------------------- */

static void multi(const char *tr, int dir)
{
    void *ctx = new_ctx();
    static const char *const names[3] = {"sub-a", "sub-b", "sub-all"};
    static const char *const filters[3] = {"a", "b", ""};
    tu_peer_t pub, subs[3];
    conf_peer_open(&pub, "pub", ctx, ZMQ_PUB, tr,
                   dir == PUB_BINDS ? CONF_SERVER : CONF_CLIENT);
    if (dir == PUB_BINDS)
        conf_peer_bind(&pub, tr);
    for (int i = 0; i < 3; i++) {
        conf_peer_open(&subs[i], names[i], ctx, ZMQ_SUB, tr,
                       dir == PUB_BINDS ? CONF_CLIENT : CONF_SERVER);
        subscribe(subs[i].sock, filters[i]);
        subscribe(subs[i].sock, "ready");
        subscribe(subs[i].sock, "end");
        if (dir == PUB_BINDS) {
            tu_peer_connect(&subs[i], pub.endpoint);
        } else {
            conf_peer_bind(&subs[i], tr);
            tu_peer_connect(&pub, subs[i].endpoint);
        }
    }
    for (int i = 0; i < 3; i++) {
        TU_PEER_EXPECT(&subs[i], ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
        TU_PEER_EXPECT(&pub, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    }
    void *socks[3] = {subs[0].sock, subs[1].sock, subs[2].sock};
    probe_subs(pub.sock, socks, 3, "ready");

    static const char *const out[] = {"a-1", "b-1", "c-1", "a-2", "end"};
    publish(pub.sock, out, CONF_N(out));
    static const char *const want_a[] = {"a-1", "a-2", "end"};
    static const char *const want_b[] = {"b-1", "end"};
    expect_seq(subs[0].sock, names[0], "ready", want_a, CONF_N(want_a));
    expect_seq(subs[1].sock, names[1], "ready", want_b, CONF_N(want_b));
    expect_seq(subs[2].sock, names[2], "ready", out, CONF_N(out));
    for (int i = 0; i < 3; i++) {
        CHECK(conf_quiet(subs[i].sock, 50));
        tu_peer_close(&subs[i]);
    }
    tu_peer_close(&pub);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("multi (%s): 3 subscribers, each got exactly its own topics\n", dir_name(dir));
}

static void multi_pub_binds(const char *tr)
{
    multi(tr, PUB_BINDS);
}

static void multi_sub_binds(const char *tr)
{
    multi(tr, SUB_BINDS);
}

/* ---- XPUB sees subscriptions -------------------------------------------- */

/* The next message on xpub is the subscription message kind+topic. The
 * subscriber side is polled as well: a bound SUB attaches a new peer's pipe
 * (and sends it the subscriptions) only when it processes its commands,
 * which zmq_setsockopt does not do but any poll does, as in an application
 * that reads its SUB. It must have nothing to read meanwhile. */
static void expect_sub_msg(void *xpub_sock, void *sub_sock, int kind, const char *topic)
{
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    zmq_pollitem_t items[2] = {{xpub_sock, 0, ZMQ_POLLIN, 0},
                               {sub_sock, 0, ZMQ_POLLIN, 0}};
    for (;;) {
        int64_t left = deadline - tu_now_ms();
        if (left <= 0) {
            fprintf(stderr, "xpub: expected \"\\x%02x%s\", got nothing in %d ms\n", kind,
                    topic, TU_TIMEOUT_MS);
            exit(1);
        }
        int rc = zmq_poll(items, 2, left);
        CHECK(rc >= 0 || errno == EINTR);
        CHECK(rc <= 0 || !(items[1].revents & ZMQ_POLLIN));
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN))
            break;
    }
    char buf[64];
    int n = tu_recv_str(xpub_sock, buf, sizeof buf, 0);
    CHECK(n >= 0);
    if (n != (int)strlen(topic) + 1 || buf[0] != kind || strcmp(buf + 1, topic) != 0) {
        fprintf(stderr, "xpub: expected \"\\x%02x%s\", got %d bytes \"\\x%02x%s\"\n",
                kind, topic, n, n > 0 ? (unsigned char)buf[0] : 0, n > 0 ? buf + 1 : "");
        exit(1);
    }
}

static void xpub(const char *tr, int dir, int verbose)
{
    void *ctx = new_ctx();
    tu_peer_t xp, sub;
    open_pair(ctx, tr, dir, ZMQ_XPUB, ZMQ_SUB, NULL, &xp, &sub);
    tu_set_int(xp.sock, ZMQ_XPUB_VERBOSE, verbose);

    subscribe(sub.sock, "t");
    expect_sub_msg(xp.sock, sub.sock, 1, "t");
    /* A duplicate: forwarded only when verbose. "m" marks the end, so the
     * check needs no quiet window. */
    subscribe(sub.sock, "t");
    subscribe(sub.sock, "m");
    if (verbose)
        expect_sub_msg(xp.sock, sub.sock, 1, "t");
    expect_sub_msg(xp.sock, sub.sock, 1, "m");
    /* The SUB counts its subscriptions: the first cancel of "t" sends
     * nothing, the second one reaches the XPUB. */
    unsubscribe(sub.sock, "t");
    subscribe(sub.sock, "n");
    expect_sub_msg(xp.sock, sub.sock, 1, "n");
    unsubscribe(sub.sock, "t");
    expect_sub_msg(xp.sock, sub.sock, 0, "t");

    /* The XPUB has seen every subscription: it filters by them now. */
    static const char *const out[] = {"t-1", "x-1", "m-1", "n-1"};
    publish(xp.sock, out, CONF_N(out));
    static const char *const want[] = {"m-1", "n-1"};
    expect_seq(sub.sock, "sub", NULL, want, 2);
    CHECK(conf_quiet(xp.sock, 50));
    tu_peer_close(&sub);
    tu_peer_close(&xp);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("xpub (%s, verbose %d): saw \\x01t%s \\x01m \\x01n \\x00t; data filtered\n",
           dir_name(dir), verbose, verbose ? " \\x01t" : "");
}

static void xpub_pub_binds(const char *tr)
{
    xpub(tr, PUB_BINDS, 0);
}

static void xpub_sub_binds(const char *tr)
{
    xpub(tr, SUB_BINDS, 0);
}

static void xpub_verbose_pub_binds(const char *tr)
{
    xpub(tr, PUB_BINDS, 1);
}

static void xpub_verbose_sub_binds(const char *tr)
{
    xpub(tr, SUB_BINDS, 1);
}

/* ---- XSUB sends its own subscriptions ------------------------------------ */

static void xsub(const char *tr, int dir)
{
    void *ctx = new_ctx();
    tu_peer_t xp, xs;
    open_pair(ctx, tr, dir, ZMQ_XPUB, ZMQ_XSUB, NULL, &xp, &xs);

    send_sub_msg(xs.sock, 1, "top", 0);
    expect_sub_msg(xp.sock, xs.sock, 1, "top");
    static const char *const out1[] = {"top-1", "other-1", "top-2"};
    publish(xp.sock, out1, CONF_N(out1));
    static const char *const want1[] = {"top-1", "top-2"};
    expect_seq(xs.sock, "xsub", NULL, want1, 2);

    send_sub_msg(xs.sock, 0, "top", 0);
    expect_sub_msg(xp.sock, xs.sock, 0, "top");
    send_sub_msg(xs.sock, 1, "z", 0);
    expect_sub_msg(xp.sock, xs.sock, 1, "z");
    static const char *const out2[] = {"top-3", "z-1"};
    publish(xp.sock, out2, CONF_N(out2));
    static const char *const want2[] = {"z-1"};
    expect_seq(xs.sock, "xsub", NULL, want2, 1);
    CHECK(conf_quiet(xs.sock, 50));
    tu_peer_close(&xs);
    tu_peer_close(&xp);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("xsub (%s): \\x01top and \\x00top reached the XPUB, which filtered by them\n",
           dir_name(dir));
}

static void xsub_pub_binds(const char *tr)
{
    xsub(tr, PUB_BINDS);
}

static void xsub_sub_binds(const char *tr)
{
    xsub(tr, SUB_BINDS);
}

/* ---- publisher restart --------------------------------------------------- */

static void restart(const char *tr)
{
    void *ctx = new_ctx();
    tu_peer_t pub, sub;
    open_pair(ctx, tr, PUB_BINDS, ZMQ_PUB, ZMQ_SUB, NULL, &pub, &sub);
    subscribe(sub.sock, "news");
    subscribe(sub.sock, "ready");
    probe_sub(pub.sock, sub.sock, "ready");
    static const char *const out1[] = {"sports-0", "news-0"};
    publish(pub.sock, out1, 2);
    expect_seq(sub.sock, "sub", "ready", out1 + 1, 1);

    char endpoint[TU_EP_MAX];
    snprintf(endpoint, sizeof endpoint, "%s", pub.endpoint);
    tu_peer_close(&pub);
    TU_PEER_EXPECT(&sub, ZMQ_EVENT_DISCONNECTED);

    /* The old listener closes on an I/O thread, so the port may still be
     * taken for a moment: retry the bind until a deadline, pacing the loop
     * on the subscriber's own monitor events. */
    tu_peer_t pub2;
    conf_peer_open(&pub2, "pub-2", ctx, ZMQ_PUB, tr, CONF_SERVER);
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    while (zmq_bind(pub2.sock, endpoint) != 0) {
        CHECK_EQ(errno, EADDRINUSE);
        CHECK(tu_now_ms() < deadline);
        tu_drain_events(sub.mon, &sub.log, CONF_PROBE_MS);
    }
    /* Nothing is set on the SUB again: it must resubscribe by itself. */
    probe_sub(pub2.sock, sub.sock, "ready");
    static const char *const out2[] = {"sports-1", "news-1", "weather-1", "news-2"};
    publish(pub2.sock, out2, CONF_N(out2));
    static const char *const want2[] = {"news-1", "news-2"};
    expect_seq(sub.sock, "sub", "ready", want2, 2);
    tu_peer_close(&sub);
    tu_peer_close(&pub2);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("restart: publisher re-bound on the same port, subscriber resubscribed "
           "by itself and received the new publisher's \"news\" only\n");
}

/* ---- what is replayed after a restart ------------------------------------ */

/* (Un)subscribes the way the socket type does it: options for SUB, 1/0
 * messages for XSUB. */
static void sub_ctl(void *sock, int sub_type, int on, const char *topic)
{
    if (sub_type == ZMQ_XSUB)
        send_sub_msg(sock, on, topic, 0);
    else if (on)
        subscribe(sock, topic);
    else
        unsubscribe(sock, topic);
}

/* The subscriber's state before the publisher restarts: "news" twice then
 * cancelled twice (a SUB counts: only the second cancel goes out),
 * "sports" cancelled, "keep" and "ready" held. The new publisher is an
 * XPUB (verbose, so it shows every subscription message it gets): it must
 * see exactly "ready" and "keep", once each, nothing cancelled. */
static void restart_replay(const char *tr, int sub_type)
{
    void *ctx = new_ctx();
    tu_peer_t pub, sub;
    open_pair(ctx, tr, PUB_BINDS, ZMQ_PUB, sub_type, NULL, &pub, &sub);
    sub_ctl(sub.sock, sub_type, 1, "news");
    sub_ctl(sub.sock, sub_type, 1, "news");
    sub_ctl(sub.sock, sub_type, 1, "sports");
    sub_ctl(sub.sock, sub_type, 1, "keep");
    sub_ctl(sub.sock, sub_type, 1, "ready");
    sub_ctl(sub.sock, sub_type, 0, "sports");
    sub_ctl(sub.sock, sub_type, 0, "news");
    sub_ctl(sub.sock, sub_type, 0, "news");
    /* The last subscription made it: the cancels before it did too. */
    probe_sub(pub.sock, sub.sock, "ready");

    char endpoint[TU_EP_MAX];
    snprintf(endpoint, sizeof endpoint, "%s", pub.endpoint);
    tu_peer_close(&pub);
    TU_PEER_EXPECT(&sub, ZMQ_EVENT_DISCONNECTED);
    tu_peer_t xp;
    conf_peer_open(&xp, "xpub-2", ctx, ZMQ_XPUB, tr, CONF_SERVER);
    tu_set_int(xp.sock, ZMQ_XPUB_VERBOSE, 1);
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    while (zmq_bind(xp.sock, endpoint) != 0) {
        CHECK_EQ(errno, EADDRINUSE);
        CHECK(tu_now_ms() < deadline);
        tu_drain_events(sub.mon, &sub.log, CONF_PROBE_MS);
    }

    /* Collect subscription messages until both expected ones came, then
     * for a short window more: nothing else may follow. The subscriber is
     * polled too, so that it processes its commands; it may only see late
     * copies of the old publisher's probe. */
    char seen[16][32];
    int nseen = 0, have_ready = 0, have_keep = 0;
    int64_t quiet_until = 0;
    deadline = tu_now_ms() + TU_TIMEOUT_MS;
    for (;;) {
        int64_t now = tu_now_ms();
        if (quiet_until == 0 && have_ready && have_keep)
            quiet_until = now + 200;
        int64_t end = quiet_until ? quiet_until : deadline;
        if (now >= end)
            break;
        zmq_pollitem_t items[2] = {{xp.sock, 0, ZMQ_POLLIN, 0},
                                   {sub.sock, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 2, (long)(end - now));
        CHECK(rc >= 0 || errno == EINTR);
        if (rc > 0 && (items[1].revents & ZMQ_POLLIN)) {
            /* Only late copies of the old publisher's probe may arrive. */
            char late[32];
            CHECK(tu_recv_str(sub.sock, late, sizeof late, 0) >= 0);
            CHECK(strncmp(late, "ready", 5) == 0);
        }
        if (rc <= 0 || !(items[0].revents & ZMQ_POLLIN))
            continue;
        char buf[32];
        int n = tu_recv_str(xp.sock, buf, sizeof buf, 0);
        CHECK(n >= 1 && nseen < 16);
        snprintf(seen[nseen], sizeof seen[0], "%s%s", buf[0] == 1 ? "+" : "-", buf + 1);
        have_ready |= strcmp(seen[nseen], "+ready") == 0;
        have_keep |= strcmp(seen[nseen], "+keep") == 0;
        nseen++;
    }
    char list[sizeof seen + sizeof seen / sizeof seen[0]] = "";
    for (int i = 0; i < nseen; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, " %s", seen[i]);
    }
    printf("restart replay (%s): the new publisher saw:%s\n",
           sub_type == ZMQ_XSUB ? "xsub" : "sub", list);
    CHECK(have_ready && have_keep);
    CHECK_EQ(nseen, 2);
    tu_peer_close(&sub);
    tu_peer_close(&xp);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

static void restart_replay_sub(const char *tr)
{
    restart_replay(tr, ZMQ_SUB);
}

static void restart_replay_xsub(const char *tr)
{
    restart_replay(tr, ZMQ_XSUB);
}

/* ---- one SUB, two publishers ---------------------------------------------- */

/* A SUB connected to two PUBs subscribes once; both publishers filter by
 * it and the SUB fair-queues their messages. */
static void sub_two_pubs(const char *tr)
{
    void *ctx = new_ctx();
    tu_peer_t a, b, sub;
    conf_peer_open(&a, "pub-a", ctx, ZMQ_PUB, tr, CONF_SERVER);
    conf_peer_open(&b, "pub-b", ctx, ZMQ_PUB, tr, CONF_SERVER);
    conf_peer_bind(&a, tr);
    conf_peer_bind(&b, tr);
    conf_peer_open(&sub, "sub", ctx, ZMQ_SUB, tr, CONF_CLIENT);
    subscribe(sub.sock, "x");
    subscribe(sub.sock, "ready");
    tu_peer_connect(&sub, a.endpoint);
    tu_peer_connect(&sub, b.endpoint);
    probe_sub(a.sock, sub.sock, "ready-a");
    probe_sub(b.sock, sub.sock, "ready-b");
    static const char *const out_a[] = {"y-a", "x-a", "end-a"};
    static const char *const out_b[] = {"y-b", "x-b", "xx-b"};
    publish(a.sock, out_a, 3);
    publish(b.sock, out_b, 3);
    int got_a = 0, got_b = 0;
    for (int i = 0; i < 3; i++) {
        char buf[32];
        CHECK(conf_recv_skip(sub.sock, buf, sizeof buf, "ready", TU_TIMEOUT_MS) > 0);
        if (strcmp(buf, "x-a") == 0)
            got_a++;
        else if (strcmp(buf, "x-b") == 0 || strcmp(buf, "xx-b") == 0)
            got_b++;
        else {
            fprintf(stderr, "sub: unexpected \"%s\"\n", buf);
            exit(1);
        }
    }
    CHECK(got_a == 1 && got_b == 2);
    CHECK(conf_quiet(sub.sock, 100));
    tu_peer_close(&sub);
    tu_peer_close(&a);
    tu_peer_close(&b);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("sub with two publishers: one subscription served by both\n");
}

/* ---- ZMQ_XPUB_WELCOME_MSG --------------------------------------------------- */

/* A bound XPUB greets each new subscriber with its welcome message; a
 * SUB that subscribed to it receives it, a second one too. */
static void xpub_welcome(const char *tr)
{
    void *ctx = new_ctx();
    tu_peer_t xp, s1, s2;
    conf_peer_open(&xp, "xpub", ctx, ZMQ_XPUB, tr, CONF_SERVER);
    CHECK_EQ(zmq_setsockopt(xp.sock, ZMQ_XPUB_WELCOME_MSG, "W", 1), 0);
    conf_peer_bind(&xp, tr);
    tu_peer_t *subs[2] = {&s1, &s2};
    for (int i = 0; i < 2; i++) {
        conf_peer_open(subs[i], i ? "sub-2" : "sub-1", ctx, ZMQ_SUB, tr, CONF_CLIENT);
        subscribe(subs[i]->sock, "W");
        tu_peer_connect(subs[i], xp.endpoint);
        char buf[8];
        /* The XPUB must run to attach the new peer and greet it. */
        int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
        int n = -1;
        while (n < 0 && tu_now_ms() < deadline) {
            zmq_pollitem_t items[2] = {{subs[i]->sock, 0, ZMQ_POLLIN, 0},
                                       {xp.sock, 0, ZMQ_POLLIN, 0}};
            CHECK(zmq_poll(items, 2, CONF_PROBE_MS) >= 0 || errno == EINTR);
            if (items[1].revents & ZMQ_POLLIN) {
                /* "\x01W" from the subscriber: fine, read it. */
                CHECK(tu_recv_str(xp.sock, buf, sizeof buf, 0) == 2);
            }
            if (items[0].revents & ZMQ_POLLIN)
                n = tu_recv_str(subs[i]->sock, buf, sizeof buf, 0);
        }
        CHECK_EQ(n, 1);
        CHECK_STR(buf, "W");
    }
    CHECK(conf_quiet(s1.sock, 50));
    tu_peer_close(&s1);
    tu_peer_close(&s2);
    tu_peer_close(&xp);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("xpub welcome: each of 2 subscribers received \"W\"\n");
}

int main(int argc, char **argv)
{
    static const conf_case_t cases[] = {
        {"filter_pub_binds", filter_pub_binds, 0},
        {"filter_sub_binds", filter_sub_binds, 0},
        {"unsubscribe_pub_binds", unsubscribe_pub_binds, 0},
        {"unsubscribe_sub_binds", unsubscribe_sub_binds, 0},
        {"multi_sub_pub_binds", multi_pub_binds, 0},
        {"multi_sub_sub_binds", multi_sub_binds, 0},
        {"xpub_pub_binds", xpub_pub_binds, 0},
        {"xpub_sub_binds", xpub_sub_binds, 0},
        {"xpub_verbose_pub_binds", xpub_verbose_pub_binds, 0},
        {"xpub_verbose_sub_binds", xpub_verbose_sub_binds, 0},
        {"xsub_pub_binds", xsub_pub_binds, 0},
        {"xsub_sub_binds", xsub_sub_binds, 0},
        {"restart_resubscribe", restart, 0},
        {"restart_replay_exact_sub", restart_replay_sub, 0},
        {"restart_replay_exact_xsub", restart_replay_xsub, 0},
        {"sub_two_pubs", sub_two_pubs, 0},
        {"xpub_welcome_msg", xpub_welcome, 0},
    };
    return conf_main(argc, argv, "conf_pubsub", cases, CONF_N(cases));
}

/*
 * Conformance of the request/reply family over tls:// against tcp://:
 *   req_relaxed_correlate  ZMQ_REQ_RELAXED + ZMQ_REQ_CORRELATE: a REQ sends
 *                          twice without a recv; the ROUTER sees each
 *                          request with its request-id frame; the reply to
 *                          the first (stale) request is dropped and the
 *                          reply to the second is received; both directions;
 *   routing_id             ZMQ_ROUTING_ID of a DEALER is the ROUTER's
 *                          routing frame, and replies route by it; both
 *                          directions (a ROUTER that connects to a bound
 *                          DEALER learns its id too);
 *   connect_routing_id     ZMQ_CONNECT_ROUTING_ID names the peer of a
 *                          connecting ROUTER, whatever id the peer announces;
 *   router_mandatory       ZMQ_ROUTER_MANDATORY: unknown id -> EHOSTUNREACH,
 *                          known id delivered; both directions;
 *   envelopes              REQ -> ROUTER ... DEALER -> REP through a
 *                          hand-written broker, two hops over the transport:
 *                          every frame (empty, binary, 100 kB) unchanged;
 *   router_router          ROUTER <-> ROUTER with explicit ids both ways.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"

enum { ROUTER_BINDS, ROUTER_CONNECTS };

static void *new_ctx(void)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    return ctx;
}

/* Opens a bound and a connecting peer (options set by the caller between
 * open and join), then joins them and waits for both handshakes. */
static void open_two(void *ctx, const char *tr, tu_peer_t *srv, const char *srv_name,
                     int srv_type, tu_peer_t *cli, const char *cli_name, int cli_type)
{
    conf_peer_open(srv, srv_name, ctx, srv_type, tr, CONF_SERVER);
    conf_peer_open(cli, cli_name, ctx, cli_type, tr, CONF_CLIENT);
}

static void join_two(const char *tr, tu_peer_t *srv, tu_peer_t *cli)
{
    conf_peer_bind(srv, tr);
    tu_peer_connect(cli, srv->endpoint);
    TU_PEER_EXPECT(cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    TU_PEER_EXPECT(srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
}

static void send_frames(void *sock, size_t n, const char *const f[])
{
    const void *data[TU_PARTS_MAX];
    size_t len[TU_PARTS_MAX];
    CHECK(n <= TU_PARTS_MAX);
    for (size_t i = 0; i < n; i++) {
        data[i] = f[i];
        len[i] = strlen(f[i]);
    }
    tu_send_parts(sock, n, data, len);
}

/* Receives a whole message that must be exactly the strings f[]. */
static void expect_frames(void *sock, const char *who, size_t n, const char *const f[])
{
    tu_msg_t m;
    if (tu_recv_msg(sock, &m, TU_TIMEOUT_MS) != 0) {
        fprintf(stderr, "%s: expected a %zu-part message, got nothing\n", who, n);
        exit(1);
    }
    int ok = m.n == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = tu_msg_part_is(&m, i, f[i]);
    if (!ok) {
        fprintf(stderr, "%s: expected %zu parts [", who, n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "%s\"%s\"", i ? ", " : "", f[i]);
        fprintf(stderr, "], got %zu parts [", m.n);
        for (size_t i = 0; i < m.n; i++)
            fprintf(stderr, "%s%zu bytes", i ? ", " : "", zmq_msg_size(&m.part[i]));
        fprintf(stderr, "]\n");
        exit(1);
    }
    tu_msg_close(&m);
}

/* ---- REQ_RELAXED + REQ_CORRELATE ------------------------------------------ */

static void relaxed_correlate(const char *tr, int dir)
{
    void *ctx = new_ctx();
    tu_peer_t router, req;
    int router_binds = dir == ROUTER_BINDS;
    conf_peer_open(&router, "router", ctx, ZMQ_ROUTER, tr,
                   router_binds ? CONF_SERVER : CONF_CLIENT);
    conf_peer_open(&req, "req", ctx, ZMQ_REQ, tr,
                   router_binds ? CONF_CLIENT : CONF_SERVER);
    tu_set_str(req.sock, ZMQ_ROUTING_ID, "the-req");
    tu_set_int(req.sock, ZMQ_REQ_RELAXED, 1);
    tu_set_int(req.sock, ZMQ_REQ_CORRELATE, 1);
    tu_peer_t *bound = router_binds ? &router : &req;
    tu_peer_t *conn = router_binds ? &req : &router;
    join_two(tr, bound, conn);

    CHECK_EQ(tu_send_str(req.sock, "q1", 0), 2);
    /* Without REQ_RELAXED this second send would fail with EFSM. */
    CHECK_EQ(tu_send_str(req.sock, "q2", 0), 2);
    tu_msg_t m1, m2;
    CHECK_EQ(tu_recv_msg(router.sock, &m1, TU_TIMEOUT_MS), 0);
    CHECK_EQ(tu_recv_msg(router.sock, &m2, TU_TIMEOUT_MS), 0);
    /* routing id, 4-byte request id, empty delimiter, body */
    CHECK_EQ(m1.n, 4);
    CHECK_EQ(m2.n, 4);
    CHECK(tu_msg_part_is(&m1, 0, "the-req"));
    CHECK(tu_msg_part_is(&m2, 0, "the-req"));
    CHECK_EQ(zmq_msg_size(&m1.part[1]), 4);
    CHECK_EQ(zmq_msg_size(&m2.part[1]), 4);
    CHECK(memcmp(zmq_msg_data(&m1.part[1]), zmq_msg_data(&m2.part[1]), 4) != 0);
    CHECK(tu_msg_part_is(&m1, 2, ""));
    CHECK(tu_msg_part_is(&m1, 3, "q1"));
    CHECK(tu_msg_part_is(&m2, 3, "q2"));

    /* Reply to the stale request first, then to the current one: the REQ
     * must drop the first and deliver only "r2". */
    const void *r1[4] = {"the-req", zmq_msg_data(&m1.part[1]), "", "r1"};
    const void *r2[4] = {"the-req", zmq_msg_data(&m2.part[1]), "", "r2"};
    size_t lens[4] = {7, 4, 0, 2};
    tu_send_parts(router.sock, 4, r1, lens);
    tu_send_parts(router.sock, 4, r2, lens);
    tu_msg_close(&m1);
    tu_msg_close(&m2);
    char buf[16];
    CHECK_EQ(tu_recv_str(req.sock, buf, sizeof buf, TU_TIMEOUT_MS), 2);
    CHECK_STR(buf, "r2");
    CHECK(conf_quiet(req.sock, 100));
    /* And the REQ is ready for the next request. */
    CHECK_EQ(tu_send_str(req.sock, "q3", 0), 2);
    CHECK_EQ(tu_echo(router.sock, TU_TIMEOUT_MS), 4);
    CHECK_EQ(tu_recv_str(req.sock, buf, sizeof buf, TU_TIMEOUT_MS), 2);
    CHECK_STR(buf, "q3");
    tu_peer_close(&req);
    tu_peer_close(&router);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("req relaxed+correlate (%s): stale reply dropped, current one delivered\n",
           router_binds ? "router binds" : "req binds");
}

static void relaxed_router_binds(const char *tr)
{
    relaxed_correlate(tr, ROUTER_BINDS);
}

static void relaxed_req_binds(const char *tr)
{
    relaxed_correlate(tr, ROUTER_CONNECTS);
}

/* ---- ZMQ_ROUTING_ID ----------------------------------------------------------- */

static void routing_id(const char *tr, int dir)
{
    void *ctx = new_ctx();
    int router_binds = dir == ROUTER_BINDS;
    tu_peer_t router, d1, d2;
    conf_peer_open(&router, "router", ctx, ZMQ_ROUTER, tr,
                   router_binds ? CONF_SERVER : CONF_CLIENT);
    conf_peer_open(&d1, "dealer-1", ctx, ZMQ_DEALER, tr,
                   router_binds ? CONF_CLIENT : CONF_SERVER);
    conf_peer_open(&d2, "dealer-2", ctx, ZMQ_DEALER, tr,
                   router_binds ? CONF_CLIENT : CONF_SERVER);
    /* Binary ids with a zero byte: ids are blobs, not strings. */
    static const char id1[5] = {'d', '\0', 'o', 'n', 'e'};
    static const char id2[3] = {'\x7f', 'x', '\xff'};
    CHECK_EQ(zmq_setsockopt(d1.sock, ZMQ_ROUTING_ID, id1, sizeof id1), 0);
    CHECK_EQ(zmq_setsockopt(d2.sock, ZMQ_ROUTING_ID, id2, sizeof id2), 0);
    if (router_binds) {
        conf_peer_bind(&router, tr);
        tu_peer_connect(&d1, router.endpoint);
        tu_peer_connect(&d2, router.endpoint);
    } else {
        conf_peer_bind(&d1, tr);
        conf_peer_bind(&d2, tr);
        tu_peer_connect(&router, d1.endpoint);
        tu_peer_connect(&router, d2.endpoint);
    }
    TU_PEER_EXPECT(&d1, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    TU_PEER_EXPECT(&d2, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_send_str(d1.sock, "from-1", 0), 6);
    CHECK_EQ(tu_send_str(d2.sock, "from-2", 0), 6);
    int seen = 0;
    for (int k = 0; k < 2; k++) {
        tu_msg_t m;
        CHECK_EQ(tu_recv_msg(router.sock, &m, TU_TIMEOUT_MS), 0);
        CHECK_EQ(m.n, 2);
        if (tu_msg_part_eq(&m, 0, id1, sizeof id1)) {
            CHECK(tu_msg_part_is(&m, 1, "from-1"));
            seen |= 1;
        } else {
            CHECK(tu_msg_part_eq(&m, 0, id2, sizeof id2));
            CHECK(tu_msg_part_is(&m, 1, "from-2"));
            seen |= 2;
        }
        tu_msg_close(&m);
    }
    CHECK_EQ(seen, 3);
    /* Replies in the other order: the id, not arrival, routes them. */
    const void *to2[2] = {id2, "to-2"};
    const void *to1[2] = {id1, "to-1"};
    size_t l2[2] = {sizeof id2, 4}, l1[2] = {sizeof id1, 4};
    tu_send_parts(router.sock, 2, to2, l2);
    tu_send_parts(router.sock, 2, to1, l1);
    char buf[16];
    CHECK_EQ(tu_recv_str(d1.sock, buf, sizeof buf, TU_TIMEOUT_MS), 4);
    CHECK_STR(buf, "to-1");
    CHECK_EQ(tu_recv_str(d2.sock, buf, sizeof buf, TU_TIMEOUT_MS), 4);
    CHECK_STR(buf, "to-2");
    CHECK(conf_quiet(d1.sock, 50) && conf_quiet(d2.sock, 50));
    tu_peer_close(&d1);
    tu_peer_close(&d2);
    tu_peer_close(&router);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("routing id (%s): binary ids seen by the ROUTER and used for routing\n",
           router_binds ? "router binds" : "dealers bind");
}

static void routing_id_router_binds(const char *tr)
{
    routing_id(tr, ROUTER_BINDS);
}

static void routing_id_router_connects(const char *tr)
{
    routing_id(tr, ROUTER_CONNECTS);
}

/* ---- ZMQ_CONNECT_ROUTING_ID ----------------------------------------------- */

static void connect_routing_id(const char *tr)
{
    void *ctx = new_ctx();
    tu_peer_t dealer, dealer2, router;
    /* Two bound DEALERs announcing their own ids; the ROUTER names them
     * itself, one name per zmq_connect. */
    conf_peer_open(&dealer, "dealer-a", ctx, ZMQ_DEALER, tr, CONF_SERVER);
    conf_peer_open(&dealer2, "dealer-b", ctx, ZMQ_DEALER, tr, CONF_SERVER);
    tu_set_str(dealer.sock, ZMQ_ROUTING_ID, "announced-a");
    tu_set_str(dealer2.sock, ZMQ_ROUTING_ID, "announced-b");
    conf_peer_bind(&dealer, tr);
    conf_peer_bind(&dealer2, tr);
    conf_peer_open(&router, "router", ctx, ZMQ_ROUTER, tr, CONF_CLIENT);
    tu_set_int(router.sock, ZMQ_ROUTER_MANDATORY, 1);
    tu_set_str(router.sock, ZMQ_CONNECT_ROUTING_ID, "name-a");
    tu_peer_connect(&router, dealer.endpoint);
    tu_set_str(router.sock, ZMQ_CONNECT_ROUTING_ID, "name-b");
    tu_peer_connect(&router, dealer2.endpoint);
    TU_PEER_EXPECT(&dealer, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    TU_PEER_EXPECT(&dealer2, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);

    /* The ROUTER speaks first, by the names it chose. With ROUTER_MANDATORY
     * a name not known yet fails with EHOSTUNREACH: retry until both
     * connections are attached (a probe loop, paced by the monitor). */
    const char *names[2] = {"name-a", "name-b"};
    for (int i = 0; i < 2; i++) {
        int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
        for (;;) {
            int rc = zmq_send(router.sock, names[i], 6, ZMQ_SNDMORE);
            if (rc == 6)
                break;
            CHECK_EQ(errno, EHOSTUNREACH);
            CHECK(tu_now_ms() < deadline);
            tu_drain_events(router.mon, &router.log, CONF_PROBE_MS);
        }
        CHECK_EQ(tu_send_str(router.sock, i == 0 ? "hello-a" : "hello-b", 0), 7);
    }
    char buf[16];
    CHECK_EQ(tu_recv_str(dealer.sock, buf, sizeof buf, TU_TIMEOUT_MS), 7);
    CHECK_STR(buf, "hello-a");
    CHECK_EQ(tu_recv_str(dealer2.sock, buf, sizeof buf, TU_TIMEOUT_MS), 7);
    CHECK_STR(buf, "hello-b");
    /* The peers' replies carry the ROUTER's names, not the announced ids. */
    CHECK_EQ(tu_send_str(dealer2.sock, "reply-b", 0), 7);
    static const char *const want_b[] = {"name-b", "reply-b"};
    expect_frames(router.sock, "router", 2, want_b);
    CHECK_EQ(tu_send_str(dealer.sock, "reply-a", 0), 7);
    static const char *const want_a[] = {"name-a", "reply-a"};
    expect_frames(router.sock, "router", 2, want_a);
    tu_peer_close(&router);
    tu_peer_close(&dealer);
    tu_peer_close(&dealer2);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("connect routing id: peers named \"name-a\"/\"name-b\" by the connecting "
           "ROUTER, announced ids ignored\n");
}

/* ---- ZMQ_ROUTER_MANDATORY -------------------------------------------------- */

static void mandatory(const char *tr, int dir)
{
    void *ctx = new_ctx();
    int router_binds = dir == ROUTER_BINDS;
    tu_peer_t router, dealer;
    conf_peer_open(&router, "router", ctx, ZMQ_ROUTER, tr,
                   router_binds ? CONF_SERVER : CONF_CLIENT);
    conf_peer_open(&dealer, "dealer", ctx, ZMQ_DEALER, tr,
                   router_binds ? CONF_CLIENT : CONF_SERVER);
    tu_set_int(router.sock, ZMQ_ROUTER_MANDATORY, 1);
    tu_set_str(dealer.sock, ZMQ_ROUTING_ID, "known");
    join_two(tr, router_binds ? &router : &dealer, router_binds ? &dealer : &router);
    /* The dealer's first message proves the ROUTER knows its id. */
    CHECK_EQ(tu_send_str(dealer.sock, "hello", 0), 5);
    static const char *const hello[] = {"known", "hello"};
    expect_frames(router.sock, "router", 2, hello);

    errno = 0;
    CHECK_EQ(zmq_send(router.sock, "unknown", 7, ZMQ_SNDMORE), -1);
    CHECK_EQ(errno, EHOSTUNREACH);
    CHECK_EQ(zmq_send(router.sock, "unknown", 7, ZMQ_SNDMORE | ZMQ_DONTWAIT), -1);
    CHECK_EQ(errno, EHOSTUNREACH);
    static const char *const to_known[] = {"known", "reply"};
    send_frames(router.sock, 2, to_known);
    char buf[16];
    CHECK_EQ(tu_recv_str(dealer.sock, buf, sizeof buf, TU_TIMEOUT_MS), 5);
    CHECK_STR(buf, "reply");
    CHECK(conf_quiet(dealer.sock, 50));
    tu_peer_close(&dealer);
    tu_peer_close(&router);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("router mandatory (%s): unknown id EHOSTUNREACH, known id delivered\n",
           router_binds ? "router binds" : "router connects");
}

static void mandatory_router_binds(const char *tr)
{
    mandatory(tr, ROUTER_BINDS);
}

static void mandatory_router_connects(const char *tr)
{
    mandatory(tr, ROUTER_CONNECTS);
}

/* ---- envelopes through a broker -------------------------------------------- */

#define BIG_FRAME (100 * 1024)

/* Moves one whole message from `from` to `to`; returns it in m (sent). */
static void forward(void *from, void *to, tu_msg_t *seen)
{
    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(from, &m, TU_TIMEOUT_MS), 0);
    seen->n = m.n;
    for (size_t i = 0; i < m.n; i++) {
        zmq_msg_init(&seen->part[i]);
        CHECK_EQ(zmq_msg_copy(&seen->part[i], &m.part[i]), 0);
        CHECK(zmq_msg_send(&m.part[i], to, i + 1 < m.n ? ZMQ_SNDMORE : 0) >= 0);
    }
    tu_msg_close(&m);
}

static void envelopes(const char *tr)
{
    void *ctx = new_ctx();
    /* client REQ -> frontend ROUTER | broker | backend DEALER -> worker REP */
    tu_peer_t front, back, client, worker;
    conf_peer_open(&front, "frontend", ctx, ZMQ_ROUTER, tr, CONF_SERVER);
    conf_peer_open(&back, "backend", ctx, ZMQ_DEALER, tr, CONF_SERVER);
    conf_peer_open(&client, "client", ctx, ZMQ_REQ, tr, CONF_CLIENT);
    conf_peer_open(&worker, "worker", ctx, ZMQ_REP, tr, CONF_CLIENT);
    tu_set_str(client.sock, ZMQ_ROUTING_ID, "C1");
    join_two(tr, &front, &client);
    join_two(tr, &back, &worker);

    static char big[BIG_FRAME];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7 + 3);
    static const char bin[4] = {'\0', '\1', '\xfe', '\0'};
    const void *req[4] = {"job", "", bin, big};
    size_t req_len[4] = {3, 0, sizeof bin, sizeof big};
    tu_send_parts(client.sock, 4, req, req_len);

    /* Hop 1: the frontend sees [C1, "", request...]. */
    tu_msg_t seen;
    forward(front.sock, back.sock, &seen);
    CHECK_EQ(seen.n, 6);
    CHECK(tu_msg_part_is(&seen, 0, "C1"));
    CHECK(tu_msg_part_is(&seen, 1, ""));
    for (size_t i = 0; i < 4; i++)
        CHECK(tu_msg_part_eq(&seen, i + 2, req[i], req_len[i]));
    tu_msg_close(&seen);

    /* Hop 2: the REP strips the envelope; its reply gets it back. */
    tu_msg_t w;
    CHECK_EQ(tu_recv_msg(worker.sock, &w, TU_TIMEOUT_MS), 0);
    CHECK_EQ(w.n, 4);
    for (size_t i = 0; i < 4; i++)
        CHECK(tu_msg_part_eq(&w, i, req[i], req_len[i]));
    tu_msg_close(&w);
    const void *rep[3] = {"done", big, ""};
    size_t rep_len[3] = {4, sizeof big, 0};
    tu_send_parts(worker.sock, 3, rep, rep_len);

    forward(back.sock, front.sock, &seen);
    CHECK_EQ(seen.n, 5);
    CHECK(tu_msg_part_is(&seen, 0, "C1"));
    CHECK(tu_msg_part_is(&seen, 1, ""));
    for (size_t i = 0; i < 3; i++)
        CHECK(tu_msg_part_eq(&seen, i + 2, rep[i], rep_len[i]));
    tu_msg_close(&seen);

    tu_msg_t r;
    CHECK_EQ(tu_recv_msg(client.sock, &r, TU_TIMEOUT_MS), 0);
    CHECK_EQ(r.n, 3);
    for (size_t i = 0; i < 3; i++)
        CHECK(tu_msg_part_eq(&r, i, rep[i], rep_len[i]));
    tu_msg_close(&r);
    tu_peer_close(&client);
    tu_peer_close(&worker);
    tu_peer_close(&front);
    tu_peer_close(&back);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("envelopes: REQ->ROUTER|DEALER->REP and back, 4-part request and 3-part "
           "reply (empty, binary, %d kB frames) unchanged at every hop\n",
           BIG_FRAME / 1024);
}

/* ---- ROUTER <-> ROUTER ----------------------------------------------------- */

static void router_router(const char *tr)
{
    void *ctx = new_ctx();
    tu_peer_t srv, cli;
    open_two(ctx, tr, &srv, "router-srv", ZMQ_ROUTER, &cli, "router-cli", ZMQ_ROUTER);
    tu_set_str(srv.sock, ZMQ_ROUTING_ID, "SRV");
    tu_set_str(cli.sock, ZMQ_ROUTING_ID, "CLI");
    tu_set_int(cli.sock, ZMQ_ROUTER_MANDATORY, 1);
    join_two(tr, &srv, &cli);

    /* The connecting ROUTER learns "SRV" from the handshake; until its pipe
     * is attached, MANDATORY says EHOSTUNREACH: probe until it works. */
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    while (zmq_send(cli.sock, "SRV", 3, ZMQ_SNDMORE) != 3) {
        CHECK_EQ(errno, EHOSTUNREACH);
        CHECK(tu_now_ms() < deadline);
        tu_drain_events(cli.mon, &cli.log, CONF_PROBE_MS);
    }
    CHECK_EQ(tu_send_str(cli.sock, "ping", 0), 4);
    static const char *const at_srv[] = {"CLI", "ping"};
    expect_frames(srv.sock, "router-srv", 2, at_srv);
    static const char *const pong[] = {"CLI", "pong", ""};
    send_frames(srv.sock, 3, pong);
    static const char *const at_cli[] = {"SRV", "pong", ""};
    expect_frames(cli.sock, "router-cli", 3, at_cli);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("router<->router: explicit ids \"SRV\"/\"CLI\" routed both ways\n");
}

/* ---- ZMQ_PROBE_ROUTER ------------------------------------------------------ */

/* A DEALER with PROBE_ROUTER announces itself with an empty message: the
 * ROUTER's first message from it is [id, ""] before anything sent. */
static void probe_router(const char *tr)
{
    void *ctx = new_ctx();
    tu_peer_t router, dealer;
    open_two(ctx, tr, &router, "router", ZMQ_ROUTER, &dealer, "dealer", ZMQ_DEALER);
    tu_set_int(dealer.sock, ZMQ_PROBE_ROUTER, 1);
    tu_set_str(dealer.sock, ZMQ_ROUTING_ID, "prober");
    join_two(tr, &router, &dealer);
    static const char *const probe[] = {"prober", ""};
    expect_frames(router.sock, "router", 2, probe);
    CHECK_EQ(tu_send_str(dealer.sock, "after", 0), 5);
    static const char *const after[] = {"prober", "after"};
    expect_frames(router.sock, "router", 2, after);
    tu_peer_close(&dealer);
    tu_peer_close(&router);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("probe router: [\"prober\", \"\"] arrived first\n");
}

/* ---- duplicate routing ids, ZMQ_ROUTER_HANDOVER ----------------------------- */

/* Two DEALERs announce the same routing id. Without HANDOVER the ROUTER
 * keeps the first and ignores the second (its messages never arrive,
 * replies go to the first); with HANDOVER the second takes the id over. */
static void handover(const char *tr, int on)
{
    void *ctx = new_ctx();
    tu_peer_t router, d1, d2;
    conf_peer_open(&router, "router", ctx, ZMQ_ROUTER, tr, CONF_SERVER);
    tu_set_int(router.sock, ZMQ_ROUTER_HANDOVER, on);
    conf_peer_bind(&router, tr);
    conf_peer_open(&d1, "dealer-1", ctx, ZMQ_DEALER, tr, CONF_CLIENT);
    tu_set_str(d1.sock, ZMQ_ROUTING_ID, "dup");
    tu_peer_connect(&d1, router.endpoint);
    CHECK_EQ(tu_send_str(d1.sock, "from-1", 0), 6);
    static const char *const from1[] = {"dup", "from-1"};
    expect_frames(router.sock, "router", 2, from1);

    conf_peer_open(&d2, "dealer-2", ctx, ZMQ_DEALER, tr, CONF_CLIENT);
    tu_set_str(d2.sock, ZMQ_ROUTING_ID, "dup");
    tu_peer_connect(&d2, router.endpoint);
    TU_PEER_EXPECT(&d2, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_send_str(d2.sock, "from-2", 0), 6);
    char buf[16];
    if (on) {
        static const char *const from2[] = {"dup", "from-2"};
        expect_frames(router.sock, "router", 2, from2);
    } else {
        CHECK(conf_quiet(router.sock, TU_QUIET_MS));
    }
    static const char *const reply[] = {"dup", "reply"};
    send_frames(router.sock, 2, reply);
    void *winner = on ? d2.sock : d1.sock;
    void *loser = on ? d1.sock : d2.sock;
    CHECK_EQ(tu_recv_str(winner, buf, sizeof buf, TU_TIMEOUT_MS), 5);
    CHECK_STR(buf, "reply");
    CHECK(conf_quiet(loser, 100));
    tu_peer_close(&d1);
    tu_peer_close(&d2);
    tu_peer_close(&router);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("router handover %d: id \"dup\" belongs to the %s dealer\n", on,
           on ? "second" : "first");
}

static void handover_off(const char *tr)
{
    handover(tr, 0);
}

static void handover_on(const char *tr)
{
    handover(tr, 1);
}

int main(int argc, char **argv)
{
    static const conf_case_t cases[] = {
        {"req_relaxed_correlate_router_binds", relaxed_router_binds, 0},
        {"req_relaxed_correlate_req_binds", relaxed_req_binds, 0},
        {"routing_id_router_binds", routing_id_router_binds, 0},
        {"routing_id_router_connects", routing_id_router_connects, 0},
        {"connect_routing_id", connect_routing_id, 0},
        {"router_mandatory_router_binds", mandatory_router_binds, 0},
        {"router_mandatory_router_connects", mandatory_router_connects, 0},
        {"envelopes_broker", envelopes, 0},
        {"router_router", router_router, 0},
        {"probe_router", probe_router, 0},
        {"duplicate_id_no_handover", handover_off, 0},
        {"duplicate_id_handover", handover_on, 0},
    };
    return conf_main(argc, argv, "conf_reqrep", cases, CONF_N(cases));
}

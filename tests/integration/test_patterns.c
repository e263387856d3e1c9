/*
 * Socket-type pairings over tls:// beyond REQ/REP, each checked at the
 * application's frames:
 *   REQ -> ROUTER      the ROUTER sees the REQ's ZMQ_ROUTING_ID, then the
 *                      empty delimiter, then the body;
 *   DEALER -> REP      the DEALER supplies and gets back the delimiter;
 *   DEALER -> ROUTER   two DEALERs, each reply routed to its own sender;
 *   DEALER <-> DEALER  both directions, multipart;
 *   bind/connect reversed: a ROUTER that connects to a bound DEALER sees
 *   the DEALER's routing id; a REP that connects to a bound DEALER.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

static void *g_ctx;

static void open_pair(tu_peer_t *srv, int srv_type, tu_peer_t *cli, int cli_type,
                      const char *cli_name, const char *routing_id)
{
    tu_peer_open(srv, "server", g_ctx, srv_type, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(srv);
    tu_peer_open(cli, cli_name, g_ctx, cli_type, "client.pem", "client.key", "ca.pem");
    if (routing_id != NULL)
        tu_set_str(cli->sock, ZMQ_ROUTING_ID, routing_id);
    tu_peer_connect(cli, srv->endpoint);
    TU_PEER_EXPECT(cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    TU_PEER_EXPECT(srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
}

static void req_router(void)
{
    tu_peer_t srv, cli;
    open_pair(&srv, ZMQ_ROUTER, &cli, ZMQ_REQ, "req", "client-7");
    CHECK(tu_send_str(cli.sock, "hello", 0) == 5);

    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(srv.sock, &m, TU_TIMEOUT_MS), 0);
    CHECK_EQ(m.n, 3);
    CHECK(tu_msg_part_is(&m, 0, "client-7"));
    CHECK(tu_msg_part_is(&m, 1, ""));
    CHECK(tu_msg_part_is(&m, 2, "hello"));
    tu_msg_close(&m);

    const void *reply[3] = {"client-7", "", "world"};
    size_t lens[3] = {8, 0, 5};
    tu_send_parts(srv.sock, 3, reply, lens);
    char buf[32];
    CHECK_EQ(tu_recv_str(cli.sock, buf, sizeof buf, TU_TIMEOUT_MS), 5);
    CHECK_STR(buf, "world");

    /* Multipart request through the envelope, echoed back. */
    const void *parts[3] = {"a", "bb", "ccc"};
    size_t plens[3] = {1, 2, 3};
    CHECK_EQ(tu_roundtrip(cli.sock, srv.sock, 3, parts, plens, TU_TIMEOUT_MS), 0);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    printf("req->router: routing id \"client-7\" + delimiter seen, reply routed\n");
}

static void dealer_rep(void)
{
    tu_peer_t srv, cli;
    open_pair(&srv, ZMQ_REP, &cli, ZMQ_DEALER, "dealer", NULL);
    const void *req[2] = {"", "question"};
    size_t lens[2] = {0, 8};
    tu_send_parts(cli.sock, 2, req, lens);
    char buf[32];
    CHECK_EQ(tu_recv_str(srv.sock, buf, sizeof buf, TU_TIMEOUT_MS), 8);
    CHECK_STR(buf, "question");
    CHECK(tu_send_str(srv.sock, "answer", 0) == 6);

    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(cli.sock, &m, TU_TIMEOUT_MS), 0);
    CHECK_EQ(m.n, 2);
    CHECK(tu_msg_part_is(&m, 0, ""));
    CHECK(tu_msg_part_is(&m, 1, "answer"));
    tu_msg_close(&m);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    printf("dealer->rep: delimiter kept on the DEALER side, stripped on the REP\n");
}

static void dealer_router(void)
{
    tu_peer_t srv, a, b;
    open_pair(&srv, ZMQ_ROUTER, &a, ZMQ_DEALER, "dealer-A", "dealer-A");
    tu_peer_open(&b, "dealer-B", g_ctx, ZMQ_DEALER, "client.pem", "client.key", "ca.pem");
    tu_set_str(b.sock, ZMQ_ROUTING_ID, "dealer-B");
    tu_peer_connect(&b, srv.endpoint);
    TU_PEER_EXPECT(&b, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);

    CHECK(tu_send_str(a.sock, "from-A", 0) == 6);
    CHECK(tu_send_str(b.sock, "from-B", 0) == 6);
    int seen_a = 0, seen_b = 0;
    for (int i = 0; i < 2; i++) {
        tu_msg_t m;
        CHECK_EQ(tu_recv_msg(srv.sock, &m, TU_TIMEOUT_MS), 0);
        CHECK_EQ(m.n, 2);
        if (tu_msg_part_is(&m, 0, "dealer-A")) {
            CHECK(tu_msg_part_is(&m, 1, "from-A"));
            seen_a++;
        } else {
            CHECK(tu_msg_part_is(&m, 0, "dealer-B"));
            CHECK(tu_msg_part_is(&m, 1, "from-B"));
            seen_b++;
        }
        tu_msg_close(&m);
    }
    CHECK(seen_a == 1 && seen_b == 1);

    /* Replies in the opposite order: routing, not arrival order, decides. */
    const void *to_b[2] = {"dealer-B", "to-B"};
    const void *to_a[2] = {"dealer-A", "to-A"};
    size_t lens[2] = {8, 4};
    tu_send_parts(srv.sock, 2, to_b, lens);
    tu_send_parts(srv.sock, 2, to_a, lens);
    char buf[32];
    CHECK_EQ(tu_recv_str(a.sock, buf, sizeof buf, TU_TIMEOUT_MS), 4);
    CHECK_STR(buf, "to-A");
    CHECK_EQ(tu_recv_str(b.sock, buf, sizeof buf, TU_TIMEOUT_MS), 4);
    CHECK_STR(buf, "to-B");
    /* And nothing extra reached either dealer. */
    CHECK_EQ(tu_wait_readable(a.sock, 100), -1);
    CHECK_EQ(tu_wait_readable(b.sock, 100), -1);
    tu_peer_close(&a);
    tu_peer_close(&b);
    tu_peer_close(&srv);
    printf("dealer->router: 2 dealers, each reply reached its own dealer\n");
}

static void dealer_dealer(void)
{
    tu_peer_t srv, cli;
    open_pair(&srv, ZMQ_DEALER, &cli, ZMQ_DEALER, "dealer", NULL);
    char buf[32];
    CHECK(tu_send_str(cli.sock, "c2s", 0) == 3);
    CHECK_EQ(tu_recv_str(srv.sock, buf, sizeof buf, TU_TIMEOUT_MS), 3);
    CHECK_STR(buf, "c2s");
    /* The bound side speaks first too: DEALER has no request/reply order. */
    CHECK(tu_send_str(srv.sock, "s2c-1", 0) == 5);
    CHECK(tu_send_str(srv.sock, "s2c-2", 0) == 5);
    CHECK_EQ(tu_recv_str(cli.sock, buf, sizeof buf, TU_TIMEOUT_MS), 5);
    CHECK_STR(buf, "s2c-1");
    CHECK_EQ(tu_recv_str(cli.sock, buf, sizeof buf, TU_TIMEOUT_MS), 5);
    CHECK_STR(buf, "s2c-2");
    const void *parts[3] = {"x", "", "z"};
    size_t lens[3] = {1, 0, 1};
    CHECK_EQ(tu_roundtrip(cli.sock, srv.sock, 3, parts, lens, TU_TIMEOUT_MS), 0);
    CHECK_EQ(tu_roundtrip(srv.sock, cli.sock, 3, parts, lens, TU_TIMEOUT_MS), 0);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    printf("dealer<->dealer: both directions, multipart with empty frame\n");
}

static void router_connects_to_dealer(void)
{
    /* The bound DEALER is the TLS server; the ROUTER is the TLS client and
     * must learn the DEALER's routing id from its ZMTP READY. */
    tu_peer_t bound, router;
    tu_peer_open(&bound, "bound-dealer", g_ctx, ZMQ_DEALER, "server.pem", "server.key",
                 "ca.pem");
    tu_set_str(bound.sock, ZMQ_ROUTING_ID, "bound-dealer");
    tu_peer_bind(&bound);
    tu_peer_open(&router, "router", g_ctx, ZMQ_ROUTER, "client.pem", "client.key",
                 "ca.pem");
    tu_peer_connect(&router, bound.endpoint);
    TU_PEER_EXPECT(&router, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    TU_PEER_EXPECT(&bound, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);

    CHECK(tu_send_str(bound.sock, "hi", 0) == 2);
    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(router.sock, &m, TU_TIMEOUT_MS), 0);
    CHECK_EQ(m.n, 2);
    CHECK(tu_msg_part_is(&m, 0, "bound-dealer"));
    CHECK(tu_msg_part_is(&m, 1, "hi"));
    tu_msg_close(&m);
    const void *reply[2] = {"bound-dealer", "back"};
    size_t lens[2] = {12, 4};
    tu_send_parts(router.sock, 2, reply, lens);
    char buf[32];
    CHECK_EQ(tu_recv_str(bound.sock, buf, sizeof buf, TU_TIMEOUT_MS), 4);
    CHECK_STR(buf, "back");
    tu_peer_close(&router);
    tu_peer_close(&bound);
    printf("router connects to bound dealer: routing id \"bound-dealer\" seen\n");
}

static void rep_connects_to_dealer(void)
{
    tu_peer_t bound, rep;
    tu_peer_open(&bound, "bound-dealer", g_ctx, ZMQ_DEALER, "server.pem", "server.key",
                 "ca.pem");
    tu_peer_bind(&bound);
    tu_peer_open(&rep, "rep", g_ctx, ZMQ_REP, "client.pem", "client.key", "ca.pem");
    tu_peer_connect(&rep, bound.endpoint);
    TU_PEER_EXPECT(&rep, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    TU_PEER_EXPECT(&bound, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    const void *req[2] = {"", "job"};
    size_t lens[2] = {0, 3};
    tu_send_parts(bound.sock, 2, req, lens);
    char buf[32];
    CHECK_EQ(tu_recv_str(rep.sock, buf, sizeof buf, TU_TIMEOUT_MS), 3);
    CHECK_STR(buf, "job");
    CHECK(tu_send_str(rep.sock, "done", 0) == 4);
    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(bound.sock, &m, TU_TIMEOUT_MS), 0);
    CHECK_EQ(m.n, 2);
    CHECK(tu_msg_part_is(&m, 0, ""));
    CHECK(tu_msg_part_is(&m, 1, "done"));
    tu_msg_close(&m);
    tu_peer_close(&rep);
    tu_peer_close(&bound);
    printf("rep connects to bound dealer: request/reply ok\n");
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    g_ctx = zmq_ctx_new();
    CHECK(g_ctx != NULL);
    req_router();
    dealer_rep();
    dealer_router();
    dealer_dealer();
    router_connects_to_dealer();
    rep_connects_to_dealer();
    CHECK(zmq_ctx_term(g_ctx) == 0);
    printf("patterns: 6 pairings ok\n");
    return 0;
}

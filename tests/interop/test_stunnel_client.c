/*
 * Stock libzmq clients against zmtls servers through a TLS originator:
 *
 *   stock_peer (libzmq only, connects) --tcp://--> stunnel4 (TLS 1.3
 *   client with client.pem, verifies "localhost") --tls://--> zmtls socket
 *
 * The mirror of test_stunnel_server.c: zmtls must accept a TLS client that
 * is not zmtls and take the plaintext inside for ordinary ZMTP from libzmq.
 * The stock peer sends the scripted messages (interop_wire.h) and reports
 * what came back; the zmtls server checks every message it receives:
 *
 *   REQ    -> REP     requests and echoed replies; then a second stock REQ
 *                     through the same stunnel, which resumes the TLS
 *                     session of the first with the ticket zmtls issued
 *   DEALER -> ROUTER  the stock DEALER's routing id is the id frame the
 *                     zmtls ROUTER sees; replies route back by it
 *   REQ    -> ROUTER  the zmtls ROUTER sees a generated id (0x00 + 8
 *                     bytes) and REQ's empty delimiter in front of the
 *                     request
 *   PUSH   -> PULL
 *   PUB    -> SUB     the zmtls SUB's subscription reaches the stock PUB,
 *                     only topic "A." messages arrive, and stunnel's byte
 *                     count shows the 1 MiB "B." message never left the
 *                     stock PUB
 *
 * The zmtls server must report ACCEPTED then HANDSHAKE_SUCCEEDED(0) and no
 * failure, and DISCONNECTED when the stock peer has finished and gone; it
 * must name its peer by stunnel's client certificate (peer property
 * Subject, by endpoint and by routing id). stunnel's log must show TLS 1.3
 * and the zmtls server's certificate accepted.
 */
/* interop_util.h needs pipe2, close_range and pidfd_open (the build defines
 * it too; this keeps the file whole). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <string.h>

#include "interop_util.h"
#include "testutil.h"
#include "zmtls.h"

#define N_MSGS 8

static io_child_t stock;
static io_stunnel_t tunnel;
static char tcp_ep[TU_EP_MAX]; /* where the stock peer connects: stunnel */

/* The zmtls server, bound on an ephemeral port, and stunnel pointed at
 * it. */
static void server_open(tu_peer_t *srv, void *ctx, int type, const char *name)
{
    tu_peer_open(srv, name, ctx, type, "server.pem", "server.key", "ca.pem");
    if (type == ZMQ_SUB)
        tu_set_str(srv->sock, ZMQ_SUBSCRIBE, IW_TOPIC_ON);
    tu_peer_bind(srv);
    TU_PEER_EXPECT(srv, ZMQ_EVENT_LISTENING);
    io_stunnel_start(&tunnel, "stunnel-client", 1, tu_endpoint_port(srv->endpoint),
                     "client.pem", "client.key", NULL);
    snprintf(tcp_ep, sizeof tcp_ep, "tcp://127.0.0.1:%d", tunnel.port);
}

/* stunnel connects to us only once the stock peer connected to it. The
 * server then knows the client as stunnel's certificate, and whether the
 * connection resumed a session must match `resumed`. */
static void expect_handshake(tu_peer_t *srv, unsigned nth, const char *resumed)
{
    CHECK_EQ(TU_PEER_EXPECT(srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_events_count(&srv->log, ZMQ_EVENT_ACCEPTED), nth + 1);
    CHECK(tu_events_index(&srv->log, ZMQ_EVENT_ACCEPTED, nth) <
          tu_events_index(&srv->log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, nth));
    io_check_clean(srv, IO_ENDS_OK);
    io_property_on_handshake(srv, srv->endpoint, "Subject", "CN=client");
    io_property_on_handshake(srv, srv->endpoint, "Resumed", resumed);
}

/* Once a request arrived, the connection is certainly up and the stock
 * client still there (it waits for the reply): the peer must be known. */
static void expect_peer(tu_peer_t *srv, const char *resumed)
{
    io_expect_endpoint_property(srv, srv->endpoint, "Subject", "CN=client");
    io_expect_endpoint_property(srv, srv->endpoint, "Resumed", resumed);
}

/* What stunnel saw: TLS 1.3 and the zmtls server's certificate verified
 * (chain and the name localhost). */
static void check_tunnel(void)
{
    static const char *const want[] = {"TLS connected: new session negotiated",
                                       "TLSv1.3 ciphersuite",
                                       "Certificate accepted at depth=0: CN=localhost"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!io_log_has(&tunnel, want[i])) {
            fprintf(stderr, "stunnel log lacks \"%s\"\n", want[i]);
            exit(1);
        }
    }
}

/* The stock peer finished and left: stunnel closed our connection, which
 * the server reports as DISCONNECTED, after no failure. */
static void stock_done(tu_peer_t *srv)
{
    io_stock_finish(&stock, 0, "ok");
    io_check_clean(srv, IO_ENDS_OK);
    unsigned handshakes = tu_events_count(&srv->log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    if (tu_events_count(&srv->log, ZMQ_EVENT_DISCONNECTED) < handshakes)
        TU_PEER_EXPECT(srv, ZMQ_EVENT_DISCONNECTED);
    CHECK_EQ(tu_events_count(&srv->log, ZMQ_EVENT_DISCONNECTED), handshakes);
    io_check_clean(srv, IO_ENDS_OK);
}

static void scenario_end(tu_peer_t *srv, const char *label)
{
    check_tunnel();
    tu_peer_close(srv);
    io_stunnel_stop(&tunnel);
    printf("%s: %d messages ok\n", label, N_MSGS);
}

/* Receives a message on the zmtls server; checks the id frame (ROUTER:
 * `id`, or any non-empty one when id is ""), REQ's delimiter when
 * delimited, then script message i; echoes it back whole. */
static void serve_one(void *sock, unsigned i, const char *id, int delimited)
{
    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(sock, &m, TU_TIMEOUT_MS), 0);
    size_t from = 0;
    if (id != NULL) {
        CHECK(m.n > 0);
        zmq_msg_t *rid = &m.part[0];
        if (*id != '\0') {
            CHECK(tu_msg_part_is(&m, 0, id));
        } else {
            /* No ZMTP Identity from the stock REQ: zmtls generates one,
             * 0x00 then 4 bytes, as libzmq does (include/zmtls.h). */
            CHECK_EQ(zmq_msg_size(rid), 5);
            CHECK_EQ(((const unsigned char *)zmq_msg_data(rid))[0], 0);
        }
        /* The id names the peer: stunnel's client certificate. */
        char subject[64];
        CHECK(zmtls_peer_property(sock, zmq_msg_data(rid), zmq_msg_size(rid), "Subject",
                                  subject, sizeof subject) > 0);
        CHECK_STR(subject, "CN=client");
        from = 1;
    }
    char want[IW_DESC_MAX], got[IW_DESC_MAX];
    iw_script_describe(i, "", delimited, want);
    io_describe(&m, from, got);
    CHECK_STR(got, want);
    for (size_t k = 0; k < m.n; k++)
        CHECK(zmq_msg_send(&m.part[k], sock, k + 1 < m.n ? ZMQ_SNDMORE : 0) >= 0);
    tu_msg_close(&m);
}

static void expect_replies_ok(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        char line[64];
        snprintf(line, sizeof line, "reply %u ok", i);
        IO_EXPECT_LINE(&stock, line);
    }
}

static void req_rep(void *ctx)
{
    tu_peer_t rep;
    server_open(&rep, ctx, ZMQ_REP, "zmtls-rep");
    io_stock_start(&stock, "stock-req", "req", tcp_ep, N_MSGS, (const char *)NULL);
    expect_handshake(&rep, 0, "0");
    for (unsigned i = 0; i < N_MSGS; i++) {
        serve_one(rep.sock, i, NULL, 0);
        if (i == 0)
            expect_peer(&rep, "0");
    }
    expect_replies_ok(N_MSGS);
    stock_done(&rep);

    /* A second client through the same stunnel, which resumes the TLS
     * session of the first (stunnel's default, sessionResume = yes): zmtls
     * must accept it, know it as resumed, and still know who it is. */
    io_stock_start(&stock, "stock-req-2", "req", tcp_ep, 2, (const char *)NULL);
    expect_handshake(&rep, 1, "1");
    for (unsigned i = 0; i < 2; i++) {
        serve_one(rep.sock, i, NULL, 0);
        if (i == 0)
            expect_peer(&rep, "1");
    }
    expect_replies_ok(2);
    stock_done(&rep);
    CHECK_EQ(io_log_count(&tunnel, "TLS connected: new session negotiated"), 1);
    CHECK_EQ(io_log_count(&tunnel, "TLS connected: previous session reused"), 1);
    scenario_end(&rep, "stock REQ -> stunnel -> zmtls REP (twice)");
}

static void dealer_router(void *ctx)
{
    tu_peer_t router;
    server_open(&router, ctx, ZMQ_ROUTER, "zmtls-router");
    io_stock_start(&stock, "stock-dealer", "dealer", tcp_ep, N_MSGS, "id=stock-dealer",
                   (const char *)NULL);
    expect_handshake(&router, 0, "0");
    for (unsigned i = 0; i < N_MSGS; i++) {
        serve_one(router.sock, i, "stock-dealer", 0);
        if (i == 0)
            expect_peer(&router, "0");
    }
    expect_replies_ok(N_MSGS);
    stock_done(&router);
    scenario_end(&router, "stock DEALER -> stunnel -> zmtls ROUTER (routing id seen)");
}

static void req_router(void *ctx)
{
    tu_peer_t router;
    server_open(&router, ctx, ZMQ_ROUTER, "zmtls-router");
    io_stock_start(&stock, "stock-req", "req", tcp_ep, N_MSGS, (const char *)NULL);
    expect_handshake(&router, 0, "0");
    for (unsigned i = 0; i < N_MSGS; i++) {
        serve_one(router.sock, i, "", 1);
        if (i == 0)
            expect_peer(&router, "0");
    }
    expect_replies_ok(N_MSGS);
    stock_done(&router);
    scenario_end(&router, "stock REQ -> stunnel -> zmtls ROUTER (envelope seen)");
}

static void push_pull(void *ctx)
{
    tu_peer_t pull;
    server_open(&pull, ctx, ZMQ_PULL, "zmtls-pull");
    /* go=1: a PUSH is done as soon as its messages are out, and the
     * connection (and the peer's record) with it; look first. */
    io_stock_start(&stock, "stock-push", "push", tcp_ep, N_MSGS, "go=1",
                   (const char *)NULL);
    expect_handshake(&pull, 0, "0");
    io_child_say(&stock, "go");
    for (unsigned i = 0; i < N_MSGS; i++) {
        tu_msg_t m;
        CHECK_EQ(tu_recv_msg(pull.sock, &m, TU_TIMEOUT_MS), 0);
        char want[IW_DESC_MAX], got[IW_DESC_MAX], line[IO_LINE_MAX];
        iw_script_describe(i, "", 0, want);
        io_describe(&m, 0, got);
        tu_msg_close(&m);
        CHECK_STR(got, want);
        snprintf(line, sizeof line, "sent %u %s", i, want);
        IO_EXPECT_LINE(&stock, line);
    }
    stock_done(&pull);
    scenario_end(&pull, "stock PUSH -> stunnel -> zmtls PULL");
}

/* The first part of m is s. */
static int first_is(const tu_msg_t *m, const char *s)
{
    return tu_msg_part_is(m, 0, s);
}

static void pub_sub(void *ctx)
{
    tu_peer_t sub;
    server_open(&sub, ctx, ZMQ_SUB, "zmtls-sub");
    io_stock_start(&stock, "stock-pub", "pub", tcp_ep, N_MSGS, (const char *)NULL);
    expect_handshake(&sub, 0, "0");

    /* The stock PUB probes until told "go"; a probe here means our
     * subscription reached it. */
    tu_msg_t m;
    if (tu_recv_msg(sub.sock, &m, TU_TIMEOUT_MS) != 0) {
        fprintf(stderr,
                "the zmtls SUB received no probe in %d ms: its subscription "
                "did not reach the stock PUB\n",
                TU_TIMEOUT_MS);
        tu_events_print(&sub.log, sub.name);
        exit(1);
    }
    CHECK(first_is(&m, IW_PROBE));
    tu_msg_close(&m);
    expect_peer(&sub, "0"); /* the stock PUB probes until "go" */
    io_child_say(&stock, "go");

    long long on_bytes = 0;
    unsigned probes = 1, got = 0;
    for (unsigned i = 0; i < N_MSGS; i++) {
        if (strcmp(iw_pub_topic(i), IW_TOPIC_ON) != 0)
            continue;
        /* Probes sent before "go" arrived may still come first. */
        do {
            CHECK_EQ(tu_recv_msg(sub.sock, &m, TU_TIMEOUT_MS), 0);
            if (first_is(&m, IW_PROBE)) {
                probes++;
                tu_msg_close(&m);
            }
        } while (m.n == 0);
        iw_msg_t want;
        iw_script(&want, i, IW_TOPIC_ON);
        char wd[IW_DESC_MAX], gd[IW_DESC_MAX];
        iw_msg_describe(&want, wd);
        for (size_t k = 0; k < want.n; k++)
            on_bytes += (long long)want.len[k];
        iw_msg_free(&want);
        io_describe(&m, 0, gd);
        tu_msg_close(&m);
        CHECK_STR(gd, wd);
        got++;
    }
    /* Then the end marker, and nothing of topic "B." in between. */
    CHECK_EQ(tu_recv_msg(sub.sock, &m, TU_TIMEOUT_MS), 0);
    CHECK(first_is(&m, IW_END));
    tu_msg_close(&m);
    stock_done(&sub);

    /* What stunnel carried from the stock PUB into TLS: the matching
     * messages and probes, not the 1 MiB "B." one. */
    CHECK_EQ(io_stunnel_wait_log(&tunnel, "Connection closed:", 1, TU_TIMEOUT_MS), 0);
    long long to_tls = 0, to_socket = 0;
    CHECK_EQ(io_stunnel_bytes(&tunnel, 0, &to_tls, &to_socket), 0);
    printf("pub/sub: %u matching messages, %u probes seen; stunnel carried %lld bytes "
           "from the stock PUB (matching payload %lld)\n",
           got, probes, to_tls, on_bytes);
    CHECK(to_tls >= on_bytes);
    CHECK(to_tls < on_bytes + IW_BIG_LEN / 2);
    scenario_end(&sub, "stock PUB -> stunnel -> zmtls SUB (only \"A.\" arrives)");
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    io_guard();
    int64_t t0 = tu_now_ms();
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    req_rep(ctx);
    dealer_router(ctx);
    req_router(ctx);
    push_pull(ctx);
    pub_sub(ctx);

    CHECK(zmq_ctx_term(ctx) == 0);
    printf("stunnel_client: 5 scenarios done in %lld ms\n",
           (long long)(tu_now_ms() - t0));
    return io_finish("stunnel_client");
}

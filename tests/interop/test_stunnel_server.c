/*
 * zmtls clients against stock libzmq servers behind a TLS terminator:
 *
 *   zmtls socket --tls://--> stunnel4 (TLS 1.3 server, client cert
 *   required) --tcp://--> stock_peer (libzmq only, bound)
 *
 * If zmtls's wire format is exactly ZMTP inside TLS, stunnel's plaintext
 * side is an ordinary ZMTP stream and the stock peer cannot tell zmtls from
 * libzmq's own tcp://. Each scenario sends the scripted messages
 * (interop_wire.h: single frames, multipart with an empty part, 1 MiB, the
 * 255/256-byte frame-size boundary) and checks, from the stock peer's own
 * report, that every message arrived unchanged with its envelope:
 *
 *   REQ    -> REP     requests and echoed replies
 *   DEALER -> ROUTER  the DEALER's routing id reaches the ROUTER; echoes
 *                     route back by it
 *   REQ    -> ROUTER  the ROUTER sees a generated id and REQ's empty
 *                     delimiter in front of the request
 *   PUSH   -> PULL
 *   PUB    -> SUB     the stock SUB's subscription reaches the zmtls PUB
 *                     (it sees our probe), only topic "A." messages
 *                     arrive, and stunnel's byte count shows the 1 MiB
 *                     message under "B." never crossed the wire (the
 *                     publisher filtered it)
 *   REQ    -> REP     reconnecting: the REQ resumes its TLS 1.3 session
 *                     with stunnel (ZMTLS_RESUME) and goes on with a
 *                     second stock REP
 *
 * The zmtls client must report CONNECTED once, before HANDSHAKE_SUCCEEDED
 * (0), and no failure, and name stunnel's certificate as its peer's;
 * stunnel's log must show TLS 1.3 and our client certificate accepted.
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

/* One stock peer bound on tcp://127.0.0.1:* and stunnel in front of it.
 * Static: the capture buffers are large. */
static io_child_t stock;
static io_stunnel_t tunnel;
static char tls_ep[TU_EP_MAX];

static void backend_start(const char *role, const char *extra)
{
    int port = io_stock_start(&stock, "stock-peer", role, "tcp://127.0.0.1:*", N_MSGS,
                              extra, (const char *)NULL);
    io_stunnel_start(&tunnel, "stunnel-server", 0, port, "server.pem", "server.key",
                     NULL);
    snprintf(tls_ep, sizeof tls_ep, "tls://127.0.0.1:%d", tunnel.port);
}

/* The zmtls client: connects, completes the handshake through stunnel
 * with CONNECTED (once) before HANDSHAKE_SUCCEEDED(0). */
static void client_open(tu_peer_t *p, void *ctx, int type, const char *name,
                        const char *routing_id)
{
    tu_peer_open(p, name, ctx, type, "client.pem", "client.key", "ca.pem");
    if (routing_id != NULL)
        tu_set_str(p->sock, ZMQ_ROUTING_ID, routing_id);
    tu_peer_connect(p, tls_ep);
    CHECK_EQ(TU_PEER_EXPECT(p, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    int i_conn = tu_events_index(&p->log, ZMQ_EVENT_CONNECTED, 0);
    int i_hs = tu_events_index(&p->log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
    CHECK(i_conn >= 0 && i_conn < i_hs);
    CHECK_EQ(tu_events_count(&p->log, ZMQ_EVENT_CONNECTED), 1);
    io_check_clean(p, IO_NO_END);
    /* zmtls verified stunnel's certificate and kept it. */
    io_property_on_handshake(p, tls_ep, "Subject", "CN=localhost");
    io_property_on_handshake(p, tls_ep, "Resumed", "0");
}

/* Once a reply came back, the connection is certainly up and the stock
 * server still there (it waits for more): the peer must be known. */
static void expect_peer(tu_peer_t *p, const char *resumed)
{
    io_expect_endpoint_property(p, tls_ep, "Subject", "CN=localhost");
    io_expect_endpoint_property(p, tls_ep, "Resumed", resumed);
}

/* What stunnel saw: TLS 1.3, our client certificate verified, and a
 * connection to the stock peer. */
static void check_tunnel(void)
{
    static const char *const want[] = {
        "TLS accepted: new session negotiated", "TLSv1.3 ciphersuite",
        "Certificate accepted at depth=0: CN=client", "connected remote server"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!io_log_has(&tunnel, want[i])) {
            fprintf(stderr, "stunnel log lacks \"%s\"\n", want[i]);
            exit(1);
        }
    }
}

/* The stock peer exits once it has done its part, and stunnel then
 * closes our connection: the zmtls client must report DISCONNECTED for it,
 * and nothing else may have gone wrong before. (Its reconnects to a
 * stunnel with no backend any more are not this test's business.) */
static void stock_done(tu_peer_t *p)
{
    io_stock_finish(&stock, 0, "ok");
    io_expect_end(p);
}

static void scenario_end(tu_peer_t *p, const char *label)
{
    check_tunnel();
    tu_peer_close(p);
    io_stunnel_stop(&tunnel);
    printf("%s: %d messages ok\n", label, N_MSGS);
}

/* Sends script message i; returns its description. */
static void send_script(void *sock, unsigned i, const char *prefix, char *desc)
{
    iw_msg_t m;
    iw_script(&m, i, prefix);
    iw_msg_describe(&m, desc);
    io_send_iw(sock, &m);
    iw_msg_free(&m);
}

/* The reply on sock must be exactly `want`. */
static void expect_reply(void *sock, const char *want)
{
    tu_msg_t r;
    CHECK_EQ(tu_recv_msg(sock, &r, TU_TIMEOUT_MS), 0);
    char got[IW_DESC_MAX];
    io_describe(&r, 0, got);
    tu_msg_close(&r);
    CHECK_STR(got, want);
}

static void req_rep(void *ctx)
{
    backend_start("rep", NULL);
    tu_peer_t req;
    client_open(&req, ctx, ZMQ_REQ, "zmtls-req", NULL);
    for (unsigned i = 0; i < N_MSGS; i++) {
        char desc[IW_DESC_MAX], line[IO_LINE_MAX];
        send_script(req.sock, i, "", desc);
        expect_reply(req.sock, desc);
        snprintf(line, sizeof line, "recv %u id=- %s", i, desc);
        IO_EXPECT_LINE(&stock, line);
        if (i == 0)
            expect_peer(&req, "0");
    }
    stock_done(&req);
    scenario_end(&req, "zmtls REQ -> stunnel -> stock REP");
}

static void dealer_router(void *ctx)
{
    backend_start("router", NULL);
    tu_peer_t dealer;
    client_open(&dealer, ctx, ZMQ_DEALER, "zmtls-dealer", "zmtls-dealer");
    char id[IW_DESC_MAX];
    iw_hex("zmtls-dealer", strlen("zmtls-dealer"), id);
    for (unsigned i = 0; i < N_MSGS; i++) {
        char desc[IW_DESC_MAX], line[IO_LINE_MAX];
        send_script(dealer.sock, i, "", desc);
        /* The ROUTER echoed [id, parts...]; the id routed it back to us
         * and was consumed on the way. */
        expect_reply(dealer.sock, desc);
        snprintf(line, sizeof line, "recv %u id=%s %s", i, id, desc);
        IO_EXPECT_LINE(&stock, line);
        if (i == 0)
            expect_peer(&dealer, "0");
    }
    stock_done(&dealer);
    scenario_end(&dealer, "zmtls DEALER -> stunnel -> stock ROUTER");
}

static void req_router(void *ctx)
{
    backend_start("router", NULL);
    tu_peer_t req;
    client_open(&req, ctx, ZMQ_REQ, "zmtls-req", NULL);
    char id[IW_DESC_MAX] = "";
    for (unsigned i = 0; i < N_MSGS; i++) {
        char desc[IW_DESC_MAX], env[IW_DESC_MAX], line[IO_LINE_MAX];
        send_script(req.sock, i, "", desc);
        expect_reply(req.sock, desc);
        CHECK_EQ(io_child_line(&stock, line, sizeof line, TU_TIMEOUT_MS), 0);
        if (i == 0) {
            /* No ZMQ_ROUTING_ID: the stock ROUTER makes one up, libzmq's
             * 5 bytes starting with a zero byte. */
            CHECK(sscanf(line, "recv 0 id=%63s", id) == 1);
            CHECK_EQ(strlen(id), 10);
            CHECK(strncmp(id, "00", 2) == 0);
        }
        /* The envelope: REQ's empty delimiter in front of the request. */
        iw_script_describe(i, "", 1, env);
        char want[IO_LINE_MAX];
        snprintf(want, sizeof want, "recv %u id=%s %s", i, id, env);
        CHECK_STR(line, want);
        if (i == 0)
            expect_peer(&req, "0");
    }
    stock_done(&req);
    scenario_end(&req, "zmtls REQ -> stunnel -> stock ROUTER (envelope seen)");
}

static void push_pull(void *ctx)
{
    backend_start("pull", NULL);
    tu_peer_t push;
    client_open(&push, ctx, ZMQ_PUSH, "zmtls-push", NULL);
    char desc[N_MSGS][IW_DESC_MAX];
    for (unsigned i = 0; i < N_MSGS; i++)
        send_script(push.sock, i, "", desc[i]);
    for (unsigned i = 0; i < N_MSGS; i++) {
        char line[IO_LINE_MAX];
        snprintf(line, sizeof line, "recv %u id=- %s", i, desc[i]);
        IO_EXPECT_LINE(&stock, line);
    }
    stock_done(&push);
    scenario_end(&push, "zmtls PUSH -> stunnel -> stock PULL");
}

static void pub_sub(void *ctx)
{
    char topic[32];
    snprintf(topic, sizeof topic, "topic=%s", IW_TOPIC_ON);
    backend_start("sub", topic);
    tu_peer_t pub;
    client_open(&pub, ctx, ZMQ_PUB, "zmtls-pub", NULL);

    /* A PUB drops what it sends before the subscription arrives, so probe
     * until the stock SUB reports one: each wait is a bounded read of its
     * output, which also paces the probes. */
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    int ready = 0;
    unsigned probes = 0;
    while (!ready && tu_now_ms() < deadline) {
        CHECK(tu_send_str(pub.sock, IW_PROBE, 0) == (int)strlen(IW_PROBE));
        probes++;
        char line[IO_LINE_MAX];
        if (io_child_line(&stock, line, sizeof line, 50) == 0) {
            CHECK_STR(line, "ready");
            ready = 1;
        }
    }
    if (ready)
        expect_peer(&pub, "0"); /* the stock SUB stays until the end marker */
    if (!ready) {
        fprintf(stderr,
                "the stock SUB received none of %u probes in %d ms: its "
                "subscription did not reach the zmtls PUB\n",
                probes, TU_TIMEOUT_MS);
        tu_events_print(&pub.log, pub.name);
        exit(1);
    }

    long long on_bytes = 0;
    char desc[N_MSGS][IW_DESC_MAX];
    for (unsigned i = 0; i < N_MSGS; i++) {
        iw_msg_t m;
        iw_script(&m, i, iw_pub_topic(i));
        iw_msg_describe(&m, desc[i]);
        for (size_t k = 0; k < m.n && iw_pub_topic(i)[0] == IW_TOPIC_ON[0]; k++)
            on_bytes += (long long)m.len[k];
        io_send_iw(pub.sock, &m);
        iw_msg_free(&m);
    }
    CHECK(tu_send_str(pub.sock, IW_END, 0) == (int)strlen(IW_END));
    unsigned k = 0;
    for (unsigned i = 0; i < N_MSGS; i++) {
        if (strcmp(iw_pub_topic(i), IW_TOPIC_ON) != 0)
            continue;
        char line[IO_LINE_MAX];
        snprintf(line, sizeof line, "recv %u id=- %s", k++, desc[i]);
        IO_EXPECT_LINE(&stock, line);
    }
    /* Nothing after the last matching message but the end. */
    stock_done(&pub);

    /* stunnel closes once the stock SUB has gone and logs what it carried
     * to it: the matching messages and probes, not the 1 MiB "B." one. */
    check_tunnel();
    CHECK_EQ(io_stunnel_wait_log(&tunnel, "Connection closed:", 1, TU_TIMEOUT_MS), 0);
    long long to_tls = 0, to_socket = 0;
    CHECK_EQ(io_stunnel_bytes(&tunnel, 0, &to_tls, &to_socket), 0);
    printf("pub/sub: %u probes; stunnel carried %lld bytes to the stock SUB "
           "(matching payload %lld)\n",
           probes, to_socket, on_bytes);
    CHECK(to_socket >= on_bytes);
    CHECK(to_socket < on_bytes + IW_BIG_LEN / 2);
    scenario_end(&pub, "zmtls PUB -> stunnel -> stock SUB (only \"A.\" arrives)");
}

/*
 * Reconnection with TLS 1.3 resumption (ZMTLS_RESUME, on by default)
 * against a TLS server that is not zmtls. stunnel fails over from the first
 * stock REP to a second one (connect twice, failover = prio): when the first
 * has answered and gone, stunnel closes our connection, the zmtls REQ
 * reconnects offering the ticket stunnel gave it, stunnel resumes the
 * session and connects the second stock REP, which must get the next
 * requests.
 */
static void reconnect_resume(void *ctx)
{
    static io_child_t stock2;
    int port1 = io_stock_start(&stock, "stock-rep-1", "rep", "tcp://127.0.0.1:*", 2,
                               (const char *)NULL);
    int port2 = io_stock_start(&stock2, "stock-rep-2", "rep", "tcp://127.0.0.1:*", 2,
                               (const char *)NULL);
    char extra[128];
    snprintf(extra, sizeof extra, "connect = 127.0.0.1:%d\nfailover = prio\n", port2);
    io_stunnel_start(&tunnel, "stunnel-server", 0, port1, "server.pem", "server.key",
                     extra);
    snprintf(tls_ep, sizeof tls_ep, "tls://127.0.0.1:%d", tunnel.port);

    tu_peer_t req;
    client_open(&req, ctx, ZMQ_REQ, "zmtls-req", NULL);
    io_child_t *const backends[2] = {&stock, &stock2};
    for (int round = 0; round < 2; round++) {
        io_child_t *b = backends[round];
        for (unsigned i = 0; i < 2; i++) {
            char desc[IW_DESC_MAX], line[IO_LINE_MAX];
            send_script(req.sock, i, "", desc);
            expect_reply(req.sock, desc);
            snprintf(line, sizeof line, "recv %u id=- %s", i, desc);
            IO_EXPECT_LINE(b, line);
            if (i == 0)
                expect_peer(&req, round == 0 ? "0" : "1");
        }
        if (round == 0) {
            /* The first backend leaves; the REQ is idle, so nothing is
             * lost, and the next connection must be a resumed one. */
            io_stock_finish(b, 0, "ok");
            io_check_clean(&req, IO_UNTIL_END);
            if (tu_events_count(&req.log, ZMQ_EVENT_DISCONNECTED) == 0)
                TU_PEER_EXPECT(&req, ZMQ_EVENT_DISCONNECTED);
            /* The reconnect may be done already: io_check_clean read it. */
            if (tu_events_count(&req.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED) < 2)
                CHECK_EQ(TU_PEER_EXPECT(&req, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
            CHECK_EQ(tu_events_count(&req.log, ZMQ_EVENT_CONNECTED), 2);
            CHECK_EQ(tu_events_count(&req.log, ZMQ_EVENT_DISCONNECTED), 1);
            /* Nothing failed on the way from one connection to the next. */
            CHECK_EQ(tu_events_count(&req.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
            CHECK_EQ(tu_events_count(&req.log, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL), 0);
            CHECK_EQ(tu_events_count(&req.log, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL), 0);
            io_property_on_handshake(&req, tls_ep, "Resumed", "1");
            io_property_on_handshake(&req, tls_ep, "Subject", "CN=localhost");
        }
    }
    io_stock_finish(&stock2, 0, "ok");
    CHECK_EQ(io_log_count(&tunnel, "TLS accepted: new session negotiated"), 1);
    CHECK_EQ(io_log_count(&tunnel, "TLS accepted: previous session reused"), 1);
    check_tunnel();
    tu_peer_close(&req);
    io_stunnel_stop(&tunnel);
    printf("zmtls REQ -> stunnel -> stock REP, reconnect: session resumed, 2 + 2 "
           "messages ok\n");
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
    reconnect_resume(ctx);

    CHECK(zmq_ctx_term(ctx) == 0);
    printf("stunnel_server: 6 scenarios done in %lld ms\n",
           (long long)(tu_now_ms() - t0));
    return io_finish("stunnel_server");
}

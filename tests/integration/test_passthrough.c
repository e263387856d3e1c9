/*
 * Linked with zmtls, everything that is not tls:// behaves as plain libzmq.
 *
 * First proves the shim is really in the call path (a zmtls option set on
 * a socket reads back; plain libzmq would refuse the id with EINVAL), then:
 *   tcp://   REQ/REP on an ephemeral port: ZMQ_LAST_ENDPOINT, the monitor
 *            events libzmq emits (LISTENING, ACCEPTED, CONNECTED,
 *            HANDSHAKE_SUCCEEDED with tcp:// endpoints, then DISCONNECTED
 *            when the server goes), 1 B / 1 MB / 3-part messages, a zmtls
 *            certificate option pointing nowhere that tcp:// ignores,
 *            zmq_disconnect and zmq_unbind;
 *   inproc:// REQ/REP and DEALER/ROUTER round trips.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "zmtls.h"

static void messages(void *client, void *server)
{
    CHECK_EQ(tu_roundtrip_str(client, server, "x", TU_TIMEOUT_MS), 0);
    size_t big_len = 1u << 20;
    unsigned char *big = malloc(big_len);
    CHECK(big != NULL);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (unsigned char)(i * 13 + 1);
    const void *big_parts[1] = {big};
    CHECK_EQ(tu_roundtrip(client, server, 1, big_parts, &big_len, TU_TIMEOUT_MS), 0);
    free(big);
    const void *parts[3] = {"one", "", "three"};
    size_t lens[3] = {3, 0, 5};
    CHECK_EQ(tu_roundtrip(client, server, 3, parts, lens, TU_TIMEOUT_MS), 0);
}

static void tcp(void *ctx)
{
    tu_peer_t srv, cli;
    tu_peer_open(&srv, "tcp-server", ctx, ZMQ_REP, NULL, NULL, NULL);
    tu_bind_ephemeral(srv.sock, "tcp://127.0.0.1:*", srv.endpoint);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_LISTENING);

    tu_peer_open(&cli, "tcp-client", ctx, ZMQ_REQ, NULL, NULL, NULL);
    /* Set but irrelevant: only tls:// endpoints read credentials. */
    const char *nowhere = "/nonexistent/zmtls-passthrough.pem";
    tu_set_str(cli.sock, ZMTLS_CERT_FILE, nowhere);
    char back[256];
    size_t len = sizeof back;
    CHECK(zmq_getsockopt(cli.sock, ZMTLS_CERT_FILE, back, &len) == 0);
    CHECK_STR(back, nowhere);

    tu_peer_connect(&cli, srv.endpoint);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_CONNECTED);
    CHECK_EQ(TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);
    CHECK_EQ(TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    int i_conn = tu_events_index(&cli.log, ZMQ_EVENT_CONNECTED, 0);
    CHECK_STR(cli.log.seq[i_conn].endpoint, srv.endpoint);
    CHECK(strncmp(srv.endpoint, "tcp://127.0.0.1:", 16) == 0);

    messages(cli.sock, srv.sock);

    /* libzmq's DISCONNECTED reaches the app through the shim's monitor. */
    tu_peer_close(&srv);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_DISCONNECTED);
    CHECK_EQ(zmq_disconnect(cli.sock, cli.endpoint), 0);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
    tu_events_print(&cli.log, "tcp-client");
    tu_peer_close(&cli);

    /* zmq_unbind of the resolved endpoint, as libzmq: once (the listener
     * closes asynchronously, so an immediate re-bind is not part of it). */
    void *s = tu_socket(ctx, ZMQ_REP);
    char ep[TU_EP_MAX];
    tu_bind_ephemeral(s, "tcp://127.0.0.1:*", ep);
    CHECK_EQ(zmq_unbind(s, ep), 0);
    CHECK_EQ(zmq_unbind(s, ep), -1);
    CHECK_EQ(errno, ENOENT);
    CHECK_EQ(zmq_close(s), 0);
    printf("tcp: events, 1 B / 1 MB / 3-part, disconnect/unbind as libzmq\n");
}

static void inproc(void *ctx)
{
    void *rep = tu_socket(ctx, ZMQ_REP);
    void *req = tu_socket(ctx, ZMQ_REQ);
    CHECK_EQ(zmq_bind(rep, "inproc://passthrough-reqrep"), 0);
    CHECK_EQ(zmq_connect(req, "inproc://passthrough-reqrep"), 0);
    messages(req, rep);
    CHECK_EQ(zmq_close(req), 0);
    CHECK_EQ(zmq_close(rep), 0);

    void *router = tu_socket(ctx, ZMQ_ROUTER);
    void *dealer = tu_socket(ctx, ZMQ_DEALER);
    tu_set_str(dealer, ZMQ_ROUTING_ID, "inproc-dealer");
    CHECK_EQ(zmq_bind(router, "inproc://passthrough-router"), 0);
    CHECK_EQ(zmq_connect(dealer, "inproc://passthrough-router"), 0);
    CHECK(tu_send_str(dealer, "hello", 0) == 5);
    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(router, &m, TU_TIMEOUT_MS), 0);
    CHECK_EQ(m.n, 2);
    CHECK(tu_msg_part_is(&m, 0, "inproc-dealer"));
    CHECK(tu_msg_part_is(&m, 1, "hello"));
    tu_msg_close(&m);
    CHECK_EQ(tu_roundtrip_str(dealer, router, "echo", TU_TIMEOUT_MS), 0);
    CHECK_EQ(zmq_close(dealer), 0);
    CHECK_EQ(zmq_close(router), 0);
    printf("inproc: REQ/REP and DEALER/ROUTER as libzmq\n");
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    /* Without the shim in front of libzmq this id is unknown: EINVAL. */
    void *probe = tu_socket(ctx, ZMQ_DEALER);
    int ivl = 1234;
    CHECK_EQ(zmq_setsockopt(probe, ZMTLS_AUTH_IVL, &ivl, sizeof ivl), 0);
    CHECK_EQ(tu_get_int(probe, ZMTLS_AUTH_IVL), 1234);
    CHECK_EQ(zmq_close(probe), 0);

    tcp(ctx);
    inproc(ctx);
    CHECK(zmq_ctx_term(ctx) == 0);
    printf("passthrough: shim active, tcp:// and inproc:// unchanged\n");
    return 0;
}

/*
 * A transient failure follows libzmq's reconnect rules, not the auth
 * schedule. An established REQ (ZMQ_REQ_RELAXED, so it is never stuck)
 * loses its server (zmq_close); a new server is bound on the same port.
 *
 * Asserts: the client reports DISCONNECTED exactly once for the established
 * connection; while the port is closed it retries with CONNECT_RETRIED
 * values on ZMQ_RECONNECT_IVL (100 ms + jitter below 100, as libzmq: far
 * below the ZMTLS_AUTH_IVL floor of 1000); it reconnects to the new server
 * (second CONNECTED and HANDSHAKE_SUCCEEDED) and the next request
 * succeeds; no HANDSHAKE_FAILED_AUTH anywhere.
 */
#include <stdio.h>

#include "testutil.h"
#include "zmtls.h"

#define RECONNECT_IVL 100
#define AUTH_FLOOR    1000

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    tu_peer_t srv, cli;
    tu_peer_open(&srv, "server-1", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_set_int(cli.sock, ZMQ_REQ_RELAXED, 1);
    tu_set_int(cli.sock, ZMQ_REQ_CORRELATE, 1);
    tu_set_int(cli.sock, ZMQ_RECONNECT_IVL, RECONNECT_IVL);
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL, AUTH_FLOOR);
    tu_peer_connect(&cli, srv.endpoint);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "before", TU_TIMEOUT_MS), 0);

    char endpoint[TU_EP_MAX];
    snprintf(endpoint, sizeof endpoint, "%s", srv.endpoint);
    tu_peer_close(&srv);

    /* The established connection ends once; then refused attempts. */
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_DISCONNECTED);
    tu_peer_t *just_cli[1] = {&cli};
    CHECK_EQ(tu_peers_wait(just_cli, 1, tu_now_ms() + TU_TIMEOUT_MS, &cli,
                           ZMQ_EVENT_CONNECT_RETRIED, 3),
             0);

    /* Same port: the client's endpoint string does not change. */
    tu_peer_t srv2;
    tu_peer_open(&srv2, "server-2", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    if (zmq_bind(srv2.sock, endpoint) != 0) {
        fprintf(stderr, "rebinding %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
        return 1;
    }
    CHECK_EQ(TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    TU_PEER_EXPECT(&srv2, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_roundtrip_str(cli.sock, srv2.sock, "after", TU_TIMEOUT_MS), 0);
    tu_drain_events(cli.mon, &cli.log, 100);
    tu_events_print(&cli.log, "client");

    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_DISCONNECTED), 1);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_CONNECTED), 2);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 2);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
    /* DISCONNECTED belongs to the first connection: before any retry. */
    CHECK(tu_events_index(&cli.log, ZMQ_EVENT_DISCONNECTED, 0) <
          tu_events_index(&cli.log, ZMQ_EVENT_CONNECT_RETRIED, 0));
    unsigned retries = tu_events_count(&cli.log, ZMQ_EVENT_CONNECT_RETRIED);
    int lo = 1 << 30, hi = 0;
    for (unsigned k = 0; k < retries; k++) {
        int v = 0;
        CHECK_EQ(tu_events_nth(&cli.log, ZMQ_EVENT_CONNECT_RETRIED, k, &v), 0);
        CHECK_INT(v, >=, RECONNECT_IVL);
        CHECK_INT(v, <, 2 * RECONNECT_IVL);
        CHECK_INT(v, <, AUTH_FLOOR * 8 / 10);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }

    tu_peer_close(&cli);
    tu_peer_close(&srv2);
    CHECK(zmq_ctx_term(ctx) == 0);
    printf("reconnect: DISCONNECTED x1, %u transient retries with values %d..%d ms "
           "(ZMQ_RECONNECT_IVL %d, auth floor %d), reconnected to a new server on the "
           "same port and the next request succeeded\n",
           retries, lo, hi, RECONNECT_IVL, AUTH_FLOOR);
    return 0;
}

/*
 * Incompatible socket types never exchange messages. A REQ may talk only to
 * REP or ROUTER (ZMTP 28/REQREP); a REQ connecting to a bound DEALER must be
 * refused in the ZMTP handshake. This matters more for zmtls than for
 * tcp://: the app socket reaches its bridge over inproc, which performs no
 * type check at all, so a missing check would hand the REQ's frames
 * (delimiter included) straight to the DEALER application.
 *
 * Asserts: the connection reaches the server (ACCEPTED), neither side
 * reports HANDSHAKE_SUCCEEDED, the DEALER application receives nothing in
 * the window; then a compatible DEALER client gets through to the same
 * server, so the silence was the type check and not a dead server.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    tu_peer_t srv, req;
    tu_peer_open(&srv, "server-dealer", ctx, ZMQ_DEALER, "server.pem", "server.key",
                 "ca.pem");
    tu_peer_bind(&srv);
    tu_peer_open(&req, "client-req", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_peer_connect(&req, srv.endpoint);
    /* REQ queues the request on its (inproc) pipe whatever the remote is. */
    CHECK(tu_send_str(req.sock, "must-not-arrive", ZMQ_DONTWAIT) == 15);

    TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);
    tu_peer_t *both[2] = {&req, &srv};
    int delivered =
        tu_peers_wait_quiet(srv.sock, both, 2, tu_now_ms() + 2 * TU_QUIET_MS, NULL, 0, 0);
    tu_events_print(&req.log, "client-req");
    tu_events_print(&srv.log, "server-dealer");
    CHECK_EQ(delivered, 0);
    CHECK_EQ(tu_events_count(&req.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    unsigned refused = tu_events_count(&srv.log, ZMQ_EVENT_ACCEPTED);
    tu_peer_close(&req);

    /* Control: a compatible peer on the same server is served. */
    tu_peer_t dealer;
    tu_peer_open(&dealer, "client-dealer", ctx, ZMQ_DEALER, "client.pem", "client.key",
                 "ca.pem");
    tu_peer_connect(&dealer, srv.endpoint);
    TU_PEER_EXPECT(&dealer, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_roundtrip_str(dealer.sock, srv.sock, "welcome", TU_TIMEOUT_MS), 0);
    tu_peer_close(&dealer);
    tu_peer_close(&srv);
    CHECK(zmq_ctx_term(ctx) == 0);
    printf("socket_type: REQ->DEALER accepted %u time(s), 0 handshakes, 0 messages "
           "delivered; DEALER->DEALER control ok\n",
           refused);
    return 0;
}

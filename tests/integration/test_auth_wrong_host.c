/*
 * The client refuses a server whose certificate is valid (signed by the
 * trusted CA) but names another host: wronghost-server.pem carries only
 * DNS:wrong.example while the client connects to tls://127.0.0.1:PORT.
 *
 * Asserts: the client reports HANDSHAKE_FAILED_AUTH with an auth alert
 * (zmtls_alert_is_auth; OpenSSL sends bad_certificate 42) and never
 * CONNECTED / HANDSHAKE_SUCCEEDED; the server reports HANDSHAKE_FAILED_AUTH
 * too (its certificate was refused) and never HANDSHAKE_SUCCEEDED; the
 * server application never receives the queued request. Control: the same
 * client credentials with ZMTLS_SERVER_NAME "wrong.example" complete the
 * handshake and a round trip with that same server, so the refusal was
 * the name check and nothing else.
 */
#include <errno.h>
#include <stdio.h>

#include "testutil.h"
#include "zmtls.h"

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    tu_peer_t srv, cli;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "wronghost-server.pem",
                 "wronghost-server.key", "ca.pem");
    tu_peer_bind(&srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    /* Slow retries: one or two attempts are all this test needs. */
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL, 500);
    tu_peer_connect(&cli, srv.endpoint);
    int queued = tu_send_str(cli.sock, "request", ZMQ_DONTWAIT);
    CHECK(queued == 7 || (queued == -1 && errno == EAGAIN));

    int c_alert = TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    int s_alert = TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    /* The request must not surface at the server, not even a little later. */
    CHECK_EQ(tu_wait_readable(srv.sock, TU_QUIET_MS), -1);
    tu_pump(cli.mon, &cli.log);
    tu_pump(srv.mon, &srv.log);
    tu_events_print(&cli.log, "client");
    tu_events_print(&srv.log, "server");

    CHECK_EQ(zmtls_alert_is_auth(c_alert), 1);
    CHECK_EQ(zmtls_alert_is_auth(s_alert), 1);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_CONNECTED), 0);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_DISCONNECTED), 0);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_DISCONNECTED), 0);
    unsigned attempts = tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    tu_peer_close(&cli);

    /* Control: expect the name the certificate does carry. */
    tu_peer_t ok;
    tu_peer_open(&ok, "client-named", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_set_str(ok.sock, ZMTLS_SERVER_NAME, "wrong.example");
    tu_peer_connect(&ok, srv.endpoint);
    CHECK_EQ(TU_PEER_EXPECT(&ok, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_events_count(&ok.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
    CHECK_EQ(tu_roundtrip_str(ok.sock, srv.sock, "hello", TU_TIMEOUT_MS), 0);
    tu_peer_close(&ok);
    tu_peer_close(&srv);
    CHECK(zmq_ctx_term(ctx) == 0);
    printf("auth wrong_host: client HANDSHAKE_FAILED_AUTH x%u value %d (%s), server "
           "value %d (%s), request delivered 0; with ZMTLS_SERVER_NAME=wrong.example "
           "the handshake and a round trip succeed\n",
           attempts, c_alert, zmtls_alert_name(c_alert), s_alert,
           zmtls_alert_name(s_alert));
    return 0;
}

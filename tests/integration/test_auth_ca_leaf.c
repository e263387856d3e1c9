/*
 * A certificate marked CA:TRUE (basicConstraints) is refused as a peer's
 * own, from either side, with unsupported_certificate (43): caleaf.pem is signed
 * by the trusted CA, names 127.0.0.1 and carries both extended key usages,
 * so its CA marking is the only thing wrong with it.
 *   - as a client certificate: the refusal scenario of auth_refused.h;
 *   - as a server certificate: both sides report HANDSHAKE_FAILED_AUTH 43,
 *     neither HANDSHAKE_SUCCEEDED, and the request never arrives.
 * Exception: a peer pinned by its self-signed certificate (a chain of one
 * certificate that is itself in the CA store, and CA:TRUE as anchors are)
 * is accepted, in both directions at once.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth_refused.h"
#include "testutil.h"
#include "zmtls.h"

static void ca_leaf_server(void *ctx)
{
    tu_peer_t srv, cli;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "caleaf.pem", "caleaf.key", "ca.pem");
    tu_peer_bind(&srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL, 500);
    tu_peer_connect(&cli, srv.endpoint);
    int queued = tu_send_str(cli.sock, "request", ZMQ_DONTWAIT);
    CHECK(queued == 7 || (queued == -1 && errno == EAGAIN));

    int c_alert = TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    int s_alert = TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    CHECK_EQ(tu_wait_readable(srv.sock, TU_QUIET_MS), -1);
    tu_pump(cli.mon, &cli.log);
    tu_pump(srv.mon, &srv.log);
    tu_events_print(&cli.log, "client");
    tu_events_print(&srv.log, "server");
    CHECK_EQ(c_alert, 43);
    CHECK_EQ(s_alert, 43);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_CONNECTED), 0);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    printf("CA:TRUE server certificate: client alert %d (%s), server alert %d\n", c_alert,
           zmtls_alert_name(c_alert), s_alert);
}

static void pinned(void *ctx)
{
    tu_peer_t srv, cli;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "pinned-server.pem", "pinned-server.key",
                 "pinned-client.pem");
    tu_peer_bind(&srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "pinned-client.pem", "pinned-client.key",
                 "pinned-server.pem");
    tu_peer_connect(&cli, srv.endpoint);
    CHECK_EQ(TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "hello", TU_TIMEOUT_MS), 0);
    char subject[64];
    CHECK(zmtls_endpoint_peer_property(cli.sock, srv.endpoint, "Subject", subject,
                                       sizeof(subject)) > 0);
    CHECK_STR(subject, "CN=pinned server");
    CHECK(zmtls_endpoint_peer_property(srv.sock, srv.endpoint, "Subject", subject,
                                       sizeof(subject)) > 0);
    CHECK_STR(subject, "CN=pinned client");
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    printf("pinned self-signed certificates on both sides: accepted\n");
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    tu_auth_refused("CA:TRUE client", "caleaf.pem", "caleaf.key", 43);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    ca_leaf_server(ctx);
    pinned(ctx);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return 0;
}

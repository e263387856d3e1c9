/*
 * Process defaults from the environment: ZMTLS_CERT, ZMTLS_KEY, ZMTLS_CA
 * (set before the library loads: tu_env_creds re-executes the test).
 *
 * The environment holds the server's credentials. Asserts: a server socket
 * with no zmtls option at all binds and serves; a client that sets only its
 * certificate and key as options (its CA comes from ZMTLS_CA) completes the
 * handshake and a round trip, so options and environment combine per
 * credential; a zmtls string option set to "" falls back to the
 * environment again.
 */
#include <stdio.h>

#include "testutil.h"
#include "zmtls.h"

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, "server.pem", "server.key", "ca.pem");
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    tu_peer_t srv, cli;
    tu_peer_open(&srv, "server-env", ctx, ZMQ_REP, NULL, NULL, NULL);
    /* Cleared option: the environment default applies again. */
    tu_set_str(srv.sock, ZMTLS_CERT_FILE, tu_cert("rogue-client.pem"));
    CHECK_EQ(zmq_setsockopt(srv.sock, ZMTLS_CERT_FILE, "", 0), 0);
    tu_peer_bind(&srv);

    tu_peer_open(&cli, "client-options", ctx, ZMQ_REQ, "client.pem", "client.key", NULL);
    tu_peer_connect(&cli, srv.endpoint);
    CHECK_EQ(TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "env", TU_TIMEOUT_MS), 0);

    tu_peer_close(&cli);
    tu_peer_close(&srv);
    CHECK(zmq_ctx_term(ctx) == 0);
    printf("creds_env: server with ZMTLS_CERT/KEY/CA only, client CA from ZMTLS_CA: "
           "handshake and round trip ok\n");
    return 0;
}

/*
 * Revocation (ZMTLS_CRL_FILE, environment ZMTLS_CRL). Asserts:
 *  - a server whose only CRL is the environment's ZMTLS_CRL refuses a
 *    client certificate that CRL revokes: certificate_revoked (44) on both
 *    sides, on the auth retry schedule, message never delivered, and a good
 *    client under the same CRL is served (tests/support/auth_refused.h);
 *  - a client with crl-revoked.pem refuses a revoked server: 44 on both
 *    sides, no HANDSHAKE_SUCCEEDED; a client without CRLs is served by it;
 *  - CRL_CHECK_ALL: a client chained through int1 is refused when the CRLs
 *    lack int1's (48, unknown_ca), served when int1's CRL is there too, and
 *    refused with 44 when the CA's CRL revokes int1;
 *  - a missing CRL file fails zmq_bind / zmq_connect with ENOENT, a file
 *    without a CRL (certificates, garbage) with EINVAL, zmtls_last_error
 *    naming the file;
 *  - a client that resumed under a CRL not revoking it, then reconnects
 *    (offering its ticket) after the bound socket was given a CRL revoking
 *    it, is refused with 44 on both sides and never succeeds again. (The
 *    rebuilt server context also has new ticket keys; unit.tls_conn checks
 *    the ticket callback itself on an unchanged context.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth_refused.h"
#include "testutil.h"
#include "zmtls.h"

/* The outcome as both sides report it: 0 for success (a round trip
 * works), else the alert, which must be the same on both sides. */
static int outcome(void *ctx, const char *srv_cert, const char *srv_key, const char *crl,
                   const char *cli_cert, const char *cli_key, const char *client_crl)
{
    tu_peer_t srv, cli;
    tu_peer_open(&srv, "server", ctx, ZMQ_ROUTER, srv_cert, srv_key, "ca.pem");
    if (crl != NULL)
        tu_set_str(srv.sock, ZMTLS_CRL_FILE, tu_cert(crl));
    tu_peer_bind(&srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_DEALER, cli_cert, cli_key, "ca.pem");
    if (client_crl != NULL)
        tu_set_str(cli.sock, ZMTLS_CRL_FILE, tu_cert(client_crl));
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL, 60000); /* one attempt is all we look at */
    tu_peer_connect(&cli, srv.endpoint);
    tu_peer_t *both[2] = {&cli, &srv};
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    /* The server's verdict is the one both sides end up reporting. */
    int rc = -1;
    while (rc != 0 && tu_now_ms() < deadline) {
        (void)tu_peers_wait(both, 2, tu_now_ms() + 50, NULL, 0, 0);
        unsigned ok = tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED) +
                      tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
        unsigned bad = (tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) > 0) +
                       (tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) > 0);
        if (ok == 2 || bad == 2)
            rc = 0;
    }
    CHECK_EQ(rc, 0);
    int result = 0;
    if (tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) > 0) {
        int c_alert = -1, s_alert = -1;
        CHECK_EQ(tu_events_nth(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 0, &c_alert),
                 0);
        CHECK_EQ(tu_events_nth(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 0, &s_alert),
                 0);
        CHECK_EQ(c_alert, s_alert);
        CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
        CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
        CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_CONNECTED), 0);
        result = c_alert;
    } else {
        CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "hello", TU_TIMEOUT_MS), 0);
    }
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    return result;
}

/* zmq_bind and zmq_connect with ZMTLS_CRL_FILE = path fail with `err`, and
 * zmtls_last_error names the file. */
static void bad_file(void *ctx, const char *path, int err)
{
    void *s = tu_socket(ctx, ZMQ_ROUTER);
    tu_set_creds(s, "server.pem", "server.key", "ca.pem");
    tu_set_str(s, ZMTLS_CRL_FILE, path);
    CHECK_EQ(zmq_bind(s, "tls://127.0.0.1:*"), -1);
    CHECK_EQ(errno, err);
    printf("bind with CRL %s: %s\n", path, zmtls_last_error());
    CHECK(strstr(zmtls_last_error(), path) != NULL);
    CHECK(strstr(zmtls_last_error(), "CRL") != NULL);
    zmq_close(s);
    void *c = tu_socket(ctx, ZMQ_DEALER);
    tu_set_creds(c, "client.pem", "client.key", "ca.pem");
    tu_set_str(c, ZMTLS_CRL_FILE, path);
    CHECK_EQ(zmq_connect(c, "tls://127.0.0.1:5555"), -1);
    CHECK_EQ(errno, err);
    CHECK(strstr(zmtls_last_error(), path) != NULL);
    zmq_close(c);
}

/* Connects, waits for the handshake, a round trip, disconnects. Returns
 * the client's "Resumed" property. */
static int session(tu_peer_t *cli, tu_peer_t *srv)
{
    unsigned before = tu_events_count(&cli->log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(zmq_connect(cli->sock, srv->endpoint), 0);
    while (tu_events_count(&cli->log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED) == before)
        CHECK_EQ(TU_PEER_EXPECT(cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_roundtrip_str(cli->sock, srv->sock, "hello", TU_TIMEOUT_MS), 0);
    char resumed[4];
    CHECK_EQ(zmtls_endpoint_peer_property(cli->sock, srv->endpoint, "Resumed", resumed,
                                          sizeof(resumed)),
             1);
    CHECK_EQ(zmq_disconnect(cli->sock, srv->endpoint), 0);
    return resumed[0] == '1';
}

static void revoked_after_ticket(void *ctx)
{
    tu_peer_t srv, cli;
    tu_peer_open(&srv, "server", ctx, ZMQ_ROUTER, "server.pem", "server.key", "ca.pem");
    tu_set_str(srv.sock, ZMTLS_CRL_FILE, tu_cert("crl-empty.pem"));
    tu_peer_bind(&srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_DEALER, "revoked-client.pem",
                 "revoked-client.key", "ca.pem");
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL, 60000);
    CHECK_EQ(session(&cli, &srv), 0);
    CHECK_EQ(session(&cli, &srv), 1); /* it holds a ticket the server resumes */

    /* New credentials on the bound socket: the handshakes that follow use
     * the revoking CRL. */
    tu_set_str(srv.sock, ZMTLS_CRL_FILE, tu_cert("crl-revoked.pem"));
    CHECK_EQ(zmq_connect(cli.sock, srv.endpoint), 0);
    CHECK_EQ(TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 44);
    while (tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) == 0)
        (void)TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    int s_alert = -1;
    CHECK_EQ(tu_events_nth(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 0, &s_alert), 0);
    CHECK_EQ(s_alert, 44);
    CHECK_EQ(tu_wait_readable(srv.sock, TU_QUIET_MS / 4), -1);
    tu_pump(cli.mon, &cli.log);
    tu_pump(srv.mon, &srv.log);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 2);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 2);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);

    /* The environment default: the scenario's sockets set no CRL option. */
    CHECK_EQ(setenv("ZMTLS_CRL", tu_cert("crl-revoked.pem"), 1), 0);
    tu_auth_refused("revoked", "revoked-client.pem", "revoked-client.key", 44);
    CHECK_EQ(unsetenv("ZMTLS_CRL"), 0);

    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    /* The client's CRL refuses the server. */
    CHECK_EQ(outcome(ctx, "revoked-server.pem", "revoked-server.key", NULL, "client.pem",
                     "client.key", "crl-revoked.pem"),
             44);
    CHECK_EQ(outcome(ctx, "revoked-server.pem", "revoked-server.key", NULL, "client.pem",
                     "client.key", NULL),
             0);
    CHECK_EQ(outcome(ctx, "server.pem", "server.key", "crl-empty.pem", "client.pem",
                     "client.key", "crl-empty.pem"),
             0);
    /* A CRL for every CA of the chain, or the chain is refused. */
    CHECK_EQ(outcome(ctx, "server.pem", "server.key", "crl-revoked.pem", "chain1.pem",
                     "chain1.key", NULL),
             48);
    CHECK_EQ(outcome(ctx, "server.pem", "server.key", "crl-chain1.pem", "chain1.pem",
                     "chain1.key", NULL),
             0);
    CHECK_EQ(outcome(ctx, "server.pem", "server.key", "crl-int1-revoked.pem",
                     "chain1.pem", "chain1.key", NULL),
             44);

    bad_file(ctx, "/nonexistent/crl.pem", ENOENT);
    bad_file(ctx, tu_cert("ca.pem"), EINVAL);
    char garbage[] = "/tmp/zmtls-crl-XXXXXX";
    int fd = mkstemp(garbage);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "not a CRL\n", 10), 10);
    close(fd);
    bad_file(ctx, garbage, EINVAL);
    unlink(garbage);

    revoked_after_ticket(ctx);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("auth revoked: revoked client 44 (env CRL), revoked server 44 (client CRL), "
           "missing CA CRL 48, revoked intermediate 44, missing file ENOENT, no CRL "
           "EINVAL, revoked after ticket 44\n");
    return 0;
}

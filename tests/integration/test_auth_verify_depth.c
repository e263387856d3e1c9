/*
 * ZMTLS_VERIFY_DEPTH bounds the intermediates of the peer's chain, on
 * both sides. chainN.pem is a leaf under N intermediates (int1 signed by
 * the trusted CA, ..., intN), each file holding the leaf and its chain,
 * usable as client and as server certificate.
 *   - default (ZMTLS_VERIFY_DEPTH_DEFAULT = 4): a client under 4
 *     intermediates is served, one under 5 is refused with unknown_ca (48)
 *     reported by both sides;
 *   - the server raised to 5 serves it; lowered to 1, refuses a client
 *     under 2 and serves one under 1; at 0 serves only a client certificate
 *     the CA signed itself;
 *   - the same on the client side, for the server's chain;
 *   - like libzmq's options, the value is read at bind: set after a first
 *     bind it applies to the second endpoint and not to the first.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "zmtls.h"

/* "chain5.pem" -> "chain5.key" */
static const char *key_of(const char *cert)
{
    static char bufs[4][64];
    static unsigned next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%.*s.key", (int)(strlen(cert) - 4), cert);
    return b;
}

/* Waits for the client's verdict: 0 for HANDSHAKE_SUCCEEDED (then a round
 * trip must work), else the alert of its HANDSHAKE_FAILED_AUTH, which the
 * server must report too. */
static int verdict(tu_peer_t *cli, tu_peer_t *srv)
{
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    for (;;) {
        int event, value;
        int left = (int)(deadline - tu_now_ms());
        CHECK(left > 0 && tu_event_recv(cli->mon, left, &event, &value, NULL) == 0);
        tu_events_add(&cli->log, event, value, "");
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            CHECK_EQ(tu_roundtrip_str(cli->sock, srv->sock, "hello", TU_TIMEOUT_MS), 0);
            return 0;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            int s_alert;
            CHECK_EQ(tu_expect_event(srv->mon, &srv->log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH,
                                     TU_TIMEOUT_MS, &s_alert),
                     0);
            CHECK_EQ(s_alert, value);
            return value;
        }
        CHECK(event != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
              event != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
    }
}

/* A server presenting scert with depth sdepth, a client presenting ccert
 * with depth cdepth (-1: leave the default). Returns verdict(). */
static int attempt(void *ctx, const char *scert, int sdepth, const char *ccert,
                   int cdepth)
{
    tu_peer_t srv, cli;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, scert, key_of(scert), "ca.pem");
    if (sdepth >= 0)
        tu_set_int(srv.sock, ZMTLS_VERIFY_DEPTH, sdepth);
    tu_peer_bind(&srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, ccert, key_of(ccert), "ca.pem");
    if (cdepth >= 0)
        tu_set_int(cli.sock, ZMTLS_VERIFY_DEPTH, cdepth);
    tu_peer_connect(&cli, srv.endpoint);
    int v = verdict(&cli, &srv);
    printf("server %s (depth %d), client %s (depth %d): %s %d\n", scert,
           tu_get_int(srv.sock, ZMTLS_VERIFY_DEPTH), ccert,
           tu_get_int(cli.sock, ZMTLS_VERIFY_DEPTH),
           v == 0 ? "accepted" : "refused, alert", v);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    return v;
}

/* The depth is read at bind: one socket, two endpoints, the depth raised
 * between the binds. */
static void read_at_bind(void *ctx)
{
    void *srv = tu_socket(ctx, ZMQ_REP);
    tu_set_creds(srv, "server.pem", "server.key", "ca.pem");
    char ep_default[TU_EP_MAX], ep_raised[TU_EP_MAX];
    tu_bind_ephemeral(srv, "tls://127.0.0.1:*", ep_default);
    tu_set_int(srv, ZMTLS_VERIFY_DEPTH, 5);
    tu_bind_ephemeral(srv, "tls://127.0.0.1:*", ep_raised);

    const char *eps[2] = {ep_default, ep_raised};
    for (int i = 0; i < 2; i++) {
        tu_peer_t cli;
        tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "chain5.pem", "chain5.key", "ca.pem");
        tu_peer_connect(&cli, eps[i]);
        int expect =
            i == 0 ? ZMQ_EVENT_HANDSHAKE_FAILED_AUTH : ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
        int value = TU_PEER_EXPECT(&cli, expect);
        if (i == 0)
            CHECK_EQ(value, 48);
        else
            CHECK_EQ(tu_roundtrip_str(cli.sock, srv, "hello", TU_TIMEOUT_MS), 0);
        tu_peer_close(&cli);
    }
    zmq_close(srv);
    printf("depth raised after the first bind: first endpoint refuses chain5, second "
           "serves it\n");
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    /* The server judges the client's chain. */
    CHECK_EQ(attempt(ctx, "server.pem", -1, "chain4.pem", -1), 0);
    CHECK_EQ(attempt(ctx, "server.pem", -1, "chain5.pem", -1), 48);
    CHECK_EQ(attempt(ctx, "server.pem", 5, "chain5.pem", -1), 0);
    CHECK_EQ(attempt(ctx, "server.pem", 1, "chain2.pem", -1), 48);
    CHECK_EQ(attempt(ctx, "server.pem", 1, "chain1.pem", -1), 0);
    CHECK_EQ(attempt(ctx, "server.pem", 0, "chain1.pem", -1), 48);
    CHECK_EQ(attempt(ctx, "server.pem", 0, "client.pem", -1), 0);

    /* The client judges the server's. */
    CHECK_EQ(attempt(ctx, "chain4.pem", -1, "client.pem", -1), 0);
    CHECK_EQ(attempt(ctx, "chain5.pem", -1, "client.pem", -1), 48);
    CHECK_EQ(attempt(ctx, "chain5.pem", -1, "client.pem", 5), 0);

    read_at_bind(ctx);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return 0;
}

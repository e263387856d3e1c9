/* Certificate-refusal scenario; see auth_refused.h. */
#include "auth_refused.h"

#include <errno.h>
#include <stdio.h>

#include "testutil.h"
#include "zmtls.h"

/* Constant step (floor == cap), so every retry has the same bounds. Short,
 * so three attempts take well under a second. */
#define REFUSED_IVL      250
#define REFUSED_ATTEMPTS 3

static void check_client_sequence(const tu_events_t *log, int alert)
{
    unsigned failures = 0, retries_since = 0;
    for (size_t i = 0; i < log->n; i++) {
        const tu_event_t *e = &log->seq[i];
        if (e->event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            CHECK_EQ(e->value, alert);
            /* One retry scheduled per failure, none without a failure. */
            if (failures > 0)
                CHECK_EQ(retries_since, 1);
            failures++;
            retries_since = 0;
        } else if (e->event == ZMQ_EVENT_CONNECT_RETRIED) {
            CHECK(failures > 0);
            CHECK_INT(e->value, >=, REFUSED_IVL * 8 / 10);
            CHECK_INT(e->value, <=, (REFUSED_IVL * 12 + 9) / 10);
            retries_since++;
        }
    }
    CHECK(retries_since <= 1);
}

void tu_auth_refused(const char *name, const char *cert, const char *key, int alert)
{
    CHECK(zmtls_alert_is_auth(alert));
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    tu_peer_t srv, cli;
    tu_peer_open(&srv, "server", ctx, ZMQ_ROUTER, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_DEALER, cert, key, "ca.pem");
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL, REFUSED_IVL);
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL_MAX, REFUSED_IVL);
    tu_peer_connect(&cli, srv.endpoint);
    /* Something for the server to (wrongly) deliver if the refusal leaked. */
    int queued = tu_send_str(cli.sock, "must-not-arrive", ZMQ_DONTWAIT);
    CHECK(queued == 15 || (queued == -1 && errno == EAGAIN));

    /* Watch both monitors until the client has seen REFUSED_ATTEMPTS
     * refusals, then a little longer: the server's event for the last
     * attempt may trail the client's. The server must stay silent. */
    tu_peer_t *both[2] = {&cli, &srv};
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS + REFUSED_ATTEMPTS * REFUSED_IVL * 2;
    int rc = tu_peers_wait_quiet(srv.sock, both, 2, deadline, &cli,
                                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, REFUSED_ATTEMPTS);
    if (rc != 1)
        rc = tu_peers_wait_quiet(srv.sock, both, 2, tu_now_ms() + 200, NULL, 0, 0);
    if (rc == 1) {
        fprintf(stderr, "%s: the server application received a message\n", name);
        exit(1);
    }
    tu_events_print(&cli.log, "client");
    tu_events_print(&srv.log, "server");

    unsigned c_fail = tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    unsigned s_fail = tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    CHECK_INT(c_fail, >=, REFUSED_ATTEMPTS);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_CONNECTED), 0);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_DISCONNECTED), 0);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL), 0);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL), 0);
    check_client_sequence(&cli.log, alert);

    CHECK_INT(s_fail + 1, >=, c_fail);
    CHECK_INT(s_fail, <=, c_fail + 1);
    for (unsigned i = 0; i < s_fail; i++) {
        int v = -1;
        CHECK_EQ(tu_events_nth(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, i, &v), 0);
        CHECK_EQ(v, alert);
    }
    CHECK_INT(tu_events_count(&srv.log, ZMQ_EVENT_ACCEPTED), >=, s_fail);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_DISCONNECTED), 0);

    /* The server still serves a client it trusts, while the refused one
     * keeps retrying; had the refused message leaked, this echo would
     * return it instead. */
    tu_peer_t good;
    tu_peer_open(&good, "good client", ctx, ZMQ_DEALER, "client.pem", "client.key",
                 "ca.pem");
    tu_peer_connect(&good, srv.endpoint);
    TU_PEER_EXPECT(&good, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_roundtrip_str(good.sock, srv.sock, "still-serving", TU_TIMEOUT_MS), 0);
    tu_peer_close(&good);

    int r_lo = 0, r_hi = 0;
    tu_events_nth(&cli.log, ZMQ_EVENT_CONNECT_RETRIED, 0, &r_lo);
    tu_events_nth(&cli.log, ZMQ_EVENT_CONNECT_RETRIED, 1, &r_hi);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    CHECK(zmq_ctx_term(ctx) == 0);
    printf("auth %s: client HANDSHAKE_FAILED_AUTH x%u value %d (%s), "
           "CONNECT_RETRIED %d, %d ms (step %d); server HANDSHAKE_FAILED_AUTH x%u "
           "value %d; queued message %s, delivered 0; a good client served after\n",
           name, c_fail, alert, zmtls_alert_name(alert), r_lo, r_hi, REFUSED_IVL, s_fail,
           alert, queued > 0 ? "yes" : "no");
}

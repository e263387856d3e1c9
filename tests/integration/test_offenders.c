/*
 * Repeat offenders on a tls:// bind (ZMTLS_OFFENDER_FAILURES 3, a long
 * window, ZMTLS_OFFENDER_BAN 300 ms):
 *   - a client from 127.0.0.2 with a certificate of an untrusted CA is
 *     refused three times (HANDSHAKE_FAILED_AUTH 48 on the server each
 *     time); its fourth connection is closed right after accept, before any
 *     TLS, with ACCEPT_FAILED(EACCES), and the client's handshake fails
 *     without an alert;
 *   - a good client from 127.0.0.1 is served throughout;
 *   - once the ban is over (polled with a deadline) 127.0.0.2 is accepted
 *     again and, with a good certificate now, served;
 *   - with ZMTLS_OFFENDER_FAILURES 0 the same refusals never ban.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rawtls.h"
#include "testutil.h"
#include "zmtls.h"

#define ROGUE_ADDR "127.0.0.2"

static void good_roundtrip(void *ctx, tu_peer_t *srv, const char *what)
{
    void *req = tu_socket(ctx, ZMQ_REQ);
    tu_set_creds(req, "client.pem", "client.key", "ca.pem");
    tu_set_int(req, ZMQ_LINGER, 0);
    CHECK_EQ(zmq_connect(req, srv->endpoint), 0);
    CHECK_EQ(tu_roundtrip_str(req, srv->sock, what, TU_TIMEOUT_MS), 0);
    CHECK_EQ(zmq_close(req), 0);
    /* Its events, so the next ones read are another client's. */
    TU_PEER_EXPECT(srv, ZMQ_EVENT_ACCEPTED);
    TU_PEER_EXPECT(srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    TU_PEER_EXPECT(srv, ZMQ_EVENT_DISCONNECTED);
}

/* One connection of the rogue client: refused with 48 by the server. */
static void rogue_refused(SSL_CTX *rogue, tu_peer_t *srv)
{
    rt_conn_t c;
    rt_open_from(&c, rogue, ROGUE_ADDR, tu_endpoint_port(srv->endpoint), NULL);
    TU_PEER_EXPECT(srv, ZMQ_EVENT_ACCEPTED);
    /* TLS 1.3: the client's side completes; the refusal shows on reading. */
    if (rt_handshake(&c, TU_TIMEOUT_MS) == 0)
        CHECK_EQ(rt_wait_closed(&c, TU_TIMEOUT_MS), 0);
    CHECK_EQ(TU_PEER_EXPECT(srv, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 48);
    rt_close(&c);
}

static void run(int failures)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    tu_peer_t srv;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_set_int(srv.sock, ZMTLS_OFFENDER_FAILURES, failures);
    tu_set_int(srv.sock, ZMTLS_OFFENDER_WINDOW, 600000);
    tu_set_int(srv.sock, ZMTLS_OFFENDER_BAN, 300);
    CHECK_EQ(tu_get_int(srv.sock, ZMTLS_OFFENDER_FAILURES), failures);
    tu_peer_bind(&srv);
    SSL_CTX *rogue =
        rt_ctx_new("rogue-client.pem", "rogue-client.key", "ca.pem", TLS1_3_VERSION, -1);
    SSL_CTX *good = rt_ctx_new("client.pem", "client.key", "ca.pem", TLS1_3_VERSION, -1);
    int port = tu_endpoint_port(srv.endpoint);

    for (int i = 0; i < 3; i++)
        rogue_refused(rogue, &srv);
    good_roundtrip(ctx, &srv, "between");

    if (failures == 0) {
        /* Off: a fourth refusal like the others. */
        rogue_refused(rogue, &srv);
        printf("offenders off: 4 refusals, no ban\n");
    } else {
        rt_conn_t c;
        rt_open_from(&c, rogue, ROGUE_ADDR, port, NULL);
        CHECK_EQ(TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPT_FAILED), EACCES);
        CHECK_EQ(rt_handshake(&c, TU_TIMEOUT_MS), -1);
        CHECK_EQ(c.alert_received, -1); /* closed before any TLS */
        rt_close(&c);
        good_roundtrip(ctx, &srv, "during the ban");

        /* The ban ends: 127.0.0.2 gets in again, here with a good
         * certificate. Each attempt refused meanwhile is reported. */
        int64_t until = tu_now_ms() + TU_TIMEOUT_MS;
        int refused = 0;
        for (;;) {
            rt_open_from(&c, good, ROGUE_ADDR, port, NULL);
            int ev = 0, value = 0;
            CHECK_EQ(tu_event_recv(srv.mon, TU_TIMEOUT_MS, &ev, &value, NULL), 0);
            tu_events_add(&srv.log, ev, value, NULL);
            if (ev == ZMQ_EVENT_ACCEPTED)
                break;
            CHECK_EQ(ev, ZMQ_EVENT_ACCEPT_FAILED);
            CHECK_EQ(value, EACCES);
            refused++;
            rt_close(&c);
            CHECK(tu_now_ms() < until);
            CHECK_EQ(tu_wait_readable(srv.sock, 50), -1); /* paces the retries */
        }
        CHECK_EQ(rt_handshake(&c, TU_TIMEOUT_MS), 0);
        CHECK_EQ(rt_zmtp_handshake(&c, "REQ", TU_TIMEOUT_MS), 0);
        TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
        CHECK_EQ(rt_zmtp_send_request(&c, "after the ban", TU_TIMEOUT_MS), 0);
        CHECK_EQ(tu_echo(srv.sock, TU_TIMEOUT_MS), 1);
        CHECK_EQ(rt_zmtp_recv_reply(&c, "after the ban", TU_TIMEOUT_MS), 0);
        rt_close(&c);
        printf("offenders: banned after 3 refusals (ACCEPT_FAILED EACCES, no TLS), "
               "%d more refused during the ban, then served again\n",
               refused);
    }
    SSL_CTX_free(rogue);
    SSL_CTX_free(good);
    tu_peer_close(&srv);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    run(3);
    run(0);
    return 0;
}

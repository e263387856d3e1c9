/*
 * A tls:// REP server facing TLS clients that break the TLS layer itself,
 * one at a time so each server event can be attributed, while a good REQ
 * client is served before, between and after them:
 *   A. a client that speaks TLS 1.2 at most: refused with protocol_version
 *      (alert 70), HANDSHAKE_FAILED_PROTOCOL(70) on the server;
 *   B. a client that completes the mutual TLS handshake with a valid
 *      certificate, then writes a forged application_data record (right
 *      header, bytes that are no AEAD output) straight onto the TCP stream:
 *      bad_record_mac (20), HANDSHAKE_FAILED_PROTOCOL(20);
 *   C. as B, but after a full ZMTP handshake and a request answered by the
 *      application: the established peer is DISCONNECTED;
 *   D. as C with a record of a content type that does not exist (0x42):
 *      unexpected_message (10), DISCONNECTED.
 * Each time: the client sees the server end the connection with that alert
 * within the deadline, and the application receives nothing from A, B and
 * the forged records. Counts at the end: no HANDSHAKE_FAILED_AUTH, no
 * NO_DETAIL, and the good client's connection was never lost.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "rawtls.h"
#include "testutil.h"
#include "zmtls.h"

static tu_peer_t srv, good;
static unsigned trips;

static void good_roundtrip(const char *when)
{
    /* Nothing from the hostile client reached the application. */
    CHECK_EQ(tu_wait_readable(srv.sock, 0), -1);
    CHECK_EQ(tu_roundtrip_str(good.sock, srv.sock, when, TU_TIMEOUT_MS), 0);
    trips++;
}

/* The server ends c: the client sees the connection close with `alert`
 * from the server. */
static void expect_closed_with(rt_conn_t *c, int alert, const char *label)
{
    if (rt_wait_closed(c, TU_TIMEOUT_MS) != 0) {
        fprintf(stderr, "%s: the server kept the connection open\n", label);
        exit(1);
    }
    printf("%s: closed by the server (%s), alert received %d %s\n", label, c->why,
           c->alert_received, zmtls_alert_name(c->alert_received));
    CHECK_EQ(c->alert_received, alert);
}

/* A TLS 1.3 client with a good certificate that completes the handshake;
 * with `zmtp`, also the ZMTP handshake and one request. */
static void open_good_tls(rt_conn_t *c, SSL_CTX *ctx, int zmtp)
{
    rt_open(c, ctx, tu_endpoint_port(srv.endpoint), NULL);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);
    CHECK_EQ(rt_handshake(c, TU_TIMEOUT_MS), 0);
    if (!zmtp)
        return;
    CHECK_EQ(rt_zmtp_handshake(c, "REQ", TU_TIMEOUT_MS), 0);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    /* The raw client is an authenticated peer like any other: served. */
    CHECK_EQ(rt_zmtp_send_request(c, "raw", TU_TIMEOUT_MS), 0);
    CHECK_EQ(tu_echo(srv.sock, TU_TIMEOUT_MS), 1);
    CHECK_EQ(rt_zmtp_recv_reply(c, "raw", TU_TIMEOUT_MS), 0);
}

/* A record header for `type` announcing len bytes, then len bytes of a
 * fixed pattern. */
static size_t forged_record(uint8_t *out, uint8_t type, size_t len)
{
    out[0] = type;
    out[1] = 0x03;
    out[2] = 0x03;
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
    for (size_t i = 0; i < len; i++)
        out[5 + i] = (uint8_t)(0xA5 ^ (i * 31));
    return 5 + len;
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&srv);
    tu_peer_open(&good, "good client", ctx, ZMQ_REQ, "client.pem", "client.key",
                 "ca.pem");
    tu_peer_connect(&good, srv.endpoint);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    good_roundtrip("before");

    SSL_CTX *tls12 = rt_ctx_new("client.pem", "client.key", "ca.pem", TLS1_2_VERSION, -1);
    SSL_CTX *tls13 = rt_ctx_new("client.pem", "client.key", "ca.pem", TLS1_3_VERSION, -1);
    rt_conn_t c;
    uint8_t rec[5 + 64];

    /* A. */
    rt_open(&c, tls12, tu_endpoint_port(srv.endpoint), NULL);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);
    CHECK_EQ(rt_handshake(&c, TU_TIMEOUT_MS), -1);
    printf("A TLS 1.2 client: handshake failed (%s), alert received %d\n", c.why,
           c.alert_received);
    CHECK_EQ(c.alert_received, 70);
    CHECK_EQ(TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL), 70);
    rt_close(&c);
    good_roundtrip("after A");

    /* B. */
    open_good_tls(&c, tls13, 0);
    CHECK_EQ(rt_raw_write(&c, rec, forged_record(rec, 0x17, 48)), 0);
    expect_closed_with(&c, 20, "B forged record after the TLS handshake");
    CHECK_EQ(TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL), 20);
    rt_close(&c);
    good_roundtrip("after B");

    /* C. */
    open_good_tls(&c, tls13, 1);
    CHECK_EQ(rt_raw_write(&c, rec, forged_record(rec, 0x17, 48)), 0);
    expect_closed_with(&c, 20, "C forged record on an established connection");
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_DISCONNECTED);
    rt_close(&c);
    good_roundtrip("after C");

    /* D. */
    open_good_tls(&c, tls13, 1);
    CHECK_EQ(rt_raw_write(&c, rec, forged_record(rec, 0x42, 32)), 0);
    expect_closed_with(&c, 10, "D record of no content type");
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_DISCONNECTED);
    rt_close(&c);
    good_roundtrip("after");

    tu_pump(srv.mon, &srv.log);
    tu_pump(good.mon, &good.log);
    tu_events_print(&srv.log, "server");
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_ACCEPTED), 5);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 3);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL), 2);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_DISCONNECTED), 2);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL), 0);
    CHECK_EQ(tu_events_count(&good.log, ZMQ_EVENT_DISCONNECTED), 0);

    SSL_CTX_free(tls12);
    SSL_CTX_free(tls13);
    tu_peer_close(&good);
    tu_peer_close(&srv);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("hostile_tls: TLS 1.2 -> PROTOCOL(70), forged record -> PROTOCOL(20), "
           "forged record when established -> DISCONNECTED (20), bad type -> "
           "DISCONNECTED (10); good client served %u times\n",
           trips);
    return 0;
}

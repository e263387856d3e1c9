/*
 * A tls:// server facing peers that do not speak TLS, one at a time so each
 * server event can be attributed, while a good REQ client connected first
 * is served before, between and after them:
 *   A. a plaintext ZMTP 3.0 greeting (a tcp:// client pointed at tls://);
 *   B. random bytes;
 *   C. a client that connects and says nothing (ZMQ_HANDSHAKE_IVL 1 s);
 *   D. a client that connects and hangs up at once;
 *   E. an HTTP request (a browser or a health check pointed at the port).
 * Asserts: the server closes A, B, C and E by itself (recv sees EOF or a
 * reset within the deadline) and reports one ACCEPTED each; A and B end in
 * HANDSHAKE_FAILED_PROTOCOL with a TLS protocol alert (< 256, not an auth
 * alert) or a ZMTP protocol code; E, which OpenSSL recognises as HTTP and
 * answers with no alert, with ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED as
 * include/zmtls.h documents; C and D end in HANDSHAKE_FAILED_NO_DETAIL; no
 * HANDSHAKE_FAILED_AUTH, no HANDSHAKE_SUCCEEDED but the good client's, the
 * application receives nothing from them, and the good client's connection
 * is never lost.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "zmtls.h"

#define HANDSHAKE_IVL 1000

/* "70 protocol_version" for a TLS alert, "0x10000000" for a ZMTP code. */
static const char *describe(int v, char *buf, size_t cap)
{
    if (v > 0 && v < 256)
        snprintf(buf, cap, "%d %s", v, zmtls_alert_name(v));
    else
        snprintf(buf, cap, "%#x", (unsigned)v);
    return buf;
}

static int is_protocol_value(int v)
{
    if (v > 0 && v < 256)
        return !zmtls_alert_is_auth(v);
    return v >= ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED &&
           v < ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED;
}

/* Sends `bytes` (may be empty) from a raw TCP client, then waits for the
 * server to close the connection and for the server's verdict. */
static int raw_peer(tu_peer_t *srv, const void *bytes, size_t len, int expect_event,
                    const char *label)
{
    int port = tu_endpoint_port(srv->endpoint);
    int fd = tu_tcp_connect(port);
    TU_PEER_EXPECT(srv, ZMQ_EVENT_ACCEPTED);
    if (len > 0)
        CHECK_EQ(tu_tcp_send(fd, bytes, len), 0);
    /* C must outlast the handshake timeout; the others close much sooner. */
    if (tu_tcp_wait_closed(fd, HANDSHAKE_IVL + TU_TIMEOUT_MS) != 0) {
        fprintf(stderr, "%s: the server kept the connection open\n", label);
        exit(1);
    }
    close(fd);
    int value = TU_PEER_EXPECT(srv, expect_event);
    printf("%s: closed by the server, %s(%d)\n", label, tu_event_name(expect_event),
           value);
    return value;
}

static tu_peer_t good;

/* Nothing from the raw peer reached the application; the good client is
 * served. */
static void good_roundtrip(tu_peer_t *srv, const char *when)
{
    CHECK_EQ(tu_wait_readable(srv->sock, 0), -1);
    CHECK_EQ(tu_roundtrip_str(good.sock, srv->sock, when, TU_TIMEOUT_MS), 0);
}

static int raw_hangup(tu_peer_t *srv)
{
    int fd = tu_tcp_connect(tu_endpoint_port(srv->endpoint));
    close(fd);
    TU_PEER_EXPECT(srv, ZMQ_EVENT_ACCEPTED);
    int value = TU_PEER_EXPECT(srv, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
    printf("D hang-up: HANDSHAKE_FAILED_NO_DETAIL(%d)\n", value);
    return value;
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    tu_peer_t srv;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_set_int(srv.sock, ZMQ_HANDSHAKE_IVL, HANDSHAKE_IVL);
    tu_peer_bind(&srv);
    tu_peer_open(&good, "good client", ctx, ZMQ_REQ, "client.pem", "client.key",
                 "ca.pem");
    tu_peer_connect(&good, srv.endpoint);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    good_roundtrip(&srv, "before");

    /* ZMTP 3.0 greeting: signature, version 3.0, mechanism NULL, as-server 0,
     * filler (23/ZMTP). */
    unsigned char greeting[64];
    memset(greeting, 0, sizeof greeting);
    greeting[0] = 0xff;
    greeting[9] = 0x7f;
    greeting[10] = 3;
    memcpy(greeting + 12, "NULL", 4);
    int v_a = raw_peer(&srv, greeting, sizeof greeting,
                       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, "A plaintext ZMTP greeting");
    CHECK(is_protocol_value(v_a));
    good_roundtrip(&srv, "after A");

    /* Reproducible noise (xorshift32, fixed seed). The first two bytes are
     * pinned to an invalid TLS record type and version so the record layer
     * rejects the header at once, instead of waiting for the body a random
     * length field would promise (that would be case C). */
    unsigned char noise[1024];
    uint32_t x = 0x2545f491u;
    for (size_t i = 0; i < sizeof noise; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise[i] = (unsigned char)x;
    }
    noise[0] = 0x00;
    noise[1] = 0xab;
    int v_b = raw_peer(&srv, noise, sizeof noise, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                       "B random bytes");
    CHECK(is_protocol_value(v_b));
    good_roundtrip(&srv, "after B");

    int64_t t_silent = tu_now_ms();
    raw_peer(&srv, NULL, 0, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, "C silent client");
    long long silent_ms = (long long)(tu_now_ms() - t_silent);
    good_roundtrip(&srv, "after C");
    raw_hangup(&srv);
    good_roundtrip(&srv, "after D");

    static const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    int v_e = raw_peer(&srv, http, sizeof http - 1, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                       "E HTTP request");
    CHECK_EQ(v_e, ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED);
    good_roundtrip(&srv, "after");

    /* None of that reached the application or counted as an auth failure. */
    tu_pump(srv.mon, &srv.log);
    tu_pump(good.mon, &good.log);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_ACCEPTED), 6);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL), 3);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL), 2);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 1);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_DISCONNECTED), 0);
    CHECK_EQ(tu_events_count(&good.log, ZMQ_EVENT_DISCONNECTED), 0);
    tu_events_print(&srv.log, "server");

    tu_peer_close(&good);
    tu_peer_close(&srv);
    CHECK(zmq_ctx_term(ctx) == 0);
    char da[64], db[64], de[64];
    printf("garbage: greeting -> PROTOCOL(%s), noise -> PROTOCOL(%s), silent closed "
           "after %lld ms, hang-up -> NO_DETAIL, HTTP -> PROTOCOL(%s); good client "
           "served before, between and after\n",
           describe(v_a, da, sizeof da), describe(v_b, db, sizeof db), silent_ms,
           describe(v_e, de, sizeof de));
    return 0;
}

/*
 * 0-RTT is refused: early data could be replayed, and it would arrive
 * before the server has seen the client's certificate of this connection.
 *
 * A plain OpenSSL client with a valid certificate connects once, speaks
 * ZMTP, gets a request answered and keeps the server's session ticket. It
 * then reconnects offering that ticket and sends, as TLS early data, a
 * complete ZMTP greeting, READY and the request "EARLY". (The ticket carries
 * no early-data allowance, since the server grants none; the client is
 * made to claim one anyway, as an attacker would.)
 *
 * Asserts: the second handshake resumed the session (so early data really
 * was offered under a PSK); the client's early data status is REJECTED,
 * never ACCEPTED; the connection then goes on as a normal one: the server's
 * greeting arrives, a greeting, READY and "LATE" sent after the handshake
 * are answered with "LATE"; and the application received "LATE" and never
 * "EARLY". A good REQ client is served before and after.
 */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "rawtls.h"
#include "testutil.h"
#include "zmtls.h"

/* Sends what a REQ client would send in its first flight: greeting, READY
 * and the request, all as early data. Returns 0 once written. */
static int write_early(rt_conn_t *c, const char *request, int timeout_ms)
{
    uint8_t buf[RT_GREETING_SIZE + 64 + 4 + 16];
    size_t n = 0;
    rt_zmtp_greeting(buf);
    n += RT_GREETING_SIZE;
    n += rt_zmtp_ready(buf + n, 64, "REQ");
    size_t rlen = strlen(request);
    CHECK(rlen <= 16);
    buf[n++] = 0x01;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = (uint8_t)rlen;
    memcpy(buf + n, request, rlen);
    n += rlen;

    int64_t deadline = tu_now_ms() + timeout_ms;
    size_t done = 0;
    while (done < n) {
        size_t w = 0;
        int r = SSL_write_early_data(c->ssl, buf + done, n - done, &w);
        if (r == 1) {
            done += w;
            continue;
        }
        int e = SSL_get_error(c->ssl, r);
        ERR_print_errors_fp(stderr);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            fprintf(stderr, "SSL_write_early_data failed (%d)\n", e);
            return -1;
        }
        struct pollfd pfd = {c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 0};
        int64_t left = deadline - tu_now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
            fprintf(stderr, "SSL_write_early_data: no progress before the deadline\n");
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    tu_peer_t srv, good;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&srv);
    tu_peer_open(&good, "good client", ctx, ZMQ_REQ, "client.pem", "client.key",
                 "ca.pem");
    tu_peer_connect(&good, srv.endpoint);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_roundtrip_str(good.sock, srv.sock, "before", TU_TIMEOUT_MS), 0);

    SSL_CTX *tls = rt_ctx_new("client.pem", "client.key", "ca.pem", TLS1_3_VERSION, -1);
    int port = tu_endpoint_port(srv.endpoint);

    /* First connection: full handshake, a request, the ticket. */
    rt_conn_t c;
    rt_open(&c, tls, port, NULL);
    CHECK_EQ(rt_handshake(&c, TU_TIMEOUT_MS), 0);
    CHECK_EQ(rt_zmtp_handshake(&c, "REQ", TU_TIMEOUT_MS), 0);
    CHECK_EQ(rt_zmtp_send_request(&c, "first", TU_TIMEOUT_MS), 0);
    CHECK_EQ(tu_echo(srv.sock, TU_TIMEOUT_MS), 1);
    /* Reading the reply also reads the ticket, sent before it. */
    CHECK_EQ(rt_zmtp_recv_reply(&c, "first", TU_TIMEOUT_MS), 0);
    SSL_SESSION *sess = SSL_get1_session(c.ssl);
    CHECK(sess != NULL);
    CHECK_EQ(SSL_SESSION_is_resumable(sess), 1);
    printf("ticket: max_early_data granted by the server %u\n",
           SSL_SESSION_get_max_early_data(sess));
    CHECK_EQ(SSL_SESSION_get_max_early_data(sess), 0);
    CHECK_EQ(SSL_SESSION_set_max_early_data(sess, 16384), 1);
    /* A clean close (close_notify): OpenSSL stops offering a session whose
     * connection was dropped without one. */
    CHECK_EQ(SSL_shutdown(c.ssl), 0);
    rt_close(&c);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_DISCONNECTED);

    /* Second connection: resume and send the request as early data. */
    rt_open(&c, tls, port, sess);
    CHECK_EQ(write_early(&c, "EARLY", TU_TIMEOUT_MS), 0);
    CHECK_EQ(rt_handshake(&c, TU_TIMEOUT_MS), 0);
    int status = SSL_get_early_data_status(c.ssl);
    int resumed = SSL_session_reused(c.ssl);
    printf("resumed %d, early data status %s\n", resumed,
           status == SSL_EARLY_DATA_ACCEPTED   ? "ACCEPTED"
           : status == SSL_EARLY_DATA_REJECTED ? "REJECTED"
                                               : "NOT_SENT");
    CHECK_EQ(resumed, 1);
    CHECK(status != SSL_EARLY_DATA_ACCEPTED);
    CHECK_EQ(status, SSL_EARLY_DATA_REJECTED);

    /* The connection goes on as one without early data. */
    CHECK_EQ(rt_zmtp_handshake(&c, "REQ", TU_TIMEOUT_MS), 0);
    CHECK_EQ(rt_zmtp_send_request(&c, "LATE", TU_TIMEOUT_MS), 0);
    char got[16];
    CHECK_EQ(tu_recv_str(srv.sock, got, sizeof got, TU_TIMEOUT_MS), 4);
    CHECK_STR(got, "LATE");
    CHECK_EQ(tu_send_str(srv.sock, got, 0), 4);
    CHECK_EQ(rt_zmtp_recv_reply(&c, "LATE", TU_TIMEOUT_MS), 0);
    rt_close(&c);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_DISCONNECTED);

    /* "EARLY" never reached the application; the good client is served. */
    CHECK_EQ(tu_wait_readable(srv.sock, 0), -1);
    CHECK_EQ(tu_roundtrip_str(good.sock, srv.sock, "after", TU_TIMEOUT_MS), 0);
    tu_pump(srv.mon, &srv.log);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 3);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_DISCONNECTED), 2);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL), 0);

    SSL_SESSION_free(sess);
    SSL_CTX_free(tls);
    tu_peer_close(&good);
    tu_peer_close(&srv);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("early_data: offered on a resumed session, REJECTED; the connection went "
           "on without it and the application saw only the request sent after the "
           "handshake\n");
    return 0;
}

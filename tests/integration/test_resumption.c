/*
 * TLS 1.3 session resumption: a socket that reconnects to the same endpoint
 * resumes its previous session (ZMTLS_RESUME, default on), keeps the
 * client's authenticated identity on the server side, and makes full
 * handshakes when resumption is off or the server no longer knows the
 * ticket.
 */
#include <string.h>
#include <zmq.h>

#include "check.h"
#include "testutil.h"
#include "zmtls.h"

static void roundtrip(void *client, void *server)
{
    CHECK_EQ(zmq_send(client, "ping", 4, 0), 4);
    zmq_pollitem_t it = {server, 0, ZMQ_POLLIN, 0};
    CHECK_EQ(zmq_poll(&it, 1, TU_TIMEOUT_MS), 1);
    uint8_t rid[256];
    int rid_len = zmq_recv(server, rid, sizeof(rid), 0);
    CHECK(rid_len > 0);
    char body[16];
    CHECK_EQ(zmq_recv(server, body, sizeof(body), 0), 4);
    char subject[64];
    CHECK(zmtls_peer_property(server, rid, (size_t)rid_len, "Subject", subject,
                              sizeof(subject)) > 0);
    CHECK_STR(subject, "CN=client");
    CHECK_EQ(zmq_send(server, rid, (size_t)rid_len, ZMQ_SNDMORE), rid_len);
    CHECK_EQ(zmq_send(server, "pong", 4, 0), 4);
    it.socket = client;
    CHECK_EQ(zmq_poll(&it, 1, TU_TIMEOUT_MS), 1);
    CHECK_EQ(zmq_recv(client, body, sizeof(body), 0), 4);
}

/* Connects, waits for the handshake, exchanges a message and returns the
 * client's "Resumed" property. */
static int connect_once(void *ctx, void *client, void *server, const char *ep)
{
    void *mon = tu_monitor(ctx, client, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(zmq_connect(client, ep), 0);
    tu_events_t log;
    tu_events_init(&log);
    int value;
    CHECK_EQ(
        tu_expect_event(mon, &log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, TU_TIMEOUT_MS, &value),
        0);
    roundtrip(client, server);
    char resumed[4];
    CHECK_EQ(
        zmtls_endpoint_peer_property(client, ep, "Resumed", resumed, sizeof(resumed)), 1);
    CHECK_EQ(zmq_disconnect(client, ep), 0);
    zmq_socket_monitor(client, NULL, 0);
    zmq_close(mon);
    return resumed[0] == '1';
}

static int run(void *ctx, int resume, int cycles)
{
    void *server = tu_socket(ctx, ZMQ_ROUTER);
    tu_set_creds(server, "server.pem", "server.key", "ca.pem");
    char ep[TU_EP_MAX];
    tu_bind_ephemeral(server, "tls://127.0.0.1:*", ep);
    void *client = tu_socket(ctx, ZMQ_DEALER);
    tu_set_creds(client, "client.pem", "client.key", "ca.pem");
    tu_set_int(client, ZMTLS_RESUME, resume);
    CHECK_EQ(tu_get_int(client, ZMTLS_RESUME), resume);
    int resumed = 0;
    for (int i = 0; i < cycles; i++) {
        int r = connect_once(ctx, client, server, ep);
        CHECK(i > 0 || r == 0); /* nothing to resume the first time */
        resumed += r;
    }
    zmq_close(client);
    zmq_close(server);
    return resumed;
}

int main(void)
{
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    int on = run(ctx, 1, 4);
    int off = run(ctx, 0, 3);
    printf("resumption on: %d of 3 reconnects resumed; off: %d of 2\n", on, off);
    CHECK_EQ(on, 3);
    CHECK_EQ(off, 0);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return 0;
}

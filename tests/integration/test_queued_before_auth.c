/*
 * Messages an application queues before its peer authenticated it are
 * never delivered to a server that then refuses it. With TLS 1.3 the client
 * finishes its handshake before the server has checked its certificate, so
 * a stack that flushes queued messages at that point leaks them.
 *
 * A rogue DEALER sends 10 messages with ZMQ_DONTWAIT right after
 * zmq_connect, before any connection exists. Asserts: at least one was
 * queued (else the test would prove nothing); the server ROUTER stays
 * unreadable while its monitor counts at least 3 refused attempts; the
 * rogue never reports CONNECTED. Control: a good DEALER doing the same
 * thing has all 10 messages delivered, in order, with its routing id.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "zmtls.h"

#define BURST    10
#define ATTEMPTS 3

static int queue_burst(void *sock, const char *prefix)
{
    int queued = 0;
    for (int i = 0; i < BURST; i++) {
        char msg[32];
        snprintf(msg, sizeof msg, "%s-%d", prefix, i);
        int rc = tu_send_str(sock, msg, ZMQ_DONTWAIT);
        if (rc < 0) {
            CHECK_EQ(errno, EAGAIN);
            break;
        }
        queued++;
    }
    return queued;
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    tu_peer_t srv, rogue;
    tu_peer_open(&srv, "server", ctx, ZMQ_ROUTER, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&srv);
    tu_peer_open(&rogue, "rogue", ctx, ZMQ_DEALER, "rogue-client.pem", "rogue-client.key",
                 "ca.pem");
    tu_set_int(rogue.sock, ZMTLS_AUTH_IVL, 150);
    tu_set_int(rogue.sock, ZMTLS_AUTH_IVL_MAX, 150);
    tu_peer_connect(&rogue, srv.endpoint);
    int queued = queue_burst(rogue.sock, "secret");
    CHECK_INT(queued, >=, 1);

    /* Until the server has refused ATTEMPTS times, the ROUTER must stay
     * silent; then one more quiet period for anything late. */
    tu_peer_t *both[2] = {&srv, &rogue};
    int rc = tu_peers_wait_quiet(srv.sock, both, 2, tu_now_ms() + TU_TIMEOUT_MS, &srv,
                                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, ATTEMPTS);
    if (rc == 0)
        rc = tu_peers_wait_quiet(srv.sock, both, 2, tu_now_ms() + 300, NULL, 0, 0);
    int leaked = rc == 1;
    tu_events_print(&rogue.log, "rogue");
    tu_events_print(&srv.log, "server");
    CHECK_EQ(leaked, 0);
    unsigned refused = tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    CHECK_INT(refused, >=, ATTEMPTS);
    CHECK_EQ(tu_events_count(&rogue.log, ZMQ_EVENT_CONNECTED), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    tu_peer_close(&rogue);

    /* Control: the same burst from a trusted client arrives whole. */
    tu_peer_t good;
    tu_peer_open(&good, "good", ctx, ZMQ_DEALER, "client.pem", "client.key", "ca.pem");
    tu_set_str(good.sock, ZMQ_ROUTING_ID, "good");
    tu_peer_connect(&good, srv.endpoint);
    int good_queued = queue_burst(good.sock, "hello");
    CHECK_EQ(good_queued, BURST);
    for (int i = 0; i < BURST; i++) {
        char want[32];
        snprintf(want, sizeof want, "hello-%d", i);
        tu_msg_t m;
        CHECK_EQ(tu_recv_msg(srv.sock, &m, TU_TIMEOUT_MS), 0);
        CHECK_EQ(m.n, 2);
        CHECK(tu_msg_part_is(&m, 0, "good"));
        CHECK(tu_msg_part_is(&m, 1, want));
        tu_msg_close(&m);
    }
    tu_peer_close(&good);
    tu_peer_close(&srv);
    CHECK(zmq_ctx_term(ctx) == 0);
    printf("queued_before_auth: rogue queued %d, server refused %u attempts and "
           "received 0; trusted client's %d queued messages all delivered in order\n",
           queued, refused, good_queued);
    return 0;
}

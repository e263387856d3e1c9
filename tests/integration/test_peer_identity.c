/*
 * The application learns who it talks to: the certificate subject, SANs,
 * issuer and address of each authenticated peer, by routing id (ROUTER) or
 * by endpoint (connect side), for as long as the connection lasts.
 */
#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "check.h"
#include "testutil.h"
#include "zmtls.h"

/* Server ROUTER, two clients: one DEALER with an explicit routing id, one
 * REQ without; each request's routing id frame names its peer. */
static void test_router_lookup(void *ctx)
{
    void *router = tu_socket(ctx, ZMQ_ROUTER);
    tu_set_creds(router, "server.pem", "server.key", "ca.pem");
    char ep[TU_EP_MAX];
    tu_bind_ephemeral(router, "tls://127.0.0.1:*", ep);

    void *named = tu_socket(ctx, ZMQ_DEALER);
    tu_set_creds(named, "client.pem", "client.key", "ca.pem");
    CHECK_EQ(zmq_setsockopt(named, ZMQ_ROUTING_ID, "alice", 5), 0);
    CHECK_EQ(zmq_connect(named, ep), 0);
    void *anon = tu_socket(ctx, ZMQ_REQ);
    tu_set_creds(anon, "client.pem", "client.key", "ca.pem");
    CHECK_EQ(zmq_connect(anon, ep), 0);

    CHECK_EQ(zmq_send(named, "", 0, ZMQ_SNDMORE), 0);
    CHECK_EQ(zmq_send(named, "hi", 2, 0), 2);
    CHECK_EQ(zmq_send(anon, "hello", 5, 0), 5);

    int seen_named = 0, seen_anon = 0;
    for (int i = 0; i < 2; i++) {
        zmq_pollitem_t it = {router, 0, ZMQ_POLLIN, 0};
        CHECK_EQ(zmq_poll(&it, 1, TU_TIMEOUT_MS), 1);
        uint8_t rid[256];
        int rid_len = zmq_recv(router, rid, sizeof(rid), 0);
        CHECK(rid_len > 0);
        int more = 1;
        while (more) {
            char body[64];
            CHECK(zmq_recv(router, body, sizeof(body), 0) >= 0);
            more = tu_get_int(router, ZMQ_RCVMORE);
        }
        char subject[256], san[256], issuer[256], addr[64];
        CHECK(zmtls_peer_property(router, rid, (size_t)rid_len, "Subject", subject,
                                  sizeof(subject)) > 0);
        CHECK(zmtls_peer_property(router, rid, (size_t)rid_len, "SAN", san, sizeof(san)) >
              0);
        CHECK(zmtls_peer_property(router, rid, (size_t)rid_len, "Issuer", issuer,
                                  sizeof(issuer)) > 0);
        CHECK(zmtls_peer_property(router, rid, (size_t)rid_len, "Peer-Address", addr,
                                  sizeof(addr)) > 0);
        CHECK_STR(subject, "CN=client");
        CHECK_STR(san, "DNS:client");
        CHECK_STR(issuer, "CN=zmtls test CA");
        CHECK(strncmp(addr, "127.0.0.1:", 10) == 0);
        if (rid_len == 5 && memcmp(rid, "alice", 5) == 0)
            seen_named++;
        else
            seen_anon++;
        /* Truncation reports the full length, like snprintf. */
        char tiny[4];
        CHECK_EQ(zmtls_peer_property(router, rid, (size_t)rid_len, "Subject", tiny,
                                     sizeof(tiny)),
                 (int)strlen("CN=client"));
        CHECK_STR(tiny, "CN=");
    }
    CHECK_EQ(seen_named, 1);
    CHECK_EQ(seen_anon, 1);

    CHECK_EQ(zmtls_peer_property(router, "nobody", 6, "Subject", NULL, 0), -1);
    CHECK_EQ(errno, ENOENT);
    CHECK_EQ(zmtls_peer_property(router, "alice", 5, "Colour", NULL, 0), -1);
    CHECK_EQ(errno, EINVAL);
    printf("router lookup: both peers named by their routing id\n");

    /* The client side asks by endpoint: the server's certificate. */
    char subject[256], san[256];
    CHECK(zmtls_endpoint_peer_property(named, ep, "Subject", subject, sizeof(subject)) >
          0);
    CHECK_STR(subject, "CN=localhost");
    CHECK(zmtls_endpoint_peer_property(named, ep, "SAN", san, sizeof(san)) > 0);
    CHECK_STR(san, "DNS:localhost,IP:127.0.0.1,IP:::1");
    CHECK_EQ(zmtls_endpoint_peer_property(named, "tls://127.0.0.1:1", "Subject", NULL, 0),
             -1);
    CHECK_EQ(errno, ENOENT);

    /* Gone with the connection. */
    tu_events_t log;
    tu_events_init(&log);
    void *mon = tu_monitor(ctx, router, ZMQ_EVENT_DISCONNECTED);
    zmq_close(named);
    int value;
    CHECK_EQ(tu_expect_event(mon, &log, ZMQ_EVENT_DISCONNECTED, TU_TIMEOUT_MS, &value),
             0);
    CHECK_EQ(zmtls_peer_property(router, "alice", 5, "Subject", NULL, 0), -1);
    CHECK_EQ(errno, ENOENT);
    printf("endpoint lookup: server certificate seen by the client; record gone on "
           "disconnect\n");
    zmq_close(mon);
    zmq_close(anon);
    zmq_close(router);
}

int main(void)
{
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    test_router_lookup(ctx);
    void *s = tu_socket(ctx, ZMQ_REQ);
    CHECK_EQ(zmtls_peer_property(NULL, "x", 1, "Subject", NULL, 0), -1);
    CHECK_EQ(errno, ENOTSOCK);
    zmq_close(s);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return 0;
}

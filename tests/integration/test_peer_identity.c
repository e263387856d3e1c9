/*
 * The application learns who it talks to: the certificate subject, SANs,
 * issuer and address of each authenticated peer, by routing id (ROUTER) or
 * by endpoint (connect side), for as long as the connection lasts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "check.h"
#include "mint.h"
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

/* A property read whole: its full length first, then exactly that much. */
static char *prop(void *router, const void *rid, size_t rid_len, const char *name)
{
    int n = zmtls_peer_property(router, rid, rid_len, name, NULL, 0);
    CHECK(n >= 0);
    char *buf = malloc((size_t)n + 1);
    CHECK(buf != NULL);
    CHECK_EQ(zmtls_peer_property(router, rid, rid_len, name, buf, (size_t)n + 1), n);
    CHECK_EQ(strlen(buf), (size_t)n);
    return buf;
}

/* A certificate made for authorization: several SANs of every kind, one
 * SPIFFE ID, a subject of about 450 bytes. Each SAN entry on its own, the
 * SPIFFE ID as its own property, nothing cut short. */
static void test_identity_entries(void *ctx)
{
    static const char *const sans[] = {
        "DNS:web.example.org",   "DNS:*.svc.example.org",
        "IP:127.0.0.9",          "URI:spiffe://example.org/ns/prod/sa/web",
        "email:ops@example.org", "IP:2001:db8::7"};
    char san_conf[512] = "";
    for (size_t i = 0; i < sizeof sans / sizeof sans[0]; i++) {
        strcat(san_conf, i ? "," : "");
        strcat(san_conf, sans[i]);
    }
    char *cert, *key;
    tu_mint_named(0, 3600, san_conf, 8, &cert, &key);

    void *router = tu_socket(ctx, ZMQ_ROUTER);
    tu_set_creds(router, "server.pem", "server.key", "ca.pem");
    char ep[TU_EP_MAX];
    tu_bind_ephemeral(router, "tls://127.0.0.1:*", ep);
    void *dealer = tu_socket(ctx, ZMQ_DEALER);
    CHECK_EQ(zmq_setsockopt(dealer, ZMTLS_CERT_PEM, cert, strlen(cert)), 0);
    CHECK_EQ(zmq_setsockopt(dealer, ZMTLS_KEY_PEM, key, strlen(key)), 0);
    tu_set_str(dealer, ZMTLS_CA_FILE, tu_cert("ca.pem"));
    CHECK_EQ(zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "svc", 3), 0);
    CHECK_EQ(zmq_connect(dealer, ep), 0);
    CHECK_EQ(tu_send_str(dealer, "hi", 0), 2);
    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(router, &m, TU_TIMEOUT_MS), 0);
    tu_msg_close(&m);

    char *count = prop(router, "svc", 3, "SAN-Count");
    CHECK_EQ(atoi(count), (int)(sizeof sans / sizeof sans[0]));
    for (size_t i = 0; i < sizeof sans / sizeof sans[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "SAN.%zu", i);
        char *e = prop(router, "svc", 3, name);
        CHECK_STR(e, sans[i]);
        free(e);
    }
    char *joined = prop(router, "svc", 3, "SAN");
    CHECK_STR(joined, san_conf);
    char *spiffe = prop(router, "svc", 3, "SPIFFE-ID");
    CHECK_STR(spiffe, "spiffe://example.org/ns/prod/sa/web");
    char *subject = prop(router, "svc", 3, "Subject");
    printf("identity entries: %s SANs; SPIFFE-ID %s; subject of %zu bytes\n", count,
           spiffe, strlen(subject));
    CHECK(strlen(subject) > 400);
    CHECK(strstr(subject, "unit 07 of a subject") != NULL);
    CHECK(strstr(subject, "CN=short-lived client") != NULL);
    /* Past the last entry, or not a plain index: no such property. */
    CHECK_EQ(zmtls_peer_property(router, "svc", 3, "SAN.6", NULL, 0), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(zmtls_peer_property(router, "svc", 3, "SAN.01", NULL, 0), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(zmtls_peer_property(router, "svc", 3, "SAN.-1", NULL, 0), -1);
    CHECK_EQ(errno, EINVAL);
    free(count);
    free(joined);
    free(spiffe);
    free(subject);

    /* The test CA's own client certificate has no SPIFFE ID. */
    void *plain = tu_socket(ctx, ZMQ_DEALER);
    tu_set_creds(plain, "client.pem", "client.key", "ca.pem");
    CHECK_EQ(zmq_setsockopt(plain, ZMQ_ROUTING_ID, "plain", 5), 0);
    CHECK_EQ(zmq_connect(plain, ep), 0);
    CHECK_EQ(tu_send_str(plain, "hi", 0), 2);
    CHECK_EQ(tu_recv_msg(router, &m, TU_TIMEOUT_MS), 0);
    tu_msg_close(&m);
    CHECK_EQ(zmtls_peer_property(router, "plain", 5, "SPIFFE-ID", NULL, 0), 0);
    char *one = prop(router, "plain", 5, "SAN-Count");
    CHECK_STR(one, "1");
    free(one);

    tu_set_int(dealer, ZMQ_LINGER, 0);
    tu_set_int(plain, ZMQ_LINGER, 0);
    zmq_close(dealer);
    zmq_close(plain);
    zmq_close(router);
    free(cert);
    free(key);
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    test_router_lookup(ctx);
    test_identity_entries(ctx);
    void *s = tu_socket(ctx, ZMQ_REQ);
    CHECK_EQ(zmtls_peer_property(NULL, "x", 1, "Subject", NULL, 0), -1);
    CHECK_EQ(errno, ENOTSOCK);
    zmq_close(s);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return 0;
}

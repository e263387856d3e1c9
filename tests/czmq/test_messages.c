/*
 * CZMQ messaging over tls://: zstr, zmsg (multipart, empty and large
 * frames), zsock_send/zsock_recv pictures, zpoller readiness, and the
 * REQ/REP, DEALER/ROUTER and SUB/XPUB patterns built with CZMQ's
 * constructors.
 *
 * Credentials, both ways CZMQ programs can give them:
 *   - clients use the environment (ZMTLS_CERT/KEY/CA, set in main), which
 *     is the only way for zsock_new_req(">tls://...") and friends, since
 *     they connect inside the constructor;
 *   - servers need a different certificate in this one process, so they
 *     are made with zsock_new, given ZMTLS_CERT_FILE / ZMTLS_KEY_FILE
 *     through zmq_setsockopt(zsock_resolve(sock), ...), then bound.
 */
#include "czmq_support.h"

/* A server socket bound to tls://127.0.0.1:* with the server's identity
 * (CA from the environment); its endpoint goes to ep (TU_EP_MAX bytes). */
static zsock_t *server_new(int type, char *ep)
{
    zsock_t *s = zsock_new(type);
    CHECK(s != NULL);
    cz_set_creds(s, "server.pem", "server.key");
    CHECK_EQ(zsock_bind(s, "tls://127.0.0.1:*"), 0);
    cz_last_endpoint(s, ep);
    return s;
}

/* ">" + ep, the connect form of CZMQ's constructors. */
static const char *connect_spec(const char *ep)
{
    static char spec[TU_EP_MAX + 1];
    snprintf(spec, sizeof spec, ">%s", ep);
    return spec;
}

/* zmsg_recv bounded by zpoller, so a lost message fails the test with a
 * line number instead of blocking. */
static zmsg_t *recv_msg(zsock_t *sock)
{
    if (cz_wait_readable(sock, TU_TIMEOUT_MS) != 0) {
        fprintf(stderr, "no message within %d ms\n", TU_TIMEOUT_MS);
        exit(1);
    }
    zmsg_t *m = zmsg_recv(sock);
    CHECK(m != NULL);
    return m;
}

static void check_frame(zframe_t *f, const void *data, size_t len)
{
    CHECK(f != NULL);
    CHECK_EQ(zframe_size(f), len);
    CHECK(len == 0 || memcmp(zframe_data(f), data, len) == 0);
}

static void test_req_rep(void)
{
    char ep[TU_EP_MAX];
    zsock_t *rep = server_new(ZMQ_REP, ep);
    zsock_t *req = zsock_new_req(connect_spec(ep));
    CHECK(req != NULL);
    /* Bounded receives on both sides: zstr_recv returns NULL on timeout. */
    zsock_set_rcvtimeo(rep, TU_TIMEOUT_MS);
    zsock_set_rcvtimeo(req, TU_TIMEOUT_MS);

    /* zpoller: nothing to read yet, so the wait expires (a short window:
     * all it has to show is that an idle tls:// socket is not readable). */
    zpoller_t *poller = zpoller_new(rep, NULL);
    CHECK(poller != NULL);
    CHECK(zpoller_wait(poller, 100) == NULL);
    CHECK(zpoller_expired(poller));
    CHECK(!zpoller_terminated(poller));

    /* The request is queued before the handshake completes and delivered
     * after it; the poller wakes for it. */
    CHECK_EQ(zstr_send(req, "hello"), 0);
    CHECK(zpoller_wait(poller, TU_TIMEOUT_MS) == rep);
    CHECK(!zpoller_expired(poller));
    char *s = zstr_recv(rep);
    CHECK(s != NULL);
    CHECK_STR(s, "hello");
    zstr_free(&s);
    CHECK_EQ(zstr_send(rep, "world"), 0);
    s = zstr_recv(req);
    CHECK(s != NULL);
    CHECK_STR(s, "world");
    zstr_free(&s);

    /* zmsg multipart: a text frame, an empty frame, every byte value, and
     * 100000 bytes (several TLS records of at most 16 KiB). */
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)i;
    size_t big_len = 100000;
    unsigned char *big = malloc(big_len);
    CHECK(big != NULL);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (unsigned char)(i * 7 + 3);
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, "alpha");
    zmsg_addmem(m, NULL, 0);
    zmsg_addmem(m, bytes, sizeof bytes);
    zmsg_addmem(m, big, big_len);
    CHECK_EQ(zmsg_send(&m, req), 0);

    zmsg_t *got = recv_msg(rep);
    CHECK_EQ(zmsg_size(got), 4);
    check_frame(zmsg_first(got), "alpha", 5);
    check_frame(zmsg_next(got), NULL, 0);
    check_frame(zmsg_next(got), bytes, sizeof bytes);
    check_frame(zmsg_next(got), big, big_len);
    CHECK_EQ(zmsg_content_size(got), 5 + sizeof bytes + big_len);
    /* REP echoes the whole message back. */
    CHECK_EQ(zmsg_send(&got, rep), 0);
    zmsg_t *back = recv_msg(req);
    CHECK_EQ(zmsg_size(back), 4);
    check_frame(zmsg_first(back), "alpha", 5);
    check_frame(zmsg_next(back), NULL, 0);
    check_frame(zmsg_next(back), bytes, sizeof bytes);
    check_frame(zmsg_next(back), big, big_len);
    zmsg_destroy(&back);
    free(big);

    /* zsock_send / zsock_recv pictures and zstr_sendx / zstr_recvx. */
    const unsigned char blob[3] = {0, 0xff, 0x10};
    CHECK_EQ(zsock_send(req, "sib", "picture", 42, blob, sizeof blob), 0);
    char *text = NULL;
    int number = 0;
    unsigned char *data = NULL;
    size_t size = 0;
    CHECK(cz_wait_readable(rep, TU_TIMEOUT_MS) == 0);
    CHECK_EQ(zsock_recv(rep, "sib", &text, &number, &data, &size), 0);
    CHECK_STR(text, "picture");
    CHECK_EQ(number, 42);
    CHECK_EQ(size, sizeof blob);
    CHECK(memcmp(data, blob, sizeof blob) == 0);
    zstr_free(&text);
    free(data);
    CHECK_EQ(zstr_sendx(rep, "one", "two", "three", NULL), 0);
    char *a = NULL, *b = NULL, *c = NULL;
    CHECK_EQ(zstr_recvx(req, &a, &b, &c, NULL), 3);
    CHECK_STR(a, "one");
    CHECK_STR(b, "two");
    CHECK_STR(c, "three");
    zstr_free(&a);
    zstr_free(&b);
    zstr_free(&c);

    zpoller_destroy(&poller);
    zsock_destroy(&req);
    zsock_destroy(&rep);
    printf("REQ/REP: zstr, zmsg (4 frames, %zu bytes), picture, zstr_sendx ok\n",
           5 + sizeof bytes + big_len);
}

/* ROUTER sees the DEALER's routing id. The id is a handshake property, so
 * it must be set before connecting: zsock_new + zsock_set_identity +
 * zsock_connect, not zsock_new_dealer(">..."). */
static void test_dealer_router(void)
{
    char ep[TU_EP_MAX];
    zsock_t *router = server_new(ZMQ_ROUTER, ep);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    CHECK(dealer != NULL);
    zsock_set_identity(dealer, "dealer-1");
    CHECK_EQ(zsock_connect(dealer, "%s", ep), 0);

    /* Pipelined: the dealer sends everything before reading anything. */
    enum { N = 50 };
    for (int i = 0; i < N; i++)
        CHECK_EQ(zstr_sendf(dealer, "job %d", i), 0);
    for (int i = 0; i < N; i++) {
        zmsg_t *m = recv_msg(router);
        CHECK_EQ(zmsg_size(m), 2);
        char *id = zmsg_popstr(m);
        char *body = zmsg_popstr(m);
        CHECK_STR(id, "dealer-1");
        char want[32];
        snprintf(want, sizeof want, "job %d", i);
        CHECK_STR(body, want);
        /* Reply through the routing id frame. */
        CHECK_EQ(zstr_sendm(router, id), 0);
        CHECK_EQ(zstr_sendf(router, "done %d", i), 0);
        zstr_free(&id);
        zstr_free(&body);
        zmsg_destroy(&m);
    }
    for (int i = 0; i < N; i++) {
        zmsg_t *m = recv_msg(dealer);
        char *body = zmsg_popstr(m);
        char want[32];
        snprintf(want, sizeof want, "done %d", i);
        CHECK_STR(body, want);
        zstr_free(&body);
        zmsg_destroy(&m);
    }

    /* A DEALER made by the constructor works too; its id is generated. */
    zsock_t *anon = zsock_new_dealer(connect_spec(ep));
    CHECK(anon != NULL);
    CHECK_EQ(zstr_send(anon, "anonymous"), 0);
    zmsg_t *m = recv_msg(router);
    CHECK_EQ(zmsg_size(m), 2);
    zframe_t *id = zmsg_first(m);
    CHECK(zframe_size(id) > 0);
    CHECK(!zframe_streq(id, "dealer-1"));
    CHECK(zframe_streq(zmsg_next(m), "anonymous"));
    zmsg_destroy(&m);

    zsock_destroy(&anon);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
    printf("DEALER/ROUTER: %d pipelined requests, routing id \"dealer-1\" ok\n", N);
}

/* zsock_new_sub(">tls://...", "weather") connects then subscribes; XPUB
 * shows the subscription arriving, so publishing needs no guesswork about
 * when the subscriber is ready. */
static void test_sub_xpub(void)
{
    char ep[TU_EP_MAX];
    zsock_t *xpub = server_new(ZMQ_XPUB, ep);
    zsock_t *sub = zsock_new_sub(connect_spec(ep), "weather");
    CHECK(sub != NULL);

    zmsg_t *m = recv_msg(xpub);
    CHECK_EQ(zmsg_size(m), 1);
    check_frame(zmsg_first(m), "\x01weather", 8);
    zmsg_destroy(&m);

    CHECK_EQ(zstr_sendx(xpub, "news", "not for us", NULL), 0);
    CHECK_EQ(zstr_sendx(xpub, "weather", "sunny", NULL), 0);
    m = recv_msg(sub);
    CHECK_EQ(zmsg_size(m), 2);
    CHECK(zframe_streq(zmsg_first(m), "weather"));
    CHECK(zframe_streq(zmsg_next(m), "sunny"));
    zmsg_destroy(&m);
    /* Messages from one publisher arrive in order, so "news" would have
     * come first had it not been filtered; nothing else is pending. */
    CHECK(cz_wait_readable(sub, 0) != 0);

    zsock_destroy(&sub);
    zsock_destroy(&xpub);
    printf("SUB/XPUB: subscription seen, topic filter applied\n");
}

int main(void)
{
    tu_watchdog(TU_WATCHDOG_S);
    cz_env_creds("client.pem", "client.key", "ca.pem");
    cz_check_interposed();
    int64_t t0 = tu_now_ms();

    test_req_rep();
    test_dealer_router();
    test_sub_xpub();

    zsys_shutdown();
    printf("total %lld ms\n", (long long)(tu_now_ms() - t0));
    return 0;
}

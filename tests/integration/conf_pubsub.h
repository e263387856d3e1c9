/*
 * What the publish/subscribe conformance tests share (test_conf_pubsub.c,
 * test_conf_xpub.c): which side binds, a connected pair, publishing, and a
 * subscription message as an XSUB sends it. Static inline, as conf.h.
 */
#ifndef ZMTLS_CONF_PUBSUB_H
#define ZMTLS_CONF_PUBSUB_H

#include "conf.h"

enum { PUB_BINDS, SUB_BINDS };

static inline const char *dir_name(int dir)
{
    return dir == PUB_BINDS ? "pub binds" : "sub binds";
}

static inline void *new_ctx(void)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    return ctx;
}

/* Options set on both sockets before the connect (NULL: none). */
typedef void (*pre_fn)(void *pub, void *sub);

/* One publisher-side and one subscriber-side socket, connected in the
 * direction asked, both handshakes done. */
static inline void open_pair(void *ctx, const char *tr, int dir, int pub_type,
                             int sub_type, pre_fn pre, tu_peer_t *pub, tu_peer_t *sub)
{
    tu_peer_t *bound = dir == PUB_BINDS ? pub : sub;
    tu_peer_t *conn = dir == PUB_BINDS ? sub : pub;
    conf_peer_open(pub, "pub", ctx, pub_type, tr,
                   dir == PUB_BINDS ? CONF_SERVER : CONF_CLIENT);
    conf_peer_open(sub, "sub", ctx, sub_type, tr,
                   dir == PUB_BINDS ? CONF_CLIENT : CONF_SERVER);
    if (pre != NULL)
        pre(pub->sock, sub->sock);
    conf_peer_bind(bound, tr);
    tu_peer_connect(conn, bound->endpoint);
    TU_PEER_EXPECT(conn, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    TU_PEER_EXPECT(bound, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
}

static inline void publish(void *pub, const char *const msgs[], size_t n)
{
    for (size_t i = 0; i < n; i++)
        CHECK_EQ(tu_send_str(pub, msgs[i], 0), (int)strlen(msgs[i]));
}

/* A subscription message as an XSUB sends it: kind (1/0) then topic. */
static inline void send_sub_msg(void *xsub, int kind, const char *topic, int flags)
{
    char buf[64];
    size_t n = strlen(topic);
    CHECK(n + 1 < sizeof buf);
    buf[0] = (char)kind;
    memcpy(buf + 1, topic, n);
    CHECK_EQ(zmq_send(xsub, buf, n + 1, flags), (int)(n + 1));
}

#endif

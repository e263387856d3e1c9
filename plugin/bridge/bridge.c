/* The application-facing DEALER of one peer: see bridge.h. */
#include "bridge/bridge.h"

#include "real/real.h"

#include <errno.h>
#include <stdlib.h>

struct bridge {
    void *sock;
    int fd;
};

int bridge_carries_subscriptions(int app_type)
{
    return app_type == ZMQ_SUB || app_type == ZMQ_XSUB;
}

int bridge_new(bridge_t **out, const bridge_cfg_t *cfg)
{
    const zmtls_real_t *r = real();
    if (r == NULL)
        return -ENOSYS;
    bridge_t *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    int xpub = bridge_carries_subscriptions(cfg->app_type);
    b->sock = r->socket(cfg->ctx, xpub ? ZMQ_XPUB : ZMQ_DEALER);
    if (b->sock == NULL) {
        int err = errno;
        free(b);
        return -err;
    }
    /* HWM 1 on our side: inproc adds the two ends' limits, so the pipe keeps
     * the application's own SNDHWM/RCVHWM (plus one) and 0 stays unlimited
     * only when the application asked for it. */
    int one = 1, zero = 0;
    size_t fdlen = sizeof(b->fd);
    int rc = r->setsockopt(b->sock, ZMQ_LINGER, &zero, sizeof(zero));
    if (rc == 0)
        rc = r->setsockopt(b->sock, ZMQ_SNDHWM, &one, sizeof(one));
    if (rc == 0)
        rc = r->setsockopt(b->sock, ZMQ_RCVHWM, &one, sizeof(one));
    /* The publisher filtered already; the application's SUB filters again
     * by itself, an XSUB not at all. So this XPUB must pass every message
     * to its one pipe whatever was subscribed through it: manual mode
     * keeps its trie empty (and hands over every subscribe and cancel,
     * repeats included) and inverted matching sends to a pipe that matches
     * nothing. */
    if (rc == 0 && xpub)
        rc = r->setsockopt(b->sock, ZMQ_XPUB_MANUAL, &one, sizeof(one));
    if (rc == 0 && xpub)
        rc = r->setsockopt(b->sock, ZMQ_INVERT_MATCHING, &one, sizeof(one));
    /* A full application pipe must stop us reading the peer, as a tcp://
     * session stops its engine, not drop what the publisher sent (which
     * would break a publisher's ZMQ_XPUB_NODROP): -EAGAIN instead. */
    if (rc == 0 && xpub)
        rc = r->setsockopt(b->sock, ZMQ_XPUB_NODROP, &one, sizeof(one));
    /* ZMQ_CONFLATE belongs to the pipe, which the connecting end creates:
     * a bridge that connects must carry the application's choice. */
    if (rc == 0 && cfg->conflate)
        rc = r->setsockopt(b->sock, ZMQ_CONFLATE, &one, sizeof(one));
    if (rc == 0 && cfg->routing_id_len > 0)
        rc = r->setsockopt(b->sock, ZMQ_ROUTING_ID, cfg->routing_id, cfg->routing_id_len);
    if (rc == 0)
        rc = cfg->bind ? r->bind(b->sock, cfg->inproc) : r->connect(b->sock, cfg->inproc);
    if (rc == 0)
        rc = r->getsockopt(b->sock, ZMQ_FD, &b->fd, &fdlen);
    if (rc != 0) {
        int err = errno;
        r->close(b->sock);
        free(b);
        return -err;
    }
    *out = b;
    return 0;
}

void bridge_destroy(bridge_t **bp)
{
    bridge_t *b = *bp;
    if (b == NULL)
        return;
    *bp = NULL;
    const zmtls_real_t *r = real();
    if (r != NULL)
        r->close(b->sock);
    free(b);
}

int bridge_fd(const bridge_t *b)
{
    return b->fd;
}

int bridge_events(bridge_t *b)
{
    int ev = 0;
    size_t len = sizeof(ev);
    if (real()->getsockopt(b->sock, ZMQ_EVENTS, &ev, &len) != 0)
        return -errno;
    return ev;
}

int bridge_recv(bridge_t *b, zmq_msg_t *msg, int *more)
{
    if (zmq_msg_recv(msg, b->sock, ZMQ_DONTWAIT) < 0)
        return -errno;
    *more = zmq_msg_more(msg);
    return 0;
}

int bridge_send(bridge_t *b, zmq_msg_t *msg, int more)
{
    if (zmq_msg_send(msg, b->sock, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) < 0)
        return -errno;
    return 0;
}

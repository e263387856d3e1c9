/*
 * Bridge: the libzmq end of one tls:// peer inside the application's own
 * context.
 *
 * A bridge is a libzmq socket joined to the application socket over a
 * private inproc:// endpoint. inproc performs no socket-type check and a
 * DEALER passes multipart messages unchanged in both directions, so a DEALER
 * serves every application socket type but two: libzmq 4.3's SUB and XSUB
 * mark subscriptions with a message flag that only an XPUB can read, so they
 * get an XPUB bridge. It runs in manual mode with inverted matching: every
 * subscribe and cancel comes out as a "\x01topic" / "\x00topic" message,
 * and every message from the peer goes in unfiltered, since the publisher
 * at the other end filtered it for this pipe already (and a SUB filters
 * again by itself). Either way the application socket's own routing, load
 * balancing, fair queuing and filtering apply to bridges exactly as to
 * tcp:// pipes, and nothing filters twice. The peer's ZMTP Identity becomes
 * the bridge's routing id, which a ROUTER application sees.
 *
 *   connect side: one bridge per zmq_connect, bound at the inproc endpoint
 *                 the application connected to (its pipe, and messages
 *                 queued in it, survive reconnects like a tcp:// pipe);
 *   bind side:    one bridge per authenticated peer, connected to the
 *                 inproc endpoint the application bound.
 *
 * A bridge exists only once a peer has completed the handshake, so nothing
 * the application queued can reach an unauthenticated peer.
 *
 * Threading: created and used only on the I/O thread (libzmq sockets may
 * move between threads with a barrier; the command queue is one).
 * Errors: negative errno (-EAGAIN: would block; -ETERM: context ending).
 */
#ifndef ZMTLS_BRIDGE_H
#define ZMTLS_BRIDGE_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

typedef struct bridge bridge_t;

typedef struct bridge_cfg {
    void *ctx;                 /* the application's context */
    const char *inproc;        /* "inproc://zmtls-..." */
    const uint8_t *routing_id; /* peer's ZMTP Identity, may be empty */
    size_t routing_id_len;
    int bind;     /* 1: bind the endpoint, 0: connect to it */
    int app_type; /* the application socket's ZMQ_* type */
    int conflate; /* the application socket's ZMQ_CONFLATE */
} bridge_cfg_t;

/* 1 when bridges facing this application socket type carry subscriptions
 * (SUB, XSUB): what they deliver from the application is subscribe/cancel
 * messages, and their pipe must be told every subscription again after a
 * reconnect. */
int bridge_carries_subscriptions(int app_type);

int bridge_new(bridge_t **out, const bridge_cfg_t *cfg);
/* Closes the socket at once (linger 0). Messages it already handed to the
 * application stay deliverable (libzmq drains a pipe up to its end marker). */
void bridge_destroy(bridge_t **b);

/* The edge-triggered notification fd (ZMQ_FD): readable means "call
 * bridge_events", not "a message is waiting". */
int bridge_fd(const bridge_t *b);
/* ZMQ_POLLIN / ZMQ_POLLOUT as currently possible; negative errno on error.
 * Calling it processes the socket's pending commands and re-arms the edge
 * of bridge_fd. An XPUB bridge (bridge_carries_subscriptions) reports
 * ZMQ_POLLOUT even when bridge_send would say -EAGAIN (libzmq's XPUB
 * does): after a refused send, call bridge_events then try once more; if
 * that fails too, bridge_fd rises when the application makes room. */
int bridge_events(bridge_t *b);

/* Non-blocking receive of one part; *more set when another part follows. */
int bridge_recv(bridge_t *b, zmq_msg_t *msg, int *more);
/* Non-blocking send of one part (ownership passes on success); -EAGAIN
 * while the application's pipe is full, never a silent drop. Once the first
 * part of a message is accepted, libzmq accepts its remaining parts. */
int bridge_send(bridge_t *b, zmq_msg_t *msg, int more);

#endif

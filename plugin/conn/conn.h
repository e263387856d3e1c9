/*
 * Connection: one TCP socket carrying TLS 1.3 carrying ZMTP 3.1, from the
 * end of the TCP connect/accept to its close.
 *
 * Phases (conn.c holds them as a table):
 *
 *   TLS        the TLS handshake; a certificate refusal here is AUTH
 *   GREETING   ZMTP greeting exchange. The client sends nothing until the
 *              server's first record arrives: in TLS 1.3 that record is the
 *              proof that the server accepted the client certificate (a
 *              refusal arrives instead as an alert). A valid greeting
 *              signature there emits CONNECTED. The server sends its
 *              greeting as soon as its handshake (which verified the client)
 *              is done.
 *   READY      READY exchange and socket-type check; success emits
 *              HANDSHAKE_SUCCEEDED and asks the owner for a bridge
 *   TRAFFIC    frames <-> bridge messages, PING/PONG
 *
 * The handshake (TLS + ZMTP) is bounded by ZMQ_HANDSHAKE_IVL.
 *
 * Events the connection emits itself: CONNECTED (client), HANDSHAKE_*,
 * DISCONNECTED. DISCONNECTED follows only a connection that had emitted
 * CONNECTED (client) or HANDSHAKE_SUCCEEDED (server); an AUTH failure is
 * never followed by it.
 *
 * Threading: I/O thread only. Ownership: the conn owns its fd and TLS
 * state; a bridge is owned by the conn only when attached with own = 1.
 * The owner learns the end through `ended`, called exactly once, after
 * which it must conn_destroy() the connection (it may do so inside the
 * callback).
 */
#ifndef ZMTLS_CONN_H
#define ZMTLS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "bridge/bridge.h"
#include "bridge/subs.h"
#include "epcfg/epcfg.h"

/* The TLS phase's deadline when ZMQ_HANDSHAKE_IVL is 0 (libzmq's default
 * handshake interval); a connecter's SOCKS5 exchange has the same. */
#define CONN_TLS_DEADLINE_MS 30000

typedef struct conn conn_t;

typedef enum conn_end {
    CONN_END_AUTH,      /* certificate refused; value = TLS alert */
    CONN_END_PROTOCOL,  /* value = ZMQ_PROTOCOL_ERROR_* or TLS alert */
    CONN_END_NO_DETAIL, /* handshake died: value = errno */
    CONN_END_CLOSED,    /* an established connection ended */
    CONN_END_DRAINED,   /* conn_drain finished (or timed out) */
} conn_end_t;

typedef struct conn_owner {
    /* ZMTP handshake done: attach a bridge with conn_attach() and return 0,
     * or return a negative errno to close the connection. Must not destroy
     * the conn. */
    int (*established)(conn_t *c, void *arg);
    void (*ended)(conn_t *c, void *arg, conn_end_t why, uint32_t value);
    void *arg;
} conn_owner_t;

/* Takes `fd` (connected, non-blocking). The configuration and the TLS
 * context must outlive the conn. Returns 0 or a negative errno (fd closed
 * on failure too). */
int conn_new(conn_t **out, const ep_cfg_t *cfg, SSL_CTX *tls, int fd, int is_server,
             const conn_owner_t *owner);
void conn_destroy(conn_t **c);

/* Joins the conn to a bridge; traffic starts. own = 1: the conn destroys
 * the bridge with itself. subs (SUB/XSUB applications on the connect side,
 * else NULL): the subscriptions to tell the new peer first, kept up to date
 * with what the application subscribes from now on; borrowed. */
void conn_attach(conn_t *c, bridge_t *b, int own, bridge_subs_t *subs);
/* Detaches the bridge without destroying it. Returns 1 when a multipart
 * message from the bridge was cut mid-way (the caller must discard its
 * remaining parts before the next conn reads it). */
int conn_detach(conn_t *c);

/* Sends what the bridge still holds and what is buffered, then closes
 * (close_notify) and ends with CONN_END_DRAINED. Gives up at `deadline_ms`
 * on the loop clock (0: no deadline). Only meaningful once established;
 * otherwise ends at once. */
void conn_drain(conn_t *c, uint64_t deadline_ms);

/* Publishes the peer's certificate for zmtls_peer_property(), under the
 * routing id the application socket sees for it (the bridge's); withdrawn
 * when the conn is destroyed. Call after conn_attach. */
void conn_publish_peer(conn_t *c, const uint8_t *routing_id, size_t routing_id_len);

/* The peer's ZMTP Identity (valid after `established`). */
const uint8_t *conn_peer_identity(const conn_t *c, size_t *len);
int conn_fd(const conn_t *c);

#endif

/*
 * Endpoints: a connecter per tls:// zmq_connect, a listener per tls://
 * zmq_bind, kept in one list on the I/O thread.
 *
 * Two groups of functions:
 *  - commands, called by the shim on application threads: they queue work
 *    for the I/O thread (starting it on first use) and return at once,
 *    except the ones documented as synchronous, which wait for the I/O
 *    thread to finish them;
 *  - the interface between the list (ep.c) and the endpoint objects
 *    (connecter.c, listener.c), I/O thread only.
 *
 * Ownership: ep_connect / ep_bind take the configuration (and the listening
 * fd) whatever they return.
 */
#ifndef ZMTLS_EP_H
#define ZMTLS_EP_H

#include <stdint.h>
#include <openssl/ssl.h>

#include "conn/conn.h"
#include "epcfg/epcfg.h"
#include "io/io.h"
#include "tls/tls_src.h"

/* ---- commands (application threads) ------------------------------------ */

int ep_connect(ep_cfg_t *cfg);
int ep_bind(ep_cfg_t *cfg, int listen_fd);
/* Stops one endpoint (zmq_disconnect / zmq_unbind): its connections close
 * now, as libzmq's do. Synchronous. 0, or -ENOENT when the endpoint had
 * already ended by itself (a connect with ZMQ_RECONNECT_IVL -1 whose
 * connection ended), as libzmq then answers. */
int ep_close_endpoint(uint32_t ep_id);
/* Synchronous: for each of the n endpoint ids, ended[i] = 1 when it has
 * ended by itself (no longer on the I/O thread's list), else 0. */
void ep_ended(const uint32_t *ids, size_t n, unsigned char *ended);
/* The application closed the socket. Established connections first send
 * what the application had queued, for up to `linger` ms (-1: no limit),
 * then close. Synchronous for linger 0 (call before libzmq's close). */
void ep_socket_closed(uint32_t sock_id, int linger);
/* New credentials for the socket's endpoints (either may be NULL: keep).
 * Takes one reference of each, and each source (where the context came
 * from, watched for changes; NULL: the endpoints keep theirs). Resets the
 * auth backoff and retries at once an endpoint waiting on it. */
void ep_set_tls(uint32_t sock_id, SSL_CTX *client, SSL_CTX *server, tls_src_t *client_src,
                tls_src_t *server_src);

/* Credential files (tls/tls_src.h). The I/O thread checks every endpoint's
 * files each `ms` (0: never; the newest value set applies from the next
 * check) and, when one changed, builds a new context once per socket side
 * and hands it to the endpoints as ep_set_tls does; a file that cannot be
 * used leaves the context in use and is reported once on stderr
 * ("zmtls: reload of <files> failed: <reason>; keeping the previous
 * credentials"). Any thread. */
#define EP_RELOAD_IVL_DEFAULT 2000
void ep_reload_ivl_set(int ms);
/* Synchronous: rebuilds every endpoint's context from its files now,
 * changed or not. Returns how many socket sides failed (each reported as
 * above), with their "reload of <files> failed: <reason>" joined by "; "
 * in err. 0 when the I/O thread is not running (no endpoints). */
int ep_reload(char *err, size_t errlen);
/* The one line a failed reload writes on stderr (one write(2), so lines
 * never interleave). Any thread. */
void ep_reload_report(const char *files, const char *reason);
/* Synchronous: closes every zmtls endpoint and monitor of the context so
 * libzmq's zmq_ctx_term can finish; stops the I/O thread when nothing is
 * left anywhere. */
void ep_ctx_term(void *ctx);

/* ---- endpoint objects (I/O thread only) -------------------------------- */

/* close(): how the endpoint should end */
#define EP_CLOSE_NOW (-2) /* disconnect/unbind/context end: drop everything */
/* any linger >= -1: the application closed its socket; flush established
 * connections for up to linger ms (-1 no limit), then end */

typedef struct ep ep_t;

typedef struct ep_ops {
    void (*close)(ep_t *ep, int linger);
    /* New credentials (takes the reference): later handshakes use them. */
    void (*set_tls)(ep_t *ep, SSL_CTX *tls);
    /* 1 when a pipe of this endpoint goes by routing id `id` while no
     * connection of it is listed in the peers table (a connect's bridge
     * between connections); NULL: never. */
    int (*holds_id)(const ep_t *ep, const uint8_t *id, size_t len);
} ep_ops_t;

struct ep {
    const ep_ops_t *ops;
    ep_cfg_t *cfg;
    ep_t *next;
    int closing;
    int reload_seen; /* ep.c: the current file check has dealt with it */
};

/* The endpoint has finished closing and freed its connections; ep.c
 * unlinks it. The endpoint frees itself right after this call. */
void ep_gone(ep_t *ep);

/* The identity a peer's pipe gets: what it announced, or for a ROUTER
 * application without one a generated id, written to gen: libzmq's shape
 * (io_routing_id), and none that another tls:// peer of the same socket
 * goes by, announced or generated, so the ROUTER never meets a duplicate
 * of ours. (Ids libzmq generates itself for the socket's other transports
 * come from its own counter, which zmtls cannot see.) */
typedef struct ep_peer_id {
    const uint8_t *id;
    size_t len;
    uint8_t gen[IO_ROUTING_ID_LEN];
} ep_peer_id_t;
void ep_peer_id(const conn_t *c, const ep_cfg_t *cfg, ep_peer_id_t *out);

/* Gives an established connection a pipe of its own into the application
 * socket, made now, and lists its peer. 0 or -errno. */
int ep_attach_own_bridge(conn_t *c, const ep_cfg_t *cfg, const ep_peer_id_t *pid);

/* Constructors: take cfg (and fd) whatever they return. */
int ep_connecter_start(ep_cfg_t *cfg, ep_t **out);
int ep_listener_start(ep_cfg_t *cfg, int fd, ep_t **out);

#endif

/*
 * Registry of the application's libzmq sockets, keyed by handle: which
 * context and type each has, its zmtls options and its tls:// endpoints.
 *
 * Threading: the table is locked inside; an entry itself belongs to its
 * socket and, like the socket, is used by one application thread at a time.
 * libzmq itself calls zmq_socket/zmq_close through our interposers for its
 * monitor sockets (also from its reaper thread), so these functions never
 * call into libzmq and never hold the lock across anything else.
 */
#ifndef ZMTLS_REGISTRY_H
#define ZMTLS_REGISTRY_H

#include <stdint.h>
#include <openssl/ssl.h>

#include "epcfg/epcfg.h"
#include "io/thread_opts.h"
#include "policy/accept_filter.h"
#include "shim/options.h"

typedef struct shim_ep {
    uint32_t ep_id;
    int is_bind;
    int app_bound;           /* the application socket bound (not connected) its inproc */
    char uri[EPCFG_URI_MAX]; /* as the application wrote it */
    char resolved[EPCFG_URI_MAX]; /* bind: with the real address and port */
    char inproc[EPCFG_INPROC_MAX];
    struct shim_ep *next;
} shim_ep_t;

typedef struct shim_sock {
    void *handle;
    void *ctx;
    int type;
    uint32_t id;
    shim_opts_t opts;
    shim_ep_t *eps;
    int last_is_tls;
    char last_endpoint[EPCFG_URI_MAX];
    int monitored;
    unsigned zmq_noted;  /* set-only libzmq options seen (shim/zmq_opts.c) */
    SSL_CTX *client_tls; /* built on first use, dropped on new credentials */
    SSL_CTX *server_tls;
    tls_src_t *client_src; /* where each came from */
    tls_src_t *server_src;
    /* shim_reload_gen when each cached context was last checked: a
     * zmtls_reload() since makes the next connect / bind rebuild it */
    unsigned client_gen, server_gen;
    /* ZMQ_TCP_ACCEPT_FILTER as libzmq accepted it, for tls:// binds; a
     * non-zero accept_err (an errno) means an entry libzmq took could not
     * be copied, and tls:// binds fail until the list is cleared */
    policy_accept_list_t accept;
    int accept_err;
    struct shim_sock *hnext;
} shim_sock_t;

/* Adds an entry; NULL without memory (the socket then works without tls://
 * and zmtls options fail with ENOMEM). */
shim_sock_t *shim_registry_add(void *handle, void *ctx, int type);
shim_sock_t *shim_registry_get(void *handle);
/* Removes and returns the entry (the caller frees it with shim_registry_free). */
shim_sock_t *shim_registry_take(void *handle);
void shim_registry_free(shim_sock_t *s);

/* Contexts: the application's ZMQ_MAX_SOCKETS, enforced on its own sockets.
 * zmtls's bridges live in the same context but must not count against the
 * limit the application sized for its own sockets, so libzmq is given the
 * application's limit plus a reserve and the shim enforces the
 * application's. As in libzmq, the limit in force is the one set before the
 * context's first socket. */
#define REGISTRY_DEFAULT_MAX_SOCKETS 1023
/* The context's ZMQ_THREAD_* options as accepted by libzmq, for zmtls's
 * I/O thread (io/thread_opts.h). Unknown contexts: the defaults. */
void shim_registry_ctx_thread_set(void *ctx, int option, int value);
void shim_registry_ctx_thread_get(void *ctx, io_thread_opts_t *out);
void shim_registry_ctx_add(void *ctx);
void shim_registry_ctx_remove(void *ctx);
/* Records the application's limit; 0, or -EINVAL for a value < 1. */
int shim_registry_ctx_set_max(void *ctx, int max);
/* The application's limit; REGISTRY_DEFAULT_MAX_SOCKETS for unknown ctxs. */
int shim_registry_ctx_get_max(void *ctx);
/* Counts a new application socket: 0, or -EMFILE at the limit. */
int shim_registry_ctx_socket_open(void *ctx);
void shim_registry_ctx_socket_closed(void *ctx);

/* ZAP handlers. libzmq puts a peer to ZAP only when a socket of the
 * context is bound to inproc://zeromq.zap.01 at the time of the handshake
 * (its endpoint table; a connect to an unbound inproc endpoint would
 * succeed and wait). The shim sees every bind, unbind and close, so it
 * keeps the same fact per context: bound notes the handler socket, gone
 * forgets it if it is that socket, present asks (any thread, the I/O
 * thread included). Unknown contexts have no handler. */
void shim_registry_ctx_zap_bound(void *ctx, void *sock);
void shim_registry_ctx_zap_gone(void *ctx, void *sock);
/* Present is also 1 for a context the registry could not record, and for
 * every context once a socket it could not record bound a handler
 * (shim_registry_zap_bound_untracked): then the handler is asked, and a
 * missing one fails the handshake rather than admitting everybody. */
int shim_registry_ctx_zap_present(void *ctx);
void shim_registry_zap_bound_untracked(void);

/* A process-unique id for endpoints and sockets. */
uint32_t shim_registry_next_id(void);

#endif

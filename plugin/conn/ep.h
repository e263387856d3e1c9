/*
 * Endpoint objects on the I/O thread: a connecter per tls:// zmq_connect, a
 * listener per tls:// zmq_bind. io.c keeps them in one list and drives them
 * through this small interface.
 *
 * Threading: I/O thread only.
 */
#ifndef ZMTLS_EP_H
#define ZMTLS_EP_H

#include <openssl/ssl.h>

#include "conn/epcfg.h"

/* close(): how the endpoint should end */
#define EP_CLOSE_NOW (-2) /* disconnect/unbind/context end: drop everything */
/* any linger >= -1: the application closed its socket; flush established
 * connections for up to linger ms (-1 no limit), then end */

typedef struct io_ep io_ep_t;

typedef struct io_ep_ops {
    void (*close)(io_ep_t *ep, int linger);
    /* New credentials (takes the reference): later handshakes use them. */
    void (*set_tls)(io_ep_t *ep, SSL_CTX *tls);
} io_ep_ops_t;

struct io_ep {
    const io_ep_ops_t *ops;
    ep_cfg_t *cfg;
    io_ep_t *next;
    int closing;
};

/* The endpoint has finished closing and freed its connections; io.c
 * unlinks it. The endpoint frees itself right after this call. */
void io_ep_gone(io_ep_t *ep);

/* Constructors: take cfg (and fd) whatever they return. */
int connecter_start(ep_cfg_t *cfg, io_ep_t **out);
int listener_start(ep_cfg_t *cfg, int fd, io_ep_t **out);

#endif

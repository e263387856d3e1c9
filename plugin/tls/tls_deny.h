/*
 * A ZMTLS_ALLOW refusal sent as access_denied (49) inside the handshake,
 * between zmtls peers (the mechanism is described in tls_deny.c). Inside
 * plugin/tls/ only.
 *
 * Threading: tls_deny_enable while the context is being built, before any
 * connection uses it; the callbacks run inside the connection's handshake,
 * on whatever thread drives it.
 */
#ifndef ZMTLS_TLS_DENY_H
#define ZMTLS_TLS_DENY_H

#include <errno.h>
#include <openssl/ssl.h>

#include "tls/tls_conn_int.h"

/* Registers the extension on a context (client and server alike: the side
 * that is not restricting must still echo it). 0 or -ENOMEM. */
int tls_deny_enable(SSL_CTX *ctx);

/* Drops the peer chain kept during the handshake; idempotent. */
void tls_deny_release(tls_conn_t *c);

#endif

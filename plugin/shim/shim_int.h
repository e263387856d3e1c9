/*
 * What the two halves of the shim share: shim.c (contexts, sockets,
 * options, monitors) and shim_ep.c (tls:// endpoints). Not for use outside
 * shim/.
 */
#ifndef ZMTLS_SHIM_INT_H
#define ZMTLS_SHIM_INT_H

#include <errno.h>
#include <stdatomic.h>

#include "real/real.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

/* Every tls:// peer is a bridge socket in the application's context, so
 * libzmq is told to allow this many sockets beyond the application's own
 * ZMQ_MAX_SOCKETS, which the shim enforces itself (registry.h). */
#define SHIM_BRIDGE_RESERVE 16384

#define SHIM_PRIVATE_PREFIX "inproc://zmtls-"

/* Counts zmtls_reload() calls: a socket's cached contexts older than the
 * last call are rebuilt at its next connect / bind (shim_ep.c). */
extern atomic_uint shim_reload_gen;

struct ep_cfg;
/* shim_socks.c: ZMQ_SOCKS_PROXY and its credentials into a connect's
 * configuration. 0, or -1 with zmtls_last_error set (EINVAL: a proxy
 * address that is not HOST:PORT, a destination SOCKS5 cannot name). */
int shim_socks_snapshot(void *s, struct ep_cfg *cfg);

/* shim_addr.c: addresses resolved on the caller's thread. Both return 0
 * (shim_listen: the listening fd) or -1 with zmtls_last_error set.
 * shim_source_addr: the source of a connect (tls://SRC;HOST:PORT) into
 * cfg->src_addr; a literal destination of the other family is refused.
 * shim_listen: the bind's listening socket (ZMQ_USE_FD's, or a new one),
 * the resolved endpoint written to cfg->uri. */
int shim_source_addr(struct ep_cfg *cfg);
int shim_listen(struct ep_cfg *cfg);

#define REAL_OR_FAIL(r, failval)                                                         \
    const zmtls_real_t *r = real();                                                      \
    if (r == NULL) {                                                                     \
        errno = ENOSYS;                                                                  \
        return failval;                                                                  \
    }

#endif

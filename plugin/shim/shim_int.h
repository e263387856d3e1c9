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

#define REAL_OR_FAIL(r, failval)                                                         \
    const zmtls_real_t *r = real();                                                      \
    if (r == NULL) {                                                                     \
        errno = ENOSYS;                                                                  \
        return failval;                                                                  \
    }

#endif

/*
 * libzmq options a tls:// endpoint cannot honour, refused at its
 * zmq_connect / zmq_bind (docs/zmq_tls.7.md, "libzmq options", lists every
 * option and what tls:// does with it).
 *
 * Threading: as the socket's registry entry (registry.h): one application
 * thread at a time, the one using the socket.
 */
#ifndef ZMTLS_SHIM_ZMQ_OPTS_H
#define ZMTLS_SHIM_ZMQ_OPTS_H

#include <stddef.h>

#include "shim/registry.h"

/* Remembers the options libzmq accepts but cannot report back (set-only)
 * whose value decides a refusal: ZMQ_ROUTER_RAW, ZMQ_METADATA. Call after
 * libzmq accepted the option; other options and unknown sockets are
 * ignored. Never calls libzmq. */
void shim_zmq_opts_note(void *s, int option, const void *val, size_t len);

/* 0 when the socket's libzmq options can go over a tls:// connect
 * (is_bind 0) or bind, else -1 with errno and zmtls_last_error() set:
 * EINVAL for a ZMTP security mechanism (ZMQ_PLAIN_*, ZMQ_CURVE_*,
 * ZMQ_GSSAPI_*), ZMQ_METADATA, or (connect) ZMQ_RECONNECT_STOP;
 * ENOCOMPATPROTO for ZMQ_ROUTER_RAW. Calls libzmq's getsockopt. */
int shim_zmq_opts_check(const shim_sock_t *e, void *s, int is_bind);

#endif

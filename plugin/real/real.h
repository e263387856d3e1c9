/*
 * The real libzmq entry points that the shim interposes.
 *
 * Inside libzmtls every call to an interposed function (zmq_socket,
 * zmq_close, zmq_bind, ...) must go through these pointers: a direct call
 * would land in our own interposer. Functions we do not interpose
 * (zmq_msg_* but zmq_msg_get, zmq_poll, ...) are called directly.
 *
 * Where they come from: the first definition after libzmtls in the scope it
 * was loaded in (dlsym RTLD_NEXT), else the real libzmq opened by the
 * absolute path fixed at build time (ZMTLS_REAL_LIBZMQ). Never from the name
 * libzmq.so.5, which may be zmtls's compatibility library, and never from
 * libzmtls itself.
 *
 * Threading: real() may be called from any thread; resolution happens once.
 */
#ifndef ZMTLS_REAL_H
#define ZMTLS_REAL_H

/* Draft options of libzmq 4.3 that Debian's libzmq accepts; its zmq.h
 * declares them only under ZMQ_BUILD_DRAFT_API. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#include <stddef.h>

typedef struct zmtls_real {
    void *(*ctx_new)(void);
    int (*ctx_term)(void *ctx);
    int (*ctx_shutdown)(void *ctx);
    int (*ctx_destroy)(void *ctx);
    void *(*init)(int io_threads);
    int (*term)(void *ctx);
    void *(*socket)(void *ctx, int type);
    int (*close)(void *s);
    int (*connect)(void *s, const char *addr);
    int (*bind)(void *s, const char *addr);
    int (*disconnect)(void *s, const char *addr);
    int (*unbind)(void *s, const char *addr);
    int (*setsockopt)(void *s, int opt, const void *val, size_t len);
    int (*getsockopt)(void *s, int opt, void *val, size_t *len);
    int (*socket_monitor)(void *s, const char *addr, int events);
    int (*ctx_set)(void *ctx, int option, int value);
    int (*ctx_get)(void *ctx, int option);
    int (*msg_get)(const void *msg, int property);
} zmtls_real_t;

/* The resolved table, or NULL when libzmq cannot be found (said once on
 * stderr; the interposers then fail with ENOSYS rather than crash). */
const zmtls_real_t *real(void);

#endif

/* Resolves libzmq's own entry points behind our interposers. */
#include "real/real.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

/* Absolute path of the real libzmq, from the build (compat/CMakeLists.txt). */
#ifndef ZMTLS_REAL_LIBZMQ
#error "ZMTLS_REAL_LIBZMQ must name the real libzmq by absolute path"
#endif

static zmtls_real_t real_table;
static int real_ok;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

/* The load address of the object that holds addr, NULL if none does. */
static void *real_object_of(const void *addr)
{
    Dl_info info;
    if (addr == NULL || dladdr(addr, &info) == 0)
        return NULL;
    return info.dli_fbase;
}

/* The name libzmq.so.5 does not necessarily mean libzmq: zmtls's
 * compatibility library carries that soname, and a symlink named so may
 * point at libzmtls itself. A definition is taken only from an object other
 * than ours (our own would recurse forever), and the real libzmq is opened
 * by its path, never by that name.
 *
 * RTLD_NEXT first: it finds libzmq when it follows us in the scope we were
 * loaded in (linked -lzmtls -lzmq, LD_PRELOAD, the compatibility library's
 * dependency list, pyzmq's local scope through our own DT_NEEDED). The
 * handle on the real file is for loads where libzmq is outside that scope;
 * it is opened RTLD_LOCAL, since making libzmq global would let objects
 * loaded later bind to it ahead of us. */
static void *real_lookup(void *self, void **handle, const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (p != NULL && real_object_of(p) != self)
        return p;
    if (*handle == NULL)
        *handle = dlopen(ZMTLS_REAL_LIBZMQ, RTLD_NOW | RTLD_LOCAL);
    if (*handle == NULL)
        return NULL;
    p = dlsym(*handle, name);
    return real_object_of(p) != self ? p : NULL;
}

static void real_resolve(void)
{
    void *self = real_object_of(&real_table);
    void *handle = NULL;
    const char *missing = NULL;
#define REAL(field, sym)                                                                 \
    do {                                                                                 \
        *(void **)&real_table.field = real_lookup(self, &handle, sym);                   \
        if (real_table.field == NULL && missing == NULL)                                 \
            missing = sym;                                                               \
    } while (0)
    REAL(ctx_new, "zmq_ctx_new");
    REAL(ctx_term, "zmq_ctx_term");
    REAL(ctx_shutdown, "zmq_ctx_shutdown");
    REAL(ctx_destroy, "zmq_ctx_destroy");
    REAL(init, "zmq_init");
    REAL(term, "zmq_term");
    REAL(socket, "zmq_socket");
    REAL(close, "zmq_close");
    REAL(connect, "zmq_connect");
    REAL(bind, "zmq_bind");
    REAL(disconnect, "zmq_disconnect");
    REAL(unbind, "zmq_unbind");
    REAL(setsockopt, "zmq_setsockopt");
    REAL(getsockopt, "zmq_getsockopt");
    REAL(socket_monitor, "zmq_socket_monitor");
    REAL(ctx_set, "zmq_ctx_set");
    REAL(ctx_get, "zmq_ctx_get");
    REAL(msg_get, "zmq_msg_get");
#undef REAL
    if (missing != NULL)
        fprintf(stderr,
                "zmtls: cannot find libzmq's %s (neither after libzmtls nor in %s)\n",
                missing, ZMTLS_REAL_LIBZMQ);
    real_ok = missing == NULL;
}

const zmtls_real_t *real(void)
{
    pthread_once(&real_once, real_resolve);
    return real_ok ? &real_table : NULL;
}

/* Resolves libzmq's own entry points behind our interposers. */
#include "real/real.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static zmtls_real_t real_table;
static int real_ok;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

/* RTLD_NEXT finds libzmq when it follows us in the search order (linked
 * -lzmtls -lzmq, or LD_PRELOAD). A handle on libzmq.so.5 is the fallback for
 * odd load orders; we are linked against it, so it is already loaded. */
static void *real_lookup(void *handle, const char *name)
{
    void *self = dlsym(RTLD_DEFAULT, name);
    void *p = dlsym(RTLD_NEXT, name);
    if (p != NULL && p != self)
        return p;
    if (handle != NULL)
        return dlsym(handle, name);
    return p;
}

static void real_resolve(void)
{
    void *h = dlopen("libzmq.so.5", RTLD_NOW | RTLD_NOLOAD);
    if (h == NULL)
        h = dlopen("libzmq.so.5", RTLD_NOW);
    int ok = 1;
#define REAL(field, sym)                                                                 \
    do {                                                                                 \
        *(void **)&real_table.field = real_lookup(h, sym);                               \
        ok = ok && real_table.field != NULL;                                             \
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
    if (!ok)
        fprintf(stderr, "zmtls: cannot find libzmq's entry points: %s\n", dlerror());
    real_ok = ok;
}

const zmtls_real_t *real(void)
{
    pthread_once(&real_once, real_resolve);
    return real_ok ? &real_table : NULL;
}

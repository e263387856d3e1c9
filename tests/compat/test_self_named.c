/*
 * A library named libzmq.so.5 that is libzmtls itself (a symlink, first on
 * the library path): libzmtls's own dependency on libzmq.so.5 then names
 * itself and the real libzmq is nowhere in its scope. Resolving the real
 * entry points by that name would find the interposers again and recurse
 * until the stack ran out; zmtls must open the real libzmq by its path
 * instead. Only interposed functions are used, since nothing else is
 * defined under that name here: a context, a socket, a tcp:// bind whose
 * endpoint reads back, and a clean termination.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "check.h"

int main(void)
{
    alarm(60); /* a hang fails (SIGALRM) instead of waiting for ctest */
    void *h = dlopen("libzmq.so.5", RTLD_LAZY | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "dlopen libzmq.so.5: %s\n", dlerror());
        return 1;
    }
    /* The premise: the handle is libzmtls, and no real libzmq came with it. */
    CHECK(dlsym(h, "zmtls_last_error") != NULL);
    CHECK(dlsym(h, "zmq_msg_init") == NULL);

    void *(*ctx_new)(void);
    int (*ctx_term)(void *);
    void *(*socket)(void *, int);
    int (*close)(void *);
    int (*bind)(void *, const char *);
    int (*getsockopt)(void *, int, void *, size_t *);
    *(void **)&ctx_new = dlsym(h, "zmq_ctx_new");
    *(void **)&ctx_term = dlsym(h, "zmq_ctx_term");
    *(void **)&socket = dlsym(h, "zmq_socket");
    *(void **)&close = dlsym(h, "zmq_close");
    *(void **)&bind = dlsym(h, "zmq_bind");
    *(void **)&getsockopt = dlsym(h, "zmq_getsockopt");
    CHECK(ctx_new && ctx_term && socket && close && bind && getsockopt);

    void *ctx = ctx_new();
    CHECK(ctx != NULL);
    void *s = socket(ctx, ZMQ_PULL);
    CHECK(s != NULL);
    CHECK_EQ(bind(s, "tcp://127.0.0.1:*"), 0);
    char endpoint[256];
    size_t len = sizeof endpoint;
    CHECK_EQ(getsockopt(s, ZMQ_LAST_ENDPOINT, endpoint, &len), 0);
    CHECK(strncmp(endpoint, "tcp://127.0.0.1:", 16) == 0);
    CHECK_EQ(close(s), 0);
    CHECK_EQ(ctx_term(ctx), 0);
    printf("compat.self_named: real libzmq found by path, bound %s\n", endpoint);
    return 0;
}

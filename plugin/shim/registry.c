/* Socket registry: see registry.h. */
#include "shim/registry.h"

#include "io/io.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define REG_BUCKETS 4096

static shim_sock_t *reg_table[REG_BUCKETS];
static io_shared_lock_t reg_lock = IO_SHARED_LOCK_INIT;
static atomic_uint reg_ids = 1;

static size_t reg_hash(const void *handle)
{
    uintptr_t h = (uintptr_t)handle;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 20) % REG_BUCKETS;
}

typedef struct reg_ctx {
    void *ctx;
    int max;       /* as the application set it */
    int effective; /* fixed at the first socket, as libzmq's */
    int started;
    int count;
    io_thread_opts_t thread;
    void *zap_handler; /* the socket bound to inproc://zeromq.zap.01 */
    struct reg_ctx *next;
} reg_ctx_t;

static reg_ctx_t *reg_ctxs;

static reg_ctx_t *reg_ctx_find(void *ctx)
{
    for (reg_ctx_t *c = reg_ctxs; c != NULL; c = c->next)
        if (c->ctx == ctx)
            return c;
    return NULL;
}

void shim_registry_ctx_add(void *ctx)
{
    reg_ctx_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return; /* the context then simply has no application-side limit */
    c->ctx = ctx;
    c->max = REGISTRY_DEFAULT_MAX_SOCKETS;
    io_thread_opts_init(&c->thread);
    io_shared_lock(&reg_lock);
    c->next = reg_ctxs;
    reg_ctxs = c;
    io_shared_unlock(&reg_lock);
}

void shim_registry_ctx_remove(void *ctx)
{
    io_shared_lock(&reg_lock);
    for (reg_ctx_t **pp = &reg_ctxs; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->ctx == ctx) {
            reg_ctx_t *c = *pp;
            *pp = c->next;
            free(c);
            break;
        }
    }
    io_shared_unlock(&reg_lock);
}

int shim_registry_ctx_set_max(void *ctx, int max)
{
    if (max < 1)
        return -EINVAL;
    io_shared_lock(&reg_lock);
    reg_ctx_t *c = reg_ctx_find(ctx);
    if (c != NULL)
        c->max = max;
    io_shared_unlock(&reg_lock);
    return 0;
}

int shim_registry_ctx_get_max(void *ctx)
{
    io_shared_lock(&reg_lock);
    reg_ctx_t *c = reg_ctx_find(ctx);
    int max = c != NULL ? c->max : REGISTRY_DEFAULT_MAX_SOCKETS;
    io_shared_unlock(&reg_lock);
    return max;
}

void shim_registry_ctx_thread_set(void *ctx, int option, int value)
{
    io_shared_lock(&reg_lock);
    reg_ctx_t *c = reg_ctx_find(ctx);
    if (c != NULL)
        io_thread_opts_set(&c->thread, option, value);
    io_shared_unlock(&reg_lock);
}

void shim_registry_ctx_thread_get(void *ctx, io_thread_opts_t *out)
{
    io_shared_lock(&reg_lock);
    reg_ctx_t *c = reg_ctx_find(ctx);
    if (c != NULL)
        *out = c->thread;
    else
        io_thread_opts_init(out);
    io_shared_unlock(&reg_lock);
}

void shim_registry_ctx_zap_bound(void *ctx, void *sock)
{
    io_shared_lock(&reg_lock);
    reg_ctx_t *c = reg_ctx_find(ctx);
    if (c != NULL)
        c->zap_handler = sock;
    io_shared_unlock(&reg_lock);
}

void shim_registry_ctx_zap_gone(void *ctx, void *sock)
{
    io_shared_lock(&reg_lock);
    reg_ctx_t *c = reg_ctx_find(ctx);
    if (c != NULL && c->zap_handler == sock)
        c->zap_handler = NULL;
    io_shared_unlock(&reg_lock);
}

/* A handler bound by a socket the registry could not record (no memory):
 * which context it serves is unknown, so every context may have one. */
static int reg_zap_unknown;

void shim_registry_zap_bound_untracked(void)
{
    io_shared_lock(&reg_lock);
    reg_zap_unknown = 1;
    io_shared_unlock(&reg_lock);
}

int shim_registry_ctx_zap_present(void *ctx)
{
    io_shared_lock(&reg_lock);
    reg_ctx_t *c = reg_ctx_find(ctx);
    /* When in doubt, ask: a request with no handler times out (refused),
     * where a wrong "no handler" would admit a client ZAP would refuse. */
    int present = c == NULL || c->zap_handler != NULL || reg_zap_unknown;
    io_shared_unlock(&reg_lock);
    return present;
}

int shim_registry_ctx_socket_open(void *ctx)
{
    int rc = 0;
    io_shared_lock(&reg_lock);
    reg_ctx_t *c = reg_ctx_find(ctx);
    if (c != NULL) {
        if (!c->started) {
            c->started = 1;
            c->effective = c->max;
        }
        if (c->count >= c->effective)
            rc = -EMFILE;
        else
            c->count++;
    }
    io_shared_unlock(&reg_lock);
    return rc;
}

void shim_registry_ctx_socket_closed(void *ctx)
{
    io_shared_lock(&reg_lock);
    reg_ctx_t *c = reg_ctx_find(ctx);
    if (c != NULL && c->count > 0)
        c->count--;
    io_shared_unlock(&reg_lock);
}

uint32_t shim_registry_next_id(void)
{
    return atomic_fetch_add(&reg_ids, 1);
}

shim_sock_t *shim_registry_add(void *handle, void *ctx, int type)
{
    shim_sock_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->handle = handle;
    s->ctx = ctx;
    s->type = type;
    s->id = shim_registry_next_id();
    shim_opts_init(&s->opts);
    size_t b = reg_hash(handle);
    io_shared_lock(&reg_lock);
    s->hnext = reg_table[b];
    reg_table[b] = s;
    io_shared_unlock(&reg_lock);
    return s;
}

shim_sock_t *shim_registry_get(void *handle)
{
    size_t b = reg_hash(handle);
    io_shared_lock(&reg_lock);
    shim_sock_t *s = reg_table[b];
    while (s != NULL && s->handle != handle)
        s = s->hnext;
    io_shared_unlock(&reg_lock);
    return s;
}

shim_sock_t *shim_registry_take(void *handle)
{
    size_t b = reg_hash(handle);
    io_shared_lock(&reg_lock);
    shim_sock_t **pp = &reg_table[b];
    while (*pp != NULL && (*pp)->handle != handle)
        pp = &(*pp)->hnext;
    shim_sock_t *s = *pp;
    if (s != NULL)
        *pp = s->hnext;
    io_shared_unlock(&reg_lock);
    return s;
}

void shim_registry_free(shim_sock_t *s)
{
    if (s == NULL)
        return;
    while (s->eps != NULL) {
        shim_ep_t *e = s->eps;
        s->eps = e->next;
        free(e);
    }
    io_fork_guard_enter();
    SSL_CTX_free(s->client_tls);
    SSL_CTX_free(s->server_tls);
    tls_src_destroy(&s->client_src);
    tls_src_destroy(&s->server_src);
    io_fork_guard_leave();
    shim_opts_free(&s->opts);
    policy_accept_clear(&s->accept);
    free(s);
}

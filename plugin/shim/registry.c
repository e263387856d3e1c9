/* Socket registry: see registry.h. */
#include "shim/registry.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define REG_BUCKETS 4096

static shim_sock_t *reg_table[REG_BUCKETS];
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint reg_ids = 1;

static size_t reg_hash(const void *handle)
{
    uintptr_t h = (uintptr_t)handle;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 20) % REG_BUCKETS;
}

uint32_t registry_next_id(void)
{
    return atomic_fetch_add(&reg_ids, 1);
}

shim_sock_t *registry_add(void *handle, void *ctx, int type)
{
    shim_sock_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->handle = handle;
    s->ctx = ctx;
    s->type = type;
    s->id = registry_next_id();
    shim_opts_init(&s->opts);
    size_t b = reg_hash(handle);
    pthread_mutex_lock(&reg_lock);
    s->hnext = reg_table[b];
    reg_table[b] = s;
    pthread_mutex_unlock(&reg_lock);
    return s;
}

shim_sock_t *registry_get(void *handle)
{
    size_t b = reg_hash(handle);
    pthread_mutex_lock(&reg_lock);
    shim_sock_t *s = reg_table[b];
    while (s != NULL && s->handle != handle)
        s = s->hnext;
    pthread_mutex_unlock(&reg_lock);
    return s;
}

shim_sock_t *registry_take(void *handle)
{
    size_t b = reg_hash(handle);
    pthread_mutex_lock(&reg_lock);
    shim_sock_t **pp = &reg_table[b];
    while (*pp != NULL && (*pp)->handle != handle)
        pp = &(*pp)->hnext;
    shim_sock_t *s = *pp;
    if (s != NULL)
        *pp = s->hnext;
    pthread_mutex_unlock(&reg_lock);
    return s;
}

void registry_free(shim_sock_t *s)
{
    if (s == NULL)
        return;
    while (s->eps != NULL) {
        shim_ep_t *e = s->eps;
        s->eps = e->next;
        free(e);
    }
    SSL_CTX_free(s->client_tls);
    SSL_CTX_free(s->server_tls);
    shim_opts_free(&s->opts);
    free(s);
}

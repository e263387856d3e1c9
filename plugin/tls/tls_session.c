/*
 * TLS 1.3 session resumption for reconnects.
 *
 * A client context keeps the newest resumable session per key (the
 * endpoint), so the next connection to the same server can resume it with a
 * PSK handshake: no certificate chains sent or verified, no signatures,
 * about a third of the CPU of a full mutual handshake. The server's ticket
 * carries the client's original authentication; OpenSSL reports the peer
 * certificate of a resumed session as it was verified.
 *
 * TLS 1.3 tickets arrive after the handshake, so they are caught with
 * OpenSSL's new-session callback rather than taken at handshake end. The
 * cache is small and bounded; entries are replaced by newer tickets and
 * dropped with the context.
 */
#include "tls/tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* Endpoints one client socket resumes at once; more just evict the oldest. */
#define TLS_SESSION_SLOTS 16

typedef struct tls_session_slot {
    char *key;
    SSL_SESSION *session;
    unsigned long stamp;
} tls_session_slot_t;

typedef struct tls_session_cache {
    pthread_mutex_t lock; /* contexts are shared between threads */
    tls_session_slot_t slots[TLS_SESSION_SLOTS];
    unsigned long clock;
} tls_session_cache_t;

static int tls_cache_index = -1; /* SSL_CTX ex_data */
static int tls_key_index = -1;   /* SSL ex_data: the key of this connection */
static CRYPTO_ONCE tls_session_once = CRYPTO_ONCE_STATIC_INIT;

static void tls_cache_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                           long argl, void *argp)
{
    tls_session_cache_t *cache = ptr;
    if (cache == NULL)
        return;
    for (int i = 0; i < TLS_SESSION_SLOTS; i++) {
        free(cache->slots[i].key);
        SSL_SESSION_free(cache->slots[i].session);
    }
    pthread_mutex_destroy(&cache->lock);
    free(cache);
}

static void tls_key_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                         void *argp)
{
    free(ptr);
}

static void tls_session_init(void)
{
    tls_cache_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, tls_cache_free);
    tls_key_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, tls_key_free);
}

/* Keeps a copy of the new ticket. A copy, because OpenSSL marks the
 * connection's own session object unresumable when the connection is freed
 * without close_notify (a TLS 1.2 rule; RFC 8446 §6.1 drops it for 1.3), and
 * zmtls drops connections that way on disconnect and on errors. */
static int tls_on_new_session(SSL *ssl, SSL_SESSION *original)
{
    const char *key = SSL_get_ex_data(ssl, tls_key_index);
    tls_session_cache_t *cache =
        SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tls_cache_index);
    if (key == NULL || cache == NULL || !SSL_SESSION_is_resumable(original))
        return 0;
    SSL_SESSION *session = SSL_SESSION_dup(original);
    if (session == NULL) {
        ERR_clear_error();
        return 0;
    }
    pthread_mutex_lock(&cache->lock);
    tls_session_slot_t *slot = NULL, *oldest = &cache->slots[0];
    for (int i = 0; i < TLS_SESSION_SLOTS && slot == NULL; i++) {
        tls_session_slot_t *s = &cache->slots[i];
        if (s->key != NULL && strcmp(s->key, key) == 0)
            slot = s;
        else if (s->key == NULL || s->stamp < oldest->stamp)
            oldest = s;
    }
    if (slot == NULL) {
        char *copy = strdup(key);
        if (copy == NULL) {
            pthread_mutex_unlock(&cache->lock);
            SSL_SESSION_free(session);
            return 0;
        }
        slot = oldest;
        free(slot->key);
        slot->key = copy;
    }
    SSL_SESSION_free(slot->session);
    slot->session = session;
    slot->stamp = ++cache->clock;
    pthread_mutex_unlock(&cache->lock);
    return 0; /* OpenSSL keeps (and frees) its own reference */
}

int tls_ctx_enable_resumption(SSL_CTX *ctx)
{
    if (CRYPTO_THREAD_run_once(&tls_session_once, tls_session_init) != 1 ||
        tls_cache_index < 0 || tls_key_index < 0)
        return -ENOMEM;
    if (SSL_CTX_get_ex_data(ctx, tls_cache_index) != NULL)
        return 0;
    tls_session_cache_t *cache = calloc(1, sizeof(*cache));
    if (cache == NULL)
        return -ENOMEM;
    pthread_mutex_init(&cache->lock, NULL);
    if (SSL_CTX_set_ex_data(ctx, tls_cache_index, cache) != 1) {
        tls_cache_free(NULL, cache, NULL, 0, 0, NULL);
        ERR_clear_error();
        return -ENOMEM;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
                                            SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, tls_on_new_session);
    return 0;
}

int tls_ssl_resume(SSL *ssl, const char *key)
{
    tls_session_cache_t *cache =
        SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tls_cache_index);
    if (cache == NULL)
        return -EINVAL;
    char *copy = strdup(key);
    if (copy == NULL || SSL_set_ex_data(ssl, tls_key_index, copy) != 1) {
        free(copy);
        ERR_clear_error();
        return -ENOMEM;
    }
    pthread_mutex_lock(&cache->lock);
    for (int i = 0; i < TLS_SESSION_SLOTS; i++) {
        tls_session_slot_t *s = &cache->slots[i];
        if (s->key != NULL && strcmp(s->key, key) == 0) {
            /* Tickets are single-use by intent: the server sends a fresh
             * one after every handshake, which replaces this. */
            if (s->session != NULL)
                SSL_set_session(ssl, s->session);
            SSL_SESSION_free(s->session);
            s->session = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&cache->lock);
    ERR_clear_error();
    return 0;
}

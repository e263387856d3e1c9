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
 *
 * A server context decides which tickets it resumes: a resumption skips
 * the client certificate, so what the full handshake verified must still
 * hold. Each ticket carries (encrypted, as ticket app data) the time of
 * the full handshake its session descends from; tickets older than the
 * context's timeout by that measure, or issued for a certificate that has
 * expired since or that the context's CRLs revoke, get a full handshake
 * instead.
 */
#include "tls/tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

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

/* The certificate the session's peer was verified with has not expired. */
static int tls_session_peer_valid(const SSL_SESSION *s)
{
    X509 *peer = SSL_SESSION_get0_peer((SSL_SESSION *)s);
    return peer != NULL && X509_cmp_current_time(X509_get0_notAfter(peer)) > 0;
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
             * one after every handshake, which replaces this. A session
             * with a server whose certificate has expired since is not
             * offered: the full handshake judges the certificate again. */
            if (s->session != NULL && tls_session_peer_valid(s->session))
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

/* ---- server: which tickets are resumed ------------------------------------ */

/* The ticket's app data: the full handshake's time, 8 bytes big-endian. */
#define TLS_TICKET_DATA_LEN 8

int tls_ticket_usable(time_t auth_time, long lifetime, const X509 *peer, time_t now)
{
    /* Strictly within the lifetime: a session resumed at its very end
     * would be given a ticket with no time left (tls_ticket_generate),
     * which fails the handshake instead of falling back to a full one. */
    if (peer == NULL || auth_time < 0 || now - auth_time >= (time_t)lifetime)
        return 0;
    /* notAfter must lie after now, as X509_verify_cert judges it. */
    return X509_cmp_time(X509_get0_notAfter(peer), &now) > 0;
}

/* The clock certificates are verified by (tls.h). */
static time_t tls_verify_now(SSL *ssl)
{
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
    if ((X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_USE_CHECK_TIME) != 0)
        return X509_VERIFY_PARAM_get_time(vp);
    return time(NULL);
}

/* When the full handshake behind a session took place; -1 when the
 * session does not say (it then counts as too old). */
static time_t tls_ticket_auth_time(SSL_SESSION *s)
{
    void *data = NULL;
    size_t len = 0;
    if (SSL_SESSION_get0_ticket_appdata(s, &data, &len) != 1 || data == NULL ||
        len != TLS_TICKET_DATA_LEN)
        return -1;
    const unsigned char *p = data;
    uint64_t t = 0;
    for (int i = 0; i < TLS_TICKET_DATA_LEN; i++)
        t = t << 8 | p[i];
    return (time_t)t;
}

/* Before each ticket is made: stamp it with the full handshake's time (a
 * resumed session already carries it) and give it only the lifetime that
 * is left. Returning 0 would fail the connection, so failures to stamp
 * leave a ticket tls_ticket_decrypt will refuse. */
static int tls_ticket_generate(SSL *ssl, void *arg)
{
    SSL_SESSION *s = SSL_get_session(ssl);
    if (s == NULL)
        return 1;
    time_t now = tls_verify_now(ssl);
    time_t auth = SSL_session_reused(ssl) ? tls_ticket_auth_time(s) : now;
    long lifetime = SSL_CTX_get_timeout(SSL_get_SSL_CTX(ssl));
    if (auth < 0)
        return 1;
    unsigned char data[TLS_TICKET_DATA_LEN];
    uint64_t t = (uint64_t)auth;
    for (int i = TLS_TICKET_DATA_LEN - 1; i >= 0; i--, t >>= 8)
        data[i] = (unsigned char)t;
    if (SSL_SESSION_set1_ticket_appdata(s, data, sizeof(data)) != 1)
        ERR_clear_error();
    long left = lifetime - (long)(now - auth);
    SSL_SESSION_set_timeout(s, left < 0 ? 0 : left > lifetime ? lifetime : left);
    return 1;
}

/* When the context checks CRLs (tls_ctx.c): the session's client
 * certificate verifies against the context's store now, CRLs included. A
 * ticket holds that certificate but not the intermediates the client sent
 * with it, so only a chain the store completes on its own can be checked
 * here; any other client makes a full handshake, in which its whole chain
 * is checked again. */
static int tls_session_not_revoked(SSL *ssl, X509 *peer)
{
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
    if ((X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_CRL_CHECK) == 0)
        return 1;
    X509_STORE_CTX *sctx = X509_STORE_CTX_new();
    int ok = sctx != NULL &&
             X509_STORE_CTX_init(sctx, SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl)), peer,
                                 NULL) == 1 &&
             X509_STORE_CTX_set_default(sctx, "ssl_client") == 1 &&
             X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(sctx), vp) == 1 &&
             X509_verify_cert(sctx) == 1;
    X509_STORE_CTX_free(sctx);
    ERR_clear_error();
    return ok;
}

/* After a ticket was decrypted: resume it only while tls_ticket_usable
 * says so and the context's CRLs do not revoke its client certificate.
 * Tickets that did not decrypt get OpenSSL's own answer. */
static SSL_TICKET_RETURN tls_ticket_decrypt(SSL *ssl, SSL_SESSION *s,
                                            const unsigned char *keyname,
                                            size_t keyname_len, SSL_TICKET_STATUS status,
                                            void *arg)
{
    if (status != SSL_TICKET_SUCCESS && status != SSL_TICKET_SUCCESS_RENEW)
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    long lifetime = SSL_CTX_get_timeout(SSL_get_SSL_CTX(ssl));
    X509 *peer = SSL_SESSION_get0_peer(s);
    if (!tls_ticket_usable(tls_ticket_auth_time(s), lifetime, peer,
                           tls_verify_now(ssl)) ||
        !tls_session_not_revoked(ssl, peer))
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE
                                        : SSL_TICKET_RETURN_USE_RENEW;
}

int tls_ctx_enable_ticket_policy(SSL_CTX *ctx)
{
    if (SSL_CTX_set_session_ticket_cb(ctx, tls_ticket_generate, tls_ticket_decrypt,
                                      NULL) != 1) {
        ERR_clear_error();
        return -ENOMEM;
    }
    return 0;
}

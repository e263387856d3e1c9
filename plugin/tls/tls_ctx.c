/*
 * Credentials context: a TLS 1.3-only SSL_CTX with zmtls's protocol and
 * policy (see tls.h); the credentials themselves go in through
 * tls_load.c.
 */
#include <errno.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls/tls.h"
#include "tls/tls_allow.h"
#include "tls/tls_deny.h"
#include "tls/tls_conn_int.h"
#include "tls/tls_load.h"
#include "zmtls.h"

/* TLS 1.3 suites in preference order (all three are standard). */
#define TLS_SUITES                                                                       \
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* OpenSSL security level of every context (see tls_ctx_configure). */
#define TLS_SECURITY_LEVEL 2

/* Session id context for the server: OpenSSL will not resume sessions on
 * a server that verifies peers until one is set (its error is "session id
 * context uninitialized"), which would get in the way of resumption. */
static const unsigned char tls_sid_ctx[] = "zmtls";

/* ---- policy --------------------------------------------------------------- */

void tls_policy_init(tls_policy_t *p)
{
    p->verify_depth = ZMTLS_VERIFY_DEPTH_DEFAULT;
    p->session_lifetime = ZMTLS_SESSION_LIFETIME_DEFAULT;
    p->updates_max = ZMTLS_TLS_UPDATES_MAX_DEFAULT;
    p->allow = NULL;
}

/* The policy's values, each in the range include/zmtls.h gives. 0 or
 * -EINVAL with the reason in err. */
static int tls_policy_check(const tls_policy_t *p, const char *side, char *err,
                            size_t errlen)
{
    if (p->verify_depth < 0 || p->verify_depth > ZMTLS_VERIFY_DEPTH_MAX) {
        tls_err(err, errlen, "%s: verify depth %d is not within 0..%d", side,
                p->verify_depth, ZMTLS_VERIFY_DEPTH_MAX);
        return -EINVAL;
    }
    if (p->session_lifetime < 1 || p->session_lifetime > ZMTLS_SESSION_LIFETIME_MAX) {
        tls_err(err, errlen, "%s: session lifetime %d is not within 1..%d", side,
                p->session_lifetime, ZMTLS_SESSION_LIFETIME_MAX);
        return -EINVAL;
    }
    if (p->updates_max < 0) {
        tls_err(err, errlen, "%s: TLS updates per minute %d is negative", side,
                p->updates_max);
        return -EINVAL;
    }
    return 0;
}

/* The policy a context was built with, for its connections (SSL_CTX
 * ex_data holding a copy). */
static int tls_policy_index = -1;
static CRYPTO_ONCE tls_policy_once = CRYPTO_ONCE_STATIC_INIT;

static void tls_policy_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                            long argl, void *argp)
{
    free(ptr);
}

static void tls_policy_index_init(void)
{
    tls_policy_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, tls_policy_free);
}

static int tls_policy_attach(SSL_CTX *ctx, const tls_policy_t *p)
{
    if (CRYPTO_THREAD_run_once(&tls_policy_once, tls_policy_index_init) != 1 ||
        tls_policy_index < 0)
        return -ENOMEM;
    tls_policy_t *copy = malloc(sizeof(*copy));
    if (copy == NULL)
        return -ENOMEM;
    *copy = *p;
    copy->allow = NULL; /* parsed into the context, not kept as text */
    if (SSL_CTX_set_ex_data(ctx, tls_policy_index, copy) != 1) {
        free(copy);
        return -ENOMEM;
    }
    return 0;
}

void tls_ctx_policy(SSL_CTX *ctx, tls_policy_t *out)
{
    const tls_policy_t *p =
        tls_policy_index >= 0 ? SSL_CTX_get_ex_data(ctx, tls_policy_index) : NULL;
    if (p != NULL)
        *out = *p;
    else
        tls_policy_init(out);
}

/* The protocol and policy every zmtls context has: TLS 1.3 only, the
 * suites in our order, verification of the peer as the policy says,
 * buffers and tickets sized for a reactor. 0 or a negative errno with the
 * reason in err. */
static int tls_ctx_configure(SSL_CTX *ctx, int is_server, const tls_policy_t *policy,
                             const char *side, char *err, size_t errlen)
{
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
        tls_err(err, errlen, "%s: TLS 1.3 unavailable (%s)", side, tls_consume_reason());
        return -EINVAL;
    }
    /* Level 2 (RSA and DH of 2048 bits or more, ECC of 224 or more, no
     * SHA-1 signatures) for our own certificate and every peer's chain,
     * set here rather than left to the host: OPENSSL_CONF or a
     * distribution's openssl.cnf may lower the default for every program,
     * and an RSA-1024 client would then authenticate. */
    SSL_CTX_set_security_level(ctx, TLS_SECURITY_LEVEL);
    /* Partial writes and moving buffers fit a reactor that writes from a
     * queue. Buffers are not released after every record (that cost a
     * malloc and free of 64 KiB per read): idle connections give them back
     * through tls_conn_trim instead. */
    SSL_CTX_set_mode(ctx,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* AES-128-GCM first: about 30% less CPU per byte than AES-256-GCM
     * (openssl speed on AES-NI hardware) and just as standard. The server
     * picks, so a stock client that prefers AES-256-GCM gets AES-128-GCM
     * from a zmtls server. */
    if (SSL_CTX_set_ciphersuites(ctx, TLS_SUITES) != 1) {
        tls_err(err, errlen, "%s: TLS 1.3 cipher suites unavailable (%s)", side,
                tls_consume_reason());
        return -EINVAL;
    }
    if (is_server)
        SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Read whole bursts of records per recv instead of a 5-byte header and
     * then a body for each record: a 64 KB message took 8 recv calls. */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_default_read_buffer_len(ctx, 64 * 1024);
    SSL_CTX_set_default_passwd_cb(ctx, tls_no_password);
    SSL_CTX_set_verify(ctx,
                       is_server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                 : SSL_VERIFY_PEER,
                       tls_verify_peer);
    if (tls_policy_attach(ctx, policy) != 0) {
        ERR_clear_error();
        tls_err(err, errlen, "%s: out of memory", side);
        return -ENOMEM;
    }
    if (tls_deny_enable(ctx) != 0) {
        ERR_clear_error();
        tls_err(err, errlen, "%s: out of memory", side);
        return -ENOMEM;
    }
    if (policy->allow != NULL && policy->allow[0] != '\0') {
        tls_allow_t *allow = NULL;
        int rc = tls_allow_parse(policy->allow, &allow, err, errlen);
        if (rc == 0)
            rc = tls_allow_attach(ctx, allow);
        if (rc != 0) {
            if (rc == -ENOMEM)
                tls_err(err, errlen, "%s: out of memory", side);
            return rc;
        }
    }
    /* OpenSSL's depth counts the intermediates, as ZMTLS_VERIFY_DEPTH does:
     * neither the peer's certificate nor the trust anchor is in it. */
    SSL_CTX_set_verify_depth(ctx, policy->verify_depth);
    if (is_server &&
        SSL_CTX_set_session_id_context(ctx, tls_sid_ctx, sizeof tls_sid_ctx - 1) != 1) {
        tls_err(err, errlen, "%s: cannot set session context (%s)", side,
                tls_consume_reason());
        return -ENOMEM;
    }
    /* One ticket per handshake is all a reconnecting client uses; OpenSSL's
     * default of two doubles the server's ticket work. The timeout is the
     * lifetime of what a ticket resumes (OpenSSL's default is 7200 s per
     * ticket, and its TLS 1.3 server does not check even that). */
    if (is_server) {
        SSL_CTX_set_num_tickets(ctx, 1);
        SSL_CTX_set_timeout(ctx, policy->session_lifetime);
        if (tls_ctx_enable_ticket_policy(ctx) != 0) {
            tls_err(err, errlen, "%s: out of memory", side);
            return -ENOMEM;
        }
    }
    if (!is_server && tls_ctx_enable_resumption(ctx) != 0) {
        tls_err(err, errlen, "%s: out of memory", side);
        return -ENOMEM;
    }
    return 0;
}

int tls_ctx_new(SSL_CTX **out, int is_server, const tls_creds_t *creds,
                const tls_policy_t *policy, char *err, size_t errlen)
{
    static const tls_creds_t none = {0};
    tls_policy_t defaults;
    const char *side = is_server ? "server" : "client";

    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (out == NULL) {
        tls_err(err, errlen, "tls_ctx_new: no output pointer");
        return -EINVAL;
    }
    *out = NULL;
    if (creds == NULL) {
        creds = &none;
    }
    if (policy == NULL) {
        tls_policy_init(&defaults);
        policy = &defaults;
    }
    int have_cert = tls_set(creds->cert_pem) || tls_set(creds->cert_file);
    int have_key = tls_set(creds->key_pem) || tls_set(creds->key_file);
    int have_ca = tls_set(creds->ca_pem) || tls_set(creds->ca_file);

    /* Configuration errors first: they need no I/O and explain more. */
    if (tls_policy_check(policy, side, err, errlen) != 0)
        return -EINVAL;
    if (is_server && !have_cert) {
        tls_err(err, errlen, "server: a certificate is required");
        return -EINVAL;
    }
    if (is_server && !have_ca) {
        tls_err(err, errlen, "server: a CA is required to verify client certificates");
        return -EINVAL;
    }
    if (have_cert != have_key) {
        tls_err(err, errlen, "%s: %s", side,
                have_cert ? "a certificate needs its private key"
                          : "a private key needs its certificate");
        return -EINVAL;
    }

    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (ctx == NULL) {
        ERR_clear_error();
        tls_err(err, errlen, "%s: cannot create TLS context: out of memory", side);
        return -ENOMEM;
    }
    int rc = tls_ctx_configure(ctx, is_server, policy, side, err, errlen);
    if (rc == 0)
        rc = tls_load_credentials(ctx, is_server, creds, err, errlen);
    ERR_clear_error();
    if (rc != 0) {
        SSL_CTX_free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

/*
 * access_denied (49) for a peer that ZMTLS_ALLOW refuses (see tls_deny.h).
 *
 * OpenSSL 3.0 turns every verification failure into an alert through a
 * fixed table with no access_denied in it, and exports no way to send an
 * alert of our choosing. The one place where the caller picks the alert
 * inside the handshake is an extension's parse callback. So every zmtls
 * context registers one private extension: a client offers it (empty) in
 * its ClientHello, a server in its CertificateRequest, and a peer that was
 * offered it echoes it, empty, in each entry of its Certificate message
 * (TLS 1.3 allows extensions there only when solicited, and OpenSSL adds
 * them only then). The parse callback thus sees the peer's certificates one
 * by one as they arrive, before OpenSSL verifies the chain.
 *
 * Each time, the chain so far is verified the way OpenSSL will verify it
 * (our store, the connection's parameters, our verify callback). Only when
 * everything passes but the identity check does the callback refuse, with
 * access_denied. Anything else is left to OpenSSL's own verification, which
 * follows right after and sends its usual alert: a peer that is both
 * untrusted and not allowed learns only that it is untrusted. Stock peers
 * never echo the extension; they still meet the verify callback's refusal,
 * bad_certificate (42).
 */
#include "tls/tls_deny.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "tls/tls_allow.h"
#include "tls/tls_conn_int.h"

/* From the private-use range of TLS ExtensionType (RFC 8446, 4.2), away
 * from 0xff01 (renegotiation_info), which OpenSSL handles itself. */
#define TLS_DENY_EXT 0xff5a

/* The peer's chain kept while its Certificate message is parsed; deeper
 * chains are left to OpenSSL (ZMTLS_VERIFY_DEPTH allows at most 100
 * intermediates, which OpenSSL then refuses with its own alert). */
#define TLS_DENY_CHAIN_MAX 12

static const unsigned TLS_DENY_CONTEXTS =
    SSL_EXT_TLS_ONLY | SSL_EXT_TLS1_3_ONLY | SSL_EXT_CLIENT_HELLO |
    SSL_EXT_TLS1_3_CERTIFICATE_REQUEST | SSL_EXT_TLS1_3_CERTIFICATE;

static int tls_deny_add(SSL *s, unsigned type, unsigned context,
                        const unsigned char **out, size_t *outlen, X509 *x,
                        size_t chainidx, int *al, void *arg)
{
    (void)s, (void)type, (void)context, (void)x, (void)chainidx, (void)al, (void)arg;
    *out = NULL;
    *outlen = 0;
    return 1;
}

/* Whether more certificates from the peer could change a trial's verdict:
 * only when the chain so far stops short of a trust anchor. */
static int tls_deny_incomplete(int err)
{
    return err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
           err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
           err == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

/* Verifies the chain kept so far as OpenSSL will; 1 when it passes all
 * but our identity check. Sets c->deny_settled once the verdict cannot
 * change with further certificates, so a peer cannot make us verify its
 * chain again for every certificate it appends. */
static int tls_deny_probe(SSL *s, tls_conn_t *c)
{
    X509 *leaf = sk_X509_value(c->deny_chain, 0);
    STACK_OF(X509) *rest = sk_X509_dup(c->deny_chain);
    X509_STORE_CTX *sctx = X509_STORE_CTX_new();
    int denied = 0;
    ERR_set_mark();
    if (rest != NULL && sctx != NULL) {
        (void)sk_X509_shift(rest);
        if (X509_STORE_CTX_init(sctx, SSL_CTX_get_cert_store(SSL_get_SSL_CTX(s)), leaf,
                                rest) == 1 &&
            X509_STORE_CTX_set_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx(), s) ==
                1 &&
            X509_STORE_CTX_set_default(sctx,
                                       c->is_server ? "ssl_client" : "ssl_server") == 1) {
            X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(sctx);
            X509_VERIFY_PARAM_set1(p, SSL_get0_param(s));
            X509_VERIFY_PARAM_set_auth_level(p, SSL_get_security_level(s));
            X509_STORE_CTX_set_verify_cb(sctx, tls_verify_peer);
            c->deny_probe = 1;
            c->deny_probe_refused = 0;
            int ok = X509_verify_cert(sctx) == 1;
            denied = c->deny_probe_refused;
            c->deny_probe = 0;
            c->deny_settled =
                ok || denied || !tls_deny_incomplete(X509_STORE_CTX_get_error(sctx));
        }
    }
    ERR_pop_to_mark();
    X509_STORE_CTX_free(sctx);
    sk_X509_free(rest);
    return denied;
}

static int tls_deny_parse(SSL *s, unsigned type, unsigned context,
                          const unsigned char *in, size_t inlen, X509 *x, size_t chainidx,
                          int *al, void *arg)
{
    (void)type, (void)in, (void)inlen, (void)arg;
    tls_conn_t *c = SSL_get_app_data(s);
    if (context != SSL_EXT_TLS1_3_CERTIFICATE || x == NULL || c == NULL ||
        tls_allow_of(SSL_get_SSL_CTX(s)) == NULL)
        return 1;
    if (chainidx == 0) {
        tls_deny_release(c);
        c->deny_settled = 0;
        if ((c->deny_chain = sk_X509_new_null()) == NULL)
            return 1; /* out of memory: OpenSSL's verification still refuses */
    }
    if (c->deny_chain == NULL || c->deny_settled || chainidx >= TLS_DENY_CHAIN_MAX ||
        (size_t)sk_X509_num(c->deny_chain) != chainidx)
        return 1;
    if (sk_X509_push(c->deny_chain, x) <= 0)
        return 1;
    X509_up_ref(x);
    if (!tls_deny_probe(s, c))
        return 1;
    c->verify_why = "peer identity not in ZMTLS_ALLOW";
    tls_note_refused_cert(c, sk_X509_value(c->deny_chain, 0));
    *al = SSL_AD_ACCESS_DENIED;
    return 0;
}

int tls_deny_enable(SSL_CTX *ctx)
{
    return SSL_CTX_add_custom_ext(ctx, TLS_DENY_EXT, TLS_DENY_CONTEXTS, tls_deny_add,
                                  NULL, NULL, tls_deny_parse, NULL) == 1
               ? 0
               : -ENOMEM;
}

void tls_deny_release(tls_conn_t *c)
{
    sk_X509_pop_free(c->deny_chain, X509_free);
    c->deny_chain = NULL;
}

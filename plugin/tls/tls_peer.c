/* The peer of a TLS connection: the name its certificate must carry, and
 * what its certificate says (see tls_conn_int.h and tls.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "tls/tls_conn_int.h"

/* ---- peer name ------------------------------------------------------------ */

/* IP literals are checked against IP SANs and get no SNI (RFC 6066 forbids
 * it); anything else is a DNS name, checked against DNS SANs and sent as
 * SNI. Accepts "[v6]" and drops a "%zone" suffix, as URLs and link-local
 * addresses carry them but certificates never do. */
int tls_set_peer_name(SSL *ssl, const char *name)
{
    char lit[INET6_ADDRSTRLEN + 1];
    unsigned char bin[sizeof(struct in6_addr)];
    size_t n = strlen(name);
    const char *s = name;
    const char *zone;

    if (n >= 2 && name[0] == '[' && name[n - 1] == ']') {
        s = name + 1;
        n -= 2;
    }
    zone = memchr(s, '%', n);
    if (zone != NULL) {
        n = (size_t)(zone - s);
    }
    if (n < sizeof lit) {
        memcpy(lit, s, n);
        lit[n] = '\0';
        if (inet_pton(AF_INET, lit, bin) == 1 || inet_pton(AF_INET6, lit, bin) == 1) {
            return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), lit) == 1 ? 0
                                                                                : -EINVAL;
        }
    }
    if (s != name || zone != NULL) {
        return -EINVAL; /* brackets or a zone around something not an IP */
    }
    /* Partial wildcards ("w*.example") are a legacy oddity; refuse them. */
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl, name) != 1 || SSL_set_tlsext_host_name(ssl, name) != 1) {
        return -EINVAL;
    }
    return 0;
}

/* ---- verification --------------------------------------------------------- */

static void tls_name_oneline(X509_NAME *name, char *buf, size_t cap);

/* Notes the subject of the leaf being refused, once, for the logs. */
static void tls_note_refused(X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    tls_conn_t *c = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
    X509 *leaf = X509_STORE_CTX_get0_cert(store);
    if (c == NULL || leaf == NULL || c->refused_subject[0] != '\0')
        return;
    tls_name_oneline(X509_get_subject_name(leaf), c->refused_subject,
                     sizeof(c->refused_subject));
}

/* Runs for each certificate of the peer's chain once OpenSSL has judged it
 * (ok). OpenSSL accepts a certificate marked CA:TRUE as the peer's own;
 * zmtls does not: it can issue certificates, so it is a CA's key in an end
 * entity's hands (or a CA certificate deployed by mistake), and a peer
 * authenticated with it could mint further identities under our trust.
 * Reported as an unsupported purpose, which OpenSSL answers with
 * unsupported_certificate (43), as it does for a certificate whose
 * extended key usage does not fit: a certificate made for another job.
 * One exception: a chain of a single certificate taken from our own CA
 * store, i.e. a peer pinned by its self-signed certificate, which has to
 * be CA:TRUE to serve as a trust anchor at all. */
int tls_verify_peer(int ok, X509_STORE_CTX *store)
{
    if (!ok)
        tls_note_refused(store);
    if (!ok || X509_STORE_CTX_get_error_depth(store) != 0)
        return ok;
    X509 *leaf = X509_STORE_CTX_get_current_cert(store);
    if (leaf == NULL || (X509_get_extension_flags(leaf) & EXFLAG_CA) == 0)
        return ok;
    if (sk_X509_num(X509_STORE_CTX_get0_chain(store)) == 1 &&
        X509_STORE_CTX_get_num_untrusted(store) == 0)
        return ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    tls_conn_t *c = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
    if (c != NULL)
        c->verify_why = "a CA certificate (CA:TRUE) presented as the peer's own";
    X509_STORE_CTX_set_error(store, X509_V_ERR_INVALID_PURPOSE);
    tls_note_refused(store);
    return 0;
}

/* ---- peer certificate ----------------------------------------------------- */

static void tls_name_oneline(X509_NAME *name, char *buf, size_t cap)
{
    buf[0] = '\0';
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL)
        return;
    if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
        int n = BIO_read(b, buf, (int)cap - 1);
        buf[n > 0 ? n : 0] = '\0';
    }
    BIO_free(b);
}

static void tls_append(char *buf, size_t cap, const char *prefix, const char *val,
                       size_t len)
{
    size_t used = strlen(buf);
    if (used + 1 >= cap)
        return;
    int n = snprintf(buf + used, cap - used, "%s%s%.*s", used ? "," : "", prefix,
                     (int)len, val);
    if (n < 0)
        buf[used] = '\0';
}

static void tls_san(X509 *cert, char *buf, size_t cap)
{
    buf[0] = '\0';
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names == NULL)
        return;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type == GEN_DNS || g->type == GEN_URI || g->type == GEN_EMAIL) {
            const ASN1_IA5STRING *s = g->d.ia5;
            const char *prefix = g->type == GEN_DNS   ? "DNS:"
                                 : g->type == GEN_URI ? "URI:"
                                                      : "email:";
            tls_append(buf, cap, prefix, (const char *)ASN1_STRING_get0_data(s),
                       (size_t)ASN1_STRING_length(s));
        } else if (g->type == GEN_IPADD) {
            char ip[INET6_ADDRSTRLEN] = "";
            int len = ASN1_STRING_length(g->d.ip);
            const unsigned char *p = ASN1_STRING_get0_data(g->d.ip);
            if (len == 4)
                inet_ntop(AF_INET, p, ip, sizeof(ip));
            else if (len == 16)
                inet_ntop(AF_INET6, p, ip, sizeof(ip));
            tls_append(buf, cap, "IP:", ip, strlen(ip));
        }
    }
    GENERAL_NAMES_free(names);
}

int tls_conn_peer_expiry(const tls_conn_t *c, int64_t *seconds_left)
{
    X509 *cert = SSL_get0_peer_certificate(c->ssl);
    int days = 0, secs = 0;
    if (cert == NULL ||
        ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)) != 1) {
        ERR_clear_error();
        return -ENOENT;
    }
    *seconds_left = (int64_t)days * 86400 + secs;
    return 0;
}

int tls_conn_peer_info(const tls_conn_t *c, tls_peer_info_t *out)
{
    memset(out, 0, sizeof(*out));
    X509 *cert = SSL_get0_peer_certificate(c->ssl);
    if (cert == NULL)
        return -ENOENT;
    tls_name_oneline(X509_get_subject_name(cert), out->subject, sizeof(out->subject));
    tls_name_oneline(X509_get_issuer_name(cert), out->issuer, sizeof(out->issuer));
    tls_san(cert, out->san, sizeof(out->san));
    out->resumed = SSL_session_reused(c->ssl) ? 1 : 0;
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    if (bn != NULL) {
        char *hex = BN_bn2hex(bn);
        if (hex != NULL) {
            snprintf(out->serial, sizeof(out->serial), "%s", hex);
            OPENSSL_free(hex);
        }
        BN_free(bn);
    }
    ERR_clear_error();
    return 0;
}

const char *tls_conn_refused_subject(const tls_conn_t *c)
{
    return c != NULL ? c->refused_subject : "";
}

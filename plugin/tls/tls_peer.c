/* The peer of a TLS connection: the name its certificate must carry, and
 * what its certificate says (see tls_conn_int.h and tls.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "tls/tls_allow.h"
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

void tls_note_refused_cert(tls_conn_t *c, X509 *leaf)
{
    if (c == NULL || leaf == NULL || c->refused_subject[0] != '\0')
        return;
    tls_name_oneline(X509_get_subject_name(leaf), c->refused_subject,
                     sizeof(c->refused_subject));
}

/* Notes the subject of the leaf being refused, once, for the logs (not
 * during a trial verification: see tls_deny.c). */
static void tls_note_refused(X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    tls_conn_t *c = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
    if (c != NULL && !c->deny_probe)
        tls_note_refused_cert(c, X509_STORE_CTX_get0_cert(store));
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
/* ZMTLS_ALLOW: a peer whose chain verified but whose identity is not on
 * the context's list is refused here, inside the handshake. A zmtls peer
 * has already been refused with access_denied (49) while its certificates
 * arrived (tls_deny.c: this callback is that trial's judge too). For a
 * stock peer, OpenSSL 3.0 can send no access_denied from verification:
 * every verification error goes out through its table of alerts, so the
 * refusal is X509_V_ERR_CERT_REJECTED, sent as bad_certificate (42), with
 * the reason kept for the log. */
static int tls_verify_allowed(X509_STORE_CTX *store, SSL *ssl, tls_conn_t *c, X509 *leaf)
{
    const tls_allow_t *allow = ssl != NULL ? tls_allow_of(SSL_get_SSL_CTX(ssl)) : NULL;
    if (tls_allow_match(allow, leaf))
        return 1;
    if (c != NULL && c->deny_probe) {
        c->deny_probe_refused = 1;
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    if (c != NULL)
        c->verify_why = "peer identity not in ZMTLS_ALLOW";
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    tls_note_refused(store);
    return 0;
}

int tls_verify_peer(int ok, X509_STORE_CTX *store)
{
    if (!ok)
        tls_note_refused(store);
    if (!ok || X509_STORE_CTX_get_error_depth(store) != 0)
        return ok;
    X509 *leaf = X509_STORE_CTX_get_current_cert(store);
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    tls_conn_t *c = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
    if (leaf == NULL)
        return ok;
    if ((X509_get_extension_flags(leaf) & EXFLAG_CA) == 0 ||
        (sk_X509_num(X509_STORE_CTX_get0_chain(store)) == 1 &&
         X509_STORE_CTX_get_num_untrusted(store) == 0))
        return tls_verify_allowed(store, ssl, c, leaf);
    if (c != NULL && !c->deny_probe)
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

/* A name whole, in RFC 2253 form, in a new string; NULL without memory. */
static char *tls_name_dup(X509_NAME *name)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b != NULL && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
        char *data;
        long n = BIO_get_mem_data(b, &data);
        out = malloc((size_t)(n > 0 ? n : 0) + 1);
        if (out != NULL) {
            if (n > 0)
                memcpy(out, data, (size_t)n);
            out[n > 0 ? n : 0] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

/* One subjectAltName entry as "DNS:x", "IP:1.2.3.4", "URI:x" or "email:x"
 * in a new string; NULL for other kinds (and without memory: *nomem). */
static char *tls_san_entry(const GENERAL_NAME *g, int *nomem)
{
    const char *prefix;
    const char *val;
    size_t len;
    char ip[INET6_ADDRSTRLEN] = "";
    if (g->type == GEN_DNS || g->type == GEN_URI || g->type == GEN_EMAIL) {
        prefix = g->type == GEN_DNS ? "DNS:" : g->type == GEN_URI ? "URI:" : "email:";
        val = (const char *)ASN1_STRING_get0_data(g->d.ia5);
        len = (size_t)ASN1_STRING_length(g->d.ia5);
    } else if (g->type == GEN_IPADD) {
        int n = ASN1_STRING_length(g->d.ip);
        const unsigned char *p = ASN1_STRING_get0_data(g->d.ip);
        if (n == 4)
            inet_ntop(AF_INET, p, ip, sizeof(ip));
        else if (n == 16)
            inet_ntop(AF_INET6, p, ip, sizeof(ip));
        prefix = "IP:";
        val = ip;
        len = strlen(ip);
    } else {
        return NULL;
    }
    /* An IA5String may hold a NUL: keep what precedes it, never past it. */
    const char *nul = memchr(val, '\0', len);
    if (nul != NULL)
        len = (size_t)(nul - val);
    size_t plen = strlen(prefix);
    char *out = malloc(plen + len + 1);
    if (out == NULL) {
        *nomem = 1;
        return NULL;
    }
    memcpy(out, prefix, plen);
    memcpy(out + plen, val, len);
    out[plen + len] = '\0';
    return out;
}

/* Every subjectAltName entry, and the same joined with ','. */
static int tls_san_list(X509 *cert, tls_peer_info_t *out)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int n = names != NULL ? sk_GENERAL_NAME_num(names) : 0;
    int nomem = 0;
    size_t joined = 0;
    out->san_entry = calloc((size_t)(n > 0 ? n : 1), sizeof(char *));
    for (int i = 0; out->san_entry != NULL && !nomem && i < n; i++) {
        char *e = tls_san_entry(sk_GENERAL_NAME_value(names, i), &nomem);
        if (e != NULL) {
            out->san_entry[out->san_count++] = e;
            joined += strlen(e) + 1;
        }
    }
    GENERAL_NAMES_free(names);
    out->san = out->san_entry != NULL && !nomem ? malloc(joined + 1) : NULL;
    if (out->san == NULL)
        return -ENOMEM;
    out->san[0] = '\0';
    char *w = out->san;
    const char *spiffe = NULL;
    int spiffes = 0;
    for (size_t i = 0; i < out->san_count; i++) {
        const char *e = out->san_entry[i];
        w += sprintf(w, "%s%s", i > 0 ? "," : "", e);
        if (strncmp(e, "URI:spiffe://", 13) == 0) {
            spiffe = e + 4;
            spiffes++;
        }
    }
    /* An X.509-SVID carries exactly one URI SAN; more than one spiffe://
     * name is no SPIFFE ID at all. */
    out->spiffe_id = spiffes == 1 ? spiffe : "";
    return 0;
}

void tls_peer_info_free(tls_peer_info_t *info)
{
    for (size_t i = 0; info->san_entry != NULL && i < info->san_count; i++)
        free(info->san_entry[i]);
    free(info->san_entry);
    free(info->san);
    free(info->subject);
    free(info->issuer);
    memset(info, 0, sizeof(*info));
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
    out->subject = tls_name_dup(X509_get_subject_name(cert));
    out->issuer = tls_name_dup(X509_get_issuer_name(cert));
    if (out->subject == NULL || out->issuer == NULL || tls_san_list(cert, out) != 0) {
        tls_peer_info_free(out);
        ERR_clear_error();
        return -ENOMEM;
    }
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

int tls_conn_peer_pem(const tls_conn_t *c, char **pem, size_t *len)
{
    X509 *cert = SSL_get0_peer_certificate(c->ssl);
    if (cert == NULL)
        return -ENOENT;
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n = 0;
    if (b != NULL && PEM_write_bio_X509(b, cert) == 1)
        n = BIO_get_mem_data(b, &data);
    char *out = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (out == NULL) {
        BIO_free(b);
        ERR_clear_error();
        return -ENOMEM;
    }
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    BIO_free(b);
    *pem = out;
    *len = (size_t)n;
    return 0;
}

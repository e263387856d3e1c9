/* Building and signing certificates: see certs.h. */
#include "certs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

/* 16 random bytes, the top bit cleared so the DER integer stays positive
 * and within RFC 5280's 20 octets: unique without keeping a serial file. */
#define SERIAL_BYTES 16

void certs_issuer_free(certs_issuer_t *issuer)
{
    X509_free(issuer->cert);
    EVP_PKEY_free(issuer->key);
    sk_X509_pop_free(issuer->chain, X509_free);
    memset(issuer, 0, sizeof *issuer);
}

static int set_serial(X509 *x)
{
    unsigned char raw[SERIAL_BYTES];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -EIO;
    raw[0] &= 0x7f;
    raw[0] |= 0x40; /* never zero, never shorter than the others */
    BIGNUM *bn = BN_bin2bn(raw, sizeof raw, NULL);
    int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? 0 : -EIO;
}

/* One extension from OpenSSL's configuration syntax ("critical,CA:TRUE"):
 * the values are ours, never the user's, so the syntax cannot surprise. */
static int add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, v3, nid, value);
    int ok = e != NULL && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok ? 0 : -EIO;
}

static int add_extensions(const certs_profile_t *p, X509 *x, X509 *issuer_cert,
                          EVP_PKEY *issuer_key)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer_cert != NULL ? issuer_cert : x, x, NULL, NULL, 0);
    if (issuer_cert == NULL && X509V3_set_issuer_pkey(&v3, issuer_key) != 1)
        return -EIO;
    char bc[64];
    const char *ku;
    if (p->ca) {
        if (p->pathlen >= 0)
            snprintf(bc, sizeof bc, "critical,CA:TRUE,pathlen:%d", p->pathlen);
        else
            snprintf(bc, sizeof bc, "critical,CA:TRUE");
        ku = "critical,keyCertSign,cRLSign";
    } else if (p->ca_flag) {
        snprintf(bc, sizeof bc, "critical,CA:TRUE");
        ku = "critical,digitalSignature,keyCertSign";
    } else {
        snprintf(bc, sizeof bc, "critical,CA:FALSE");
        ku = "critical,digitalSignature";
    }
    const char *eku = p->eku == (CERTS_EKU_SERVER | CERTS_EKU_CLIENT)
                          ? "serverAuth,clientAuth"
                      : p->eku == CERTS_EKU_SERVER ? "serverAuth"
                      : p->eku == CERTS_EKU_CLIENT ? "clientAuth"
                                                   : NULL;
    if (add_ext(x, &v3, NID_basic_constraints, bc) != 0 ||
        add_ext(x, &v3, NID_key_usage, ku) != 0 ||
        (eku != NULL && add_ext(x, &v3, NID_ext_key_usage, eku) != 0))
        return -EIO;
    if (p->san != NULL && sk_GENERAL_NAME_num(p->san) > 0 &&
        X509_add1_ext_i2d(x, NID_subject_alt_name, p->san, 0, X509V3_ADD_DEFAULT) != 1)
        return -EIO;
    /* The subject's key identifier first: a self-signed certificate's
     * authority key identifier is made from it. */
    if (add_ext(x, &v3, NID_subject_key_identifier, "hash") != 0 ||
        add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") != 0)
        return -EIO;
    return 0;
}

int certs_issue(const certs_profile_t *p, EVP_PKEY *key, const certs_issuer_t *issuer,
                X509 **out)
{
    X509 *x = X509_new();
    X509_NAME *subject = X509_NAME_new();
    EVP_PKEY *sign_key = issuer != NULL ? issuer->key : key;
    int rc = -EIO;
    if (x == NULL || subject == NULL)
        goto fail;
    if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                   (const unsigned char *)p->cn, -1, -1, 0) != 1) {
        rc = certs_fail(-EINVAL, "--cn %s: not a usable common name (1 to 64 characters)",
                        p->cn);
        goto fail;
    }
    if (X509_set_version(x, X509_VERSION_3) != 1 || set_serial(x) != 0 ||
        X509_set_subject_name(x, subject) != 1 ||
        X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer->cert)
                                               : subject) != 1 ||
        ASN1_TIME_set(X509_getm_notBefore(x), p->not_before) == NULL ||
        ASN1_TIME_set(X509_getm_notAfter(x), p->not_after) == NULL ||
        X509_set_pubkey(x, key) != 1 ||
        add_extensions(p, x, issuer != NULL ? issuer->cert : NULL, sign_key) != 0)
        goto fail_ossl;
    /* EdDSA signs the message itself: no separate digest may be named. */
    const EVP_MD *md = EVP_PKEY_is_a(sign_key, "ED25519") ? NULL : EVP_sha256();
    if (X509_sign(x, sign_key, md) <= 0)
        goto fail_ossl;
    X509_NAME_free(subject);
    *out = x;
    return 0;
fail_ossl:
    rc = certs_fail(-EIO, "cannot make the certificate for %s", p->cn);
fail:
    X509_NAME_free(subject);
    X509_free(x);
    return rc;
}

int certs_time_parse(const char *text, const char *what, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    char tail;
    int n = sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%c", &tm.tm_year, &tm.tm_mon,
                   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tail);
    int date_only = n == 3 && strlen(text) == 10;
    if (!(n == 6 && text[strlen(text) - 1] == 'Z') && !date_only)
        return certs_fail(-EINVAL, "%s %s: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ",
                          what, text);
    struct tm want = tm;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    /* timegm normalises 2021-02-30 to March: a date that moved was wrong. */
    if (t == (time_t)-1 || tm.tm_year + 1900 != want.tm_year ||
        tm.tm_mon + 1 != want.tm_mon || tm.tm_mday != want.tm_mday ||
        tm.tm_hour != want.tm_hour || tm.tm_min != want.tm_min ||
        tm.tm_sec != want.tm_sec)
        return certs_fail(-EINVAL, "%s %s: no such date and time", what, text);
    *out = t;
    return 0;
}

/* Revocation lists and CRLs: see certs.h.
 *
 * DIR/ISSUER.revoked is plain text, a line per revoked certificate:
 *   SERIAL-HEX REVOCATION-TIME(YYYYMMDDHHMMSSZ) SUBJECT
 * so it can be read, and edited, without the tool. */
#include "certs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#define LINE_MAX_LEN 1024

static int list_path(char *buf, size_t len, const char *dir, const char *issuer)
{
    if (snprintf(buf, len, "%s/%s.revoked", dir, issuer) >= (int)len)
        return certs_fail(-ENAMETOOLONG, "%s/%s.revoked: path too long", dir, issuer);
    return 0;
}

/* Calls fn for each "serial time" line of the list; a missing list has
 * none. fn returns 0 to go on, 1 to stop, or a negative errno. */
static int list_each(const char *path,
                     int (*fn)(const char *serial, const char *when, void *), void *arg)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return errno == ENOENT
                   ? 0
                   : certs_fail(-errno, "cannot read %s: %s", path, strerror(errno));
    char line[LINE_MAX_LEN];
    int rc = 0, n = 0;
    while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
        n++;
        char serial[128], when[32];
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%127s %31s", serial, when) != 2) {
            rc = certs_fail(-EINVAL, "%s:%d: expected SERIAL-HEX YYYYMMDDHHMMSSZ", path,
                            n);
            break;
        }
        rc = fn(serial, when, arg);
    }
    fclose(f);
    return rc < 0 ? rc : 0;
}

typedef struct {
    const char *serial;
    int found;
} find_t;

static int find_serial(const char *serial, const char *when, void *arg)
{
    find_t *fs = arg;
    if (strcasecmp(serial, fs->serial) == 0) {
        fs->found = 1;
        return 1;
    }
    return 0;
}

/* The issuer really signed cert: names chained and signature verified. */
static int check_signed_by(X509 *cert, X509 *issuer, const char *cert_path,
                           const char *issuer_name)
{
    EVP_PKEY *pub = X509_get0_pubkey(issuer);
    if (X509_check_issued(issuer, cert) != X509_V_OK || pub == NULL ||
        X509_verify(cert, pub) != 1) {
        ERR_clear_error();
        return certs_fail(-EINVAL, "%s was not issued by %s", cert_path, issuer_name);
    }
    return 0;
}

int certs_revoke(const char *dir, const char *issuer_name, const char *cert_path)
{
    certs_issuer_t is = {0};
    X509 *cert = NULL;
    char *serial = NULL, path[PATH_MAX];
    BIGNUM *bn = NULL;
    int rc;
    if ((rc = list_path(path, sizeof path, dir, issuer_name)) != 0 ||
        (rc = certs_issuer_load(dir, issuer_name, &is)) != 0 ||
        (rc = certs_cert_load(cert_path, &cert)) != 0 ||
        (rc = check_signed_by(cert, is.cert, cert_path, issuer_name)) != 0)
        goto out;
    if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL)) == NULL ||
        (serial = BN_bn2hex(bn)) == NULL) {
        rc = certs_fail(-ENOMEM, "out of memory");
        goto out;
    }
    find_t fs = {serial, 0};
    if ((rc = list_each(path, find_serial, &fs)) != 0)
        goto out;
    if (fs.found) {
        certs_note("%s is already revoked by %s", cert_path, issuer_name);
        goto out;
    }
    char subject[256], when[32];
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y%m%d%H%M%SZ", &tm);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (f == NULL) {
        rc = certs_fail(-errno, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    int ok = fprintf(f, "%s %s %s\n", serial, when, subject) > 0;
    if (fclose(f) != 0 || !ok)
        rc = certs_fail(-EIO, "cannot write %s", path);
out:
    OPENSSL_free(serial);
    BN_free(bn);
    X509_free(cert);
    certs_issuer_free(&is);
    return rc;
}

static int add_revoked(const char *serial, const char *when, void *arg)
{
    X509_CRL *crl = arg;
    BIGNUM *bn = NULL;
    ASN1_INTEGER *num = NULL;
    ASN1_TIME *t = ASN1_TIME_new();
    X509_REVOKED *r = X509_REVOKED_new();
    int rc = -EINVAL;
    if (t == NULL || r == NULL || BN_hex2bn(&bn, serial) == 0 || bn == NULL ||
        (size_t)BN_num_bytes(bn) > 20 || (num = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
        ASN1_TIME_set_string_X509(t, when) != 1)
        goto out;
    rc = -ENOMEM;
    if (X509_REVOKED_set_serialNumber(r, num) != 1 ||
        X509_REVOKED_set_revocationDate(r, t) != 1 || X509_CRL_add0_revoked(crl, r) != 1)
        goto out;
    r = NULL;
    rc = 0;
out:
    if (rc == -EINVAL)
        rc = certs_fail(rc, "revoked list: bad entry %s %s", serial, when);
    else if (rc != 0)
        rc = certs_fail(rc, "out of memory");
    X509_REVOKED_free(r);
    ASN1_TIME_free(t);
    ASN1_INTEGER_free(num);
    BN_free(bn);
    return rc;
}

static int emit_crl(BIO *b, void *arg)
{
    return PEM_write_bio_X509_CRL(b, arg) == 1 ? 0 : -EIO;
}

/* The CRL's extensions: the issuer's key identifier, so a verifier picks
 * the right key among CAs of one name, and a CRL number; the time of
 * making it grows without a counter to keep (two CRLs of one CA within a
 * second share it). */
static int crl_extensions(X509_CRL *crl, X509 *issuer, time_t now)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer, NULL, NULL, crl, 0);
    X509_EXTENSION *aki =
        X509V3_EXT_nconf_nid(NULL, &v3, NID_authority_key_identifier, "keyid:always");
    ASN1_INTEGER *number = ASN1_INTEGER_new();
    int ok = aki != NULL && number != NULL && X509_CRL_add_ext(crl, aki, -1) == 1 &&
             ASN1_INTEGER_set_int64(number, (int64_t)now) == 1 &&
             X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) == 1;
    X509_EXTENSION_free(aki);
    ASN1_INTEGER_free(number);
    return ok ? 0 : -EIO;
}

int certs_crl(const char *dir, const char *issuer_name, long days, const char *out_path)
{
    certs_issuer_t is = {0};
    X509_CRL *crl = NULL;
    ASN1_TIME *last = NULL, *next = NULL;
    char path[PATH_MAX];
    int rc;
    if ((rc = list_path(path, sizeof path, dir, issuer_name)) != 0 ||
        (rc = certs_issuer_load(dir, issuer_name, &is)) != 0)
        goto out;
    if ((X509_get_extension_flags(is.cert) & EXFLAG_KUSAGE) != 0 &&
        (X509_get_key_usage(is.cert) & KU_CRL_SIGN) == 0) {
        rc = certs_fail(-EINVAL, "%s/%s.pem may not sign CRLs (no cRLSign key usage)",
                        dir, issuer_name);
        goto out;
    }
    time_t now = time(NULL);
    if ((crl = X509_CRL_new()) == NULL || (last = ASN1_TIME_set(NULL, now)) == NULL ||
        (next = ASN1_TIME_adj(NULL, now, (int)days, 0)) == NULL ||
        X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(is.cert)) != 1 ||
        X509_CRL_set1_lastUpdate(crl, last) != 1 ||
        X509_CRL_set1_nextUpdate(crl, next) != 1) {
        rc = certs_fail(-EIO, "cannot make the CRL");
        goto out;
    }
    if ((rc = list_each(path, add_revoked, crl)) != 0)
        goto out;
    const EVP_MD *md = EVP_PKEY_is_a(is.key, "ED25519") ? NULL : EVP_sha256();
    if (X509_CRL_sort(crl) != 1 || crl_extensions(crl, is.cert, now) != 0 ||
        X509_CRL_sign(crl, is.key, md) <= 0) {
        rc = certs_fail(-EIO, "cannot sign the CRL");
        goto out;
    }
    rc = certs_write_replace(out_path, emit_crl, crl);
out:
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    certs_issuer_free(&is);
    return rc;
}

int certs_revoked_reset(const char *dir, const char *name)
{
    char path[PATH_MAX];
    int rc = list_path(path, sizeof path, dir, name);
    if (rc != 0)
        return rc;
    if (unlink(path) != 0 && errno != ENOENT)
        return certs_fail(-errno, "cannot remove %s: %s", path, strerror(errno));
    return 0;
}

/* The files of a certificate directory: see certs.h. */
#include "certs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

int certs_name_check(const char *name)
{
    if (name[0] == '\0' || name[0] == '.' || strlen(name) > NAME_MAX - 16)
        goto bad;
    for (const char *c = name; *c != '\0'; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
            goto bad;
    }
    return 0;
bad:
    return certs_fail(
        -EINVAL,
        "name %s: use letters, digits, '.', '_' and '-' (not first '.'); it "
        "names NAME.pem and NAME.key in DIR",
        name);
}

int certs_dir_make(const char *dir)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return certs_fail(-ENAMETOOLONG, "%s: path too long", dir);
    /* Each prefix in turn, as mkdir -p does. */
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return certs_fail(-errno, "cannot make directory %s: %s", path,
                              strerror(errno));
        *p = c;
        if (c == '\0')
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return certs_fail(-ENOTDIR, "%s is not a directory", dir);
    return 0;
}

static int path_of(char *buf, size_t len, const char *dir, const char *name,
                   const char *ext)
{
    if (snprintf(buf, len, "%s/%s%s", dir, name, ext) >= (int)len)
        return certs_fail(-ENAMETOOLONG, "%s/%s%s: path too long", dir, name, ext);
    return 0;
}

int certs_check_free(const char *dir, const char *name, int force)
{
    static const char *const exts[] = {".pem", ".key"};
    if (force)
        return 0;
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX];
        int rc = path_of(path, sizeof path, dir, name, exts[i]);
        if (rc != 0)
            return rc;
        if (access(path, F_OK) == 0)
            return certs_fail(-EEXIST, "%s exists: not replaced (--force replaces it)",
                              path);
    }
    return 0;
}

static BIO *open_read(const char *path, int *rc)
{
    errno = 0;
    BIO *b = BIO_new_file(path, "r");
    if (b == NULL)
        *rc = certs_fail(errno != 0 ? -errno : -EIO, "cannot read %s: %s", path,
                         strerror(errno != 0 ? errno : EIO));
    return b;
}

int certs_cert_load(const char *path, X509 **out)
{
    int rc = 0;
    BIO *b = open_read(path, &rc);
    if (b == NULL)
        return rc;
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    if (x == NULL)
        return certs_fail(-EINVAL, "%s: no PEM certificate in it", path);
    *out = x;
    return 0;
}

int certs_issuer_load(const char *dir, const char *name, certs_issuer_t *out)
{
    char cert_path[PATH_MAX], key_path[PATH_MAX];
    int rc;
    if ((rc = certs_name_check(name)) != 0 ||
        (rc = path_of(cert_path, sizeof cert_path, dir, name, ".pem")) != 0 ||
        (rc = path_of(key_path, sizeof key_path, dir, name, ".key")) != 0)
        return rc;
    certs_issuer_t is = {0};
    if ((is.chain = sk_X509_new_null()) == NULL)
        return certs_fail(-ENOMEM, "out of memory");
    BIO *b = open_read(cert_path, &rc);
    if (b == NULL)
        goto fail;
    is.cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
    for (X509 *x;
         is.cert != NULL && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL;) {
        if (sk_X509_push(is.chain, x) <= 0) {
            X509_free(x);
            BIO_free(b);
            rc = certs_fail(-ENOMEM, "out of memory");
            goto fail;
        }
    }
    ERR_clear_error(); /* the end of the file reads as an error */
    BIO_free(b);
    if (is.cert == NULL) {
        rc = certs_fail(-EINVAL, "%s: no PEM certificate in it", cert_path);
        goto fail;
    }
    if ((b = open_read(key_path, &rc)) == NULL)
        goto fail;
    is.key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    if (is.key == NULL) {
        rc = certs_fail(-EINVAL, "%s: no unencrypted PEM private key in it", key_path);
        goto fail;
    }
    if (X509_check_private_key(is.cert, is.key) != 1) {
        rc = certs_fail(-EINVAL, "%s does not belong to %s", key_path, cert_path);
        goto fail;
    }
    if (X509_check_ca(is.cert) == 0 ||
        (X509_get_key_usage(is.cert) & KU_KEY_CERT_SIGN) == 0) {
        rc = certs_fail(-EINVAL,
                        "%s is not a CA (CA:TRUE and keyCertSign): it cannot sign",
                        cert_path);
        goto fail;
    }
    /* What a certificate it signs carries after itself: this CA unless it
     * is the root (a verifier holds the root), then the rest of its file. */
    if (X509_check_issued(is.cert, is.cert) != X509_V_OK) {
        if (!X509_up_ref(is.cert) || sk_X509_unshift(is.chain, is.cert) <= 0) {
            rc = certs_fail(-ENOMEM, "out of memory");
            goto fail;
        }
    }
    *out = is;
    return 0;
fail:
    certs_issuer_free(&is);
    return rc;
}

/* A temporary file in the directory of `final` with the given mode,
 * whatever the umask; its name in tmp. */
static int temp_open(const char *final, mode_t mode, char *tmp, size_t len, FILE **out)
{
    if (snprintf(tmp, len, "%s.tmp-XXXXXX", final) >= (int)len)
        return certs_fail(-ENAMETOOLONG, "%s: path too long", final);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return certs_fail(-errno, "cannot write in the directory of %s: %s", final,
                          strerror(errno));
    FILE *f = NULL;
    if (fchmod(fd, mode) != 0 || (f = fdopen(fd, "w")) == NULL) {
        int err = errno;
        close(fd);
        unlink(tmp);
        return certs_fail(-err, "%s: %s", tmp, strerror(err));
    }
    *out = f;
    return 0;
}

/* Flushes and closes f (written to tmp); on failure removes tmp. */
static int temp_close(FILE *f, const char *tmp, int ok)
{
    int err = 0;
    if (!ok)
        err = EIO;
    else if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        err = errno;
    if (fclose(f) != 0 && err == 0)
        err = errno;
    if (err != 0) {
        unlink(tmp);
        return certs_fail(-err, "cannot write %s: %s", tmp, strerror(err));
    }
    return 0;
}

/* Moves tmp to final. Without force, link() fails rather than replace a
 * file that appeared since certs_check_free; a file system without hard
 * links gets the check again, then rename. */
static int commit(const char *tmp, const char *final, int force)
{
    int rc = 0;
    if (!force) {
        if (link(tmp, final) == 0) {
            unlink(tmp);
            return 0;
        }
        if (errno == EEXIST)
            rc = certs_fail(-EEXIST, "%s exists: not replaced (--force replaces it)",
                            final);
        else if (access(final, F_OK) == 0)
            rc = certs_fail(-EEXIST, "%s exists: not replaced (--force replaces it)",
                            final);
        if (rc != 0) {
            unlink(tmp);
            return rc;
        }
    }
    if (rename(tmp, final) != 0) {
        int err = errno;
        unlink(tmp);
        return certs_fail(-err, "cannot write %s: %s", final, strerror(err));
    }
    return 0;
}

static int write_temp(const char *final, mode_t mode, int (*emit)(BIO *, void *),
                      void *arg, char *tmp, size_t len)
{
    FILE *f = NULL;
    int rc = temp_open(final, mode, tmp, len, &f);
    if (rc != 0)
        return rc;
    BIO *b = BIO_new_fp(f, BIO_NOCLOSE);
    int ok = b != NULL && emit(b, arg) == 0 && BIO_flush(b) == 1;
    BIO_free(b);
    if (!ok)
        certs_fail(-EIO, "cannot write %s", final);
    return temp_close(f, tmp, ok);
}

static int emit_key(BIO *b, void *arg)
{
    return PEM_write_bio_PrivateKey(b, arg, NULL, NULL, 0, NULL, NULL) == 1 ? 0 : -EIO;
}

typedef struct {
    X509 *cert;
    STACK_OF(X509) * chain;
} cert_file_t;

static int emit_certs(BIO *b, void *arg)
{
    cert_file_t *cf = arg;
    if (PEM_write_bio_X509(b, cf->cert) != 1)
        return -EIO;
    for (int i = 0; cf->chain != NULL && i < sk_X509_num(cf->chain); i++) {
        if (PEM_write_bio_X509(b, sk_X509_value(cf->chain, i)) != 1)
            return -EIO;
    }
    return 0;
}

int certs_write_pair(const char *dir, const char *name, EVP_PKEY *key, X509 *cert,
                     STACK_OF(X509) * chain, int force)
{
    char key_path[PATH_MAX], cert_path[PATH_MAX], key_tmp[PATH_MAX], cert_tmp[PATH_MAX];
    cert_file_t cf = {cert, chain};
    int rc;
    if ((rc = path_of(key_path, sizeof key_path, dir, name, ".key")) != 0 ||
        (rc = path_of(cert_path, sizeof cert_path, dir, name, ".pem")) != 0)
        return rc;
    if ((rc = write_temp(key_path, 0600, emit_key, key, key_tmp, sizeof key_tmp)) != 0)
        return rc;
    if ((rc = write_temp(cert_path, 0644, emit_certs, &cf, cert_tmp, sizeof cert_tmp)) !=
        0) {
        unlink(key_tmp);
        return rc;
    }
    if ((rc = commit(key_tmp, key_path, force)) != 0) {
        unlink(cert_tmp);
        return rc;
    }
    if ((rc = commit(cert_tmp, cert_path, force)) != 0) {
        /* Not half a pair: the key is ours, made a moment ago. */
        unlink(key_path);
        return rc;
    }
    return 0;
}

int certs_write_replace(const char *path, int (*emit)(BIO *, void *), void *arg)
{
    char tmp[PATH_MAX];
    int rc = write_temp(path, 0644, emit, arg, tmp, sizeof tmp);
    return rc != 0 ? rc : commit(tmp, path, 1);
}

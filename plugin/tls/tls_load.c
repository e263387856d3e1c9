/*
 * Credentials into a context: our certificate chain and key, the CAs and
 * CRLs the peer is verified against, from files or PEM text (see
 * tls_load.h).
 *
 * Files are read here rather than by OpenSSL's *_file helpers so that the
 * errno behind a failure (missing, unreadable) is ours and exact, and so
 * that files and PEM strings share a single parsing path through memory
 * BIOs. Buffers that held key material are cleansed before being freed.
 */
#include "tls/tls_load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* Larger than any sane certificate bundle (the Debian system bundle is
 * about 200 KiB); bounds what a misconfigured path can make us allocate. */
#define TLS_FILE_MAX (16u * 1024u * 1024u)

typedef struct tls_pem_src {
    const char *what; /* "certificate", "private key", "CA" */
    const char *file;
    const char *pem;
} tls_pem_src_t;

/* A source opened as a memory BIO, plus the file bytes behind it. */
typedef struct tls_input {
    BIO *bio;
    char *buf;  /* file contents, cleansed on release */
    size_t cap; /* size of buf's allocation */
} tls_input_t;

int tls_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

void tls_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Copies a path for display: bounded, control characters replaced, so a
 * hostile or mistaken value cannot forge log lines. */
static void tls_path_for_log(char *dst, size_t cap, const char *path)
{
    size_t i = 0;

    for (; path[i] != '\0' && i + 1 < cap; i++) {
        unsigned char ch = (unsigned char)path[i];
        dst[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    dst[i] = '\0';
    if (path[i] != '\0' && cap > 4) {
        memcpy(dst + cap - 4, "...", 4);
    }
}

/* Where a source came from, for messages: "CA file '/x/ca.pem'" or
 * "CA PEM". Never includes PEM text. */
static void tls_pem_src_label(char *dst, size_t cap, const tls_pem_src_t *src)
{
    if (tls_set(src->pem)) {
        snprintf(dst, cap, "%s PEM", src->what);
    } else {
        char path[200];
        tls_path_for_log(path, sizeof path, src->file);
        snprintf(dst, cap, "%s file '%s'", src->what, path);
    }
}

/* The earliest queued OpenSSL reason (the root cause rather than the
 * wrappers added on the way up), as static text; then empties the queue.
 * Only the reason string is used: the extra error data OpenSSL attaches
 * is not needed and is kept out of messages on principle. */
const char *tls_consume_reason(void)
{
    unsigned long e = ERR_peek_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

    ERR_clear_error();
    return r != NULL ? r : "unknown error";
}

/* 1 when the queue only says "no more PEM blocks", which is how every
 * multi-object read loop ends; anything else is a real parse error. */
static int tls_only_eof_in_queue(void)
{
    unsigned long e = ERR_peek_last_error();

    return e == 0 ||
           (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE);
}

static int tls_errno_code(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return -ENOENT;
    case EACCES:
    case EPERM:
        return -EACCES;
    case ENOMEM:
        return -ENOMEM;
    default:
        return -EINVAL;
    }
}

static void tls_cleanse_free(char *buf, size_t len)
{
    if (buf != NULL) {
        OPENSSL_cleanse(buf, len);
        free(buf);
    }
}

/* Reads a whole regular file. O_NONBLOCK keeps a FIFO given by mistake
 * from hanging the caller in open(). */
static int tls_read_file(const char *path, char **out, size_t *outcap, size_t *outlen,
                         char *err, size_t errlen, const char *label)
{
    struct stat st;
    char *buf = NULL;
    size_t cap, len = 0;
    int fd, e;

    *out = NULL;
    *outcap = 0;
    *outlen = 0;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        e = errno;
        tls_err(err, errlen, "cannot open %s: %s", label, strerror(e));
        return tls_errno_code(e);
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        tls_err(err, errlen, "cannot use %s: not a regular file", label);
        return -EINVAL;
    }
    if ((unsigned long long)st.st_size > TLS_FILE_MAX) {
        close(fd);
        tls_err(err, errlen, "cannot use %s: larger than %u bytes", label, TLS_FILE_MAX);
        return -EINVAL;
    }
    /* st_size is a hint only: the file may change while we read it. */
    cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (buf == NULL) {
        close(fd);
        tls_err(err, errlen, "cannot read %s: out of memory", label);
        return -ENOMEM;
    }
    for (;;) {
        ssize_t r;

        if (len == cap) {
            char *nb;
            size_t ncap = cap * 2;
            if (cap >= TLS_FILE_MAX || (nb = malloc(ncap)) == NULL) {
                int toobig = cap >= TLS_FILE_MAX;
                close(fd);
                tls_cleanse_free(buf, cap);
                tls_err(err, errlen, "cannot read %s: %s", label,
                        toobig ? "file too large" : "out of memory");
                return toobig ? -EINVAL : -ENOMEM;
            }
            /* Copy-then-cleanse instead of realloc so no stale copy of a
             * key is left behind in freed memory. */
            memcpy(nb, buf, len);
            tls_cleanse_free(buf, cap);
            buf = nb;
            cap = ncap;
        }
        r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            e = errno;
            close(fd);
            tls_cleanse_free(buf, cap);
            tls_err(err, errlen, "cannot read %s: %s", label, strerror(e));
            return tls_errno_code(e);
        }
        if (r == 0) {
            break;
        }
        len += (size_t)r;
    }
    close(fd);
    *out = buf;
    *outcap = cap;
    *outlen = len;
    return 0;
}

static void tls_input_release(tls_input_t *in)
{
    BIO_free(in->bio);
    tls_cleanse_free(in->buf, in->cap);
    in->bio = NULL;
    in->buf = NULL;
    in->cap = 0;
}

/* Opens a source (PEM text wins over the file) as a read-only memory BIO. */
static int tls_input_open(tls_input_t *in, const tls_pem_src_t *src, const char *label,
                          char *err, size_t errlen)
{
    in->bio = NULL;
    in->buf = NULL;
    in->cap = 0;
    if (tls_set(src->pem)) {
        in->bio = BIO_new_mem_buf(src->pem, -1);
    } else {
        size_t len = 0;
        int rc;

        /* A PEM blob put in a path field by mistake would otherwise be
         * echoed in the "cannot open" message, key included. */
        if (strstr(src->file, "-----BEGIN") != NULL) {
            tls_err(err, errlen, "%s file: the value is PEM text, not a path", src->what);
            return -EINVAL;
        }
        rc = tls_read_file(src->file, &in->buf, &in->cap, &len, err, errlen, label);
        if (rc != 0) {
            return rc;
        }
        /* len <= TLS_FILE_MAX, so it fits the int OpenSSL wants. */
        in->bio = BIO_new_mem_buf(in->buf, (int)len);
    }
    if (in->bio == NULL) {
        ERR_clear_error();
        tls_input_release(in);
        tls_err(err, errlen, "cannot read %s: out of memory", label);
        return -ENOMEM;
    }
    return 0;
}

/* memmem for possibly non-NUL-terminated file contents. */
static int tls_mem_has(const char *data, size_t len, const char *needle)
{
    size_t n = strlen(needle), i;

    for (i = 0; len >= n && i <= len - n; i++) {
        if (memcmp(data + i, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Never prompts: an encrypted key must fail fast instead of blocking the
 * caller on a terminal read. */
int tls_no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

/* Leaf first, then any intermediates, as in the usual chain file. */
static int tls_load_chain(SSL_CTX *ctx, const tls_pem_src_t *src, char *err,
                          size_t errlen)
{
    char label[256];
    tls_input_t in;
    X509 *x;
    int rc;

    tls_pem_src_label(label, sizeof label, src);
    rc = tls_input_open(&in, src, label, err, errlen);
    if (rc != 0) {
        return rc;
    }
    ERR_clear_error();
    x = PEM_read_bio_X509_AUX(in.bio, NULL, tls_no_password, NULL);
    if (x == NULL) {
        tls_err(err, errlen, "%s: no usable certificate (%s)", label,
                tls_consume_reason());
        tls_input_release(&in);
        return -EINVAL;
    }
    if (SSL_CTX_use_certificate(ctx, x) != 1) {
        X509_free(x);
        tls_err(err, errlen, "%s: certificate rejected (%s)", label,
                tls_consume_reason());
        tls_input_release(&in);
        return -EINVAL;
    }
    X509_free(x);
    SSL_CTX_clear_chain_certs(ctx);
    while ((x = PEM_read_bio_X509(in.bio, NULL, tls_no_password, NULL)) != NULL) {
        if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
            X509_free(x);
            tls_err(err, errlen, "%s: chain certificate rejected (%s)", label,
                    tls_consume_reason());
            tls_input_release(&in);
            return -EINVAL;
        }
    }
    if (!tls_only_eof_in_queue()) {
        tls_err(err, errlen, "%s: bad chain certificate (%s)", label,
                tls_consume_reason());
        tls_input_release(&in);
        return -EINVAL;
    }
    ERR_clear_error();
    tls_input_release(&in);
    return 0;
}

static int tls_load_key(SSL_CTX *ctx, const tls_pem_src_t *src, char *err, size_t errlen)
{
    char label[256];
    tls_input_t in;
    EVP_PKEY *pkey;
    int rc;

    tls_pem_src_label(label, sizeof label, src);
    rc = tls_input_open(&in, src, label, err, errlen);
    if (rc != 0) {
        return rc;
    }
    /* OpenSSL 3's decoders explain most failures as just "unsupported";
     * a look at the PEM labels gives a more useful message. */
    {
        char *data = NULL;
        long len = BIO_get_mem_data(in.bio, &data);

        if (len <= 0 || !tls_mem_has(data, (size_t)len, "PRIVATE KEY-----")) {
            tls_err(err, errlen, "%s: no private key found", label);
            tls_input_release(&in);
            return -EINVAL;
        }
        if (tls_mem_has(data, (size_t)len, "-----BEGIN ENCRYPTED PRIVATE KEY") ||
            tls_mem_has(data, (size_t)len, "Proc-Type: 4,ENCRYPTED")) {
            tls_err(err, errlen, "%s: encrypted keys are not supported", label);
            tls_input_release(&in);
            return -EINVAL;
        }
    }
    ERR_clear_error();
    pkey = PEM_read_bio_PrivateKey(in.bio, NULL, tls_no_password, NULL);
    tls_input_release(&in);
    if (pkey == NULL) {
        tls_err(err, errlen, "%s: unreadable key (%s)", label, tls_consume_reason());
        return -EINVAL;
    }
    /* OpenSSL already compares the key with the certificate here when the
     * types agree; tls_ctx_new re-checks with SSL_CTX_check_private_key
     * for the cases where they do not. */
    if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
        EVP_PKEY_free(pkey);
        tls_err(err, errlen, "%s: key does not match the certificate (%s)", label,
                tls_consume_reason());
        return -EINVAL;
    }
    EVP_PKEY_free(pkey);
    return 0;
}

/* One PEM object from bio into the context: 1 added, 0 no more objects,
 * -1 rejected (the reason in OpenSSL's queue). */
typedef int (*tls_load_one_fn)(SSL_CTX *ctx, BIO *bio, int is_server);

/* Reads every object of src with `one`; `what` names them in errors
 * ("CA certificate", "CRL"). At least one, and nothing after the last but
 * the end of the input. 0 or a negative errno, label set either way. */
static int tls_load_all(SSL_CTX *ctx, int is_server, const tls_pem_src_t *src,
                        tls_load_one_fn one, const char *what, char *label,
                        size_t labellen, char *err, size_t errlen)
{
    tls_input_t in;
    int rc, count = 0;

    tls_pem_src_label(label, labellen, src);
    rc = tls_input_open(&in, src, label, err, errlen);
    if (rc != 0) {
        return rc;
    }
    ERR_clear_error();
    while ((rc = one(ctx, in.bio, is_server)) > 0) {
        count++;
    }
    if (rc < 0) {
        tls_err(err, errlen, "%s: %s rejected (%s)", label, what, tls_consume_reason());
    } else if (count == 0 || !tls_only_eof_in_queue()) {
        tls_err(err, errlen, "%s: %s %s (%s)", label, count == 0 ? "no usable" : "bad",
                what, tls_consume_reason());
        rc = -1;
    }
    ERR_clear_error();
    tls_input_release(&in);
    return rc < 0 ? -EINVAL : 0;
}

/* Trust anchors. On a server they are also advertised to clients
 * (certificate_authorities) so clients holding several certificates can
 * choose the right one. _AUX also accepts "TRUSTED CERTIFICATE" blocks, as
 * the usual CA bundle loaders do. */
static int tls_load_one_ca(SSL_CTX *ctx, BIO *bio, int is_server)
{
    X509 *x = PEM_read_bio_X509_AUX(bio, NULL, tls_no_password, NULL);
    if (x == NULL)
        return 0;
    int ok = X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x) == 1 &&
             (!is_server || SSL_CTX_add_client_CA(ctx, x) == 1);
    X509_free(x);
    return ok ? 1 : -1;
}

static int tls_load_ca(SSL_CTX *ctx, int is_server, const tls_pem_src_t *src, char *err,
                       size_t errlen)
{
    char label[256];
    return tls_load_all(ctx, is_server, src, tls_load_one_ca, "CA certificate", label,
                        sizeof label, err, errlen);
}

static int tls_load_one_crl(SSL_CTX *ctx, BIO *bio, int is_server)
{
    (void)is_server;
    X509_CRL *crl = PEM_read_bio_X509_CRL(bio, NULL, tls_no_password, NULL);
    if (crl == NULL)
        return 0;
    int ok = X509_STORE_add_crl(SSL_CTX_get_cert_store(ctx), crl) == 1;
    X509_CRL_free(crl);
    return ok ? 1 : -1;
}

/* Revocation lists, in the store the peer's chain is verified against.
 * Every certificate of the chain is checked (CRL_CHECK_ALL), not only the
 * peer's own: with a revoked intermediate its whole subtree must go, and
 * a CA whose CRL is missing fails verification rather than passing
 * unchecked. The flags go on the context's verify parameters, which every
 * connection copies (and tls_session.c reads to know CRLs are in use). */
static int tls_load_crl(SSL_CTX *ctx, const tls_pem_src_t *src, char *err, size_t errlen)
{
    char label[256];
    int rc = tls_load_all(ctx, 0, src, tls_load_one_crl, "CRL", label, sizeof label, err,
                          errlen);
    if (rc != 0)
        return rc;
    if (X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx),
                                    X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL) !=
        1) {
        tls_err(err, errlen, "%s: cannot enable CRL checks (%s)", label,
                tls_consume_reason());
        return -ENOMEM;
    }
    return 0;
}

int tls_load_credentials(SSL_CTX *ctx, int is_server, const tls_creds_t *creds, char *err,
                         size_t errlen)
{
    const tls_pem_src_t cert_src = {"certificate", creds->cert_file, creds->cert_pem};
    const tls_pem_src_t key_src = {"private key", creds->key_file, creds->key_pem};
    const tls_pem_src_t ca_src = {"CA", creds->ca_file, creds->ca_pem};
    const tls_pem_src_t crl_src = {"CRL", creds->crl_file, NULL};
    const tls_pem_src_t *cert = &cert_src, *key = &key_src, *ca = &ca_src,
                        *crl = &crl_src;
    int rc;
    if (tls_set(cert->pem) || tls_set(cert->file)) {
        rc = tls_load_chain(ctx, cert, err, errlen);
        if (rc == 0)
            rc = tls_load_key(ctx, key, err, errlen);
        if (rc != 0)
            return rc;
        ERR_clear_error();
        if (SSL_CTX_check_private_key(ctx) != 1) {
            char label[256];
            tls_pem_src_label(label, sizeof label, key);
            tls_err(err, errlen, "%s: key does not match the certificate (%s)", label,
                    tls_consume_reason());
            return -EINVAL;
        }
    }
    if (tls_set(ca->pem) || tls_set(ca->file)) {
        rc = tls_load_ca(ctx, is_server, ca, err, errlen);
        if (rc != 0)
            return rc;
    } else {
        /* Client without a CA: trust what the system trusts. A missing
         * system store is not an error here; verification will fail later
         * with a precise reason instead. */
        ERR_clear_error();
        (void)SSL_CTX_set_default_verify_paths(ctx);
    }
    if (tls_set(crl->file))
        return tls_load_crl(ctx, crl, err, errlen);
    return 0;
}

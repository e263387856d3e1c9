/*
 * tls_ctx_new: what loads, what is refused with which error code, and what
 * the one-line reason says (and never says).
 * Needs ZMTLS_TEST_CERTS (scripts/make-certs.sh output).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "check.h"
#include "tls/tls.h"

static const char *certs_dir;
static char tmp_dir[256];

/* Rotating buffers so several paths can be built for one call. */
static const char *cert_path(const char *name)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];

    snprintf(b, sizeof bufs[0], "%s/%s", certs_dir, name);
    return b;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;

    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    len = ftell(f);
    CHECK(len >= 0);
    rewind(f);
    buf = malloc((size_t)len + 1);
    CHECK(buf != NULL);
    CHECK(fread(buf, 1, (size_t)len, f) == (size_t)len);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    CHECK(f != NULL);
    CHECK(fwrite(text, 1, strlen(text), f) == strlen(text));
    CHECK(fclose(f) == 0);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        n++;
    }
    closedir(d);
    return n;
}

/* Runs tls_ctx_new and checks the invariants every call must keep: an
 * error code with a message and no context, or 0 with a context; never key
 * material in the message; nothing left in the OpenSSL error queue. */
static int try_ctx(int is_server, const tls_creds_t *cr, char *err, size_t errlen,
                   SSL_CTX **keep)
{
    SSL_CTX *ctx = (SSL_CTX *)&ctx; /* must be overwritten */
    int rc;

    err[0] = 'x';
    err[1] = '\0';
    rc = tls_ctx_new(&ctx, is_server, cr, NULL, err, errlen);
    CHECK_EQ(ERR_peek_error(), 0);
    if (rc == 0) {
        CHECK(ctx != NULL);
        if (keep != NULL) {
            *keep = ctx;
        } else {
            SSL_CTX_free(ctx);
        }
    } else {
        CHECK(ctx == NULL);
        CHECK(strlen(err) > 0);
        CHECK(strchr(err, '\n') == NULL);
        CHECK(strstr(err, "PRIVATE KEY") == NULL);
        CHECK(strstr(err, "-----BEGIN") == NULL);
        fprintf(stderr, "  [%d] %s\n", rc, err);
    }
    return rc;
}

static tls_creds_t files(const char *cert, const char *key, const char *ca)
{
    tls_creds_t cr = {0};

    cr.cert_file = cert != NULL ? cert_path(cert) : NULL;
    cr.key_file = key != NULL ? cert_path(key) : NULL;
    cr.ca_file = ca != NULL ? cert_path(ca) : NULL;
    return cr;
}

static void test_good_contexts(void)
{
    char err[256];
    tls_creds_t cr;
    SSL_CTX *ctx = NULL;
    long mode;

    /* Server from files: TLS 1.3 only, client certificates mandatory. */
    cr = files("server.pem", "server.key", "ca.pem");
    CHECK_EQ(try_ctx(1, &cr, err, sizeof err, &ctx), 0);
    CHECK_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
    CHECK_EQ(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
    CHECK_EQ(SSL_CTX_get_verify_mode(ctx),
             SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
    mode = SSL_CTX_get_mode(ctx);
    CHECK((mode & SSL_MODE_ENABLE_PARTIAL_WRITE) != 0);
    CHECK((mode & SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER) != 0);
    /* Buffers stay while busy (idle connections trim them instead). */
    CHECK((mode & SSL_MODE_RELEASE_BUFFERS) == 0);
    /* AES-128-GCM first, and the server decides. */
    CHECK((SSL_CTX_get_options(ctx) & SSL_OP_CIPHER_SERVER_PREFERENCE) != 0);
    CHECK_STR(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(SSL_CTX_get_ciphers(ctx), 0)),
              "TLS_AES_128_GCM_SHA256");
    /* The CA is advertised to clients. */
    CHECK(SSL_CTX_get_client_CA_list(ctx) != NULL);
    CHECK_EQ(sk_X509_NAME_num(SSL_CTX_get_client_CA_list(ctx)), 1);
    SSL_CTX_free(ctx);

    /* Client with certificate; client with CA only; client with nothing
     * (system trust store). */
    cr = files("client.pem", "client.key", "ca.pem");
    CHECK_EQ(try_ctx(0, &cr, err, sizeof err, &ctx), 0);
    CHECK_EQ(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);
    CHECK_EQ(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
    CHECK_EQ(SSL_CTX_get_security_level(ctx), 2);
    SSL_CTX_free(ctx);
    cr = files(NULL, NULL, "ca.pem");
    CHECK_EQ(try_ctx(0, &cr, err, sizeof err, NULL), 0);
    CHECK_EQ(try_ctx(0, NULL, err, sizeof err, NULL), 0);
    cr = (tls_creds_t){"", "", "", "", "", "", ""};
    CHECK_EQ(try_ctx(0, &cr, err, sizeof err, NULL), 0);

    /* The same credentials as PEM text. */
    {
        char *cert = slurp(cert_path("server.pem"));
        char *key = slurp(cert_path("server.key"));
        char *ca = slurp(cert_path("ca.pem"));
        char *chain = malloc(strlen(cert) + strlen(ca) + 1);
        STACK_OF(X509) *extra = NULL;

        CHECK(chain != NULL);
        cr = (tls_creds_t){0};
        cr.cert_pem = cert;
        cr.key_pem = key;
        cr.ca_pem = ca;
        CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), 0);

        /* PEM text wins over a file, even a missing one. */
        cr.cert_file = "/nonexistent/cert.pem";
        cr.key_file = "/nonexistent/key.pem";
        cr.ca_file = "/nonexistent/ca.pem";
        CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), 0);

        /* Leaf followed by its chain: the extra certificate is kept. */
        strcpy(chain, cert);
        strcat(chain, ca);
        cr.cert_pem = chain;
        CHECK_EQ(try_ctx(1, &cr, err, sizeof err, &ctx), 0);
        CHECK_EQ(SSL_CTX_get0_chain_certs(ctx, &extra), 1);
        CHECK(extra != NULL);
        CHECK_EQ(sk_X509_num(extra), 1);
        SSL_CTX_free(ctx);

        /* A combined file (key and certificate in one) serves as both. */
        strcpy(chain, key);
        chain = realloc(chain, strlen(key) + strlen(cert) + 1);
        CHECK(chain != NULL);
        strcat(chain, cert);
        cr = (tls_creds_t){0};
        cr.cert_pem = chain;
        cr.key_pem = chain;
        cr.ca_pem = ca;
        CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), 0);

        free(chain);
        free(cert);
        free(key);
        free(ca);
    }
}

static void test_missing_and_unreadable(void)
{
    char err[256], path[512];
    tls_creds_t cr;

    cr = files("server.pem", "server.key", "ca.pem");
    cr.cert_file = "/nonexistent/zmtls-cert.pem";
    CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), -ENOENT);
    CHECK(strstr(err, "/nonexistent/zmtls-cert.pem") != NULL);

    cr = files("server.pem", "server.key", "ca.pem");
    cr.key_file = "/nonexistent/zmtls-key.pem";
    CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), -ENOENT);
    CHECK(strstr(err, "/nonexistent/zmtls-key.pem") != NULL);

    cr = files(NULL, NULL, "ca.pem");
    cr.ca_file = "/nonexistent/zmtls-ca.pem";
    CHECK_EQ(try_ctx(0, &cr, err, sizeof err, NULL), -ENOENT);
    CHECK(strstr(err, "/nonexistent/zmtls-ca.pem") != NULL);

    /* A directory is not a certificate file. */
    cr = files(NULL, NULL, NULL);
    cr.ca_file = tmp_dir;
    CHECK_EQ(try_ctx(0, &cr, err, sizeof err, NULL), -EINVAL);
    CHECK(strstr(err, tmp_dir) != NULL);

    snprintf(path, sizeof path, "%s/unreadable.pem", tmp_dir);
    write_file(path, "whatever\n");
    CHECK_EQ(chmod(path, 0), 0);
    if (access(path, R_OK) == 0) {
        /* root reads anything: the check cannot be made here. */
        fprintf(stderr, "  (EACCES check skipped: running with read override)\n");
    } else {
        cr = files(NULL, NULL, NULL);
        cr.ca_file = path;
        CHECK_EQ(try_ctx(0, &cr, err, sizeof err, NULL), -EACCES);
        CHECK(strstr(err, path) != NULL);
    }
    unlink(path);
}

static void test_bad_content(void)
{
    static const char garbage[] = "this is not PEM at all\n";
    static const char bad_b64[] = "-----BEGIN CERTIFICATE-----\n"
                                  "!!!! not base64 !!!!\n"
                                  "-----END CERTIFICATE-----\n";
    static const char bad_der[] = "-----BEGIN CERTIFICATE-----\n"
                                  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
                                  "-----END CERTIFICATE-----\n";
    char err[256], path[512];
    tls_creds_t cr;
    char *key_text = slurp(cert_path("client.key"));

    cr = files("server.pem", "server.key", "ca.pem");
    cr.cert_pem = garbage;
    CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), -EINVAL);
    cr.cert_pem = bad_b64;
    CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), -EINVAL);
    cr.cert_pem = bad_der;
    CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), -EINVAL);

    cr = files("server.pem", "server.key", "ca.pem");
    cr.key_pem = garbage;
    CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), -EINVAL);
    cr.key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), -EINVAL);

    cr = files("server.pem", "server.key", "ca.pem");
    cr.ca_pem = garbage;
    CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), -EINVAL);
    /* A good CA followed by a broken one is refused as a whole. */
    {
        char *ca = slurp(cert_path("ca.pem"));
        char *both = malloc(strlen(ca) + sizeof bad_der);
        CHECK(both != NULL);
        strcpy(both, ca);
        strcat(both, bad_der);
        cr.ca_pem = both;
        CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), -EINVAL);
        free(both);
        free(ca);
    }

    /* Empty file. */
    snprintf(path, sizeof path, "%s/empty.pem", tmp_dir);
    write_file(path, "");
    cr = files("server.pem", "server.key", "ca.pem");
    cr.ca_file = path;
    CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), -EINVAL);
    unlink(path);

    /* A key file given as the certificate: refused, and the message must
     * not quote it. */
    cr = files("client.key", "client.key", "ca.pem");
    CHECK_EQ(try_ctx(0, &cr, err, sizeof err, NULL), -EINVAL);
    cr = files("client.pem", "client.key", "ca.pem");
    cr.cert_pem = key_text;
    CHECK_EQ(try_ctx(0, &cr, err, sizeof err, NULL), -EINVAL);

    /* PEM text put in a path field. */
    cr = files("client.pem", "client.key", "ca.pem");
    cr.key_file = key_text;
    CHECK_EQ(try_ctx(0, &cr, err, sizeof err, NULL), -EINVAL);
    cr = files("client.pem", "client.key", "ca.pem");
    cr.cert_file = key_text;
    CHECK_EQ(try_ctx(0, &cr, err, sizeof err, NULL), -EINVAL);

    /* An encrypted key fails at once instead of prompting for a
     * password. */
    {
        BIO *in = BIO_new_mem_buf(key_text, -1);
        BIO *out = BIO_new(BIO_s_mem());
        EVP_PKEY *pkey = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
        char *enc;
        long len;

        CHECK(pkey != NULL && out != NULL);
        CHECK_EQ(PEM_write_bio_PrivateKey(out, pkey, EVP_aes_256_cbc(),
                                          (unsigned char *)"secret", 6, NULL, NULL),
                 1);
        len = BIO_get_mem_data(out, &enc);
        CHECK(len > 0);
        enc = strndup(enc, (size_t)len);
        CHECK(enc != NULL);
        CHECK(strstr(enc, "ENCRYPTED") != NULL);
        cr = files("client.pem", NULL, "ca.pem");
        cr.key_pem = enc;
        CHECK_EQ(try_ctx(0, &cr, err, sizeof err, NULL), -EINVAL);
        free(enc);
        EVP_PKEY_free(pkey);
        BIO_free(in);
        BIO_free(out);
    }
    free(key_text);
}

static void test_mismatch_and_missing(void)
{
    char err[256];
    tls_creds_t cr;

    /* Key of another certificate. */
    cr = files("server.pem", "client.key", "ca.pem");
    CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), -EINVAL);
    CHECK(strstr(err, "match") != NULL);
    CHECK(strstr(err, "client.key") != NULL);
    cr = files("client.pem", "rogue-client.key", NULL);
    CHECK_EQ(try_ctx(0, &cr, err, sizeof err, NULL), -EINVAL);

    /* A key below security level 2. */
    cr = files("rsa1024-client.pem", "rsa1024-client.key", "ca.pem");
    CHECK_EQ(try_ctx(0, &cr, err, sizeof err, NULL), -EINVAL);
    CHECK(strstr(err, "too small") != NULL);

    /* Server: certificate, key and CA are all required. */
    cr = files(NULL, NULL, "ca.pem");
    CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), -EINVAL);
    cr = files("server.pem", "server.key", NULL);
    CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), -EINVAL);
    CHECK(strstr(err, "CA") != NULL);
    cr = files("server.pem", NULL, "ca.pem");
    CHECK_EQ(try_ctx(1, &cr, err, sizeof err, NULL), -EINVAL);
    CHECK_EQ(try_ctx(1, NULL, err, sizeof err, NULL), -EINVAL);

    /* Client: certificate and key come together. */
    cr = files("client.pem", NULL, "ca.pem");
    CHECK_EQ(try_ctx(0, &cr, err, sizeof err, NULL), -EINVAL);
    cr = files(NULL, "client.key", "ca.pem");
    CHECK_EQ(try_ctx(0, &cr, err, sizeof err, NULL), -EINVAL);
}

/* The policy reaches the context; values out of range are refused. */
static void test_policy(void)
{
    char err[256];
    tls_creds_t cr = files("server.pem", "server.key", "ca.pem");
    tls_policy_t p;
    SSL_CTX *ctx = NULL;

    /* NULL: the defaults of include/zmtls.h. */
    CHECK_EQ(tls_ctx_new(&ctx, 1, &cr, NULL, err, sizeof err), 0);
    CHECK_EQ(SSL_CTX_get_verify_depth(ctx), 4);
    CHECK_EQ(SSL_CTX_get_timeout(ctx), 3600);
    SSL_CTX_free(ctx);

    tls_policy_init(&p);
    CHECK_EQ(p.verify_depth, 4);
    CHECK_EQ(p.session_lifetime, 3600);
    p.verify_depth = 7;
    p.session_lifetime = 120;
    CHECK_EQ(tls_ctx_new(&ctx, 1, &cr, &p, err, sizeof err), 0);
    CHECK_EQ(SSL_CTX_get_verify_depth(ctx), 7);
    CHECK_EQ(SSL_CTX_get_timeout(ctx), 120);
    SSL_CTX_free(ctx);

    static const int bad_depth[] = {-1, 101};
    for (size_t i = 0; i < sizeof bad_depth / sizeof bad_depth[0]; i++) {
        tls_policy_init(&p);
        p.verify_depth = bad_depth[i];
        ctx = NULL;
        CHECK_EQ(tls_ctx_new(&ctx, 0, &cr, &p, err, sizeof err), -EINVAL);
        CHECK(ctx == NULL);
        CHECK(strstr(err, "verify depth") != NULL);
    }
    static const int bad_lifetime[] = {0, -1, 604801};
    for (size_t i = 0; i < sizeof bad_lifetime / sizeof bad_lifetime[0]; i++) {
        tls_policy_init(&p);
        p.session_lifetime = bad_lifetime[i];
        ctx = NULL;
        CHECK_EQ(tls_ctx_new(&ctx, 1, &cr, &p, err, sizeof err), -EINVAL);
        CHECK(ctx == NULL);
        CHECK(strstr(err, "session lifetime") != NULL);
    }
}

static void test_err_buffer(void)
{
    char small[8];
    tls_creds_t cr = files("server.pem", "server.key", "ca.pem");
    SSL_CTX *ctx = NULL;

    cr.cert_file = "/nonexistent/a-rather-long-path/cert.pem";
    memset(small, 'x', sizeof small);
    CHECK_EQ(tls_ctx_new(&ctx, 1, &cr, NULL, small, sizeof small), -ENOENT);
    CHECK(memchr(small, '\0', sizeof small) != NULL);
    CHECK(ctx == NULL);
    /* No buffer at all. */
    CHECK_EQ(tls_ctx_new(&ctx, 1, &cr, NULL, NULL, 0), -ENOENT);
    CHECK_EQ(tls_ctx_new(NULL, 1, &cr, NULL, NULL, 0), -EINVAL);
    CHECK_EQ(ERR_peek_error(), 0);
}

int main(void)
{
    int fds_before;

    certs_dir = getenv("ZMTLS_TEST_CERTS");
    if (certs_dir == NULL || certs_dir[0] == '\0') {
        fprintf(stderr, "ZMTLS_TEST_CERTS is not set (see scripts/make-certs.sh)\n");
        return 1;
    }
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/zmtls-tls-ctx-XXXXXX");
    CHECK(mkdtemp(tmp_dir) != NULL);
    fds_before = count_fds();

    test_good_contexts();
    test_missing_and_unreadable();
    test_bad_content();
    test_mismatch_and_missing();
    test_policy();
    test_err_buffer();

    /* Every path closed what it opened. */
    CHECK_EQ(count_fds(), fds_before);
    CHECK_EQ(rmdir(tmp_dir), 0);
    fprintf(stderr, "unit.tls_ctx: ok\n");
    return 0;
}

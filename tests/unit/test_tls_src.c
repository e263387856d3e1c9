/*
 * Credential sources (tls/tls_src.h): which file changes are seen, that a
 * failed rebuild is not retried until a file changes again, that PEM text
 * is not watched, and that copies share an origin until a rebuild.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "tls/tls_src.h"

static char dir[64];

static const char *at(const char *name)
{
    static char bufs[4][256];
    static unsigned next;
    char *buf = bufs[next++ % 4];
    snprintf(buf, sizeof bufs[0], "%s/%s", dir, name);
    return buf;
}

static void copy(const char *name, const char *cert_name)
{
    char *text = tu_file_read(tu_cert(cert_name));
    tu_file_replace(at(name), text);
    free(text);
}

static tls_src_t *server_src(void)
{
    tls_creds_t c = {.cert_file = at("link.pem"),
                     .key_file = at("key.pem"),
                     .ca_file = tu_cert("ca.pem")};
    tls_src_t *src = NULL;
    SSL_CTX *ctx = NULL;
    char err[512];
    int rc = tls_src_new(&src, &ctx, 1, &c, NULL, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "tls_src_new: %s\n", err);
    CHECK_EQ(rc, 0);
    SSL_CTX_free(ctx);
    return src;
}

int main(void)
{
    tu_watchdog(TU_WATCHDOG_S);
    snprintf(dir, sizeof(dir), "/tmp/zmtls-src-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    copy("a.pem", "server.pem");
    copy("b.pem", "server.pem");
    copy("key.pem", "server.key");
    CHECK(symlink(at("a.pem"), at("link.pem")) == 0);

    tls_src_t *src = server_src();
    CHECK_EQ(tls_src_watched(src), 1);
    CHECK_EQ(tls_src_changed(src), 0);
    tls_src_t *twin = tls_src_clone(src);
    CHECK(twin != NULL);
    CHECK(tls_src_origin(twin) == tls_src_origin(src));

    /* A symlink swapped to another file (same content): a change. */
    CHECK(symlink(at("b.pem"), at("link.new")) == 0);
    CHECK(rename(at("link.new"), at("link.pem")) == 0);
    CHECK_EQ(tls_src_changed(src), 1);
    SSL_CTX *ctx = NULL;
    char files[512], err[512];
    CHECK_EQ(tls_src_build(src, &ctx, files, sizeof(files), err, sizeof(err)), 0);
    SSL_CTX_free(ctx);
    CHECK_EQ(tls_src_changed(src), 0);
    CHECK(tls_src_origin(src) != tls_src_origin(twin));
    CHECK_EQ(tls_src_changed(twin), 1);
    tls_src_adopt(twin, src);
    CHECK_EQ(tls_src_changed(twin), 0);
    CHECK(tls_src_origin(twin) == tls_src_origin(src));

    /* Rewritten in place with garbage: a change; the build fails naming the
     * file, and is not due again until the file changes. */
    tu_file_rewrite(at("b.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n");
    CHECK_EQ(tls_src_changed(src), 1);
    ctx = NULL;
    CHECK_EQ(tls_src_build(src, &ctx, files, sizeof(files), err, sizeof(err)), -EINVAL);
    CHECK(ctx == NULL);
    CHECK_STR(files, at("link.pem"));
    printf("tls_src: %s: %s\n", files, err);
    CHECK_EQ(tls_src_changed(src), 0);
    /* A key that does not match, then the right certificate again. */
    copy("key.pem", "client.key");
    CHECK_EQ(tls_src_changed(src), 1);
    CHECK(tls_src_build(src, &ctx, files, sizeof(files), err, sizeof(err)) < 0);
    copy("key.pem", "server.key");
    copy("b.pem", "server.pem");
    CHECK_EQ(tls_src_changed(src), 1);
    CHECK_EQ(tls_src_build(src, &ctx, files, sizeof(files), err, sizeof(err)), 0);
    SSL_CTX_free(ctx);

    /* A file that disappears is a change too (and a failure). */
    CHECK(unlink(at("a.pem")) == 0);
    CHECK(symlink(at("a.pem"), at("link.new")) == 0);
    CHECK(rename(at("link.new"), at("link.pem")) == 0);
    CHECK_EQ(tls_src_changed(src), 1);
    CHECK_EQ(tls_src_build(src, &ctx, files, sizeof(files), err, sizeof(err)), -ENOENT);

    /* PEM text is not watched. */
    char *cert = tu_file_read(tu_cert("client.pem"));
    char *key = tu_file_read(tu_cert("client.key"));
    tls_creds_t pem = {.cert_pem = cert, .key_pem = key, .cert_file = at("b.pem")};
    tls_src_t *p = NULL;
    CHECK_EQ(tls_src_new(&p, &ctx, 0, &pem, NULL, err, sizeof(err)), 0);
    SSL_CTX_free(ctx);
    CHECK_EQ(tls_src_watched(p), 0);
    tls_src_destroy(&p);
    CHECK(p == NULL);
    free(cert);
    free(key);

    tls_src_destroy(&src);
    tls_src_destroy(&twin);
    const char *names[] = {"b.pem", "key.pem", "link.pem"};
    for (size_t i = 0; i < 3; i++)
        unlink(at(names[i]));
    CHECK(rmdir(dir) == 0);
    return 0;
}

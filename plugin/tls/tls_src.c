/* Credential sources: see tls_src.h. */
#include "tls/tls_src.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The files a context may read; a CRL file has no PEM text form. */
enum { SRC_CERT, SRC_KEY, SRC_CA, SRC_CRL, SRC_N };

typedef struct src_id {
    int err; /* stat's errno, 0 when the fields below are valid */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim;
} src_id_t;

struct tls_src {
    uint64_t origin;
    int is_server;
    char *file[SRC_N]; /* watched: set only where no PEM text wins */
    char *pem[SRC_N];
    tls_policy_t policy; /* .allow points to allow below */
    char *allow;
    src_id_t built[SRC_N]; /* the files of the context in use */
    src_id_t tried[SRC_N]; /* the files at the last attempt */
};

static atomic_uint_fast64_t src_origins = 1;

static int src_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static void src_wipe_free(char *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void tls_src_destroy(tls_src_t **src)
{
    if (src == NULL || *src == NULL)
        return;
    tls_src_t *s = *src;
    for (int i = 0; i < SRC_N; i++) {
        free(s->file[i]);
        if (i == SRC_KEY)
            src_wipe_free(s->pem[i]);
        else
            free(s->pem[i]);
    }
    free(s->allow);
    free(s);
    *src = NULL;
}

static int src_dup(char **to, const char *from)
{
    *to = NULL;
    if (!src_set(from))
        return 0;
    *to = strdup(from);
    return *to != NULL ? 0 : -ENOMEM;
}

static void src_stat(const tls_src_t *s, src_id_t out[SRC_N])
{
    memset(out, 0, sizeof(src_id_t) * SRC_N);
    for (int i = 0; i < SRC_N; i++) {
        struct stat st;
        if (s->file[i] == NULL)
            continue;
        if (stat(s->file[i], &st) != 0) {
            out[i].err = errno != 0 ? errno : EIO;
            continue;
        }
        out[i].dev = st.st_dev;
        out[i].ino = st.st_ino;
        out[i].size = st.st_size;
        out[i].mtim = st.st_mtim;
    }
}

static int src_id_eq(const src_id_t *a, const src_id_t *b)
{
    return a->err == b->err && a->dev == b->dev && a->ino == b->ino &&
           a->size == b->size && a->mtim.tv_sec == b->mtim.tv_sec &&
           a->mtim.tv_nsec == b->mtim.tv_nsec;
}

static int src_ctx(const tls_src_t *s, SSL_CTX **ctx, char *err, size_t errlen)
{
    tls_creds_t c = {
        .cert_file = s->file[SRC_CERT],
        .key_file = s->file[SRC_KEY],
        .ca_file = s->file[SRC_CA],
        .cert_pem = s->pem[SRC_CERT],
        .key_pem = s->pem[SRC_KEY],
        .ca_pem = s->pem[SRC_CA],
        .crl_file = s->file[SRC_CRL],
    };
    return tls_ctx_new(ctx, s->is_server, &c, &s->policy, err, errlen);
}

int tls_src_new(tls_src_t **src, SSL_CTX **ctx, int is_server, const tls_creds_t *creds,
                const tls_policy_t *policy, char *err, size_t errlen)
{
    *src = NULL;
    tls_src_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->is_server = is_server;
    if (policy != NULL)
        s->policy = *policy;
    else
        tls_policy_init(&s->policy);
    const char *pem[SRC_N] = {creds->cert_pem, creds->key_pem, creds->ca_pem, NULL};
    const char *file[SRC_N] = {creds->cert_file, creds->key_file, creds->ca_file,
                               creds->crl_file};
    int rc = src_dup(&s->allow, s->policy.allow);
    s->policy.allow = s->allow;
    for (int i = 0; i < SRC_N && rc == 0; i++) {
        /* PEM text wins over the file (tls.h): such a file is never read. */
        rc = src_dup(&s->pem[i], pem[i]);
        if (rc == 0 && !src_set(pem[i]))
            rc = src_dup(&s->file[i], file[i]);
    }
    if (rc < 0) {
        tls_src_destroy(&s);
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    s->origin = atomic_fetch_add(&src_origins, 1);
    src_stat(s, s->tried);
    rc = src_ctx(s, ctx, err, errlen);
    if (rc < 0) {
        tls_src_destroy(&s);
        return rc;
    }
    memcpy(s->built, s->tried, sizeof(s->built));
    *src = s;
    return 0;
}

tls_src_t *tls_src_clone(const tls_src_t *src)
{
    tls_src_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    *s = *src;
    s->allow = NULL;
    int rc = src_dup(&s->allow, src->allow);
    s->policy.allow = s->allow;
    for (int i = 0; i < SRC_N; i++) {
        s->file[i] = s->pem[i] = NULL;
        if (rc == 0)
            rc = src_dup(&s->file[i], src->file[i]);
        if (rc == 0)
            rc = src_dup(&s->pem[i], src->pem[i]);
    }
    if (rc < 0)
        tls_src_destroy(&s);
    return s;
}

uint64_t tls_src_origin(const tls_src_t *src)
{
    return src->origin;
}

int tls_src_watched(const tls_src_t *src)
{
    for (int i = 0; i < SRC_N; i++)
        if (src->file[i] != NULL)
            return 1;
    return 0;
}

int tls_src_changed(const tls_src_t *src)
{
    src_id_t now[SRC_N];
    src_stat(src, now);
    for (int i = 0; i < SRC_N; i++)
        if (!src_id_eq(&now[i], &src->tried[i]))
            return 1;
    return 0;
}

int tls_src_build(tls_src_t *src, SSL_CTX **ctx, char *files, size_t fileslen, char *err,
                  size_t errlen)
{
    src_stat(src, src->tried);
    int rc = src_ctx(src, ctx, err, errlen);
    if (rc == 0) {
        /* A new family: copies made before this build still hold the old
         * context and are checked on their own. */
        src->origin = atomic_fetch_add(&src_origins, 1);
        memcpy(src->built, src->tried, sizeof(src->built));
        return 0;
    }
    /* Name what changed: that is what the operator just deployed. */
    int any = 0;
    for (int i = 0; i < SRC_N; i++)
        any |= src->file[i] != NULL && !src_id_eq(&src->tried[i], &src->built[i]);
    size_t n = 0;
    files[0] = '\0';
    for (int i = 0; i < SRC_N; i++) {
        if (src->file[i] == NULL || (any && src_id_eq(&src->tried[i], &src->built[i])))
            continue;
        int w =
            snprintf(files + n, fileslen - n, "%s%s", n > 0 ? ", " : "", src->file[i]);
        if (w < 0 || (size_t)w >= fileslen - n)
            break;
        n += (size_t)w;
    }
    return rc;
}

void tls_src_adopt(tls_src_t *dst, const tls_src_t *src)
{
    dst->origin = src->origin;
    memcpy(dst->built, src->built, sizeof(dst->built));
    memcpy(dst->tried, src->tried, sizeof(dst->tried));
}

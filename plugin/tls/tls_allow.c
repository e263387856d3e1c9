/* Authorization by identity: see tls_allow.h. */
#include "tls/tls_allow.h"

#include "tls/tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

typedef enum tls_allow_kind {
    ALLOW_DNS,
    ALLOW_URI,
    ALLOW_CN,
    ALLOW_EMAIL,
    ALLOW_IP,
} tls_allow_kind_t;

typedef struct tls_allow_entry {
    tls_allow_kind_t kind;
    char *value;          /* as written, without the kind */
    unsigned char ip[16]; /* ALLOW_IP */
    size_t ip_len;        /* 4 or 16 */
} tls_allow_entry_t;

struct tls_allow {
    size_t n;
    tls_allow_entry_t e[];
};

static const struct {
    const char *prefix;
    tls_allow_kind_t kind;
} tls_allow_kinds[] = {{"dns:", ALLOW_DNS},
                       {"uri:", ALLOW_URI},
                       {"cn:", ALLOW_CN},
                       {"email:", ALLOW_EMAIL},
                       {"ip:", ALLOW_IP}};

void tls_allow_free(tls_allow_t *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++)
        free(a->e[i].value);
    free(a);
}

/* One entry, `len` bytes at s (trimmed). 0 or -EINVAL / -ENOMEM. */
static int tls_allow_entry(const char *s, size_t len, tls_allow_entry_t *e, char *err,
                           size_t errlen)
{
    for (size_t k = 0; k < sizeof tls_allow_kinds / sizeof tls_allow_kinds[0]; k++) {
        size_t pl = strlen(tls_allow_kinds[k].prefix);
        if (len <= pl || strncasecmp(s, tls_allow_kinds[k].prefix, pl) != 0)
            continue;
        e->kind = tls_allow_kinds[k].kind;
        e->value = strndup(s + pl, len - pl);
        if (e->value == NULL)
            return -ENOMEM;
        if (e->kind == ALLOW_IP) {
            if (inet_pton(AF_INET, e->value, e->ip) == 1) {
                e->ip_len = 4;
            } else if (inet_pton(AF_INET6, e->value, e->ip) == 1) {
                e->ip_len = 16;
            } else {
                snprintf(err, errlen, "ZMTLS_ALLOW: '%.*s' is not an IP address",
                         (int)len, s);
                return -EINVAL;
            }
        }
        if (e->kind == ALLOW_DNS && strchr(e->value + 1, '*') != NULL) {
            snprintf(err, errlen, "ZMTLS_ALLOW: '%.*s': '*' only as a whole first label",
                     (int)len, s);
            return -EINVAL;
        }
        if (e->kind == ALLOW_DNS && e->value[0] == '*' &&
            (e->value[1] != '.' || e->value[2] == '\0')) {
            snprintf(err, errlen, "ZMTLS_ALLOW: '%.*s': '*' only as a whole first label",
                     (int)len, s);
            return -EINVAL;
        }
        return 0;
    }
    snprintf(err, errlen,
             "ZMTLS_ALLOW: '%.*s' is not dns:, uri:, cn:, email: or ip: followed by a "
             "value",
             (int)len, s);
    return -EINVAL;
}

int tls_allow_parse(const char *spec, tls_allow_t **out, char *err, size_t errlen)
{
    *out = NULL;
    size_t count = 0;
    for (const char *p = spec; p != NULL; p = strchr(p, ','), p = p ? p + 1 : NULL)
        count++;
    tls_allow_t *a = calloc(1, sizeof(*a) + count * sizeof(a->e[0]));
    if (a == NULL)
        return -ENOMEM;
    const char *p = spec;
    while (p != NULL) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        while (len > 0 && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        if (len > 0) {
            int rc = tls_allow_entry(p, len, &a->e[a->n], err, errlen);
            a->n += a->e[a->n].value != NULL;
            if (rc != 0) {
                tls_allow_free(a);
                return rc;
            }
        }
        p = end != NULL ? end + 1 : NULL;
    }
    if (a->n == 0) {
        tls_allow_free(a);
        return 0;
    }
    *out = a;
    return 0;
}

/* A DNS name against a pattern: case-insensitive, "*." standing for exactly
 * one label. */
static int tls_allow_dns(const char *pattern, const char *name, size_t len)
{
    if (pattern[0] == '*') {
        const char *dot = memchr(name, '.', len);
        if (dot == NULL || dot == name)
            return 0;
        size_t rest = len - (size_t)(dot - name);
        return strlen(pattern + 1) == rest && strncasecmp(pattern + 1, dot, rest) == 0;
    }
    return strlen(pattern) == len && strncasecmp(pattern, name, len) == 0;
}

static int tls_allow_uri(const char *pattern, const char *uri, size_t len)
{
    size_t pl = strlen(pattern);
    if (pl >= 2 && strcmp(pattern + pl - 2, "/*") == 0)
        return len >= pl - 1 && memcmp(pattern, uri, pl - 1) == 0;
    return pl == len && memcmp(pattern, uri, len) == 0;
}

static int tls_allow_san(const tls_allow_entry_t *e, const GENERAL_NAME *g)
{
    if (g->type == GEN_IPADD) {
        return e->kind == ALLOW_IP && (size_t)ASN1_STRING_length(g->d.ip) == e->ip_len &&
               memcmp(ASN1_STRING_get0_data(g->d.ip), e->ip, e->ip_len) == 0;
    }
    if (g->type != GEN_DNS && g->type != GEN_URI && g->type != GEN_EMAIL)
        return 0;
    const char *v = (const char *)ASN1_STRING_get0_data(g->d.ia5);
    size_t len = (size_t)ASN1_STRING_length(g->d.ia5);
    if (memchr(v, '\0', len) != NULL)
        return 0; /* a name with a NUL in it matches nothing */
    if (g->type == GEN_DNS && e->kind == ALLOW_DNS)
        return tls_allow_dns(e->value, v, len);
    if (g->type == GEN_URI && e->kind == ALLOW_URI)
        return tls_allow_uri(e->value, v, len);
    if (g->type == GEN_EMAIL && e->kind == ALLOW_EMAIL)
        return strlen(e->value) == len && strncasecmp(e->value, v, len) == 0;
    return 0;
}

static int tls_allow_cn(const tls_allow_entry_t *e, X509 *cert)
{
    X509_NAME *name = X509_get_subject_name(cert);
    for (int i = -1; (i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0;) {
        const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        unsigned char *utf8 = NULL;
        int n = ASN1_STRING_to_UTF8(&utf8, s);
        int match = n >= 0 && strlen(e->value) == (size_t)n &&
                    memcmp(e->value, utf8, (size_t)n) == 0;
        OPENSSL_free(utf8);
        if (match)
            return 1;
    }
    return 0;
}

int tls_allow_check(const char *spec, char *err, size_t errlen)
{
    tls_allow_t *a = NULL;
    int rc = tls_allow_parse(spec, &a, err, errlen);
    tls_allow_free(a);
    return rc;
}

int tls_allow_match(const tls_allow_t *a, X509 *cert)
{
    if (a == NULL)
        return 1;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int n = names != NULL ? sk_GENERAL_NAME_num(names) : 0;
    int match = 0;
    for (size_t i = 0; i < a->n && !match; i++) {
        const tls_allow_entry_t *e = &a->e[i];
        if (e->kind == ALLOW_CN) {
            match = tls_allow_cn(e, cert);
            continue;
        }
        for (int j = 0; j < n && !match; j++)
            match = tls_allow_san(e, sk_GENERAL_NAME_value(names, j));
    }
    GENERAL_NAMES_free(names);
    return match;
}

static int tls_allow_index = -1;
static CRYPTO_ONCE tls_allow_once = CRYPTO_ONCE_STATIC_INIT;

static void tls_allow_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                              long argl, void *argp)
{
    tls_allow_free(ptr);
}

static void tls_allow_index_init(void)
{
    tls_allow_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, tls_allow_ex_free);
}

int tls_allow_attach(SSL_CTX *ctx, tls_allow_t *a)
{
    if (a == NULL)
        return 0;
    if (CRYPTO_THREAD_run_once(&tls_allow_once, tls_allow_index_init) != 1 ||
        tls_allow_index < 0 || SSL_CTX_set_ex_data(ctx, tls_allow_index, a) != 1) {
        tls_allow_free(a);
        return -ENOMEM;
    }
    return 0;
}

const tls_allow_t *tls_allow_of(const SSL_CTX *ctx)
{
    return tls_allow_index >= 0 ? SSL_CTX_get_ex_data(ctx, tls_allow_index) : NULL;
}

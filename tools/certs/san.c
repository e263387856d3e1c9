/* Subject alternative names from the command line: see certs.h. */
#include "certs.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* RFC 1035 sizes. */
#define DNS_MAX   253
#define LABEL_MAX 63

/* Host names as development names them: letters, digits, '-' and '_' in
 * labels of 1 to 63 bytes; a leftmost "*" label for a wildcard. */
static int dns_ok(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > DNS_MAX)
        return 0;
    if (strncmp(s, "*.", 2) == 0)
        s += 2;
    size_t label = 0;
    for (; *s != '\0'; s++) {
        if (*s == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (isalnum((unsigned char)*s) || *s == '-' || *s == '_') {
            if (++label > LABEL_MAX)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0;
}

/* A SPIFFE ID (spiffe://trust-domain/path): the trust domain of lower-case
 * letters, digits, '.', '-' and '_'; path segments of letters, digits, '.',
 * '-' and '_', none empty, "." or "..". zmtls's allow lists match these. */
static const char *spiffe_problem(const char *uri)
{
    const char *td = uri + strlen("spiffe://");
    const char *p = td;
    while (*p != '\0' && *p != '/') {
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '.' ||
              *p == '-' || *p == '_'))
            return "the trust domain allows a-z 0-9 . - _ only";
        p++;
    }
    if (p == td)
        return "no trust domain";
    while (*p == '/') {
        const char *seg = ++p;
        while (*p != '\0' && *p != '/') {
            if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_'))
                return "path segments allow A-Z a-z 0-9 . - _ only";
            p++;
        }
        size_t n = (size_t)(p - seg);
        if (n == 0)
            return "empty path segment (or a trailing /)";
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return "path segments . and .. are not allowed";
    }
    return NULL;
}

/* scheme ":" then printable ASCII without spaces (RFC 3986, loosely). */
static const char *uri_problem(const char *uri)
{
    const char *p = uri;
    if (!isalpha((unsigned char)*p))
        return "no scheme (expected scheme:...)";
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    if (*p != ':' || p[1] == '\0')
        return "no scheme (expected scheme:...)";
    for (const char *c = uri; *c != '\0'; c++) {
        if (*c <= ' ' || *c > '~')
            return "spaces and control or non-ASCII bytes must be percent-encoded";
    }
    if (strncmp(uri, "spiffe:", 7) == 0) {
        if (strncmp(uri, "spiffe://", 9) != 0)
            return "a SPIFFE ID is spiffe://trust-domain/path";
        return spiffe_problem(uri);
    }
    return NULL;
}

static int email_ok(const char *s)
{
    const char *at = strchr(s, '@');
    if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL)
        return 0;
    for (; *s != '\0'; s++) {
        if (*s <= ' ' || *s > '~')
            return 0;
    }
    return 1;
}

/* Appends one name of type GEN_DNS, GEN_URI or GEN_EMAIL (an IA5String)
 * or GEN_IPADD (the address's bytes). */
static int push(GENERAL_NAMES *names, int type, const unsigned char *data, int len)
{
    ASN1_STRING *value =
        type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
    GENERAL_NAME *gen = GENERAL_NAME_new();
    if (value == NULL || gen == NULL || ASN1_STRING_set(value, data, len) != 1) {
        ASN1_STRING_free(value);
        GENERAL_NAME_free(gen);
        return certs_fail(-ENOMEM, "out of memory");
    }
    GENERAL_NAME_set0_value(gen, type, value);
    if (sk_GENERAL_NAME_push(names, gen) <= 0) {
        GENERAL_NAME_free(gen);
        return certs_fail(-ENOMEM, "out of memory");
    }
    return 0;
}

static int push_ip(GENERAL_NAMES *names, const char *text, int quiet)
{
    unsigned char addr[16];
    if (inet_pton(AF_INET, text, addr) == 1)
        return push(names, GEN_IPADD, addr, 4);
    if (inet_pton(AF_INET6, text, addr) == 1)
        return push(names, GEN_IPADD, addr, 16);
    return quiet ? -EINVAL
                 : certs_fail(-EINVAL, "--san ip:%s: not an IPv4 or IPv6 address", text);
}

/* One "type:value" entry. */
static int push_entry(GENERAL_NAMES *names, const char *entry)
{
    const char *value = strchr(entry, ':');
    size_t tlen = value != NULL ? (size_t)(value - entry) : 0;
    if (value == NULL || value[1] == '\0')
        return certs_fail(
            -EINVAL, "--san %s: expected dns:, ip:, uri: or email: and a value", entry);
    value++;
    int vlen = (int)strlen(value);
    if (tlen == 3 && strncasecmp(entry, "dns", 3) == 0) {
        if (!dns_ok(value))
            return certs_fail(-EINVAL,
                              "--san %s: not a host name (labels of letters, digits, - "
                              "and _, an optional leading *.)",
                              entry);
        return push(names, GEN_DNS, (const unsigned char *)value, vlen);
    }
    if (tlen == 2 && strncasecmp(entry, "ip", 2) == 0)
        return push_ip(names, value, 0);
    if (tlen == 3 && strncasecmp(entry, "uri", 3) == 0) {
        const char *why = uri_problem(value);
        if (why != NULL)
            return certs_fail(-EINVAL, "--san %s: %s", entry, why);
        return push(names, GEN_URI, (const unsigned char *)value, vlen);
    }
    if (tlen == 5 && strncasecmp(entry, "email", 5) == 0) {
        if (!email_ok(value))
            return certs_fail(-EINVAL, "--san %s: not an e-mail address", entry);
        return push(names, GEN_EMAIL, (const unsigned char *)value, vlen);
    }
    return certs_fail(-EINVAL, "--san %s: unknown type (dns:, ip:, uri: or email:)",
                      entry);
}

int certs_san_parse(const char *list, GENERAL_NAMES **out)
{
    if (*out == NULL && (*out = sk_GENERAL_NAME_new_null()) == NULL)
        return certs_fail(-ENOMEM, "out of memory");
    char *copy = strdup(list);
    if (copy == NULL)
        return certs_fail(-ENOMEM, "out of memory");
    int rc = 0;
    char *save = NULL;
    for (char *e = strtok_r(copy, ",", &save); e != NULL && rc == 0;
         e = strtok_r(NULL, ",", &save))
        rc = push_entry(*out, e);
    free(copy);
    return rc;
}

int certs_san_default(const char *name, GENERAL_NAMES **out)
{
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    if (names == NULL)
        return certs_fail(-ENOMEM, "out of memory");
    int rc = push_ip(names, name, 1);
    if (rc == -EINVAL) {
        rc = dns_ok(name)
                 ? push(names, GEN_DNS, (const unsigned char *)name, (int)strlen(name))
                 : -EINVAL;
    }
    if (rc != 0) {
        GENERAL_NAMES_free(names);
        return rc == -EINVAL
                   ? certs_fail(rc,
                                "%s is not a host name or an address: say which "
                                "names the certificate carries with --san",
                                name)
                   : rc;
    }
    *out = names;
    return 0;
}

/*
 * ZMTLS_ALLOW: parsing (what is refused and why) and matching against
 * certificates minted with the SANs under test.
 */
#include "check.h"
#include "mint.h"
#include "tls/tls.h"
#include "tls/tls_allow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

static X509 *cert_with(const char *san)
{
    char *pem, *key;
    tu_mint_named(0, 3600, san, 0, &pem, &key);
    BIO *b = BIO_new_mem_buf(pem, -1);
    CHECK(b != NULL);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    CHECK(x != NULL);
    BIO_free(b);
    free(pem);
    free(key);
    return x;
}

static int allowed(const char *spec, X509 *x)
{
    tls_allow_t *a = NULL;
    char err[256] = "";
    CHECK_EQ(tls_allow_parse(spec, &a, err, sizeof err), 0);
    int m = tls_allow_match(a, x);
    tls_allow_free(a);
    return m;
}

static void test_parse(void)
{
    tls_allow_t *a = (tls_allow_t *)1;
    char err[256];
    CHECK_EQ(tls_allow_parse("", &a, err, sizeof err), 0);
    CHECK(a == NULL); /* no list: no restriction */
    CHECK_EQ(tls_allow_parse(" , ,", &a, err, sizeof err), 0);
    CHECK(a == NULL);
    static const char *const bad[] = {"foo:bar",    "dns:",   "ip:300.1.1.1", "dns:a.*.b",
                                      "dns:*x.org", "client", "dns:*."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CHECK_EQ(tls_allow_parse(bad[i], &a, err, sizeof err), -EINVAL);
        CHECK(a == NULL);
        CHECK(strstr(err, "ZMTLS_ALLOW") != NULL);
    }
    CHECK_EQ(tls_allow_parse(" DNS:a.example , uri:spiffe://x/*,cn:c,email:e@x,ip:::1",
                             &a, err, sizeof err),
             0);
    CHECK(a != NULL);
    tls_allow_free(a);
    CHECK_EQ(tls_allow_check("cn:x", err, sizeof err), 0);
    CHECK_EQ(tls_allow_check("cn", err, sizeof err), -EINVAL);
}

static void test_match(void)
{
    X509 *x = cert_with("DNS:web.example.org,URI:spiffe://example.org/ns/prod/sa/web,"
                        "email:Ops@Example.org,IP:127.0.0.9,IP:2001:db8::7");
    CHECK(allowed("dns:web.example.org", x));
    CHECK(allowed("dns:WEB.example.ORG", x));
    CHECK(allowed("dns:*.example.org", x));
    CHECK(!allowed("dns:*.org", x)); /* one label only */
    CHECK(!allowed("dns:example.org", x));
    CHECK(allowed("uri:spiffe://example.org/ns/prod/sa/web", x));
    CHECK(allowed("uri:spiffe://example.org/ns/prod/*", x));
    CHECK(allowed("uri:spiffe://example.org/*", x));
    CHECK(!allowed("uri:spiffe://example.org/ns/dev/*", x));
    CHECK(!allowed("uri:spiffe://example.org/ns/prod", x)); /* exact without '*' */
    CHECK(!allowed("uri:spiffe://example.org/ns/pro/*", x));
    CHECK(allowed("email:ops@example.org", x));
    CHECK(allowed("ip:127.0.0.9", x));
    CHECK(allowed("ip:2001:db8:0::7", x)); /* compared as addresses */
    CHECK(!allowed("ip:127.0.0.1", x));
    CHECK(allowed("cn:short-lived client", x));
    CHECK(!allowed("cn:short-lived", x));
    /* Any entry will do; a kind never matches another kind's SAN. */
    CHECK(allowed("cn:nobody, dns:nothere.example, uri:spiffe://example.org/*", x));
    CHECK(!allowed("dns:spiffe://example.org/ns/prod/sa/web", x));
    CHECK(!allowed("email:web.example.org", x));
    CHECK(tls_allow_match(NULL, x)); /* no list */
    X509_free(x);

    /* A wildcard in the certificate matches only the same text. */
    x = cert_with("DNS:*.svc.example.org");
    CHECK(allowed("dns:*.svc.example.org", x));
    CHECK(!allowed("dns:a.svc.example.org", x));
    X509_free(x);
}

int main(void)
{
    test_parse();
    test_match();
    printf("tls_allow: all checks passed\n");
    return 0;
}

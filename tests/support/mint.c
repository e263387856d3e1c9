/* Certificates made at run time: see mint.h. */
#define _POSIX_C_SOURCE 200809L

#include "mint.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "testutil.h"

void tu_mint_named(int server, long seconds, const char *san, int ou_count,
                   char **cert_pem, char **key_pem)
{
    FILE *f = fopen(tu_cert("ca.pem"), "r");
    CHECK(f != NULL);
    X509 *ca = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    CHECK(ca != NULL);
    f = fopen(tu_cert("ca.key"), "r");
    CHECK(f != NULL);
    EVP_PKEY *ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    CHECK(ca_key != NULL);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    CHECK(key != NULL && x != NULL);
    CHECK_EQ(X509_set_version(x, 2), 1);
    CHECK_EQ(ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL)), 1);
    CHECK(X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL);
    CHECK(X509_gmtime_adj(X509_getm_notAfter(x), seconds) != NULL);
    X509_NAME *name = X509_get_subject_name(x);
    CHECK_EQ(
        X509_NAME_add_entry_by_txt(
            name, "CN", MBSTRING_ASC,
            (const unsigned char *)(server ? "short-lived server" : "short-lived client"),
            -1, -1, 0),
        1);
    for (int i = 0; i < ou_count; i++) {
        char ou[64];
        snprintf(ou, sizeof ou, "unit %02d of a subject longer than any fixed buffer", i);
        CHECK_EQ(X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC,
                                            (const unsigned char *)ou, -1, -1, 0),
                 1);
    }
    CHECK_EQ(X509_set_issuer_name(x, X509_get_subject_name(ca)), 1);
    CHECK_EQ(X509_set_pubkey(x, key), 1);
    const struct {
        int nid;
        const char *value;
    } ext[] = {{NID_basic_constraints, "CA:FALSE"},
               {NID_key_usage, "critical,digitalSignature"},
               {NID_ext_key_usage, server ? "serverAuth" : "clientAuth"},
               {NID_subject_alt_name, san != NULL ? san
                                      : server    ? "IP:127.0.0.1,DNS:localhost"
                                                  : "DNS:client"}};
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, ca, x, NULL, NULL, 0);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, ext[i].nid, ext[i].value);
        CHECK(e != NULL);
        CHECK_EQ(X509_add_ext(x, e, -1), 1);
        X509_EXTENSION_free(e);
    }
    CHECK(X509_sign(x, ca_key, EVP_sha256()) > 0);

    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    CHECK(b != NULL && PEM_write_bio_X509(b, x) == 1);
    long n = BIO_get_mem_data(b, &data);
    *cert_pem = strndup(data, (size_t)n);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    CHECK(b != NULL && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1);
    n = BIO_get_mem_data(b, &data);
    *key_pem = strndup(data, (size_t)n);
    BIO_free(b);
    CHECK(*cert_pem != NULL && *key_pem != NULL);
    X509_free(x);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
}

void tu_mint(int server, long seconds, char **cert_pem, char **key_pem)
{
    tu_mint_named(server, seconds, NULL, 0, cert_pem, key_pem);
}

void tu_mint_client(long seconds, char **cert_pem, char **key_pem)
{
    tu_mint(0, seconds, cert_pem, key_pem);
}

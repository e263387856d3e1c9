/* Key specifications and key generation: see certs.h. */
#include "certs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rsa.h>

/* OpenSSL refuses to make smaller RSA keys, and larger ones take minutes. */
#define RSA_MIN_BITS     1024
#define RSA_MAX_BITS     16384
#define RSA_DEFAULT_BITS 3072
/* Security level 2, which zmtls holds every peer to. */
#define RSA_LEVEL2_BITS 2048

void certs_key_spec_default(certs_key_spec_t *spec)
{
    spec->type = CERTS_KEY_EC;
    spec->bits = 0;
    spec->curve = "P-256";
}

int certs_key_spec_parse(const char *text, certs_key_spec_t *spec)
{
    static const char *const curves[] = {"P-256", "P-384", "P-521"};
    certs_key_spec_default(spec);
    if (strcmp(text, "ec") == 0)
        return 0;
    if (strncmp(text, "ec:", 3) == 0) {
        for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++) {
            if (strcmp(text + 3, curves[i]) == 0) {
                spec->curve = curves[i];
                return 0;
            }
        }
        return certs_fail(-EINVAL, "--key %s: curves are P-256, P-384 and P-521", text);
    }
    if (strcmp(text, "ed25519") == 0) {
        spec->type = CERTS_KEY_ED25519;
        return 0;
    }
    if (strcmp(text, "rsa") == 0 || strncmp(text, "rsa:", 4) == 0) {
        spec->type = CERTS_KEY_RSA;
        spec->bits = RSA_DEFAULT_BITS;
        if (text[3] == '\0')
            return 0;
        char *end;
        errno = 0;
        long bits = strtol(text + 4, &end, 10);
        if (errno != 0 || end == text + 4 || *end != '\0' || bits < RSA_MIN_BITS ||
            bits > RSA_MAX_BITS)
            return certs_fail(-EINVAL, "--key %s: RSA sizes are %d to %d bits", text,
                              RSA_MIN_BITS, RSA_MAX_BITS);
        spec->bits = (int)bits;
        return 0;
    }
    return certs_fail(
        -EINVAL,
        "--key %s: expected ec, ec:P-256, ec:P-384, ec:P-521, rsa, rsa:BITS "
        "or ed25519",
        text);
}

int certs_key_new(const certs_key_spec_t *spec, EVP_PKEY **out)
{
    EVP_PKEY *key = NULL;
    switch (spec->type) {
    case CERTS_KEY_EC:
        key = EVP_EC_gen(spec->curve);
        break;
    case CERTS_KEY_RSA:
        key = EVP_RSA_gen((unsigned int)spec->bits);
        break;
    case CERTS_KEY_ED25519:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    }
    if (key == NULL)
        return certs_fail(-EIO, "cannot make a key");
    if (spec->type == CERTS_KEY_RSA && spec->bits < RSA_LEVEL2_BITS)
        certs_note("RSA-%d is below OpenSSL security level 2: zmtls refuses it",
                   spec->bits);
    *out = key;
    return 0;
}

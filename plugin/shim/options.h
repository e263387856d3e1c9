/*
 * zmtls socket options (ids in include/zmtls.h) and the credentials they
 * build.
 *
 * Threading: a shim_opts_t belongs to its socket and follows libzmq's rule:
 * one thread at a time. shim_opts_tls_ctx may run on any thread.
 */
#ifndef ZMTLS_SHIM_OPTIONS_H
#define ZMTLS_SHIM_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "tls/tls.h"
#include "tls/tls_src.h"

typedef struct shim_opts {
    char *cert_file, *key_file, *ca_file;
    char *cert_pem, *key_pem, *ca_pem;
    char *crl_file;
    char *server_name;
    char *allow; /* ZMTLS_ALLOW */
    int auth_ivl, auth_ivl_max, auth_stop;
    int resume;
    int zap_cert; /* ZMTLS_ZAP_CERT */
    int multipart_max_parts;
    int64_t multipart_max_bytes;
    int handshakes_max, handshakes_per_addr;
    int offender_failures, offender_window, offender_ban;
    tls_policy_t policy; /* built into the TLS contexts */
} shim_opts_t;

void shim_opts_init(shim_opts_t *o);
void shim_opts_free(shim_opts_t *o);

/* 1 when `option` is a zmtls option id. */
int shim_opts_owns(int option);
/* 1 when `option` changes credentials (the TLS contexts must be rebuilt). */
int shim_opts_is_credential(int option);
/* 1 when `option` is part of the TLS policy built into the contexts: the
 * next connect or bind must build new ones. */
int shim_opts_is_policy(int option);

/* 0 when spec (len bytes, not NUL-terminated) is a valid ZMTLS_ALLOW
 * list, else -EINVAL with the reason in err. */
int shim_opts_allow_check(const void *spec, size_t len, char *err, size_t errlen);

/* Returns 0, -EINVAL (bad value or size), -ENOMEM. */
int shim_opts_set(shim_opts_t *o, int option, const void *val, size_t len);
/* Returns 0, -EINVAL (bad size, write-only option). Strings come back
 * NUL-terminated, with *len including the NUL. */
int shim_opts_get(const shim_opts_t *o, int option, void *val, size_t *len);

/* Builds the TLS context for a connect (is_server 0) or bind (1): socket
 * options first, then ZMTLS_CERT / ZMTLS_KEY / ZMTLS_CA / ZMTLS_CRL (and
 * ZMTLS_ALLOW) from the environment, and its source (tls/tls_src.h), to
 * rebuild it when its files change. Errors as tls_ctx_new, with the reason
 * in err. */
int shim_opts_tls_ctx(const shim_opts_t *o, int is_server, SSL_CTX **out, tls_src_t **src,
                      char *err, size_t errlen);

#endif

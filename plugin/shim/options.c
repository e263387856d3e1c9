/* zmtls socket options: see options.h. */
#include "shim/options.h"

#include "io/io.h"

#include "zmtls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void shim_opts_init(shim_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->auth_ivl = ZMTLS_AUTH_IVL_DEFAULT;
    o->auth_ivl_max = ZMTLS_AUTH_IVL_MAX_DEFAULT;
    o->resume = 1;
    o->multipart_max_parts = ZMTLS_MULTIPART_MAX_PARTS_DEFAULT;
    o->multipart_max_bytes = ZMTLS_MULTIPART_MAX_BYTES_DEFAULT;
    o->handshakes_max = ZMTLS_HANDSHAKES_MAX_DEFAULT;
    o->handshakes_per_addr = ZMTLS_HANDSHAKES_PER_ADDR_DEFAULT;
    o->offender_failures = ZMTLS_OFFENDER_FAILURES_DEFAULT;
    o->offender_window = ZMTLS_OFFENDER_WINDOW_DEFAULT;
    o->offender_ban = ZMTLS_OFFENDER_BAN_DEFAULT;
    tls_policy_init(&o->policy);
}

static void opts_wipe_free(char *s)
{
    if (s == NULL)
        return;
    /* The key may be in here: do not leave it in freed memory. */
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void shim_opts_free(shim_opts_t *o)
{
    free(o->cert_file);
    free(o->key_file);
    free(o->ca_file);
    free(o->cert_pem);
    opts_wipe_free(o->key_pem);
    free(o->ca_pem);
    free(o->crl_file);
    free(o->server_name);
    free(o->allow);
    memset(o, 0, sizeof(*o));
}

int shim_opts_owns(int option)
{
    return option > ZMTLS_OPTION_BASE && option <= ZMTLS_ZAP_CERT;
}

int shim_opts_is_credential(int option)
{
    /* ZMTLS_ALLOW too: who may connect changes for the next handshakes of
     * every endpoint, as a CRL does. */
    return (option >= ZMTLS_CERT_FILE && option <= ZMTLS_CA_PEM) ||
           option == ZMTLS_CRL_FILE || option == ZMTLS_ALLOW;
}

int shim_opts_is_policy(int option)
{
    return option == ZMTLS_VERIFY_DEPTH || option == ZMTLS_TLS_UPDATES_MAX ||
           option == ZMTLS_SESSION_LIFETIME;
}

static char **opts_string(shim_opts_t *o, int option)
{
    switch (option) {
    case ZMTLS_CERT_FILE:
        return &o->cert_file;
    case ZMTLS_KEY_FILE:
        return &o->key_file;
    case ZMTLS_CA_FILE:
        return &o->ca_file;
    case ZMTLS_CERT_PEM:
        return &o->cert_pem;
    case ZMTLS_KEY_PEM:
        return &o->key_pem;
    case ZMTLS_CA_PEM:
        return &o->ca_pem;
    case ZMTLS_SERVER_NAME:
        return &o->server_name;
    case ZMTLS_ALLOW:
        return &o->allow;
    case ZMTLS_CRL_FILE:
        return &o->crl_file;
    default:
        return NULL;
    }
}

static int *opts_int(shim_opts_t *o, int option)
{
    switch (option) {
    case ZMTLS_AUTH_IVL:
        return &o->auth_ivl;
    case ZMTLS_AUTH_IVL_MAX:
        return &o->auth_ivl_max;
    case ZMTLS_AUTH_STOP:
        return &o->auth_stop;
    case ZMTLS_RESUME:
        return &o->resume;
    case ZMTLS_ZAP_CERT:
        return &o->zap_cert;
    case ZMTLS_MULTIPART_MAX_PARTS:
        return &o->multipart_max_parts;
    case ZMTLS_HANDSHAKES_MAX:
        return &o->handshakes_max;
    case ZMTLS_HANDSHAKES_PER_ADDR:
        return &o->handshakes_per_addr;
    case ZMTLS_OFFENDER_FAILURES:
        return &o->offender_failures;
    case ZMTLS_OFFENDER_WINDOW:
        return &o->offender_window;
    case ZMTLS_OFFENDER_BAN:
        return &o->offender_ban;
    case ZMTLS_VERIFY_DEPTH:
        return &o->policy.verify_depth;
    case ZMTLS_TLS_UPDATES_MAX:
        return &o->policy.updates_max;
    case ZMTLS_SESSION_LIFETIME:
        return &o->policy.session_lifetime;
    default:
        return NULL;
    }
}

int shim_opts_allow_check(const void *spec, size_t len, char *err, size_t errlen)
{
    if (len > 0 && spec == NULL)
        return -EINVAL;
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return -ENOMEM;
    if (len > 0)
        memcpy(copy, spec, len);
    copy[len] = '\0';
    int rc = tls_allow_check(copy, err, errlen);
    free(copy);
    return rc;
}

int shim_opts_set(shim_opts_t *o, int option, const void *val, size_t len)
{
    char **sp = opts_string(o, option);
    if (sp != NULL) {
        if (len > 0 && val == NULL)
            return -EINVAL;
        /* Accept a trailing NUL as some bindings send one. */
        if (len > 0 && ((const char *)val)[len - 1] == '\0')
            len--;
        if (memchr(val, '\0', len) != NULL)
            return -EINVAL;
        char *copy = NULL;
        if (len > 0) {
            copy = malloc(len + 1);
            if (copy == NULL)
                return -ENOMEM;
            memcpy(copy, val, len);
            copy[len] = '\0';
        }
        if (option == ZMTLS_KEY_PEM)
            opts_wipe_free(*sp);
        else
            free(*sp);
        *sp = copy;
        return 0;
    }
    if (option == ZMTLS_MULTIPART_MAX_BYTES) {
        int64_t v64;
        if (val == NULL || len != sizeof(v64))
            return -EINVAL;
        memcpy(&v64, val, sizeof(v64));
        if (v64 < -1)
            return -EINVAL;
        o->multipart_max_bytes = v64;
        return 0;
    }
    int *ip = opts_int(o, option);
    if (ip == NULL || val == NULL || len != sizeof(int))
        return -EINVAL;
    int v;
    memcpy(&v, val, sizeof(v));
    if (option == ZMTLS_MULTIPART_MAX_PARTS && v < 1 && v != -1)
        return -EINVAL;
    if ((option == ZMTLS_HANDSHAKES_MAX || option == ZMTLS_HANDSHAKES_PER_ADDR ||
         option == ZMTLS_OFFENDER_WINDOW || option == ZMTLS_OFFENDER_BAN) &&
        v < 1)
        return -EINVAL;
    if (option == ZMTLS_OFFENDER_FAILURES && v < 0)
        return -EINVAL;
    if (option == ZMTLS_AUTH_IVL && v < 1)
        return -EINVAL;
    if (option == ZMTLS_AUTH_IVL_MAX && v < 1)
        return -EINVAL;
    if ((option == ZMTLS_AUTH_STOP || option == ZMTLS_RESUME ||
         option == ZMTLS_ZAP_CERT) &&
        v != 0 && v != 1)
        return -EINVAL;
    if (option == ZMTLS_VERIFY_DEPTH && (v < 0 || v > ZMTLS_VERIFY_DEPTH_MAX))
        return -EINVAL;
    if (option == ZMTLS_SESSION_LIFETIME && (v < 1 || v > ZMTLS_SESSION_LIFETIME_MAX))
        return -EINVAL;
    if (option == ZMTLS_TLS_UPDATES_MAX && v < 0)
        return -EINVAL;
    *ip = v;
    return 0;
}

int shim_opts_get(const shim_opts_t *o, int option, void *val, size_t *len)
{
    if (option == ZMTLS_KEY_PEM)
        return -EINVAL; /* write-only: keys never leave the library */
    shim_opts_t *mo = (shim_opts_t *)o;
    char **sp = opts_string(mo, option);
    if (sp != NULL) {
        const char *s = *sp ? *sp : "";
        size_t n = strlen(s) + 1;
        if (val == NULL || *len < n)
            return -EINVAL;
        memcpy(val, s, n);
        *len = n;
        return 0;
    }
    if (option == ZMTLS_MULTIPART_MAX_BYTES) {
        if (val == NULL || *len < sizeof(int64_t))
            return -EINVAL;
        memcpy(val, &o->multipart_max_bytes, sizeof(int64_t));
        *len = sizeof(int64_t);
        return 0;
    }
    int *ip = opts_int(mo, option);
    if (ip == NULL || val == NULL || *len < sizeof(int))
        return -EINVAL;
    memcpy(val, ip, sizeof(int));
    *len = sizeof(int);
    return 0;
}

static const char *opts_env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

int shim_opts_tls_ctx(const shim_opts_t *o, int is_server, SSL_CTX **out, tls_src_t **src,
                      char *err, size_t errlen)
{
    /* Each credential comes wholly from the socket (PEM or file) or wholly
     * from the environment, never half and half. */
    tls_creds_t c = {0};
    c.cert_pem = o->cert_pem;
    c.key_pem = o->key_pem;
    c.ca_pem = o->ca_pem;
    c.cert_file = o->cert_file;
    c.key_file = o->key_file;
    c.ca_file = o->ca_file;
    c.crl_file = o->crl_file;
    if (c.cert_pem == NULL && c.cert_file == NULL)
        c.cert_file = opts_env("ZMTLS_CERT");
    if (c.key_pem == NULL && c.key_file == NULL)
        c.key_file = opts_env("ZMTLS_KEY");
    if (c.ca_pem == NULL && c.ca_file == NULL)
        c.ca_file = opts_env("ZMTLS_CA");
    if (c.crl_file == NULL)
        c.crl_file = opts_env("ZMTLS_CRL");
    tls_policy_t policy = o->policy;
    policy.allow = o->allow != NULL ? o->allow : opts_env("ZMTLS_ALLOW");
    io_fork_guard_enter();
    int rc = tls_src_new(src, out, is_server, &c, &policy, err, errlen);
    io_fork_guard_leave();
    return rc;
}

/*
 * Loading credentials into a TLS context, and the small helpers the
 * context code shares with it. Inside plugin/tls/ only.
 */
#ifndef ZMTLS_TLS_LOAD_H
#define ZMTLS_TLS_LOAD_H

#include <stddef.h>
#include <openssl/ssl.h>

#include "tls/tls.h"

/* Our certificate chain and key (which must match), and the CAs (and
 * CRLs) the peer is verified against; a client without a CA gets the
 * system's trust store. 0, or -ENOENT / -EACCES / -EINVAL / -ENOMEM with
 * the reason in err (the file named, never PEM text). */
int tls_load_credentials(SSL_CTX *ctx, int is_server, const tls_creds_t *creds, char *err,
                         size_t errlen);

/* 1 when s is a non-empty string. */
int tls_set(const char *s);
/* snprintf into err when there is one. */
void tls_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The earliest queued OpenSSL reason as static text; empties the queue. */
const char *tls_consume_reason(void);
/* The password callback of every context: keys are never encrypted. */
int tls_no_password(char *buf, int size, int rwflag, void *u);

#endif

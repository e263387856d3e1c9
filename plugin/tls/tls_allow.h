/*
 * Authorization by identity: which verified peers may connect, as a list
 * of patterns matched against the peer's certificate (ZMTLS_ALLOW). Inside
 * plugin/tls/ only: tls_ctx.c attaches a parsed list to a context, and the
 * verification callback (tls_peer.c) consults it for the peer's own
 * certificate once its chain has verified.
 *
 * Syntax: entries separated by ',' (spaces around them ignored), each
 * KIND:VALUE, KIND one of
 *   dns:    a DNS SAN, case-insensitive; "*.example.org" matches one label
 *           in place of the '*' (a.example.org, not a.b.example.org nor
 *           example.org); a SAN that is itself a wildcard matches only the
 *           same text
 *   uri:    a URI SAN, exactly; a value whose last two characters are '/'
 *           and '*' matches every URI that starts with what precedes the
 *           '*' (SPIFFE trust domains and paths)
 *   cn:     a commonName of the subject, exactly
 *   email:  an email SAN, case-insensitive
 *   ip:     an IP SAN, IPv4 or IPv6, compared as addresses
 * A peer is allowed when any entry matches. An empty list allows every
 * peer the CA vouches for (no restriction).
 */
#ifndef ZMTLS_TLS_ALLOW_H
#define ZMTLS_TLS_ALLOW_H

#include <stddef.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

typedef struct tls_allow tls_allow_t;

/* Parses spec into *out (NULL for an empty spec). 0, -EINVAL with the
 * reason in err, -ENOMEM. */
int tls_allow_parse(const char *spec, tls_allow_t **out, char *err, size_t errlen);
void tls_allow_free(tls_allow_t *a);
/* 1 when cert matches an entry (or a is NULL), else 0. */
int tls_allow_match(const tls_allow_t *a, X509 *cert);

/* The context owns `a` from here (freed with it; NULL: no list). 0 or
 * -ENOMEM (a is freed then too). */
int tls_allow_attach(SSL_CTX *ctx, tls_allow_t *a);
/* The list a context was built with, or NULL. */
const tls_allow_t *tls_allow_of(const SSL_CTX *ctx);

#endif

/*
 * tls:// endpoint strings. Pure; thread-safe.
 *
 * Syntax (as libzmq's tcp://): tls://HOST:PORT where HOST is a DNS name, an
 * IPv4 literal, an IPv6 literal in brackets ([::1]), or "*" (bind only: all
 * interfaces); PORT is 1..65535, or "*" / "0" (bind only: ephemeral).
 * A connect endpoint may not use "*" for either part.
 */
#ifndef ZMTLS_ENDPOINT_H
#define ZMTLS_ENDPOINT_H

#include <stddef.h>

#define ENDPOINT_HOST_MAX 255

typedef struct endpoint {
    char host[ENDPOINT_HOST_MAX + 1]; /* without brackets; "*" for any */
    int port;                         /* 0 for ephemeral */
    int is_ipv6_literal;              /* host was given in brackets */
    int is_ip_literal;                /* host parses as IPv4 or IPv6 */
} endpoint_t;

/* 1 when `uri` starts with "tls://", else 0. */
int endpoint_is_tls(const char *uri);

/* Parses a tls:// endpoint. for_bind allows the wildcards. Returns 0, or
 * -EINVAL (malformed: missing port, bad port, empty host, junk, unbalanced
 * brackets, host too long, wildcard on connect). */
int endpoint_parse(const char *uri, int for_bind, endpoint_t *out);

/* Formats "tls://HOST:PORT" with brackets around IPv6 hosts. Returns the
 * length written (excluding NUL) or -ENOSPC. */
int endpoint_format(const endpoint_t *ep, char *buf, size_t cap);

#endif

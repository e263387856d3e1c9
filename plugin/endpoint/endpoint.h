/*
 * tls:// endpoint strings. Pure; thread-safe.
 *
 * Syntax (as libzmq's tcp://): tls://HOST:PORT where HOST is a DNS name, an
 * IPv4 literal, an IPv6 literal in brackets ([::1]), or "*" (bind only: all
 * interfaces); PORT is 1..65535, or "*" / "0" (bind only: ephemeral).
 * A connect endpoint may not use "*" for either part.
 *
 * Stricter than libzmq in a few places, so mistakes surface at
 * zmq_connect/zmq_bind rather than as endless reconnects: an IPv6 address
 * must be bracketed (a bracketed host must be IPv6, optionally with a zone
 * id: [fe80::1%eth0]); a DNS name may use letters, digits, '-', '_' and '.',
 * has no empty labels (one trailing dot is allowed), labels of at most 63
 * bytes, and a name ending in an all-digit label must be a valid IPv4
 * literal. PORT is decimal digits only (at most 5); nothing may follow it.
 *
 * A connect may name the local side of its connections, as libzmq's tcp://
 * does: tls://SRC_HOST:SRC_PORT;HOST:PORT. SRC_HOST is an IPv4 literal, a
 * bracketed IPv6 literal (zone id allowed) or a network interface name (at
 * most 15 bytes of letters, digits, '-', '_', '.', one letter at least);
 * never a DNS name, and never "*"
 * (libzmq refuses it too: 0.0.0.0 or [::] say "any address"). SRC_PORT is
 * 0..65535, "0" or "*" letting the system choose. One ';' at most, and
 * none in a bind endpoint. HOST stays the name the server's certificate
 * is checked against; the source plays no part in that.
 */
#ifndef ZMTLS_ENDPOINT_H
#define ZMTLS_ENDPOINT_H

#include <stddef.h>

#define ENDPOINT_HOST_MAX 255
/* A source host: an IPv6 literal with a zone id (45 + 1 + 15) fits. */
#define ENDPOINT_SRC_HOST_MAX 63
/* Buffer size that always fits endpoint_format's output, NUL included:
 * "tls://" + "[" SRC_HOST "]" + ":" + 5 digits + ";" + "[" HOST "]" + ":" +
 * 5 digits + NUL. */
#define ENDPOINT_URI_MAX                                                                 \
    (6 + ENDPOINT_SRC_HOST_MAX + 2 + 6 + 1 + ENDPOINT_HOST_MAX + 2 + 6 + 1)

typedef struct endpoint {
    char host[ENDPOINT_HOST_MAX + 1]; /* without brackets; "*" for any */
    int port;                         /* 0 for ephemeral */
    int is_ipv6_literal;              /* host was given in brackets */
    int is_ip_literal;                /* host parses as IPv4 or IPv6 */
    /* connect only: the source address, when has_src */
    int has_src;
    char src_host[ENDPOINT_SRC_HOST_MAX + 1]; /* without brackets */
    int src_port;                             /* 0: the system's choice */
    int src_is_ipv6_literal;                  /* given in brackets */
    int src_is_ip_literal;                    /* else the name of a network interface */
} endpoint_t;

/* 1 when `uri` starts with "tls://", else 0. */
int endpoint_is_tls(const char *uri);

/* Parses a tls:// endpoint. for_bind allows the wildcards and refuses a
 * source address. Returns 0, or -EINVAL (malformed: missing port, bad
 * port, empty host, junk, unbalanced brackets, host too long, wildcard on
 * connect, a malformed source or one on a bind; also NULL uri or out).
 * *out is written only on success. */
int endpoint_parse(const char *uri, int for_bind, endpoint_t *out);

/* Formats "tls://HOST:PORT" (with has_src, "tls://SRC_HOST:SRC_PORT;
 * HOST:PORT") with brackets around IPv6 hosts (the literal flag set, or a
 * ':' in the host). Returns the length written (excluding NUL) or -ENOSPC
 * (buf then holds ""; ENDPOINT_URI_MAX always suffices), or -EINVAL when ep
 * is NULL, a port is outside 0..65535 or a host is not NUL-terminated. */
int endpoint_format(const endpoint_t *ep, char *buf, size_t cap);

struct sockaddr;
/* Formats an AF_INET / AF_INET6 address as "HOST:PORT", brackets around
 * IPv6 hosts. Returns the length written, -ENOSPC, or -EAFNOSUPPORT. */
int endpoint_format_sockaddr(const struct sockaddr *sa, char *buf, size_t cap);

#endif

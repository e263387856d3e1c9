/*
 * tls:// endpoint parsing and formatting (see endpoint.h).
 */
#include "endpoint/endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define EP_PREFIX     "tls://"
#define EP_PREFIX_LEN (sizeof(EP_PREFIX) - 1)
#define EP_LABEL_MAX  63

static int ep_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int ep_is_alnum(char c)
{
    return ep_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Port text is the whole rest of the string, so anything after the digits
 * (a path, a space, a second colon) is rejected here. Leading zeros are
 * tolerated as libzmq does, but the digit count is capped so the value
 * cannot overflow. */
static int ep_parse_port(const char *s, int for_bind, int *port)
{
    size_t n = strlen(s);
    if (n == 1 && s[0] == '*') {
        if (!for_bind)
            return -EINVAL;
        *port = 0;
        return 0;
    }
    if (n == 0 || n > 5)
        return -EINVAL;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ep_is_digit(s[i]))
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    if (v > 65535 || (v == 0 && !for_bind))
        return -EINVAL;
    *port = (int)v;
    return 0;
}

/* A bracketed host must be an IPv6 address, optionally with a zone id
 * ("fe80::1%eth0"), because link-local peers are unreachable without one
 * and libzmq accepts it. inet_pton does not know zone ids, so the address
 * part is checked on its own. */
static int ep_check_ipv6(const char *host)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *pct = strchr(host, '%');
    size_t alen = pct ? (size_t)(pct - host) : strlen(host);
    if (alen == 0 || alen >= sizeof addr)
        return -EINVAL;
    memcpy(addr, host, alen);
    addr[alen] = '\0';

    struct in6_addr a6;
    if (inet_pton(AF_INET6, addr, &a6) != 1)
        return -EINVAL;
    if (pct) {
        const char *z = pct + 1;
        if (*z == '\0')
            return -EINVAL;
        for (; *z; z++)
            if (!ep_is_alnum(*z) && *z != '.' && *z != '_' && *z != '-')
                return -EINVAL;
    }
    return 0;
}

/* DNS names (and, for bind, interface names): letters, digits, '-', '_'
 * and '.', no empty labels except one trailing dot, labels up to 63 bytes.
 * A name whose last label is all digits is not a DNS name (RFC 3696 §2), so
 * it is accepted only if it is a valid IPv4 literal; this rejects things
 * like "999.1.1.1" or "1.2.3" that getaddrinfo would otherwise guess at. */
static int ep_check_name(const char *host, int *is_ip)
{
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1) {
        *is_ip = 1;
        return 0;
    }
    *is_ip = 0;

    size_t label = 0;
    int last_numeric = 1;
    const char *p = host;
    for (; *p; p++) {
        char c = *p;
        if (c == '.') {
            if (label == 0)
                return -EINVAL;
            if (p[1] == '\0')
                break;
            label = 0;
            last_numeric = 1;
            continue;
        }
        if (!ep_is_alnum(c) && c != '-' && c != '_')
            return -EINVAL;
        if (!ep_is_digit(c))
            last_numeric = 0;
        if (++label > EP_LABEL_MAX)
            return -EINVAL;
    }
    if (label == 0 || last_numeric)
        return -EINVAL;
    return 0;
}

/* Splits "HOST:PORT" or "[HOST]:PORT" (s NUL-terminated) into the host,
 * copied to host (at most host_max bytes), and the port text, the rest of
 * s. Checks neither. */
static int ep_split(const char *s, char *host, size_t host_max, const char **port,
                    int *bracketed)
{
    const char *h, *h_end;
    if (*s == '[') {
        h = s + 1;
        h_end = strchr(h, ']');
        if (h_end == NULL || h_end[1] != ':')
            return -EINVAL;
        *port = h_end + 2;
        *bracketed = 1;
    } else {
        /* The first colon must be the separator: an unbracketed IPv6
         * address would make the port ambiguous. */
        h = s;
        h_end = strchr(h, ':');
        if (h_end == NULL)
            return -EINVAL;
        *port = h_end + 1;
        *bracketed = 0;
    }
    size_t hlen = (size_t)(h_end - h);
    if (hlen == 0 || hlen > host_max)
        return -EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    return 0;
}

/* A network interface name as a source: IFNAMSIZ - 1 bytes at most of
 * letters, digits, '-', '_' and '.' (VLANs are "eth0.100"), with at least
 * one letter, so a mistyped IPv4 literal ("1.2.3") is not taken for one. */
static int ep_check_ifname(const char *name)
{
    size_t n = strlen(name);
    int letter = 0;
    if (n == 0 || n >= IF_NAMESIZE)
        return -EINVAL;
    for (const char *p = name; *p; p++) {
        if (!ep_is_alnum(*p) && *p != '-' && *p != '_' && *p != '.')
            return -EINVAL;
        letter |= !ep_is_digit(*p) && ep_is_alnum(*p);
    }
    return letter ? 0 : -EINVAL;
}

/* "SRC_HOST:SRC_PORT", the n bytes before the ';'. The host is what a
 * socket can bind to without DNS: an IP literal or an interface name
 * (ep_check_ifname), as libzmq resolves it. */
static int ep_parse_source(const char *s, size_t n, endpoint_t *ep)
{
    char text[ENDPOINT_SRC_HOST_MAX + 2 + 6 + 1];
    if (n >= sizeof text)
        return -EINVAL;
    memcpy(text, s, n);
    text[n] = '\0';
    const char *port;
    if (ep_split(text, ep->src_host, ENDPOINT_SRC_HOST_MAX, &port,
                 &ep->src_is_ipv6_literal) != 0)
        return -EINVAL;
    if (ep->src_is_ipv6_literal) {
        if (ep_check_ipv6(ep->src_host) != 0)
            return -EINVAL;
        ep->src_is_ip_literal = 1;
    } else {
        struct in_addr a4;
        ep->src_is_ip_literal = inet_pton(AF_INET, ep->src_host, &a4) == 1;
        if (!ep->src_is_ip_literal && ep_check_ifname(ep->src_host) != 0)
            return -EINVAL; /* "*" included */
    }
    if (ep_parse_port(port, 1, &ep->src_port) != 0)
        return -EINVAL;
    ep->has_src = 1;
    return 0;
}

int endpoint_is_tls(const char *uri)
{
    return uri != NULL && strncmp(uri, EP_PREFIX, EP_PREFIX_LEN) == 0;
}

int endpoint_parse(const char *uri, int for_bind, endpoint_t *out)
{
    if (!endpoint_is_tls(uri) || out == NULL)
        return -EINVAL;

    /* Built in a local so *out is untouched on failure. */
    endpoint_t ep;
    memset(&ep, 0, sizeof ep);
    const char *s = uri + EP_PREFIX_LEN;

    const char *semi = strchr(s, ';');
    if (semi != NULL) {
        if (for_bind || strchr(semi + 1, ';') != NULL ||
            ep_parse_source(s, (size_t)(semi - s), &ep) != 0)
            return -EINVAL;
        s = semi + 1;
    }

    const char *port;
    if (ep_split(s, ep.host, ENDPOINT_HOST_MAX, &port, &ep.is_ipv6_literal) != 0)
        return -EINVAL;

    if (ep.is_ipv6_literal) {
        if (ep_check_ipv6(ep.host) != 0)
            return -EINVAL;
        ep.is_ip_literal = 1;
    } else if (strcmp(ep.host, "*") == 0) {
        if (!for_bind)
            return -EINVAL;
    } else if (ep_check_name(ep.host, &ep.is_ip_literal) != 0) {
        return -EINVAL;
    }

    if (ep_parse_port(port, for_bind, &ep.port) != 0)
        return -EINVAL;

    *out = ep;
    return 0;
}

/* "HOST:PORT" at buf + at, brackets around an IPv6 host. Returns the new
 * length, or -ENOSPC. */
static int ep_format_part(char *buf, size_t cap, int at, const char *host, int port,
                          int v6, const char *tail)
{
    /* A colon in the host can only be IPv6; without brackets the result
     * would not parse back. */
    int brackets = v6 || strchr(host, ':') != NULL;
    int n = snprintf(buf + at, cap - (size_t)at, brackets ? "[%s]:%d%s" : "%s:%d%s", host,
                     port, tail);
    if (n < 0 || (size_t)n >= cap - (size_t)at)
        return -ENOSPC;
    return at + n;
}

int endpoint_format(const endpoint_t *ep, char *buf, size_t cap)
{
    if (ep == NULL || ep->port < 0 || ep->port > 65535 ||
        memchr(ep->host, '\0', sizeof ep->host) == NULL)
        return -EINVAL;
    if (ep->has_src && (ep->src_port < 0 || ep->src_port > 65535 ||
                        memchr(ep->src_host, '\0', sizeof ep->src_host) == NULL))
        return -EINVAL;
    if (buf == NULL || cap == 0)
        return -ENOSPC;

    int n = snprintf(buf, cap, EP_PREFIX);
    if (n > 0 && (size_t)n < cap && ep->has_src)
        n = ep_format_part(buf, cap, n, ep->src_host, ep->src_port,
                           ep->src_is_ipv6_literal, ";");
    if (n > 0 && (size_t)n < cap)
        n = ep_format_part(buf, cap, n, ep->host, ep->port, ep->is_ipv6_literal, "");
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return -ENOSPC;
    }
    return n;
}

int endpoint_format_sockaddr(const struct sockaddr *sa, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN];
    int n;
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        n = snprintf(buf, cap, "[%s]:%d", host, ntohs(a->sin6_port));
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        n = snprintf(buf, cap, "%s:%d", host, ntohs(a->sin_port));
    } else {
        return -EAFNOSUPPORT;
    }
    return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

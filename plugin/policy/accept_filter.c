/* ZMQ_TCP_ACCEPT_FILTER entries: see accept_filter.h. */
#include "policy/accept_filter.h"

#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The "%zone" suffix: libzmq refuses an empty one or one that names no
 * interface (a name) or is 0 (a number), and otherwise ignores it when
 * matching, so only its validity matters here. */
static int af_zone_ok(const char *zone)
{
    if (*zone == '\0')
        return 0;
    if (isalpha((unsigned char)zone[0]))
        return if_nametoindex(zone) != 0;
    return atoi(zone) != 0;
}

/* The mask text after '/': "0", or 1..full as strtol reads it. */
static int af_parse_mask(const char *s, int full, int *mask)
{
    if (*s == '\0')
        return -EINVAL;
    if (strcmp(s, "0") == 0) {
        *mask = 0;
        return 0;
    }
    long v = strtol(s, NULL, 10);
    if (v < 1 || v > full)
        return -EINVAL;
    *mask = (int)v;
    return 0;
}

int policy_accept_parse(const void *text, size_t len, int ipv6,
                        policy_accept_entry_t *out)
{
    if (text == NULL || out == NULL || len == 0 || len > POLICY_ACCEPT_TEXT_MAX)
        return -EINVAL;
    char buf[POLICY_ACCEPT_TEXT_MAX + 1];
    memcpy(buf, text, len);
    buf[len] = '\0'; /* an embedded NUL ends the text earlier, as in libzmq */

    char *slash = strrchr(buf, '/');
    const char *mask_text = NULL;
    if (slash != NULL) {
        *slash = '\0';
        mask_text = slash + 1;
    }
    char *addr = buf;
    size_t alen = strlen(addr);
    if (alen >= 2 && addr[0] == '[' && addr[alen - 1] == ']') {
        addr[alen - 1] = '\0';
        addr++;
    }
    char *pct = strrchr(addr, '%');
    if (pct != NULL) {
        *pct = '\0';
        if (!af_zone_ok(pct + 1))
            return -EINVAL;
    }

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = ipv6 ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | (ipv6 ? AI_V4MAPPED : 0);
    if (getaddrinfo(addr, NULL, &hints, &res) != 0 || res == NULL)
        return -EINVAL;
    policy_accept_entry_t e;
    memset(&e, 0, sizeof e);
    e.family = res->ai_family;
    if (e.family == AF_INET6)
        memcpy(e.addr, &((const struct sockaddr_in6 *)res->ai_addr)->sin6_addr, 16);
    else if (e.family == AF_INET)
        memcpy(e.addr, &((const struct sockaddr_in *)res->ai_addr)->sin_addr, 4);
    freeaddrinfo(res);
    if (e.family != AF_INET && e.family != AF_INET6)
        return -EINVAL;

    int full = e.family == AF_INET6 ? 128 : 32;
    e.mask = full;
    if (mask_text != NULL && af_parse_mask(mask_text, full, &e.mask) != 0)
        return -EINVAL;
    *out = e;
    return 0;
}

int policy_accept_add(policy_accept_list_t *l, const policy_accept_entry_t *e)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        policy_accept_entry_t *n = realloc(l->entry, cap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        l->entry = n;
        l->cap = cap;
    }
    l->entry[l->count++] = *e;
    return 0;
}

void policy_accept_clear(policy_accept_list_t *l)
{
    free(l->entry);
    l->entry = NULL;
    l->count = 0;
    l->cap = 0;
}

int policy_accept_copy(policy_accept_list_t *dst, const policy_accept_list_t *src)
{
    policy_accept_clear(dst);
    if (src->count == 0)
        return 0;
    dst->entry = malloc(src->count * sizeof(*dst->entry));
    if (dst->entry == NULL)
        return -ENOMEM;
    memcpy(dst->entry, src->entry, src->count * sizeof(*dst->entry));
    dst->count = dst->cap = src->count;
    return 0;
}

/* The first `bits` bits of a and b are equal. */
static int af_prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
    int whole = bits / 8;
    if (memcmp(a, b, (size_t)whole) != 0)
        return 0;
    int rest = bits % 8;
    if (rest == 0)
        return 1;
    uint8_t m = (uint8_t)(0xFFu << (8 - rest));
    return (a[whole] & m) == (b[whole] & m);
}

int policy_accept_match(const policy_accept_list_t *l, const struct sockaddr *peer,
                        int as_ipv6)
{
    if (l == NULL || l->count == 0)
        return 1;
    int family;
    uint8_t bytes[16];
    if (peer->sa_family == AF_INET6) {
        family = AF_INET6;
        memcpy(bytes, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
    } else if (peer->sa_family == AF_INET && as_ipv6) {
        /* ::ffff:a.b.c.d, what an IPv6 listener reports for this peer */
        family = AF_INET6;
        memset(bytes, 0, 10);
        bytes[10] = bytes[11] = 0xFF;
        memcpy(bytes + 12, &((const struct sockaddr_in *)peer)->sin_addr, 4);
    } else if (peer->sa_family == AF_INET) {
        family = AF_INET;
        memcpy(bytes, &((const struct sockaddr_in *)peer)->sin_addr, 4);
    } else {
        return 0;
    }
    for (size_t i = 0; i < l->count; i++) {
        const policy_accept_entry_t *e = &l->entry[i];
        if (e->family == family && af_prefix_equal(e->addr, bytes, e->mask))
            return 1;
    }
    return 0;
}

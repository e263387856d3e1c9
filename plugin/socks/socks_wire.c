/*
 * SOCKS5 messages on the wire (RFC 1928 sections 3 to 6, RFC 1929 section
 * 2). Pure and bounded: see socks.h.
 */
#include "socks/socks.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

int socks_dest_set(socks_dest_t *dest, const char *host, int port)
{
    if (dest == NULL || host == NULL || port <= 0 || port > 65535)
        return -EINVAL;
    size_t len = strlen(host);
    if (len == 0 || len > SOCKS_NAME_MAX)
        return -EINVAL;
    /* A scoped IPv6 address names an interface of this host, which means
     * nothing to the proxy, and ATYP 4 has no field for it. */
    if (memchr(host, '%', len) != NULL)
        return -EINVAL;
    memset(dest, 0, sizeof(*dest));
    dest->port = (uint16_t)port;
    if (inet_pton(AF_INET, host, dest->addr) == 1) {
        dest->atyp = SOCKS_ATYP_IPV4;
        dest->addr_len = 4;
    } else if (inet_pton(AF_INET6, host, dest->addr) == 1) {
        dest->atyp = SOCKS_ATYP_IPV6;
        dest->addr_len = 16;
    } else {
        dest->atyp = SOCKS_ATYP_DOMAIN;
        memcpy(dest->addr, host, len);
        dest->addr_len = len;
    }
    return 0;
}

int socks_greeting_encode(uint8_t *out, size_t cap, uint8_t method)
{
    if (method == SOCKS_METHOD_REFUSED)
        return -EINVAL;
    if (cap < 3)
        return -ENOSPC;
    out[0] = SOCKS_VERSION;
    out[1] = 1; /* NMETHODS */
    out[2] = method;
    return 3;
}

int socks_auth_encode(uint8_t *out, size_t cap, const char *user, size_t user_len,
                      const char *pass, size_t pass_len)
{
    /* RFC 1929 wants 1..255 for both; an empty password is let through as
     * libzmq sends one when only a username is set. */
    if (user_len == 0 || user_len > SOCKS_NAME_MAX || pass_len > SOCKS_NAME_MAX ||
        (pass_len > 0 && pass == NULL) || user == NULL)
        return -EINVAL;
    size_t n = 3 + user_len + pass_len;
    if (cap < n)
        return -ENOSPC;
    out[0] = SOCKS_AUTH_VERSION;
    out[1] = (uint8_t)user_len;
    memcpy(out + 2, user, user_len);
    out[2 + user_len] = (uint8_t)pass_len;
    if (pass_len > 0)
        memcpy(out + 3 + user_len, pass, pass_len);
    return (int)n;
}

static size_t socks_addr_len(uint8_t atyp, size_t name_len)
{
    switch (atyp) {
    case SOCKS_ATYP_IPV4:
        return 4;
    case SOCKS_ATYP_IPV6:
        return 16;
    case SOCKS_ATYP_DOMAIN:
        return 1 + name_len;
    default:
        return 0;
    }
}

int socks_request_encode(uint8_t *out, size_t cap, const socks_dest_t *dest)
{
    if (dest == NULL || dest->port == 0)
        return -EINVAL;
    size_t alen = socks_addr_len(dest->atyp, dest->addr_len);
    if (alen == 0 || (dest->atyp == SOCKS_ATYP_IPV4 && dest->addr_len != 4) ||
        (dest->atyp == SOCKS_ATYP_IPV6 && dest->addr_len != 16) ||
        (dest->atyp == SOCKS_ATYP_DOMAIN &&
         (dest->addr_len == 0 || dest->addr_len > SOCKS_NAME_MAX)))
        return -EINVAL;
    size_t n = 4 + alen + 2;
    if (cap < n)
        return -ENOSPC;
    uint8_t *p = out;
    *p++ = SOCKS_VERSION;
    *p++ = SOCKS_CMD_CONNECT;
    *p++ = 0x00; /* RSV */
    *p++ = dest->atyp;
    if (dest->atyp == SOCKS_ATYP_DOMAIN)
        *p++ = (uint8_t)dest->addr_len;
    memcpy(p, dest->addr, dest->addr_len);
    p += dest->addr_len;
    *p++ = (uint8_t)(dest->port >> 8);
    *p++ = (uint8_t)(dest->port & 0xff);
    return (int)(p - out);
}

/* Both two-byte replies: a fixed version, then one byte. */
static int socks_pair_decode(const uint8_t *in, size_t len, size_t *need, uint8_t version,
                             uint8_t *value)
{
    *need = 2;
    if (len >= 1 && in[0] != version)
        return -EPROTO;
    if (len < 2)
        return SOCKS_PARTIAL;
    *value = in[1];
    return 0;
}

int socks_choice_decode(const uint8_t *in, size_t len, size_t *need, uint8_t *method)
{
    return socks_pair_decode(in, len, need, SOCKS_VERSION, method);
}

int socks_auth_reply_decode(const uint8_t *in, size_t len, size_t *need, uint8_t *status)
{
    return socks_pair_decode(in, len, need, SOCKS_AUTH_VERSION, status);
}

int socks_reply_decode(const uint8_t *in, size_t len, size_t *need, socks_reply_t *out)
{
    /* VER REP RSV ATYP, then the address: its first byte is a domain's
     * length, so 5 bytes tell the size of every reply. */
    *need = 5;
    if (len >= 1 && in[0] != SOCKS_VERSION)
        return -EPROTO;
    if (len >= 3 && in[2] != 0x00)
        return -EPROTO;
    if (len >= 4 && socks_addr_len(in[3], 0) == 0)
        return -EPROTO;
    if (len < 5)
        return SOCKS_PARTIAL;
    uint8_t atyp = in[3];
    size_t name_len = atyp == SOCKS_ATYP_DOMAIN ? in[4] : 0;
    size_t total = 4 + socks_addr_len(atyp, name_len) + 2;
    *need = total;
    if (len < total)
        return SOCKS_PARTIAL;
    memset(out, 0, sizeof(*out));
    out->rep = in[1];
    out->bound.atyp = atyp;
    const uint8_t *addr = atyp == SOCKS_ATYP_DOMAIN ? in + 5 : in + 4;
    out->bound.addr_len = atyp == SOCKS_ATYP_DOMAIN ? name_len : socks_addr_len(atyp, 0);
    memcpy(out->bound.addr, addr, out->bound.addr_len);
    out->bound.port = (uint16_t)((in[total - 2] << 8) | in[total - 1]);
    return 0;
}

/* RFC 1928 section 6, X'01' to X'08'. */
static const struct {
    int err;
    const char *reason;
} socks_replies[] = {
    [1] = {ECONNABORTED, "proxy: general SOCKS server failure"},
    [2] = {EACCES, "proxy: connection not allowed by ruleset"},
    [3] = {ENETUNREACH, "proxy: network unreachable"},
    [4] = {EHOSTUNREACH, "proxy: host unreachable"},
    [5] = {ECONNREFUSED, "proxy: connection refused by the destination"},
    [6] = {ETIMEDOUT, "proxy: TTL expired"},
    [7] = {EOPNOTSUPP, "proxy: command not supported"},
    [8] = {EAFNOSUPPORT, "proxy: address type not supported"},
};

#define SOCKS_REPLIES (sizeof(socks_replies) / sizeof(socks_replies[0]))

int socks_reply_errno(uint8_t rep)
{
    return rep > 0 && rep < SOCKS_REPLIES ? socks_replies[rep].err : EPROTO;
}

const char *socks_reply_reason(uint8_t rep)
{
    return rep > 0 && rep < SOCKS_REPLIES ? socks_replies[rep].reason
                                          : "proxy: unassigned reply code";
}

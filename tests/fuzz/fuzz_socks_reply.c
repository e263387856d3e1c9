/*
 * Fuzz target for what a SOCKS5 proxy sends back (socks/socks.h).
 *
 * The whole input is first a CONNECT reply for socks_reply_decode, which
 * must be rejected only for its first four bytes, never ask for more than
 * SOCKS_IN_MAX bytes, say exactly how long a complete reply is, and find
 * every prefix of a valid reply incomplete rather than wrong.
 *
 * Then the first byte chooses a client (authentication or not, the
 * destination's address type) and the rest is the proxy's side of a whole
 * exchange, read as socks_io reads it: never more than socks_need. The
 * exchange must end open or failed with an errno of its contract, or still
 * waiting once the input is used up.
 */
#include "socks/socks.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() rather than a test macro so libFuzzer records the input. */
static void fz_require(int cond)
{
    if (!cond)
        abort();
}

static void fz_reply(const uint8_t *in, size_t len)
{
    socks_reply_t r;
    size_t need = 0;
    int rc = socks_reply_decode(in, len, &need, &r);
    fz_require(rc == 0 || rc == SOCKS_PARTIAL || rc == -EPROTO);
    if (rc == -EPROTO) {
        /* Only VER, RSV and ATYP can be wrong. */
        size_t head = len < 4 ? len : 4;
        fz_require(socks_reply_decode(in, head, &need, &r) == -EPROTO);
        return;
    }
    fz_require(need <= SOCKS_IN_MAX);
    if (rc == SOCKS_PARTIAL) {
        fz_require(need > len);
        return;
    }
    fz_require(need <= len);
    size_t expect = in[3] == SOCKS_ATYP_IPV4   ? 10
                    : in[3] == SOCKS_ATYP_IPV6 ? 22
                                               : (size_t)7 + in[4];
    fz_require(need == expect);
    fz_require(r.rep == in[1] && r.bound.atyp == in[3]);
    fz_require(r.bound.port == ((in[need - 2] << 8) | in[need - 1]));
    for (size_t p = 0; p < need; p++) {
        size_t pneed = 0;
        socks_reply_t pr;
        fz_require(socks_reply_decode(in, p, &pneed, &pr) == SOCKS_PARTIAL);
        fz_require(pneed > p && pneed <= need);
    }
}

static int fz_errno_known(int err)
{
    switch (err) {
    case EPROTO:
    case EACCES:
    case ECONNABORTED:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ECONNREFUSED:
    case ETIMEDOUT:
    case EOPNOTSUPP:
    case EAFNOSUPPORT:
        return 1;
    default:
        return 0;
    }
}

static void fz_exchange(const uint8_t *data, size_t size)
{
    if (size == 0)
        return;
    static const char *const hosts[] = {"192.0.2.1", "2001:db8::1", "proxy.example"};
    uint8_t cfg = data[0];
    socks_dest_t d;
    fz_require(socks_dest_set(&d, hosts[(cfg >> 1) % 3], 443) == 0);
    int auth = cfg & 1;
    socks_t s;
    fz_require(socks_init(&s, &d, auth ? "user" : NULL, auth ? 4 : 0, "pass", 4) == 0);
    const uint8_t *in = data + 1;
    size_t len = size - 1, off = 0;
    int first = 1;
    for (;;) {
        const uint8_t *out;
        size_t n = socks_out(&s, &out);
        if (n > 0) {
            fz_require(n <= SOCKS_OUT_MAX);
            if (first)
                fz_require(n == 3 && out[0] == 5 && out[1] == 1 &&
                           out[2] == (auth ? SOCKS_METHOD_USERPASS : SOCKS_METHOD_NONE));
            first = 0;
            socks_sent(&s, n);
            continue;
        }
        if (socks_done(&s)) {
            fz_require(socks_error(&s) == 0);
            return;
        }
        if (socks_error(&s) != 0) {
            fz_require(s.state == SOCKS_ST_FAILED);
            fz_require(fz_errno_known(-socks_error(&s)));
            fz_require(socks_reason(&s)[0] != '\0');
            return;
        }
        uint8_t *room;
        size_t want = socks_need(&s, &room);
        fz_require(want > 0 && want <= SOCKS_IN_MAX);
        fz_require(room >= s.in && room + want <= s.in + sizeof(s.in));
        if (off == len)
            return; /* the proxy said no more: still waiting */
        size_t take = len - off < want ? len - off : want;
        memcpy(room, in + off, take);
        off += take;
        int rc = socks_received(&s, take);
        fz_require(rc == 0 || rc == socks_error(&s));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_reply(data, size);
    fz_exchange(data, size);
    return 0;
}

/*
 * The SOCKS5 client exchange (socks/socks.h): the exact bytes it sends,
 * how much it reads at each step, every way a proxy can refuse and the
 * errno it becomes, and socks_io over a socket pair with the proxy's
 * bytes arriving one at a time.
 */
#include "check.h"
#include "socks/socks.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void dest(socks_dest_t *d, const char *host, int port)
{
    CHECK_EQ(socks_dest_set(d, host, port), 0);
}

static void test_dest_and_request(void)
{
    socks_dest_t d;
    uint8_t out[SOCKS_OUT_MAX];

    dest(&d, "10.1.2.3", 443);
    CHECK_EQ(d.atyp, SOCKS_ATYP_IPV4);
    static const uint8_t v4[] = {5, 1, 0, 1, 10, 1, 2, 3, 0x01, 0xbb};
    CHECK_EQ(socks_request_encode(out, sizeof out, &d), (int)sizeof v4);
    CHECK(memcmp(out, v4, sizeof v4) == 0);

    dest(&d, "::1", 5555);
    CHECK_EQ(d.atyp, SOCKS_ATYP_IPV6);
    CHECK_EQ(socks_request_encode(out, sizeof out, &d), 22);
    CHECK_EQ(out[3], 4);
    CHECK_EQ(out[19], 1);
    CHECK_EQ(out[20], 0x15);
    CHECK_EQ(out[21], 0xb3);

    dest(&d, "localhost", 80);
    CHECK_EQ(d.atyp, SOCKS_ATYP_DOMAIN);
    static const uint8_t name[] = {5,   1,   0,   3,   9,   'l', 'o', 'c',
                                   'a', 'l', 'h', 'o', 's', 't', 0,   80};
    CHECK_EQ(socks_request_encode(out, sizeof out, &d), (int)sizeof name);
    CHECK(memcmp(out, name, sizeof name) == 0);
    CHECK_EQ(socks_request_encode(out, sizeof name - 1, &d), -ENOSPC);

    char longest[SOCKS_NAME_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[SOCKS_NAME_MAX] = '\0';
    dest(&d, longest, 1);
    CHECK_EQ(socks_request_encode(out, sizeof out, &d), 4 + 1 + SOCKS_NAME_MAX + 2);
    longest[SOCKS_NAME_MAX] = 'a';
    longest[SOCKS_NAME_MAX + 1] = '\0';
    CHECK_EQ(socks_dest_set(&d, longest, 1), -EINVAL);
    CHECK_EQ(socks_dest_set(&d, "", 1), -EINVAL);
    CHECK_EQ(socks_dest_set(&d, "fe80::1%lo", 1), -EINVAL);
    CHECK_EQ(socks_dest_set(&d, "example.org", 0), -EINVAL);
    CHECK_EQ(socks_dest_set(&d, "example.org", 65536), -EINVAL);
}

static void test_greeting_and_auth(void)
{
    uint8_t out[SOCKS_OUT_MAX];
    CHECK_EQ(socks_greeting_encode(out, sizeof out, SOCKS_METHOD_NONE), 3);
    CHECK(out[0] == 5 && out[1] == 1 && out[2] == 0);
    CHECK_EQ(socks_greeting_encode(out, sizeof out, SOCKS_METHOD_REFUSED), -EINVAL);
    CHECK_EQ(socks_auth_encode(out, sizeof out, "bob", 3, "pw", 2), 8);
    static const uint8_t auth[] = {1, 3, 'b', 'o', 'b', 2, 'p', 'w'};
    CHECK(memcmp(out, auth, sizeof auth) == 0);
    CHECK_EQ(socks_auth_encode(out, sizeof out, "bob", 3, NULL, 0), 6);
    CHECK_EQ(out[5], 0);
    CHECK_EQ(socks_auth_encode(out, sizeof out, "", 0, "pw", 2), -EINVAL);
    char big[SOCKS_NAME_MAX + 1];
    memset(big, 'x', sizeof big);
    CHECK_EQ(socks_auth_encode(out, sizeof out, big, SOCKS_NAME_MAX, big, SOCKS_NAME_MAX),
             SOCKS_OUT_MAX);
    CHECK_EQ(socks_auth_encode(out, sizeof out, big, sizeof big, "", 0), -EINVAL);
}

static void test_reply_decode(void)
{
    socks_reply_t r;
    size_t need;
    static const uint8_t ok4[] = {5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90};
    for (size_t len = 0; len < sizeof ok4; len++) {
        CHECK_EQ(socks_reply_decode(ok4, len, &need, &r), SOCKS_PARTIAL);
        CHECK(need > len);
        CHECK(need <= sizeof ok4);
    }
    CHECK_EQ(socks_reply_decode(ok4, sizeof ok4, &need, &r), 0);
    CHECK_EQ(need, sizeof ok4);
    CHECK_EQ(r.rep, 0);
    CHECK_EQ(r.bound.port, 8080);

    static const uint8_t name[] = {5, 0, 0, 3, 2, 'p', 'x', 0, 1};
    CHECK_EQ(socks_reply_decode(name, 5, &need, &r), SOCKS_PARTIAL);
    CHECK_EQ(need, sizeof name);
    CHECK_EQ(socks_reply_decode(name, sizeof name, &need, &r), 0);
    CHECK_EQ(r.bound.addr_len, 2);

    static const uint8_t v6[22] = {5, 0, 0, 4};
    CHECK_EQ(socks_reply_decode(v6, 5, &need, &r), SOCKS_PARTIAL);
    CHECK_EQ(need, 22);

    /* Ruled out as soon as the offending byte arrives. */
    static const uint8_t http[] = "HTTP/1.1 400";
    CHECK_EQ(socks_reply_decode(http, 1, &need, &r), -EPROTO);
    static const uint8_t rsv[] = {5, 0, 1};
    CHECK_EQ(socks_reply_decode(rsv, 3, &need, &r), -EPROTO);
    static const uint8_t atyp[] = {5, 0, 0, 2};
    CHECK_EQ(socks_reply_decode(atyp, 4, &need, &r), -EPROTO);

    CHECK_EQ(socks_reply_errno(5), ECONNREFUSED);
    CHECK_EQ(socks_reply_errno(2), EACCES);
    CHECK_EQ(socks_reply_errno(9), EPROTO);
    CHECK_EQ(socks_reply_errno(255), EPROTO);
}

/* Feeds the proxy's bytes to s one at a time, sending whatever s wants to
 * send into `sent`. Returns the result of the last call. */
static int feed(socks_t *s, const uint8_t *in, size_t len, uint8_t *sent,
                size_t *sent_len)
{
    size_t off = 0;
    *sent_len = 0;
    for (;;) {
        const uint8_t *o;
        size_t n = socks_out(s, &o);
        if (n > 0) {
            memcpy(sent + *sent_len, o, n);
            *sent_len += n;
            socks_sent(s, n);
            continue;
        }
        if (socks_done(s) || socks_error(s) != 0)
            return socks_error(s);
        uint8_t *room;
        size_t want = socks_need(s, &room);
        CHECK(want > 0);
        if (off == len)
            return SOCKS_PARTIAL;
        *room = in[off++];
        int rc = socks_received(s, 1);
        if (rc < 0) {
            CHECK_EQ(rc, socks_error(s));
            return rc;
        }
    }
}

static int run(const char *user, const char *pass, const uint8_t *in, size_t len,
               uint8_t *sent, size_t *sent_len, socks_t *s)
{
    socks_dest_t d;
    dest(&d, "10.0.0.1", 80);
    CHECK_EQ(
        socks_init(s, &d, user, user ? strlen(user) : 0, pass, pass ? strlen(pass) : 0),
        0);
    return feed(s, in, len, sent, sent_len);
}

static void test_exchange(void)
{
    socks_t s;
    uint8_t sent[2 * SOCKS_OUT_MAX];
    size_t n;

    /* No authentication: greeting, request, done; nothing read past the
     * reply (what follows is TLS). */
    static const uint8_t plain[] = {5, 0, 5, 0, 0, 1, 1, 2, 3, 4, 0, 9, 0x16};
    CHECK_EQ(run(NULL, NULL, plain, sizeof plain - 1, sent, &n, &s), 0);
    CHECK(socks_done(&s));
    static const uint8_t plain_out[] = {5, 1, 0, 5, 1, 0, 1, 10, 0, 0, 1, 0, 80};
    CHECK_EQ(n, sizeof plain_out);
    CHECK(memcmp(sent, plain_out, n) == 0);
    uint8_t *room;
    CHECK_EQ(socks_need(&s, &room), 0);

    /* Username/password. */
    static const uint8_t auth[] = {5, 2, 1, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    CHECK_EQ(run("u", "p", auth, sizeof auth, sent, &n, &s), 0);
    static const uint8_t auth_out[] = {5, 1, 2, 1, 1, 'u', 1, 'p'};
    CHECK(memcmp(sent, auth_out, sizeof auth_out) == 0);

    /* Refusals and their errnos. */
    static const uint8_t none[] = {5, 0xff};
    CHECK_EQ(run(NULL, NULL, none, 2, sent, &n, &s), -EACCES);
    CHECK(strstr(socks_reason(&s), "ZMQ_SOCKS_USERNAME") != NULL);
    CHECK_EQ(socks_where(&s), SOCKS_ST_CHOICE);
    CHECK_EQ(run("u", "p", none, 2, sent, &n, &s), -EACCES);
    static const uint8_t bad_pw[] = {5, 2, 1, 1};
    CHECK_EQ(run("u", "p", bad_pw, sizeof bad_pw, sent, &n, &s), -EACCES);
    CHECK_EQ(socks_where(&s), SOCKS_ST_AUTH_REPLY);
    static const uint8_t unoffered[] = {5, 2};
    CHECK_EQ(run(NULL, NULL, unoffered, 2, sent, &n, &s), -EPROTO);
    static const uint8_t v4_proxy[] = {0, 0x5a};
    CHECK_EQ(run(NULL, NULL, v4_proxy, 2, sent, &n, &s), -EPROTO);
    /* A refused CONNECT fails at its code, before the address arrives. */
    static const uint8_t refused[] = {5, 0, 5, 5};
    CHECK_EQ(run(NULL, NULL, refused, sizeof refused, sent, &n, &s), -ECONNREFUSED);
    CHECK_EQ(socks_where(&s), SOCKS_ST_REPLY);
    static const uint8_t unreach[] = {5, 0, 5, 4};
    CHECK_EQ(run(NULL, NULL, unreach, sizeof unreach, sent, &n, &s), -EHOSTUNREACH);
    /* After a failure every call repeats it. */
    CHECK_EQ(socks_received(&s, 0), -EHOSTUNREACH);
    CHECK_EQ(socks_need(&s, &room), 0);

    /* Arguments the messages cannot carry. */
    socks_dest_t d;
    dest(&d, "10.0.0.1", 80);
    char big[SOCKS_NAME_MAX + 1];
    memset(big, 'x', sizeof big);
    CHECK_EQ(socks_init(&s, &d, big, sizeof big, "", 0), -EINVAL);
    CHECK_EQ(socks_init(&s, &d, "u", 1, big, sizeof big), -EINVAL);
}

/* socks_io on a real socket: WANT_READ until the proxy speaks, EOF is
 * ECONNRESET, and bytes after the reply stay in the socket. */
static void test_io(void)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    socks_t s;
    socks_dest_t d;
    dest(&d, "example.org", 443);
    CHECK_EQ(socks_init(&s, &d, NULL, 0, NULL, 0), 0);
    CHECK_EQ(socks_io(&s, sv[0]), SOCKS_WANT_READ);
    uint8_t buf[64];
    CHECK_EQ(read(sv[1], buf, sizeof buf), 3);
    static const uint8_t answer[] = {5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0, 'T', 'L', 'S'};
    CHECK_EQ(write(sv[1], answer, sizeof answer), (ssize_t)sizeof answer);
    CHECK_EQ(socks_io(&s, sv[0]), 0);
    CHECK_EQ(read(sv[1], buf, sizeof buf), 4 + 1 + 11 + 2);
    CHECK_EQ(read(sv[0], buf, sizeof buf), 3);
    CHECK(memcmp(buf, "TLS", 3) == 0);
    close(sv[0]);
    close(sv[1]);

    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    CHECK_EQ(socks_init(&s, &d, NULL, 0, NULL, 0), 0);
    CHECK_EQ(socks_io(&s, sv[0]), SOCKS_WANT_READ);
    close(sv[1]);
    CHECK_EQ(socks_io(&s, sv[0]), -ECONNRESET);
    close(sv[0]);
}

int main(void)
{
    test_dest_and_request();
    test_greeting_and_auth();
    test_reply_decode();
    test_exchange();
    test_io();
    return 0;
}

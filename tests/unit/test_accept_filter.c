/*
 * ZMQ_TCP_ACCEPT_FILTER entries (policy/accept_filter.h): what libzmq 4.3
 * accepts and refuses, with and without ZMQ_IPV6, and how peers match,
 * IPv4-mapped ones included. The expectations were taken from libzmq
 * 4.3.4 itself (zmq_setsockopt's verdict, and which tcp:// clients its
 * listener accepted).
 */
#include "check.h"
#include "policy/accept_filter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static int parse(const char *s, int ipv6, policy_accept_entry_t *e)
{
    return policy_accept_parse(s, strlen(s), ipv6, e);
}

static void test_syntax(void)
{
    static const char *const ok4[] = {
        "127.0.0.1",     "127.0.0.0/8",  "10.0.0.0/0",   "127.0.0.1/32",
        "127.1",         "[127.0.0.1]",  "127.0.0.1%lo", "127.0.0.1%1",
        "127.0.0.1/24x", "127.0.0.1/ 8", "127.0.0.1/08", "0.0.0.0/0",
    };
    static const char *const bad4[] = {
        "",
        "127.0.0.1/",
        "127.0.0.1/33",
        "127.0.0.1/-1",
        "127.0.0.1/00",
        "::1",
        "[::1]",
        "localhost",
        "*",
        "lo",
        " 127.0.0.1",
        "127.0.0.1 ",
        "127.0.0.1%",
        "127.0.0.1%0",
        "127.0.0.1/32/",
        "127.0.0.1%nosuchif0",
        "1.2.3.4.5",
        "[127.0.0.1",
    };
    static const char *const ok6[] = {
        "::1",   "[::1]/64",      "::1%lo",
        "::1%1", "fe80::1%lo/10", "::ffff:127.0.0.2/128",
        "::/0",  "127.0.0.1",     "127.0.0.0/104",
    };
    static const char *const bad6[] = {"::1/129",       "::1%0", "::1%",
                                       "127.0.0.1/32/", "::1/",  "example.org"};
    policy_accept_entry_t e;
    for (size_t i = 0; i < sizeof ok4 / sizeof ok4[0]; i++) {
        if (parse(ok4[i], 0, &e) != 0) {
            fprintf(stderr, "refused: \"%s\"\n", ok4[i]);
            CHECK(0);
        }
        CHECK_EQ(e.family, AF_INET);
    }
    for (size_t i = 0; i < sizeof bad4 / sizeof bad4[0]; i++) {
        if (parse(bad4[i], 0, &e) != -EINVAL) {
            fprintf(stderr, "accepted: \"%s\"\n", bad4[i]);
            CHECK(0);
        }
    }
    for (size_t i = 0; i < sizeof ok6 / sizeof ok6[0]; i++) {
        if (parse(ok6[i], 1, &e) != 0) {
            fprintf(stderr, "refused (ipv6): \"%s\"\n", ok6[i]);
            CHECK(0);
        }
        CHECK_EQ(e.family, AF_INET6);
    }
    for (size_t i = 0; i < sizeof bad6 / sizeof bad6[0]; i++) {
        if (parse(bad6[i], 1, &e) != -EINVAL) {
            fprintf(stderr, "accepted (ipv6): \"%s\"\n", bad6[i]);
            CHECK(0);
        }
    }

    /* Masks as libzmq reads them. */
    CHECK_EQ(parse("127.0.0.1", 0, &e), 0);
    CHECK_EQ(e.mask, 32);
    CHECK_EQ(parse("127.0.0.1/24x", 0, &e), 0);
    CHECK_EQ(e.mask, 24);
    CHECK_EQ(parse("10.0.0.0/0", 0, &e), 0);
    CHECK_EQ(e.mask, 0);
    CHECK_EQ(parse("::1", 1, &e), 0);
    CHECK_EQ(e.mask, 128);

    /* The text ends at an embedded NUL; the length bounds it otherwise. */
    CHECK_EQ(policy_accept_parse("127.0.0.1\0junk", 14, 0, &e), 0);
    CHECK_EQ(policy_accept_parse("127.0.0.1/8", 9, 0, &e), 0);
    CHECK_EQ(e.mask, 32);
    char lead_nul[] = "_127.0.0.1";
    lead_nul[0] = '\0';
    CHECK_EQ(policy_accept_parse(lead_nul, 10, 0, &e), -EINVAL);
    CHECK_EQ(policy_accept_parse(NULL, 0, 0, &e), -EINVAL);
    char big[POLICY_ACCEPT_TEXT_MAX + 2];
    memset(big, '1', sizeof big);
    CHECK_EQ(policy_accept_parse(big, sizeof big, 0, &e), -EINVAL);

    /* With ZMQ_IPV6 an IPv4 literal is its mapped IPv6 address. */
    CHECK_EQ(parse("127.0.0.1", 1, &e), 0);
    static const uint8_t mapped[16] = {0, 0, 0,    0,    0,   0, 0, 0,
                                       0, 0, 0xFF, 0xFF, 127, 0, 0, 1};
    CHECK(memcmp(e.addr, mapped, 16) == 0);
}

static struct sockaddr_storage v4(const char *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    s->sin_family = AF_INET;
    s->sin_port = htons(4000);
    CHECK(inet_pton(AF_INET, a, &s->sin_addr) == 1);
    return ss;
}

static struct sockaddr_storage v6(const char *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(4000);
    CHECK(inet_pton(AF_INET6, a, &s->sin6_addr) == 1);
    return ss;
}

/* A list of the given entries (parsed with ipv6) accepts peer? */
static int allows(const char *const *filters, size_t n, int filter_ipv6,
                  struct sockaddr_storage peer, int listener_ipv6)
{
    policy_accept_list_t l = {0};
    for (size_t i = 0; i < n; i++) {
        policy_accept_entry_t e;
        CHECK_EQ(parse(filters[i], filter_ipv6, &e), 0);
        CHECK_EQ(policy_accept_add(&l, &e), 0);
    }
    int r = policy_accept_match(&l, (struct sockaddr *)&peer, listener_ipv6);
    policy_accept_clear(&l);
    return r;
}

#define ALLOWS(filters, fv6, peer, lv6)                                                  \
    allows(filters, sizeof(filters) / sizeof(filters[0]), fv6, peer, lv6)

static void test_match(void)
{
    static const char *const one[] = {"127.0.0.1"};
    static const char *const net8[] = {"127.0.0.0/8"};
    static const char *const odd[] = {"10.1.2.128/25"};
    static const char *const any4[] = {"10.0.0.0/0"};
    static const char *const two[] = {"192.0.2.1", "127.0.0.2"};
    static const char *const six[] = {"2001:db8::/33"};
    static const char *const any6[] = {"::/0"};

    /* No list: everyone. */
    policy_accept_list_t empty = {0};
    struct sockaddr_storage p = v4("192.0.2.9");
    CHECK_EQ(policy_accept_match(&empty, (struct sockaddr *)&p, 0), 1);

    CHECK_EQ(ALLOWS(one, 0, v4("127.0.0.1"), 0), 1);
    CHECK_EQ(ALLOWS(one, 0, v4("127.0.0.2"), 0), 0);
    CHECK_EQ(ALLOWS(net8, 0, v4("127.200.0.2"), 0), 1);
    CHECK_EQ(ALLOWS(net8, 0, v4("128.0.0.1"), 0), 0);
    CHECK_EQ(ALLOWS(odd, 0, v4("10.1.2.255"), 0), 1);
    CHECK_EQ(ALLOWS(odd, 0, v4("10.1.2.127"), 0), 0);
    CHECK_EQ(ALLOWS(any4, 0, v4("203.0.113.5"), 0), 1);
    CHECK_EQ(ALLOWS(two, 0, v4("127.0.0.2"), 0), 1);
    CHECK_EQ(ALLOWS(two, 0, v4("127.0.0.1"), 0), 0);
    CHECK_EQ(ALLOWS(six, 1, v6("2001:db8:7fff::1"), 1), 1);
    CHECK_EQ(ALLOWS(six, 1, v6("2001:db8:8000::1"), 1), 0);

    /* Families never cross: an IPv4 entry does not match an IPv6 peer,
     * an IPv4-mapped one included (libzmq refuses an IPv4 client of a
     * dual-stack bind whose filter was set without ZMQ_IPV6). */
    CHECK_EQ(ALLOWS(one, 0, v6("::ffff:127.0.0.1"), 1), 0);
    CHECK_EQ(ALLOWS(one, 0, v4("127.0.0.1"), 1), 0);
    CHECK_EQ(ALLOWS(any4, 0, v6("::1"), 1), 0);
    CHECK_EQ(ALLOWS(any6, 1, v4("127.0.0.1"), 0), 0);
    /* Set with ZMQ_IPV6 it is the mapped address, which matches an IPv4
     * peer on a listener with ZMQ_IPV6, seen mapped or not. */
    CHECK_EQ(ALLOWS(one, 1, v6("::ffff:127.0.0.1"), 1), 1);
    CHECK_EQ(ALLOWS(one, 1, v4("127.0.0.1"), 1), 1);
    CHECK_EQ(ALLOWS(one, 1, v4("127.0.0.1"), 0), 0);
    CHECK_EQ(ALLOWS(any6, 1, v4("127.0.0.1"), 1), 1);

    /* Another family never matches a non-empty list. */
    struct sockaddr_storage un;
    memset(&un, 0, sizeof un);
    un.ss_family = AF_UNIX;
    CHECK_EQ(ALLOWS(any4, 0, un, 0), 0);
}

static void test_list(void)
{
    policy_accept_list_t a = {0}, b = {0};
    policy_accept_entry_t e;
    for (int i = 0; i < 40; i++) {
        char s[32];
        snprintf(s, sizeof s, "10.0.%d.0/24", i);
        CHECK_EQ(parse(s, 0, &e), 0);
        CHECK_EQ(policy_accept_add(&a, &e), 0);
    }
    CHECK_EQ(a.count, 40);
    CHECK_EQ(policy_accept_copy(&b, &a), 0);
    CHECK_EQ(b.count, 40);
    struct sockaddr_storage p = v4("10.0.39.7");
    CHECK_EQ(policy_accept_match(&b, (struct sockaddr *)&p, 0), 1);
    policy_accept_clear(&a);
    CHECK_EQ(a.count, 0);
    CHECK_EQ(policy_accept_match(&b, (struct sockaddr *)&p, 0), 1);
    CHECK_EQ(policy_accept_copy(&b, &a), 0);
    CHECK_EQ(b.count, 0);
    CHECK(b.entry == NULL);
    policy_accept_clear(&b);
}

int main(void)
{
    test_syntax();
    test_match();
    test_list();
    printf("unit.accept_filter: ok\n");
    return 0;
}

/*
 * tls:// endpoint parsing and formatting.
 */
#include "check.h"
#include "endpoint/endpoint.h"

#include <errno.h>

#define BIND    1
#define CONNECT 2
#define BOTH    (BIND | CONNECT)

static const struct {
    const char *uri;
    int modes; /* where it is valid */
    const char *host;
    int port;
    int v6, ip;
} valid[] = {
    {"tls://localhost:5555", BOTH, "localhost", 5555, 0, 0},
    {"tls://example.com:1", BOTH, "example.com", 1, 0, 0},
    {"tls://example.com.:65535", BOTH, "example.com.", 65535, 0, 0},
    {"tls://my-host_1.internal:443", BOTH, "my-host_1.internal", 443, 0, 0},
    {"tls://eth0:80", BOTH, "eth0", 80, 0, 0},
    {"tls://a1.b2.c3d:80", BOTH, "a1.b2.c3d", 80, 0, 0},
    {"tls://127.0.0.1:9000", BOTH, "127.0.0.1", 9000, 0, 1},
    {"tls://0.0.0.0:9000", BOTH, "0.0.0.0", 9000, 0, 1},
    {"tls://255.255.255.255:9000", BOTH, "255.255.255.255", 9000, 0, 1},
    {"tls://[::1]:5555", BOTH, "::1", 5555, 1, 1},
    {"tls://[::]:5555", BOTH, "::", 5555, 1, 1},
    {"tls://[2001:db8::1]:443", BOTH, "2001:db8::1", 443, 1, 1},
    {"tls://[::ffff:192.0.2.1]:443", BOTH, "::ffff:192.0.2.1", 443, 1, 1},
    {"tls://[fe80::1%eth0]:443", BOTH, "fe80::1%eth0", 443, 1, 1},
    {"tls://localhost:080", BOTH, "localhost", 80, 0, 0},
    /* Wildcards: bind only. */
    {"tls://*:5555", BIND, "*", 5555, 0, 0},
    {"tls://*:*", BIND, "*", 0, 0, 0},
    {"tls://*:0", BIND, "*", 0, 0, 0},
    {"tls://127.0.0.1:*", BIND, "127.0.0.1", 0, 0, 1},
    {"tls://localhost:0", BIND, "localhost", 0, 0, 0},
    {"tls://[::1]:*", BIND, "::1", 0, 1, 1},
    {"tls://[::1]:0", BIND, "::1", 0, 1, 1},
};

static const char *const invalid[] = {
    /* not tls:// */
    "",
    "tls:",
    "tls:/",
    "tls:/host:80",
    "TLS://host:80",
    "tcp://host:80",
    "tls//host:80",
    " tls://host:80",
    "tls:///host:80",
    /* port */
    "tls://host",
    "tls://host:",
    "tls://host:12ab",
    "tls://host:65536",
    "tls://host:99999",
    "tls://host:100000",
    "tls://host:000080",
    "tls://host:-1",
    "tls://host:+80",
    "tls://host: 80",
    "tls://host:80 ",
    "tls://host:80/",
    "tls://host:80/path",
    "tls://host:80:81",
    "tls://host:**",
    "tls://host:*0",
    "tls://host:0x50",
    "tls://127.0.0.1:80;;127.0.0.1:81",
    "tls://host:8\t0",
    /* host */
    "tls://:80",
    "tls://:",
    "tls://",
    "tls://ho st:80",
    "tls://host/x:80",
    "tls://h@st:80",
    "tls://.host:80",
    "tls://ho..st:80",
    "tls://.:80",
    "tls://-/:80",
    "tls://host%1:80",
    "tls://**:80",
    "tls://*a:80",
    "tls://999.1.1.1:80",
    "tls://1.2.3:80",
    "tls://12345:80",
    "tls://1.2.3.4.5:80",
    "tls://host.123:80",
    "tls://h\xc3\xa9:80",
    /* IPv6 */
    "tls://::1:80",
    "tls://[::1",
    "tls://[::1]",
    "tls://[::1]:",
    "tls://[::1]80",
    "tls://[::1]x:80",
    "tls://::1]:80",
    "tls://[]:80",
    "tls://[[::1]]:80",
    "tls://[::1]]:80",
    "tls://[:::1]:80",
    "tls://[127.0.0.1]:80",
    "tls://[localhost]:80",
    "tls://[*]:80",
    "tls://[fe80::1%]:80",
    "tls://[fe80::1%e/0]:80",
    "tls://[%eth0]:80",
    "tls://[::1]:80]",
    "tls://[1:2:3:4:5:6:7:8:9]:80",
};

static void check_valid_entry(size_t i, int for_bind)
{
    endpoint_t ep;
    int rc = endpoint_parse(valid[i].uri, for_bind, &ep);
    int expect_ok = (valid[i].modes & (for_bind ? BIND : CONNECT)) != 0;
    if (!expect_ok) {
        if (rc != -EINVAL)
            fprintf(stderr, "accepted for connect: %s\n", valid[i].uri);
        CHECK_EQ(rc, -EINVAL);
        return;
    }
    if (rc != 0)
        fprintf(stderr, "rejected (bind=%d): %s\n", for_bind, valid[i].uri);
    CHECK_EQ(rc, 0);
    CHECK_STR(ep.host, valid[i].host);
    CHECK_EQ(ep.port, valid[i].port);
    CHECK_EQ(ep.is_ipv6_literal, valid[i].v6);
    CHECK_EQ(ep.is_ip_literal, valid[i].ip);
}

static void test_valid(void)
{
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        CHECK_EQ(endpoint_is_tls(valid[i].uri), 1);
        check_valid_entry(i, 1);
        check_valid_entry(i, 0);
    }
}

/* Rejected for bind and connect alike, leaving *out untouched. */
static void test_invalid(void)
{
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        for (int for_bind = 0; for_bind <= 1; for_bind++) {
            endpoint_t ep;
            memset(&ep, 0x5a, sizeof ep);
            int rc = endpoint_parse(invalid[i], for_bind, &ep);
            if (rc != -EINVAL)
                fprintf(stderr, "accepted (bind=%d): \"%s\"\n", for_bind, invalid[i]);
            CHECK_EQ(rc, -EINVAL);
            CHECK_EQ((unsigned char)ep.host[0], 0x5a);
        }
    }
    endpoint_t ep;
    CHECK_EQ(endpoint_parse(NULL, 1, &ep), -EINVAL);
    CHECK_EQ(endpoint_parse("tls://h:1", 1, NULL), -EINVAL);
}

static void test_is_tls(void)
{
    CHECK_EQ(endpoint_is_tls("tls://x:1"), 1);
    CHECK_EQ(endpoint_is_tls("tls://"), 1);
    CHECK_EQ(endpoint_is_tls("tls:/"), 0);
    CHECK_EQ(endpoint_is_tls("tcp://x:1"), 0);
    CHECK_EQ(endpoint_is_tls("TLS://x:1"), 0);
    CHECK_EQ(endpoint_is_tls(""), 0);
    CHECK_EQ(endpoint_is_tls(NULL), 0);
}

/* Host length: 255 accepted (as labels of <= 63), 256 rejected; a label of
 * 64 rejected; the same limits inside brackets via a long zone id. */
static void test_lengths(void)
{
    char uri[600], host[300];
    endpoint_t ep;

    /* 63 + 1 + 63 + 1 + 63 + 1 + 63 = 255 */
    memset(host, 'a', 255);
    host[63] = host[127] = host[191] = '.';
    host[255] = '\0';
    snprintf(uri, sizeof uri, "tls://%s:1", host);
    CHECK_EQ(endpoint_parse(uri, 0, &ep), 0);
    CHECK_EQ(strlen(ep.host), 255);
    CHECK_STR(ep.host, host);

    host[255] = 'b';
    host[256] = '\0';
    snprintf(uri, sizeof uri, "tls://%s:1", host);
    CHECK_EQ(endpoint_parse(uri, 0, &ep), -EINVAL);

    memset(host, 'a', 64);
    host[64] = '\0';
    snprintf(uri, sizeof uri, "tls://%s:1", host);
    CHECK_EQ(endpoint_parse(uri, 0, &ep), -EINVAL);
    host[63] = '\0';
    snprintf(uri, sizeof uri, "tls://%s:1", host);
    CHECK_EQ(endpoint_parse(uri, 0, &ep), 0);

    /* A far too long string is rejected, not truncated. */
    char big[4000];
    memcpy(big, "tls://", 6);
    memset(big + 6, 'x', sizeof big - 6);
    memcpy(big + sizeof big - 4, ":80", 4);
    CHECK_EQ(endpoint_parse(big, 1, &ep), -EINVAL);

    /* Bracketed: "fe80::1%" + zone up to 255 in total. */
    strcpy(host, "fe80::1%");
    size_t n = strlen(host);
    memset(host + n, 'z', 255 - n);
    host[255] = '\0';
    snprintf(uri, sizeof uri, "tls://[%s]:1", host);
    CHECK_EQ(endpoint_parse(uri, 0, &ep), 0);
    CHECK_STR(ep.host, host);
    host[255] = 'z';
    host[256] = '\0';
    snprintf(uri, sizeof uri, "tls://[%s]:1", host);
    CHECK_EQ(endpoint_parse(uri, 0, &ep), -EINVAL);
}

/* Every valid endpoint formats to a string that parses back to the same
 * endpoint, canonical form included. */
static void test_round_trip(void)
{
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        int for_bind = (valid[i].modes & CONNECT) == 0;
        endpoint_t a, b;
        char buf[ENDPOINT_URI_MAX];
        CHECK_EQ(endpoint_parse(valid[i].uri, for_bind, &a), 0);
        int n = endpoint_format(&a, buf, sizeof buf);
        CHECK_INT(n, >, 0);
        CHECK_EQ(n, strlen(buf));
        CHECK_EQ(endpoint_parse(buf, for_bind, &b), 0);
        CHECK_STR(a.host, b.host);
        CHECK_EQ(a.port, b.port);
        CHECK_EQ(a.is_ipv6_literal, b.is_ipv6_literal);
        CHECK_EQ(a.is_ip_literal, b.is_ip_literal);
    }

    endpoint_t ep;
    char buf[ENDPOINT_URI_MAX];
    CHECK_EQ(endpoint_parse("tls://[2001:db8::1]:443", 0, &ep), 0);
    CHECK_EQ(endpoint_format(&ep, buf, sizeof buf), 23);
    CHECK_STR(buf, "tls://[2001:db8::1]:443");
    CHECK_EQ(endpoint_parse("tls://*:*", 1, &ep), 0);
    CHECK_EQ(endpoint_format(&ep, buf, sizeof buf), 9);
    CHECK_STR(buf, "tls://*:0");
    CHECK_EQ(endpoint_parse("tls://localhost:0080", 0, &ep), 0);
    endpoint_format(&ep, buf, sizeof buf);
    CHECK_STR(buf, "tls://localhost:80");
}

static void test_format_limits(void)
{
    endpoint_t ep;
    char buf[ENDPOINT_URI_MAX];
    CHECK_EQ(endpoint_parse("tls://[::1]:5555", 0, &ep), 0);
    /* "tls://[::1]:5555" is 16 bytes: needs 17 with the NUL. */
    CHECK_EQ(endpoint_format(&ep, buf, 17), 16);
    memset(buf, 'q', sizeof buf);
    CHECK_EQ(endpoint_format(&ep, buf, 16), -ENOSPC);
    CHECK_STR(buf, "");
    CHECK_EQ(endpoint_format(&ep, buf, 1), -ENOSPC);
    CHECK_EQ(endpoint_format(&ep, NULL, 0), -ENOSPC);
    CHECK_EQ(endpoint_format(NULL, buf, sizeof buf), -EINVAL);

    /* A hand-built IPv6 host without the flag still gets brackets. */
    memset(&ep, 0, sizeof ep);
    strcpy(ep.host, "::1");
    ep.port = 7;
    CHECK_EQ(endpoint_format(&ep, buf, sizeof buf), 13);
    CHECK_STR(buf, "tls://[::1]:7");

    ep.port = 65536;
    CHECK_EQ(endpoint_format(&ep, buf, sizeof buf), -EINVAL);
    ep.port = -1;
    CHECK_EQ(endpoint_format(&ep, buf, sizeof buf), -EINVAL);
    ep.port = 1;
    memset(ep.host, 'h', sizeof ep.host);
    CHECK_EQ(endpoint_format(&ep, buf, sizeof buf), -EINVAL);

    /* The largest endpoint fits ENDPOINT_URI_MAX exactly. */
    memset(ep.host, 'h', ENDPOINT_HOST_MAX);
    ep.host[ENDPOINT_HOST_MAX] = '\0';
    ep.is_ipv6_literal = 1;
    ep.port = 65535;
    ep.has_src = 1;
    memset(ep.src_host, 's', ENDPOINT_SRC_HOST_MAX);
    ep.src_host[ENDPOINT_SRC_HOST_MAX] = '\0';
    ep.src_is_ipv6_literal = 1;
    ep.src_port = 65535;
    CHECK_EQ(endpoint_format(&ep, buf, sizeof buf), ENDPOINT_URI_MAX - 1);
    CHECK_EQ(endpoint_format(&ep, buf, sizeof buf - 1), -ENOSPC);
    memset(buf, 'q', sizeof buf);
    CHECK_EQ(endpoint_format(&ep, buf, 12), -ENOSPC);
    CHECK_STR(buf, "");
    ep.src_port = 65536;
    CHECK_EQ(endpoint_format(&ep, buf, sizeof buf), -EINVAL);
    ep.src_port = 1;
    memset(ep.src_host, 's', sizeof ep.src_host);
    CHECK_EQ(endpoint_format(&ep, buf, sizeof buf), -EINVAL);
}

/* tls://SRC_HOST:SRC_PORT;HOST:PORT: connect only, the destination parsed
 * as without a source, the source an IP literal or an interface name. */
static const struct {
    const char *uri;
    const char *src;
    int src_port, src_v6, src_ip;
    const char *host;
    int port;
    const char *canonical;
} sourced[] = {
    {"tls://127.0.0.2:0;127.0.0.1:5555", "127.0.0.2", 0, 0, 1, "127.0.0.1", 5555,
     "tls://127.0.0.2:0;127.0.0.1:5555"},
    {"tls://127.0.0.2:*;localhost:5555", "127.0.0.2", 0, 0, 1, "localhost", 5555,
     "tls://127.0.0.2:0;localhost:5555"},
    {"tls://10.0.0.1:40000;server.example.org:443", "10.0.0.1", 40000, 0, 1,
     "server.example.org", 443, "tls://10.0.0.1:40000;server.example.org:443"},
    {"tls://0.0.0.0:0;127.0.0.1:1", "0.0.0.0", 0, 0, 1, "127.0.0.1", 1,
     "tls://0.0.0.0:0;127.0.0.1:1"},
    {"tls://[::1]:65535;[::1]:80", "::1", 65535, 1, 1, "::1", 80,
     "tls://[::1]:65535;[::1]:80"},
    {"tls://[fe80::1%eth0]:0;[fe80::2%eth0]:80", "fe80::1%eth0", 0, 1, 1, "fe80::2%eth0",
     80, "tls://[fe80::1%eth0]:0;[fe80::2%eth0]:80"},
    {"tls://[::]:*;example.org:80", "::", 0, 1, 1, "example.org", 80,
     "tls://[::]:0;example.org:80"},
    {"tls://lo:0;127.0.0.1:80", "lo", 0, 0, 0, "127.0.0.1", 80,
     "tls://lo:0;127.0.0.1:80"},
    {"tls://eth0.100:0080;h:1", "eth0.100", 80, 0, 0, "h", 1, "tls://eth0.100:80;h:1"},
    {"tls://br-0123456789a:1;h:1", "br-0123456789a", 1, 0, 0, "h", 1,
     "tls://br-0123456789a:1;h:1"},
};

static const char *const sourced_invalid[] = {
    ";127.0.0.1:80",
    "tls://;127.0.0.1:80",
    "tls://127.0.0.2;127.0.0.1:80",
    "tls://127.0.0.2:;127.0.0.1:80",
    "tls://:0;127.0.0.1:80",
    "tls://*:0;127.0.0.1:80",
    "tls://*:*;127.0.0.1:80",
    "tls://127.0.0.2:65536;127.0.0.1:80",
    "tls://127.0.0.2:-1;127.0.0.1:80",
    "tls://127.0.0.2:00000000;127.0.0.1:80",
    "tls://127.0.0.2:0 ;127.0.0.1:80",
    "tls://127.0.0.2:0;127.0.0.1:80;",
    "tls://127.0.0.2:0;",
    "tls://127.0.0.2:0;127.0.0.1",
    "tls://127.0.0.2:0;127.0.0.1:0",
    "tls://127.0.0.2:0;127.0.0.1:*",
    "tls://127.0.0.2:0;*:80",
    "tls://a:0;b:0;127.0.0.1:80",
    "tls://1.2.3:0;127.0.0.1:80",
    "tls://999.0.0.1:0;127.0.0.1:80",
    "tls://::1:0;127.0.0.1:80",
    "tls://[::1:0;127.0.0.1:80",
    "tls://[127.0.0.1]:0;127.0.0.1:80",
    "tls://[::1]0;127.0.0.1:80",
    "tls://a-very-long-ifname:0;127.0.0.1:80",
    "tls://mail.example.org:0;127.0.0.1:80",
    "tls://ho st:0;127.0.0.1:80",
    "tls://127.0.0.2:0/x;127.0.0.1:80",
    "tls://[fe80::1%]:0;127.0.0.1:80",
    "tls://[fe80::1%aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]:0;h:1",
};

static void test_source(void)
{
    for (size_t i = 0; i < sizeof sourced / sizeof sourced[0]; i++) {
        endpoint_t ep;
        memset(&ep, 0x5a, sizeof ep);
        CHECK_EQ(endpoint_parse(sourced[i].uri, 1, &ep), -EINVAL); /* never on a bind */
        CHECK_EQ((unsigned char)ep.host[0], 0x5a);
        if (endpoint_parse(sourced[i].uri, 0, &ep) != 0) {
            fprintf(stderr, "rejected: %s\n", sourced[i].uri);
            CHECK(0);
        }
        CHECK_EQ(ep.has_src, 1);
        CHECK_STR(ep.src_host, sourced[i].src);
        CHECK_EQ(ep.src_port, sourced[i].src_port);
        CHECK_EQ(ep.src_is_ipv6_literal, sourced[i].src_v6);
        CHECK_EQ(ep.src_is_ip_literal, sourced[i].src_ip);
        CHECK_STR(ep.host, sourced[i].host);
        CHECK_EQ(ep.port, sourced[i].port);

        char buf[ENDPOINT_URI_MAX];
        int n = endpoint_format(&ep, buf, sizeof buf);
        CHECK_EQ(n, strlen(sourced[i].canonical));
        CHECK_STR(buf, sourced[i].canonical);
        endpoint_t again;
        CHECK_EQ(endpoint_parse(buf, 0, &again), 0);
        CHECK_STR(again.src_host, ep.src_host);
        CHECK_EQ(again.src_port, ep.src_port);
        CHECK_STR(again.host, ep.host);
    }
    for (size_t i = 0; i < sizeof sourced_invalid / sizeof sourced_invalid[0]; i++) {
        for (int for_bind = 0; for_bind <= 1; for_bind++) {
            endpoint_t ep;
            if (endpoint_parse(sourced_invalid[i], for_bind, &ep) != -EINVAL) {
                fprintf(stderr, "accepted (bind=%d): \"%s\"\n", for_bind,
                        sourced_invalid[i]);
                CHECK(0);
            }
        }
    }
    /* Without ';' there is no source. */
    endpoint_t ep;
    CHECK_EQ(endpoint_parse("tls://127.0.0.1:80", 0, &ep), 0);
    CHECK_EQ(ep.has_src, 0);
    /* The longest source host: a zone id to 63 bytes in all. */
    char uri[200], host[80];
    strcpy(host, "fe80::1%");
    size_t n = strlen(host);
    memset(host + n, 'z', ENDPOINT_SRC_HOST_MAX - n);
    host[ENDPOINT_SRC_HOST_MAX] = '\0';
    snprintf(uri, sizeof uri, "tls://[%s]:65535;h:1", host);
    CHECK_EQ(endpoint_parse(uri, 0, &ep), 0);
    CHECK_STR(ep.src_host, host);
}

int main(void)
{
    test_is_tls();
    test_valid();
    test_source();
    test_invalid();
    test_lengths();
    test_round_trip();
    test_format_limits();
    puts("endpoint: ok");
    return 0;
}

/*
 * tls://SRC_HOST:SRC_PORT;HOST:PORT beyond what tcp:// can be compared on
 * (integration.conf_accept does that): the server certificate is checked
 * against HOST, never SRC_HOST; ZMTLS_SERVER_NAME still wins; interface
 * names and IPv6 sources; one source port reaching two servers; and the
 * endpoints refused at zmq_connect / zmq_bind, each with its errno and a
 * zmtls_last_error() that says what is wrong.
 *
 * The server certificate names localhost, 127.0.0.1 and ::1, not
 * 127.0.0.2.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"
#include "zmtls.h"

static void open_server(tu_peer_t *srv, void *ctx, const char *pattern, int ipv6)
{
    tu_peer_open(srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_set_int(srv->sock, ZMQ_IPV6, ipv6);
    tu_bind_ephemeral(srv->sock, pattern, srv->endpoint);
}

static void open_client(tu_peer_t *cli, void *ctx, const char *name)
{
    tu_peer_open(cli, name, ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
}

/* The address the server's side of its connection sees (getpeername of
 * the fd reported by ACCEPTED), as "host" and port. */
static int server_sees(int fd, char *host, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    CHECK_EQ(getpeername(fd, (struct sockaddr *)&ss, &len), 0);
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        CHECK(inet_ntop(AF_INET6, &a->sin6_addr, host, (socklen_t)cap) != NULL);
        return ntohs(a->sin6_port);
    }
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    CHECK(inet_ntop(AF_INET, &a->sin_addr, host, (socklen_t)cap) != NULL);
    return ntohs(a->sin_port);
}

/* Source 127.0.0.2, HOST 127.0.0.1: the certificate covers HOST only, and
 * the handshake succeeds; the server sees the source. */
static void test_verified_against_host(void *ctx)
{
    tu_peer_t srv, cli;
    open_server(&srv, ctx, "tls://127.0.0.1:*", 0);
    open_client(&cli, ctx, "client");
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof ep, "tls://127.0.0.2:0;127.0.0.1:%d",
             tu_endpoint_port(srv.endpoint));
    tu_peer_connect(&cli, ep);
    int fd = TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "hi", TU_TIMEOUT_MS), 0);
    char host[INET6_ADDRSTRLEN];
    server_sees(fd, host, sizeof host);
    CHECK_STR(host, "127.0.0.2");
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    printf("source 127.0.0.2, host 127.0.0.1: verified against the host\n");
}

/* Source 127.0.0.1 (in the certificate), HOST 127.0.0.2 (not in it): the
 * client refuses the server, since HOST is what it asked for; with
 * ZMTLS_SERVER_NAME naming what the certificate holds it is accepted. */
static void test_host_not_source(void *ctx)
{
    tu_peer_t srv, cli, named;
    open_server(&srv, ctx, "tls://0.0.0.0:*", 0);
    int port = tu_endpoint_port(srv.endpoint);
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof ep, "tls://127.0.0.1:0;127.0.0.2:%d", port);

    open_client(&cli, ctx, "client");
    tu_peer_connect(&cli, ep);
    int alert = TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    printf("host 127.0.0.2 from source 127.0.0.1: refused, alert %d\n", alert);
    tu_peer_close(&cli);

    open_client(&named, ctx, "named");
    tu_set_str(named.sock, ZMTLS_SERVER_NAME, "localhost");
    tu_peer_connect(&named, ep);
    TU_PEER_EXPECT(&named, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_roundtrip_str(named.sock, srv.sock, "hi", TU_TIMEOUT_MS), 0);
    tu_peer_close(&named);
    tu_peer_close(&srv);
}

/* An interface name and an IPv6 literal as sources. */
static void test_source_forms(void *ctx)
{
    tu_peer_t srv, cli;
    char ep[TU_EP_MAX], host[INET6_ADDRSTRLEN];

    open_server(&srv, ctx, "tls://127.0.0.1:*", 0);
    open_client(&cli, ctx, "client-lo");
    snprintf(ep, sizeof ep, "tls://lo:*;127.0.0.1:%d", tu_endpoint_port(srv.endpoint));
    tu_peer_connect(&cli, ep);
    int fd = TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);
    CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "hi", TU_TIMEOUT_MS), 0);
    server_sees(fd, host, sizeof host);
    CHECK_STR(host, "127.0.0.1");
    tu_peer_close(&cli);
    tu_peer_close(&srv);

    open_server(&srv, ctx, "tls://[::1]:*", 1);
    open_client(&cli, ctx, "client-v6");
    snprintf(ep, sizeof ep, "tls://[::1]:0;[::1]:%d", tu_endpoint_port(srv.endpoint));
    tu_peer_connect(&cli, ep);
    fd = TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);
    CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "hi", TU_TIMEOUT_MS), 0);
    server_sees(fd, host, sizeof host);
    CHECK_STR(host, "::1");
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    printf("sources lo and [::1]: ok\n");
}

/* One fixed source port, two servers: SO_REUSEADDR lets both connections
 * bind it (their four-tuples differ), as with tcp://. */
static void test_shared_source_port(void *ctx)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    CHECK_EQ(inet_pton(AF_INET, "127.0.0.2", &sa.sin_addr), 1);
    CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    CHECK_EQ(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    int sport = ntohs(sa.sin_port);

    tu_peer_t a, b, ca, cb;
    open_server(&a, ctx, "tls://127.0.0.1:*", 0);
    open_server(&b, ctx, "tls://127.0.0.1:*", 0);
    open_client(&ca, ctx, "to-a");
    open_client(&cb, ctx, "to-b");
    char ep[TU_EP_MAX], host[INET6_ADDRSTRLEN];
    snprintf(ep, sizeof ep, "tls://127.0.0.2:%d;127.0.0.1:%d", sport,
             tu_endpoint_port(a.endpoint));
    tu_peer_connect(&ca, ep);
    snprintf(ep, sizeof ep, "tls://127.0.0.2:%d;127.0.0.1:%d", sport,
             tu_endpoint_port(b.endpoint));
    tu_peer_connect(&cb, ep);
    int fa = TU_PEER_EXPECT(&a, ZMQ_EVENT_ACCEPTED);
    int fb = TU_PEER_EXPECT(&b, ZMQ_EVENT_ACCEPTED);
    CHECK_EQ(tu_roundtrip_str(ca.sock, a.sock, "a", TU_TIMEOUT_MS), 0);
    CHECK_EQ(tu_roundtrip_str(cb.sock, b.sock, "b", TU_TIMEOUT_MS), 0);
    CHECK_EQ(server_sees(fa, host, sizeof host), sport);
    CHECK_EQ(server_sees(fb, host, sizeof host), sport);
    tu_peer_close(&ca);
    tu_peer_close(&cb);
    tu_peer_close(&a);
    tu_peer_close(&b);
    printf("source port %d shared by two connections: ok\n", sport);
}

/* zmq_connect / zmq_bind fail with err, and zmtls_last_error() holds
 * `says`. */
static void expect_refused(void *s, int bind, const char *ep, int err, const char *says)
{
    errno = 0;
    int rc = bind ? zmq_bind(s, ep) : zmq_connect(s, ep);
    int got = errno;
    printf("%s(%s): %s / %s\n", bind ? "zmq_bind" : "zmq_connect", ep,
           rc == 0 ? "ok" : zmq_strerror(got), zmtls_last_error());
    CHECK_EQ(rc, -1);
    CHECK_EQ(got, err);
    CHECK(strstr(zmtls_last_error(), says) != NULL);
}

static void test_refused(void *ctx)
{
    void *s = tu_socket(ctx, ZMQ_REQ);
    tu_set_creds(s, "client.pem", "client.key", "ca.pem");
    const char *syntax = "tls://SRC_HOST:SRC_PORT;HOST:PORT";
    expect_refused(s, 0, "tls://127.0.0.2:0;127.0.0.1", EINVAL, syntax);
    expect_refused(s, 0, "tls://127.0.0.2;127.0.0.1:5555", EINVAL, syntax);
    expect_refused(s, 0, "tls://1.2.3:0;127.0.0.1:5555", EINVAL, syntax);
    expect_refused(s, 0, "tls://localhost.localdomain:0;127.0.0.1:5555", EINVAL, syntax);
    expect_refused(s, 0, "tls://a:0;b:0;127.0.0.1:5555", EINVAL, syntax);
    expect_refused(s, 0, "tls://127.0.0.2:0;127.0.0.1:5555;", EINVAL, syntax);
    expect_refused(s, 0, "tls://127.0.0.2:70000;127.0.0.1:5555", EINVAL, syntax);
    /* Well formed, but not an address of this host's interfaces. */
    expect_refused(s, 0, "tls://nosuchif0:0;127.0.0.1:5555", ENODEV, "nosuchif0");
    /* A source of one family cannot reach a destination of the other. */
    expect_refused(s, 0, "tls://[::1]:0;127.0.0.1:5555", EINVAL, "address families");
    expect_refused(s, 0, "tls://127.0.0.2:0;[::1]:5555", EINVAL, "address families");
    zmq_close(s);

    void *b = tu_socket(ctx, ZMQ_REP);
    tu_set_creds(b, "server.pem", "server.key", "ca.pem");
    expect_refused(b, 1, "tls://127.0.0.2:0;127.0.0.1:*", EINVAL, "a bind has no source");
    zmq_close(b);
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    test_refused(ctx);
    test_verified_against_host(ctx);
    test_host_not_source(ctx);
    test_source_forms(ctx);
    test_shared_source_port(ctx);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("integration.source_addr: ok\n");
    return 0;
}

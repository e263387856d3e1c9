/*
 * Conformance of who a bind lets in and where a connect comes from, over
 * tls:// against tcp:// (Linux routes all of 127/8 on lo, so clients can
 * come from 127.0.0.2, 127.0.0.3, ...):
 *   filter_refuses        ZMQ_TCP_ACCEPT_FILTER 127.0.0.1: a client from
 *                         127.0.0.2 is closed at accept (ACCEPT_FAILED, no
 *                         ACCEPTED, never a handshake, nothing delivered)
 *                         while one from 127.0.0.1 is served
 *   filter_masks          a list of address/mask entries: any entry admits
 *   filter_snapshot       the list in force is the one set before zmq_bind;
 *                         NULL/0 clears it for later binds only
 *   filter_ipv6           ZMQ_IPV6 when the entry was set decides its family;
 *                         IPv4 clients of a bind with ZMQ_IPV6 are compared
 *                         as IPv4-mapped addresses, as libzmq sees them
 *   filter_invalid        what zmq_setsockopt refuses (EINVAL)
 *   source_address        SRC_HOST:SRC_PORT;HOST:PORT: the server's side of
 *                         the connection (getpeername of the ACCEPTED fd)
 *                         shows the chosen address and port; '*' and 0 let
 *                         the system pick the port
 *   source_unusable       a source that cannot be bound: CLOSED and a retry,
 *                         nothing reaches the server
 *   source_malformed      what zmq_connect refuses (EINVAL)
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"

static void *new_ctx(void)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    return ctx;
}

static void set_filter(void *sock, const char *filter)
{
    size_t len = filter ? strlen(filter) : 0;
    if (zmq_setsockopt(sock, ZMQ_TCP_ACCEPT_FILTER, filter, len) != 0) {
        fprintf(stderr, "ZMQ_TCP_ACCEPT_FILTER \"%s\": %s\n", filter ? filter : "(null)",
                zmq_strerror(errno));
        exit(1);
    }
}

/* Binds pattern ("tr://HOST:*") and returns the port bound. */
static int bind_port(void *sock, const char *tr, const char *host)
{
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof ep, "%s://%s:*", tr, host);
    if (zmq_bind(sock, ep) != 0) {
        fprintf(stderr, "zmq_bind(%s): %s\n", ep, zmq_strerror(errno));
        exit(1);
    }
    size_t len = sizeof ep;
    CHECK(zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &len) == 0);
    return tu_endpoint_port(ep);
}

/* A REQ client connected to 127.0.0.1:port from `src` (an address with
 * ":0", or NULL: the system's choice), with `hello` queued. */
static void client_from(tu_peer_t *cli, const char *name, void *ctx, const char *tr,
                        const char *src, int port, const char *hello)
{
    char ep[TU_EP_MAX];
    conf_peer_open(cli, name, ctx, ZMQ_REQ, tr, CONF_CLIENT);
    if (src != NULL)
        snprintf(ep, sizeof ep, "%s://%s;127.0.0.1:%d", tr, src, port);
    else
        snprintf(ep, sizeof ep, "%s://127.0.0.1:%d", tr, port);
    tu_peer_connect(cli, ep);
    CHECK_EQ(tu_send_str(cli->sock, hello, 0), (int)strlen(hello));
}

/* The server (REP) receives exactly `want` next and answers it; the client
 * gets the answer. */
static void serve(tu_peer_t *srv, tu_peer_t *cli, const char *want)
{
    char buf[64];
    if (tu_recv_str(srv->sock, buf, sizeof buf, TU_TIMEOUT_MS) < 0) {
        fprintf(stderr, "server: nothing from %s\n", cli->name);
        tu_events_print(&srv->log, srv->name);
        tu_events_print(&cli->log, cli->name);
        exit(1);
    }
    CHECK_STR(buf, want);
    CHECK_EQ(tu_send_str(srv->sock, "ok", 0), 2);
    CHECK(tu_recv_str(cli->sock, buf, sizeof buf, TU_TIMEOUT_MS) == 2);
    CHECK_STR(buf, "ok");
}

/* A refused client: the server reports ACCEPT_FAILED for it and no
 * ACCEPTED (the connection is closed before any handshake); the server
 * socket receives nothing meanwhile. */
static void expect_refused(tu_peer_t *srv)
{
    unsigned accepted = tu_events_count(&srv->log, ZMQ_EVENT_ACCEPTED);
    CHECK(conf_wait_event_kick(srv, ZMQ_EVENT_ACCEPT_FAILED, srv->sock, TU_TIMEOUT_MS) ==
          0);
    /* A few more refusals of the retrying client, none accepted. */
    conf_pump_kick(srv, srv->sock, 300);
    CHECK_EQ(tu_events_count(&srv->log, ZMQ_EVENT_ACCEPTED), accepted);
}

static void filter_refuses(const char *tr)
{
    void *ctx = new_ctx();
    tu_peer_t srv, bad, good;
    conf_peer_open(&srv, "server", ctx, ZMQ_REP, tr, CONF_SERVER);
    set_filter(srv.sock, "127.0.0.1");
    int port = bind_port(srv.sock, tr, "127.0.0.1");
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_LISTENING);

    client_from(&bad, "from-127.0.0.2", ctx, tr, "127.0.0.2:0", port, "bad");
    expect_refused(&srv);

    client_from(&good, "from-127.0.0.1", ctx, tr, NULL, port, "good");
    serve(&srv, &good, "good");
    /* The refused client is still refused, and never got in. */
    CHECK(conf_quiet(srv.sock, 300));
    tu_pump(bad.mon, &bad.log);
    tu_pump(srv.mon, &srv.log);
    CHECK_EQ(tu_events_count(&bad.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 1);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_ACCEPTED), 1);
    printf("refusals: %u, accepted: 1\n",
           tu_events_count(&srv.log, ZMQ_EVENT_ACCEPT_FAILED));

    tu_peer_close(&bad);
    tu_peer_close(&good);
    tu_peer_close(&srv);
    zmq_ctx_term(ctx);
}

static void filter_masks(const char *tr)
{
    void *ctx = new_ctx();
    tu_peer_t srv, bad, good;
    conf_peer_open(&srv, "server", ctx, ZMQ_REP, tr, CONF_SERVER);
    set_filter(srv.sock, "192.0.2.0/24");
    set_filter(srv.sock, "127.0.0.0/30"); /* .0 to .3 */
    int port = bind_port(srv.sock, tr, "*");

    client_from(&bad, "from-127.0.0.4", ctx, tr, "127.0.0.4:0", port, "bad");
    expect_refused(&srv);
    client_from(&good, "from-127.0.0.3", ctx, tr, "127.0.0.3:0", port, "good");
    serve(&srv, &good, "good");
    CHECK(conf_quiet(srv.sock, 300));

    tu_peer_close(&bad);
    tu_peer_close(&good);
    tu_peer_close(&srv);
    zmq_ctx_term(ctx);
}

/* Two binds on one socket, the filter changed between them and after. */
static void filter_snapshot(const char *tr)
{
    void *ctx = new_ctx();
    tu_peer_t srv, to_a, to_b;
    conf_peer_open(&srv, "server", ctx, ZMQ_REP, tr, CONF_SERVER);
    set_filter(srv.sock, "127.0.0.1");
    int port_a = bind_port(srv.sock, tr, "127.0.0.1");
    set_filter(srv.sock, NULL); /* cleared: later binds let everyone in */
    int port_b = bind_port(srv.sock, tr, "127.0.0.1");
    set_filter(srv.sock, "127.0.0.9"); /* after both binds: applies to neither */

    client_from(&to_a, "127.0.0.2-to-a", ctx, tr, "127.0.0.2:0", port_a, "a");
    expect_refused(&srv);
    client_from(&to_b, "127.0.0.2-to-b", ctx, tr, "127.0.0.2:0", port_b, "b");
    serve(&srv, &to_b, "b");
    CHECK(conf_quiet(srv.sock, 300));

    tu_peer_close(&to_a);
    tu_peer_close(&to_b);
    tu_peer_close(&srv);
    zmq_ctx_term(ctx);
}

/* One server: ZMQ_IPV6 when the filter "127.0.0.1" is set and when the
 * socket binds `host`; a client from 127.0.0.1 is served or refused. */
static void ipv6_case(void *ctx, const char *tr, int ipv6_at_filter, int ipv6_at_bind,
                      const char *host, int served)
{
    tu_peer_t srv, cli;
    printf("filter with ZMQ_IPV6=%d, bind %s with ZMQ_IPV6=%d: %s\n", ipv6_at_filter,
           host, ipv6_at_bind, served ? "served" : "refused");
    conf_peer_open(&srv, "server", ctx, ZMQ_REP, tr, CONF_SERVER);
    tu_set_int(srv.sock, ZMQ_IPV6, ipv6_at_filter);
    set_filter(srv.sock, "127.0.0.1");
    tu_set_int(srv.sock, ZMQ_IPV6, ipv6_at_bind);
    int port = bind_port(srv.sock, tr, host);
    client_from(&cli, "client", ctx, tr, NULL, port, "hi");
    if (served) {
        serve(&srv, &cli, "hi");
    } else {
        expect_refused(&srv);
    }
    tu_peer_close(&cli);
    tu_peer_close(&srv);
}

static void filter_ipv6(const char *tr)
{
    void *ctx = new_ctx();
    /* An IPv4 entry never matches the IPv4-mapped peers of a dual-stack
     * bind; the same text set with ZMQ_IPV6 is the mapped address. */
    ipv6_case(ctx, tr, 0, 1, "*", 0);
    ipv6_case(ctx, tr, 1, 1, "*", 1);
    /* With ZMQ_IPV6 libzmq binds 127.0.0.1 as ::ffff:127.0.0.1 too. */
    ipv6_case(ctx, tr, 1, 1, "127.0.0.1", 1);
    ipv6_case(ctx, tr, 0, 1, "127.0.0.1", 0);
    /* A mapped entry does not match a plain IPv4 bind's peers. */
    ipv6_case(ctx, tr, 1, 0, "*", 0);
    ipv6_case(ctx, tr, 0, 0, "*", 1);
    zmq_ctx_term(ctx);
}

static void filter_invalid(const char *tr)
{
    void *ctx = new_ctx();
    void *s = conf_socket(ctx, ZMQ_REP, tr, CONF_SERVER);
    static const char *const bad[] = {"127.0.0.1/", "127.0.0.1/33", "::1", "localhost",
                                      "*",          " 127.0.0.1"};
    for (size_t i = 0; i < CONF_N(bad); i++) {
        errno = 0;
        CHECK_EQ(zmq_setsockopt(s, ZMQ_TCP_ACCEPT_FILTER, bad[i], strlen(bad[i])), -1);
        CHECK_EQ(errno, EINVAL);
    }
    CHECK_EQ(zmq_setsockopt(s, ZMQ_TCP_ACCEPT_FILTER, "x", 0), -1);
    CHECK_EQ(errno, EINVAL);
    /* Refused entries left no trace: everyone is let in. */
    int port = bind_port(s, tr, "127.0.0.1");
    tu_peer_t srv = {.name = "server", .sock = s};
    srv.mon = tu_monitor(ctx, s, ZMQ_EVENT_ALL);
    tu_events_init(&srv.log);
    tu_peer_t cli;
    client_from(&cli, "client", ctx, tr, "127.0.0.2:0", port, "hi");
    serve(&srv, &cli, "hi");
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    zmq_ctx_term(ctx);
}

/* A port free on `addr` now: bound and released (never listened, so it
 * is not left in TIME_WAIT). */
static int free_port(const char *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    CHECK_EQ(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
    CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    CHECK_EQ(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Connects from src ("127.0.0.2:40000"), round trip, then the server's
 * view of the connection: getpeername of the fd ACCEPTED reported. */
static void from_source(void *ctx, const char *tr, const char *src, const char *want_addr,
                        int want_port)
{
    tu_peer_t srv, cli;
    conf_peer_open(&srv, "server", ctx, ZMQ_REP, tr, CONF_SERVER);
    int port = bind_port(srv.sock, tr, "127.0.0.1");
    client_from(&cli, "client", ctx, tr, src, port, "hi");
    int fd = TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);
    serve(&srv, &cli, "hi");
    /* The connection is up, so the fd is still the one accepted. */
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    CHECK_EQ(getpeername(fd, (struct sockaddr *)&peer, &len), 0);
    CHECK_EQ(peer.sin_family, AF_INET);
    char got[INET_ADDRSTRLEN];
    CHECK(inet_ntop(AF_INET, &peer.sin_addr, got, sizeof got) != NULL);
    printf("source %s: the server sees %s:%d\n", src, got, ntohs(peer.sin_port));
    CHECK_STR(got, want_addr);
    if (want_port > 0)
        CHECK_EQ(ntohs(peer.sin_port), want_port);
    else
        CHECK(ntohs(peer.sin_port) > 0);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
}

static void source_address(const char *tr)
{
    void *ctx = new_ctx();
    char src[64];
    int p = free_port("127.0.0.2");
    snprintf(src, sizeof src, "127.0.0.2:%d", p);
    from_source(ctx, tr, src, "127.0.0.2", p);
    from_source(ctx, tr, "127.0.0.3:*", "127.0.0.3", 0);
    from_source(ctx, tr, "127.0.0.4:0", "127.0.0.4", 0);
    zmq_ctx_term(ctx);
}

/* 192.0.2.1 (TEST-NET-1) is no address of this host: bind(2) fails. */
static void source_unusable(const char *tr)
{
    void *ctx = new_ctx();
    tu_peer_t srv, cli;
    conf_peer_open(&srv, "server", ctx, ZMQ_REP, tr, CONF_SERVER);
    int port = bind_port(srv.sock, tr, "127.0.0.1");
    client_from(&cli, "client", ctx, tr, "192.0.2.1:0", port, "hi");
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_CLOSED);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_CONNECT_RETRIED);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_CLOSED);
    CHECK(conf_quiet(srv.sock, 300));
    tu_pump(srv.mon, &srv.log);
    tu_pump(cli.mon, &cli.log);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_ACCEPTED), 0);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_CONNECTED), 0);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    zmq_ctx_term(ctx);
}

static void source_malformed(const char *tr)
{
    void *ctx = new_ctx();
    void *s = conf_socket(ctx, ZMQ_REQ, tr, CONF_CLIENT);
    /* What libzmq refuses at once; tls:// refuses more (integration.source_addr). */
    static const char *const bad[] = {"*:0;127.0.0.1:5555", ";127.0.0.1:5555",
                                      "127.0.0.2:0;127.0.0.1:*"};
    for (size_t i = 0; i < CONF_N(bad); i++) {
        char ep[TU_EP_MAX];
        snprintf(ep, sizeof ep, "%s://%s", tr, bad[i]);
        errno = 0;
        int rc = zmq_connect(s, ep);
        printf("zmq_connect(%s): %s\n", ep, rc == 0 ? "ok" : zmq_strerror(errno));
        CHECK_EQ(rc, -1);
        CHECK_EQ(errno, EINVAL);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
}

int main(int argc, char **argv)
{
    static const conf_case_t cases[] = {
        {"filter_refuses", filter_refuses, 0},
        {"filter_masks", filter_masks, 0},
        {"filter_snapshot", filter_snapshot, 0},
        {"filter_ipv6", filter_ipv6, 0},
        {"filter_invalid", filter_invalid, 0},
        {"source_address", source_address, 0},
        {"source_unusable", source_unusable, 0},
        {"source_malformed", source_malformed, 0},
    };
    return conf_main(argc, argv, "conf_accept", cases, CONF_N(cases));
}

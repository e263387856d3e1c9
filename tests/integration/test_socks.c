/*
 * ZMQ_SOCKS_PROXY on tls:// beyond what tcp:// can be compared with
 * (test_conf_socks.c does that), through support/socksproxy:
 *   dest_name     the server's certificate carries only DNS:wrong.example
 *                 and the proxy, at 127.0.0.1, tunnels every request to it.
 *                 tls://wrong.example:PORT completes (a name this host
 *                 cannot resolve: the proxy got it as a name), while
 *                 tls://127.0.0.1:PORT through the same proxy is refused
 *                 (HANDSHAKE_FAILED_AUTH): the name checked is the
 *                 destination's, never the proxy's address;
 *   deadline      a proxy that never answers: CLOSED, then CONNECT_RETRIED,
 *                 within ZMQ_HANDSHAKE_IVL, and no handshake event;
 *   not_socks     a proxy that answers like an HTTP server: CLOSED, then a
 *                 retry on the raised schedule (ZMTLS_AUTH_IVL);
 *   refusals      zmq_connect fails with EINVAL, zmtls_last_error saying
 *                 why, for a ZMQ_SOCKS_PROXY that is not HOST:PORT and for
 *                 a scoped IPv6 destination.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "socksproxy.h"
#include "testutil.h"
#include "zmtls.h"

#define STAT(f) offsetof(tu_socks_stats_t, f)

static void dest_name(void *ctx)
{
    tu_peer_t srv;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "wronghost-server.pem",
                 "wronghost-server.key", "ca.pem");
    tu_peer_bind(&srv);
    int port = tu_endpoint_port(srv.endpoint);
    tu_socks_opts_t o = {.redirect_port = port};
    tu_socks_t *px = tu_socks_start(&o);
    char ep[TU_EP_MAX];

    tu_peer_t good;
    tu_peer_open(&good, "by-name", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_set_str(good.sock, ZMQ_SOCKS_PROXY, tu_socks_address(px));
    snprintf(ep, sizeof ep, "tls://wrong.example:%d", port);
    tu_peer_connect(&good, ep);
    TU_PEER_EXPECT(&good, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_roundtrip_str(good.sock, srv.sock, "named", TU_TIMEOUT_MS), 0);
    tu_socks_stats_t st;
    tu_socks_stats(px, &st);
    CHECK_EQ(st.last_atyp, 3);
    CHECK(strcmp(st.last_host, "wrong.example") == 0);
    tu_peer_close(&good);

    tu_peer_t bad;
    tu_peer_open(&bad, "by-address", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_set_str(bad.sock, ZMQ_SOCKS_PROXY, tu_socks_address(px));
    tu_set_int(bad.sock, ZMTLS_AUTH_IVL, 500);
    snprintf(ep, sizeof ep, "tls://127.0.0.1:%d", port);
    tu_peer_connect(&bad, ep);
    int alert = TU_PEER_EXPECT(&bad, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    CHECK_EQ(zmtls_alert_is_auth(alert), 1);
    CHECK_EQ(tu_events_count(&bad.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    tu_socks_stats(px, &st);
    CHECK_EQ(st.last_atyp, 1);
    CHECK(strcmp(st.last_host, "127.0.0.1") == 0);
    CHECK(st.tunnels >= 2); /* the refused handshake went through the proxy */
    tu_peer_close(&bad);
    tu_peer_close(&srv);
    tu_socks_stop(&px);
}

/* A client of the proxy `o`, to a server that needs not exist: the proxy
 * fails it first. */
static void open_client(tu_peer_t *cli, void *ctx, tu_socks_t *px)
{
    tu_peer_open(cli, "client", ctx, ZMQ_DEALER, "client.pem", "client.key", "ca.pem");
    tu_set_str(cli->sock, ZMQ_SOCKS_PROXY, tu_socks_address(px));
}

static void expect_no_handshake(const tu_peer_t *cli)
{
    CHECK_EQ(tu_events_count(&cli->log, ZMQ_EVENT_CONNECTED), 0);
    CHECK_EQ(tu_events_count(&cli->log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_events_count(&cli->log, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL), 0);
    CHECK_EQ(tu_events_count(&cli->log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
    CHECK_EQ(tu_events_count(&cli->log, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL), 0);
}

static void deadline(void *ctx)
{
    tu_socks_opts_t o = {.silent = 1};
    tu_socks_t *px = tu_socks_start(&o);
    tu_peer_t cli;
    open_client(&cli, ctx, px);
    tu_set_int(cli.sock, ZMQ_HANDSHAKE_IVL, 300);
    int64_t t0 = tu_now_ms();
    tu_peer_connect(&cli, "tls://127.0.0.1:9");
    CHECK_EQ(tu_socks_wait(px, STAT(accepted), 1, TU_TIMEOUT_MS), 0);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_CLOSED);
    int64_t took = tu_now_ms() - t0;
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_CONNECT_RETRIED);
    printf("silent proxy given up after %lld ms (ZMQ_HANDSHAKE_IVL 300)\n",
           (long long)took);
    CHECK(took >= 250 && took < 3000);
    expect_no_handshake(&cli);
    tu_peer_close(&cli);
    tu_socks_stop(&px);
}

static void not_socks(void *ctx)
{
    tu_socks_opts_t o = {.garbage = 1};
    tu_socks_t *px = tu_socks_start(&o);
    tu_peer_t cli;
    open_client(&cli, ctx, px);
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL, 1000);
    tu_peer_connect(&cli, "tls://127.0.0.1:9");
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_CLOSED);
    int ivl = TU_PEER_EXPECT(&cli, ZMQ_EVENT_CONNECT_RETRIED);
    /* step x U[0.8, 1.2], not the transient 100 ms + jitter */
    CHECK(ivl >= 800 && ivl <= 1200);
    expect_no_handshake(&cli);
    tu_peer_close(&cli);
    tu_socks_stop(&px);
}

static void refused_at_connect(void *ctx, const char *proxy, const char *ep,
                               const char *why)
{
    void *s = tu_socket(ctx, ZMQ_DEALER);
    tu_set_creds(s, "client.pem", "client.key", "ca.pem");
    tu_set_str(s, ZMQ_SOCKS_PROXY, proxy);
    errno = 0;
    CHECK_EQ(zmq_connect(s, ep), -1);
    CHECK_EQ(errno, EINVAL);
    printf("ZMQ_SOCKS_PROXY=%s %s: %s\n", proxy, ep, zmtls_last_error());
    CHECK(strstr(zmtls_last_error(), why) != NULL);
    CHECK_EQ(zmq_close(s), 0);
}

static void refusals(void *ctx)
{
    refused_at_connect(ctx, "127.0.0.1", "tls://127.0.0.1:5555", "ZMQ_SOCKS_PROXY");
    refused_at_connect(ctx, "proxy.example:0", "tls://127.0.0.1:5555", "ZMQ_SOCKS_PROXY");
    refused_at_connect(ctx, "::1:1080", "tls://127.0.0.1:5555", "ZMQ_SOCKS_PROXY");
    refused_at_connect(ctx, "127.0.0.2:0;127.0.0.1:1080", "tls://127.0.0.1:5555",
                       "ZMQ_SOCKS_PROXY");
    refused_at_connect(ctx, "127.0.0.1:1080", "tls://[fe80::1%lo]:5555", "zone id");
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    dest_name(ctx);
    deadline(ctx);
    not_socks(ctx);
    refusals(ctx);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return 0;
}

/*
 * Conformance of how endpoints end and what peers are called, over tls://
 * against tcp://:
 *   reconnect_off_lost     RECONNECT_IVL -1, the established connection is
 *                          lost: DISCONNECTED and no CONNECT_RETRIED; the
 *                          endpoint ends with its pipe (a PAIR's send
 *                          then has nowhere to go: EAGAIN; zmq_disconnect
 *                          ENOENT); zmq_connect again to a new server on
 *                          the same endpoint carries traffic both ways
 *   reconnect_off_again    the same, connecting again right after
 *                          DISCONNECTED with no other call in between
 *                          (tls:// only: libzmq's PAIR races its own end
 *                          of the pipe there, so the reference fails at
 *                          times)
 *   reconnect_off_refused  RECONNECT_IVL -1, the server's ZAP handler
 *                          refuses the client: one attempt, no retry on
 *                          any schedule
 *   router_ids_bind        a ROUTER's peers without a routing id get
 *                          libzmq's shape: 5 bytes, 0x00 first, all
 *                          distinct, beside a peer that announced one of
 *                          that shape itself; replies route by them
 *   router_ids_connect     the same for a ROUTER that connects
 *   srcfd                  zmq_msg_get(ZMQ_SRCFD): tcp:// gives the fd
 *                          the message came in on; tls:// has none to give
 *                          (-1, EINVAL, as for inproc://) and says why in
 *                          zmtls_last_error() (docs/zmq_tls.7.md)
 *   unbind_wildcard        a wildcard bind is unbound by its resolved
 *                          endpoint (ZMQ_LAST_ENDPOINT) or a name that
 *                          resolves to it, never by the wildcard (ENOENT)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "conf.h"
#include "zaphandler.h"
#include "zmtls.h"

static void *new_ctx(void)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    return ctx;
}

/* zmq_bind that retries while the port is still held by a listener that
 * is closing on an I/O thread; paced by the monitor's events. */
static void bind_again(void *sock, const char *ep, tu_peer_t *pace)
{
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    while (zmq_bind(sock, ep) != 0) {
        if (errno != EADDRINUSE || tu_now_ms() > deadline) {
            fprintf(stderr, "re-binding %s: %s\n", ep, zmq_strerror(errno));
            exit(1);
        }
        tu_drain_events(pace->mon, &pace->log, CONF_PROBE_MS);
    }
}

static void expect_str(void *sock, const char *want)
{
    char buf[64];
    if (tu_recv_str(sock, buf, sizeof buf, TU_TIMEOUT_MS) < 0) {
        fprintf(stderr, "expected \"%s\", got nothing\n", want);
        exit(1);
    }
    CHECK_STR(buf, want);
}

/* ---- RECONNECT_IVL -1 ------------------------------------------------------------- */

/* How long a retry that should not come is waited for: CONNECT_RETRIED is
 * emitted when the retry is scheduled, right after the failure, on every
 * schedule. */
#define NO_RETRY_MS 300

static void reconnect_off_lost(const char *tr)
{
    void *ctx = new_ctx();
    tu_peer_t srv, cli;
    conf_peer_open(&srv, "server", ctx, ZMQ_PAIR, tr, CONF_SERVER);
    conf_peer_bind(&srv, tr);
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof ep, "%s", srv.endpoint);
    conf_peer_open(&cli, "client", ctx, ZMQ_PAIR, tr, CONF_CLIENT);
    tu_set_int(cli.sock, ZMQ_RECONNECT_IVL, -1);
    tu_peer_connect(&cli, ep);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_send_str(cli.sock, "a", 0), 1);
    expect_str(srv.sock, "a");

    tu_peer_close(&srv);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_DISCONNECTED);
    /* The pipe ends: sends that still found it go nowhere, then a PAIR
     * without a pipe refuses (the socket learns of the end at its next
     * call, on both transports). */
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    int sent = 0, err;
    while ((err = conf_try_send(cli.sock, "lost")) == 0) {
        sent++;
        CHECK(tu_now_ms() < deadline);
        tu_drain_events(cli.mon, &cli.log, CONF_PROBE_MS);
    }
    CHECK_EQ(err, EAGAIN);
    errno = 0;
    CHECK_EQ(zmq_disconnect(cli.sock, ep), -1);
    CHECK_EQ(errno, ENOENT);
    tu_drain_events(cli.mon, &cli.log, NO_RETRY_MS);
    tu_events_print(&cli.log, "client");
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_CONNECT_RETRIED), 0);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_DISCONNECTED), 1);

    /* The endpoint may be connected again, to a new server there. */
    tu_peer_t srv2;
    conf_peer_open(&srv2, "server2", ctx, ZMQ_PAIR, tr, CONF_SERVER);
    bind_again(srv2.sock, ep, &cli);
    tu_peer_connect(&cli, ep);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_send_str(cli.sock, "c", 0), 1);
    expect_str(srv2.sock, "c");
    CHECK_EQ(tu_send_str(srv2.sock, "d", 0), 1);
    expect_str(cli.sock, "d");
    /* Nothing sent into the ended pipe reached the new server. */
    CHECK(conf_quiet(srv2.sock, 50));
    tu_peer_close(&cli);
    tu_peer_close(&srv2);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("reconnect off: DISCONNECTED, no retry; %d send(s) into the ending pipe, "
           "then EAGAIN; zmq_disconnect ENOENT; connected again, traffic both ways\n",
           sent);
}

/* The same loss, and the application connects again at once: no call
 * into the socket in between but the new zmq_connect. */
static void reconnect_off_again(const char *tr)
{
    /* libzmq's PAIR may still hold the ended pipe when the new one comes,
     * and refuses the new one: the connect's own call processes the end,
     * whose last step comes back from the I/O thread after it. */
    if (!conf_is_tls(tr))
        conf_skip(tr, "libzmq's PAIR races its own end of the tcp:// pipe here");
    void *ctx = new_ctx();
    tu_peer_t srv, cli;
    conf_peer_open(&srv, "server", ctx, ZMQ_PAIR, tr, CONF_SERVER);
    conf_peer_bind(&srv, tr);
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof ep, "%s", srv.endpoint);
    conf_peer_open(&cli, "client", ctx, ZMQ_PAIR, tr, CONF_CLIENT);
    tu_set_int(cli.sock, ZMQ_RECONNECT_IVL, -1);
    tu_set_int(cli.sock, ZMQ_SNDTIMEO, TU_TIMEOUT_MS);
    tu_peer_connect(&cli, ep);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_send_str(cli.sock, "a", 0), 1);
    expect_str(srv.sock, "a");
    tu_peer_close(&srv);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_DISCONNECTED);
    tu_peer_t srv2;
    conf_peer_open(&srv2, "server2", ctx, ZMQ_PAIR, tr, CONF_SERVER);
    bind_again(srv2.sock, ep, &cli);
    tu_peer_connect(&cli, ep);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_send_str(cli.sock, "c", 0), 1);
    expect_str(srv2.sock, "c");
    CHECK_EQ(tu_send_str(srv2.sock, "d", 0), 1);
    expect_str(cli.sock, "d");
    tu_events_print(&cli.log, "client");
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_CONNECT_RETRIED), 0);
    tu_peer_close(&cli);
    tu_peer_close(&srv2);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf(
        "reconnect off: connected again right after DISCONNECTED, traffic both ways\n");
}

static void zap_deny(void *arg, void *rep)
{
    (void)arg;
    char f[8][256];
    int len[8] = {0};
    int n = 0, more = 1;
    while (more) {
        char buf[256];
        int l = zmq_recv(rep, buf, sizeof buf - 1, 0);
        CHECK(l >= 0);
        if ((size_t)l >= sizeof buf)
            l = (int)sizeof buf - 1; /* tls://'s certificate frame, kept in part */
        int m = 0;
        size_t ml = sizeof m;
        CHECK_EQ(zmq_getsockopt(rep, ZMQ_RCVMORE, &m, &ml), 0);
        more = m;
        if (n < 8) {
            memcpy(f[n], buf, (size_t)l);
            len[n++] = l;
        }
    }
    CHECK(n >= 6);
    CHECK_EQ(zmq_send(rep, "1.0", 3, ZMQ_SNDMORE), 3);
    CHECK_EQ(zmq_send(rep, f[1], (size_t)len[1], ZMQ_SNDMORE), len[1]);
    CHECK_EQ(zmq_send(rep, "400", 3, ZMQ_SNDMORE), 3);
    CHECK_EQ(zmq_send(rep, "", 0, ZMQ_SNDMORE), 0);
    CHECK_EQ(zmq_send(rep, "", 0, ZMQ_SNDMORE), 0);
    CHECK_EQ(zmq_send(rep, "", 0, 0), 0);
}

static void reconnect_off_refused(const char *tr)
{
    void *ctx = new_ctx();
    tu_zap_handler_t zap;
    tu_zap_handler_start(&zap, ctx, zap_deny, NULL);
    tu_peer_t srv, cli;
    conf_peer_open(&srv, "server", ctx, ZMQ_ROUTER, tr, CONF_SERVER);
    tu_set_str(srv.sock, ZMQ_ZAP_DOMAIN, "test");
    conf_peer_bind(&srv, tr);
    conf_peer_open(&cli, "client", ctx, ZMQ_DEALER, tr, CONF_CLIENT);
    tu_set_int(cli.sock, ZMQ_RECONNECT_IVL, -1);
    tu_peer_connect(&cli, srv.endpoint);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    tu_peer_t *both[2] = {&cli, &srv};
    tu_peers_wait(both, 2, tu_now_ms() + NO_RETRY_MS, NULL, 0, 0);
    tu_events_print(&cli.log, "client");
    tu_events_print(&srv.log, "server");
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 1);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_CONNECT_RETRIED), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_ACCEPTED), 1);
    if (conf_is_tls(tr)) {
        /* tls:// ends the endpoint (docs/zmq_tls.7.md, Reconnection);
         * libzmq keeps a refused one listed. */
        errno = 0;
        CHECK_EQ(zmq_disconnect(cli.sock, srv.endpoint), -1);
        CHECK_EQ(errno, ENOENT);
    }
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    tu_zap_handler_stop(&zap);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("reconnect off, refused by ZAP: one attempt, no retry\n");
}

/* ---- generated routing ids -------------------------------------------------------- */

#define ID_PEERS 3

/* A peer may announce an id of the generated shape itself. */
static const char announced[5] = {0, 'z', 'm', 't', 'l'};

/* Reads one message per peer on router: [id, body]; checks each id and
 * answers it with its body. ids: ID_PEERS slots of 5 bytes. */
static void collect_ids(void *router, unsigned char ids[][5], int n_generated)
{
    int generated = 0, seen_announced = 0;
    for (int k = 0; k < n_generated + 1; k++) {
        tu_msg_t m;
        CHECK_EQ(tu_recv_msg(router, &m, TU_TIMEOUT_MS), 0);
        CHECK_EQ(m.n, 2);
        const unsigned char *id = zmq_msg_data(&m.part[0]);
        size_t len = zmq_msg_size(&m.part[0]);
        printf("id:");
        for (size_t i = 0; i < len; i++)
            printf(" %02x", id[i]);
        printf("\n");
        CHECK_EQ(len, 5);
        CHECK_EQ(id[0], 0);
        if (memcmp(id, announced, 5) == 0) {
            seen_announced++;
        } else {
            CHECK(generated < ID_PEERS);
            memcpy(ids[generated++], id, 5);
        }
        /* the reply routes by the id */
        CHECK_EQ(zmq_msg_send(&m.part[0], router, ZMQ_SNDMORE), 5);
        CHECK(zmq_msg_send(&m.part[1], router, 0) >= 0);
        tu_msg_close(&m);
    }
    CHECK_EQ(seen_announced, 1);
    CHECK_EQ(generated, n_generated);
    for (int i = 0; i < generated; i++)
        for (int j = i + 1; j < generated; j++)
            CHECK(memcmp(ids[i], ids[j], 5) != 0);
}

static void router_ids_bind(const char *tr)
{
    void *ctx = new_ctx();
    tu_peer_t srv;
    conf_peer_open(&srv, "router", ctx, ZMQ_ROUTER, tr, CONF_SERVER);
    conf_peer_bind(&srv, tr);
    tu_peer_t cli[ID_PEERS + 1];
    for (int i = 0; i <= ID_PEERS; i++) {
        conf_peer_open(&cli[i], "dealer", ctx, ZMQ_DEALER, tr, CONF_CLIENT);
        if (i == ID_PEERS)
            CHECK_EQ(zmq_setsockopt(cli[i].sock, ZMQ_ROUTING_ID, announced, 5), 0);
        tu_peer_connect(&cli[i], srv.endpoint);
        char body[16];
        snprintf(body, sizeof body, "hi-%d", i);
        CHECK_EQ(tu_send_str(cli[i].sock, body, 0), (int)strlen(body));
    }
    unsigned char ids[ID_PEERS][5];
    collect_ids(srv.sock, ids, ID_PEERS);
    for (int i = 0; i <= ID_PEERS; i++) {
        char want[16];
        snprintf(want, sizeof want, "hi-%d", i);
        expect_str(cli[i].sock, want);
        tu_peer_close(&cli[i]);
    }
    tu_peer_close(&srv);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("router (bind): %d generated ids of 5 bytes, 0x00 first, distinct, beside "
           "an announced one; replies routed\n",
           ID_PEERS);
}

static void router_ids_connect(const char *tr)
{
    void *ctx = new_ctx();
    tu_peer_t srv[ID_PEERS + 1], cli;
    conf_peer_open(&cli, "router", ctx, ZMQ_ROUTER, tr, CONF_CLIENT);
    for (int i = 0; i <= ID_PEERS; i++) {
        conf_peer_open(&srv[i], "dealer", ctx, ZMQ_DEALER, tr, CONF_SERVER);
        if (i == ID_PEERS)
            CHECK_EQ(zmq_setsockopt(srv[i].sock, ZMQ_ROUTING_ID, announced, 5), 0);
        conf_peer_bind(&srv[i], tr);
        tu_peer_connect(&cli, srv[i].endpoint);
        TU_PEER_EXPECT(&srv[i], ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
        char body[16];
        snprintf(body, sizeof body, "hi-%d", i);
        CHECK_EQ(tu_send_str(srv[i].sock, body, 0), (int)strlen(body));
    }
    unsigned char ids[ID_PEERS][5];
    collect_ids(cli.sock, ids, ID_PEERS);
    for (int i = 0; i <= ID_PEERS; i++) {
        char want[16];
        snprintf(want, sizeof want, "hi-%d", i);
        expect_str(srv[i].sock, want);
        tu_peer_close(&srv[i]);
    }
    tu_peer_close(&cli);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("router (connect): %d generated ids of 5 bytes, 0x00 first, distinct; "
           "replies routed\n",
           ID_PEERS);
}

/* ---- ZMQ_SRCFD -------------------------------------------------------------------- */

static void srcfd(const char *tr)
{
    void *ctx = new_ctx();
    tu_peer_t pull, push;
    conf_peer_open(&pull, "pull", ctx, ZMQ_PULL, tr, CONF_SERVER);
    conf_peer_bind(&pull, tr);
    conf_peer_open(&push, "push", ctx, ZMQ_PUSH, tr, CONF_CLIENT);
    tu_peer_connect(&push, pull.endpoint);
    CHECK_EQ(tu_send_str(push.sock, "fd?", 0), 3);
    CHECK_EQ(tu_wait_readable(pull.sock, TU_TIMEOUT_MS), 0);
    zmq_msg_t m;
    zmq_msg_init(&m);
    CHECK_EQ(zmq_msg_recv(&m, pull.sock, 0), 3);
    errno = 0;
    int fd = zmq_msg_get(&m, ZMQ_SRCFD);
    int err = errno;
    if (conf_is_tls(tr)) {
        /* The documented refusal: nothing to give, and why. */
        CHECK_EQ(fd, -1);
        CHECK_EQ(err, EINVAL);
        CHECK(strstr(zmtls_last_error(), "ZMQ_SRCFD") != NULL);
        printf("tls: ZMQ_SRCFD -1 (EINVAL): %s\n", zmtls_last_error());
    } else {
        /* The reference: the fd of the TCP connection it came in on. */
        struct stat st;
        CHECK_INT(fd, >=, 0);
        CHECK_EQ(fstat(fd, &st), 0);
        CHECK(S_ISSOCK(st.st_mode));
        printf("tcp: ZMQ_SRCFD %d, a socket\n", fd);
    }
    CHECK_EQ(zmq_msg_get(&m, ZMQ_MORE), 0);
    zmq_msg_close(&m);
    tu_peer_close(&push);
    tu_peer_close(&pull);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

/* ---- zmq_unbind of a wildcard bind ------------------------------------------------ */

/* Binds `pattern` (tr://...), then: the pattern is no endpoint (ENOENT),
 * `other` (NULL: ZMQ_LAST_ENDPOINT) unbinds, and a second time ENOENT. */
static void unbind_check(void *ctx, const char *tr, const char *pattern_fmt,
                         const char *other_fmt)
{
    void *s = conf_socket(ctx, ZMQ_PULL, tr, CONF_SERVER);
    char pattern[TU_EP_MAX], last[TU_EP_MAX], other[TU_EP_MAX];
    snprintf(pattern, sizeof pattern, pattern_fmt, tr);
    CHECK_EQ(zmq_bind(s, pattern), 0);
    size_t len = sizeof last;
    CHECK_EQ(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, last, &len), 0);
    if (other_fmt != NULL)
        snprintf(other, sizeof other, other_fmt, tr, tu_endpoint_port(last));
    else
        snprintf(other, sizeof other, "%s", last);
    errno = 0;
    int rc = zmq_unbind(s, pattern);
    printf("bind %s (%s): unbind %s -> %s; unbind %s -> ", pattern, last, pattern,
           rc == 0 ? "ok" : zmq_strerror(errno), other);
    CHECK_EQ(rc, -1);
    CHECK_EQ(errno, ENOENT);
    rc = zmq_unbind(s, other);
    printf("%s\n", rc == 0 ? "ok" : zmq_strerror(errno));
    CHECK_EQ(rc, 0);
    errno = 0;
    CHECK_EQ(zmq_unbind(s, other), -1);
    CHECK_EQ(errno, ENOENT);
    CHECK_EQ(zmq_close(s), 0);
}

static void unbind_wildcard(const char *tr)
{
    void *ctx = new_ctx();
    unbind_check(ctx, tr, "%s://*:*", NULL);
    unbind_check(ctx, tr, "%s://127.0.0.1:*", NULL);
    unbind_check(ctx, tr, "%s://127.0.0.1:0", NULL);
    unbind_check(ctx, tr, "%s://lo:*", "%s://127.0.0.1:%d");
    unbind_check(ctx, tr, "%s://127.0.0.1:*", "%s://localhost:%d");
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

int main(int argc, char **argv)
{
    static const conf_case_t cases[] = {
        {"reconnect_off_lost", reconnect_off_lost, 0},
        {"reconnect_off_again", reconnect_off_again, 0},
        {"reconnect_off_refused", reconnect_off_refused, 0},
        {"router_ids_bind", router_ids_bind, 0},
        {"router_ids_connect", router_ids_connect, 0},
        {"srcfd", srcfd, 0},
        {"unbind_wildcard", unbind_wildcard, 0},
    };
    return conf_main(argc, argv, "conf_endpoints", cases, CONF_N(cases));
}

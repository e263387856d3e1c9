/*
 * Ending a program: zmq_close + zmq_ctx_term return promptly with tls://
 * connections in every state, with libzmq's default linger unless noted:
 *   1. established REQ/REP (after a round trip) plus an idle DEALER;
 *   2. a client in the middle of an auth backoff (a retry timer pending);
 *   3. a client retrying a port nobody listens on;
 *   4. ZMQ_LINGER 0 with messages queued towards a refusing server;
 *   5. another thread blocked in zmq_recv on a tls:// socket: zmq_ctx_term
 *      makes it return ETERM, the thread closes its socket, term returns.
 * "Promptly" is TERM_BOUND_MS per case; the watchdog and ctest's timeout
 * catch a real hang.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "testutil.h"
#include "zmtls.h"

#define TERM_BOUND_MS 3000

static void *plain_socket(void *ctx, int type, const char *cert, const char *key)
{
    /* zmq_socket directly: these tests keep libzmq's default linger. */
    void *s = zmq_socket(ctx, type);
    CHECK(s != NULL);
    tu_set_creds(s, cert, key, "ca.pem");
    return s;
}

/* Closes the sockets, terms the context, returns how long that took. */
static long long close_and_term(void *ctx, void **socks, int n)
{
    int64_t t0 = tu_now_ms();
    for (int i = 0; i < n; i++)
        CHECK_EQ(zmq_close(socks[i]), 0);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    long long ms = (long long)(tu_now_ms() - t0);
    CHECK_INT(ms, <, TERM_BOUND_MS);
    return ms;
}

/* Waits for `event` on a monitor started (tu_monitor) before the connect,
 * then stops monitoring, as an application would before closing. */
static void wait_event(void *sock, void *mon, int event)
{
    CHECK_EQ(tu_expect_event(mon, NULL, event, TU_TIMEOUT_MS, NULL), 0);
    CHECK_EQ(zmq_socket_monitor(sock, NULL, 0), 0);
    CHECK_EQ(zmq_close(mon), 0);
}

static long long established(void)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    void *rep = plain_socket(ctx, ZMQ_REP, "server.pem", "server.key");
    char ep[TU_EP_MAX];
    tu_bind_ephemeral(rep, "tls://127.0.0.1:*", ep);
    void *req = plain_socket(ctx, ZMQ_REQ, "client.pem", "client.key");
    void *idle = plain_socket(ctx, ZMQ_DEALER, "client.pem", "client.key");
    CHECK_EQ(zmq_connect(req, ep), 0);
    CHECK_EQ(zmq_connect(idle, ep), 0);
    CHECK_EQ(tu_roundtrip_str(req, rep, "last words", TU_TIMEOUT_MS), 0);
    void *socks[3] = {req, idle, rep};
    return close_and_term(ctx, socks, 3);
}

static long long in_backoff(void)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    void *srv = plain_socket(ctx, ZMQ_ROUTER, "server.pem", "server.key");
    char ep[TU_EP_MAX];
    tu_bind_ephemeral(srv, "tls://127.0.0.1:*", ep);
    void *rogue = plain_socket(ctx, ZMQ_DEALER, "rogue-client.pem", "rogue-client.key");
    tu_set_int(rogue, ZMTLS_AUTH_IVL, 30000); /* the timer outlives the test */
    void *mon = tu_monitor(ctx, rogue, ZMQ_EVENT_CONNECT_RETRIED);
    CHECK_EQ(zmq_connect(rogue, ep), 0);
    wait_event(rogue, mon, ZMQ_EVENT_CONNECT_RETRIED);
    void *socks[2] = {rogue, srv};
    return close_and_term(ctx, socks, 2);
}

static long long retrying(void)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    int holder = -1;
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof ep, "tls://127.0.0.1:%d", tu_closed_port(&holder));
    void *cli = plain_socket(ctx, ZMQ_REQ, "client.pem", "client.key");
    void *mon = tu_monitor(ctx, cli, ZMQ_EVENT_CONNECT_RETRIED);
    CHECK_EQ(zmq_connect(cli, ep), 0);
    wait_event(cli, mon, ZMQ_EVENT_CONNECT_RETRIED);
    void *socks[1] = {cli};
    long long ms = close_and_term(ctx, socks, 1);
    close(holder);
    return ms;
}

static long long linger0_queued(void)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    void *srv = plain_socket(ctx, ZMQ_ROUTER, "server.pem", "server.key");
    char ep[TU_EP_MAX];
    tu_bind_ephemeral(srv, "tls://127.0.0.1:*", ep);
    void *rogue = plain_socket(ctx, ZMQ_DEALER, "rogue-client.pem", "rogue-client.key");
    tu_set_int(rogue, ZMQ_LINGER, 0);
    void *mon = tu_monitor(ctx, rogue, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    CHECK_EQ(zmq_connect(rogue, ep), 0);
    for (int i = 0; i < 100; i++)
        if (tu_send_str(rogue, "pending", ZMQ_DONTWAIT) < 0)
            break;
    wait_event(rogue, mon, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    void *socks[2] = {rogue, srv};
    return close_and_term(ctx, socks, 2);
}

static void *blocked_receiver(void *arg)
{
    void *rep = arg;
    char buf[16];
    int rc = zmq_recv(rep, buf, sizeof buf, 0);
    int err = errno;
    zmq_close(rep); /* an ETERM'd socket must still be closed for term to end */
    return rc == -1 && err == ETERM ? arg : NULL;
}

static long long blocked_thread(void)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    void *rep = plain_socket(ctx, ZMQ_REP, "server.pem", "server.key");
    char ep[TU_EP_MAX];
    tu_bind_ephemeral(rep, "tls://127.0.0.1:*", ep);
    void *req = plain_socket(ctx, ZMQ_REQ, "client.pem", "client.key");
    void *mon = tu_monitor(ctx, req, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(zmq_connect(req, ep), 0);
    wait_event(req, mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(zmq_close(req), 0);

    /* From here the REP belongs to the thread. */
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, blocked_receiver, rep), 0);
    int64_t t0 = tu_now_ms();
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    long long ms = (long long)(tu_now_ms() - t0);
    void *got_eterm = NULL;
    CHECK_EQ(pthread_join(thread, &got_eterm), 0);
    CHECK(got_eterm != NULL);
    CHECK_INT(ms, <, TERM_BOUND_MS);
    return ms;
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    long long a = established();
    long long b = in_backoff();
    long long c = retrying();
    long long d = linger0_queued();
    long long e = blocked_thread();
    printf("term: close+term took %lld ms (established), %lld ms (auth backoff), %lld ms "
           "(retrying), %lld ms (linger 0, queued), %lld ms (thread blocked in recv, "
           "ETERM); bound %d ms\n",
           a, b, c, d, e, TERM_BOUND_MS);
    return 0;
}

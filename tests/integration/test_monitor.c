/*
 * zmq_socket_monitor under zmtls behaves as libzmq's own: the application's
 * address receives libzmq's events for tcp:// and zmtls's for tls://, the
 * mask filters both, disabling and closing deliver MONITOR_STOPPED, a
 * monitor can be restarted on the same address, and non-inproc addresses
 * are refused with EPROTONOSUPPORT.
 */
#include <errno.h>
#include <zmq.h>

#include "check.h"
#include "testutil.h"
#include "zmtls.h"

/* A tcp:// socket: libzmq's own events arrive through the forwarder. */
static void test_tcp_events_forwarded(void *ctx)
{
    void *rep = tu_socket(ctx, ZMQ_REP);
    void *mon = tu_monitor(ctx, rep, ZMQ_EVENT_ALL);
    char ep[TU_EP_MAX];
    tu_bind_ephemeral(rep, "tcp://127.0.0.1:*", ep);
    tu_events_t log;
    tu_events_init(&log);
    int value = 0;
    CHECK_EQ(tu_expect_event(mon, &log, ZMQ_EVENT_LISTENING, TU_TIMEOUT_MS, &value), 0);
    void *req = tu_socket(ctx, ZMQ_REQ);
    CHECK_EQ(zmq_connect(req, ep), 0);
    CHECK_EQ(tu_expect_event(mon, &log, ZMQ_EVENT_ACCEPTED, TU_TIMEOUT_MS, &value), 0);
    CHECK_EQ(
        tu_expect_event(mon, &log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, TU_TIMEOUT_MS, &value),
        0);
    tu_events_print(&log, "tcp server");
    zmq_close(req);
    zmq_close(rep);
    zmq_close(mon);
}

/* The mask filters zmtls's events like libzmq's: a monitor that asks only
 * for HANDSHAKE_SUCCEEDED sees nothing else. */
static void test_mask(void *ctx)
{
    void *rep = tu_socket(ctx, ZMQ_REP);
    tu_set_creds(rep, "server.pem", "server.key", "ca.pem");
    void *smon = tu_monitor(ctx, rep, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    char ep[TU_EP_MAX];
    tu_bind_ephemeral(rep, "tls://127.0.0.1:*", ep);
    void *req = tu_socket(ctx, ZMQ_REQ);
    tu_set_creds(req, "client.pem", "client.key", "ca.pem");
    void *cmon = tu_monitor(ctx, req, ZMQ_EVENT_CONNECTED);
    CHECK_EQ(zmq_connect(req, ep), 0);
    int event, value;
    char where[TU_EP_MAX];
    CHECK_EQ(tu_event_recv(smon, TU_TIMEOUT_MS, &event, &value, where), 0);
    CHECK_EQ(event, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_event_recv(cmon, TU_TIMEOUT_MS, &event, &value, where), 0);
    CHECK_EQ(event, ZMQ_EVENT_CONNECTED);
    CHECK_STR(where, ep);
    /* A round trip proves the handshakes finished, so any unmasked event
     * would already be queued. */
    CHECK_EQ(zmq_send(req, "x", 1, 0), 1);
    char buf[4];
    CHECK_EQ(zmq_recv(rep, buf, sizeof(buf), 0), 1);
    CHECK_EQ(zmq_send(rep, "y", 1, 0), 1);
    CHECK_EQ(zmq_recv(req, buf, sizeof(buf), 0), 1);
    tu_events_t rest;
    tu_events_init(&rest);
    CHECK_EQ(tu_drain_events(smon, &rest, 200), 0);
    CHECK_EQ(tu_drain_events(cmon, &rest, 200), 0);
    zmq_close(req);
    zmq_close(rep);
    zmq_close(smon);
    zmq_close(cmon);
    printf("mask: only the selected events arrived\n");
}

/* Disabling sends MONITOR_STOPPED; the same address can be used again;
 * closing the socket sends MONITOR_STOPPED to the new monitor. */
static void test_stop_restart_close(void *ctx)
{
    void *req = tu_socket(ctx, ZMQ_DEALER);
    tu_set_creds(req, "client.pem", "client.key", "ca.pem");
    CHECK_EQ(zmq_socket_monitor(req, "inproc://mon-restart", ZMQ_EVENT_ALL), 0);
    void *mon = tu_socket(ctx, ZMQ_PAIR);
    CHECK_EQ(zmq_connect(mon, "inproc://mon-restart"), 0);
    CHECK_EQ(zmq_socket_monitor(req, NULL, 0), 0);
    tu_events_t log;
    tu_events_init(&log);
    int value;
    CHECK_EQ(tu_expect_event(mon, &log, ZMQ_EVENT_MONITOR_STOPPED, TU_TIMEOUT_MS, &value),
             0);
    zmq_close(mon);

    CHECK_EQ(zmq_socket_monitor(req, "inproc://mon-restart", ZMQ_EVENT_ALL), 0);
    mon = tu_socket(ctx, ZMQ_PAIR);
    CHECK_EQ(zmq_connect(mon, "inproc://mon-restart"), 0);
    /* The restarted monitor carries tls:// events: a connect to a closed
     * port is refused and retried. */
    CHECK_EQ(zmq_connect(req, "tls://127.0.0.1:1"), 0);
    CHECK_EQ(tu_expect_event(mon, &log, ZMQ_EVENT_CONNECT_RETRIED, TU_TIMEOUT_MS, &value),
             0);
    zmq_close(req);
    CHECK_EQ(tu_expect_event(mon, &log, ZMQ_EVENT_MONITOR_STOPPED, TU_TIMEOUT_MS, &value),
             0);
    CHECK_EQ(tu_events_count(&log, ZMQ_EVENT_MONITOR_STOPPED), 2);
    tu_events_print(&log, "restart");
    zmq_close(mon);
}

static void test_bad_address(void *ctx)
{
    void *s = tu_socket(ctx, ZMQ_REQ);
    CHECK_EQ(zmq_socket_monitor(s, "tcp://127.0.0.1:5555", ZMQ_EVENT_ALL), -1);
    CHECK_EQ(errno, EPROTONOSUPPORT);
    /* Another socket's monitor address is taken: EADDRINUSE as in libzmq. */
    void *t = tu_socket(ctx, ZMQ_REQ);
    CHECK_EQ(zmq_socket_monitor(s, "inproc://mon-taken", ZMQ_EVENT_ALL), 0);
    CHECK_EQ(zmq_socket_monitor(t, "inproc://mon-taken", ZMQ_EVENT_ALL), -1);
    CHECK_EQ(errno, EADDRINUSE);
    zmq_close(s);
    zmq_close(t);
    printf("bad address: EPROTONOSUPPORT and EADDRINUSE as libzmq\n");
}

int main(void)
{
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    test_tcp_events_forwarded(ctx);
    test_mask(ctx);
    test_stop_restart_close(ctx);
    test_bad_address(ctx);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return 0;
}

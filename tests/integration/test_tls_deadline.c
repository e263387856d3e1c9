/*
 * The TLS phase always has a deadline. With ZMQ_HANDSHAKE_IVL = 0 (no
 * handshake timeout in libzmq), a TCP connection to a tls:// bind that
 * never sends a byte is still closed, after the 30 s TLS deadline
 * (CONN_TLS_DEADLINE_MS), with HANDSHAKE_FAILED_NO_DETAIL(ETIMEDOUT); a
 * good client is served meanwhile. This test takes about 30 s by design;
 * its waits are bounded by TLS_DEADLINE_WAIT_MS.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "testutil.h"
#include "zmtls.h"

/* The deadline, plus room for a loaded machine. */
#define TLS_DEADLINE_WAIT_MS 45000

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(90);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    tu_peer_t srv;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_set_int(srv.sock, ZMQ_HANDSHAKE_IVL, 0);
    tu_peer_bind(&srv);

    int64_t t0 = tu_now_ms();
    int fd = tu_tcp_connect(tu_endpoint_port(srv.endpoint));
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);

    void *req = tu_socket(ctx, ZMQ_REQ);
    tu_set_creds(req, "client.pem", "client.key", "ca.pem");
    CHECK_EQ(zmq_connect(req, srv.endpoint), 0);
    CHECK_EQ(tu_roundtrip_str(req, srv.sock, "meanwhile", TU_TIMEOUT_MS), 0);

    CHECK_EQ(tu_tcp_wait_closed(fd, TLS_DEADLINE_WAIT_MS), 0);
    printf("tls_deadline: a silent connection closed after %lld ms with "
           "ZMQ_HANDSHAKE_IVL 0\n",
           (long long)(tu_now_ms() - t0));
    int value = -1, event = 0;
    while (event != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        CHECK_EQ(tu_event_recv(srv.mon, TU_TIMEOUT_MS, &event, &value, NULL), 0);
    CHECK_EQ(value, ETIMEDOUT);
    close(fd);
    CHECK_EQ(tu_roundtrip_str(req, srv.sock, "after", TU_TIMEOUT_MS), 0);
    CHECK_EQ(zmq_close(req), 0);
    tu_peer_close(&srv);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return 0;
}

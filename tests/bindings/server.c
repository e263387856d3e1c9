/*
 * The tls:// REP server the binding clients talk to (run_client.py drives
 * it). It replies "echo:" + each request and reports on stdout, one line
 * each, flushed:
 *
 *   endpoint tls://127.0.0.1:PORT   once bound
 *   served REQUEST                  after each reply
 *   refused VALUE                   each HANDSHAKE_FAILED_AUTH (TLS alert)
 *
 * It stops when its stdin reaches end of file, so the driver ends it by
 * closing the pipe; the watchdog bounds it if the driver dies.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

int main(void)
{
    tu_watchdog(TU_WATCHDOG_S * 2);
    setvbuf(stdout, NULL, _IOLBF, 0);

    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    void *rep = tu_socket(ctx, ZMQ_REP);
    tu_set_creds(rep, "server.pem", "server.key", "ca.pem");
    void *mon = tu_monitor(ctx, rep, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    char endpoint[TU_EP_MAX];
    tu_bind_ephemeral(rep, "tls://127.0.0.1:*", endpoint);
    printf("endpoint %s\n", endpoint);

    zmq_pollitem_t items[] = {
        {rep, 0, ZMQ_POLLIN, 0},
        {mon, 0, ZMQ_POLLIN, 0},
        {NULL, STDIN_FILENO, ZMQ_POLLIN, 0},
    };
    for (;;) {
        CHECK(zmq_poll(items, 3, -1) >= 0);
        if (items[0].revents & ZMQ_POLLIN) {
            char req[200];
            int n = zmq_recv(rep, req, sizeof req - 1, 0);
            CHECK(n >= 0);
            req[n < (int)sizeof req - 1 ? n : (int)sizeof req - 1] = '\0';
            char reply[256];
            snprintf(reply, sizeof reply, "echo:%s", req);
            CHECK(zmq_send(rep, reply, strlen(reply), 0) >= 0);
            printf("served %s\n", req);
        }
        if (items[1].revents & ZMQ_POLLIN) {
            int event = 0, value = 0;
            CHECK(tu_event_recv(mon, 0, &event, &value, NULL) == 0);
            printf("refused %d\n", value);
        }
        /* A pipe's writer gone is POLLHUP, which zmq_poll reports as ZMQ_POLLERR. */
        if (items[2].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) {
            char buf[64];
            if (read(STDIN_FILENO, buf, sizeof buf) <= 0)
                break;
        }
    }
    zmq_close(mon);
    zmq_close(rep);
    CHECK(zmq_ctx_term(ctx) == 0);
    return 0;
}

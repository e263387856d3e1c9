/*
 * The server a TLS scanner probes (scripts/tls-scan.sh): a tls:// REP echo
 * server on 127.0.0.1, with a good REQ client of its own in the same
 * process that is served before, during and after the scan.
 *
 *   scan_server            (ZMTLS_TEST_CERTS names the certificates)
 *
 * Prints "endpoint tls://127.0.0.1:PORT" once the good client's first round
 * trip worked, then serves until its standard input reaches end of file
 * (the script closes it when the scanner is done) or the watchdog fires.
 * While the scanner runs, the good client makes a round trip every time the
 * server's monitor reports a failed handshake (the scanner's doing), so it
 * is served during the scan without a timer. At the end it makes a last
 * round trip and prints one line of counts: the server's monitor events and
 * the client's round trips. Exits 0 only when every round trip worked and
 * the good client's connection was never lost.
 */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "testutil.h"
#include "zmtls.h"

/* Long enough for a full testssl.sh run on a slow machine. */
#define SCAN_WATCHDOG_S 900

int main(void)
{
    tu_watchdog(SCAN_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    tu_peer_t srv, cli;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    /* The scanner connects dozens of times without a client certificate
     * from 127.0.0.1; a server that bans repeat offenders would close the
     * rest of the scan at accept. */
    tu_set_int(srv.sock, ZMTLS_OFFENDER_FAILURES, 0);
    tu_peer_bind(&srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_peer_connect(&cli, srv.endpoint);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "before", TU_TIMEOUT_MS), 0);
    unsigned trips = 1;
    printf("endpoint %s\n", srv.endpoint);
    fflush(stdout);

    zmq_pollitem_t items[2] = {{srv.mon, 0, ZMQ_POLLIN, 0}, {NULL, 0, POLLIN, 0}};
    unsigned failed_seen = 0;
    for (;;) {
        CHECK(zmq_poll(items, 2, -1) >= 0);
        if (items[1].revents) {
            char buf[64];
            if (read(0, buf, sizeof buf) <= 0)
                break;
        }
        tu_pump(srv.mon, &srv.log);
        unsigned failed = tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) +
                          tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) +
                          tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
        if (failed != failed_seen) {
            failed_seen = failed;
            CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "during", TU_TIMEOUT_MS), 0);
            trips++;
        }
    }
    CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "after", TU_TIMEOUT_MS), 0);
    trips++;
    tu_pump(srv.mon, &srv.log);
    tu_pump(cli.mon, &cli.log);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_DISCONNECTED), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_DISCONNECTED), 0);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 1);
    printf("scan_server: ACCEPTED=%u HANDSHAKE_SUCCEEDED=%u FAILED_PROTOCOL=%u "
           "FAILED_AUTH=%u FAILED_NO_DETAIL=%u DISCONNECTED=%u; good client round "
           "trips %u, all answered\n",
           tu_events_count(&srv.log, ZMQ_EVENT_ACCEPTED),
           tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED),
           tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL),
           tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH),
           tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL),
           tu_events_count(&srv.log, ZMQ_EVENT_DISCONNECTED), trips);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return 0;
}

/*
 * New credentials reset the auth schedule and are retried at once
 * (include/zmtls.h, ZMTLS_AUTH_IVL): a fixed certificate must not wait out
 * a long backoff.
 *
 * A rogue client with a 10 s auth interval (its next attempt would come
 * after 8 s at the earliest) is refused once; then the application sets the
 * good certificate and key on the same socket. Asserts: the first retry
 * was scheduled on the long auth interval, yet the handshake with the new
 * credentials succeeds well before it (within TU_TIMEOUT_MS, < 8 s) and a
 * round trip works.
 */
#include <stdio.h>

#include "testutil.h"
#include "zmtls.h"

#define LONG_IVL 10000

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    tu_peer_t srv, cli;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "rogue-client.pem", "rogue-client.key",
                 "ca.pem");
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL, LONG_IVL);
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL_MAX, LONG_IVL);
    tu_peer_connect(&cli, srv.endpoint);
    int alert = TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    int retry = TU_PEER_EXPECT(&cli, ZMQ_EVENT_CONNECT_RETRIED);
    CHECK_INT(retry, >=, LONG_IVL * 8 / 10);

    /* The fix an operator would make: a certificate the server trusts. */
    int64_t t_fix = tu_now_ms();
    tu_set_creds(cli.sock, "client.pem", "client.key", NULL);
    CHECK_EQ(TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    long long ms = (long long)(tu_now_ms() - t_fix);
    CHECK_INT(ms, <, LONG_IVL * 8 / 10);
    CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "fixed", TU_TIMEOUT_MS), 0);
    tu_events_print(&cli.log, "client");

    tu_peer_close(&cli);
    tu_peer_close(&srv);
    CHECK(zmq_ctx_term(ctx) == 0);
    printf("auth_new_creds: refused (alert %d), retry scheduled in %d ms; new "
           "credentials connected after %lld ms and a round trip worked\n",
           alert, retry, ms);
    return 0;
}

/*
 * ZMTLS_AUTH_STOP = 1: after an authentication failure the client makes no
 * further attempt.
 *
 * Asserts: with a 100 ms auth interval (so a retry would come within
 * 120 ms), over a 1.5 s wait after the refusal the stopping client reports
 * exactly one HANDSHAKE_FAILED_AUTH, no CONNECT_RETRIED after it, at most
 * one CONNECT_DELAYED, and its server sees exactly one ACCEPTED and one
 * HANDSHAKE_FAILED_AUTH. Control, in the same window: an identical client
 * without ZMTLS_AUTH_STOP, against a server of its own, retries at least 3
 * times, so the wait was long enough to see retries if there were any.
 */
#include <stdio.h>

#include "testutil.h"
#include "zmtls.h"

#define IVL     100
#define WAIT_MS 1500

static void open_rogue(tu_peer_t *srv, tu_peer_t *cli, const char *name, void *ctx,
                       int stop)
{
    tu_peer_open(srv, "server", ctx, ZMQ_ROUTER, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(srv);
    tu_peer_open(cli, name, ctx, ZMQ_DEALER, "rogue-client.pem", "rogue-client.key",
                 "ca.pem");
    tu_set_int(cli->sock, ZMTLS_AUTH_IVL, IVL);
    tu_set_int(cli->sock, ZMTLS_AUTH_IVL_MAX, IVL);
    tu_set_int(cli->sock, ZMTLS_AUTH_STOP, stop);
    CHECK_EQ(tu_get_int(cli->sock, ZMTLS_AUTH_STOP), stop);
    tu_peer_connect(cli, srv->endpoint);
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    tu_peer_t srv, cli, srv2, ctl;
    open_rogue(&srv, &cli, "stopping", ctx, 1);
    open_rogue(&srv2, &ctl, "control", ctx, 0);

    int alert = TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    tu_peer_t *all[4] = {&cli, &srv, &ctl, &srv2};
    tu_peers_wait(all, 4, tu_now_ms() + WAIT_MS, NULL, 0, 0);
    tu_events_print(&cli.log, "stopping");
    tu_events_print(&srv.log, "server");
    tu_events_print(&ctl.log, "control");

    int failed_at = tu_events_index(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 0);
    CHECK_EQ(alert, 48);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 1);
    unsigned retried_after = 0;
    for (size_t i = (size_t)failed_at + 1; i < cli.log.n; i++)
        retried_after += cli.log.seq[i].event == ZMQ_EVENT_CONNECT_RETRIED;
    CHECK_EQ(retried_after, 0);
    CHECK_INT(tu_events_count(&cli.log, ZMQ_EVENT_CONNECT_DELAYED), <=, 1);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_CONNECTED), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_ACCEPTED), 1);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 1);

    unsigned ctl_fail = tu_events_count(&ctl.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    CHECK_INT(ctl_fail, >=, 3);

    tu_peer_close(&ctl);
    tu_peer_close(&srv2);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    CHECK(zmq_ctx_term(ctx) == 0);
    printf("auth_stop: stopping client 1 attempt (alert %d), 0 retries in %d ms, server "
           "accepted 1; control client without stop: %u attempts\n",
           alert, WAIT_MS, ctl_fail);
    return 0;
}

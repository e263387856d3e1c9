/*
 * The auth reconnect schedule, asserted on counts and reported intervals,
 * never on measured timing.
 *
 * A client refused by the server (rogue CA) with ZMTLS_AUTH_IVL 200 and
 * ZMTLS_AUTH_IVL_MAX 1600 is watched for a fixed window from its first
 * HANDSHAKE_FAILED_AUTH. Step k is min(200 * 2^k, 1600) and the interval
 * used is step_k scaled by [0.8, 1.2], so:
 *   - the k-th CONNECT_RETRIED value lies in [0.8, 1.2] * step_k;
 *   - the failures in the window cannot exceed what the schedule allows
 *     with every interval at its minimum (max_failures below), which is
 *     far fewer than a constant 200 ms interval would allow;
 *   - there are at least 2 (the schedule does retry);
 *   - the server counts the same attempts (+/- the one in flight).
 * A second client, connecting to a port nobody listens on with
 * ZMQ_RECONNECT_IVL 100, runs during the same window: its transient retries
 * use libzmq's interval (100 + jitter below 100, < the auth floor) and
 * outnumber the auth attempts, which is the point of the separate schedule.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <unistd.h>

#include "testutil.h"
#include "zmtls.h"

#define FLOOR     200
#define CAP       1600
#define WINDOW_MS 2500
#define TRANSIENT 100

static int step_of(int k)
{
    long step = FLOOR;
    for (int i = 0; i < k && step < CAP; i++)
        step *= 2;
    return step < CAP ? (int)step : CAP;
}

/* Failures possible within `window` ms after the first one: the first,
 * plus one per retry whose cumulative minimum interval (rounded down, so
 * the bound errs high) still fits. For 200/1600/2500: 160, 480, 1120,
 * 2400 fit, 3680 does not, so 5. */
static unsigned max_failures(int window)
{
    unsigned n = 1;
    long cum = 0;
    for (int k = 0;; k++) {
        cum += (long)step_of(k) * 8 / 10;
        if (cum > window)
            return n;
        n++;
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    tu_peer_t srv, cli, tr;
    tu_peer_open(&srv, "server", ctx, ZMQ_ROUTER, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&srv);
    tu_peer_open(&cli, "rogue", ctx, ZMQ_DEALER, "rogue-client.pem", "rogue-client.key",
                 "ca.pem");
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL, FLOOR);
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL_MAX, CAP);
    CHECK_EQ(tu_get_int(cli.sock, ZMTLS_AUTH_IVL), FLOOR);
    CHECK_EQ(tu_get_int(cli.sock, ZMTLS_AUTH_IVL_MAX), CAP);

    int holder = -1;
    char closed[TU_EP_MAX];
    snprintf(closed, sizeof closed, "tls://127.0.0.1:%d", tu_closed_port(&holder));
    tu_peer_open(&tr, "transient", ctx, ZMQ_DEALER, "client.pem", "client.key", "ca.pem");
    tu_set_int(tr.sock, ZMQ_RECONNECT_IVL, TRANSIENT);

    tu_peer_connect(&cli, srv.endpoint);
    tu_peer_connect(&tr, closed);

    /* The window opens at the client's first refusal. */
    tu_peer_t *all[3] = {&cli, &srv, &tr};
    int64_t t_open = tu_now_ms();
    CHECK_EQ(tu_peers_wait(all, 3, t_open + TU_TIMEOUT_MS, &cli,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 1),
             0);
    int first = tu_events_index(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 0);
    CHECK(first >= 0);
    int64_t t0 = cli.log.seq[first].t_ms;
    size_t tr_before = tr.log.n;
    tu_peers_wait(all, 3, t0 + WINDOW_MS, NULL, 0, 0);

    tu_events_print(&cli.log, "rogue");
    tu_events_print(&srv.log, "server");
    tu_events_print(&tr.log, "transient");

    unsigned c_fail = tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    unsigned s_fail = tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    unsigned bound = max_failures(WINDOW_MS);
    unsigned flat = 1 + WINDOW_MS / (FLOOR * 8 / 10); /* without doubling */
    printf("window %d ms: rogue failures %u (schedule allows <= %u; a flat %d ms "
           "interval would allow %u), server failures %u\n",
           WINDOW_MS, c_fail, bound, FLOOR, flat, s_fail);
    CHECK_INT(c_fail, <=, bound);
    CHECK_INT(c_fail, >=, 2);
    CHECK_INT(s_fail + 1, >=, c_fail);
    CHECK_INT(s_fail, <=, c_fail + 1);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_CONNECTED), 0);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_DISCONNECTED), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);

    /* Retry k follows failure k and uses step_k with +/-20 % jitter. */
    unsigned retries = tu_events_count(&cli.log, ZMQ_EVENT_CONNECT_RETRIED);
    CHECK(retries == c_fail || retries + 1 == c_fail);
    printf("rogue CONNECT_RETRIED:");
    for (unsigned k = 0; k < retries; k++) {
        int v = 0;
        CHECK_EQ(tu_events_nth(&cli.log, ZMQ_EVENT_CONNECT_RETRIED, k, &v), 0);
        int step = step_of((int)k);
        printf(" %d (step %d)", v, step);
        CHECK_INT(v, >=, step * 8 / 10);
        CHECK_INT(v, <=, (step * 12 + 9) / 10);
        CHECK(tu_events_index(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, k) <
              tu_events_index(&cli.log, ZMQ_EVENT_CONNECT_RETRIED, k));
    }
    printf("\n");

    /* Transient retries in the same window: libzmq's schedule. */
    unsigned tr_retries = 0;
    for (size_t i = tr_before; i < tr.log.n; i++) {
        const tu_event_t *e = &tr.log.seq[i];
        if (e->event != ZMQ_EVENT_CONNECT_RETRIED)
            continue;
        tr_retries++;
        CHECK_INT(e->value, >=, TRANSIENT);
        CHECK_INT(e->value, <, 2 * TRANSIENT);
    }
    CHECK_EQ(tu_events_count(&tr.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
    CHECK_INT(tr_retries, >, c_fail);

    tu_peer_close(&tr);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    close(holder);
    CHECK(zmq_ctx_term(ctx) == 0);
    printf("auth_backoff: %u auth attempts (<= %u allowed, >= 2) vs %u transient "
           "retries in %d ms; client/server counts %u/%u\n",
           c_fail, bound, tr_retries, WINDOW_MS, c_fail, s_fail);
    return 0;
}

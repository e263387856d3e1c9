/*
 * CZMQ's zmonitor actor on tls:// sockets. CZMQ 4.2.1 accepts the
 * HANDSHAKE_* names in "LISTEN" and reports each event as three frames
 * (name, decimal value, endpoint), so zmtls's events reach CZMQ programs
 * unchanged:
 *   - a client whose certificate the server does not trust (rogue-client,
 *     signed by another CA) gets HANDSHAKE_FAILED_AUTH with the TLS alert
 *     (48, unknown_ca), retries on the auth schedule, and never reports
 *     CONNECTED, DISCONNECTED or HANDSHAKE_SUCCEEDED;
 *   - the server reports the refusal the same way;
 *   - a good client alongside reports CONNECTED then HANDSHAKE_SUCCEEDED
 *     and its requests are answered; the server never receives the
 *     rogue's queued request;
 *   - LISTEN filters: a monitor that did not ask for CONNECT_DELAYED does
 *     not get it.
 */
#include "czmq_support.h"

#define ALERT_UNKNOWN_CA 48
#define ROGUE_FAILURES   3
#define GOOD_REQUESTS    5

/* Every event in log carries this endpoint. */
static void check_endpoints(const cz_events_t *log, const char *ep)
{
    for (size_t i = 0; i < log->n; i++) {
        if (strcmp(log->ev[i].endpoint, ep) != 0) {
            fprintf(stderr, "%s: %s carries endpoint \"%s\", expected \"%s\"\n",
                    log->label, log->ev[i].name, log->ev[i].endpoint, ep);
            exit(1);
        }
    }
}

int main(void)
{
    tu_watchdog(TU_WATCHDOG_S);
    /* The environment is the good client's identity; the server and the
     * rogue override it per socket. */
    cz_env_creds("client.pem", "client.key", "ca.pem");
    cz_check_interposed();
    int64_t t0 = tu_now_ms();

    /* Server: monitor everything, attached before the bind. */
    zsock_t *server = zsock_new(ZMQ_REP);
    CHECK(server != NULL);
    cz_set_creds(server, "server.pem", "server.key");
    cz_events_t server_log;
    cz_events_init(&server_log, "server");
    zactor_t *server_mon =
        cz_monitor(server, "ALL", NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    CHECK_EQ(zsock_bind(server, "tls://127.0.0.1:*"), 0);
    char ep[TU_EP_MAX];
    cz_last_endpoint(server, ep);
    CZ_EXPECT_EVENTS(server_mon, &server_log, "LISTENING", 1);
    CHECK(server_log.ev[0].value >= 0); /* the listening fd */

    /* Rogue client: its own certificate through zmq_setsockopt, and a
     * short auth schedule (50 ms, capped at 200 ms) so that several
     * refusals fit in a test. Monitored for everything, so "never
     * CONNECTED" covers every event a stock stack could emit. */
    zsock_t *rogue = zsock_new(ZMQ_REQ);
    CHECK(rogue != NULL);
    cz_set_creds(rogue, "rogue-client.pem", "rogue-client.key");
    tu_set_int(zsock_resolve(rogue), ZMTLS_AUTH_IVL, 50);
    tu_set_int(zsock_resolve(rogue), ZMTLS_AUTH_IVL_MAX, 200);
    cz_events_t rogue_log;
    cz_events_init(&rogue_log, "rogue");
    zactor_t *rogue_mon =
        cz_monitor(rogue, "ALL", NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    CHECK_EQ(zsock_connect(rogue, "%s", ep), 0);
    /* Queued; must never reach the server. */
    CHECK_EQ(zstr_send(rogue, "from rogue"), 0);

    /* Good client: environment credentials, a monitor that listens to four
     * events only. zsock_new + zsock_connect rather than
     * zsock_new_req(">..."), because the constructor would connect before
     * the monitor exists and early events could be missed. */
    zsock_t *good = zsock_new(ZMQ_REQ);
    CHECK(good != NULL);
    cz_events_t good_log;
    cz_events_init(&good_log, "good");
    zactor_t *good_mon =
        cz_monitor(good, "CONNECTED", "HANDSHAKE_SUCCEEDED", "HANDSHAKE_FAILED_AUTH",
                   "DISCONNECTED", NULL, NULL, NULL, NULL);
    CHECK_EQ(zsock_connect(good, "%s", ep), 0);

    /* One loop drives everything until the rogue has been refused
     * ROGUE_FAILURES times and the good client has had GOOD_REQUESTS
     * replies, so the good client is shown working while the rogue keeps
     * failing. */
    zpoller_t *poller =
        zpoller_new(server, good, rogue, server_mon, rogue_mon, good_mon, NULL);
    CHECK(poller != NULL);
    int sent = 0, replies = 0, served = 0;
    CHECK_EQ(zstr_sendf(good, "good %d", sent++), 0);
    int64_t deadline = tu_now_ms() + 2 * TU_TIMEOUT_MS;
    while (replies < GOOD_REQUESTS ||
           cz_events_count(&rogue_log, "HANDSHAKE_FAILED_AUTH") < ROGUE_FAILURES) {
        int left = cz_remaining(deadline);
        if (left == 0) {
            fprintf(stderr, "timeout: replies %d, rogue refusals %u\n", replies,
                    cz_events_count(&rogue_log, "HANDSHAKE_FAILED_AUTH"));
            cz_events_print(&server_log);
            cz_events_print(&rogue_log);
            cz_events_print(&good_log);
            return 1;
        }
        void *which = zpoller_wait(poller, left);
        CHECK(!zpoller_terminated(poller));
        if (which == server) {
            char *req = zstr_recv(server);
            CHECK(req != NULL);
            /* Only the good client's requests may ever arrive. */
            CHECK(strncmp(req, "good ", 5) == 0);
            served++;
            CHECK_EQ(zstr_sendf(server, "reply to %s", req), 0);
            zstr_free(&req);
        } else if (which == good) {
            char *rep = zstr_recv(good);
            CHECK(rep != NULL);
            char want[64];
            snprintf(want, sizeof want, "reply to good %d", replies);
            CHECK_STR(rep, want);
            zstr_free(&rep);
            if (++replies < GOOD_REQUESTS)
                CHECK_EQ(zstr_sendf(good, "good %d", sent++), 0);
        } else if (which == rogue) {
            fprintf(stderr, "the rogue client received a reply\n");
            return 1;
        } else if (which == server_mon) {
            cz_events_pump(server_mon, &server_log);
        } else if (which == rogue_mon) {
            cz_events_pump(rogue_mon, &rogue_log);
        } else if (which == good_mon) {
            cz_events_pump(good_mon, &good_log);
        }
    }
    int64_t t_loop = tu_now_ms();
    /* The good client's events can trail its first reply slightly. */
    CZ_EXPECT_EVENTS(good_mon, &good_log, "HANDSHAKE_SUCCEEDED", 1);
    CZ_EXPECT_EVENTS(server_mon, &server_log, "HANDSHAKE_FAILED_AUTH", 1);
    CZ_EXPECT_EVENTS(server_mon, &server_log, "HANDSHAKE_SUCCEEDED", 1);
    cz_events_pump(rogue_mon, &rogue_log);
    cz_events_pump(good_mon, &good_log);
    cz_events_pump(server_mon, &server_log);
    cz_events_print(&server_log);
    cz_events_print(&rogue_log);
    cz_events_print(&good_log);

    /* Rogue: refused with unknown_ca every time, never connected. */
    unsigned refusals = cz_events_count(&rogue_log, "HANDSHAKE_FAILED_AUTH");
    CHECK(refusals >= ROGUE_FAILURES);
    for (size_t i = 0; i < rogue_log.n; i++)
        if (strcmp(rogue_log.ev[i].name, "HANDSHAKE_FAILED_AUTH") == 0)
            CHECK_EQ(rogue_log.ev[i].value, ALERT_UNKNOWN_CA);
    CHECK_EQ(cz_events_count(&rogue_log, "CONNECTED"), 0);
    CHECK_EQ(cz_events_count(&rogue_log, "DISCONNECTED"), 0);
    CHECK_EQ(cz_events_count(&rogue_log, "HANDSHAKE_SUCCEEDED"), 0);
    CHECK_EQ(cz_events_count(&rogue_log, "UNKNOWN"), 0);
    /* Each refusal but the latest is followed by a retry whose value is
     * the interval used: within the 50..200 ms schedule, +/-20 %. */
    for (unsigned k = 0; k + 1 < refusals; k++) {
        int i = cz_events_index(&rogue_log, "HANDSHAKE_FAILED_AUTH", k);
        int r = cz_events_index(&rogue_log, "CONNECT_RETRIED", k);
        CHECK(r > i);
        CHECK(rogue_log.ev[r].value >= 40 && rogue_log.ev[r].value <= 240);
    }
    check_endpoints(&rogue_log, ep);

    /* Server: refused the rogue (the alert it sent) and accepted the good
     * client; it received only the good client's requests. */
    int i = cz_events_index(&server_log, "HANDSHAKE_FAILED_AUTH", 0);
    CHECK_EQ(server_log.ev[i].value, ALERT_UNKNOWN_CA);
    CHECK(cz_events_count(&server_log, "ACCEPTED") >= 2);
    CHECK_EQ(cz_events_count(&server_log, "UNKNOWN"), 0);
    CHECK_EQ(served, GOOD_REQUESTS);
    check_endpoints(&server_log, ep);

    /* Good client: CONNECTED (an fd) then HANDSHAKE_SUCCEEDED (0), once
     * each, and only the events it listened to. */
    CHECK_EQ(cz_events_count(&good_log, "CONNECTED"), 1);
    CHECK_EQ(cz_events_count(&good_log, "HANDSHAKE_SUCCEEDED"), 1);
    int c = cz_events_index(&good_log, "CONNECTED", 0);
    int h = cz_events_index(&good_log, "HANDSHAKE_SUCCEEDED", 0);
    CHECK(c < h);
    CHECK(good_log.ev[c].value > 0);
    CHECK_EQ(good_log.ev[h].value, 0);
    CHECK_EQ(good_log.n, 2); /* no CONNECT_DELAYED: LISTEN filtered it */
    check_endpoints(&good_log, ep);
    CHECK_EQ(replies, GOOD_REQUESTS);

    /* Monitors first (zmonitor stops the libzmq monitor on its socket),
     * then the sockets. */
    int64_t t_close = tu_now_ms();
    zpoller_destroy(&poller);
    zactor_destroy(&good_mon);
    zactor_destroy(&rogue_mon);
    zactor_destroy(&server_mon);
    int64_t t_mon = tu_now_ms();
    zsock_destroy(&good);
    zsock_destroy(&rogue);
    zsock_destroy(&server);
    int64_t t_sock = tu_now_ms();
    zsys_shutdown();
    int64_t t_end = tu_now_ms();
    printf("rogue refused %u times (alert %d), good client %d replies; loop %lld ms; "
           "teardown: monitors %lld ms, sockets %lld ms, zsys_shutdown %lld ms; "
           "total %lld ms\n",
           refusals, ALERT_UNKNOWN_CA, replies, (long long)(t_loop - t0),
           (long long)(t_mon - t_close), (long long)(t_sock - t_mon),
           (long long)(t_end - t_sock), (long long)(t_end - t0));
    return 0;
}

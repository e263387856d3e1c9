/*
 * Bursts of small messages over tls://: everything sent must arrive, in
 * order, with nothing left stranded in the transport until more traffic
 * happens to come.
 *
 * Two shapes, each repeated on fresh sockets because how the burst is cut
 * into TLS records, and read back, varies from run to run:
 *   - queued: zsock_new_push(">tls://...") then QUEUED messages at once,
 *     so they wait in the socket while the handshake runs and leave in a
 *     rush when it completes (more than 256 frames);
 *   - pipelined: a DEALER queues PIPELINED requests, a REP answers each
 *     with 3 frames ["", "echo", n] (zmsg_pushstr), more than 256 small
 *     frames back to the DEALER per round.
 *
 * A round that stalls is reported with how much arrived and whether one
 * more message releases the rest (held back, not lost).
 */
#include "czmq_support.h"

#define QUEUED_ROUNDS    10
#define QUEUED           300
#define PIPELINED_ROUNDS 20
#define PIPELINED        100

/* After a stall: sends one more message from `from` and counts what then
 * arrives on `to` (serving `rep` meanwhile when it is not NULL). */
static int nudge(zsock_t *from, zsock_t *to, zsock_t *rep, int with_delimiter)
{
    if (with_delimiter)
        CHECK_EQ(zstr_sendm(from, ""), 0);
    CHECK_EQ(zstr_send(from, "nudge"), 0);
    zpoller_t *poller = zpoller_new(to, NULL);
    CHECK(poller != NULL);
    if (rep != NULL)
        CHECK_EQ(zpoller_add(poller, rep), 0);
    int late = 0;
    void *which;
    while ((which = zpoller_wait(poller, TU_QUIET_MS)) != NULL) {
        zmsg_t *m = zmsg_recv(which);
        CHECK(m != NULL);
        if (which == rep) {
            CHECK_EQ(zmsg_send(&m, rep), 0);
        } else {
            zmsg_destroy(&m);
            late++;
        }
    }
    zpoller_destroy(&poller);
    return late;
}

static zsock_t *server_new(int type, char *spec)
{
    zsock_t *s = zsock_new(type);
    CHECK(s != NULL);
    cz_set_creds(s, "server.pem", "server.key");
    CHECK_EQ(zsock_bind(s, "tls://127.0.0.1:*"), 0);
    char ep[TU_EP_MAX];
    cz_last_endpoint(s, ep);
    snprintf(spec, TU_EP_MAX + 1, ">%s", ep);
    return s;
}

/* Returns 0, or 1 when the round stalled. */
static int queued_round(int round)
{
    char spec[TU_EP_MAX + 1];
    zsock_t *pull = server_new(ZMQ_PULL, spec);
    zsock_t *push = zsock_new_push(spec);
    CHECK(push != NULL);
    for (int i = 0; i < QUEUED; i++)
        CHECK_EQ(zstr_sendf(push, "%d", i), 0);

    int got = 0;
    while (got < QUEUED && cz_wait_readable(pull, TU_TIMEOUT_MS) == 0) {
        char *s = zstr_recv(pull);
        CHECK(s != NULL);
        CHECK_EQ(atoi(s), got);
        zstr_free(&s);
        got++;
    }
    int stalled = got < QUEUED;
    if (stalled) {
        int late = nudge(push, pull, NULL, 0);
        fprintf(stderr,
                "queued round %d: %d of %d messages arrived; one more message "
                "released %d (its own included)\n",
                round, got, QUEUED, late);
    }
    zsock_destroy(&push);
    zsock_destroy(&pull);
    return stalled;
}

/* Returns 0, or 1 when the round stalled. */
static int pipelined_round(int round)
{
    char spec[TU_EP_MAX + 1];
    zsock_t *rep = server_new(ZMQ_REP, spec);
    zsock_t *dealer = zsock_new_dealer(spec);
    CHECK(dealer != NULL);
    for (int i = 0; i < PIPELINED; i++) {
        CHECK_EQ(zstr_sendm(dealer, ""), 0);
        CHECK_EQ(zstr_sendf(dealer, "%d", i), 0);
    }

    zpoller_t *poller = zpoller_new(rep, dealer, NULL);
    CHECK(poller != NULL);
    int served = 0, replies = 0;
    while (replies < PIPELINED) {
        void *which = zpoller_wait(poller, TU_TIMEOUT_MS);
        CHECK(!zpoller_terminated(poller));
        if (which == NULL)
            break; /* nothing moved for TU_TIMEOUT_MS */
        zmsg_t *m = zmsg_recv(which);
        CHECK(m != NULL);
        if (which == rep) {
            CHECK_EQ(zmsg_pushstr(m, "echo"), 0);
            CHECK_EQ(zmsg_send(&m, rep), 0);
            served++;
            continue;
        }
        CHECK_EQ(zmsg_size(m), 3);
        CHECK_EQ(zframe_size(zmsg_first(m)), 0);
        CHECK(zframe_streq(zmsg_next(m), "echo"));
        char want[16];
        snprintf(want, sizeof want, "%d", replies);
        CHECK(zframe_streq(zmsg_next(m), want));
        zmsg_destroy(&m);
        replies++;
    }
    zpoller_destroy(&poller);

    int stalled = replies < PIPELINED;
    if (stalled) {
        int late = nudge(dealer, dealer, rep, 1);
        fprintf(stderr,
                "pipelined round %d: replies stopped after %d of %d (server "
                "answered %d); one more request released %d (its own included)\n",
                round, replies, PIPELINED, served, late);
    }
    zsock_destroy(&dealer);
    zsock_destroy(&rep);
    return stalled;
}

int main(void)
{
    tu_watchdog(TU_WATCHDOG_S);
    cz_env_creds("client.pem", "client.key", "ca.pem");
    cz_check_interposed();
    int64_t t0 = tu_now_ms();

    /* Each shape stops at its first stall: a stall costs TU_TIMEOUT_MS +
     * TU_QUIET_MS, and one is enough to show it. */
    int stalls = 0, queued_run = 0, pipelined_run = 0;
    for (; queued_run < QUEUED_ROUNDS && !stalls; queued_run++)
        stalls += queued_round(queued_run);
    int queued_stalls = stalls;
    for (; pipelined_run < PIPELINED_ROUNDS && stalls == queued_stalls; pipelined_run++)
        stalls += pipelined_round(pipelined_run);

    zsys_shutdown();
    printf("queued: %d of %d rounds of %d messages stalled; pipelined: %d of %d "
           "rounds of %d requests stalled (%lld ms)\n",
           queued_stalls, queued_run, QUEUED, stalls - queued_stalls, pipelined_run,
           PIPELINED, (long long)(tu_now_ms() - t0));
    return stalls == 0 ? 0 : 1;
}

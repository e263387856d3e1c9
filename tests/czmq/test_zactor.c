/*
 * A tls:// server inside a zactor (its own thread, the usual CZMQ shape
 * for a service), clients in the main thread, and shutdown:
 *   - the actor binds tls://127.0.0.1:* and reports its endpoint on the
 *     pipe; REQ and DEALER clients made with CZMQ's constructors (with
 *     environment credentials) are all answered, concurrently;
 *   - zactor_destroy, zsock_destroy and zsys_shutdown all finish promptly
 *     even with sockets that still hold undeliverable messages: a client
 *     the server refuses and a client whose server does not exist.
 */
#include "czmq_support.h"

#define CLIENTS   3
#define REQUESTS  10
#define PIPELINED 100

/* Teardown steps must each finish well within this; the watchdog ends the
 * test if one hangs outright. */
#define PROMPT_MS 2000

/* The actor: a REP server that echoes with a prefix until "$TERM". It
 * answers "COUNT" on the pipe with the number of requests served. */
static void echo_server(zsock_t *pipe, void *args)
{
    (void)args;
    zsock_t *rep = zsock_new(ZMQ_REP);
    CHECK(rep != NULL);
    /* Options, not the environment: the environment belongs to the
     * clients in this process. */
    cz_set_creds(rep, "server.pem", "server.key");
    int rc = zsock_bind(rep, "tls://127.0.0.1:*");
    char ep[TU_EP_MAX] = "";
    if (rc == 0)
        cz_last_endpoint(rep, ep);
    /* zactor_new waits for this signal; the endpoint follows it. */
    zsock_signal(pipe, 0);
    CHECK_EQ(zsock_send(pipe, "is", rc, ep), 0);

    zpoller_t *poller = zpoller_new(pipe, rep, NULL);
    CHECK(poller != NULL);
    int served = 0;
    for (;;) {
        /* An idle service waits for $TERM as long as it takes; the timeout
         * only keeps each wait bounded (the watchdog bounds the whole). */
        void *which = zpoller_wait(poller, TU_TIMEOUT_MS);
        if (which == NULL && zpoller_expired(poller))
            continue;
        if (which == pipe) {
            char *cmd = zstr_recv(pipe);
            CHECK(cmd != NULL);
            int term = strcmp(cmd, "$TERM") == 0;
            if (strcmp(cmd, "COUNT") == 0)
                CHECK_EQ(zsock_send(pipe, "i", served), 0);
            zstr_free(&cmd);
            if (term)
                break;
        } else if (which == rep) {
            zmsg_t *m = zmsg_recv(rep);
            CHECK(m != NULL);
            CHECK_EQ(zmsg_pushstr(m, "echo"), 0);
            CHECK_EQ(zmsg_send(&m, rep), 0);
            served++;
        } else {
            break; /* interrupted */
        }
    }
    zpoller_destroy(&poller);
    zsock_destroy(&rep);
}

int main(void)
{
    tu_watchdog(TU_WATCHDOG_S);
    cz_env_creds("client.pem", "client.key", "ca.pem");
    cz_check_interposed();
    int64_t t0 = tu_now_ms();

    zactor_t *server = zactor_new(echo_server, NULL);
    CHECK(server != NULL);
    int rc = -1;
    char *ep = NULL;
    CHECK(cz_wait_readable(server, TU_TIMEOUT_MS) == 0);
    CHECK_EQ(zsock_recv(server, "is", &rc, &ep), 0);
    if (rc != 0) {
        fprintf(stderr, "the actor could not bind: rc %d\n", rc);
        return 1;
    }
    CHECK(strncmp(ep, "tls://127.0.0.1:", 16) == 0);
    char spec[TU_EP_MAX + 1];
    snprintf(spec, sizeof spec, ">%s", ep);

    /* REQ clients in lock step, interleaved, so the actor serves several
     * TLS connections at once. */
    zsock_t *clients[CLIENTS];
    for (int c = 0; c < CLIENTS; c++) {
        clients[c] = zsock_new_req(spec);
        CHECK(clients[c] != NULL);
    }
    for (int r = 0; r < REQUESTS; r++) {
        for (int c = 0; c < CLIENTS; c++)
            CHECK_EQ(zstr_sendf(clients[c], "client %d request %d", c, r), 0);
        for (int c = 0; c < CLIENTS; c++) {
            char *echo = NULL, *body = NULL;
            CHECK(cz_wait_readable(clients[c], TU_TIMEOUT_MS) == 0);
            CHECK_EQ(zstr_recvx(clients[c], &echo, &body, NULL), 2);
            CHECK_STR(echo, "echo");
            char want[64];
            snprintf(want, sizeof want, "client %d request %d", c, r);
            CHECK_STR(body, want);
            zstr_free(&echo);
            zstr_free(&body);
        }
    }

    /* A DEALER pipelines requests to the REP actor (with the empty
     * delimiter a REQ would add) and gets the replies in order
     * (test_pipeline.c works such bursts harder). */
    zsock_t *dealer = zsock_new_dealer(spec);
    CHECK(dealer != NULL);
    for (int i = 0; i < PIPELINED; i++) {
        CHECK_EQ(zstr_sendm(dealer, ""), 0);
        CHECK_EQ(zstr_sendf(dealer, "%d", i), 0);
    }
    for (int i = 0; i < PIPELINED; i++) {
        CHECK(cz_wait_readable(dealer, TU_TIMEOUT_MS) == 0);
        zmsg_t *m = zmsg_recv(dealer);
        CHECK(m != NULL);
        CHECK_EQ(zmsg_size(m), 3);
        CHECK(zframe_size(zmsg_first(m)) == 0);
        CHECK(zframe_streq(zmsg_next(m), "echo"));
        char want[16];
        snprintf(want, sizeof want, "%d", i);
        CHECK(zframe_streq(zmsg_next(m), want));
        zmsg_destroy(&m);
    }

    CHECK_EQ(zstr_send(server, "COUNT"), 0);
    int served = 0;
    CHECK(cz_wait_readable(server, TU_TIMEOUT_MS) == 0);
    CHECK_EQ(zsock_recv(server, "i", &served), 0);
    CHECK_EQ(served, CLIENTS * REQUESTS + PIPELINED);
    int64_t t_traffic = tu_now_ms();

    /* Sockets with messages that can never be delivered: one the server
     * refuses (untrusted certificate) and one whose server does not
     * exist. CZMQ's default linger is 0, so neither may hold up the
     * teardown. */
    zsock_t *rogue = zsock_new(ZMQ_REQ);
    CHECK(rogue != NULL);
    cz_set_creds(rogue, "rogue-client.pem", "rogue-client.key");
    CHECK_EQ(zsock_connect(rogue, "%s", ep), 0);
    CHECK_EQ(zstr_send(rogue, "never delivered"), 0);
    int holder;
    int closed_port = tu_closed_port(&holder);
    zsock_t *orphan = zsock_new(ZMQ_REQ);
    CHECK(orphan != NULL);
    CHECK_EQ(zsock_connect(orphan, "tls://127.0.0.1:%d", closed_port), 0);
    CHECK_EQ(zstr_send(orphan, "nobody there"), 0);
    /* One more round trip: the actor is still serving, and teardown
     * starts with an authenticated connection live next to the two
     * stuck ones. */
    zsock_t *probe = zsock_new_req(spec);
    CHECK(probe != NULL);
    CHECK_EQ(zstr_send(probe, "still serving"), 0);
    CHECK(cz_wait_readable(probe, TU_TIMEOUT_MS) == 0);
    char *echo = NULL, *body = NULL;
    CHECK_EQ(zstr_recvx(probe, &echo, &body, NULL), 2);
    CHECK_STR(body, "still serving");
    zstr_free(&echo);
    zstr_free(&body);

    int64_t t = tu_now_ms();
    zactor_destroy(&server);
    int64_t actor_ms = tu_now_ms() - t;
    CHECK(actor_ms < PROMPT_MS);

    t = tu_now_ms();
    for (int c = 0; c < CLIENTS; c++)
        zsock_destroy(&clients[c]);
    zsock_destroy(&dealer);
    zsock_destroy(&probe);
    zsock_destroy(&rogue);
    zsock_destroy(&orphan);
    int64_t destroy_ms = tu_now_ms() - t;
    CHECK(destroy_ms < PROMPT_MS);

    /* zsys_shutdown terminates CZMQ's context (zmq_ctx_term, through
     * zmtls), which waits for every socket's linger. CZMQ adds a 200 ms
     * sleep of its own when an actor's pipe is still closing, hence the
     * margin in PROMPT_MS. */
    t = tu_now_ms();
    zsys_shutdown();
    int64_t shutdown_ms = tu_now_ms() - t;
    CHECK(shutdown_ms < PROMPT_MS);
    close(holder);
    zstr_free(&ep);

    printf("actor served %d requests (%d clients x %d, %d pipelined) in %lld ms; "
           "zactor_destroy %lld ms, zsock_destroy x%d %lld ms, zsys_shutdown %lld ms\n",
           served, CLIENTS, REQUESTS, PIPELINED, (long long)(t_traffic - t0),
           (long long)actor_ms, CLIENTS + 4, (long long)destroy_ms,
           (long long)shutdown_ms);
    return 0;
}

/*
 * Certificate refusals across the zmtls / stunnel boundary, both ways.
 * Under TLS 1.3 the server checks the client certificate after the
 * client's handshake finished, so these are the cases zmtls exists for;
 * here the other side is not zmtls, only OpenSSL inside stunnel4.
 *
 *   stock REQ -> stunnel client (rogue-client.pem, signed by an untrusted
 *   CA) -> zmtls REP: the zmtls server reports HANDSHAKE_FAILED_AUTH(48,
 *   unknown_ca) for every attempt, never HANDSHAKE_SUCCEEDED or
 *   DISCONNECTED, and its application receives nothing while the stock
 *   REQ keeps reconnecting; the stock REQ gets no reply and ends at its
 *   deadline; stunnel logs the alert it received.
 *
 *   the same with a stunnel client that has no certificate: 116
 *   (certificate_required).
 *
 *   zmtls REQ (rogue-client.pem) -> stunnel server -> stock REP: the zmtls
 *   client reports HANDSHAKE_FAILED_AUTH(48) and never CONNECTED,
 *   HANDSHAKE_SUCCEEDED or DISCONNECTED; stunnel rejected the certificate
 *   and never connected to the stock REP, which receives nothing.
 *
 *   zmtls REQ (good) -> stunnel server presenting wronghost-server.pem
 *   (valid chain, wrong name): the zmtls client refuses it with an auth
 *   alert (HANDSHAKE_FAILED_AUTH, zmtls_alert_is_auth) and never CONNECTED.
 */
/* interop_util.h needs pipe2, close_range and pidfd_open (the build defines
 * it too; this keeps the file whole). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "interop_util.h"
#include "testutil.h"
#include "zmtls.h"

/* How long the stock peer waits for what must not come. */
#define STOCK_WAIT_MS 2500
#define STR_(x)       #x
#define STR(x)        STR_(x)
#define STOCK_WAIT    "timeout=" STR(STOCK_WAIT_MS)

static io_child_t stock;
static io_stunnel_t tunnel;

/* Every HANDSHAKE_FAILED_AUTH on p carried `alert`, and none of the
 * events that would mean the connection was (or looked) accepted came. */
static void check_refused(tu_peer_t *p, int alert)
{
    unsigned n = tu_events_count(&p->log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    CHECK(n >= 1);
    for (unsigned i = 0; i < n; i++) {
        int v = -1;
        CHECK_EQ(tu_events_nth(&p->log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, i, &v), 0);
        CHECK_EQ(v, alert);
    }
    CHECK_EQ(tu_events_count(&p->log, ZMQ_EVENT_CONNECTED), 0);
    CHECK_EQ(tu_events_count(&p->log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_events_count(&p->log, ZMQ_EVENT_DISCONNECTED), 0);
    CHECK_EQ(tu_events_count(&p->log, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL), 0);
    CHECK_EQ(tu_events_count(&p->log, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL), 0);
}

/* The stock peer waited for something that never came and gave up at its
 * deadline, having printed no `never` line. */
static void stock_got_nothing(const char *never)
{
    io_stock_finish(&stock, 2, "timeout");
    if (strstr(stock.out, never) != NULL) {
        fprintf(stderr, "stock peer printed \"%s\":\n%s", never, stock.out);
        exit(1);
    }
}

static void log_must_have(const char *s)
{
    if (!io_log_has(&tunnel, s)) {
        fprintf(stderr, "stunnel log lacks \"%s\"\n", s); /* atexit prints it */
        exit(1);
    }
}

/* Per stunnel connection (its log tags lines "LOGn[id]:"), whether the
 * connection that ended read a fatal alert first. *alerts: ended
 * connections that did; *missing_last: 1 when only the last ended one did
 * not. Returns -1 when an earlier one did not. */
static int alerts_per_connection(const io_stunnel_t *s, unsigned *alerts,
                                 unsigned *missing_last)
{
    enum { MAXC = 4096 };
    static unsigned char alert[MAXC], ended[MAXC];
    memset(alert, 0, sizeof alert);
    memset(ended, 0, sizeof ended);
    FILE *f = fopen(s->proc.log, "r");
    CHECK(f != NULL);
    char line[1024];
    int last = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        const char *p = strstr(line, " LOG");
        int id;
        if (p == NULL || (p = strchr(p, '[')) == NULL || sscanf(p, "[%d]:", &id) != 1 ||
            id < 0 || id >= MAXC)
            continue;
        if (strstr(line, "TLS alert (read): fatal") != NULL)
            alert[id] = 1;
        if (strstr(line, " byte(s) sent to TLS, ") != NULL) {
            ended[id] = 1;
            if (id > last)
                last = id;
        }
    }
    fclose(f);
    *alerts = 0;
    *missing_last = 0;
    for (int id = 0; id < MAXC; id++) {
        if (!ended[id])
            continue;
        if (alert[id])
            (*alerts)++;
        else if (id == last)
            *missing_last = 1;
        else
            return -1;
    }
    return 0;
}

/* stunnel as a TLS client with cert/key (NULL: none) -> zmtls REP. */
static void refused_by_zmtls(void *ctx, const char *cert, const char *key, int alert,
                             const char *label)
{
    tu_peer_t srv;
    tu_peer_open(&srv, "zmtls-rep", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&srv);
    io_stunnel_start(&tunnel, "stunnel-client", 1, tu_endpoint_port(srv.endpoint), cert,
                     key, NULL);
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", tunnel.port);
    int64_t until = tu_now_ms() + STOCK_WAIT_MS;
    io_stock_start(&stock, "stock-req", "req", ep, 1, STOCK_WAIT, (const char *)NULL);

    CHECK_EQ(TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), alert);
    /* The stock REQ reconnects (libzmq's 100 ms) and stunnel tries again
     * each time, for as long as the stock REQ waits for its reply; none
     * of it may reach the application. */
    tu_peer_t *const peers[] = {&srv};
    CHECK_EQ(tu_peers_wait_quiet(srv.sock, peers, 1, until, NULL, 0, 0), 0);
    stock_got_nothing("reply ");
    tu_pump(srv.mon, &srv.log);
    check_refused(&srv, alert);
    CHECK(tu_events_count(&srv.log, ZMQ_EVENT_ACCEPTED) >=
          tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH));
    /* stunnel completed TLS 1.3 handshakes (the refusal comes after, as
     * TLS 1.3 has it) and carried nothing back to the stock REQ. */
    log_must_have("TLS connected: new session negotiated");
    log_must_have("TLSv1.3 ciphersuite");
    unsigned ended = 0;
    long long to_tls, to_socket;
    for (; io_stunnel_bytes(&tunnel, ended, &to_tls, &to_socket) == 0; ended++)
        CHECK_EQ(to_socket, 0);
    CHECK(ended >= 1);
    /* zmtls closes a refused connection gracefully (shutdown, drain, close),
     * so the alert is never overtaken by a reset: the TLS client behind the
     * terminator learns why on every attempt. The one exception allowed is
     * the last connection, which the stock REQ may abandon when it gives up
     * before zmtls has answered. */
    unsigned alerts = 0, missing_last = 0;
    CHECK_EQ(alerts_per_connection(&tunnel, &alerts, &missing_last), 0);
    CHECK(alerts + missing_last == ended);
    printf("%s: zmtls server HANDSHAKE_FAILED_AUTH(%d) x%u, nothing received; stunnel "
           "read the alert on %u of %u connections%s\n",
           label, alert, tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH),
           alerts, ended,
           missing_last ? " (the last one abandoned by the stock REQ first)" : "");
    tu_events_print(&srv.log, srv.name);
    tu_peer_close(&srv);
    io_stunnel_stop(&tunnel);
}

/* zmtls REQ with cert/key -> stunnel server presenting srv_cert/srv_key
 * -> stock REP. Returns the alert of the first failure. */
static int refused_by_stunnel_or_zmtls(void *ctx, const char *cert, const char *key,
                                       const char *srv_cert, const char *srv_key,
                                       tu_peer_t *cli)
{
    int port = io_stock_start(&stock, "stock-rep", "rep", "tcp://127.0.0.1:*", 1,
                              STOCK_WAIT, (const char *)NULL);
    io_stunnel_start(&tunnel, "stunnel-server", 0, port, srv_cert, srv_key, NULL);
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof ep, "tls://127.0.0.1:%d", tunnel.port);

    tu_peer_open(cli, "zmtls-req", ctx, ZMQ_REQ, cert, key, "ca.pem");
    tu_peer_connect(cli, ep);
    /* A request waits for a connection that never comes. */
    int queued = tu_send_str(cli->sock, "request", ZMQ_DONTWAIT);
    CHECK(queued == 7 || (queued == -1 && errno == EAGAIN));
    int alert = TU_PEER_EXPECT(cli, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    /* Long enough for a retry on the auth schedule (1 s +/-20 %): any that
     * comes must fail the same way, and none may connect. */
    tu_drain_events(cli->mon, &cli->log, 1500);
    stock_got_nothing("recv ");
    /* stunnel never got as far as its backend. */
    CHECK(!io_log_has(&tunnel, "connected remote server"));
    return alert;
}

static void rogue_zmtls_client(void *ctx)
{
    tu_peer_t cli;
    int alert = refused_by_stunnel_or_zmtls(ctx, "rogue-client.pem", "rogue-client.key",
                                            "server.pem", "server.key", &cli);
    CHECK_EQ(alert, 48);
    check_refused(&cli, 48);
    log_must_have("Rejected by CERT at depth=0: CN=rogue client");
    printf("zmtls REQ (rogue) -> stunnel server: HANDSHAKE_FAILED_AUTH(48) x%u, never "
           "CONNECTED; stock REP received nothing\n",
           tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH));
    tu_events_print(&cli.log, cli.name);
    tu_peer_close(&cli);
    io_stunnel_stop(&tunnel);
}

static void wrong_host_stunnel(void *ctx)
{
    tu_peer_t cli;
    int alert =
        refused_by_stunnel_or_zmtls(ctx, "client.pem", "client.key",
                                    "wronghost-server.pem", "wronghost-server.key", &cli);
    CHECK(zmtls_alert_is_auth(alert));
    check_refused(&cli, alert);
    printf("zmtls REQ -> stunnel server for wrong.example: HANDSHAKE_FAILED_AUTH(%d %s) "
           "x%u, never CONNECTED\n",
           alert, zmtls_alert_name(alert),
           tu_events_count(&cli.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH));
    tu_events_print(&cli.log, cli.name);
    tu_peer_close(&cli);
    io_stunnel_stop(&tunnel);
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    io_guard();
    int64_t t0 = tu_now_ms();
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    refused_by_zmtls(ctx, "rogue-client.pem", "rogue-client.key", 48,
                     "stunnel client (rogue) -> zmtls REP");
    refused_by_zmtls(ctx, NULL, NULL, 116,
                     "stunnel client (no certificate) -> zmtls REP");
    rogue_zmtls_client(ctx);
    wrong_host_stunnel(ctx);

    CHECK(zmq_ctx_term(ctx) == 0);
    printf("stunnel_auth: 4 scenarios done in %lld ms\n", (long long)(tu_now_ms() - t0));
    return io_finish("stunnel_auth");
}

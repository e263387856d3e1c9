/*
 * CZMQ's zauth over tls://: an application that vets clients by address
 * with zauth (zsock_set_zap_domain, then DENY / ALLOW) keeps doing so
 * after swapping tcp:// for tls://, the certificate check coming first.
 *   deny    "DENY 127.0.0.1": the client is refused by zauth, the server
 *           reports HANDSHAKE_FAILED_AUTH 400, nothing is delivered
 *   allow   "ALLOW 127.0.0.1" (zauth's allow list wins over its deny
 *           list): a new client is served
 */
#include "czmq_support.h"

static const char *connect_spec(const char *ep)
{
    static char spec[TU_EP_MAX + 1];
    snprintf(spec, sizeof spec, ">%s", ep);
    return spec;
}

static void zauth_command(zactor_t *auth, const char *cmd, const char *address)
{
    CHECK_EQ(zstr_sendx(auth, cmd, address, NULL), 0);
    CHECK_EQ(zsock_wait(auth), 0);
}

int main(void)
{
    tu_watchdog(TU_WATCHDOG_S);
    cz_env_creds("client.pem", "client.key", "ca.pem");
    cz_check_interposed();

    zactor_t *auth = zactor_new(zauth, NULL);
    CHECK(auth != NULL);
    zauth_command(auth, "DENY", "127.0.0.1");

    zsock_t *server = zsock_new(ZMQ_REP);
    CHECK(server != NULL);
    cz_set_creds(server, "server.pem", "server.key");
    zsock_set_zap_domain(server, "global");
    zactor_t *mon = cz_monitor(server, "HANDSHAKE_FAILED_AUTH", "HANDSHAKE_SUCCEEDED",
                               NULL, NULL, NULL, NULL, NULL, NULL);
    cz_events_t log;
    cz_events_init(&log, "server");
    CHECK_EQ(zsock_bind(server, "tls://127.0.0.1:*"), 0);
    char ep[TU_EP_MAX];
    cz_last_endpoint(server, ep);

    zsock_t *denied = zsock_new_req(connect_spec(ep));
    CHECK(denied != NULL);
    CHECK_EQ(zstr_send(denied, "must not arrive"), 0);
    CZ_EXPECT_EVENTS(mon, &log, "HANDSHAKE_FAILED_AUTH", 1);
    CHECK_EQ(log.ev[cz_events_index(&log, "HANDSHAKE_FAILED_AUTH", 0)].value, 400);
    CHECK_EQ(cz_events_count(&log, "HANDSHAKE_SUCCEEDED"), 0);
    CHECK_EQ(cz_wait_readable(server, 0), -1);
    zsock_set_linger(denied, 0);
    zsock_destroy(&denied);
    printf("deny 127.0.0.1: refused by zauth, HANDSHAKE_FAILED_AUTH 400\n");

    zauth_command(auth, "ALLOW", "127.0.0.1");
    zsock_t *allowed = zsock_new_req(connect_spec(ep));
    CHECK(allowed != NULL);
    CHECK_EQ(zstr_send(allowed, "hello"), 0);
    CHECK_EQ(cz_wait_readable(server, TU_TIMEOUT_MS), 0);
    char *got = zstr_recv(server);
    CHECK(got != NULL);
    CHECK_STR(got, "hello");
    zstr_free(&got);
    CZ_EXPECT_EVENTS(mon, &log, "HANDSHAKE_SUCCEEDED", 1);
    CHECK_EQ(zstr_send(server, "world"), 0);
    CHECK_EQ(cz_wait_readable(allowed, TU_TIMEOUT_MS), 0);
    got = zstr_recv(allowed);
    CHECK(got != NULL);
    CHECK_STR(got, "world");
    zstr_free(&got);
    printf("allow 127.0.0.1: served\n");

    zsock_destroy(&allowed);
    zactor_destroy(&mon);
    zsock_destroy(&server);
    zactor_destroy(&auth);
    zsys_shutdown();
    return 0;
}

/*
 * ZMTLS_SESSION_LIFETIME on a bind socket reaches its clients: the ticket
 * a raw OpenSSL client receives after a full handshake carries the
 * lifetime (3600 s by default, 120 s when set), and a zmtls client still
 * resumes its session on reconnect to such a server ("Resumed" 1). That a
 * ticket is refused once the lifetime has passed since the full handshake,
 * or once the client certificate has expired, is shown in unit.tls_conn,
 * which can move the server's certificate clock forward without waiting.
 */
#include <stdio.h>

#include "rawtls.h"
#include "testutil.h"
#include "zmtls.h"

/* The lifetime of the ticket a full handshake with `srv` yields. */
static unsigned long ticket_lifetime(tu_peer_t *srv)
{
    SSL_CTX *tls = rt_ctx_new("client.pem", "client.key", "ca.pem", TLS1_3_VERSION, -1);
    rt_conn_t t;
    rt_open(&t, tls, tu_endpoint_port(srv->endpoint), NULL);
    CHECK_EQ(rt_handshake(&t, TU_TIMEOUT_MS), 0);
    /* The ticket comes right after the handshake, before the greeting. */
    CHECK_EQ(rt_zmtp_handshake(&t, "REQ", TU_TIMEOUT_MS), 0);
    CHECK_EQ(t.tickets, 1);
    unsigned long life = t.ticket_life;
    rt_close(&t);
    SSL_CTX_free(tls);
    return life;
}

/* Connects a zmtls client twice; returns the second connection's
 * "Resumed" property. */
static int reconnect_resumes(void *ctx, tu_peer_t *srv)
{
    void *cli = tu_socket(ctx, ZMQ_REQ);
    tu_set_creds(cli, "client.pem", "client.key", "ca.pem");
    char resumed[4] = "";
    for (int i = 0; i < 2; i++) {
        void *mon = tu_monitor(ctx, cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
        CHECK_EQ(zmq_connect(cli, srv->endpoint), 0);
        CHECK_EQ(tu_expect_event(mon, NULL, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, TU_TIMEOUT_MS,
                                 NULL),
                 0);
        CHECK_EQ(tu_roundtrip_str(cli, srv->sock, "hello", TU_TIMEOUT_MS), 0);
        CHECK_EQ(zmtls_endpoint_peer_property(cli, srv->endpoint, "Resumed", resumed,
                                              sizeof(resumed)),
                 1);
        CHECK_EQ(zmq_disconnect(cli, srv->endpoint), 0);
        zmq_socket_monitor(cli, NULL, 0);
        zmq_close(mon);
    }
    zmq_close(cli);
    return resumed[0] == '1';
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    tu_peer_t dflt, set;
    tu_peer_open(&dflt, "default", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&dflt);
    tu_peer_open(&set, "lifetime 120", ctx, ZMQ_REP, "server.pem", "server.key",
                 "ca.pem");
    tu_set_int(set.sock, ZMTLS_SESSION_LIFETIME, 120);
    tu_peer_bind(&set);

    unsigned long life_default = ticket_lifetime(&dflt);
    unsigned long life_set = ticket_lifetime(&set);
    printf("ticket lifetime: default server %lu s, ZMTLS_SESSION_LIFETIME=120 server %lu "
           "s\n",
           life_default, life_set);
    CHECK_EQ(life_default, ZMTLS_SESSION_LIFETIME_DEFAULT);
    CHECK_EQ(life_set, 120);
    CHECK_EQ(reconnect_resumes(ctx, &set), 1);

    tu_peer_close(&set);
    tu_peer_close(&dflt);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return 0;
}

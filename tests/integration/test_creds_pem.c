/*
 * Credentials given as PEM text (ZMTLS_*_PEM) instead of file paths, and
 * the documented precedence: a *_PEM option wins over the matching *_FILE
 * option on the same socket.
 *
 * Asserts: a server and a client configured only with PEM text complete
 * the handshake and a round trip; a client whose *_FILE options name the
 * rogue certificate and key but whose *_PEM options hold the good ones
 * completes the handshake (it would be refused with unknown_ca if the files
 * were used); and, as the control, the same rogue files alone are refused.
 */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"
#include "zmtls.h"

static char *slurp(const char *name)
{
    FILE *f = fopen(tu_cert(name), "rb");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long size = ftell(f);
    CHECK(size > 0);
    rewind(f);
    char *text = malloc((size_t)size + 1);
    CHECK(text != NULL);
    CHECK(fread(text, 1, (size_t)size, f) == (size_t)size);
    text[size] = '\0';
    fclose(f);
    return text;
}

static void set_pem(void *sock, const char *cert, const char *key, const char *ca)
{
    const char *names[3] = {cert, key, ca};
    const int ids[3] = {ZMTLS_CERT_PEM, ZMTLS_KEY_PEM, ZMTLS_CA_PEM};
    for (int i = 0; i < 3; i++) {
        if (names[i] == NULL)
            continue;
        char *text = slurp(names[i]);
        tu_set_str(sock, ids[i], text);
        free(text); /* the option keeps its own copy */
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    tu_peer_t srv, cli;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, NULL, NULL, NULL);
    set_pem(srv.sock, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&srv);
    tu_peer_open(&cli, "client-pem", ctx, ZMQ_REQ, NULL, NULL, NULL);
    set_pem(cli.sock, "client.pem", "client.key", "ca.pem");
    tu_peer_connect(&cli, srv.endpoint);
    CHECK_EQ(TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "pem", TU_TIMEOUT_MS), 0);
    tu_peer_close(&cli);

    /* PEM over FILE: the files alone would be refused. */
    tu_peer_t both;
    tu_peer_open(&both, "client-pem-over-file", ctx, ZMQ_REQ, "rogue-client.pem",
                 "rogue-client.key", "ca.pem");
    set_pem(both.sock, "client.pem", "client.key", NULL);
    tu_peer_connect(&both, srv.endpoint);
    CHECK_EQ(TU_PEER_EXPECT(&both, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_events_count(&both.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
    CHECK_EQ(tu_roundtrip_str(both.sock, srv.sock, "precedence", TU_TIMEOUT_MS), 0);
    tu_peer_close(&both);

    tu_peer_t rogue;
    tu_peer_open(&rogue, "client-rogue-file", ctx, ZMQ_REQ, "rogue-client.pem",
                 "rogue-client.key", "ca.pem");
    tu_peer_connect(&rogue, srv.endpoint);
    int alert = TU_PEER_EXPECT(&rogue, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    CHECK_EQ(alert, 48);
    tu_peer_close(&rogue);

    tu_peer_close(&srv);
    CHECK(zmq_ctx_term(ctx) == 0);
    printf("creds_pem: PEM-only server and client round-trip; PEM wins over FILE; "
           "the rogue files alone are refused (alert %d)\n",
           alert);
    return 0;
}

/*
 * A rebuild of credentials keeps what else the socket says about who may
 * connect. A server with a CRL (ZMTLS_CRL_FILE) and an allow-list
 * (ZMTLS_ALLOW) has its credentials rebuilt by zmtls_reload(); after it:
 *   - a client the CRL revokes is still refused with 44 (certificate_revoked)
 *   - a client the CA vouches for but the list leaves out is still refused
 *     (49 access_denied)
 *   - the allowed client is served, before and after
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint.h"
#include "testutil.h"
#include "zmtls.h"

static void refused_with(void *ctx, tu_peer_t *srv, const char *cert, const char *key,
                         int alert, const char *what)
{
    tu_peer_t cli;
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, cert, key, "ca.pem");
    tu_peer_connect(&cli, srv->endpoint);
    CHECK_EQ(TU_PEER_EXPECT(srv, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), alert);
    CHECK_EQ(TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), alert);
    printf("%s: refused with %d\n", what, alert);
    tu_set_int(cli.sock, ZMQ_LINGER, 0);
    tu_peer_close(&cli);
}

static void served(void *ctx, tu_peer_t *srv, const char *what)
{
    void *req = tu_socket(ctx, ZMQ_REQ);
    tu_set_creds(req, "client.pem", "client.key", "ca.pem");
    tu_set_int(req, ZMQ_LINGER, 0);
    CHECK_EQ(zmq_connect(req, srv->endpoint), 0);
    CHECK_EQ(tu_roundtrip_str(req, srv->sock, what, TU_TIMEOUT_MS), 0);
    CHECK_EQ(zmq_close(req), 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    tu_peer_t srv;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_set_str(srv.sock, ZMTLS_CRL_FILE, tu_cert("crl-revoked.pem"));
    /* The revoked client's CN is in the list too: the CRL must refuse it. */
    tu_set_str(srv.sock, ZMTLS_ALLOW, "cn:client, cn:revoked client");
    tu_peer_bind(&srv);

    served(ctx, &srv, "before");
    refused_with(ctx, &srv, "revoked-client.pem", "revoked-client.key", 44,
                 "revoked, before the rebuild");
    CHECK_EQ(zmtls_reload(), 0);
    served(ctx, &srv, "after");
    refused_with(ctx, &srv, "revoked-client.pem", "revoked-client.key", 44,
                 "revoked, after the rebuild");
    refused_with(ctx, &srv, "rogue-client.pem", "rogue-client.key", 48,
                 "untrusted CA, after the rebuild");

    /* A client the CA vouches for, left out of the list. */
    char *cert, *key;
    tu_mint_client(3600, &cert, &key);
    tu_peer_t cli;
    tu_peer_open(&cli, "minted", ctx, ZMQ_REQ, NULL, NULL, "ca.pem");
    CHECK_EQ(zmq_setsockopt(cli.sock, ZMTLS_CERT_PEM, cert, strlen(cert)), 0);
    CHECK_EQ(zmq_setsockopt(cli.sock, ZMTLS_KEY_PEM, key, strlen(key)), 0);
    tu_peer_connect(&cli, srv.endpoint);
    CHECK_EQ(TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 49);
    printf("not in the list, after the rebuild: refused with 49\n");
    tu_set_int(cli.sock, ZMQ_LINGER, 0);
    tu_peer_close(&cli);
    free(cert);
    free(key);

    tu_peer_close(&srv);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return 0;
}

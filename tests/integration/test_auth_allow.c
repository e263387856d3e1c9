/*
 * ZMTLS_ALLOW end to end: who may connect, on both sides.
 *   server  a REP allowing the URI prefix spiffe://example.org/ns/prod/ (the
 *           list entry ends in '/' and '*'): a client
 *           whose certificate carries spiffe://example.org/ns/prod/sa/web
 *           is served; one with .../ns/dev/sa/web is refused inside the
 *           handshake (HANDSHAKE_FAILED_AUTH 49 access_denied on both
 *           sides, nothing it
 *           queued delivered) and retries on the auth schedule
 *           (CONNECT_RETRIED at least ZMTLS_AUTH_IVL less its jitter)
 *   cn      "cn:client" lets client.pem in; "cn:someone" keeps it out
 *   client  a REQ allowing "dns:localhost" reaches the test server; one
 *           allowing "dns:nothere.example" refuses it (49 on both sides)
 *   layers  against "cn:someone": a client from another CA learns only that
 *           it is untrusted (48 unknown_ca, not 49); a client whose chain
 *           has two intermediates is refused with 49 all the same; a stock
 *           OpenSSL client (no zmtls extension) gets bad_certificate (42)
 *   env     ZMTLS_ALLOW in the environment applies to a socket without the
 *           option; a malformed list fails zmq_setsockopt, and from the
 *           environment zmq_bind, with EINVAL and a reason
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint.h"
#include "rawtls.h"
#include "testutil.h"
#include "zmtls.h"

/* The auth schedule's first interval here, and its lowest jitter. */
#define AUTH_IVL     1000
#define AUTH_IVL_LOW (AUTH_IVL * 8 / 10)

static void *server(void *ctx, const char *allow, tu_peer_t *srv)
{
    tu_peer_open(srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    if (allow != NULL)
        tu_set_str(srv->sock, ZMTLS_ALLOW, allow);
    tu_peer_bind(srv);
    return srv->sock;
}

/* A REQ with a minted certificate carrying `san`. */
static void client_minted(void *ctx, tu_peer_t *cli, const char *san)
{
    char *cert, *key;
    tu_mint_named(0, 3600, san, 0, &cert, &key);
    tu_peer_open(cli, "client", ctx, ZMQ_REQ, NULL, NULL, NULL);
    CHECK_EQ(zmq_setsockopt(cli->sock, ZMTLS_CERT_PEM, cert, strlen(cert)), 0);
    CHECK_EQ(zmq_setsockopt(cli->sock, ZMTLS_KEY_PEM, key, strlen(key)), 0);
    tu_set_str(cli->sock, ZMTLS_CA_FILE, tu_cert("ca.pem"));
    free(cert);
    free(key);
}

static void served(tu_peer_t *cli, tu_peer_t *srv, const char *what)
{
    TU_PEER_EXPECT(cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_roundtrip_str(cli->sock, srv->sock, what, TU_TIMEOUT_MS), 0);
}

/* Refused in the handshake on both sides with `alert`; nothing
 * delivered; the client waits on the auth schedule. */
static void refused_with(tu_peer_t *cli, tu_peer_t *srv, const char *what, int alert)
{
    CHECK_EQ(tu_send_str(cli->sock, "must not arrive", ZMQ_DONTWAIT), 15);
    CHECK_EQ(TU_PEER_EXPECT(srv, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), alert);
    CHECK_EQ(TU_PEER_EXPECT(cli, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), alert);
    int ivl = TU_PEER_EXPECT(cli, ZMQ_EVENT_CONNECT_RETRIED);
    printf("%s: refused with %d on both sides; next attempt in %d ms\n", what, alert,
           ivl);
    CHECK_INT(ivl, >=, AUTH_IVL_LOW);
    CHECK_EQ(tu_events_count(&cli->log, ZMQ_EVENT_CONNECTED), 0);
    CHECK_EQ(tu_wait_readable(srv->sock, 0), -1);
}

/* Not allowed: access_denied (49). */
static void refused(tu_peer_t *cli, tu_peer_t *srv, const char *what)
{
    refused_with(cli, srv, what, 49);
}

static void close_all(tu_peer_t *cli, tu_peer_t *srv)
{
    tu_set_int(cli->sock, ZMQ_LINGER, 0);
    tu_peer_close(cli);
    tu_peer_close(srv);
}

static void case_server(void *ctx)
{
    tu_peer_t srv, ok, no;
    server(ctx, "uri:spiffe://example.org/ns/prod/*", &srv);
    client_minted(ctx, &ok, "URI:spiffe://example.org/ns/prod/sa/web");
    tu_peer_connect(&ok, srv.endpoint);
    served(&ok, &srv, "prod workload");
    client_minted(ctx, &no, "URI:spiffe://example.org/ns/dev/sa/web");
    tu_set_int(no.sock, ZMTLS_AUTH_IVL, AUTH_IVL);
    tu_peer_connect(&no, srv.endpoint);
    refused(&no, &srv, "dev workload");
    tu_set_int(no.sock, ZMQ_LINGER, 0);
    tu_peer_close(&no);
    close_all(&ok, &srv);
}

static void case_cn(void *ctx)
{
    tu_peer_t srv, cli;
    server(ctx, "cn:client", &srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_peer_connect(&cli, srv.endpoint);
    served(&cli, &srv, "cn:client");
    close_all(&cli, &srv);

    server(ctx, "cn:someone", &srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL, AUTH_IVL);
    tu_peer_connect(&cli, srv.endpoint);
    refused(&cli, &srv, "cn:someone");
    close_all(&cli, &srv);
}

static void case_client(void *ctx)
{
    tu_peer_t srv, cli;
    server(ctx, NULL, &srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_set_str(cli.sock, ZMTLS_ALLOW, "dns:localhost");
    tu_peer_connect(&cli, srv.endpoint);
    served(&cli, &srv, "client allowing dns:localhost");
    close_all(&cli, &srv);

    server(ctx, NULL, &srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_set_str(cli.sock, ZMTLS_ALLOW, "dns:nothere.example");
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL, AUTH_IVL);
    tu_peer_connect(&cli, srv.endpoint);
    refused(&cli, &srv, "client allowing dns:nothere.example");
    close_all(&cli, &srv);
}

static void case_layers(void *ctx)
{
    tu_peer_t srv, cli;
    server(ctx, "cn:someone", &srv);
    tu_peer_open(&cli, "rogue", ctx, ZMQ_REQ, "rogue-client.pem", "rogue-client.key",
                 "ca.pem");
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL, AUTH_IVL);
    tu_peer_connect(&cli, srv.endpoint);
    refused_with(&cli, &srv, "untrusted and not allowed", 48);
    tu_set_int(cli.sock, ZMQ_LINGER, 0);
    tu_peer_close(&cli);

    tu_peer_open(&cli, "chain2", ctx, ZMQ_REQ, "chain2.pem", "chain2.key", "ca.pem");
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL, AUTH_IVL);
    tu_peer_connect(&cli, srv.endpoint);
    refused(&cli, &srv, "two intermediates, not allowed");
    tu_set_int(cli.sock, ZMQ_LINGER, 0);
    tu_peer_close(&cli);

    SSL_CTX *stock = rt_ctx_new("client.pem", "client.key", "ca.pem", TLS1_3_VERSION, -1);
    rt_conn_t raw;
    rt_open(&raw, stock, tu_endpoint_port(srv.endpoint), NULL);
    /* TLS 1.3: the client's side of the handshake completes before the
     * server has judged its certificate; the refusal arrives next. */
    if (rt_handshake(&raw, TU_TIMEOUT_MS) == 0)
        CHECK_EQ(rt_wait_closed(&raw, TU_TIMEOUT_MS), 0);
    CHECK_EQ(TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 42);
    printf("stock client: alert %d received, server refused with 42\n",
           raw.alert_received);
    CHECK_EQ(raw.alert_received, 42);
    rt_close(&raw);
    SSL_CTX_free(stock);
    tu_peer_close(&srv);
}

static void case_env(void *ctx)
{
    tu_peer_t srv, cli;
    CHECK_EQ(setenv("ZMTLS_ALLOW", "cn:someone", 1), 0);
    server(ctx, NULL, &srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL, AUTH_IVL);
    tu_peer_connect(&cli, srv.endpoint);
    refused(&cli, &srv, "environment cn:someone");
    close_all(&cli, &srv);

    /* Malformed: refused where it is given. */
    void *s = tu_socket(ctx, ZMQ_REP);
    tu_set_creds(s, "server.pem", "server.key", "ca.pem");
    CHECK_EQ(zmq_setsockopt(s, ZMTLS_ALLOW, "client", 6), -1);
    CHECK_EQ(errno, EINVAL);
    printf("bad option: %s\n", zmtls_last_error());
    CHECK(strstr(zmtls_last_error(), "ZMTLS_ALLOW") != NULL);
    CHECK_EQ(setenv("ZMTLS_ALLOW", "dns:a.*.org", 1), 0);
    CHECK_EQ(zmq_bind(s, "tls://127.0.0.1:*"), -1);
    CHECK_EQ(errno, EINVAL);
    printf("bad environment: %s\n", zmtls_last_error());
    CHECK(strstr(zmtls_last_error(), "ZMTLS_ALLOW") != NULL);
    CHECK_EQ(unsetenv("ZMTLS_ALLOW"), 0);
    CHECK_EQ(zmq_close(s), 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    CHECK_EQ(unsetenv("ZMTLS_ALLOW"), 0);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    case_server(ctx);
    case_cn(ctx);
    case_client(ctx);
    case_layers(ctx);
    case_env(ctx);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return 0;
}

/*
 * Credential files that rotate without a restart (zmq_tls(7), "Rotation").
 *
 * ZMTLS_RELOAD_IVL is 50 ms here, so every wait below is a poll against a
 * deadline (TU_TIMEOUT_MS), never a sleep.
 *
 *  a. A server's certificate and key renamed into place: new clients see
 *     the new certificate, an established client keeps its connection and
 *     round-trips.
 *  b. Its certificate rewritten in place with half a PEM block:
 *     zmtls_reload() fails naming the file, the server keeps serving with
 *     the previous certificate; valid files are then picked up by the
 *     periodic check.
 *  c. A client refused for a rogue certificate, waiting out a 10 s auth
 *     backoff, gets valid files: it connects at once.
 *  d. The server's CA file changes: a client whose reconnects resumed
 *     before makes a full handshake after it (the rebuilt context has new
 *     ticket keys), and resumes again after that.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mint.h"
#include "testutil.h"
#include "zmtls.h"

#define LONG_IVL 10000

static char dir[64];

static const char *at(const char *name)
{
    static char bufs[8][256];
    static unsigned next;
    char *buf = bufs[next++ % 8];
    snprintf(buf, sizeof bufs[0], "%s/%s", dir, name);
    return buf;
}

/* Renames a copy of a test certificate file into place. */
static void install(const char *name, const char *cert_name)
{
    char *text = tu_file_read(tu_cert(cert_name));
    tu_file_replace(at(name), text);
    free(text);
}

static void set_files(void *sock, const char *cert, const char *key, const char *ca)
{
    tu_set_str(sock, ZMTLS_CERT_FILE, cert);
    tu_set_str(sock, ZMTLS_KEY_FILE, key);
    tu_set_str(sock, ZMTLS_CA_FILE, ca);
}

/* A new client connects and reports the server certificate's subject. */
static void probe(void *ctx, const char *ep, char *subject, size_t len)
{
    tu_peer_t c;
    tu_peer_open(&c, "probe", ctx, ZMQ_DEALER, "client.pem", "client.key", "ca.pem");
    tu_peer_connect(&c, ep);
    TU_PEER_EXPECT(&c, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK(zmtls_endpoint_peer_property(c.sock, ep, "Subject", subject, len) > 0);
    tu_peer_close(&c);
}

/* Probes until the server presents `want`; returns the ms it took. */
static long long wait_subject(void *ctx, const char *ep, const char *want)
{
    int64_t t0 = tu_now_ms();
    char subject[256];
    for (;;) {
        probe(ctx, ep, subject, sizeof(subject));
        if (strcmp(subject, want) == 0)
            return (long long)(tu_now_ms() - t0);
        if (tu_now_ms() - t0 > TU_TIMEOUT_MS) {
            fprintf(stderr, "server still presents \"%s\", not \"%s\"\n", subject, want);
            exit(1);
        }
    }
}

static void expect_subject(void *client, const char *ep, const char *want)
{
    char subject[256];
    CHECK(zmtls_endpoint_peer_property(client, ep, "Subject", subject, sizeof(subject)) >
          0);
    CHECK_STR(subject, want);
}

static void rotate_server(void *ctx)
{
    install("srv-cert.pem", "server.pem");
    install("srv-key.pem", "server.key");
    tu_peer_t srv, c1;
    tu_peer_open(&srv, "server", ctx, ZMQ_ROUTER, NULL, NULL, NULL);
    set_files(srv.sock, at("srv-cert.pem"), at("srv-key.pem"), tu_cert("ca.pem"));
    tu_peer_bind(&srv);
    tu_peer_open(&c1, "established", ctx, ZMQ_DEALER, "client.pem", "client.key",
                 "ca.pem");
    tu_peer_connect(&c1, srv.endpoint);
    TU_PEER_EXPECT(&c1, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    expect_subject(c1.sock, srv.endpoint, "CN=localhost");
    CHECK_EQ(tu_roundtrip_str(c1.sock, srv.sock, "before", TU_TIMEOUT_MS), 0);

    /* a: a new certificate and key, renamed into place */
    char *cert, *key;
    tu_mint(1, 3600, &cert, &key);
    tu_file_replace(at("srv-key.pem"), key);
    tu_file_replace(at("srv-cert.pem"), cert);
    long long a_ms = wait_subject(ctx, srv.endpoint, "CN=short-lived server");
    CHECK_EQ(tu_roundtrip_str(c1.sock, srv.sock, "during", TU_TIMEOUT_MS), 0);
    expect_subject(c1.sock, srv.endpoint, "CN=localhost");

    /* b: half a certificate written in place */
    tu_file_rewrite(at("srv-cert.pem"),
                    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n");
    errno = 0;
    CHECK_EQ(zmtls_reload(), -1);
    CHECK_EQ(errno, EINVAL);
    char want[512];
    snprintf(want, sizeof(want), "zmtls: reload of %s failed: ", at("srv-cert.pem"));
    if (strncmp(zmtls_last_error(), want, strlen(want)) != 0) {
        fprintf(stderr, "zmtls_last_error: \"%s\"\n", zmtls_last_error());
        exit(1);
    }
    printf("rotate: zmtls_reload() said: %s\n", zmtls_last_error());
    char subject[256];
    probe(ctx, srv.endpoint, subject, sizeof(subject));
    CHECK_STR(subject, "CN=short-lived server");
    /* then valid files: picked up without zmtls_reload() */
    install("srv-key.pem", "server.key");
    install("srv-cert.pem", "server.pem");
    long long b_ms = wait_subject(ctx, srv.endpoint, "CN=localhost");
    CHECK_EQ(zmtls_reload(), 0);
    CHECK_STR(zmtls_last_error(), "");

    /* The established client never noticed. */
    CHECK_EQ(tu_roundtrip_str(c1.sock, srv.sock, "after", TU_TIMEOUT_MS), 0);
    expect_subject(c1.sock, srv.endpoint, "CN=localhost");
    tu_pump(c1.mon, &c1.log);
    CHECK_EQ(tu_events_count(&c1.log, ZMQ_EVENT_DISCONNECTED), 0);
    CHECK_EQ(tu_events_count(&c1.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 1);
    printf("rotate: new certificate served after %lld ms, valid files after garbage "
           "after %lld ms; the established client kept its connection\n",
           a_ms, b_ms);

    /* c: a refused client gets valid files */
    install("cli-cert.pem", "rogue-client.pem");
    install("cli-key.pem", "rogue-client.key");
    tu_peer_t cli;
    tu_peer_open(&cli, "client", ctx, ZMQ_DEALER, NULL, NULL, NULL);
    set_files(cli.sock, at("cli-cert.pem"), at("cli-key.pem"), tu_cert("ca.pem"));
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL, LONG_IVL);
    tu_set_int(cli.sock, ZMTLS_AUTH_IVL_MAX, LONG_IVL);
    tu_peer_connect(&cli, srv.endpoint);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    int retry = TU_PEER_EXPECT(&cli, ZMQ_EVENT_CONNECT_RETRIED);
    CHECK_INT(retry, >=, LONG_IVL * 8 / 10);
    int64_t t_fix = tu_now_ms();
    install("cli-key.pem", "client.key");
    install("cli-cert.pem", "client.pem");
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    long long c_ms = (long long)(tu_now_ms() - t_fix);
    CHECK_INT(c_ms, <, LONG_IVL * 8 / 10);
    CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "fixed", TU_TIMEOUT_MS), 0);
    printf("rotate: refused client, retry due in %d ms, connected %lld ms after its "
           "files were replaced\n",
           retry, c_ms);

    tu_peer_close(&cli);
    tu_peer_close(&c1);
    tu_peer_close(&srv);
    free(cert);
    free(key);
}

/* Connects, exchanges a message, returns the client's "Resumed". */
static int connect_once(tu_peer_t *cli, void *server, const char *ep)
{
    tu_peer_connect(cli, ep);
    TU_PEER_EXPECT(cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_roundtrip_str(cli->sock, server, "hello", TU_TIMEOUT_MS), 0);
    char resumed[4];
    CHECK_EQ(
        zmtls_endpoint_peer_property(cli->sock, ep, "Resumed", resumed, sizeof(resumed)),
        1);
    CHECK_EQ(zmq_disconnect(cli->sock, ep), 0);
    return resumed[0] == '1';
}

static void rotate_ca(void *ctx)
{
    install("srv-ca.pem", "ca.pem");
    tu_peer_t srv, cli;
    tu_peer_open(&srv, "server", ctx, ZMQ_ROUTER, "server.pem", "server.key", NULL);
    tu_set_str(srv.sock, ZMTLS_CA_FILE, at("srv-ca.pem"));
    tu_peer_bind(&srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_DEALER, "client.pem", "client.key", "ca.pem");
    CHECK_EQ(connect_once(&cli, srv.sock, srv.endpoint), 0);
    CHECK_EQ(connect_once(&cli, srv.sock, srv.endpoint), 1);

    /* A CA bundle that still trusts the client, plus another CA. */
    char *ca = tu_file_read(tu_cert("ca.pem"));
    char *rogue = tu_file_read(tu_cert("rogue-ca.pem"));
    char *bundle = malloc(strlen(ca) + strlen(rogue) + 1);
    CHECK(bundle != NULL);
    strcpy(bundle, ca);
    strcat(bundle, rogue);
    tu_file_replace(at("srv-ca.pem"), bundle);
    /* Until the server has reloaded, reconnects resume; after, one does not. */
    int64_t t0 = tu_now_ms();
    int resumed_before = 0;
    while (connect_once(&cli, srv.sock, srv.endpoint)) {
        resumed_before++;
        CHECK_INT(tu_now_ms() - t0, <, TU_TIMEOUT_MS);
    }
    long long d_ms = (long long)(tu_now_ms() - t0);
    /* The new context's tickets resume again. */
    CHECK_EQ(connect_once(&cli, srv.sock, srv.endpoint), 1);
    printf("rotate: CA changed; %d reconnect(s) resumed before the reload, then a full "
           "handshake after %lld ms, then resumption again\n",
           resumed_before, d_ms);
    free(ca);
    free(rogue);
    free(bundle);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
}

int main(void)
{
    tu_watchdog(TU_WATCHDOG_S);
    CHECK(setenv("ZMTLS_RELOAD_IVL", "50", 1) == 0);
    snprintf(dir, sizeof(dir), "/tmp/zmtls-rotate-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    rotate_server(ctx);
    rotate_ca(ctx);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    const char *names[] = {"srv-cert.pem", "srv-key.pem", "cli-cert.pem", "cli-key.pem",
                           "srv-ca.pem"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unlink(at(names[i]));
    CHECK(rmdir(dir) == 0);
    return 0;
}

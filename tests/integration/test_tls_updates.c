/*
 * TLS handshake messages after the handshake (KeyUpdate above all: each
 * one costs the receiver a key derivation, and one that asks for an update
 * in return costs it a record and a second derivation) are limited per
 * connection by ZMTLS_TLS_UPDATES_MAX per minute.
 *   - A raw OpenSSL client completes the handshake with a tls:// REP
 *     server, then sends KeyUpdates that ask for one in return, as fast as
 *     it can, up to ZMTLS_TEST_UPDATES (default 10000): the server answers
 *     ZMTLS_TLS_UPDATES_MAX_DEFAULT of them (plus what the bucket refills
 *     meanwhile) and ends the connection,
 *     reports DISCONNECTED for it, and a good zmtls client keeps getting
 *     replies meanwhile. Prints what the server answered and its I/O
 *     thread's CPU time.
 *   - A client that sends a few KeyUpdates (fewer than the limit) is served.
 *   - With ZMTLS_TLS_UPDATES_MAX 0 on the server a single KeyUpdate ends the
 *     connection, while a zmtls client with 0 still accepts the session
 *     ticket every server sends after the handshake.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rawtls.h"
#include "testutil.h"
#include "zmtls.h"

/* CPU time of zmtls's I/O thread so far, in ns (schedstat). */
static long long io_thread_cpu_ns(void)
{
    DIR *d = opendir("/proc/self/task");
    CHECK(d != NULL);
    long long ns = -1;
    struct dirent *e;
    while (ns < 0 && (e = readdir(d)) != NULL) {
        char path[300], comm[64] = "";
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        if (fgets(comm, sizeof(comm), f) == NULL)
            comm[0] = '\0';
        fclose(f);
        if (strncmp(comm, "zmtls/IO", 8) != 0)
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", e->d_name);
        f = fopen(path, "r");
        CHECK(f != NULL);
        CHECK(fscanf(f, "%lld", &ns) == 1);
        fclose(f);
    }
    closedir(d);
    CHECK(ns >= 0);
    return ns;
}

static void good_roundtrip(void *good, tu_peer_t *srv)
{
    CHECK_EQ(tu_roundtrip_str(good, srv->sock, "still served", TU_TIMEOUT_MS), 0);
}

/* A raw client that completed the ZMTP handshake with srv. */
static void raw_ready(rt_conn_t *t, SSL_CTX *tls, tu_peer_t *srv)
{
    rt_open(t, tls, tu_endpoint_port(srv->endpoint), NULL);
    CHECK_EQ(rt_handshake(t, TU_TIMEOUT_MS), 0);
    CHECK_EQ(rt_zmtp_handshake(t, "REQ", TU_TIMEOUT_MS), 0);
    CHECK_EQ(TU_PEER_EXPECT(srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
}

/* One request from the raw client, echoed by srv. */
static int raw_request(rt_conn_t *t, tu_peer_t *srv, int timeout_ms)
{
    if (rt_zmtp_send_request(t, "req", timeout_ms) < 0 ||
        tu_echo(srv->sock, timeout_ms) != 1)
        return -1;
    return rt_zmtp_recv_reply(t, "req", timeout_ms);
}

static void flood(void *good, SSL_CTX *tls, tu_peer_t *srv, unsigned long n)
{
    rt_conn_t t;
    raw_ready(&t, tls, srv);
    long long cpu0 = io_thread_cpu_ns();
    int64_t t0 = tu_now_ms();
    unsigned long sent = 0;
    while (sent < n && rt_key_update(&t, TU_TIMEOUT_MS) == 0) {
        sent++;
        if (sent % 64 == 0 && rt_drain(&t) < 0)
            break;
    }
    /* Whatever the server did with them, it has done once it answers a
     * request sent after them, or closes. */
    int served = !t.eof && raw_request(&t, srv, 60000) == 0;
    if (!served) {
        char byte;
        CHECK_EQ(rt_read(&t, &byte, 1, TU_TIMEOUT_MS), -1);
    }
    long long cpu = io_thread_cpu_ns() - cpu0;
    int64_t ms = tu_now_ms() - t0;
    unsigned long answered = t.key_updates;
    /* The burst, plus what the bucket refilled while the flood lasted. */
    unsigned long allowed =
        ZMTLS_TLS_UPDATES_MAX_DEFAULT +
        (unsigned long)((ms * ZMTLS_TLS_UPDATES_MAX_DEFAULT + 59999) / 60000);
    printf(
        "KeyUpdate flood: %lu sent in %lld ms, %lu answered, connection %s; server I/O "
        "thread %.1f ms CPU, %.1f us per KeyUpdate answered\n",
        sent, (long long)(tu_now_ms() - t0), answered,
        served ? "still served" : "closed by the server", cpu / 1e6,
        answered > 0 ? cpu / 1e3 / (double)answered : 0.0);
    rt_close(&t);

    CHECK(!served);
    CHECK(sent < n);
    CHECK(answered <= allowed);
    CHECK(TU_PEER_EXPECT(srv, ZMQ_EVENT_DISCONNECTED) > 0);
    CHECK_EQ(tu_events_count(&srv->log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
    good_roundtrip(good, srv);
}

/* Fewer KeyUpdates than the limit, then a request: served. */
static void polite(void *good, SSL_CTX *tls, tu_peer_t *srv, int updates)
{
    rt_conn_t t;
    raw_ready(&t, tls, srv);
    for (int i = 0; i < updates; i++)
        CHECK_EQ(rt_key_update(&t, TU_TIMEOUT_MS), 0);
    CHECK_EQ(raw_request(&t, srv, TU_TIMEOUT_MS), 0);
    CHECK_EQ(t.key_updates, (unsigned long)updates);
    rt_close(&t);
    good_roundtrip(good, srv);
    printf("%d KeyUpdates, then a request: served\n", updates);
}

/* ZMTLS_TLS_UPDATES_MAX 0: one KeyUpdate is one too many for the server,
 * while a client with 0 still takes the ticket that follows the handshake. */
static void none_allowed(void *ctx, SSL_CTX *tls)
{
    tu_peer_t srv;
    tu_peer_open(&srv, "server (0)", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_set_int(srv.sock, ZMTLS_TLS_UPDATES_MAX, 0);
    CHECK_EQ(tu_get_int(srv.sock, ZMTLS_TLS_UPDATES_MAX), 0);
    tu_peer_bind(&srv);

    void *cli = tu_socket(ctx, ZMQ_REQ);
    tu_set_creds(cli, "client.pem", "client.key", "ca.pem");
    tu_set_int(cli, ZMTLS_TLS_UPDATES_MAX, 0);
    CHECK_EQ(zmq_connect(cli, srv.endpoint), 0);
    CHECK_EQ(TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(tu_roundtrip_str(cli, srv.sock, "ticket taken", TU_TIMEOUT_MS), 0);

    rt_conn_t t;
    raw_ready(&t, tls, &srv);
    CHECK_EQ(rt_key_update(&t, TU_TIMEOUT_MS), 0);
    CHECK_EQ(raw_request(&t, &srv, TU_QUIET_MS), -1);
    CHECK(TU_PEER_EXPECT(&srv, ZMQ_EVENT_DISCONNECTED) > 0);
    rt_close(&t);
    CHECK_EQ(tu_roundtrip_str(cli, srv.sock, "still served", TU_TIMEOUT_MS), 0);
    zmq_close(cli);
    tu_peer_close(&srv);
    printf("ZMTLS_TLS_UPDATES_MAX 0: one KeyUpdate ends the connection; a client with 0 "
           "takes its ticket and is served\n");
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(120);
    const char *env = getenv("ZMTLS_TEST_UPDATES");
    unsigned long n = env != NULL ? strtoul(env, NULL, 10) : 10000;
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    SSL_CTX *tls = rt_ctx_new("client.pem", "client.key", "ca.pem", TLS1_3_VERSION, -1);

    tu_peer_t srv;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    CHECK_EQ(tu_get_int(srv.sock, ZMTLS_TLS_UPDATES_MAX), ZMTLS_TLS_UPDATES_MAX_DEFAULT);
    tu_peer_bind(&srv);
    void *good = tu_socket(ctx, ZMQ_REQ);
    tu_set_creds(good, "client.pem", "client.key", "ca.pem");
    CHECK_EQ(zmq_connect(good, srv.endpoint), 0);
    CHECK_EQ(TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    good_roundtrip(good, &srv);

    polite(good, tls, &srv, 10);
    flood(good, tls, &srv, n);
    zmq_close(good);
    tu_peer_close(&srv);
    none_allowed(ctx, tls);
    SSL_CTX_free(tls);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return 0;
}

/*
 * ZAP on a tls:// bind: the context's handler (rfc 27, a plain libzmq REP
 * at inproc://zeromq.zap.01 on its own thread) decides after the
 * certificate verified.
 *   request   what the handler receives: version 1.0, the domain, the
 *             peer's IP address, the server socket's own routing id (as
 *             libzmq sends it), mechanism NULL, and no credential frame
 *             (rfc 27 gives NULL none, and handlers read exactly six);
 *             with ZMTLS_ZAP_CERT, a 7th frame: the client's certificate
 *   allowed   a libzmq client from 127.0.0.1 gets 200: served, and the
 *             handler's user id is the peer property User-Id
 *   denied    a raw TLS client from 127.0.0.2 gets 400: the server emits
 *             HANDSHAKE_FAILED_AUTH 400, the client reads an rfc 37 ERROR
 *             "400" instead of the server's READY, then the close
 *   broken    a reply with version "2.0" breaks rfc 27: the server emits
 *             HANDSHAKE_FAILED_PROTOCOL ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION
 *   no handler  a bind in a context without a handler admits its client
 *             as libzmq does; with ZMQ_ZAP_ENFORCE_DOMAIN it refuses it
 *             (NO_DETAIL EFAULT); a handler closed is no longer asked
 *   connect   ZMQ_ZAP_DOMAIN on a connecting socket is refused (EINVAL)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rawtls.h"
#include "testutil.h"
#include "zaphandler.h"
#include "zmtls.h"

#define DOMAIN    "global"
#define ALLOWED   "127.0.0.1"
#define SERVER_ID "server-id"

/* ---- the handler ---------------------------------------------------------- */

typedef struct zap_seen {
    pthread_mutex_t lock;
    int requests;
    char version[8];
    char domain[64];
    char address[64];
    char mechanism[16];
    char identity[32];
    int frames;  /* after the delimiter */
    int cert_ok; /* a 7th frame holding one PEM certificate */
    int broken;  /* set by the test: reply with a bad version */
} zap_seen_t;

typedef struct zap {
    tu_zap_handler_t handler;
    zap_seen_t seen;
} zap_t;

static void copy_frame(char *dst, size_t cap, const char *src, int n)
{
    size_t len = (size_t)n < cap - 1 ? (size_t)n : cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void zap_answer(zap_t *z, void *rep)
{
    char f[8][4096];
    int len[8] = {0}, n = 0, more = 1;
    while (more) {
        char buf[4096];
        int l = zmq_recv(rep, buf, sizeof buf, 0);
        CHECK(l >= 0 && (size_t)l <= sizeof buf);
        if (n < 8) {
            memcpy(f[n], buf, (size_t)l);
            len[n] = l;
        }
        n++;
        more = tu_get_int(rep, ZMQ_RCVMORE);
    }
    CHECK(n >= 6);
    zap_seen_t *s = &z->seen;
    pthread_mutex_lock(&s->lock);
    s->requests++;
    s->frames = n;
    copy_frame(s->version, sizeof s->version, f[0], len[0]);
    copy_frame(s->domain, sizeof s->domain, f[2], len[2]);
    copy_frame(s->address, sizeof s->address, f[3], len[3]);
    copy_frame(s->identity, sizeof s->identity, f[4], len[4]);
    copy_frame(s->mechanism, sizeof s->mechanism, f[5], len[5]);
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char end[] = "-----END CERTIFICATE-----\n";
    s->cert_ok = n == 7 && len[6] > (int)(sizeof begin + sizeof end) &&
                 memcmp(f[6], begin, sizeof begin - 1) == 0 &&
                 memcmp(f[6] + len[6] - (sizeof end - 1), end, sizeof end - 1) == 0;
    int allow = len[3] == (int)strlen(ALLOWED) && memcmp(f[3], ALLOWED, len[3]) == 0;
    int broken = s->broken;
    pthread_mutex_unlock(&s->lock);
    const char *status = allow ? "200" : "400";
    const char *user = allow ? "alice" : "";
    CHECK_EQ(zmq_send(rep, broken ? "2.0" : "1.0", 3, ZMQ_SNDMORE), 3);
    CHECK_EQ(zmq_send(rep, f[1], (size_t)len[1], ZMQ_SNDMORE), len[1]);
    CHECK_EQ(zmq_send(rep, status, 3, ZMQ_SNDMORE), 3);
    CHECK_EQ(zmq_send(rep, allow ? "OK" : "Address denied", allow ? 2 : 14, ZMQ_SNDMORE),
             allow ? 2 : 14);
    CHECK_EQ(zmq_send(rep, user, strlen(user), ZMQ_SNDMORE), (int)strlen(user));
    CHECK_EQ(zmq_send(rep, "", 0, 0), 0);
}

static void zap_answer_cb(void *arg, void *rep)
{
    zap_answer(arg, rep);
}

static void zap_start(zap_t *z, void *ctx)
{
    memset(z, 0, sizeof *z);
    CHECK_EQ(pthread_mutex_init(&z->seen.lock, NULL), 0);
    tu_zap_handler_start(&z->handler, ctx, zap_answer_cb, z);
}

static void zap_stop(zap_t *z)
{
    tu_zap_handler_stop(&z->handler);
    pthread_mutex_destroy(&z->seen.lock);
}

static zap_seen_t seen_now(zap_t *z)
{
    pthread_mutex_lock(&z->seen.lock);
    zap_seen_t s = z->seen;
    pthread_mutex_unlock(&z->seen.lock);
    return s;
}

static void check_request(zap_t *z, const char *address, int requests)
{
    zap_seen_t s = seen_now(z);
    printf("request %d: version %s domain %s address %s mechanism %s, %d frames\n",
           s.requests, s.version, s.domain, s.address, s.mechanism, s.frames);
    CHECK_EQ(s.requests, requests);
    CHECK_STR(s.version, "1.0");
    CHECK_STR(s.domain, DOMAIN);
    CHECK_STR(s.address, address);
    CHECK_STR(s.mechanism, "NULL");
    CHECK_STR(s.identity, SERVER_ID); /* the bound socket's own, as libzmq */
    CHECK_EQ(s.frames, 6);
}

/* ---- cases ---------------------------------------------------------------- */

static void case_allowed(zap_t *z, tu_peer_t *srv, void *ctx)
{
    tu_peer_t cli;
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_peer_connect(&cli, srv->endpoint);
    TU_PEER_EXPECT(srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_roundtrip_str(cli.sock, srv->sock, "admitted", TU_TIMEOUT_MS), 0);
    char user[64];
    CHECK_EQ(zmtls_endpoint_peer_property(srv->sock, srv->endpoint, "User-Id", user,
                                          sizeof user),
             5);
    CHECK_STR(user, "alice");
    check_request(z, ALLOWED, 1);
    printf("allowed: served, User-Id %s\n", user);
    tu_set_int(cli.sock, ZMQ_LINGER, 0);
    tu_peer_close(&cli);
}

static void case_denied(zap_t *z, tu_peer_t *srv)
{
    SSL_CTX *tls = rt_ctx_new("client.pem", "client.key", "ca.pem", TLS1_3_VERSION, -1);
    rt_conn_t c;
    rt_open_from(&c, tls, "127.0.0.2", tu_endpoint_port(srv->endpoint), NULL);
    CHECK_EQ(rt_handshake(&c, TU_TIMEOUT_MS), 0);
    uint8_t g[RT_GREETING_SIZE];
    CHECK_EQ(rt_read(&c, g, sizeof g, TU_TIMEOUT_MS), 0);
    uint8_t out[RT_GREETING_SIZE + 64];
    rt_zmtp_greeting(out);
    size_t n = RT_GREETING_SIZE + rt_zmtp_ready(out + RT_GREETING_SIZE, 64, "REQ");
    CHECK_EQ(rt_write(&c, out, n, TU_TIMEOUT_MS), 0);
    /* ERROR "400" where the server's READY would be */
    static const uint8_t error[] = "\x04\x0a\x05"
                                   "ERROR\x03"
                                   "400";
    uint8_t got[sizeof error - 1];
    CHECK_EQ(rt_read(&c, got, sizeof got, TU_TIMEOUT_MS), 0);
    CHECK(memcmp(got, error, sizeof got) == 0);
    CHECK_EQ(TU_PEER_EXPECT(srv, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 400);
    CHECK_EQ(rt_wait_closed(&c, TU_TIMEOUT_MS), 0);
    CHECK_EQ(tu_events_count(&srv->log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 1);
    check_request(z, "127.0.0.2", 2);
    printf("denied: ERROR 400 to the client, HANDSHAKE_FAILED_AUTH 400, closed\n");
    rt_close(&c);
    SSL_CTX_free(tls);
}

/* ZMTLS_ZAP_CERT: the client's certificate follows the mechanism. */
static void case_with_cert(zap_t *z, void *ctx)
{
    pthread_mutex_lock(&z->seen.lock);
    z->seen.broken = 0;
    pthread_mutex_unlock(&z->seen.lock);
    tu_peer_t srv, cli;
    tu_peer_open(&srv, "server-cert", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_set_str(srv.sock, ZMQ_ZAP_DOMAIN, DOMAIN);
    tu_set_int(srv.sock, ZMTLS_ZAP_CERT, 1);
    tu_peer_bind(&srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_peer_connect(&cli, srv.endpoint);
    CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "with cert", TU_TIMEOUT_MS), 0);
    zap_seen_t s = seen_now(z);
    printf("ZMTLS_ZAP_CERT: %d frames, certificate %s\n", s.frames,
           s.cert_ok ? "PEM" : "missing");
    CHECK_EQ(s.frames, 7);
    CHECK(s.cert_ok);
    tu_set_int(cli.sock, ZMQ_LINGER, 0);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
}

static void case_broken(zap_t *z, tu_peer_t *srv, void *ctx)
{
    pthread_mutex_lock(&z->seen.lock);
    z->seen.broken = 1;
    pthread_mutex_unlock(&z->seen.lock);
    tu_peer_t cli;
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_peer_connect(&cli, srv->endpoint);
    CHECK_EQ(TU_PEER_EXPECT(srv, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL),
             ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION);
    CHECK_EQ(tu_events_count(&srv->log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 1);
    printf("broken reply: HANDSHAKE_FAILED_PROTOCOL ZAP_BAD_VERSION\n");
    tu_set_int(cli.sock, ZMQ_LINGER, 0);
    tu_peer_close(&cli);
}

static void case_no_handler(void)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    /* A handler that came and went: its close is noticed. */
    zap_t zap;
    zap_start(&zap, ctx);
    zap_stop(&zap);
    tu_peer_t srv, strict, cli, cli2;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_set_str(srv.sock, ZMQ_ZAP_DOMAIN, DOMAIN);
    tu_peer_bind(&srv);
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_peer_connect(&cli, srv.endpoint);
    CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "hello", TU_TIMEOUT_MS), 0);
    printf("no handler: admitted, as libzmq admits NULL clients\n");

    tu_peer_open(&strict, "strict", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_set_str(strict.sock, ZMQ_ZAP_DOMAIN, DOMAIN);
    tu_set_int(strict.sock, ZMQ_ZAP_ENFORCE_DOMAIN, 1);
    tu_peer_bind(&strict);
    tu_peer_open(&cli2, "client2", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_peer_connect(&cli2, strict.endpoint);
    CHECK_EQ(TU_PEER_EXPECT(&strict, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL), EFAULT);
    CHECK_EQ(tu_events_count(&strict.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    printf("no handler, ZMQ_ZAP_ENFORCE_DOMAIN: refused with EFAULT\n");
    tu_set_int(cli.sock, ZMQ_LINGER, 0);
    tu_set_int(cli2.sock, ZMQ_LINGER, 0);
    tu_peer_close(&cli);
    tu_peer_close(&cli2);
    tu_peer_close(&srv);
    tu_peer_close(&strict);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

/* A connecting socket's ZAP domain cannot be honoured: refused. */
static void case_connect_refused(void)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    tu_peer_t cli;
    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_set_str(cli.sock, ZMQ_ZAP_DOMAIN, DOMAIN);
    errno = 0;
    CHECK_EQ(zmq_connect(cli.sock, "tls://127.0.0.1:9"), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK(strstr(zmtls_last_error(), "ZMQ_ZAP_DOMAIN") != NULL);
    printf("connect with a ZAP domain: %s\n", zmtls_last_error());
    tu_peer_close(&cli);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    zap_t zap;
    zap_start(&zap, ctx);
    tu_peer_t srv;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_set_str(srv.sock, ZMQ_ZAP_DOMAIN, DOMAIN);
    tu_set_str(srv.sock, ZMQ_ROUTING_ID, SERVER_ID);
    tu_peer_bind(&srv);
    case_allowed(&zap, &srv, ctx);
    case_denied(&zap, &srv);
    case_broken(&zap, &srv, ctx);
    case_with_cert(&zap, ctx);
    tu_peer_close(&srv);
    zap_stop(&zap);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    case_no_handler();
    case_connect_refused();
    return 0;
}

/*
 * Conformance of libzmq's own security options over tls:// against tcp://.
 * tls:// adds certificate authentication underneath; an application that
 * swaps the scheme keeps whatever ZAP / PLAIN / CURVE settings it had, and
 * they must still decide who gets in:
 *   zap_null_domain   NULL mechanism with ZMQ_ZAP_DOMAIN: the ZAP handler
 *                     is asked for every client; a domain it denies keeps
 *                     the client out (HANDSHAKE_FAILED_AUTH, nothing
 *                     delivered), a domain it allows lets it in; over
 *                     tls:// too (the handler's User-Id then read with
 *                     zmtls_peer_property);
 *   zap_null_frames   a handler written like libzmq's own test handlers
 *                     reads exactly the six frames rfc 27 gives a NULL
 *                     request (no credential frame) and replies at once:
 *                     nothing follows the mechanism, so its reply goes out
 *                     and the client is admitted;
 *   zap_peer_gone     a client that leaves while the handler holds its
 *                     request (never answered) is seen leaving at once:
 *                     HANDSHAKE_FAILED_NO_DETAIL EPIPE,
 *                     long before ZMQ_HANDSHAKE_IVL;
 *   zap_no_handler    a ZAP domain with no handler bound admits the client;
 *                     with ZMQ_ZAP_ENFORCE_DOMAIN it is refused
 *                     (HANDSHAKE_FAILED_NO_DETAIL EFAULT); a handler bound
 *                     afterwards is asked from the next handshake on;
 *   plain             ZMQ_PLAIN_SERVER: a wrong password is refused, the
 *                     right one delivered with User-Id "admin";
 *   curve             ZMQ_CURVE_SERVER: the ZAP handler admits one client
 *                     key; a client with another key is refused.
 *
 * One ZAP handler (inproc://zeromq.zap.01, rfc 27) per context, on its own
 * thread, counts the requests it answers.
 *
 * tls:// authenticates with certificates and refuses PLAIN and CURVE at
 * bind with EINVAL and a reason instead of silently ignoring them (a
 * documented difference, docs/zmq_tls.7.md): the tls:// runs assert that.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "zaphandler.h"
#include "zmtls.h"

/* ---- ZAP handler ------------------------------------------------------------- */

typedef struct zap {
    tu_zap_handler_t handler;
    atomic_int requests;
    atomic_int trailing;  /* NULL requests with a frame after the mechanism */
    pthread_mutex_t lock; /* with `held`: requests left unanswered */
    pthread_cond_t cond;
    int held;
    char curve_allowed[41]; /* z85 public key the handler admits */
} zap_t;

static int zap_part(void *sock, char *buf, size_t cap, int *more)
{
    int n = zmq_recv(sock, buf, cap - 1, 0);
    CHECK(n >= 0);
    /* a PLAIN or CURVE credential longer than anything decided on here is
     * kept only in part */
    if ((size_t)n >= cap)
        n = (int)cap - 1;
    buf[n] = '\0';
    int m = 0;
    size_t len = sizeof m;
    CHECK_EQ(zmq_getsockopt(sock, ZMQ_RCVMORE, &m, &len), 0);
    *more = m;
    return n;
}

/* Decides one request: PLAIN admin/secret, CURVE the allowed key, NULL
 * any domain but "deny". */
static void zap_answer(zap_t *z, void *rep)
{
    char f[8][256];
    int len[8] = {0};
    int n = 0, more = 1;
    while (more) {
        char buf[256];
        int l = zap_part(rep, buf, sizeof buf, &more);
        if (n < 8) {
            memcpy(f[n], buf, (size_t)l + 1);
            len[n] = l;
            n++;
        }
    }
    /* version, request id, domain, address, identity, mechanism, creds... */
    CHECK(n >= 6);
    const char *status = "400", *user = "";
    if (strcmp(f[5], "NULL") == 0 && strcmp(f[2], "deny") != 0) {
        status = "200";
        user = "anonymous";
    } else if (strcmp(f[5], "PLAIN") == 0 && n >= 8 && strcmp(f[6], "admin") == 0 &&
               strcmp(f[7], "secret") == 0) {
        status = "200";
        user = "admin";
    } else if (strcmp(f[5], "CURVE") == 0 && n >= 7 && len[6] == 32) {
        char z85[41];
        CHECK(zmq_z85_encode(z85, (const uint8_t *)f[6], 32) != NULL);
        if (strcmp(z85, z->curve_allowed) == 0) {
            status = "200";
            user = "curve-client";
        }
    }
    atomic_fetch_add(&z->requests, 1);
    CHECK_EQ(zmq_send(rep, "1.0", 3, ZMQ_SNDMORE), 3);
    CHECK_EQ(zmq_send(rep, f[1], (size_t)len[1], ZMQ_SNDMORE), len[1]);
    CHECK_EQ(zmq_send(rep, status, 3, ZMQ_SNDMORE), 3);
    CHECK_EQ(zmq_send(rep, "", 0, ZMQ_SNDMORE), 0);
    CHECK_EQ(zmq_send(rep, user, strlen(user), ZMQ_SNDMORE), (int)strlen(user));
    CHECK_EQ(zmq_send(rep, "", 0, 0), 0);
}

static void zap_answer_cb(void *arg, void *rep)
{
    zap_answer(arg, rep);
}

/* As libzmq's own test handlers: the six frames of a NULL request read
 * one by one, then the reply. A frame left after the mechanism would make
 * the REP refuse that reply (EFSM): it is counted, then read, so the
 * handler can still answer and the scenario ends. */
static void zap_answer_six(void *arg, void *rep)
{
    zap_t *z = arg;
    char f[6][256];
    int len[6], more = 0;
    for (int i = 0; i < 6; i++)
        len[i] = zap_part(rep, f[i], sizeof f[i], &more);
    CHECK_STR(f[5], "NULL");
    atomic_fetch_add(&z->requests, 1);
    if (zmq_send(rep, "1.0", 3, ZMQ_SNDMORE) != 3) {
        CHECK_EQ(errno, EFSM);
        atomic_fetch_add(&z->trailing, 1);
        char buf[256];
        while (more)
            zap_part(rep, buf, sizeof buf, &more);
        CHECK_EQ(zmq_send(rep, "1.0", 3, ZMQ_SNDMORE), 3);
    }
    CHECK_EQ(zmq_send(rep, f[1], (size_t)len[1], ZMQ_SNDMORE), len[1]);
    CHECK_EQ(zmq_send(rep, "200", 3, ZMQ_SNDMORE), 3);
    CHECK_EQ(zmq_send(rep, "", 0, ZMQ_SNDMORE), 0);
    CHECK_EQ(zmq_send(rep, "anonymous", 9, ZMQ_SNDMORE), 9);
    CHECK_EQ(zmq_send(rep, "", 0, 0), 0);
}

/* A handler that takes the request and never answers it. */
static void zap_answer_never(void *arg, void *rep)
{
    zap_t *z = arg;
    char buf[256];
    int more = 1;
    while (more)
        zap_part(rep, buf, sizeof buf, &more);
    pthread_mutex_lock(&z->lock);
    z->held++;
    pthread_cond_broadcast(&z->cond);
    pthread_mutex_unlock(&z->lock);
}

/* Waits (bounded) until the handler holds a request. */
static int zap_wait_held(zap_t *z, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&z->lock);
    int rc = 0;
    while (z->held == 0 && rc == 0)
        rc = pthread_cond_timedwait(&z->cond, &z->lock, &until);
    int held = z->held;
    pthread_mutex_unlock(&z->lock);
    return held > 0 ? 0 : -1;
}

static void zap_start_with(zap_t *z, void *ctx, tu_zap_answer_fn answer)
{
    memset(z, 0, sizeof *z);
    atomic_init(&z->requests, 0);
    atomic_init(&z->trailing, 0);
    CHECK_EQ(pthread_mutex_init(&z->lock, NULL), 0);
    CHECK_EQ(pthread_cond_init(&z->cond, NULL), 0);
    tu_zap_handler_start(&z->handler, ctx, answer, z);
}

static void zap_start(zap_t *z, void *ctx)
{
    zap_start_with(z, ctx, zap_answer_cb);
}

static void zap_stop(zap_t *z)
{
    tu_zap_handler_stop(&z->handler);
    pthread_cond_destroy(&z->cond);
    pthread_mutex_destroy(&z->lock);
}

/* ---- shared checks --------------------------------------------------------------- */

/* The client's "hello" must never reach the server, and the client must
 * hear it was refused. */
static void expect_refused(tu_peer_t *srv, tu_peer_t *cli)
{
    CHECK_EQ(tu_send_str(cli->sock, "hello", 0), 5);
    int rc = conf_wait_event(cli, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, TU_TIMEOUT_MS, NULL);
    int delivered = !conf_quiet(srv->sock, TU_QUIET_MS / 2);
    if (rc == 0)
        tu_events_print(&cli->log, cli->name);
    if (delivered) {
        fprintf(stderr, "%s: its message reached the server application\n", cli->name);
        exit(1);
    }
    CHECK_EQ(rc, 0);
}

/* The client gets in: its "hello" arrives; returns the User-Id property
 * of the message (NULL when there is none) in user (cap bytes). */
static void expect_admitted(tu_peer_t *srv, tu_peer_t *cli, char *user, size_t cap)
{
    CHECK_EQ(tu_send_str(cli->sock, "hello", 0), 5);
    tu_msg_t m;
    if (tu_recv_msg(srv->sock, &m, TU_TIMEOUT_MS) != 0) {
        fprintf(stderr, "%s: admitted client's message never arrived\n", cli->name);
        tu_events_print(&cli->log, cli->name);
        exit(1);
    }
    CHECK_EQ(m.n, 2);
    CHECK(tu_msg_part_is(&m, 1, "hello"));
    const char *u = zmq_msg_gets(&m.part[1], "User-Id");
    snprintf(user, cap, "%s", u ? u : "(none)");
    tu_msg_close(&m);
}

/* The tls:// side of each scenario: the bind is refused, saying why. */
static void expect_bind_refused(tu_peer_t *srv, const char *what)
{
    errno = 0;
    CHECK_EQ(zmq_bind(srv->sock, "tls://127.0.0.1:*"), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK(strstr(zmtls_last_error(), what) != NULL);
    printf("tls:// refuses %s: %s\n", what, zmtls_last_error());
}

/* ---- NULL + ZAP domain ----------------------------------------------------------- */

static void zap_null_domain(const char *tr)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    zap_t zap;
    zap_start(&zap, ctx);
    tu_peer_t deny, allow, c1, c2;
    conf_peer_open(&deny, "server-deny", ctx, ZMQ_ROUTER, tr, CONF_SERVER);
    tu_set_str(deny.sock, ZMQ_ZAP_DOMAIN, "deny");
    conf_peer_bind(&deny, tr);
    conf_peer_open(&allow, "server-allow", ctx, ZMQ_ROUTER, tr, CONF_SERVER);
    tu_set_str(allow.sock, ZMQ_ZAP_DOMAIN, "allow");
    conf_peer_bind(&allow, tr);
    conf_peer_open(&c1, "client-denied", ctx, ZMQ_DEALER, tr, CONF_CLIENT);
    tu_peer_connect(&c1, deny.endpoint);
    conf_peer_open(&c2, "client-allowed", ctx, ZMQ_DEALER, tr, CONF_CLIENT);
    tu_peer_connect(&c2, allow.endpoint);
    expect_refused(&deny, &c1);
    char user[64];
    expect_admitted(&allow, &c2, user, sizeof user);
    /* tls:// messages reach the socket through a pipe without metadata:
     * the handler's User-Id is a peer property */
    if (conf_is_tls(tr))
        CHECK(zmtls_endpoint_peer_property(allow.sock, allow.endpoint, "User-Id", user,
                                           sizeof user) >= 0);
    int asked = atomic_load(&zap.requests);
    printf("zap null: handler asked %d times; denied domain refused, allowed domain "
           "admitted with User-Id %s\n",
           asked, user);
    CHECK_INT(asked, >=, 2);
    CHECK_STR(user, "anonymous");
    tu_peer_close(&c1);
    tu_peer_close(&c2);
    tu_peer_close(&deny);
    tu_peer_close(&allow);
    zap_stop(&zap);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

/* ---- NULL request frames ------------------------------------------------------------
 */

static void zap_null_frames(const char *tr)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    zap_t zap;
    zap_start_with(&zap, ctx, zap_answer_six);
    tu_peer_t srv, cli;
    conf_peer_open(&srv, "server", ctx, ZMQ_ROUTER, tr, CONF_SERVER);
    tu_set_str(srv.sock, ZMQ_ZAP_DOMAIN, "six");
    conf_peer_bind(&srv, tr);
    conf_peer_open(&cli, "client", ctx, ZMQ_DEALER, tr, CONF_CLIENT);
    tu_peer_connect(&cli, srv.endpoint);
    char user[64];
    expect_admitted(&srv, &cli, user, sizeof user);
    int asked = atomic_load(&zap.requests), trailing = atomic_load(&zap.trailing);
    printf("zap null frames: handler asked %d times, %d request(s) with a frame after "
           "the mechanism\n",
           asked, trailing);
    CHECK_INT(asked, >=, 1);
    CHECK_EQ(trailing, 0);
    tu_peer_close(&cli);
    tu_peer_close(&srv);
    zap_stop(&zap);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

/* ---- a client leaving while the handler decides ---------------------------------- */

static void zap_peer_gone(const char *tr)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    zap_t zap;
    zap_start_with(&zap, ctx, zap_answer_never);
    tu_peer_t srv, cli;
    conf_peer_open(&srv, "server", ctx, ZMQ_ROUTER, tr, CONF_SERVER);
    tu_set_str(srv.sock, ZMQ_ZAP_DOMAIN, "held");
    /* far beyond the wait below: only the client's leaving can end it */
    tu_set_int(srv.sock, ZMQ_HANDSHAKE_IVL, 60000);
    conf_peer_bind(&srv, tr);
    conf_peer_open(&cli, "client", ctx, ZMQ_DEALER, tr, CONF_CLIENT);
    tu_peer_connect(&cli, srv.endpoint);
    CHECK_EQ(zap_wait_held(&zap, TU_TIMEOUT_MS), 0);
    int64_t t0 = tu_now_ms();
    tu_peer_close(&cli);
    int value = 0;
    CHECK_EQ(conf_wait_event(&srv, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, TU_TIMEOUT_MS,
                             &value),
             0);
    printf("zap peer gone: HANDSHAKE_FAILED_NO_DETAIL %d (%s) %lld ms after the client "
           "closed\n",
           value, zmq_strerror(value), (long long)(tu_now_ms() - t0));
    CHECK_EQ(value, EPIPE);
    tu_peer_close(&srv);
    zap_stop(&zap);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

/* ---- ZAP domain, no handler ---------------------------------------------------------
 */

/* libzmq asks ZAP only while a handler is bound in the context: without
 * one a domain admits everybody, ZMQ_ZAP_ENFORCE_DOMAIN refuses everybody
 * (HANDSHAKE_FAILED_NO_DETAIL EFAULT), and a handler bound later is asked
 * from the next handshake on. */
static void zap_no_handler(const char *tr)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    tu_peer_t open_srv, strict, c1, c2, c3;
    conf_peer_open(&open_srv, "server-domain", ctx, ZMQ_ROUTER, tr, CONF_SERVER);
    tu_set_str(open_srv.sock, ZMQ_ZAP_DOMAIN, "any");
    conf_peer_bind(&open_srv, tr);
    conf_peer_open(&strict, "server-enforce", ctx, ZMQ_ROUTER, tr, CONF_SERVER);
    tu_set_str(strict.sock, ZMQ_ZAP_DOMAIN, "any");
    tu_set_int(strict.sock, ZMQ_ZAP_ENFORCE_DOMAIN, 1);
    conf_peer_bind(&strict, tr);

    conf_peer_open(&c1, "client-1", ctx, ZMQ_DEALER, tr, CONF_CLIENT);
    tu_peer_connect(&c1, open_srv.endpoint);
    char user[64];
    expect_admitted(&open_srv, &c1, user, sizeof user);
    CHECK_STR(user, "(none)");

    conf_peer_open(&c2, "client-2", ctx, ZMQ_DEALER, tr, CONF_CLIENT);
    tu_peer_connect(&c2, strict.endpoint);
    CHECK_EQ(tu_send_str(c2.sock, "hello", 0), 5);
    int why = 0;
    CHECK_EQ(conf_wait_event(&strict, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, TU_TIMEOUT_MS,
                             &why),
             0);
    CHECK_EQ(why, EFAULT);
    CHECK(conf_quiet(strict.sock, TU_QUIET_MS / 2));

    zap_t zap;
    zap_start(&zap, ctx);
    conf_peer_open(&c3, "client-3", ctx, ZMQ_DEALER, tr, CONF_CLIENT);
    tu_peer_connect(&c3, open_srv.endpoint);
    expect_admitted(&open_srv, &c3, user, sizeof user);
    if (conf_is_tls(tr))
        CHECK(zmtls_endpoint_peer_property(open_srv.sock, open_srv.endpoint, "User-Id",
                                           user, sizeof user) >= 0);
    CHECK_STR(user, "anonymous");
    CHECK_INT(atomic_load(&zap.requests), >=, 1);
    printf("zap no handler: domain admitted without a handler, ENFORCE_DOMAIN refused "
           "(EFAULT), a handler bound later was asked (User-Id %s)\n",
           user);
    tu_set_int(c2.sock, ZMQ_LINGER, 0);
    tu_peer_close(&c1);
    tu_peer_close(&c2);
    tu_peer_close(&c3);
    tu_peer_close(&open_srv);
    tu_peer_close(&strict);
    zap_stop(&zap);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

/* ---- PLAIN ------------------------------------------------------------------------- */

static void plain(const char *tr)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    zap_t zap;
    zap_start(&zap, ctx);
    tu_peer_t srv, bad, good;
    conf_peer_open(&srv, "server", ctx, ZMQ_ROUTER, tr, CONF_SERVER);
    tu_set_int(srv.sock, ZMQ_PLAIN_SERVER, 1);
    if (conf_is_tls(tr)) {
        expect_bind_refused(&srv, "ZMQ_PLAIN");
        tu_peer_close(&srv);
        zap_stop(&zap);
        CHECK_EQ(zmq_ctx_term(ctx), 0);
        return;
    }
    conf_peer_bind(&srv, tr);
    conf_peer_open(&bad, "client-wrong-password", ctx, ZMQ_DEALER, tr, CONF_CLIENT);
    tu_set_str(bad.sock, ZMQ_PLAIN_USERNAME, "admin");
    tu_set_str(bad.sock, ZMQ_PLAIN_PASSWORD, "guess");
    tu_peer_connect(&bad, srv.endpoint);
    expect_refused(&srv, &bad);
    conf_peer_open(&good, "client-right-password", ctx, ZMQ_DEALER, tr, CONF_CLIENT);
    tu_set_str(good.sock, ZMQ_PLAIN_USERNAME, "admin");
    tu_set_str(good.sock, ZMQ_PLAIN_PASSWORD, "secret");
    tu_peer_connect(&good, srv.endpoint);
    char user[64];
    expect_admitted(&srv, &good, user, sizeof user);
    int asked = atomic_load(&zap.requests);
    printf("plain: handler asked %d times; wrong password refused, right one admitted "
           "with User-Id %s\n",
           asked, user);
    CHECK_INT(asked, >=, 2);
    CHECK_STR(user, "admin");
    tu_peer_close(&bad);
    tu_peer_close(&good);
    tu_peer_close(&srv);
    zap_stop(&zap);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

/* ---- CURVE ------------------------------------------------------------------------- */

static void curve_client(tu_peer_t *p, const char *server_public)
{
    char pub[41], sec[41];
    CHECK_EQ(zmq_curve_keypair(pub, sec), 0);
    tu_set_str(p->sock, ZMQ_CURVE_SERVERKEY, server_public);
    tu_set_str(p->sock, ZMQ_CURVE_PUBLICKEY, pub);
    tu_set_str(p->sock, ZMQ_CURVE_SECRETKEY, sec);
}

static void curve(const char *tr)
{
    if (!zmq_has("curve")) {
        printf("curve: libzmq built without CURVE; nothing to compare\n");
        return;
    }
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    zap_t zap;
    zap_start(&zap, ctx);
    char spub[41], ssec[41];
    CHECK_EQ(zmq_curve_keypair(spub, ssec), 0);
    tu_peer_t srv, known, stranger;
    conf_peer_open(&srv, "server", ctx, ZMQ_ROUTER, tr, CONF_SERVER);
    tu_set_int(srv.sock, ZMQ_CURVE_SERVER, 1);
    tu_set_str(srv.sock, ZMQ_CURVE_SECRETKEY, ssec);
    if (conf_is_tls(tr)) {
        expect_bind_refused(&srv, "ZMQ_CURVE");
        tu_peer_close(&srv);
        zap_stop(&zap);
        CHECK_EQ(zmq_ctx_term(ctx), 0);
        return;
    }
    conf_peer_bind(&srv, tr);

    conf_peer_open(&known, "client-known-key", ctx, ZMQ_DEALER, tr, CONF_CLIENT);
    curve_client(&known, spub);
    size_t len = sizeof zap.curve_allowed;
    CHECK_EQ(zmq_getsockopt(known.sock, ZMQ_CURVE_PUBLICKEY, zap.curve_allowed, &len), 0);
    conf_peer_open(&stranger, "client-unknown-key", ctx, ZMQ_DEALER, tr, CONF_CLIENT);
    curve_client(&stranger, spub);
    tu_peer_connect(&stranger, srv.endpoint);
    expect_refused(&srv, &stranger);
    tu_peer_connect(&known, srv.endpoint);
    char user[64];
    expect_admitted(&srv, &known, user, sizeof user);
    int asked = atomic_load(&zap.requests);
    printf("curve: handler asked %d times; unknown key refused, known key admitted with "
           "User-Id %s\n",
           asked, user);
    CHECK_INT(asked, >=, 2);
    CHECK_STR(user, "curve-client");
    tu_peer_close(&known);
    tu_peer_close(&stranger);
    tu_peer_close(&srv);
    zap_stop(&zap);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

int main(int argc, char **argv)
{
    static const conf_case_t cases[] = {
        {"zap_null_domain", zap_null_domain, 0},
        {"zap_null_frames", zap_null_frames, 0},
        {"zap_peer_gone", zap_peer_gone, 0},
        {"zap_no_handler", zap_no_handler, 0},
        {"plain_password", plain, 0},
        {"curve_client_key", curve, 0},
    };
    return conf_main(argc, argv, "conf_security", cases, CONF_N(cases));
}

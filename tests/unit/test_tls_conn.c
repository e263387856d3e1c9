/*
 * tls_conn over real loopback TCP: a client and a server connection on two
 * non-blocking fds, driven by a poll() pump with a deadline (no sleeps).
 * Checks the handshake, data in both directions, and how every kind of
 * failure is classified: which code, which alert, in which direction.
 * Needs ZMTLS_TEST_CERTS (scripts/make-certs.sh output).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "mint.h"
#include "policy/alert.h"
#include "tls/tls.h"

#define DEADLINE_MS 20000

static const char *certs_dir;

static const char *cert_path(const char *name)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];

    snprintf(b, sizeof bufs[0], "%s/%s", certs_dir, name);
    return b;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int time_left(uint64_t deadline)
{
    uint64_t now = now_ms();

    if (now >= deadline) {
        fprintf(stderr, "deadline reached\n");
        CHECK(0);
    }
    return (int)(deadline - now);
}

/* cert/key NULL: no certificate; policy NULL: the defaults. */
static SSL_CTX *make_ctx_policy(int is_server, const char *cert, const char *key,
                                const char *ca, const tls_policy_t *policy)
{
    tls_creds_t cr = {0};
    SSL_CTX *ctx = NULL;
    char err[256];
    int rc;

    cr.cert_file = cert != NULL ? cert_path(cert) : NULL;
    cr.key_file = key != NULL ? cert_path(key) : NULL;
    cr.ca_file = ca != NULL ? cert_path(ca) : NULL;
    rc = tls_ctx_new(&ctx, is_server, &cr, policy, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "tls_ctx_new: %s\n", err);
    }
    CHECK_EQ(rc, 0);
    return ctx;
}

static SSL_CTX *make_ctx(int is_server, const char *cert, const char *key, const char *ca)
{
    return make_ctx_policy(is_server, cert, key, ca, NULL);
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    CHECK(fl >= 0);
    CHECK_EQ(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* A connected loopback TCP pair on an ephemeral port. */
static void tcp_pair(int *cfd, int *sfd)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    CHECK(l >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_EQ(listen(l, 1), 0);
    CHECK_EQ(getsockname(l, (struct sockaddr *)&a, &alen), 0);
    *cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(*cfd >= 0);
    /* Blocking connect completes from the listen backlog at once. */
    CHECK_EQ(connect(*cfd, (struct sockaddr *)&a, sizeof a), 0);
    *sfd = accept(l, NULL, NULL);
    CHECK(*sfd >= 0);
    close(l);
    set_nonblock(*cfd);
    set_nonblock(*sfd);
}

typedef struct peer {
    tls_conn_t *c;
    int fd;
    int rc;
    int done;
} peer_t;

typedef struct pair {
    SSL_CTX *cctx, *sctx;
    peer_t cl, sv;
} pair_t;

static void pair_open(pair_t *p, SSL_CTX *cctx, SSL_CTX *sctx, const char *verify_name)
{
    memset(p, 0, sizeof *p);
    p->cctx = cctx;
    p->sctx = sctx;
    tcp_pair(&p->cl.fd, &p->sv.fd);
    CHECK_EQ(tls_conn_new(&p->cl.c, cctx, p->cl.fd, 0, verify_name), 0);
    CHECK_EQ(tls_conn_new(&p->sv.c, sctx, p->sv.fd, 1, NULL), 0);
}

static void pair_close(pair_t *p)
{
    tls_conn_destroy(&p->cl.c);
    tls_conn_destroy(&p->sv.c);
    CHECK(p->cl.c == NULL && p->sv.c == NULL);
    if (p->cl.fd >= 0) {
        close(p->cl.fd);
    }
    if (p->sv.fd >= 0) {
        close(p->sv.fd);
    }
    SSL_CTX_free(p->cctx);
    SSL_CTX_free(p->sctx);
    /* Failures must not leave errors behind for the next connection. */
    CHECK_EQ(ERR_peek_error(), 0);
}

static short want_events(int rc)
{
    return rc == TLS_WANT_WRITE ? POLLOUT : POLLIN;
}

/* Drives the handshakes of the given peers until each has finished
 * (TLS_OK or a failure). */
static void handshake(peer_t **peers, int n)
{
    uint64_t deadline = now_ms() + DEADLINE_MS;
    int i;

    for (i = 0; i < n; i++) {
        peers[i]->done = 0;
    }
    for (;;) {
        struct pollfd pfd[2];
        int np = 0, pending = 0;

        for (i = 0; i < n; i++) {
            peer_t *x = peers[i];
            if (x->done) {
                continue;
            }
            x->rc = tls_conn_handshake(x->c);
            if (x->rc == TLS_OK || x->rc < 0) {
                x->done = 1;
            } else {
                pending++;
            }
        }
        if (pending == 0) {
            return;
        }
        for (i = 0; i < n; i++) {
            if (!peers[i]->done) {
                pfd[np].fd = peers[i]->fd;
                pfd[np].events = want_events(peers[i]->rc);
                pfd[np].revents = 0;
                np++;
            }
        }
        CHECK(poll(pfd, (nfds_t)np, time_left(deadline)) > 0);
    }
}

static void handshake_pair(pair_t *p)
{
    peer_t *both[2] = {&p->cl, &p->sv};

    handshake(both, 2);
}

/* Reads until something other than TLS_WANT_* comes out: data (returned
 * as TLS_OK with *n > 0) or a failure. */
static int read_until(peer_t *x, void *buf, size_t cap, size_t *n)
{
    uint64_t deadline = now_ms() + DEADLINE_MS;

    for (;;) {
        struct pollfd pfd;
        int rc = tls_conn_read(x->c, buf, cap, n);

        if (rc == TLS_OK) {
            CHECK(*n > 0);
            return rc;
        }
        CHECK_EQ(*n, 0);
        if (rc < 0) {
            return rc;
        }
        pfd.fd = x->fd;
        pfd.events = want_events(rc);
        CHECK(poll(&pfd, 1, time_left(deadline)) > 0);
    }
}

typedef struct flow {
    peer_t *w, *r;
    const unsigned char *src;
    unsigned char *dst;
    size_t len, sent, got;
} flow_t;

/* Moves every flow to completion at once, so both directions compete for
 * the sockets as they would in a real connection. */
static void transfer(flow_t *f, int nf)
{
    uint64_t deadline = now_ms() + DEADLINE_MS;

    for (;;) {
        struct pollfd pfd[8];
        int np = 0, progress = 0, busy = 0, i;

        for (i = 0; i < nf; i++) {
            size_t n;
            int rc;

            while (f[i].sent < f[i].len) {
                rc = tls_conn_write(f[i].w->c, f[i].src + f[i].sent, f[i].len - f[i].sent,
                                    &n);
                CHECK(rc >= 0);
                if (rc != TLS_OK) {
                    CHECK_EQ(n, 0);
                    pfd[np].fd = f[i].w->fd;
                    pfd[np].events = want_events(rc);
                    np++;
                    break;
                }
                CHECK(n > 0 && n <= f[i].len - f[i].sent);
                f[i].sent += n;
                progress = 1;
            }
            while (f[i].got < f[i].len) {
                rc = tls_conn_read(f[i].r->c, f[i].dst + f[i].got, f[i].len - f[i].got,
                                   &n);
                CHECK(rc >= 0);
                if (rc != TLS_OK) {
                    CHECK_EQ(n, 0);
                    pfd[np].fd = f[i].r->fd;
                    pfd[np].events = want_events(rc);
                    np++;
                    break;
                }
                CHECK(n > 0);
                f[i].got += n;
                progress = 1;
            }
            busy |= f[i].sent < f[i].len || f[i].got < f[i].len;
        }
        if (!busy) {
            return;
        }
        if (!progress) {
            CHECK(poll(pfd, (nfds_t)np, time_left(deadline)) > 0);
        } else {
            (void)time_left(deadline);
        }
    }
}

static void fill_pattern(unsigned char *b, size_t n, uint32_t seed)
{
    size_t i;

    for (i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (unsigned char)(seed >> 16);
    }
}

static void check_reason_has(const tls_conn_t *c, const char *what)
{
    const char *r = tls_conn_reason(c);

    fprintf(stderr, "    reason: %s\n", r);
    if (strstr(r, what) == NULL) {
        fprintf(stderr, "reason \"%s\" lacks \"%s\"\n", r, what);
        CHECK(0);
    }
}

/* ---- scenarios ------------------------------------------------------------ */

static void test_good_and_data(void)
{
    pair_t p;
    unsigned char small[64];
    size_t n;
    enum { BIG = 1 << 20 };
    unsigned char *a = malloc(BIG), *b = malloc(BIG), *ra = malloc(BIG),
                  *rb = malloc(BIG);

    fprintf(stderr, "good handshake and data\n");
    CHECK(a && b && ra && rb);
    pair_open(&p, make_ctx(0, "client.pem", "client.key", "ca.pem"),
              make_ctx(1, "server.pem", "server.key", "ca.pem"), "127.0.0.1");
    /* Queries before any failure. */
    CHECK_EQ(tls_conn_alert(p.cl.c), -1);
    CHECK_STR(tls_conn_reason(p.cl.c), "no failure");
    handshake_pair(&p);
    CHECK_EQ(p.cl.rc, TLS_OK);
    CHECK_EQ(p.sv.rc, TLS_OK);
    CHECK_EQ(tls_conn_handshake(p.cl.c), TLS_OK); /* idempotent */
    CHECK_EQ(tls_conn_resumed(p.cl.c), 0);
    CHECK_EQ(tls_conn_resumed(p.sv.c), 0);

    /* The server's session tickets are consumed silently: no data yet. */
    CHECK_EQ(tls_conn_read(p.cl.c, small, sizeof small, &n), TLS_WANT_READ);
    CHECK_EQ(n, 0);

    /* Small messages both ways. */
    CHECK_EQ(tls_conn_write(p.cl.c, "hello", 5, &n), TLS_OK);
    CHECK_EQ(n, 5);
    CHECK_EQ(read_until(&p.sv, small, sizeof small, &n), TLS_OK);
    CHECK_EQ(n, 5);
    CHECK(memcmp(small, "hello", 5) == 0);
    CHECK_EQ(tls_conn_write(p.sv.c, "world", 5, &n), TLS_OK);
    CHECK_EQ(read_until(&p.cl, small, sizeof small, &n), TLS_OK);
    CHECK_EQ(n, 5);
    CHECK(memcmp(small, "world", 5) == 0);

    /* All of it read: the socket is known to be empty. */
    CHECK_EQ(tls_conn_drained(p.cl.c), 1);

    /* Trimmed while idle: the buffers come back for the next record. */
    tls_conn_trim(p.cl.c);
    tls_conn_trim(p.sv.c);
    CHECK_EQ(tls_conn_write(p.cl.c, "again", 5, &n), TLS_OK);
    CHECK_EQ(read_until(&p.sv, small, sizeof small, &n), TLS_OK);
    CHECK_EQ(n, 5);
    CHECK(memcmp(small, "again", 5) == 0);

    /* A record read in part: the rest is pending inside the connection
     * and comes out without the fd. */
    fill_pattern(a, 100, 7);
    CHECK_EQ(tls_conn_write(p.sv.c, a, 100, &n), TLS_OK);
    CHECK_EQ(n, 100);
    CHECK_EQ(read_until(&p.cl, small, 10, &n), TLS_OK);
    CHECK_EQ(n, 10);
    CHECK_EQ(tls_conn_pending(p.cl.c), 90);
    CHECK_EQ(tls_conn_drained(p.cl.c), 0); /* 90 bytes still inside */
    tls_conn_trim(p.cl.c);                 /* must keep them */
    CHECK_EQ(tls_conn_read(p.cl.c, small + 10, sizeof small - 10, &n), TLS_OK);
    CHECK_EQ(n, 54);
    CHECK_EQ(tls_conn_read(p.cl.c, ra, 100, &n), TLS_OK);
    CHECK_EQ(n, 36);
    CHECK(memcmp(small, a, 64) == 0 && memcmp(ra, a + 64, 36) == 0);
    CHECK_EQ(tls_conn_pending(p.cl.c), 0);

    /* 1 MiB each way at the same time. */
    fill_pattern(a, BIG, 1);
    fill_pattern(b, BIG, 2);
    {
        flow_t f[2] = {
            {&p.cl, &p.sv, a, ra, BIG, 0, 0},
            {&p.sv, &p.cl, b, rb, BIG, 0, 0},
        };
        transfer(f, 2);
    }
    CHECK(memcmp(a, ra, BIG) == 0);
    CHECK(memcmp(b, rb, BIG) == 0);

    /* Clean end: close_notify is TLS_E_CLOSED with no alert; the side that
     * received it may still answer with its own. */
    CHECK_EQ(tls_conn_shutdown(p.cl.c), TLS_OK);
    CHECK_EQ(tls_conn_shutdown(p.cl.c), TLS_OK); /* once only */
    CHECK_EQ(read_until(&p.sv, small, sizeof small, &n), TLS_E_CLOSED);
    CHECK_EQ(tls_conn_alert(p.sv.c), -1);
    check_reason_has(p.sv.c, "close_notify");
    CHECK_EQ(tls_conn_shutdown(p.sv.c), TLS_OK);
    CHECK_EQ(read_until(&p.cl, small, sizeof small, &n), TLS_E_CLOSED);
    /* A dead connection keeps answering with its failure. */
    CHECK_EQ(tls_conn_read(p.sv.c, small, sizeof small, &n), TLS_E_CLOSED);
    CHECK_EQ(tls_conn_write(p.sv.c, "x", 1, &n), TLS_E_CLOSED);
    CHECK_EQ(n, 0);
    pair_close(&p);
    free(a);
    free(b);
    free(ra);
    free(rb);
}

/* A refused write retried from another address holding the same bytes
 * (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER at work). A small send buffer and a
 * reader that does not read yet make sure the refusal happens. */
static void test_moving_write_buffer(void)
{
    enum { LEN = 1 << 20 };
    unsigned char *a = malloc(LEN), *copy = malloc(LEN), *got = malloc(LEN);
    int small = 16384, rc;
    size_t sent = 0, n;
    pair_t p;

    fprintf(stderr, "write retried from a moved buffer\n");
    CHECK(a && copy && got);
    fill_pattern(a, LEN, 3);
    pair_open(&p, make_ctx(0, "client.pem", "client.key", "ca.pem"),
              make_ctx(1, "server.pem", "server.key", "ca.pem"), "127.0.0.1");
    CHECK_EQ(setsockopt(p.cl.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    handshake_pair(&p);
    CHECK_EQ(p.cl.rc, TLS_OK);
    CHECK_EQ(p.sv.rc, TLS_OK);
    while ((rc = tls_conn_write(p.cl.c, a + sent, LEN - sent, &n)) == TLS_OK) {
        sent += n;
        CHECK(sent < LEN);
    }
    CHECK_EQ(rc, TLS_WANT_WRITE);
    CHECK_EQ(n, 0);
    /* A tiny send buffer makes loopback TCP crawl: restore a normal one. */
    small = 1 << 20;
    CHECK_EQ(setsockopt(p.cl.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    memcpy(copy, a, LEN);
    memset(a, 0xEE, LEN); /* the old address must no longer matter */
    {
        flow_t f = {&p.cl, &p.sv, copy, got, LEN, sent, 0};
        transfer(&f, 1);
    }
    CHECK(memcmp(copy, got, LEN) == 0);
    pair_close(&p);
    free(a);
    free(copy);
    free(got);
}

/* Name checks that must pass: IP SANs (v4, v6, bracketed v6), a DNS SAN,
 * and no name at all (chain only). */
static void test_good_names(void)
{
    static const char *names[] = {"127.0.0.1", "::1", "[::1]", "localhost", NULL};
    size_t i;

    fprintf(stderr, "accepted server names\n");
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        pair_t p;

        pair_open(&p, make_ctx(0, "client.pem", "client.key", "ca.pem"),
                  make_ctx(1, "server.pem", "server.key", "ca.pem"), names[i]);
        handshake_pair(&p);
        CHECK_EQ(p.cl.rc, TLS_OK);
        CHECK_EQ(p.sv.rc, TLS_OK);
        pair_close(&p);
    }
}

/* How a refused client looks from both ends. server_closes: the server
 * closes its fd right after failing (possibly with a RST), before the
 * client reads. */
static void refused_client(const char *cert, const char *key, int expect_alert,
                           int server_closes)
{
    pair_t p;
    unsigned char buf[64];
    size_t n;

    fprintf(stderr, "refused client %s%s: expect alert %d\n", cert ? cert : "(none)",
            server_closes ? " (server closes at once)" : "", expect_alert);
    pair_open(&p, make_ctx(0, cert, key, "ca.pem"),
              make_ctx(1, "server.pem", "server.key", "ca.pem"), "127.0.0.1");
    handshake_pair(&p);
    /* TLS 1.3: the client is done before the server looks at its
     * certificate. */
    CHECK_EQ(p.cl.rc, TLS_OK);
    CHECK_EQ(p.sv.rc, TLS_E_AUTH);
    fprintf(stderr, "    server: alert %d received=%d\n", tls_conn_alert(p.sv.c),
            tls_conn_alert_received(p.sv.c));
    CHECK_EQ(tls_conn_alert(p.sv.c), expect_alert);
    CHECK_EQ(tls_conn_alert_received(p.sv.c), 0);
    check_reason_has(p.sv.c, policy_alert_name(expect_alert));
    check_reason_has(p.sv.c, "sent");
    /* Nothing can be sent any more: best effort says OK. */
    CHECK_EQ(tls_conn_shutdown(p.sv.c), TLS_OK);
    CHECK_EQ(tls_conn_handshake(p.sv.c), TLS_E_AUTH);
    if (server_closes) {
        close(p.sv.fd);
        p.sv.fd = -1;
    }

    CHECK_EQ(read_until(&p.cl, buf, sizeof buf, &n), TLS_E_AUTH);
    fprintf(stderr, "    client: alert %d received=%d\n", tls_conn_alert(p.cl.c),
            tls_conn_alert_received(p.cl.c));
    CHECK_EQ(tls_conn_alert(p.cl.c), expect_alert);
    CHECK_EQ(tls_conn_alert_received(p.cl.c), 1);
    CHECK_EQ(tls_conn_errno(p.cl.c), 0);
    check_reason_has(p.cl.c, policy_alert_name(expect_alert));
    pair_close(&p);
}

/* The refused client writes first: the server has closed (with unread data,
 * so the kernel answers with a RST) and the write fails, but the alert that
 * explains it is already in the client's receive buffer. */
static void refused_client_writes(void)
{
    pair_t p;
    uint64_t deadline;
    size_t n;
    int rc;

    fprintf(stderr, "refused client writes into a reset connection\n");
    pair_open(&p, make_ctx(0, "rogue-client.pem", "rogue-client.key", "ca.pem"),
              make_ctx(1, "server.pem", "server.key", "ca.pem"), "127.0.0.1");
    /* Drive both, but stop as soon as the client is done, before the
     * server gets to look at the client's certificate. */
    deadline = now_ms() + DEADLINE_MS;
    for (;;) {
        struct pollfd pfd[2];

        p.cl.rc = tls_conn_handshake(p.cl.c);
        if (p.cl.rc == TLS_OK) {
            break;
        }
        CHECK(p.cl.rc > 0);
        p.sv.rc = tls_conn_handshake(p.sv.c);
        CHECK(p.sv.rc > 0);
        pfd[0].fd = p.cl.fd;
        pfd[0].events = want_events(p.cl.rc);
        pfd[1].fd = p.sv.fd;
        pfd[1].events = want_events(p.sv.rc);
        CHECK(poll(pfd, 2, time_left(deadline)) > 0);
    }
    /* Application data the server will never read. */
    CHECK_EQ(tls_conn_write(p.cl.c, "unread", 6, &n), TLS_OK);
    {
        peer_t *sv[1] = {&p.sv};
        handshake(sv, 1);
    }
    CHECK_EQ(p.sv.rc, TLS_E_AUTH);
    CHECK_EQ(tls_conn_alert(p.sv.c), 48);
    close(p.sv.fd);
    p.sv.fd = -1;

    deadline = now_ms() + DEADLINE_MS;
    do {
        (void)time_left(deadline);
        rc = tls_conn_write(p.cl.c, "more", 4, &n);
    } while (rc == TLS_OK || rc == TLS_WANT_WRITE);
    fprintf(stderr, "    client write: rc %d alert %d received=%d errno %d\n", rc,
            tls_conn_alert(p.cl.c), tls_conn_alert_received(p.cl.c),
            tls_conn_errno(p.cl.c));
    CHECK_EQ(rc, TLS_E_AUTH);
    CHECK_EQ(tls_conn_alert(p.cl.c), 48);
    CHECK_EQ(tls_conn_alert_received(p.cl.c), 1);
    check_reason_has(p.cl.c, "peer refused our certificate");
    pair_close(&p);
}

/* The client refuses the server: the client fails its handshake having
 * sent an auth alert, which the server receives. */
static void refused_server(const char *cert, const char *key, const char *client_ca,
                           const char *verify_name, int expect_alert)
{
    pair_t p;

    fprintf(stderr, "refused server %s (client CA %s, name %s): expect alert %d\n", cert,
            client_ca, verify_name, expect_alert);
    pair_open(&p, make_ctx(0, "client.pem", "client.key", client_ca),
              make_ctx(1, cert, key, "ca.pem"), verify_name);
    handshake_pair(&p);
    fprintf(stderr, "    client: rc %d alert %d received=%d\n", p.cl.rc,
            tls_conn_alert(p.cl.c), tls_conn_alert_received(p.cl.c));
    fprintf(stderr, "    server: rc %d alert %d received=%d\n", p.sv.rc,
            tls_conn_alert(p.sv.c), tls_conn_alert_received(p.sv.c));
    CHECK_EQ(p.cl.rc, TLS_E_AUTH);
    CHECK_EQ(tls_conn_alert(p.cl.c), expect_alert);
    CHECK(policy_alert_is_auth(tls_conn_alert(p.cl.c)));
    CHECK_EQ(tls_conn_alert_received(p.cl.c), 0);
    check_reason_has(p.cl.c, "peer certificate not accepted");
    CHECK_EQ(p.sv.rc, TLS_E_AUTH);
    CHECK_EQ(tls_conn_alert(p.sv.c), expect_alert);
    CHECK_EQ(tls_conn_alert_received(p.sv.c), 1);
    check_reason_has(p.sv.c, "peer refused our certificate");
    pair_close(&p);
}

/* A CA:TRUE certificate as a peer's own is refused (43, with a reason that
 * says so) from either side; a pinned self-signed one is accepted. */
static void test_ca_leaf(void)
{
    pair_t p;

    fprintf(stderr, "CA:TRUE leaf as the client's certificate\n");
    pair_open(&p, make_ctx(0, "caleaf.pem", "caleaf.key", "ca.pem"),
              make_ctx(1, "server.pem", "server.key", "ca.pem"), "127.0.0.1");
    handshake_pair(&p);
    CHECK_EQ(p.sv.rc, TLS_E_AUTH);
    CHECK_EQ(tls_conn_alert(p.sv.c), 43);
    check_reason_has(p.sv.c, "CA:TRUE");
    pair_close(&p);

    fprintf(stderr, "CA:TRUE leaf as the server's certificate\n");
    pair_open(&p, make_ctx(0, "client.pem", "client.key", "ca.pem"),
              make_ctx(1, "caleaf.pem", "caleaf.key", "ca.pem"), "127.0.0.1");
    handshake_pair(&p);
    CHECK_EQ(p.cl.rc, TLS_E_AUTH);
    CHECK_EQ(tls_conn_alert(p.cl.c), 43);
    check_reason_has(p.cl.c, "CA:TRUE");
    CHECK_EQ(p.sv.rc, TLS_E_AUTH);
    CHECK_EQ(tls_conn_alert(p.sv.c), 43);
    CHECK_EQ(tls_conn_alert_received(p.sv.c), 1);
    pair_close(&p);

    fprintf(stderr, "pinned self-signed certificates\n");
    pair_open(&p,
              make_ctx(0, "pinned-client.pem", "pinned-client.key", "pinned-server.pem"),
              make_ctx(1, "pinned-server.pem", "pinned-server.key", "pinned-client.pem"),
              "127.0.0.1");
    handshake_pair(&p);
    CHECK_EQ(p.cl.rc, TLS_OK);
    CHECK_EQ(p.sv.rc, TLS_OK);
    pair_close(&p);
}

/* Bytes that are not TLS sent to a server. */
static void not_tls_to_server(const char *what, const unsigned char *bytes, size_t len)
{
    SSL_CTX *sctx = make_ctx(1, "server.pem", "server.key", "ca.pem");
    peer_t sv = {0};
    peer_t *one[1] = {&sv};
    int cfd;

    fprintf(stderr, "%s sent to a server\n", what);
    tcp_pair(&cfd, &sv.fd);
    CHECK_EQ(tls_conn_new(&sv.c, sctx, sv.fd, 1, NULL), 0);
    CHECK_EQ(write(cfd, bytes, len), (ssize_t)len);
    handshake(one, 1);
    fprintf(stderr, "    server: rc %d alert %d received=%d\n", sv.rc,
            tls_conn_alert(sv.c), tls_conn_alert_received(sv.c));
    CHECK_EQ(sv.rc, TLS_E_PROTOCOL);
    CHECK_EQ(tls_conn_alert_received(sv.c), 0);
    check_reason_has(sv.c, "TLS protocol error");
    tls_conn_destroy(&sv.c);
    close(sv.fd);
    close(cfd);
    SSL_CTX_free(sctx);
    CHECK_EQ(ERR_peek_error(), 0);
}

static void test_not_tls(void)
{
    /* A ZMTP 3.1 greeting: signature, version 3.1, NULL mechanism. */
    unsigned char greeting[64] = {0xFF, 0,    0, 0, 0,   0,   0,   0,
                                  0x01, 0x7F, 3, 1, 'N', 'U', 'L', 'L'};
    unsigned char noise[600];
    uint32_t seeds[] = {1, 42, 4242};
    size_t i;

    not_tls_to_server("plaintext ZMTP greeting", greeting, sizeof greeting);
    for (i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        fill_pattern(noise, sizeof noise, seeds[i]);
        not_tls_to_server("random bytes", noise, sizeof noise);
    }
}

/* A server that answers a ClientHello with a ZMTP greeting. */
static void test_not_tls_to_client(void)
{
    unsigned char greeting[64] = {0xFF, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x7F, 3, 1};
    SSL_CTX *cctx = make_ctx(0, "client.pem", "client.key", "ca.pem");
    peer_t cl = {0};
    peer_t *one[1] = {&cl};
    int sfd;

    fprintf(stderr, "plaintext ZMTP greeting sent to a client\n");
    tcp_pair(&cl.fd, &sfd);
    CHECK_EQ(tls_conn_new(&cl.c, cctx, cl.fd, 0, "127.0.0.1"), 0);
    CHECK_EQ(write(sfd, greeting, sizeof greeting), (ssize_t)sizeof greeting);
    handshake(one, 1);
    fprintf(stderr, "    client: rc %d alert %d received=%d\n", cl.rc,
            tls_conn_alert(cl.c), tls_conn_alert_received(cl.c));
    CHECK_EQ(cl.rc, TLS_E_PROTOCOL);
    tls_conn_destroy(&cl.c);
    close(cl.fd);
    close(sfd);
    SSL_CTX_free(cctx);
    CHECK_EQ(ERR_peek_error(), 0);
}

/* A TLS 1.2-only client (plain OpenSSL) is refused: TLS 1.3 only. */
static void test_tls12_client(void)
{
    SSL_CTX *sctx = make_ctx(1, "server.pem", "server.key", "ca.pem");
    SSL_CTX *old = SSL_CTX_new(TLS_client_method());
    peer_t sv = {0};
    SSL *ssl;
    uint64_t deadline = now_ms() + DEADLINE_MS;
    int cfd, crc = 0;

    fprintf(stderr, "TLS 1.2 client\n");
    CHECK(old != NULL);
    CHECK_EQ(SSL_CTX_set_max_proto_version(old, TLS1_2_VERSION), 1);
    SSL_CTX_set_verify(old, SSL_VERIFY_NONE, NULL);
    tcp_pair(&cfd, &sv.fd);
    CHECK_EQ(tls_conn_new(&sv.c, sctx, sv.fd, 1, NULL), 0);
    ssl = SSL_new(old);
    CHECK(ssl != NULL);
    CHECK_EQ(SSL_set_fd(ssl, cfd), 1);
    SSL_set_connect_state(ssl);
    sv.rc = TLS_WANT_READ;
    for (;;) {
        struct pollfd pfd[2];
        int np = 0;

        if (crc == 0) {
            int r = SSL_do_handshake(ssl);
            int e = SSL_get_error(ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                pfd[np].fd = cfd;
                pfd[np].events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
                np++;
            } else {
                crc = r == 1 ? 1 : -1;
            }
        }
        if (sv.rc > 0) {
            sv.rc = tls_conn_handshake(sv.c);
            if (sv.rc > 0) {
                pfd[np].fd = sv.fd;
                pfd[np].events = want_events(sv.rc);
                np++;
            }
        }
        if (sv.rc <= 0 && crc != 0) {
            break;
        }
        if (np > 0) {
            CHECK(poll(pfd, (nfds_t)np, time_left(deadline)) > 0);
        }
    }
    ERR_clear_error();
    fprintf(stderr, "    server: rc %d alert %d received=%d\n", sv.rc,
            tls_conn_alert(sv.c), tls_conn_alert_received(sv.c));
    CHECK_EQ(crc, -1);
    CHECK_EQ(sv.rc, TLS_E_PROTOCOL);
    CHECK_EQ(tls_conn_alert(sv.c), 70); /* protocol_version */
    CHECK_EQ(tls_conn_alert_received(sv.c), 0);
    check_reason_has(sv.c, "protocol_version");
    SSL_free(ssl);
    SSL_CTX_free(old);
    tls_conn_destroy(&sv.c);
    close(sv.fd);
    close(cfd);
    SSL_CTX_free(sctx);
    CHECK_EQ(ERR_peek_error(), 0);
}

/* ---- resumption policy ------------------------------------------------------ */

static X509 *load_cert(const char *name)
{
    FILE *f = fopen(cert_path(name), "r");
    CHECK(f != NULL);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    CHECK(x != NULL);
    return x;
}

/* tls_ticket_usable at the edges of a lifetime and of a validity period. */
static void test_ticket_usable(void)
{
    X509 *valid = load_cert("client.pem");
    X509 *expired = load_cert("expired-client.pem"); /* 2020-01-01 .. 2020-02-01 */
    time_t now = time(NULL);
    time_t jan15 = 1579046400; /* 2020-01-15 00:00:00 UTC */
    time_t feb1 = 1580515200;  /* 2020-02-01 00:00:00 UTC */

    fprintf(stderr, "tls_ticket_usable\n");
    CHECK_EQ(tls_ticket_usable(now, 3600, valid, now), 1);
    CHECK_EQ(tls_ticket_usable(now, 3600, valid, now + 3599), 1);
    CHECK_EQ(tls_ticket_usable(now, 3600, valid, now + 3600), 0);
    CHECK_EQ(tls_ticket_usable(now - 10, 5, valid, now), 0);
    CHECK_EQ(tls_ticket_usable(-1, 3600, valid, now), 0);
    CHECK_EQ(tls_ticket_usable(now, 3600, NULL, now), 0);
    /* 825 days on, client.pem has expired, whatever the lifetime. */
    CHECK_EQ(tls_ticket_usable(now, 604800, valid, now + 826 * 86400L), 0);
    CHECK_EQ(tls_ticket_usable(now, 3600, expired, now), 0);
    CHECK_EQ(tls_ticket_usable(jan15, 3600, expired, jan15 + 60), 1);
    CHECK_EQ(tls_ticket_usable(feb1 - 60, 3600, expired, feb1 - 1), 1);
    CHECK_EQ(tls_ticket_usable(feb1 - 60, 3600, expired, feb1), 0);
    X509_free(valid);
    X509_free(expired);
}

/* One connection of a resumption sequence, with the server's certificate
 * clock at `server_time` (0: the real clock): the client offers what it
 * cached under "k", then reads the server's first byte, taking the new
 * ticket that comes before it. Returns the server's handshake result;
 * *resumed says whether both sides resumed, *alert the alert of a failure,
 * which the client must see too. The contexts stay the caller's. */
static int resume_round(SSL_CTX *cctx, SSL_CTX *sctx, time_t server_time, int *resumed,
                        int *alert)
{
    pair_t p;
    unsigned char buf[8];
    size_t n;

    X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(sctx);
    if (server_time != 0)
        X509_VERIFY_PARAM_set_time(vp, server_time);
    else
        X509_VERIFY_PARAM_clear_flags(vp, X509_V_FLAG_USE_CHECK_TIME);
    CHECK_EQ(SSL_CTX_up_ref(cctx), 1);
    CHECK_EQ(SSL_CTX_up_ref(sctx), 1);
    pair_open(&p, cctx, sctx, "127.0.0.1");
    CHECK_EQ(tls_conn_resume(p.cl.c, "k"), 0);
    handshake_pair(&p);
    CHECK_EQ(p.cl.rc, TLS_OK); /* TLS 1.3: the client is done first */
    int rc = p.sv.rc;
    *alert = -1;
    *resumed = 0;
    if (rc == TLS_OK) {
        CHECK_EQ(tls_conn_write(p.sv.c, "x", 1, &n), TLS_OK);
        CHECK_EQ(read_until(&p.cl, buf, sizeof buf, &n), TLS_OK);
        *resumed = tls_conn_resumed(p.sv.c);
        CHECK_EQ(tls_conn_resumed(p.cl.c), *resumed);
    } else {
        *alert = tls_conn_alert(p.sv.c);
        CHECK_EQ(read_until(&p.cl, buf, sizeof buf, &n), rc);
        CHECK_EQ(tls_conn_alert(p.cl.c), *alert);
        CHECK_EQ(tls_conn_resumed(p.sv.c), 0);
    }
    fprintf(stderr, "    server clock %+ld s: rc %d resumed %d alert %d\n",
            server_time != 0 ? (long)(server_time - time(NULL)) : 0L, rc, *resumed,
            *alert);
    pair_close(&p);
    return rc;
}

/* The lifetime counts from the full handshake, across the renewed tickets
 * of later resumptions; a session is not resumed once the certificate it
 * was verified with has expired, and the full handshake then refuses the
 * certificate (45). The server's certificate clock is moved forward with
 * X509_VERIFY_PARAM_set_time, which the ticket policy follows: no waiting. */
static void test_ticket_policy(void)
{
    tls_policy_t pol;
    int resumed, alert;
    time_t now = time(NULL);

    fprintf(stderr, "ticket lifetime counted from the full handshake (60 s)\n");
    tls_policy_init(&pol);
    pol.session_lifetime = 60;
    SSL_CTX *cctx = make_ctx(0, "client.pem", "client.key", "ca.pem");
    SSL_CTX *sctx = make_ctx_policy(1, "server.pem", "server.key", "ca.pem", &pol);
    CHECK_EQ(SSL_CTX_get_timeout(sctx), 60);
    CHECK_EQ(resume_round(cctx, sctx, 0, &resumed, &alert), TLS_OK);
    CHECK_EQ(resumed, 0);
    CHECK_EQ(resume_round(cctx, sctx, now + 30, &resumed, &alert), TLS_OK);
    CHECK_EQ(resumed, 1);
    /* 61 s after the full handshake, though the ticket offered is from
     * the resumption 31 s after it. */
    CHECK_EQ(resume_round(cctx, sctx, now + 61, &resumed, &alert), TLS_OK);
    CHECK_EQ(resumed, 0);
    CHECK_EQ(resume_round(cctx, sctx, now + 62, &resumed, &alert), TLS_OK);
    CHECK_EQ(resumed, 1);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);

    fprintf(stderr, "no resumption past the client certificate's expiry\n");
    char *cert, *key;
    tu_mint_client(86400, &cert, &key);
    tls_creds_t cr = {0};
    cr.cert_pem = cert;
    cr.key_pem = key;
    cr.ca_file = cert_path("ca.pem");
    char err[256];
    CHECK_EQ(tls_ctx_new(&cctx, 0, &cr, NULL, err, sizeof err), 0);
    pol.session_lifetime = 7 * 86400;
    sctx = make_ctx_policy(1, "server.pem", "server.key", "ca.pem", &pol);
    CHECK_EQ(resume_round(cctx, sctx, 0, &resumed, &alert), TLS_OK);
    CHECK_EQ(resumed, 0);
    CHECK_EQ(resume_round(cctx, sctx, now + 12 * 3600, &resumed, &alert), TLS_OK);
    CHECK_EQ(resumed, 1);
    /* Two days on: the certificate expired a day ago. */
    CHECK_EQ(resume_round(cctx, sctx, now + 2 * 86400, &resumed, &alert), TLS_E_AUTH);
    CHECK_EQ(alert, 45);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
    free(cert);
    free(key);

    /* The same server context (so the same ticket keys) learns of the
     * revocation after the ticket was issued: the ticket is refused and
     * the full handshake refuses the certificate (44). */
    fprintf(stderr, "no resumption once the CRLs revoke the client certificate\n");
    cctx = make_ctx(0, "revoked-client.pem", "revoked-client.key", "ca.pem");
    sctx = make_ctx(1, "server.pem", "server.key", "ca.pem");
    CHECK_EQ(resume_round(cctx, sctx, 0, &resumed, &alert), TLS_OK);
    CHECK_EQ(resumed, 0);
    CHECK_EQ(resume_round(cctx, sctx, 0, &resumed, &alert), TLS_OK);
    CHECK_EQ(resumed, 1);
    {
        BIO *b = BIO_new_file(cert_path("crl-revoked.pem"), "r");
        CHECK(b != NULL);
        X509_CRL *crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
        CHECK(crl != NULL);
        CHECK_EQ(X509_STORE_add_crl(SSL_CTX_get_cert_store(sctx), crl), 1);
        X509_CRL_free(crl);
        BIO_free(b);
        CHECK_EQ(X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(sctx),
                                             X509_V_FLAG_CRL_CHECK |
                                                 X509_V_FLAG_CRL_CHECK_ALL),
                 1);
    }
    CHECK_EQ(resume_round(cctx, sctx, 0, &resumed, &alert), TLS_E_AUTH);
    CHECK_EQ(alert, 44);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);

    /* A good client under the same CRLs still resumes. */
    fprintf(stderr, "resumption with CRLs that do not revoke the client\n");
    cr = (tls_creds_t){0};
    cr.ca_file = cert_path("ca.pem");
    cr.cert_file = cert_path("server.pem");
    cr.key_file = cert_path("server.key");
    cr.crl_file = cert_path("crl-revoked.pem");
    CHECK_EQ(tls_ctx_new(&sctx, 1, &cr, NULL, err, sizeof err), 0);
    cctx = make_ctx(0, "client.pem", "client.key", "ca.pem");
    CHECK_EQ(resume_round(cctx, sctx, 0, &resumed, &alert), TLS_OK);
    CHECK_EQ(resumed, 0);
    CHECK_EQ(resume_round(cctx, sctx, 0, &resumed, &alert), TLS_OK);
    CHECK_EQ(resumed, 1);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
}

/* ---- post-handshake message limit ------------------------------------------ */

/* A plain OpenSSL peer on one end (its SSL_CTX made by tls_ctx_new, so it
 * trusts the same CA), a tls_conn on the other; both handshakes done. */
typedef struct raw_pair {
    SSL *raw;
    int raw_fd;
    peer_t x;
} raw_pair_t;

static void raw_pair_open(raw_pair_t *p, SSL_CTX *raw_ctx, SSL_CTX *conn_ctx,
                          int conn_is_server)
{
    uint64_t deadline = now_ms() + DEADLINE_MS;
    int raw_done = 0;

    memset(p, 0, sizeof *p);
    if (conn_is_server) {
        tcp_pair(&p->raw_fd, &p->x.fd);
    } else {
        tcp_pair(&p->x.fd, &p->raw_fd);
    }
    CHECK_EQ(tls_conn_new(&p->x.c, conn_ctx, p->x.fd, conn_is_server,
                          conn_is_server ? NULL : "127.0.0.1"),
             0);
    p->raw = SSL_new(raw_ctx);
    CHECK(p->raw != NULL);
    CHECK_EQ(SSL_set_fd(p->raw, p->raw_fd), 1);
    if (conn_is_server) {
        SSL_set_connect_state(p->raw);
    } else {
        SSL_set_accept_state(p->raw);
    }
    p->x.rc = TLS_WANT_READ;
    while (!raw_done || p->x.rc > 0) {
        struct pollfd pfd[2];
        int np = 0;

        if (!raw_done) {
            int r = SSL_do_handshake(p->raw);
            int e = SSL_get_error(p->raw, r);
            if (r == 1) {
                raw_done = 1;
            } else {
                CHECK(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
                pfd[np].fd = p->raw_fd;
                pfd[np].events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
                np++;
            }
        }
        if (p->x.rc > 0) {
            p->x.rc = tls_conn_handshake(p->x.c);
            CHECK(p->x.rc >= 0);
            if (p->x.rc > 0) {
                pfd[np].fd = p->x.fd;
                pfd[np].events = want_events(p->x.rc);
                np++;
            }
        }
        if (np > 0 && (!raw_done || p->x.rc > 0)) {
            CHECK(poll(pfd, (nfds_t)np, time_left(deadline)) > 0);
        }
    }
    ERR_clear_error();
}

static void raw_pair_close(raw_pair_t *p)
{
    SSL_free(p->raw);
    tls_conn_destroy(&p->x.c);
    close(p->raw_fd);
    close(p->x.fd);
    ERR_clear_error();
}

/* Waits until the tls_conn's fd is readable, then reads once. */
static int read_once(peer_t *x)
{
    struct pollfd pfd = {x->fd, POLLIN, 0};
    unsigned char buf[64];
    size_t n;

    CHECK(poll(&pfd, 1, DEADLINE_MS) == 1);
    return tls_conn_read(x->c, buf, sizeof buf, &n);
}

/* The server takes updates_max KeyUpdates at once and fails on the next
 * (TLS_E_LIMIT, EPROTO); 0 allows none. */
static void test_updates_server(int max)
{
    tls_policy_t pol;
    raw_pair_t p;

    fprintf(stderr, "server with updates_max %d\n", max);
    tls_policy_init(&pol);
    pol.updates_max = max;
    SSL_CTX *cctx = make_ctx(0, "client.pem", "client.key", "ca.pem");
    SSL_CTX *sctx = make_ctx_policy(1, "server.pem", "server.key", "ca.pem", &pol);
    raw_pair_open(&p, cctx, sctx, 1);
    for (int i = 0; i <= max; i++) {
        CHECK_EQ(SSL_key_update(p.raw, SSL_KEY_UPDATE_REQUESTED), 1);
        CHECK_EQ(SSL_do_handshake(p.raw), 1);
        int rc = read_once(&p.x);
        if (i < max) {
            CHECK_EQ(rc, TLS_WANT_READ);
        } else {
            CHECK_EQ(rc, TLS_E_LIMIT);
        }
    }
    CHECK_EQ(tls_conn_errno(p.x.c), EPROTO);
    CHECK_EQ(tls_conn_alert(p.x.c), -1);
    check_reason_has(p.x.c, "TLS handshake messages");
    /* Dead from here on, and nothing more is sent. */
    {
        unsigned char buf[8];
        size_t n;
        CHECK_EQ(tls_conn_read(p.x.c, buf, sizeof buf, &n), TLS_E_LIMIT);
    }
    CHECK_EQ(tls_conn_shutdown(p.x.c), TLS_OK);
    raw_pair_close(&p);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
}

/* A client counts no more than two session tickets after its handshake:
 * with updates_max 0 it takes two from a server and fails on a third. */
static void test_updates_client_tickets(int tickets)
{
    tls_policy_t pol;
    raw_pair_t p;
    unsigned char buf[8];
    size_t n;

    fprintf(stderr, "client with updates_max 0, server sending %d tickets\n", tickets);
    tls_policy_init(&pol);
    pol.updates_max = 0;
    SSL_CTX *cctx = make_ctx_policy(0, "client.pem", "client.key", "ca.pem", &pol);
    SSL_CTX *sctx = make_ctx(1, "server.pem", "server.key", "ca.pem");
    CHECK_EQ(SSL_CTX_set_num_tickets(sctx, (size_t)tickets), 1);
    raw_pair_open(&p, sctx, cctx, 0);
    CHECK_EQ(SSL_write_ex(p.raw, "x", 1, &n), 1);
    int rc = read_until(&p.x, buf, sizeof buf, &n);
    CHECK_EQ(rc, tickets <= 2 ? TLS_OK : TLS_E_LIMIT);
    raw_pair_close(&p);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
}

/* The peer's TCP goes away without close_notify. */
static void test_io_errors(void)
{
    pair_t p;
    unsigned char buf[64];
    size_t n;
    int rc;
    uint64_t deadline;

    fprintf(stderr, "EOF without close_notify after the handshake\n");
    pair_open(&p, make_ctx(0, "client.pem", "client.key", "ca.pem"),
              make_ctx(1, "server.pem", "server.key", "ca.pem"), "127.0.0.1");
    handshake_pair(&p);
    CHECK_EQ(p.cl.rc, TLS_OK);
    CHECK_EQ(p.sv.rc, TLS_OK);
    /* The client reads the tickets first so its close is a clean FIN. */
    CHECK_EQ(tls_conn_read(p.cl.c, buf, sizeof buf, &n), TLS_WANT_READ);
    close(p.cl.fd);
    p.cl.fd = -1;
    CHECK_EQ(read_until(&p.sv, buf, sizeof buf, &n), TLS_E_IO);
    fprintf(stderr, "    server: errno %d alert %d\n", tls_conn_errno(p.sv.c),
            tls_conn_alert(p.sv.c));
    CHECK_EQ(tls_conn_errno(p.sv.c), ECONNRESET);
    CHECK_EQ(tls_conn_alert(p.sv.c), -1);
    check_reason_has(p.sv.c, "without close_notify");
    CHECK_EQ(tls_conn_shutdown(p.sv.c), TLS_OK);
    pair_close(&p);

    /* Writing to a peer that is gone: an error, not SIGPIPE. */
    fprintf(stderr, "write to a closed peer\n");
    pair_open(&p, make_ctx(0, "client.pem", "client.key", "ca.pem"),
              make_ctx(1, "server.pem", "server.key", "ca.pem"), "127.0.0.1");
    handshake_pair(&p);
    CHECK_EQ(p.cl.rc, TLS_OK);
    CHECK_EQ(p.sv.rc, TLS_OK);
    CHECK_EQ(tls_conn_write(p.cl.c, "unread", 6, &n), TLS_OK);
    close(p.sv.fd); /* unread data: the kernel resets the connection */
    p.sv.fd = -1;
    deadline = now_ms() + DEADLINE_MS;
    do {
        (void)time_left(deadline);
        rc = tls_conn_write(p.cl.c, "more", 4, &n);
    } while (rc == TLS_OK || rc == TLS_WANT_WRITE);
    fprintf(stderr, "    client write: rc %d errno %d\n", rc, tls_conn_errno(p.cl.c));
    CHECK_EQ(rc, TLS_E_IO);
    CHECK(tls_conn_errno(p.cl.c) == EPIPE || tls_conn_errno(p.cl.c) == ECONNRESET);
    pair_close(&p);

    /* The server vanishes during the handshake. */
    fprintf(stderr, "server gone during the handshake\n");
    pair_open(&p, make_ctx(0, "client.pem", "client.key", "ca.pem"),
              make_ctx(1, "server.pem", "server.key", "ca.pem"), "127.0.0.1");
    close(p.sv.fd);
    p.sv.fd = -1;
    {
        peer_t *cl[1] = {&p.cl};
        handshake(cl, 1);
    }
    fprintf(stderr, "    client: rc %d errno %d\n", p.cl.rc, tls_conn_errno(p.cl.c));
    CHECK_EQ(p.cl.rc, TLS_E_IO);
    CHECK_EQ(tls_conn_errno(p.cl.c), ECONNRESET);
    CHECK_EQ(tls_conn_alert(p.cl.c), -1);
    pair_close(&p);
}

static void test_api_edges(void)
{
    SSL_CTX *ctx = make_ctx(0, NULL, NULL, "ca.pem");
    tls_conn_t *c = (tls_conn_t *)&ctx;
    int fds[2];
    size_t n;

    fprintf(stderr, "API edges\n");
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    CHECK_EQ(tls_conn_new(NULL, ctx, fds[0], 0, NULL), -EINVAL);
    CHECK_EQ(tls_conn_new(&c, NULL, fds[0], 0, NULL), -EINVAL);
    CHECK(c == NULL);
    CHECK_EQ(tls_conn_new(&c, ctx, -1, 0, NULL), -EINVAL);
    CHECK_EQ(tls_conn_new(&c, ctx, fds[0], 0, "[not-an-ip]"), -EINVAL);
    CHECK(c == NULL);
    CHECK_EQ(tls_conn_new(&c, ctx, fds[0], 0, ""), 0);
    /* Nothing to close before the handshake; zero-length I/O is a no-op. */
    CHECK_EQ(tls_conn_shutdown(c), TLS_OK);
    CHECK_EQ(tls_conn_write(c, "", 0, &n), TLS_OK);
    CHECK_EQ(n, 0);
    CHECK_EQ(tls_conn_read(c, NULL, 0, &n), TLS_OK);
    CHECK_EQ(tls_conn_pending(c), 0);
    CHECK_EQ(tls_conn_errno(c), 0);
    tls_conn_destroy(&c);
    CHECK(c == NULL);
    tls_conn_destroy(&c);
    tls_conn_destroy(NULL);
    CHECK(tls_conn_reason(NULL) != NULL);
    CHECK_EQ(tls_conn_alert(NULL), -1);
    close(fds[0]);
    close(fds[1]);
    SSL_CTX_free(ctx);
    CHECK_EQ(ERR_peek_error(), 0);
}

int main(void)
{
    certs_dir = getenv("ZMTLS_TEST_CERTS");
    if (certs_dir == NULL || certs_dir[0] == '\0') {
        fprintf(stderr, "ZMTLS_TEST_CERTS is not set (see scripts/make-certs.sh)\n");
        return 1;
    }
    test_api_edges();
    test_good_and_data();
    test_good_names();
    test_moving_write_buffer();

    refused_client("rogue-client.pem", "rogue-client.key", 48, 0);
    refused_client("rogue-client.pem", "rogue-client.key", 48, 1);
    refused_client(NULL, NULL, 116, 0);
    refused_client("expired-client.pem", "expired-client.key", 45, 0);
    /* A server certificate offered as a client certificate. */
    refused_client("server.pem", "server.key", 43, 0);
    refused_client_writes();
    test_ca_leaf();

    refused_server("wronghost-server.pem", "wronghost-server.key", "ca.pem", "127.0.0.1",
                   42);
    refused_server("wronghost-server.pem", "wronghost-server.key", "ca.pem", "localhost",
                   42);
    refused_server("server.pem", "server.key", "rogue-ca.pem", "127.0.0.1", 48);

    test_not_tls();
    test_not_tls_to_client();
    test_tls12_client();
    test_io_errors();
    test_ticket_usable();
    test_ticket_policy();
    test_updates_server(5);
    test_updates_server(0);
    test_updates_client_tickets(2);
    test_updates_client_tickets(3);

    fprintf(stderr, "unit.tls_conn: ok\n");
    return 0;
}

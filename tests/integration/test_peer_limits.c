/*
 * What a peer can make a tls:// server hold, one limit at a time, each
 * with a good REQ client served before and after:
 *   declared   an authenticated peer declares a 2 TiB frame and sends
 *              256 KiB of it: the connection stays up and the process's
 *              virtual size grows by far less than the declaration
 *              (memory follows bytes received); the peer's disconnect
 *              mid-frame delivers nothing
 *   parts      ZMTLS_MULTIPART_MAX_PARTS 8: a message of 8 parts is
 *              delivered; one that opens a 9th gets an rfc 37 ERROR and
 *              is disconnected (DISCONNECTED), nothing delivered
 *   bytes      ZMTLS_MULTIPART_MAX_BYTES 1000: parts of 600 and 400 bytes
 *              before the last are delivered; 600 + 600 is refused as above
 *   command    ZMQ_MAXMSGSIZE 100 on an XPUB: a SUBSCRIBE of 50 bytes
 *              arrives, one of 150 (a command) ends the peer as a data
 *              frame would
 *   caps       ZMTLS_HANDSHAKES_PER_ADDR 3, ZMTLS_HANDSHAKES_MAX 5: three
 *              silent TCP connections from 127.0.0.1 are accepted, a
 *              fourth is closed at once with ACCEPT_FAILED(EBUSY); two
 *              from 127.0.0.2 are accepted, a third is closed with
 *              ACCEPT_FAILED(ENOBUFS); once one silent connection goes, a
 *              good client gets in
 *   pings      a peer that sends 100,000 PINGs and reads nothing is owed
 *              one PONG at a time, not one per PING: once it reads, it
 *              finds far fewer PONGs than it sent PINGs (what the kernel
 *              buffers held, plus one), and the connection is still up
 *   backlog    ZMQ_BACKLOG 7 on a tls:// bind is the listen(2) backlog
 *              the kernel reports (ss -lnt)
 * Run one case by name as argv[1], or all.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rawtls.h"
#include "testutil.h"
#include "zmtls.h"

static SSL_CTX *tls13;

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

static long vm_size_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmSize: %ld kB", &kib) == 1)
            break;
    fclose(f);
    CHECK(kib > 0);
    return kib;
}

/* A server socket of `type` bound on tls://127.0.0.1:*, with its monitor;
 * `setup` sets options before the bind. */
static void server_open(tu_peer_t *srv, void *ctx, int type, void (*setup)(void *sock))
{
    tu_peer_open(srv, "server", ctx, type, "server.pem", "server.key", "ca.pem");
    if (setup != NULL)
        setup(srv->sock);
    tu_peer_bind(srv);
}

static void good_roundtrip(void *ctx, tu_peer_t *srv, const char *what)
{
    void *req = tu_socket(ctx, ZMQ_REQ);
    tu_set_creds(req, "client.pem", "client.key", "ca.pem");
    tu_set_int(req, ZMQ_LINGER, 0);
    CHECK_EQ(zmq_connect(req, srv->endpoint), 0);
    CHECK_EQ(tu_roundtrip_str(req, srv->sock, what, TU_TIMEOUT_MS), 0);
    CHECK_EQ(zmq_close(req), 0);
}

/* An authenticated raw peer of ZMTP socket type `type`, handshake done. */
static void raw_open(rt_conn_t *c, tu_peer_t *srv, const char *type)
{
    rt_open(c, tls13, tu_endpoint_port(srv->endpoint), NULL);
    CHECK_EQ(rt_handshake(c, TU_TIMEOUT_MS), 0);
    CHECK_EQ(rt_zmtp_handshake(c, type, TU_TIMEOUT_MS), 0);
    TU_PEER_EXPECT(srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
}

/* A data frame header: long form when size > 255. Returns its length. */
static size_t frame_header(uint8_t *out, uint8_t flags, uint64_t size)
{
    if (size <= 255) {
        out[0] = flags;
        out[1] = (uint8_t)size;
        return 2;
    }
    out[0] = flags | 0x02;
    for (int i = 0; i < 8; i++)
        out[1 + i] = (uint8_t)(size >> (56 - 8 * i));
    return 9;
}

static void send_frame(rt_conn_t *c, uint8_t flags, const void *body, size_t len)
{
    uint8_t h[9];
    CHECK_EQ(rt_write(c, h, frame_header(h, flags, len), TU_TIMEOUT_MS), 0);
    if (len > 0)
        CHECK_EQ(rt_write(c, body, len, TU_TIMEOUT_MS), 0);
}

/* The server tells the peer why (an rfc 37 ERROR command), then ends the
 * connection; its monitor says DISCONNECTED. */
static void expect_error_then_closed(rt_conn_t *c, tu_peer_t *srv, const char *label)
{
    uint8_t h[2], body[256];
    CHECK_EQ(rt_read(c, h, 2, TU_TIMEOUT_MS), 0);
    CHECK_EQ(h[0], 0x04); /* a short command */
    CHECK_EQ(rt_read(c, body, h[1], TU_TIMEOUT_MS), 0);
    CHECK(h[1] >= 7 && memcmp(body, "\5ERROR", 6) == 0);
    CHECK_EQ(body[6], h[1] - 7);
    printf("%s: ERROR \"%.*s\", then closed\n", label, (int)body[6], (char *)body + 7);
    CHECK_EQ(rt_wait_closed(c, TU_TIMEOUT_MS), 0);
    TU_PEER_EXPECT(srv, ZMQ_EVENT_DISCONNECTED);
}

/* ------------------------------------------------------------------ */
/* Cases                                                                */

static void case_declared(void *ctx)
{
    tu_peer_t srv;
    server_open(&srv, ctx, ZMQ_REP, NULL);
    good_roundtrip(ctx, &srv, "before");
    long before = vm_size_kib();

    rt_conn_t c;
    raw_open(&c, &srv, "REQ");
    const uint64_t declared = (uint64_t)2 << 40; /* 2 TiB */
    static uint8_t chunk[64 * 1024];
    memset(chunk, 'd', sizeof chunk);
    uint8_t h[9] = {0x01, 0};
    CHECK_EQ(rt_write(&c, h, 2, TU_TIMEOUT_MS), 0); /* empty delimiter */
    CHECK_EQ(rt_write(&c, h, frame_header(h, 0, declared), TU_TIMEOUT_MS), 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(rt_write(&c, chunk, sizeof chunk, TU_TIMEOUT_MS), 0);
    /* The server has read what was sent once it answers the good client
     * after it: the same I/O thread serves both in order of readiness, so
     * poll a few round trips. */
    for (int i = 0; i < 3; i++)
        good_roundtrip(ctx, &srv, "during");
    /* Still connected: the frame is being received, not refused for want
     * of the memory it declared. */
    CHECK_EQ(rt_wait_closed(&c, 0), -1);
    long grown = vm_size_kib() - before;
    printf("declared: 2 TiB declared, 256 KiB sent: virtual size grew %ld KiB\n", grown);
    /* A reservation of the declared size would add 2 TiB. */
    CHECK_INT(grown, <, 256 * 1024);
    rt_close(&c);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_DISCONNECTED);
    CHECK_EQ(tu_wait_readable(srv.sock, 0), -1); /* nothing delivered */
    good_roundtrip(ctx, &srv, "after");
    tu_peer_close(&srv);
}

static void set_parts_8(void *sock)
{
    tu_set_int(sock, ZMTLS_MULTIPART_MAX_PARTS, 8);
}

/* A REQ request of n parts (the delimiter first), body parts of `len`. */
static void send_request_parts(rt_conn_t *c, int n, size_t len, int last)
{
    static uint8_t body[1024];
    memset(body, 'p', sizeof body);
    send_frame(c, 0x01, NULL, 0);
    for (int i = 1; i < n; i++)
        send_frame(c, (i < n - 1 || !last) ? 0x01 : 0x00, body, len);
}

static void case_parts(void *ctx)
{
    tu_peer_t srv;
    server_open(&srv, ctx, ZMQ_REP, set_parts_8);
    CHECK_EQ(tu_get_int(srv.sock, ZMTLS_MULTIPART_MAX_PARTS), 8);
    rt_conn_t c;
    raw_open(&c, &srv, "REQ");
    /* 8 parts on the wire, the last without MORE: within the limit. */
    send_request_parts(&c, 8, 3, 1);
    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(srv.sock, &m, TU_TIMEOUT_MS), 0);
    CHECK_EQ(m.n, 7); /* REP strips the delimiter */
    tu_msg_close(&m);
    CHECK_EQ(tu_send_str(srv.sock, "ok", 0), 2);
    CHECK_EQ(rt_zmtp_recv_reply(&c, "ok", TU_TIMEOUT_MS), 0);
    /* A 9th part opens: refused before its bytes. */
    send_request_parts(&c, 9, 3, 0);
    expect_error_then_closed(&c, &srv, "parts");
    rt_close(&c);
    CHECK_EQ(tu_wait_readable(srv.sock, 0), -1);
    good_roundtrip(ctx, &srv, "after parts");
    tu_peer_close(&srv);
}

static void set_bytes_1000(void *sock)
{
    int64_t v = 1000;
    CHECK_EQ(zmq_setsockopt(sock, ZMTLS_MULTIPART_MAX_BYTES, &v, sizeof v), 0);
}

static void case_bytes(void *ctx)
{
    tu_peer_t srv;
    server_open(&srv, ctx, ZMQ_REP, set_bytes_1000);
    int64_t v = 0;
    size_t len = sizeof v;
    CHECK_EQ(zmq_getsockopt(srv.sock, ZMTLS_MULTIPART_MAX_BYTES, &v, &len), 0);
    CHECK_EQ(v, 1000);
    rt_conn_t c;
    raw_open(&c, &srv, "REQ");
    static uint8_t body[600];
    memset(body, 'b', sizeof body);
    /* 600 + 400 held before the last part: exactly the limit. */
    send_frame(&c, 0x01, NULL, 0);
    send_frame(&c, 0x01, body, 600);
    send_frame(&c, 0x01, body, 400);
    send_frame(&c, 0x00, body, 600);
    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(srv.sock, &m, TU_TIMEOUT_MS), 0);
    CHECK_EQ(m.n, 3);
    tu_msg_close(&m);
    CHECK_EQ(tu_send_str(srv.sock, "ok", 0), 2);
    CHECK_EQ(rt_zmtp_recv_reply(&c, "ok", TU_TIMEOUT_MS), 0);
    /* 600 + 600 before the last: refused at the second header. */
    send_frame(&c, 0x01, NULL, 0);
    send_frame(&c, 0x01, body, 600);
    send_frame(&c, 0x01, body, 600);
    expect_error_then_closed(&c, &srv, "bytes");
    rt_close(&c);
    CHECK_EQ(tu_wait_readable(srv.sock, 0), -1);
    good_roundtrip(ctx, &srv, "after bytes");
    tu_peer_close(&srv);
}

static void set_maxmsgsize_100(void *sock)
{
    int64_t v = 100;
    CHECK_EQ(zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &v, sizeof v), 0);
}

static void send_subscribe(rt_conn_t *c, size_t topic_len)
{
    uint8_t cmd[2 + 10 + 255];
    CHECK(topic_len <= 245);
    cmd[0] = 0x04;
    cmd[1] = (uint8_t)(10 + topic_len);
    memcpy(cmd + 2, "\x09SUBSCRIBE", 10);
    memset(cmd + 12, 't', topic_len);
    CHECK_EQ(rt_write(c, cmd, 12 + topic_len, TU_TIMEOUT_MS), 0);
}

static void case_command(void *ctx)
{
    tu_peer_t srv;
    server_open(&srv, ctx, ZMQ_XPUB, set_maxmsgsize_100);
    rt_conn_t c;
    raw_open(&c, &srv, "SUB");
    send_subscribe(&c, 50);
    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(srv.sock, &m, TU_TIMEOUT_MS), 0);
    CHECK_EQ(m.n, 1);
    CHECK_EQ(zmq_msg_size(&m.part[0]), 51);
    tu_msg_close(&m);
    /* 160 bytes of command body: past ZMQ_MAXMSGSIZE like a data frame. */
    send_subscribe(&c, 150);
    expect_error_then_closed(&c, &srv, "command");
    rt_close(&c);
    /* XPUB gives the application the gone peer's cancel, never the
     * refused subscription. */
    while (tu_wait_readable(srv.sock, 0) == 0) {
        CHECK_EQ(tu_recv_msg(srv.sock, &m, TU_TIMEOUT_MS), 0);
        CHECK(zmq_msg_size(&m.part[0]) != 151);
        tu_msg_close(&m);
    }
    tu_peer_close(&srv);
}

static void set_caps(void *sock)
{
    tu_set_int(sock, ZMTLS_HANDSHAKES_PER_ADDR, 3);
    tu_set_int(sock, ZMTLS_HANDSHAKES_MAX, 5);
}

static void case_caps(void *ctx)
{
    tu_peer_t srv;
    server_open(&srv, ctx, ZMQ_REP, set_caps);
    int port = tu_endpoint_port(srv.endpoint);
    int held[5];
    for (int i = 0; i < 3; i++) {
        held[i] = tu_tcp_connect_from("127.0.0.1", port);
        TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);
    }
    int over = tu_tcp_connect_from("127.0.0.1", port);
    CHECK_EQ(TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPT_FAILED), EBUSY);
    CHECK_EQ(tu_tcp_wait_closed(over, TU_TIMEOUT_MS), 0);
    close(over);
    for (int i = 3; i < 5; i++) {
        held[i] = tu_tcp_connect_from("127.0.0.2", port);
        TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);
    }
    over = tu_tcp_connect_from("127.0.0.2", port);
    CHECK_EQ(TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPT_FAILED), ENOBUFS);
    CHECK_EQ(tu_tcp_wait_closed(over, TU_TIMEOUT_MS), 0);
    close(over);
    printf("caps: 3 from 127.0.0.1 and 2 from 127.0.0.2 held; the 4th and the 6th "
           "closed at accept (EBUSY, ENOBUFS)\n");
    /* One silent connection goes: its handshake ends, and a slot is free
     * for a client from 127.0.0.1 again. */
    close(held[0]);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
    good_roundtrip(ctx, &srv, "after caps");
    for (int i = 1; i < 5; i++)
        close(held[i]);
    tu_peer_close(&srv);
}

static void set_small_sndbuf(void *sock)
{
    tu_set_int(sock, ZMQ_SNDBUF, 4096);
}

#define PINGS 100000

static void case_pings(void *ctx)
{
    tu_peer_t srv;
    server_open(&srv, ctx, ZMQ_REP, set_small_sndbuf);
    rt_conn_t c;
    raw_open(&c, &srv, "REQ");
    /* PING, TTL 0, a 2-byte context: 11 bytes each, sent in batches. */
    static uint8_t batch[1000 * 11];
    for (int i = 0; i < 1000; i++)
        memcpy(batch + 11 * i, "\x04\x09\x04PING\0\0ab", 11);
    for (int i = 0; i < PINGS / 1000; i++)
        CHECK_EQ(rt_write(&c, batch, sizeof batch, TU_TIMEOUT_MS), 0);
    /* Now read everything the server has for us: PONGs until it goes
     * quiet. */
    long pongs = 0;
    uint8_t h[2], body[64];
    while (rt_read(&c, h, 2, 1000) == 0) {
        CHECK_EQ(h[0], 0x04);
        CHECK_EQ(rt_read(&c, body, h[1], TU_TIMEOUT_MS), 0);
        CHECK(h[1] >= 5 && memcmp(body, "\x04PONG", 5) == 0);
        pongs++;
    }
    printf("pings: %d PINGs sent without reading, %ld PONGs found afterwards\n", PINGS,
           pongs);
    CHECK_INT(pongs, >=, 1);
    CHECK_INT(pongs, <, PINGS / 4);
    /* Still served: a request gets its reply. */
    CHECK_EQ(rt_zmtp_send_request(&c, "still", TU_TIMEOUT_MS), 0);
    CHECK_EQ(tu_echo(srv.sock, TU_TIMEOUT_MS), 1);
    CHECK_EQ(rt_zmtp_recv_reply(&c, "still", TU_TIMEOUT_MS), 0);
    rt_close(&c);
    tu_peer_close(&srv);
}

static void set_backlog_7(void *sock)
{
    tu_set_int(sock, ZMQ_BACKLOG, 7);
}

static void case_backlog(void *ctx)
{
    tu_peer_t srv;
    server_open(&srv, ctx, ZMQ_REP, set_backlog_7);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "ss -Hlnt 'sport = :%d'", tu_endpoint_port(srv.endpoint));
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    char state[32];
    long recvq = -1, sendq = -1;
    CHECK_EQ(fscanf(p, "%31s %ld %ld", state, &recvq, &sendq), 3);
    pclose(p);
    printf("backlog: %s, backlog %ld\n", state, sendq);
    CHECK_STR(state, "LISTEN");
    CHECK_EQ(sendq, 7); /* for a listener, ss shows the backlog as Send-Q */
    tu_peer_close(&srv);
}

int main(int argc, char **argv)
{
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    tls13 = rt_ctx_new("client.pem", "client.key", "ca.pem", TLS1_3_VERSION, -1);
    static const struct {
        const char *name;
        void (*run)(void *ctx);
    } cases[] = {{"declared", case_declared}, {"parts", case_parts},
                 {"bytes", case_bytes},       {"command", case_command},
                 {"caps", case_caps},         {"pings", case_pings},
                 {"backlog", case_backlog}};
    int ran = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
            continue;
        printf("--- %s\n", cases[i].name);
        void *ctx = zmq_ctx_new();
        CHECK(ctx != NULL);
        cases[i].run(ctx);
        CHECK_EQ(zmq_ctx_term(ctx), 0);
        ran++;
    }
    CHECK(ran > 0);
    SSL_CTX_free(tls13);
    return 0;
}

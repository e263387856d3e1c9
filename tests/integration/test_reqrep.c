/*
 * REQ/REP over tls:// with good certificates, as an application sees it:
 * the events of a successful connection on both sides (fds that are the
 * real TCP sockets, the order CONNECT_DELAYED? < CONNECTED <
 * HANDSHAKE_SUCCEEDED(0), LISTENING < ACCEPTED < HANDSHAKE_SUCCEEDED(0)),
 * then 1-byte, 1 MB and 3-frame messages, in both bind/connect directions.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "testutil.h"
#include "zmtls.h"

/* Port of an fd's local (peer = 0) or remote (peer = 1) address, or -1 when
 * the fd is not a connected IPv4 socket. The event value must be the fd
 * the connection really uses, so this must find the server's port. */
static int fd_port(int fd, int peer)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int rc = peer ? getpeername(fd, (struct sockaddr *)&sa, &len)
                  : getsockname(fd, (struct sockaddr *)&sa, &len);
    if (rc != 0 || sa.sin_family != AF_INET)
        return -1;
    return ntohs(sa.sin_port);
}

static void check_no_failures(const tu_peer_t *p)
{
    CHECK_EQ(tu_events_count(&p->log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
    CHECK_EQ(tu_events_count(&p->log, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL), 0);
    CHECK_EQ(tu_events_count(&p->log, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL), 0);
    CHECK_EQ(tu_events_count(&p->log, ZMQ_EVENT_DISCONNECTED), 0);
}

/* Messages of every size class: short frames, long (8-byte size) frames,
 * an empty frame inside a multipart message. */
static void exchange(void *client, void *server, const char *label)
{
    CHECK_EQ(tu_roundtrip_str(client, server, "x", TU_TIMEOUT_MS), 0);

    size_t big_len = 1u << 20;
    unsigned char *big = malloc(big_len);
    CHECK(big != NULL);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (unsigned char)(i * 31 + 7); /* a pattern, so a shifted byte shows */
    const void *big_parts[1] = {big};
    CHECK_EQ(tu_roundtrip(client, server, 1, big_parts, &big_len, TU_TIMEOUT_MS), 0);
    free(big);

    char tail[300];
    memset(tail, 'g', sizeof tail);
    const void *parts[3] = {"alpha", "", tail};
    size_t lens[3] = {5, 0, sizeof tail};
    CHECK_EQ(tu_roundtrip(client, server, 3, parts, lens, TU_TIMEOUT_MS), 0);

    /* A reply that is not an echo: the server's own answer arrives. */
    char buf[64];
    CHECK(tu_send_str(client, "ping", 0) == 4);
    CHECK_EQ(tu_recv_str(server, buf, sizeof buf, TU_TIMEOUT_MS), 4);
    CHECK_STR(buf, "ping");
    CHECK(tu_send_str(server, "pong", 0) == 4);
    CHECK_EQ(tu_recv_str(client, buf, sizeof buf, TU_TIMEOUT_MS), 4);
    CHECK_STR(buf, "pong");
    printf("%s: 1 B, 1 MB, 3-part (5+0+300 B) and ping/pong ok\n", label);
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    /* REP binds, REQ connects. */
    tu_peer_t srv, cli;
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&srv);
    int port = tu_endpoint_port(srv.endpoint);
    int listen_fd = TU_PEER_EXPECT(&srv, ZMQ_EVENT_LISTENING);

    tu_peer_open(&cli, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_peer_connect(&cli, srv.endpoint);
    CHECK_EQ(TU_PEER_EXPECT(&cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);

    /* Client: CONNECT_DELAYED? then exactly one CONNECTED(fd) before the
     * ZMTP handshake completed, for the endpoint the app connected to. */
    int conn_fd = 0;
    int i_conn = tu_events_index(&cli.log, ZMQ_EVENT_CONNECTED, 0);
    int i_hs = tu_events_index(&cli.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
    int i_delay = tu_events_index(&cli.log, ZMQ_EVENT_CONNECT_DELAYED, 0);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_CONNECTED), 1);
    CHECK(i_conn >= 0 && i_conn < i_hs);
    CHECK(i_delay < i_conn);
    CHECK_STR(cli.log.seq[i_conn].endpoint, srv.endpoint);
    CHECK_STR(cli.log.seq[i_hs].endpoint, srv.endpoint);
    CHECK_EQ(tu_events_nth(&cli.log, ZMQ_EVENT_CONNECTED, 0, &conn_fd), 0);
    CHECK_EQ(fd_port(conn_fd, 1), port);
    check_no_failures(&cli);

    /* Server: LISTENING(fd) < ACCEPTED(fd) < HANDSHAKE_SUCCEEDED(0). */
    int acc_fd = 0;
    int i_listen = tu_events_index(&srv.log, ZMQ_EVENT_LISTENING, 0);
    int i_acc = tu_events_index(&srv.log, ZMQ_EVENT_ACCEPTED, 0);
    int i_shs = tu_events_index(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
    CHECK(i_listen >= 0 && i_listen < i_acc && i_acc < i_shs);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_ACCEPTED), 1);
    CHECK(strncmp(srv.log.seq[i_listen].endpoint, "tls://127.0.0.1:", 16) == 0);
    CHECK_EQ(fd_port(listen_fd, 0), port);
    CHECK_EQ(tu_events_nth(&srv.log, ZMQ_EVENT_ACCEPTED, 0, &acc_fd), 0);
    CHECK_EQ(fd_port(acc_fd, 0), port);
    check_no_failures(&srv);

    exchange(cli.sock, srv.sock, "req->rep");

    /* Steady state: many small round trips on one connection. */
    int64_t t0 = tu_now_ms();
    for (int i = 0; i < 200; i++)
        CHECK_EQ(tu_roundtrip_str(cli.sock, srv.sock, "tick", TU_TIMEOUT_MS), 0);
    long long ms_200 = (long long)(tu_now_ms() - t0);

    /* Nothing else happened to the connection during the traffic. */
    tu_pump(cli.mon, &cli.log);
    tu_pump(srv.mon, &srv.log);
    check_no_failures(&cli);
    check_no_failures(&srv);
    CHECK_EQ(tu_events_count(&cli.log, ZMQ_EVENT_CONNECTED), 1);
    tu_events_print(&cli.log, "client");
    tu_events_print(&srv.log, "server");
    tu_peer_close(&cli);
    tu_peer_close(&srv);

    /* The other direction: the REQ binds (TLS server), the REP connects. */
    tu_peer_t breq, crep;
    tu_peer_open(&breq, "bound-req", ctx, ZMQ_REQ, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&breq);
    tu_peer_open(&crep, "connected-rep", ctx, ZMQ_REP, "client.pem", "client.key",
                 "ca.pem");
    tu_peer_connect(&crep, breq.endpoint);
    TU_PEER_EXPECT(&crep, ZMQ_EVENT_CONNECTED);
    CHECK_EQ(TU_PEER_EXPECT(&crep, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(TU_PEER_EXPECT(&breq, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    exchange(breq.sock, crep.sock, "bound req->connected rep");
    check_no_failures(&crep);
    check_no_failures(&breq);
    tu_peer_close(&crep);
    tu_peer_close(&breq);

    CHECK(zmq_ctx_term(ctx) == 0);
    printf("reqrep: client CONNECTED fd=%d (peer port %d), server LISTENING fd=%d "
           "ACCEPTED fd=%d; 200 round trips in %lld ms; both directions ok\n",
           conn_fd, port, listen_fd, acc_fd, ms_200);
    return 0;
}

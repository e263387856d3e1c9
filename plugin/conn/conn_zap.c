/*
 * ZAP on a tls:// bind (see conn_int.h and zap/zap.h): once the client's
 * certificate verified and its READY arrived, the application's ZAP
 * handler decides, as libzmq asks it for a NULL-mechanism peer. Our READY
 * is the verdict, so the client learns nothing more before it.
 */
#include "conn/conn_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int conn_zap_required(const conn_t *c)
{
    return c->is_server && c->cfg->zap_domain[0] != '\0';
}

/* The peer's IP address as text, as libzmq gives it to ZAP (no port; an
 * IPv4 peer on a dual-stack socket in its IPv4 form). */
static void conn_zap_address(const conn_t *c, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    out[0] = '\0';
    if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)cap);
    } else if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)cap);
        else
            inet_ntop(AF_INET6, a, out, (socklen_t)cap);
    }
}

static void conn_zap_on_io(rx_io_t *io, unsigned revents)
{
    (void)revents;
    conn_drive_from_timer(io->data);
}

int conn_zap_start(conn_t *c)
{
    /* As libzmq: no handler bound in the context admits the peer, unless
     * ZMQ_ZAP_ENFORCE_DOMAIN, which refuses it with EFAULT. */
    const ep_cfg_t *cfg = c->cfg;
    if (cfg->zap_handler_present == NULL || !cfg->zap_handler_present(cfg->ctx)) {
        if (cfg->zap_enforce)
            return conn_end(c, CONN_END_NO_DETAIL, EFAULT);
        return conn_admit(c);
    }
    char addr[INET6_ADDRSTRLEN] = "";
    conn_zap_address(c, addr, sizeof(addr));
    zap_request_t q = {.ctx = c->cfg->ctx,
                       .domain = c->cfg->zap_domain,
                       .address = addr,
                       /* libzmq sends the bound socket's own
                        * ZMQ_ROUTING_ID here, not the peer's */
                       .identity = cfg->routing_id,
                       .identity_len = cfg->routing_id_len};
    char *pem = NULL;
    int rc = cfg->zap_cert ? tls_conn_peer_pem(c->tls, &pem, &q.cert_pem_len) : 0;
    q.cert_pem = pem;
    if (rc == 0)
        rc = zap_req_new(&c->zap.req, &q);
    free(pem);
    if (rc != 0)
        return conn_end(c, CONN_END_NO_DETAIL, (uint32_t)-rc);
    c->phase = CONN_PH_ZAP;
    /* ZMQ_HANDSHAKE_IVL = 0 leaves the ZMTP phases without a deadline; a
     * handler that never answers must not hold the connection forever. */
    if (c->cfg->handshake_ivl <= 0)
        rx_timer_start(c->loop, &c->handshake_timer, CONN_TLS_DEADLINE_MS);
    rx_io_init(&c->zap.io, zap_req_fd(c->zap.req), RX_EDGE, conn_zap_on_io, c);
    rx_io_start(c->loop, &c->zap.io, RX_READ);
    /* The reply may already be in, its edge gone: look once more. */
    c->drive.again = 1;
    return 0;
}

/* The peer while the handler decides. Nothing it sends is parsed before
 * the verdict, but one that hangs up must not hold the connection (and a
 * handler's answer) until the handshake deadline: libzmq's engine notices
 * at once, and its own tests wait for that. So the socket is read: an EOF
 * or a failure ends the handshake as in the other phases; bytes are kept
 * unparsed in the input for after the verdict, and reading stops there, so
 * a peer cannot make us hold more than one read. */
static int conn_zap_watch_peer(conn_t *c)
{
    conn_record_t *r = &c->rec;
    if (c->zap.peer_held)
        return 0;
    if (buf_len(&r->in) >= CONN_IN_CAP) {
        c->zap.peer_held = 1;
        return 0;
    }
    int rc = buf_reserve(&r->in, CONN_IN_CAP - buf_len(&r->in));
    if (rc != 0)
        return conn_end(c, CONN_END_NO_DETAIL, (uint32_t)-rc);
    size_t n = 0;
    rc = tls_conn_read(c->tls, buf_tail(&r->in), buf_room(&r->in), &n);
    if (rc == TLS_WANT_READ)
        return 0;
    if (rc < 0)
        return conn_end_tls(c, rc);
    r->rx_count += rc == TLS_OK;
    if (n > 0 && buf_commit(&r->in, n) != 0)
        return conn_end(c, CONN_END_NO_DETAIL, EPROTO);
    if (rc == TLS_OK && n == 0) {
        /* a post-handshake message consumed: more may wait inside
         * OpenSSL, where no fd readiness announces it */
        c->drive.again = 1;
        return 0;
    }
    /* Data, or a read that needs a write first: the TRAFFIC phase takes
     * it from here (its first read parses the input, then reads on). */
    c->zap.peer_held = 1;
    r->rx_empty = 0;
    return 0;
}

int conn_zap_step(conn_t *c)
{
    /* Our greeting may still be on its way. */
    if (conn_flush(c) < 0)
        return -1;
    if (conn_zap_watch_peer(c) < 0)
        return -1;
    zap_reply_t reply;
    int rc = zap_req_poll(c->zap.req, &reply);
    if (rc == 0)
        return 0;
    conn_zap_fini(c);
    if (rc < 0)
        return conn_end(c, CONN_END_NO_DETAIL, (uint32_t)-rc);
    if (reply.protocol_error != 0)
        return conn_end(c, CONN_END_PROTOCOL, (uint32_t)reply.protocol_error);
    if (reply.status != 200) {
        /* libzmq tells the client why, except for a temporary failure
         * (300), and the status code is the reason. */
        if (reply.status != 300) {
            char code[8];
            snprintf(code, sizeof(code), "%d", reply.status);
            conn_queue_error(c, code);
            conn_flush(c);
        }
        return conn_end(c, CONN_END_AUTH, (uint32_t)reply.status);
    }
    memcpy(c->zap.user_id, reply.user_id, sizeof(c->zap.user_id));
    return conn_admit(c) < 0 ? -1 : 1;
}

void conn_zap_fini(conn_t *c)
{
    if (c->zap.req == NULL)
        return;
    rx_io_close(c->loop, &c->zap.io);
    zap_req_destroy(&c->zap.req);
}

/* One TLS + ZMTP connection: see conn.h for the phases and contracts. */
#include "conn/conn.h"

#include "bridge/subs.h"
#include "io/io.h"
#include "peers/peers.h"
#include "endpoint/endpoint.h"
#include "reactor/reactor.h"
#include "tls/tls.h"
#include "zmtp/zmtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

/* Decrypted input buffer. Frames that do not fit are read straight into
 * their zmq_msg_t, so this bounds only small-frame batching. */
#define CONN_IN_CAP (32 * 1024)
/* The largest command frame we accept (READY metadata, PING, ...). */
#define CONN_COMMAND_MAX (CONN_IN_CAP - ZMTP_FRAME_HEADER_MAX)
/* An established connection that has read nothing for this long gives its
 * buffers back (they come back on the next read): idle peers cost little. */
#define CONN_TRIM_MS 250
/* Stop pulling messages from the bridge while this much waits for TLS. */
#define CONN_OUT_HIGH (256 * 1024)
/* Messages at least this large are encrypted straight from their zmq_msg_t
 * instead of being copied into the output buffer first. */
#define CONN_DIRECT_MIN (16 * 1024)
/* TLS record payload: output is laid out so records come out full. */
#define CONN_RECORD 16384
/* Frames or messages handled per wake-up before yielding to other
 * connections; the rest continues on the next loop iteration. */
#define CONN_BUDGET 256

typedef enum conn_phase {
    PH_TLS,
    PH_GREETING,
    PH_READY,
    PH_TRAFFIC,
} conn_phase_t;

struct conn {
    const ep_cfg_t *cfg;
    conn_owner_t owner;
    rx_loop_t *loop;
    int fd;
    int is_server;
    tls_conn_t *tls;
    conn_phase_t phase;

    rx_io_t io;  /* TCP fd, level-triggered */
    rx_io_t bio; /* bridge ZMQ_FD, edge-triggered */
    rx_timer_t handshake_timer;
    rx_timer_t resume_timer;
    rx_timer_t drain_timer;
    rx_timer_t hb_timer;    /* ZMQ_HEARTBEAT_IVL: send a PING */
    rx_timer_t hb_deadline; /* ZMQ_HEARTBEAT_TIMEOUT after a PING */
    rx_timer_t ttl_timer;   /* the peer's PING TTL */
    rx_timer_t trim_timer;  /* CONN_TRIM_MS: release idle buffers */
    uint64_t trim_rx_count; /* rx_count when the trim timer started */
    uint64_t rx_count;      /* successful reads, to tell "any traffic since" */
    uint64_t ping_rx_count; /* rx_count when our PING went out */
    uint64_t ttl_rx_count;  /* rx_count when the peer's TTL was armed */
    uint64_t peer_ttl_ms;

    unsigned handshake_wants; /* RX_* the TLS handshake waits for */
    unsigned read_wants;      /* RX_* the last TLS read waits for, 0: none */
    unsigned write_wants;     /* RX_* the last TLS write waits for */
    int rx_empty;             /* reading found the socket empty and the TCP fd
                                 has not reported readable since */

    int signature_ok;
    int connected_emitted;
    int succeeded;
    int draining;
    int bridge_empty; /* the last bridge read found nothing */
    int bridge_armed; /* ...and nothing was sent to it since: libzmq has
                         processed its commands, ZMQ_FD is re-armed */
    int in_drive;
    int again;
    int input_pending; /* reading stopped on the budget with input left */
    int dead;
    conn_end_t end_why;
    uint32_t end_value;

    /* input: decrypted bytes [in_start, in_end) */
    uint8_t *in;
    size_t in_start, in_end;
    /* a frame too large for `in`, filled in place */
    zmq_msg_t big;
    int big_active;
    int big_more;
    size_t big_fill;
    /* the message being assembled; delivered once complete so that a
     * connection lost mid-message never leaves half a message in the bridge */
    zmq_msg_t *parts;
    size_t nparts, parts_cap, parts_sent;
    int parts_ready;

    /* output: encoded bytes [out_start, out_end); with a direct message,
     * out[out_start, direct_at) goes first, then the message's bytes from
     * direct_off, then out[direct_at, out_end) */
    uint8_t *out;
    size_t out_start, out_end, out_cap;
    zmq_msg_t direct;
    int direct_active;
    size_t direct_at, direct_off;

    bridge_t *bridge;
    int bridge_owned;
    int bridge_mid; /* the last part read from the bridge had MORE */

    /* Heartbeat commands wait while the output stream is inside a
     * multipart message (rfc 37 allows commands only between messages). */
    int ping_due;
    int pong_due;
    uint8_t pong_ctx[16];
    size_t pong_ctx_len;
    uint64_t tx_count;      /* successful writes, to tell "any traffic since" */
    uint64_t trim_tx_count; /* tx_count when the trim timer started */

    int sub_side; /* SUB/XSUB application: the bridge yields subscriptions */
    subs_t *subs; /* connect side: what to replay after a reconnect */

    uint8_t peer_minor; /* ZMTP 3.minor of the peer */
    uint8_t peer_id[255];
    size_t peer_id_len;
};

static void conn_drive(conn_t *c);
static int conn_out_reserve(conn_t *c, size_t n);
static int conn_flush(conn_t *c);

/* ---- ending ------------------------------------------------------------ */

static void conn_emit(conn_t *c, int event, uint32_t value)
{
    io_emit(c->cfg->sock_id, event, value, c->cfg->uri);
}

static void conn_stop_timers(conn_t *c)
{
    rx_timer_stop(c->loop, &c->handshake_timer);
    rx_timer_stop(c->loop, &c->resume_timer);
    rx_timer_stop(c->loop, &c->drain_timer);
    rx_timer_stop(c->loop, &c->hb_timer);
    rx_timer_stop(c->loop, &c->hb_deadline);
    rx_timer_stop(c->loop, &c->ttl_timer);
    rx_timer_stop(c->loop, &c->trim_timer);
}

/* Records the end and emits its events; the owner hears of it when the
 * outermost conn_drive unwinds. Always returns -1 so callers can
 * `return conn_end(...)`. */
static int conn_end(conn_t *c, conn_end_t why, uint32_t value)
{
    if (c->dead)
        return -1;
    c->dead = 1;
    c->end_why = why;
    c->end_value = value;
    /* Before DISCONNECTED goes out: whoever reacts to it must not find the
     * peer still listed. */
    peers_remove(c);
    if (!c->succeeded) {
        if (why == CONN_END_AUTH)
            conn_emit(c, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, value);
        else if (why == CONN_END_PROTOCOL)
            conn_emit(c, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, value);
        else if (why == CONN_END_NO_DETAIL)
            conn_emit(c, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, value);
    }
    int was_up = c->is_server ? c->succeeded : c->connected_emitted;
    if (was_up && why != CONN_END_AUTH && why != CONN_END_DRAINED)
        conn_emit(c, ZMQ_EVENT_DISCONNECTED, (uint32_t)c->fd);
    if (why == CONN_END_PROTOCOL && c->phase >= PH_READY) {
        /* Tell the peer why (rfc 37 ERROR) and let our READY, already
         * queued, go out first: the peer then sees the mismatch itself
         * instead of a bare reset. Best effort, never waits. */
        size_t need = ZMTP_FRAME_HEADER_MAX + 2 + 32;
        if (conn_out_reserve(c, need) == 0)
            c->out_end += zmtp_error_encode(c->out + c->out_end, need, "Protocol error");
        conn_flush(c);
    }
    if (why != CONN_END_AUTH && why != CONN_END_NO_DETAIL)
        tls_conn_shutdown(c->tls);
    rx_io_stop(c->loop, &c->io, RX_READ | RX_WRITE);
    rx_io_stop(c->loop, &c->bio, RX_READ);
    conn_stop_timers(c);
    return -1;
}

static int conn_end_tls(conn_t *c, int rc)
{
    int alert = tls_conn_alert(c->tls);
    switch (rc) {
    case TLS_E_AUTH:
        return conn_end(c, CONN_END_AUTH, alert < 0 ? 0 : (uint32_t)alert);
    case TLS_E_PROTOCOL:
        return conn_end(c, c->succeeded ? CONN_END_CLOSED : CONN_END_PROTOCOL,
                        alert >= 0 ? (uint32_t)alert
                                   : ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED);
    case TLS_E_NOMEM:
        return conn_end(c, c->succeeded ? CONN_END_CLOSED : CONN_END_NO_DETAIL, ENOMEM);
    case TLS_E_CLOSED:
        return conn_end(c, c->succeeded ? CONN_END_CLOSED : CONN_END_NO_DETAIL,
                        ECONNRESET);
    default: {
        int err = tls_conn_errno(c->tls);
        return conn_end(c, c->succeeded ? CONN_END_CLOSED : CONN_END_NO_DETAIL,
                        (uint32_t)(err ? err : ECONNRESET));
    }
    }
}

static int conn_end_zmtp(conn_t *c, int zerr)
{
    return conn_end(c, c->succeeded ? CONN_END_CLOSED : CONN_END_PROTOCOL,
                    (uint32_t)zmtp_error_event_value(zerr));
}

/* ---- output ------------------------------------------------------------ */

/* The output buffer's bytes now start at 0. */
static void conn_out_shift(conn_t *c)
{
    c->out_end -= c->out_start;
    if (c->direct_active)
        c->direct_at -= c->out_start;
    c->out_start = 0;
}

static int conn_out_reserve(conn_t *c, size_t n)
{
    if (c->out_start > 0 && c->out_start == c->out_end)
        conn_out_shift(c);
    if (c->out_cap - c->out_end >= n)
        return 0;
    if (c->out_start > 0) {
        memmove(c->out, c->out + c->out_start, c->out_end - c->out_start);
        conn_out_shift(c);
        if (c->out_cap - c->out_end >= n)
            return 0;
    }
    size_t cap = c->out_cap ? c->out_cap : 16 * 1024;
    while (cap - c->out_end < n) {
        if (cap > SIZE_MAX / 2)
            return -ENOMEM;
        cap *= 2;
    }
    uint8_t *p = realloc(c->out, cap);
    if (p == NULL)
        return -ENOMEM;
    c->out = p;
    c->out_cap = cap;
    return 0;
}

/* Bytes waiting to be written, the direct message's included. */
static size_t conn_out_len(const conn_t *c)
{
    size_t n = c->out_end - c->out_start;
    if (c->direct_active)
        n += zmq_msg_size((zmq_msg_t *)&c->direct) - c->direct_off;
    return n;
}

static void conn_direct_clear(conn_t *c)
{
    if (c->direct_active) {
        zmq_msg_close(&c->direct);
        c->direct_active = 0;
    }
}

static int conn_queue_greeting(conn_t *c)
{
    if (conn_out_reserve(c, ZMTP_GREETING_SIZE) != 0)
        return conn_end(c, CONN_END_NO_DETAIL, ENOMEM);
    c->out_end += zmtp_greeting_encode(c->out + c->out_end, 1, "NULL", c->is_server);
    return 0;
}

static int conn_queue_ready(conn_t *c)
{
    int t = c->cfg->app_type;
    /* rfc 37: only REQ, DEALER and ROUTER announce an Identity */
    size_t idlen =
        (t == ZMQ_REQ || t == ZMQ_DEALER || t == ZMQ_ROUTER) ? c->cfg->routing_id_len : 0;
    size_t need = zmtp_ready_size(t, idlen);
    if (need == 0 || conn_out_reserve(c, need) != 0)
        return conn_end(c, CONN_END_NO_DETAIL, ENOMEM);
    c->out_end +=
        zmtp_ready_encode(c->out + c->out_end, need, t, c->cfg->routing_id, idlen);
    return 0;
}

/* Writes the output in order: buffered bytes up to the direct message,
 * the direct message, the rest. A refused write is retried with the same
 * bytes first, as tls_conn_write requires. */
static int conn_flush(conn_t *c)
{
    for (;;) {
        size_t end = c->direct_active ? c->direct_at : c->out_end;
        const uint8_t *p;
        size_t len;
        int from_out = c->out_start < end;
        if (from_out) {
            p = c->out + c->out_start;
            len = end - c->out_start;
        } else if (c->direct_active) {
            p = (const uint8_t *)zmq_msg_data(&c->direct) + c->direct_off;
            len = zmq_msg_size(&c->direct) - c->direct_off;
        } else {
            break;
        }
        size_t n = 0;
        int rc = len > 0 ? tls_conn_write(c->tls, p, len, &n) : TLS_OK;
        if (rc == TLS_WANT_WRITE || rc == TLS_WANT_READ) {
            c->write_wants = rc == TLS_WANT_WRITE ? RX_WRITE : RX_READ;
            return 0;
        }
        if (rc < 0)
            return conn_end_tls(c, rc);
        if (n > 0)
            c->tx_count++;
        if (from_out) {
            c->out_start += n;
        } else {
            c->direct_off += n;
            if (c->direct_off == zmq_msg_size(&c->direct))
                conn_direct_clear(c);
        }
    }
    c->write_wants = 0;
    c->out_start = c->out_end = 0;
    return 0;
}

/* A subscription goes out as rfc 37's SUBSCRIBE/CANCEL to a ZMTP 3.1 peer
 * and as a 1/0-prefixed message to a 3.0 one (rfc 23). */
static int conn_queue_subscription(conn_t *c, int cancel, const uint8_t *topic,
                                   size_t len)
{
    size_t need = ZMTP_FRAME_HEADER_MAX + 8 + len;
    if (conn_out_reserve(c, need) != 0)
        return -ENOMEM;
    if (c->peer_minor >= 1) {
        c->out_end +=
            zmtp_subscribe_encode(c->out + c->out_end, need, cancel, topic, len);
        return 0;
    }
    c->out_end += zmtp_frame_header_encode(c->out + c->out_end, 0, len + 1);
    c->out[c->out_end++] = cancel ? 0 : 1;
    if (len > 0)
        memcpy(c->out + c->out_end, topic, len);
    c->out_end += len;
    return 0;
}

/* Appends the heartbeat commands that fell due, unless the output stream
 * is between the parts of a message. */
static int conn_queue_heartbeats(conn_t *c)
{
    if (c->bridge_mid)
        return 0;
    if (c->ping_due) {
        int ttl = c->cfg->heartbeat_ttl / 100;
        uint16_t ttl_ds = ttl > 0xFFFF ? 0xFFFF : (uint16_t)(ttl > 0 ? ttl : 0);
        size_t need = ZMTP_FRAME_HEADER_MAX + 8;
        if (conn_out_reserve(c, need) != 0)
            return -ENOMEM;
        c->out_end += zmtp_ping_encode(c->out + c->out_end, need, ttl_ds, NULL, 0);
        c->ping_due = 0;
        /* ZMQ_HEARTBEAT_TIMEOUT runs from the PING going out, as libzmq's. */
        if (!rx_timer_active(&c->hb_deadline)) {
            int timeout = c->cfg->heartbeat_timeout >= 0 ? c->cfg->heartbeat_timeout
                                                         : c->cfg->heartbeat_ivl;
            c->ping_rx_count = c->rx_count;
            rx_timer_start(c->loop, &c->hb_deadline, (uint64_t)timeout);
        }
    }
    if (c->pong_due) {
        size_t need = ZMTP_FRAME_HEADER_MAX + 5 + c->pong_ctx_len;
        if (conn_out_reserve(c, need) != 0)
            return -ENOMEM;
        c->out_end +=
            zmtp_pong_encode(c->out + c->out_end, need, c->pong_ctx, c->pong_ctx_len);
        c->pong_due = 0;
    }
    return 0;
}

/* Moves messages from the bridge into the output buffer. */
static int conn_pull_bridge(conn_t *c, int *budget)
{
    while (conn_out_len(c) < CONN_OUT_HIGH && *budget > 0 && !c->direct_active) {
        zmq_msg_t m;
        int more = 0;
        zmq_msg_init(&m);
        int rc = bridge_recv(c->bridge, &m, &more);
        if (rc == -EAGAIN) {
            zmq_msg_close(&m);
            c->bridge_empty = 1;
            c->bridge_armed = 1;
            return 0;
        }
        if (rc < 0) {
            zmq_msg_close(&m);
            return conn_end(c, CONN_END_CLOSED, (uint32_t)-rc);
        }
        c->bridge_empty = 0;
        size_t size = zmq_msg_size(&m);
        const uint8_t *data = zmq_msg_data(&m);
        if (c->sub_side && !c->bridge_mid && !more && subs_is_subscription(data, size)) {
            if ((c->subs != NULL && subs_apply(c->subs, data, size) != 0) ||
                conn_queue_subscription(c, data[0] == 0, data + 1, size - 1) != 0) {
                zmq_msg_close(&m);
                return conn_end(c, CONN_END_CLOSED, ENOMEM);
            }
            zmq_msg_close(&m);
            (*budget)--;
            continue;
        }
        /* A large message is copied only up to the next record boundary;
         * the rest is encrypted from the message itself. */
        size_t copy = size;
        if (size >= CONN_DIRECT_MIN) {
            size_t after = c->out_end - c->out_start + ZMTP_FRAME_HEADER_MAX;
            copy = (CONN_RECORD - after % CONN_RECORD) % CONN_RECORD;
            if (copy > size)
                copy = size;
        }
        if (conn_out_reserve(c, ZMTP_FRAME_HEADER_MAX + copy) != 0) {
            zmq_msg_close(&m);
            return conn_end(c, CONN_END_CLOSED, ENOMEM);
        }
        c->out_end += zmtp_frame_header_encode(c->out + c->out_end,
                                               more ? ZMTP_FLAG_MORE : 0, size);
        memcpy(c->out + c->out_end, data, copy);
        c->out_end += copy;
        c->bridge_mid = more;
        (*budget)--;
        if (copy < size) {
            c->direct = m; /* ownership moves */
            c->direct_active = 1;
            c->direct_at = c->out_end;
            c->direct_off = copy;
        } else {
            zmq_msg_close(&m);
        }
        /* After direct_at is set: the commands follow the whole message. */
        if (!more && (c->ping_due || c->pong_due) && conn_queue_heartbeats(c) != 0)
            return conn_end(c, CONN_END_CLOSED, ENOMEM);
    }
    return 0;
}

/* ---- input ------------------------------------------------------------- */

static void conn_parts_clear(conn_t *c)
{
    for (size_t i = 0; i < c->nparts; i++)
        zmq_msg_close(&c->parts[i]);
    c->nparts = c->parts_sent = 0;
    c->parts_ready = 0;
}

/* Appends a part (ownership moves in). */
static int conn_parts_push(conn_t *c, zmq_msg_t *m, int more)
{
    if (c->nparts == c->parts_cap) {
        size_t cap = c->parts_cap ? c->parts_cap * 2 : 4;
        zmq_msg_t *p = realloc(c->parts, cap * sizeof(*p));
        if (p == NULL) {
            zmq_msg_close(m);
            return -ENOMEM;
        }
        c->parts = p;
        c->parts_cap = cap;
    }
    c->parts[c->nparts++] = *m;
    if (!more)
        c->parts_ready = 1;
    return 0;
}

/* Hands the complete message to the bridge. 0 delivered, 1 blocked (the
 * application's pipe is full), -1 dead. */
static int conn_deliver(conn_t *c)
{
    if (c->bridge == NULL)
        return 1;
    c->bridge_armed = 0;
    while (c->parts_sent < c->nparts) {
        int more = c->parts_sent + 1 < c->nparts;
        int rc = bridge_send(c->bridge, &c->parts[c->parts_sent], more);
        if (rc == -EAGAIN)
            return 1;
        if (rc < 0)
            return conn_end(c, CONN_END_CLOSED, (uint32_t)-rc);
        c->parts_sent++;
    }
    conn_parts_clear(c);
    return 0;
}

static int conn_on_ready(conn_t *c, const zmtp_command_t *cmd)
{
    zmtp_ready_t r;
    int rc = zmtp_ready_parse(cmd->data, cmd->data_len, &r);
    if (rc < 0)
        return conn_end_zmtp(c, rc);
    if (!zmtp_socket_types_compatible(c->cfg->app_type, r.socket_type))
        return conn_end(c, CONN_END_PROTOCOL, ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA);
    c->peer_id_len = r.identity ? r.identity_len : 0;
    if (c->peer_id_len > 0)
        memcpy(c->peer_id, r.identity, c->peer_id_len);
    c->phase = PH_TRAFFIC;
    rx_timer_stop(c->loop, &c->handshake_timer);
    /* The bridge and the peer's record exist before the event goes out, so
     * whoever reacts to HANDSHAKE_SUCCEEDED finds the peer. */
    rc = c->owner.established(c, c->owner.arg);
    if (rc < 0)
        return conn_end(c, CONN_END_NO_DETAIL, (uint32_t)-rc);
    c->succeeded = 1;
    if (c->cfg->heartbeat_ivl > 0)
        rx_timer_start(c->loop, &c->hb_timer, (uint64_t)c->cfg->heartbeat_ivl);
    conn_emit(c, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
    return 0;
}

/* A subscription command becomes the message a libzmq PUB/XPUB expects
 * from its pipe: 1 or 0, then the topic. */
static int conn_on_subscribe(conn_t *c, const zmtp_command_t *cmd, int cancel)
{
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, cmd->data_len + 1) != 0)
        return conn_end(c, CONN_END_CLOSED, ENOMEM);
    uint8_t *p = zmq_msg_data(&m);
    p[0] = cancel ? 0 : 1;
    memcpy(p + 1, cmd->data, cmd->data_len);
    if (conn_parts_push(c, &m, 0) != 0)
        return conn_end(c, CONN_END_CLOSED, ENOMEM);
    return conn_deliver(c) < 0 ? -1 : 0;
}

static int conn_on_command(conn_t *c, const uint8_t *body, size_t len)
{
    zmtp_command_t cmd;
    int rc = zmtp_command_parse(body, len, &cmd);
    if (rc < 0)
        return conn_end_zmtp(c, rc);
    if (c->phase == PH_READY) {
        if (zmtp_command_is(&cmd, "READY"))
            return conn_on_ready(c, &cmd);
        if (zmtp_command_is(&cmd, "ERROR"))
            return conn_end(c, CONN_END_PROTOCOL,
                            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR);
        return conn_end(c, CONN_END_PROTOCOL, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
    }
    if (zmtp_command_is(&cmd, "PING")) {
        uint16_t ttl;
        const uint8_t *ctx;
        size_t ctx_len;
        if (zmtp_ping_parse(cmd.data, cmd.data_len, &ttl, &ctx, &ctx_len) < 0)
            return conn_end(c, CONN_END_CLOSED, EPROTO);
        if (ttl > 0) {
            /* The peer asks to be dropped if it goes silent for ttl. */
            c->peer_ttl_ms = (uint64_t)ttl * 100;
            c->ttl_rx_count = c->rx_count;
            rx_timer_start(c->loop, &c->ttl_timer, c->peer_ttl_ms);
        }
        /* Only the newest context needs an answer: any traffic keeps the
         * peer's timeout at bay. */
        c->pong_ctx_len = ctx_len < sizeof(c->pong_ctx) ? ctx_len : sizeof(c->pong_ctx);
        memcpy(c->pong_ctx, ctx, c->pong_ctx_len);
        c->pong_due = 1;
        if (conn_queue_heartbeats(c) != 0)
            return conn_end(c, CONN_END_CLOSED, ENOMEM);
        return 0;
    }
    if (zmtp_command_is(&cmd, "SUBSCRIBE"))
        return conn_on_subscribe(c, &cmd, 0);
    if (zmtp_command_is(&cmd, "CANCEL"))
        return conn_on_subscribe(c, &cmd, 1);
    if (zmtp_command_is(&cmd, "ERROR"))
        return conn_end(c, CONN_END_CLOSED, ECONNRESET);
    if (zmtp_command_is(&cmd, "READY"))
        return conn_end(c, CONN_END_CLOSED, EPROTO);
    return 0; /* PONG and unknown commands need nothing */
}

static int conn_on_greeting(conn_t *c)
{
    const uint8_t *p = c->in + c->in_start;
    size_t avail = c->in_end - c->in_start;
    if (!c->signature_ok) {
        int rc = zmtp_signature_check(p, avail);
        if (rc == ZMTP_NEED_MORE)
            return 0;
        if (rc < 0)
            return conn_end_zmtp(c, rc);
        c->signature_ok = 1;
        if (!c->is_server) {
            /* The server's first record is its greeting: it accepted us. */
            c->connected_emitted = 1;
            conn_emit(c, ZMQ_EVENT_CONNECTED, (uint32_t)c->fd);
            if (conn_queue_greeting(c) < 0)
                return -1;
        }
    }
    zmtp_greeting_t g;
    int rc = zmtp_greeting_decode(p, avail, &g);
    if (rc == ZMTP_NEED_MORE)
        return 0;
    if (rc < 0)
        return conn_end_zmtp(c, rc);
    if (strcmp(g.mechanism, "NULL") != 0)
        return conn_end(c, CONN_END_PROTOCOL, ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH);
    c->peer_minor = g.minor;
    c->in_start += ZMTP_GREETING_SIZE;
    c->phase = PH_READY;
    return conn_queue_ready(c);
}

/* Parses buffered input. 0: needs more bytes; 1: stop reading for now
 * (message blocked on the bridge, or budget spent); -1: dead. */
static int conn_parse(conn_t *c, int *budget)
{
    for (;;) {
        if (c->parts_ready) {
            int rc = conn_deliver(c);
            if (rc != 0)
                return rc;
        }
        if (c->phase == PH_GREETING) {
            conn_phase_t before = c->phase;
            if (conn_on_greeting(c) < 0)
                return -1;
            if (c->phase == before)
                return 0;
            continue;
        }
        if (*budget <= 0) {
            c->input_pending = 1;
            return 1;
        }
        const uint8_t *p = c->in + c->in_start;
        size_t avail = c->in_end - c->in_start;
        zmtp_frame_header_t h;
        int rc = zmtp_frame_header_decode(p, avail, UINT64_MAX, &h);
        if (rc == ZMTP_NEED_MORE)
            return 0;
        if (rc < 0)
            return conn_end_zmtp(c, rc);
        if (h.flags & ZMTP_FLAG_COMMAND) {
            if (h.size > CONN_COMMAND_MAX)
                return conn_end_zmtp(c, ZMTP_E_COMMAND);
            if (h.header_len + h.size > avail)
                return 0;
            c->in_start += h.header_len + (size_t)h.size;
            (*budget)--;
            if (conn_on_command(c, p + h.header_len, (size_t)h.size) < 0)
                return -1;
            continue;
        }
        if (c->phase != PH_TRAFFIC)
            return conn_end(c, CONN_END_PROTOCOL,
                            ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
        /* ZMQ_MAXMSGSIZE is enforced here, before anything is allocated. */
        if (c->cfg->maxmsgsize >= 0 && h.size > (uint64_t)c->cfg->maxmsgsize)
            return conn_end(c, CONN_END_CLOSED, EMSGSIZE);
        if (h.size > SIZE_MAX - ZMTP_FRAME_HEADER_MAX)
            return conn_end(c, CONN_END_CLOSED, EMSGSIZE);
        int more = (h.flags & ZMTP_FLAG_MORE) != 0;
        size_t size = (size_t)h.size;
        if (h.header_len + size > avail && h.header_len + size <= CONN_IN_CAP)
            return 0; /* fits the buffer: wait for the rest */
        zmq_msg_t m;
        if (zmq_msg_init_size(&m, size) != 0)
            return conn_end(c, CONN_END_CLOSED, ENOMEM);
        size_t have = avail - h.header_len < size ? avail - h.header_len : size;
        memcpy(zmq_msg_data(&m), p + h.header_len, have);
        c->in_start += h.header_len + have;
        (*budget)--;
        if (have < size) {
            c->big = m;
            c->big_active = 1;
            c->big_more = more;
            c->big_fill = have;
            return 0;
        }
        if (conn_parts_push(c, &m, more) != 0)
            return conn_end(c, CONN_END_CLOSED, ENOMEM);
    }
}

/* Reads and parses until TLS has nothing more, the bridge pushes back or
 * the budget is spent. */
static void conn_trim_arm(conn_t *c)
{
    if (c->phase == PH_TRAFFIC && !rx_timer_active(&c->trim_timer)) {
        c->trim_rx_count = c->rx_count;
        c->trim_tx_count = c->tx_count;
        rx_timer_start(c->loop, &c->trim_timer, CONN_TRIM_MS);
    }
}

static int conn_read(conn_t *c, int *budget)
{
    conn_trim_arm(c);
    /* Woken for the bridge or a timer: the socket was empty and still is
     * (its level-triggered readiness would have said), skip the recv. */
    if (c->rx_empty)
        return 0;
    if (c->in == NULL) {
        c->in = malloc(CONN_IN_CAP);
        if (c->in == NULL)
            return conn_end(c, c->succeeded ? CONN_END_CLOSED : CONN_END_NO_DETAIL,
                            ENOMEM);
        c->in_start = c->in_end = 0;
    }
    int drained = 0;
    for (;;) {
        if (!c->big_active) {
            int rc = conn_parse(c, budget);
            if (rc != 0)
                return rc < 0 ? -1 : 0;
        }
        if (drained) {
            /* Another read would only find the socket empty; the fd
             * (level-triggered) reports what comes next. */
            c->read_wants = RX_READ;
            c->rx_empty = 1;
            return 0;
        }
        if (*budget <= 0) {
            /* More may wait in the kernel or inside OpenSSL, where no fd
             * readiness will announce it again. */
            c->input_pending = 1;
            return 0;
        }
        uint8_t *dst;
        size_t cap;
        if (c->big_active) {
            dst = (uint8_t *)zmq_msg_data(&c->big) + c->big_fill;
            cap = zmq_msg_size(&c->big) - c->big_fill;
        } else {
            if (c->in_start > 0) {
                memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
                c->in_end -= c->in_start;
                c->in_start = 0;
            }
            dst = c->in + c->in_end;
            cap = CONN_IN_CAP - c->in_end;
        }
        size_t n = 0;
        int rc = tls_conn_read(c->tls, dst, cap, &n);
        if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE) {
            c->read_wants = rc == TLS_WANT_READ ? RX_READ : RX_WRITE;
            c->rx_empty = rc == TLS_WANT_READ;
            return 0;
        }
        if (rc < 0)
            return conn_end_tls(c, rc);
        c->read_wants = 0;
        c->rx_count++;
        drained = tls_conn_drained(c->tls);
        if (!c->big_active) {
            c->in_end += n;
            continue;
        }
        c->big_fill += n;
        if (c->big_fill == zmq_msg_size(&c->big)) {
            c->big_active = 0;
            if (conn_parts_push(c, &c->big, c->big_more) != 0)
                return conn_end(c, CONN_END_CLOSED, ENOMEM);
        }
    }
}

/* ---- driving ----------------------------------------------------------- */

static void conn_arm(conn_t *c)
{
    unsigned want = 0;
    if (c->phase == PH_TLS) {
        want = c->handshake_wants;
    } else {
        int inbound_blocked = c->parts_ready || c->draining;
        if (!inbound_blocked)
            want |= c->read_wants ? c->read_wants : RX_READ;
        if (conn_out_len(c) > 0)
            want |= c->write_wants ? c->write_wants : RX_WRITE;
    }
    rx_io_stop(c->loop, &c->io, (RX_READ | RX_WRITE) & ~want);
    rx_io_start(c->loop, &c->io, want);
}

static int conn_step(conn_t *c, int *budget)
{
    if (c->phase == PH_TLS) {
        int rc = tls_conn_handshake(c->tls);
        if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE) {
            c->handshake_wants = rc == TLS_WANT_READ ? RX_READ : RX_WRITE;
            return 0;
        }
        if (rc < 0)
            return conn_end_tls(c, rc);
        c->phase = PH_GREETING;
        /* The server has verified the client: it speaks first. The client
         * waits for that proof before sending anything. */
        if (c->is_server && conn_queue_greeting(c) < 0)
            return -1;
    }
    if (!c->draining && conn_read(c, budget) < 0)
        return -1;
    if (c->phase == PH_TRAFFIC && c->bridge != NULL && conn_pull_bridge(c, budget) < 0)
        return -1;
    if (conn_flush(c) < 0)
        return -1;
    if (c->draining && c->bridge_empty && !c->bridge_mid && conn_out_len(c) == 0)
        return conn_end(c, CONN_END_DRAINED, 0);
    return 0;
}

/* The only entry point from the loop: runs the phases until nothing moves,
 * then tells the owner if the connection ended. Re-entrant calls (an owner
 * callback touching the conn) just ask the running one to go round again. */
static void conn_drive(conn_t *c)
{
    if (c->in_drive) {
        c->again = 1;
        return;
    }
    c->in_drive = 1;
    int budget = CONN_BUDGET;
    int rounds = 0;
    do {
        c->again = 0;
        c->input_pending = 0;
        c->bridge_armed = 0;
        if (c->dead || conn_step(c, &budget) < 0)
            break;
        if (c->input_pending)
            c->again = 1;
        if (c->bridge != NULL && c->phase == PH_TRAFFIC &&
            (!c->bridge_armed || c->parts_ready)) {
            /* ZMQ_FD is edge-triggered: asking ZMQ_EVENTS after our own sends
             * and receives re-arms it and tells what is left to do. A
             * receive that just found nothing did the same already (libzmq
             * processes its commands before it says EAGAIN), unless a send
             * came after it or a blocked message waits for room. */
            int ev = bridge_events(c->bridge);
            if (ev < 0) {
                conn_end(c, CONN_END_CLOSED, (uint32_t)-ev);
                break;
            }
            if (!(ev & ZMQ_POLLIN)) {
                /* Nothing to read: what a drain waits for, also when the
                 * last pull stopped early (a direct message, a full
                 * output buffer) and never saw EAGAIN. */
                if (c->draining && !c->bridge_empty)
                    c->again = 1;
                c->bridge_empty = 1;
            } else if (conn_out_len(c) < CONN_OUT_HIGH && !c->direct_active) {
                c->bridge_empty = 0;
                c->again = 1;
            }
            if ((ev & ZMQ_POLLOUT) && c->parts_ready && !c->draining)
                c->again = 1;
        }
        if (c->again && (budget <= 0 || ++rounds >= 64)) {
            rx_timer_start(c->loop, &c->resume_timer, 0);
            break;
        }
    } while (c->again);
    c->in_drive = 0;
    if (c->dead) {
        c->owner.ended(c, c->owner.arg, c->end_why, c->end_value);
        return; /* c may be gone */
    }
    conn_arm(c);
}

static void conn_on_io(rx_io_t *io, unsigned revents)
{
    conn_t *c = io->data;
    if (io == &c->io && (revents & RX_READ))
        c->rx_empty = 0;
    conn_drive(c);
}

static void conn_on_resume(rx_timer_t *t)
{
    conn_drive(t->data);
}

static void conn_on_handshake_timeout(rx_timer_t *t)
{
    conn_t *c = t->data;
    if (c->phase != PH_TRAFFIC && !c->dead) {
        conn_end(c, CONN_END_NO_DETAIL, ETIMEDOUT);
        conn_drive(c);
    }
}

static void conn_on_drain_timeout(rx_timer_t *t)
{
    conn_t *c = t->data;
    if (!c->dead) {
        conn_end(c, CONN_END_DRAINED, ETIMEDOUT);
        conn_drive(c);
    }
}

static void conn_on_hb(rx_timer_t *t)
{
    conn_t *c = t->data;
    if (c->dead)
        return;
    c->ping_due = 1;
    (void)conn_queue_heartbeats(c); /* out of memory: the next tick tries again */
    rx_timer_start(c->loop, &c->hb_timer, (uint64_t)c->cfg->heartbeat_ivl);
    conn_drive(c);
}

/* No traffic at all since our PING, for ZMQ_HEARTBEAT_TIMEOUT: the peer is
 * gone, as libzmq decides for tcp://. */
static void conn_on_hb_deadline(rx_timer_t *t)
{
    conn_t *c = t->data;
    if (c->dead || c->rx_count != c->ping_rx_count)
        return;
    conn_end(c, CONN_END_CLOSED, ETIMEDOUT);
    conn_drive(c);
}

/* Idle since the timer started, nothing half-read, nothing waiting to be
 * written: drop the buffers. Busy connections just re-arm. */
static void conn_on_trim(rx_timer_t *t)
{
    conn_t *c = t->data;
    if (c->dead)
        return;
    int idle = c->rx_count == c->trim_rx_count && c->tx_count == c->trim_tx_count &&
               c->in_start == c->in_end && !c->big_active && conn_out_len(c) == 0 &&
               c->nparts == 0;
    if (!idle) {
        c->trim_rx_count = c->rx_count;
        c->trim_tx_count = c->tx_count;
        rx_timer_start(c->loop, &c->trim_timer, CONN_TRIM_MS);
        return;
    }
    free(c->in);
    c->in = NULL;
    c->in_start = c->in_end = 0;
    free(c->out);
    c->out = NULL;
    c->out_start = c->out_end = c->out_cap = 0;
    tls_conn_trim(c->tls);
}

static void conn_on_ttl(rx_timer_t *t)
{
    conn_t *c = t->data;
    if (c->dead)
        return;
    if (c->rx_count != c->ttl_rx_count) {
        c->ttl_rx_count = c->rx_count;
        rx_timer_start(c->loop, &c->ttl_timer, c->peer_ttl_ms);
        return;
    }
    conn_end(c, CONN_END_CLOSED, ETIMEDOUT);
    conn_drive(c);
}

/* ---- public ------------------------------------------------------------ */

int conn_new(conn_t **out, const ep_cfg_t *cfg, SSL_CTX *tls, int fd, int is_server,
             const conn_owner_t *owner)
{
    conn_t *c = calloc(1, sizeof(*c));
    if (c != NULL)
        c->in = malloc(CONN_IN_CAP);
    if (c == NULL || c->in == NULL) {
        free(c);
        close(fd);
        return -ENOMEM;
    }
    c->cfg = cfg;
    c->owner = *owner;
    c->loop = io_loop();
    c->fd = fd;
    c->is_server = is_server;
    c->phase = PH_TLS;
    int rc =
        tls_conn_new(&c->tls, tls, fd, is_server,
                     is_server || cfg->verify_name[0] == '\0' ? NULL : cfg->verify_name);
    if (rc != 0) {
        free(c->in);
        free(c);
        close(fd);
        return rc;
    }
    /* Keyed by the endpoint string: a reconnect to the same endpoint from
     * the same socket (same credentials) resumes. */
    if (!is_server && cfg->resume && tls_conn_resume(c->tls, cfg->uri) == -ENOMEM) {
        tls_conn_destroy(&c->tls);
        free(c->in);
        free(c);
        close(fd);
        return -ENOMEM;
    }
    rx_io_init(&c->io, fd, 0, conn_on_io, c);
    rx_io_init(&c->bio, -1, RX_EDGE, conn_on_io, c);
    rx_timer_init(&c->handshake_timer, conn_on_handshake_timeout, c);
    rx_timer_init(&c->resume_timer, conn_on_resume, c);
    rx_timer_init(&c->drain_timer, conn_on_drain_timeout, c);
    rx_timer_init(&c->hb_timer, conn_on_hb, c);
    rx_timer_init(&c->hb_deadline, conn_on_hb_deadline, c);
    rx_timer_init(&c->ttl_timer, conn_on_ttl, c);
    rx_timer_init(&c->trim_timer, conn_on_trim, c);
    c->sub_side = bridge_carries_subscriptions(cfg->app_type);
    if (cfg->handshake_ivl > 0)
        rx_timer_start(c->loop, &c->handshake_timer, (uint64_t)cfg->handshake_ivl);
    /* Start on the next iteration: the owner is still setting up. */
    rx_timer_start(c->loop, &c->resume_timer, 0);
    *out = c;
    return 0;
}

void conn_destroy(conn_t **cp)
{
    conn_t *c = *cp;
    if (c == NULL)
        return;
    *cp = NULL;
    peers_remove(c);
    rx_io_close(c->loop, &c->io);
    rx_io_close(c->loop, &c->bio);
    conn_stop_timers(c);
    conn_parts_clear(c);
    free(c->parts);
    if (c->big_active)
        zmq_msg_close(&c->big);
    conn_direct_clear(c);
    if (c->bridge_owned)
        bridge_destroy(&c->bridge);
    tls_conn_destroy(&c->tls);
    io_linger_close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

void conn_attach(conn_t *c, bridge_t *b, int own, subs_t *subs)
{
    c->bridge = b;
    c->bridge_owned = own;
    c->subs = c->sub_side ? subs : NULL;
    /* A pipe that outlived the last connection will not repeat what it
     * subscribed to: tell the new publisher ourselves. */
    for (size_t i = 0; c->subs != NULL && i < subs_count(c->subs); i++) {
        size_t len;
        const uint8_t *topic = subs_topic(c->subs, i, &len);
        if (conn_queue_subscription(c, 0, topic, len) != 0) {
            conn_end(c, CONN_END_CLOSED, ENOMEM);
            break;
        }
    }
    c->bridge_mid = 0;
    c->bridge_empty = 0;
    rx_io_init(&c->bio, bridge_fd(b), RX_EDGE, conn_on_io, c);
    rx_io_start(c->loop, &c->bio, RX_READ);
    conn_drive(c);
}

int conn_detach(conn_t *c)
{
    int mid = c->bridge_mid;
    rx_io_close(c->loop, &c->bio);
    c->bridge = NULL;
    c->bridge_owned = 0;
    c->subs = NULL;
    return mid;
}

void conn_drain(conn_t *c, uint64_t deadline_ms)
{
    if (c->dead)
        return;
    if (c->phase != PH_TRAFFIC || c->bridge == NULL) {
        conn_end(c, CONN_END_DRAINED, 0);
    } else {
        c->draining = 1;
        c->bridge_empty = 0;
        if (deadline_ms > 0) {
            uint64_t now = rx_now(c->loop);
            rx_timer_start(c->loop, &c->drain_timer,
                           deadline_ms > now ? deadline_ms - now : 0);
        }
    }
    conn_drive(c);
}

void conn_publish_peer(conn_t *c, const uint8_t *routing_id, size_t routing_id_len)
{
    tls_peer_info_t info;
    if (tls_conn_peer_info(c->tls, &info) != 0)
        return;
    char addr[64] = "";
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) == 0)
        endpoint_format_sockaddr((struct sockaddr *)&ss, addr, sizeof(addr));
    peer_key_t key = {.sock_id = c->cfg->sock_id,
                      .ep_id = c->cfg->ep_id,
                      .routing_id = routing_id,
                      .routing_id_len = routing_id_len};
    peers_add(c, &key, &info, addr);
}

const uint8_t *conn_peer_identity(const conn_t *c, size_t *len)
{
    *len = c->peer_id_len;
    return c->peer_id;
}

int conn_fd(const conn_t *c)
{
    return c->fd;
}

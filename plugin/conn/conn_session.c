/*
 * The ZMTP session of a connection: greeting, READY, the commands of each
 * phase, frame parsing, multipart assembly and heartbeats (see
 * conn_int.h). Input comes from the record layer's buffer (or a frame read
 * in place); complete messages go up to the pump (conn_deliver); commands
 * go down into the output through their size function and encoder.
 */
#include "conn/conn_int.h"

#include "zmtp/zmtp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- output: every command through its size function ------------------- */

int conn_queue_greeting(conn_t *c)
{
    uint8_t *p = conn_out_space(c, ZMTP_GREETING_SIZE);
    if (p == NULL)
        return -1;
    return conn_out_commit(c, ZMTP_GREETING_SIZE,
                           zmtp_greeting_encode(p, 1, "NULL", c->is_server));
}

static int conn_queue_ready(conn_t *c)
{
    int t = c->cfg->app_type;
    /* rfc 37: only REQ, DEALER and ROUTER announce an Identity */
    size_t idlen =
        (t == ZMQ_REQ || t == ZMQ_DEALER || t == ZMQ_ROUTER) ? c->cfg->routing_id_len : 0;
    size_t need = zmtp_ready_size(t, idlen);
    uint8_t *p = conn_out_space(c, need);
    if (p == NULL)
        return -1;
    return conn_out_commit(c, need,
                           zmtp_ready_encode(p, need, t, c->cfg->routing_id, idlen));
}

int conn_queue_subscription(conn_t *c, int cancel, const uint8_t *topic, size_t len)
{
    if (c->ses.peer_minor >= 1) {
        size_t need = zmtp_subscribe_size(cancel, len);
        uint8_t *p = conn_out_space(c, need);
        if (p == NULL)
            return -1;
        return conn_out_commit(c, need,
                               zmtp_subscribe_encode(p, need, cancel, topic, len));
    }
    /* rfc 23: a message of one frame, 1 or 0 then the topic */
    size_t hdr = zmtp_frame_header_size((uint64_t)len + 1);
    size_t need = hdr == 0 || len > SIZE_MAX - hdr - 1 ? 0 : hdr + 1 + len;
    uint8_t *p = conn_out_space(c, need);
    if (p == NULL)
        return -1;
    size_t n = zmtp_frame_header_encode(p, 0, (uint64_t)len + 1);
    if (n == hdr) {
        p[n++] = cancel ? 0 : 1;
        if (len > 0)
            memcpy(p + n, topic, len);
        n += len;
    }
    return conn_out_commit(c, need, n);
}

void conn_queue_error(conn_t *c, const char *reason)
{
    if (c->pump.mid)
        return;
    size_t need = zmtp_error_size(reason);
    uint8_t *p = conn_out_space(c, need);
    if (p != NULL)
        (void)conn_out_commit(c, need, zmtp_error_encode(p, need, reason));
}

int conn_queue_heartbeats(conn_t *c)
{
    conn_hb_t *hb = &c->hb;
    if (c->pump.mid)
        return 0;
    if (hb->ping_due) {
        int ttl = c->cfg->heartbeat_ttl / 100;
        uint16_t ttl_ds = ttl > 0xFFFF ? 0xFFFF : (uint16_t)(ttl > 0 ? ttl : 0);
        size_t need = zmtp_ping_size(0);
        uint8_t *p = conn_out_space(c, need);
        if (p == NULL ||
            conn_out_commit(c, need, zmtp_ping_encode(p, need, ttl_ds, NULL, 0)))
            return -1;
        hb->ping_due = 0;
        /* ZMQ_HEARTBEAT_TIMEOUT runs from the PING going out, as libzmq's. */
        if (!rx_timer_active(&hb->deadline)) {
            int timeout = c->cfg->heartbeat_timeout >= 0 ? c->cfg->heartbeat_timeout
                                                         : c->cfg->heartbeat_ivl;
            hb->ping_rx_count = c->rec.rx_count;
            rx_timer_start(c->loop, &hb->deadline, (uint64_t)timeout);
        }
    }
    if (hb->pong_due && c->rec.out_sent >= hb->pong_end) {
        size_t need = zmtp_pong_size(hb->pong_ctx_len);
        uint8_t *p = conn_out_space(c, need);
        if (p == NULL ||
            conn_out_commit(c, need,
                            zmtp_pong_encode(p, need, hb->pong_ctx, hb->pong_ctx_len)))
            return -1;
        hb->pong_due = 0;
        hb->pong_end = c->rec.out_added;
    }
    return 0;
}

/* ---- multipart assembly ------------------------------------------------- */

static void conn_parts_clear(conn_t *c)
{
    conn_session_t *s = &c->ses;
    for (size_t i = 0; i < s->nparts; i++)
        zmq_msg_close(&s->parts[i]);
    s->nparts = s->parts_sent = 0;
    s->parts_bytes = 0;
    s->parts_ready = 0;
}

void conn_session_fini(conn_t *c)
{
    conn_parts_clear(c);
    free(c->ses.parts);
    c->ses.parts = NULL;
    c->ses.parts_cap = 0;
    buf_fini(&c->ses.big);
    c->ses.big_active = 0;
}

void conn_parts_delivered(conn_t *c)
{
    conn_parts_clear(c);
}

/* A message still open may have at most ZMTLS_MULTIPART_MAX_PARTS parts
 * (its last included) and ZMTLS_MULTIPART_MAX_BYTES in the parts before its
 * last: 1 when one more part of `size` bytes, with MORE, goes past them. */
static int conn_parts_over(const conn_t *c, uint64_t size)
{
    const conn_session_t *s = &c->ses;
    int64_t max_parts = c->cfg->multipart_max_parts;
    int64_t max_bytes = c->cfg->multipart_max_bytes;
    /* this part, and the last one still to come */
    if (max_parts >= 0 && s->nparts + 2 > (uint64_t)max_parts)
        return 1;
    return max_bytes >= 0 && (s->parts_bytes > (uint64_t)max_bytes ||
                              size > (uint64_t)max_bytes - s->parts_bytes);
}

/* Appends a part (ownership moves in). */
static int conn_parts_push(conn_t *c, zmq_msg_t *m, int more)
{
    conn_session_t *s = &c->ses;
    if (s->nparts == s->parts_cap) {
        size_t cap = s->parts_cap ? s->parts_cap * 2 : 4;
        zmq_msg_t *p = realloc(s->parts, cap * sizeof(*p));
        if (p == NULL) {
            zmq_msg_close(m);
            return conn_end(c, CONN_END_CLOSED, ENOMEM);
        }
        s->parts = p;
        s->parts_cap = cap;
    }
    s->parts[s->nparts++] = *m;
    s->parts_bytes += zmq_msg_size(m);
    if (!more)
        s->parts_ready = 1;
    return 0;
}

static int conn_on_command(conn_t *c, const uint8_t *body, size_t len);

static void conn_big_free(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* Starts a frame too large for the input buffer with the `have` bytes of it
 * already there; nothing is reserved for the rest until it arrives. */
static int conn_big_start(conn_t *c, size_t size, int more, int command, const uint8_t *p,
                          size_t have)
{
    conn_session_t *s = &c->ses;
    buf_init(&s->big, size);
    s->big_active = 1;
    s->big_more = more;
    s->big_command = command;
    if (have == 0)
        return 0;
    int rc = buf_reserve_exact(&s->big, have);
    if (rc != 0)
        return conn_end(c, CONN_END_CLOSED, (uint32_t)-rc);
    memcpy(buf_tail(&s->big), p, have);
    return conn_big_fill(c, have);
}

int conn_big_room(conn_t *c, uint8_t **dst, size_t *cap)
{
    buf_t *b = &c->ses.big;
    size_t have = buf_len(b);
    size_t left = b->limit - have;
    /* Grow only when less than a record's worth of room is left, and then
     * by max(CONN_BIG_STEP, what arrived): a handful of reallocs per frame
     * (the size doubles), never more than one read ahead of the bytes. */
    size_t want = left < CONN_RECORD ? left : CONN_RECORD;
    if (buf_room(b) < want) {
        size_t step = have > CONN_BIG_STEP ? have : CONN_BIG_STEP;
        int rc = buf_reserve_exact(b, step < left ? step : left);
        if (rc != 0)
            return conn_end(c, CONN_END_CLOSED, (uint32_t)-rc);
    }
    *dst = buf_tail(b);
    *cap = buf_room(b) < left ? buf_room(b) : left;
    return 0;
}

int conn_big_fill(conn_t *c, size_t n)
{
    conn_session_t *s = &c->ses;
    if (buf_commit(&s->big, n) != 0)
        return conn_end(c, CONN_END_CLOSED, EPROTO);
    if (buf_len(&s->big) < s->big.limit)
        return 0;
    s->big_active = 0;
    size_t len;
    uint8_t *data = buf_detach(&s->big, &len);
    if (s->big_command) {
        int rc = conn_on_command(c, data, len);
        free(data);
        return rc < 0 ? -1 : 0;
    }
    /* The bytes become the message as they are: no copy. */
    zmq_msg_t m;
    if (zmq_msg_init_data(&m, data, len, conn_big_free, NULL) != 0) {
        free(data);
        return conn_end(c, CONN_END_CLOSED, ENOMEM);
    }
    return conn_parts_push(c, &m, s->big_more);
}

/* ---- commands ----------------------------------------------------------- */

static int conn_on_ready(conn_t *c, const zmtp_command_t *cmd)
{
    zmtp_ready_t r;
    int rc = zmtp_ready_parse(cmd->data, cmd->data_len, &r);
    if (rc < 0)
        return conn_end_zmtp(c, rc);
    if (!zmtp_socket_types_compatible(c->cfg->app_type, r.socket_type))
        return conn_end(c, CONN_END_PROTOCOL, ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA);
    c->ses.peer_id_len = r.identity ? r.identity_len : 0;
    if (c->ses.peer_id_len > 0)
        memcpy(c->ses.peer_id, r.identity, c->ses.peer_id_len);
    if (conn_zap_required(c))
        return conn_zap_start(c);
    return conn_admit(c);
}

int conn_admit(conn_t *c)
{
    if (c->ses.ready_deferred) {
        c->ses.ready_deferred = 0;
        if (conn_queue_ready(c) < 0)
            return -1;
    }
    c->phase = CONN_PH_TRAFFIC;
    rx_timer_stop(c->loop, &c->handshake_timer);
    /* The bridge and the peer's record exist before the event goes out, so
     * whoever reacts to HANDSHAKE_SUCCEEDED finds the peer. */
    int rc = c->owner.established(c, c->owner.arg);
    if (rc < 0)
        return conn_end(c, CONN_END_NO_DETAIL, (uint32_t)-rc);
    if (c->end.dead)
        return -1; /* ended inside established (attaching ran out of memory) */
    c->ses.succeeded = 1;
    conn_hb_start(c);
    conn_expiry_start(c);
    conn_log_established(c);
    conn_emit(c, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
    return 0;
}

static int conn_on_error_early(conn_t *c, const zmtp_command_t *cmd)
{
    /* A server's ZAP handler refused us: libzmq's reason is the status
     * code, and it reports it as an authentication failure. */
    const uint8_t *reason;
    size_t len;
    if (zmtp_error_parse(cmd->data, cmd->data_len, &reason, &len) == 0 && len == 3 &&
        reason[0] >= '3' && reason[0] <= '5' && reason[1] == '0' && reason[2] == '0')
        return conn_end(c, CONN_END_AUTH, (uint32_t)(reason[0] - '0') * 100);
    return conn_end(c, CONN_END_PROTOCOL,
                    ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR);
}

static int conn_on_error(conn_t *c, const zmtp_command_t *cmd)
{
    return conn_end(c, CONN_END_CLOSED, ECONNRESET);
}

static int conn_on_ready_again(conn_t *c, const zmtp_command_t *cmd)
{
    return conn_end(c, CONN_END_CLOSED, EPROTO);
}

static int conn_on_ping(conn_t *c, const zmtp_command_t *cmd)
{
    conn_hb_t *hb = &c->hb;
    uint16_t ttl;
    const uint8_t *ctx;
    size_t ctx_len;
    if (zmtp_ping_parse(cmd->data, cmd->data_len, &ttl, &ctx, &ctx_len) < 0)
        return conn_end(c, CONN_END_CLOSED, EPROTO);
    if (ttl > 0) {
        /* The peer asks to be dropped if it goes silent for ttl. */
        hb->peer_ttl_ms = (uint64_t)ttl * 100;
        hb->ttl_rx_count = c->rec.rx_count;
        rx_timer_start(c->loop, &hb->ttl_timer, hb->peer_ttl_ms);
    }
    /* Only the newest context needs an answer: any traffic keeps the
     * peer's timeout at bay. */
    hb->pong_ctx_len = ctx_len < sizeof(hb->pong_ctx) ? ctx_len : sizeof(hb->pong_ctx);
    memcpy(hb->pong_ctx, ctx, hb->pong_ctx_len);
    hb->pong_due = 1;
    return conn_queue_heartbeats(c);
}

/* A subscription command becomes the message a libzmq PUB/XPUB expects
 * from its pipe: 1 or 0, then the topic. */
static int conn_on_subscription(conn_t *c, const zmtp_command_t *cmd, int cancel)
{
    /* rfc 37 allows commands only between messages; here it would become
     * the last part of the message being assembled. */
    if (c->ses.nparts > 0)
        return conn_end(c, CONN_END_CLOSED, EPROTO);
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, cmd->data_len + 1) != 0)
        return conn_end(c, CONN_END_CLOSED, ENOMEM);
    uint8_t *p = zmq_msg_data(&m);
    p[0] = cancel ? 0 : 1;
    if (cmd->data_len > 0)
        memcpy(p + 1, cmd->data, cmd->data_len);
    if (conn_parts_push(c, &m, 0) != 0)
        return -1;
    return conn_deliver(c) < 0 ? -1 : 0;
}

static int conn_on_subscribe(conn_t *c, const zmtp_command_t *cmd)
{
    return conn_on_subscription(c, cmd, 0);
}

static int conn_on_cancel(conn_t *c, const zmtp_command_t *cmd)
{
    return conn_on_subscription(c, cmd, 1);
}

static int conn_on_ignore(conn_t *c, const zmtp_command_t *cmd)
{
    return 0;
}

typedef int (*conn_command_fn)(conn_t *c, const zmtp_command_t *cmd);

/* What each command does in the two phases that take commands. In READY a
 * command without a handler is unexpected (the handshake fails); in
 * TRAFFIC it is ignored, as are commands not listed (rfc 37 leaves room
 * for new ones). */
static const struct {
    const char *name;
    conn_command_fn in_ready;
    conn_command_fn in_traffic;
} conn_commands[] = {
    {"READY", conn_on_ready, conn_on_ready_again},
    {"ERROR", conn_on_error_early, conn_on_error},
    {"PING", NULL, conn_on_ping},
    {"PONG", NULL, conn_on_ignore},
    {"SUBSCRIBE", NULL, conn_on_subscribe},
    {"CANCEL", NULL, conn_on_cancel},
};

static int conn_on_command(conn_t *c, const uint8_t *body, size_t len)
{
    zmtp_command_t cmd;
    int rc = zmtp_command_parse(body, len, &cmd);
    if (rc < 0)
        return conn_end_zmtp(c, rc);
    conn_command_fn fn = NULL;
    for (size_t i = 0; i < sizeof(conn_commands) / sizeof(conn_commands[0]); i++) {
        if (zmtp_command_is(&cmd, conn_commands[i].name)) {
            fn = c->phase == CONN_PH_READY ? conn_commands[i].in_ready
                                           : conn_commands[i].in_traffic;
            break;
        }
    }
    if (fn != NULL)
        return fn(c, &cmd);
    if (c->phase == CONN_PH_READY)
        return conn_end(c, CONN_END_PROTOCOL, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
    return 0;
}

/* ---- input -------------------------------------------------------------- */

/* GREETING: 0 to wait for more, 1 when the phase moved on, -1 ended. */
static int conn_on_greeting(conn_t *c)
{
    const uint8_t *p = buf_head(&c->rec.in);
    size_t avail = buf_len(&c->rec.in);
    if (!c->ses.signature_ok) {
        int rc = zmtp_signature_check(p, avail);
        if (rc == ZMTP_NEED_MORE)
            return 0;
        if (rc < 0)
            return conn_end_zmtp(c, rc);
        c->ses.signature_ok = 1;
        if (!c->is_server) {
            /* The server's first record is its greeting: it accepted us. */
            c->ses.connected_emitted = 1;
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
    c->ses.peer_minor = g.minor;
    buf_consume(&c->rec.in, ZMTP_GREETING_SIZE);
    c->phase = CONN_PH_READY;
    /* With ZAP our READY is the verdict: it waits for the handler. */
    if (c->is_server && conn_zap_required(c)) {
        c->ses.ready_deferred = 1;
        return 1;
    }
    return conn_queue_ready(c) < 0 ? -1 : 1;
}

/* One frame from the input buffer, in READY or TRAFFIC. 0: done, go on;
 * 2: needs more bytes; -1: ended. */
static int conn_on_frame(conn_t *c, int *budget)
{
    buf_t *in = &c->rec.in;
    const uint8_t *p = buf_head(in);
    size_t avail = buf_len(in);
    zmtp_frame_header_t h;
    int rc = zmtp_frame_header_decode(p, avail, UINT64_MAX, &h);
    if (rc == ZMTP_NEED_MORE)
        return 2;
    if (rc < 0)
        return conn_end_zmtp(c, rc);
    int command = (h.flags & ZMTP_FLAG_COMMAND) != 0;
    int more = !command && (h.flags & ZMTP_FLAG_MORE) != 0;
    if (c->phase == CONN_PH_TRAFFIC) {
        /* Limits first, before a byte of the frame is kept: ZMQ_MAXMSGSIZE
         * for every frame, commands included, as libzmq's decoder; then
         * the parts a still open message may hold. */
        if (c->cfg->maxmsgsize >= 0 && h.size > (uint64_t)c->cfg->maxmsgsize)
            return conn_end_limit(c, "Message too large", EMSGSIZE);
        if (more && conn_parts_over(c, h.size))
            return conn_end_limit(c, "Multipart message too large", EMSGSIZE);
    }
    if (command && h.size <= CONN_COMMAND_MAX) {
        if (h.header_len + h.size > avail)
            return 2;
        /* The body stays valid: nothing writes to the input buffer until
         * the next read, after this returns. */
        buf_consume(in, h.header_len + (size_t)h.size);
        (*budget)--;
        return conn_on_command(c, p + h.header_len, (size_t)h.size) < 0 ? -1 : 0;
    }
    /* Larger commands (a SUBSCRIBE for a long topic) are read like large
     * data frames, once the handshake is done. */
    if (command && c->phase != CONN_PH_TRAFFIC)
        return conn_end_zmtp(c, ZMTP_E_COMMAND);
    if (c->phase != CONN_PH_TRAFFIC)
        return conn_end(c, CONN_END_PROTOCOL, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
    if (h.size > SIZE_MAX - ZMTP_FRAME_HEADER_MAX)
        return conn_end_limit(c, "Message too large", EMSGSIZE);
    size_t size = (size_t)h.size;
    if (h.header_len + size <= avail) {
        zmq_msg_t m;
        if (zmq_msg_init_size(&m, size) != 0)
            return conn_end(c, CONN_END_CLOSED, ENOMEM);
        if (size > 0)
            memcpy(zmq_msg_data(&m), p + h.header_len, size);
        buf_consume(in, h.header_len + size);
        (*budget)--;
        return conn_parts_push(c, &m, more);
    }
    if (h.header_len + size <= CONN_IN_CAP)
        return 2; /* fits the buffer: wait for the rest */
    size_t have = avail - h.header_len;
    buf_consume(in, avail);
    (*budget)--;
    if (conn_big_start(c, size, more, command, p + h.header_len, have) < 0)
        return -1;
    return c->ses.big_active ? 2 : 0;
}

int conn_parse(conn_t *c, int *budget)
{
    for (;;) {
        if (c->ses.parts_ready) {
            int rc = conn_deliver(c);
            if (rc != 0)
                return rc;
        }
        switch (c->phase) {
        case CONN_PH_GREETING: {
            int rc = conn_on_greeting(c);
            if (rc <= 0)
                return rc;
            continue;
        }
        case CONN_PH_ZAP:
            return 1; /* nothing is read while the handler decides */
        case CONN_PH_READY:
        case CONN_PH_TRAFFIC: {
            if (*budget <= 0) {
                c->drive.input_pending = 1;
                return 1;
            }
            int rc = conn_on_frame(c, budget);
            if (rc < 0)
                return -1;
            if (rc == 2)
                return 0;
            continue;
        }
        default:
            /* conn_read runs only after the TLS handshake */
            return conn_end(c, CONN_END_NO_DETAIL, EPROTO);
        }
    }
}

/* ---- heartbeat timers ----------------------------------------------------- */

static void conn_on_hb(rx_timer_t *t)
{
    conn_t *c = t->data;
    if (c->end.dead)
        return;
    c->hb.ping_due = 1;
    (void)conn_queue_heartbeats(c);
    /* a PING that does not fit ends the connection: no next interval */
    if (!c->end.dead)
        rx_timer_start(c->loop, &c->hb.ivl_timer, (uint64_t)c->cfg->heartbeat_ivl);
    conn_drive_from_timer(c);
}

/* No traffic at all since our PING, for ZMQ_HEARTBEAT_TIMEOUT: the peer is
 * gone, as libzmq decides for tcp://. */
static void conn_on_hb_deadline(rx_timer_t *t)
{
    conn_t *c = t->data;
    if (c->end.dead || c->rec.rx_count != c->hb.ping_rx_count)
        return;
    conn_end(c, CONN_END_CLOSED, ETIMEDOUT);
    conn_drive_from_timer(c);
}

static void conn_on_ttl(rx_timer_t *t)
{
    conn_t *c = t->data;
    if (c->end.dead)
        return;
    if (c->rec.rx_count != c->hb.ttl_rx_count) {
        c->hb.ttl_rx_count = c->rec.rx_count;
        rx_timer_start(c->loop, &c->hb.ttl_timer, c->hb.peer_ttl_ms);
        return;
    }
    conn_end(c, CONN_END_CLOSED, ETIMEDOUT);
    conn_drive_from_timer(c);
}

void conn_hb_init(conn_t *c)
{
    rx_timer_init(&c->hb.ivl_timer, conn_on_hb, c);
    rx_timer_init(&c->hb.deadline, conn_on_hb_deadline, c);
    rx_timer_init(&c->hb.ttl_timer, conn_on_ttl, c);
}

void conn_hb_start(conn_t *c)
{
    if (c->cfg->heartbeat_ivl > 0)
        rx_timer_start(c->loop, &c->hb.ivl_timer, (uint64_t)c->cfg->heartbeat_ivl);
}

void conn_hb_stop(conn_t *c)
{
    rx_timer_stop(c->loop, &c->hb.ivl_timer);
    rx_timer_stop(c->loop, &c->hb.deadline);
    rx_timer_stop(c->loop, &c->hb.ttl_timer);
}

/*
 * Fuzz target: a connection's ZMTP session, from the end of the TLS
 * handshake on. The real plugin/conn code runs on a real reactor loop;
 * TLS, the bridge and the I/O thread are the stubs of conn_stubs.c. The
 * input is the peer's decrypted byte stream (greeting, READY, frames,
 * commands), how it is split across reads, what the application sends the
 * other way, and when the clock moves.
 *
 * Input: an 8-byte header, the peer's bytes, then h[1] control bytes.
 *   h[0] bits 0-3 socket type (mod 11: ZMQ_PAIR..ZMQ_XSUB), 4 server,
 *        5 destroy inside `ended` (else after the run), 6 the conn owns
 *        the bridge, 7 conn_detach inside `ended`
 *   h[1] number of control bytes at the end
 *   h[2] ZMQ_MAXMSGSIZE, HEARTBEAT_IVL, _TIMEOUT, _TTL: two bits each
 *   h[3] bits 0-2 what a read returns after the last byte (WANT_READ,
 *        close_notify, reset, protocol alert, auth alert, out of memory),
 *        3-4 the TLS handshake (at once, after two WANTs, fails AUTH,
 *        fails IO), 5 HANDSHAKE_IVL, 6 `established` refuses, 7 conn_drain
 *        inside it
 *   h[4] bits 0-3 messages the application sends, 4 our Identity, 5 TLS
 *        resumption, 6 TLS set-up fails, 7 no peer certificate
 *   h[5] shape of the application's messages
 *   h[6] bits 0-1 subscriptions to replay (SUB/XSUB client), 2-7 the
 *        Identity length
 *   h[7] bits 0-6 conn_drain at that loop iteration (0: never), 7 with a
 *        deadline
 * Each loop iteration first takes a control byte: bits 0-1 how much of
 * the peer's stream arrives, 2-3 what the application does (its messages
 * become readable, it reads what it was sent), 4-6 how far the clock
 * moves, 7 a spurious wake-up of the bridge fd.
 *
 * Checked, beyond sanitizers: what reaches the bridge is exactly the
 * messages and subscriptions the input carried, whole and in order; what
 * the conn writes is a valid ZMTP stream (greeting, our READY, replayed
 * subscriptions, the application's messages in order, commands only
 * between messages, ERROR last); the conn ends only with a cause (bad
 * input, a failure a stub reported, a timer, a drain) and, when nothing
 * ends it, delivers and writes everything once input and output flow
 * freely; monitor events follow conn.h; `ended` comes once and nothing
 * happens after it.
 */
#include "conn_stubs.h"

#include "conn/conn_int.h"
#include "tls/tls.h"
#include "zmtp/zmtp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_HEADER       8
#define FZ_MAIN_ITERS   256
#define FZ_SETTLE_ITERS 4096
#define FZ_IDLE_ITERS   4
/* A data frame the conn would allocate whole on its header alone: the
 * peer's stream is cut before a larger one (libzmq does the same; it is
 * what ZMQ_MAXMSGSIZE is for). */
#define FZ_FRAME_MAX  (1u << 20)
#define FZ_CLOCK_BASE UINT64_C(1000000000)
#define FZ_APP_PARTS  (15 * 3) /* h[4]: up to 15 messages of up to 3 parts */
#define FZ_BIG_PARTS  3

static const int64_t fz_maxmsgsize[4] = {-1, 255, 4096, 40000};
static const int64_t fz_multipart_parts[4] = {-1, 3, -1, 65536};
static const int64_t fz_multipart_bytes[4] = {-1, -1, 5000, 70000};
static const int fz_hb_ivl[4] = {0, 50, 1000, 30000};
static const int fz_hb_timeout[4] = {-1, 20, 1000, 60000};
static const int fz_hb_ttl[4] = {0, 100, 3000, 10000000};
static const int fz_end_rc[8] = {TLS_WANT_READ,  TLS_E_CLOSED, TLS_E_IO,
                                 TLS_E_PROTOCOL, TLS_E_AUTH,   TLS_E_NOMEM,
                                 TLS_WANT_READ,  TLS_E_LIMIT};
static const int fz_hs_rc[4] = {TLS_OK, TLS_OK, TLS_E_AUTH, TLS_E_IO};
static const uint64_t fz_clock_step[8] = {0, 1, 10, 100, 260, 1000, 10000, 100000};

/* ---- what the peer's stream should do --------------------------------------- */

typedef struct fz_model {
    fz_part_t *parts; /* parts of complete messages, in order */
    size_t n, cap;
    fz_part_t *pings; /* PING contexts */
    size_t npings, pings_cap;
    int fatal; /* holds something the conn must end on */
    int ready; /* a valid, compatible READY came */
    const uint8_t *identity;
    size_t identity_len;
    int minor;
} fz_model_t;

static void fz_push(fz_part_t **v, size_t *n, size_t *cap, fz_part_t p)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *v = realloc(*v, *cap * sizeof(**v));
        FZ_CHECK(*v != NULL);
    }
    (*v)[(*n)++] = p;
}

/* A command in the READY or TRAFFIC phase; -1 when the conn must end. */
static int fz_model_command(fz_model_t *m, const uint8_t *body, size_t len, int app_type)
{
    zmtp_command_t cmd;
    if (zmtp_command_parse(body, len, &cmd) != ZMTP_OK)
        return -1;
    if (!m->ready) {
        zmtp_ready_t r;
        if (!zmtp_command_is(&cmd, "READY") ||
            zmtp_ready_parse(cmd.data, cmd.data_len, &r) != ZMTP_OK ||
            !zmtp_socket_types_compatible(app_type, r.socket_type))
            return -1;
        m->ready = 1;
        m->identity = r.identity;
        m->identity_len = r.identity ? r.identity_len : 0;
        return 0;
    }
    if (zmtp_command_is(&cmd, "READY") || zmtp_command_is(&cmd, "ERROR"))
        return -1;
    if (zmtp_command_is(&cmd, "PING")) {
        uint16_t ttl;
        fz_part_t ctx = {.flag = -1};
        if (zmtp_ping_parse(cmd.data, cmd.data_len, &ttl, &ctx.data, &ctx.len) != ZMTP_OK)
            return -1;
        fz_push(&m->pings, &m->npings, &m->pings_cap, ctx);
    }
    int sub = zmtp_command_is(&cmd, "SUBSCRIBE");
    if (sub || zmtp_command_is(&cmd, "CANCEL")) {
        fz_part_t p = {.data = cmd.data, .len = cmd.data_len, .more = 0, .flag = sub};
        fz_push(&m->parts, &m->n, &m->cap, p);
    }
    return 0;
}

/* Walks the stream as the conn must; may shorten *len (FZ_FRAME_MAX). */
static void fz_model_build(fz_model_t *m, const uint8_t *s, size_t *len,
                           const ep_cfg_t *cfg)
{
    size_t l = *len;
    int rc = zmtp_signature_check(s, l);
    if (rc == ZMTP_NEED_MORE)
        return;
    zmtp_greeting_t g;
    if (rc == ZMTP_OK)
        rc = zmtp_greeting_decode(s, l < ZMTP_GREETING_SIZE ? l : ZMTP_GREETING_SIZE, &g);
    if (rc == ZMTP_NEED_MORE)
        return;
    if (rc != ZMTP_OK || strcmp(g.mechanism, "NULL") != 0) {
        m->fatal = 1;
        return;
    }
    m->minor = g.minor;
    size_t pos = ZMTP_GREETING_SIZE, open = 0, open_bytes = 0;
    while (pos < l) {
        zmtp_frame_header_t h;
        rc = zmtp_frame_header_decode(s + pos, l - pos, UINT64_MAX, &h);
        if (rc == ZMTP_NEED_MORE)
            break;
        if (rc != ZMTP_OK) {
            m->fatal = 1;
            break;
        }
        const uint8_t *body = s + pos + h.header_len;
        size_t avail = l - pos - h.header_len;
        int command = (h.flags & ZMTP_FLAG_COMMAND) != 0;
        int more = !command && (h.flags & ZMTP_FLAG_MORE) != 0;
        /* After the handshake every frame is within ZMQ_MAXMSGSIZE, and a
         * message still open within the ZMTLS_MULTIPART_MAX_* limits. */
        if (m->ready && ((cfg->maxmsgsize >= 0 && h.size > (uint64_t)cfg->maxmsgsize) ||
                         (more && cfg->multipart_max_parts >= 0 &&
                          open + 2 > (uint64_t)cfg->multipart_max_parts) ||
                         (more && cfg->multipart_max_bytes >= 0 &&
                          open_bytes + h.size > (uint64_t)cfg->multipart_max_bytes))) {
            m->fatal = 1;
            break;
        }
        /* Small commands come whole from the input buffer; anything else
         * only after the handshake, read in place. */
        if (!command || h.size > CONN_COMMAND_MAX) {
            if (!m->ready) {
                m->fatal = 1;
                break;
            }
            if (h.size > FZ_FRAME_MAX) {
                *len = pos;
                break;
            }
        }
        if (h.size > avail)
            break;
        if (command) {
            size_t before = m->n;
            if (fz_model_command(m, body, (size_t)h.size, cfg->app_type) < 0) {
                m->fatal = 1;
                break;
            }
            /* rfc 37: commands only between messages. A subscription
             * inside one would become its last part: the conn ends there. */
            if (m->n != before && open > 0) {
                m->n = before;
                m->fatal = 1;
                break;
            }
        } else {
            fz_part_t p = {.data = body, .len = (size_t)h.size, .more = more, .flag = -1};
            fz_push(&m->parts, &m->n, &m->cap, p);
            open = more ? open + 1 : 0;
            open_bytes = more ? open_bytes + (size_t)h.size : 0;
        }
        pos += h.header_len + (size_t)h.size;
    }
    m->n -= open;
}

/* ---- one run -------------------------------------------------------------- */

typedef struct fz_run {
    ep_cfg_t cfg;
    conn_t *conn;
    fz_model_t model;
    bridge_subs_t *subs;
    size_t nreplay; /* replay_topics[0..nreplay) were in subs at attach */
    fz_part_t app[FZ_APP_PARTS];
    uint8_t *app_mem[FZ_APP_PARTS];
    int destroy_in_ended, own_bridge, detach_in_ended;
    int refuse, drain_in_established, drain_deadline;
    int established, attached, refused;
    int drain_requested, drain_after_attach;
    conn_end_t why;
    uint32_t value;
} fz_run_t;

static const uint8_t fz_long_topic[300] = {'T'}; /* long form, zero-padded */
static const struct {
    const uint8_t *p;
    size_t len;
} fz_replay_topics[3] = {
    {(const uint8_t *)"", 0}, {(const uint8_t *)"A", 1}, {fz_long_topic, 300}};

static void fz_drain(fz_run_t *r)
{
    r->drain_requested = 1;
    r->drain_after_attach = r->attached;
    uint64_t deadline = r->drain_deadline ? fz.clock_ms + 100 : 0;
    conn_drain(r->conn, deadline);
}

static int fz_established(conn_t *c, void *arg)
{
    fz_run_t *r = arg;
    FZ_CHECK(c == r->conn && !r->established && !fz.dead);
    FZ_CHECK(!fz.ev_succeeded && !fz.ev_failed);
    r->established = 1;
    /* Only on the READY the model accepted, with its Identity. */
    FZ_CHECK(r->model.ready);
    size_t len;
    const uint8_t *id = conn_peer_identity(c, &len);
    FZ_CHECK(len == r->model.identity_len);
    FZ_CHECK(len == 0 || memcmp(id, r->model.identity, len) == 0);
    if (r->refuse) {
        r->refused = 1;
        return -ENOMEM;
    }
    r->nreplay = r->subs != NULL ? bridge_subs_count(r->subs) : 0;
    conn_attach(c, fz_bridge_open(), r->own_bridge, r->subs);
    conn_publish_peer(c, id, len);
    r->attached = 1;
    if (r->drain_in_established)
        fz_drain(r);
    return 0;
}

static void fz_ended(conn_t *c, void *arg, conn_end_t why, uint32_t value)
{
    fz_run_t *r = arg;
    FZ_CHECK(c == r->conn && !fz.ended && fz.dead);
    fz.ended = 1;
    r->why = why;
    r->value = value;
    if (!fz.ev_succeeded) {
        /* A handshake that did not finish says how it failed, once. */
        switch (why) {
        case CONN_END_AUTH:
            FZ_CHECK(fz.ev_failed == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
            break;
        case CONN_END_PROTOCOL:
            FZ_CHECK(fz.ev_failed == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
            break;
        case CONN_END_NO_DETAIL:
            FZ_CHECK(fz.ev_failed == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
            break;
        case CONN_END_DRAINED:
            FZ_CHECK(fz.ev_failed == 0);
            break;
        default:
            FZ_CHECK(!"an unfinished handshake ended without HANDSHAKE_FAILED_*");
        }
        if (fz.ev_failed)
            FZ_CHECK(fz.failed_value == value);
    } else {
        /* an established connection ends CLOSED, whatever alert ends it */
        FZ_CHECK(why == CONN_END_CLOSED || why == CONN_END_DRAINED);
    }
    int was_up = fz.is_server ? fz.ev_succeeded : fz.ev_connected;
    FZ_CHECK(fz.ev_disconnected ==
             (was_up && why != CONN_END_AUTH && why != CONN_END_DRAINED));
    /* Never half a message in the bridge. */
    FZ_CHECK(!fz.delivering);
    if (r->detach_in_ended) {
        int cut = fz.app_next > 0 && fz.app[fz.app_next - 1].more;
        FZ_CHECK(conn_detach(c) == cut);
    }
    if (r->destroy_in_ended) {
        fz.in_destroy = 1;
        conn_destroy(&r->conn);
        fz.in_destroy = 0;
    }
}

/* ---- the application's messages -------------------------------------------- */

static uint32_t fz_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static size_t fz_part_size(uint32_t *seed, int *big)
{
    uint32_t x = fz_rand(seed);
    switch (x % 8) {
    case 0:
        return 0;
    case 4:
        return 200 + (x >> 8) % 100; /* across the short/long header */
    case 5:
    case 6:
        if (*big >= FZ_BIG_PARTS)
            return 1 + (x >> 8) % 40;
        ++*big; /* sent straight from the message */
        return x % 8 == 5 ? CONN_DIRECT_MIN + (x >> 8) % 3000 : 40000 + (x >> 8) % 30000;
    case 7:
        return 1 + (x >> 8) % 8000;
    default:
        return 1 + (x >> 8) % 40;
    }
}

static void fz_app_build(fz_run_t *r, uint8_t count, uint8_t shape)
{
    uint32_t seed = 0x9E3779B9u ^ ((uint32_t)shape * 0x01000193u);
    int sub_side = bridge_carries_subscriptions(r->cfg.app_type);
    int big = 0;
    size_t n = 0;
    for (int m = 0; m < count; m++) {
        uint32_t x = fz_rand(&seed);
        if (sub_side && (x & 1)) {
            /* (un)subscribe, short or long topic */
            static const size_t topic[5] = {0, 3, 246, 247, 300};
            size_t len = 1 + topic[(x >> 3) % 5];
            uint8_t *p = malloc(len);
            FZ_CHECK(p != NULL);
            p[0] = (x >> 1) % 4 != 0;
            memset(p + 1, 'a' + (int)(x >> 12) % 3, len - 1);
            r->app_mem[n] = p;
            r->app[n++] = (fz_part_t){.data = p, .len = len, .more = 0, .flag = p[0]};
            continue;
        }
        int parts = 1 + (int)((x >> 8) % 3);
        for (int k = 0; k < parts; k++) {
            size_t len = fz_part_size(&seed, &big);
            uint8_t *p = malloc(len ? len : 1);
            FZ_CHECK(p != NULL);
            for (size_t i = 0; i < len; i++)
                p[i] = (uint8_t)(x + i * 7 + (size_t)k * 131);
            r->app_mem[n] = p;
            r->app[n++] = (fz_part_t){.data = p, .len = len, .more = k + 1 < parts};
        }
    }
    /* What the conn must treat as a subscription: SUB/XSUB side, a whole
     * single-part message, first byte 1 or 0. */
    for (size_t i = 0; i < n; i++) {
        fz_part_t *p = &r->app[i];
        int single = !p->more && (i == 0 || !r->app[i - 1].more);
        int sub = sub_side && single && bridge_subs_is_subscription(p->data, p->len);
        p->flag = sub ? p->data[0] : -1;
    }
    fz.app = r->app;
    fz.app_n = n;
}

/* ---- what the conn wrote ----------------------------------------------------- */

/* The k-th item after our READY: a replayed subscription, then what the
 * application handed over. Subscriptions come back with flag >= 0 and
 * data = the topic. */
static fz_part_t fz_out_item(const fz_run_t *r, size_t k)
{
    if (k < r->nreplay)
        return (fz_part_t){
            .data = fz_replay_topics[k].p, .len = fz_replay_topics[k].len, .flag = 1};
    fz_part_t p = fz.app[k - r->nreplay];
    if (p.flag >= 0) {
        p.data++;
        p.len--;
    }
    return p;
}

/* Returns 1 when the output ends on a frame boundary with every item
 * handed over written. */
static int fz_check_output(const fz_run_t *r)
{
    const uint8_t *w = fz.out;
    size_t len = fz.out_len;
    uint8_t greeting[ZMTP_GREETING_SIZE];
    FZ_CHECK(zmtp_greeting_encode(greeting, 1, "NULL", fz.is_server) == sizeof(greeting));
    if (len < sizeof(greeting)) {
        FZ_CHECK(len == 0 || memcmp(w, greeting, len) == 0);
        return len == 0 && r->nreplay + fz.app_next == 0;
    }
    FZ_CHECK(memcmp(w, greeting, sizeof(greeting)) == 0);

    int t = r->cfg.app_type;
    size_t idlen =
        t == ZMQ_REQ || t == ZMQ_DEALER || t == ZMQ_ROUTER ? r->cfg.routing_id_len : 0;
    int ttl = r->cfg.heartbeat_ttl / 100;
    uint16_t ttl_ds = ttl > 0xFFFF ? 0xFFFF : (uint16_t)(ttl > 0 ? ttl : 0);
    size_t items = r->nreplay + fz.app_next;
    size_t pos = sizeof(greeting), k = 0, pongs = 0;
    int ready = 0, mid = 0, error = 0;
    while (pos < len) {
        zmtp_frame_header_t h;
        int rc = zmtp_frame_header_decode(w + pos, len - pos, UINT64_MAX, &h);
        if (rc == ZMTP_NEED_MORE)
            return 0;
        FZ_CHECK(rc == ZMTP_OK);
        if (h.size > len - pos - h.header_len)
            return 0;
        const uint8_t *body = w + pos + h.header_len;
        size_t size = (size_t)h.size;
        pos += h.header_len + size;
        FZ_CHECK(!error); /* ERROR is the last word */
        if (h.flags & ZMTP_FLAG_COMMAND) {
            zmtp_command_t cmd;
            FZ_CHECK(zmtp_command_parse(body, size, &cmd) == ZMTP_OK);
            FZ_CHECK(!mid); /* rfc 37: commands only between messages */
            if (!ready) {
                zmtp_ready_t rd;
                FZ_CHECK(zmtp_command_is(&cmd, "READY"));
                FZ_CHECK(zmtp_ready_parse(cmd.data, cmd.data_len, &rd) == ZMTP_OK);
                FZ_CHECK(rd.socket_type == t && rd.identity_len == idlen);
                FZ_CHECK(idlen == 0 ||
                         memcmp(rd.identity, r->cfg.routing_id, idlen) == 0);
                ready = 1;
            } else if (zmtp_command_is(&cmd, "PING")) {
                uint16_t got;
                const uint8_t *ctx;
                size_t ctx_len;
                FZ_CHECK(zmtp_ping_parse(cmd.data, cmd.data_len, &got, &ctx, &ctx_len) ==
                         ZMTP_OK);
                FZ_CHECK(got == ttl_ds && ctx_len == 0);
            } else if (zmtp_command_is(&cmd, "PONG")) {
                /* the context of a PING the peer sent, at most once each */
                FZ_CHECK(++pongs <= r->model.npings);
                int found = 0;
                for (size_t i = 0; i < r->model.npings && !found; i++)
                    found = r->model.pings[i].len == cmd.data_len &&
                            memcmp(r->model.pings[i].data, cmd.data, cmd.data_len) == 0;
                FZ_CHECK(found);
            } else if (zmtp_command_is(&cmd, "ERROR")) {
                const uint8_t *reason;
                size_t reason_len;
                FZ_CHECK(zmtp_error_parse(cmd.data, cmd.data_len, &reason, &reason_len) ==
                         ZMTP_OK);
                /* a protocol error, or a limit (rfc 37 ERROR, then a loss) */
                FZ_CHECK(fz.ended &&
                         (r->why == CONN_END_PROTOCOL ||
                          (r->why == CONN_END_CLOSED && r->value == EMSGSIZE)));
                error = 1;
            } else {
                int cancel = zmtp_command_is(&cmd, "CANCEL");
                FZ_CHECK(cancel || zmtp_command_is(&cmd, "SUBSCRIBE"));
                FZ_CHECK(r->model.minor >= 1 && k < items);
                fz_part_t e = fz_out_item(r, k++);
                FZ_CHECK(e.flag == !cancel && e.len == cmd.data_len);
                FZ_CHECK(e.len == 0 || memcmp(e.data, cmd.data, e.len) == 0);
            }
            continue;
        }
        FZ_CHECK(ready && k < items);
        fz_part_t e = fz_out_item(r, k++);
        int more = (h.flags & ZMTP_FLAG_MORE) != 0;
        if (e.flag >= 0) {
            /* rfc 23 form for a ZMTP 3.0 peer */
            FZ_CHECK(r->model.minor == 0 && !more && size == e.len + 1);
            FZ_CHECK(body[0] == e.flag);
            body++;
            size--;
        } else {
            FZ_CHECK(more == e.more && size == e.len);
        }
        FZ_CHECK(size == 0 || memcmp(body, e.data, size) == 0);
        mid = more;
    }
    return k == items;
}

/* ---- driving ---------------------------------------------------------------- */

static void fz_iterate(void)
{
    rx_loop_stop(fz.loop);
    FZ_CHECK(rx_loop_run(fz.loop) == 0);
    if (fz.dead)
        fz.dead_settled = 1;
}

/* What happens outside the conn before an iteration. */
static void fz_world_step(void)
{
    uint8_t b = fz_ctl_next();
    static const size_t arrive[4] = {SIZE_MAX, 16, 512, 0};
    size_t more = arrive[b & 3];
    fz.in_avail = more > fz.in_len - fz.in_avail ? fz.in_len : fz.in_avail + more;

    int signal = (b & 0x80) != 0;
    unsigned app = (b >> 2) & 3;
    if (app == 0 && fz.app_visible < fz.app_n) {
        fz.app_visible = fz.app_n;
        signal = 1;
    } else if (app == 1 && fz.app_visible < fz.app_n) {
        while (fz.app_visible < fz.app_n && fz.app[fz.app_visible++].more)
            ;
        signal = 1;
    }
    if ((app == 0 || app == 2) && fz.send_blocked) {
        fz.send_blocked = 0;
        signal = 1;
    }
    if (signal)
        fz_bridge_signal();
    fz.clock_ms += fz_clock_step[(b >> 4) & 7];
    fz_update_readable();
}

static int fz_alive(const fz_run_t *r)
{
    return r->conn != NULL && !fz.ended;
}

static void fz_drive(fz_run_t *r, int drain_iter)
{
    unsigned idle = 0;
    for (int i = 1; i <= FZ_MAIN_ITERS && fz_alive(r); i++) {
        if (i == drain_iter && !r->drain_requested) {
            fz_drain(r);
            if (!fz_alive(r))
                break;
        }
        fz_world_step();
        uint64_t before = fz.progress;
        fz_iterate();
        idle = fz.progress == before ? idle + 1 : 0;
        if (idle >= FZ_IDLE_ITERS && fz.in_avail == fz.in_len &&
            fz.app_visible == fz.app_n && !fz.send_blocked)
            break;
    }
    if (drain_iter > 0 && !r->drain_requested && fz_alive(r))
        fz_drain(r);

    /* Everything flows from here: the conn must finish what it can. */
    fz.benign = 1;
    idle = 0;
    for (int i = 0; i < FZ_SETTLE_ITERS && fz_alive(r) && idle < FZ_IDLE_ITERS; i++) {
        fz_world_step();
        uint64_t before = fz.progress;
        fz_iterate();
        idle = fz.progress == before ? idle + 1 : 0;
    }
    FZ_CHECK(idle >= FZ_IDLE_ITERS || !fz_alive(r));

    if (fz.ended && r->conn != NULL) {
        /* Ended but not destroyed yet: nothing may stir any more. */
        fz_bridge_signal();
        fz.clock_ms += 1000000;
        fz_iterate();
        fz_iterate();
    }
}

/* FZ_TRACE=1 in the environment: one line per input, for reading a
 * reproducer. */
static void fz_trace(const fz_run_t *r, int complete)
{
    static int on = -1;
    if (on < 0)
        on = getenv("FZ_TRACE") != NULL;
    if (!on)
        return;
    fprintf(stderr,
            "fz: type %d server %d | in %zu/%zu model %zu parts%s | delivered %zu | "
            "app %zu/%zu | out %zu%s | events C%d S%d F%#x D%d | ended %d why %d "
            "value %u%s%s\n",
            r->cfg.app_type, fz.is_server, fz.in_pos, fz.in_len, r->model.n,
            r->model.fatal ? " fatal" : "", fz.delivered, fz.app_next, fz.app_n,
            fz.out_len, complete ? " complete" : "", fz.ev_connected, fz.ev_succeeded,
            (unsigned)fz.ev_failed, fz.ev_disconnected, fz.ended, (int)r->why, r->value,
            fz.injected ? " injected" : "", r->drain_requested ? " drain" : "");
}

/* After the run, with the conn destroyed. */
static void fz_verdict(fz_run_t *r)
{
    const fz_model_t *m = &r->model;
    int complete = fz_check_output(r);
    fz_trace(r, complete);
    FZ_CHECK(!fz.delivering);
    if (!fz.ended) {
        /* Free-flowing input and output, and still up: the input was
         * valid and everything went through. */
        FZ_CHECK(fz.failure == 0 && !r->drain_requested && !m->fatal);
        FZ_CHECK(fz.delivered == m->n);
        FZ_CHECK(complete);
        if (r->attached)
            FZ_CHECK(fz.app_next == fz.app_n);
        return;
    }
    /* An end has a cause. */
    int timer = r->value == ETIMEDOUT && fz.clock_ms > FZ_CLOCK_BASE;
    FZ_CHECK(fz.injected || r->refused || m->fatal || timer ||
             (r->drain_requested && r->why == CONN_END_DRAINED));
    if (r->why == CONN_END_DRAINED && r->value == 0 && r->drain_after_attach)
        FZ_CHECK(complete);
}

static void fz_setup(fz_run_t *r, const uint8_t *h)
{
    ep_cfg_t *cfg = &r->cfg;
    cfg->sock_id = 7;
    cfg->ep_id = 3;
    cfg->app_type = (h[0] & 15) % 11;
    fz.is_server = (h[0] >> 4) & 1;
    cfg->is_bind = fz.is_server;
    snprintf(cfg->uri, sizeof(cfg->uri), "tls://fuzz.example:5555");
    snprintf(cfg->verify_name, sizeof(cfg->verify_name), "fuzz.example");
    r->destroy_in_ended = (h[0] >> 5) & 1;
    r->own_bridge = (h[0] >> 6) & 1;
    r->detach_in_ended = (h[0] >> 7) & 1;

    cfg->maxmsgsize = fz_maxmsgsize[h[2] & 3];
    /* The multipart limits ride on the same bits: tight with the small
     * ZMQ_MAXMSGSIZE values, off otherwise. */
    cfg->multipart_max_parts = fz_multipart_parts[h[2] & 3];
    cfg->multipart_max_bytes = fz_multipart_bytes[h[2] & 3];
    cfg->heartbeat_ivl = fz_hb_ivl[(h[2] >> 2) & 3];
    cfg->heartbeat_timeout = fz_hb_timeout[(h[2] >> 4) & 3];
    cfg->heartbeat_ttl = fz_hb_ttl[(h[2] >> 6) & 3];

    fz.end_rc = fz_end_rc[h[3] & 7];
    fz.hs_wants = ((h[3] >> 3) & 3) == 1 ? 2 : 0;
    fz.hs_rc = fz_hs_rc[(h[3] >> 3) & 3];
    cfg->handshake_ivl = (h[3] >> 5) & 1 ? 5000 : 0;
    r->refuse = (h[3] >> 6) & 1;
    r->drain_in_established = (h[3] >> 7) & 1;

    if ((h[4] >> 4) & 1) {
        cfg->routing_id_len = h[6] >> 2;
        for (size_t i = 0; i < cfg->routing_id_len; i++)
            cfg->routing_id[i] = (uint8_t)(i * 37 + 1);
    }
    cfg->resume = (h[4] >> 5) & 1;
    if ((h[4] >> 6) & 1) {
        if (cfg->resume && !fz.is_server)
            fz.resume_rc = -ENOMEM;
        else
            fz.new_rc = -ENOMEM;
    }
    fz.peer_info_rc = (h[4] >> 7) & 1 ? -ENOENT : 0;

    if (bridge_carries_subscriptions(cfg->app_type) && !fz.is_server) {
        FZ_CHECK(bridge_subs_new(&r->subs) == 0);
        for (int i = 0; i < (h[6] & 3); i++) {
            uint8_t msg[301] = {1};
            memcpy(msg + 1, fz_replay_topics[i].p, fz_replay_topics[i].len);
            FZ_CHECK(bridge_subs_apply(r->subs, msg, fz_replay_topics[i].len + 1) == 0);
        }
    }
    r->drain_deadline = h[7] >> 7;
    fz.cfg = cfg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FZ_HEADER)
        return 0;
    memset(&fz, 0, sizeof(fz));
    fz_run_t *r = calloc(1, sizeof(*r));
    FZ_CHECK(r != NULL);
    const uint8_t *h = data;
    size_t nctl = h[1] < size - FZ_HEADER ? h[1] : size - FZ_HEADER;
    fz.ctl = data + size - nctl;
    fz.ctl_len = nctl;
    fz.in = data + FZ_HEADER;
    fz.in_len = size - FZ_HEADER - nctl;
    fz.clock_fake = 1;
    fz.clock_ms = FZ_CLOCK_BASE;

    fz_setup(r, h);
    fz_model_build(&r->model, fz.in, &fz.in_len, &r->cfg);
    fz_app_build(r, h[4] & 15, h[5]);
    FZ_CHECK(rx_loop_new(&fz.loop) == 0);
    int sv[2];
    FZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    fz.conn_fd = sv[0];
    fz.peer_fd = sv[1];
    fz.expect = r->model.parts;
    fz.expect_n = r->model.n;

    conn_owner_t owner = {.established = fz_established, .ended = fz_ended, .arg = r};
    int rc = conn_new(&r->conn, &r->cfg, NULL, sv[0], fz.is_server, &owner);
    if (rc != 0) {
        FZ_CHECK(rc == -ENOMEM && (fz.new_rc || fz.resume_rc) && r->conn == NULL);
        FZ_CHECK(!fz.tls_live && fcntl(sv[0], F_GETFD) == -1);
        fz.fd_closed = 1;
    } else {
        FZ_CHECK(!fz.new_rc && !fz.resume_rc);
        fz_drive(r, h[7] & 0x7f);
        if (r->conn != NULL) {
            fz.in_destroy = 1;
            conn_destroy(&r->conn);
            fz.in_destroy = 0;
        }
        FZ_CHECK(!fz.tls_live && fz.fd_closed && !fz.peer_listed);
        fz_verdict(r);
    }

    fz_bridge_close();
    close(sv[1]);
    rx_loop_destroy(&fz.loop);
    bridge_subs_destroy(&r->subs);
    for (size_t i = 0; i < FZ_APP_PARTS; i++)
        free(r->app_mem[i]);
    free(r->model.parts);
    free(r->model.pings);
    free(r);
    free(fz.out);
    memset(&fz, 0, sizeof(fz));
    return 0;
}

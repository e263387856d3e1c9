/*
 * One TLS + ZMTP connection: its life cycle, its phases, the loop that
 * drives the layers below (conn_int.h) and the way it ends. See conn.h for
 * the contracts.
 */
#include "conn/conn_int.h"

#include "endpoint/endpoint.h"
#include "io/io.h"
#include "peers/peers.h"
#include "zmtp/zmtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static void conn_drive(conn_t *c);

/* ---- ending ------------------------------------------------------------ */

void conn_emit(conn_t *c, int event, uint32_t value)
{
    io_emit(c->cfg->sock_id, event, value, c->cfg->uri);
}

static void conn_stop_timers(conn_t *c)
{
    rx_timer_stop(c->loop, &c->handshake_timer);
    rx_timer_stop(c->loop, &c->resume_timer);
    rx_timer_stop(c->loop, &c->expiry_timer);
    rx_timer_stop(c->loop, &c->drain.timer);
    rx_timer_stop(c->loop, &c->trim.timer);
    conn_hb_stop(c);
}

int conn_end(conn_t *c, conn_end_t why, uint32_t value)
{
    if (c->end.dead)
        return -1;
    c->end.dead = 1;
    c->end.why = why;
    c->end.value = value;
    /* Before DISCONNECTED goes out: whoever reacts to it must not find the
     * peer still listed. */
    peers_remove(c);
    conn_log_end(c, why, value);
    if (!c->ses.succeeded) {
        if (why == CONN_END_AUTH)
            conn_emit(c, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, value);
        else if (why == CONN_END_PROTOCOL)
            conn_emit(c, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, value);
        else if (why == CONN_END_NO_DETAIL)
            conn_emit(c, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, value);
    }
    int was_up = c->is_server ? c->ses.succeeded : c->ses.connected_emitted;
    if (was_up && why != CONN_END_AUTH && why != CONN_END_DRAINED)
        conn_emit(c, ZMQ_EVENT_DISCONNECTED, (uint32_t)c->fd);
    if (why == CONN_END_PROTOCOL && c->phase >= CONN_PH_READY && !c->end.tls_failed) {
        /* Tell the peer why (rfc 37 ERROR) and let our READY, already
         * queued, go out first: the peer then sees the mismatch itself
         * instead of a bare reset. Best effort, never waits. */
        conn_queue_error(c, "Protocol error");
        conn_flush(c);
    }
    if (why != CONN_END_AUTH && why != CONN_END_NO_DETAIL)
        tls_conn_shutdown(c->tls);
    rx_io_stop(c->loop, &c->io, RX_READ | RX_WRITE);
    rx_io_stop(c->loop, &c->bio, RX_READ);
    conn_zap_fini(c);
    conn_stop_timers(c);
    return -1;
}

int conn_end_limit(conn_t *c, const char *reason, int err)
{
    if (!c->end.dead && !c->end.tls_failed) {
        conn_queue_error(c, reason);
        conn_flush(c);
    }
    return conn_end(c, CONN_END_CLOSED, (uint32_t)err);
}

int conn_end_tls(conn_t *c, int rc)
{
    int alert = tls_conn_alert(c->tls);
    int up = c->ses.succeeded;
    /* tls.h: after a failure only queries and destroy; no ERROR goes out */
    c->end.tls_failed = 1;
    switch (rc) {
    case TLS_E_AUTH:
        /* A certificate alert on an established connection (a peer that
         * stopped trusting us) ends it like any other loss: DISCONNECTED,
         * and the transient schedule, not the auth one. */
        if (up)
            return conn_end(c, CONN_END_CLOSED, alert < 0 ? ECONNRESET : (uint32_t)alert);
        return conn_end(c, CONN_END_AUTH, alert < 0 ? 0 : (uint32_t)alert);
    case TLS_E_PROTOCOL:
        return conn_end(c, up ? CONN_END_CLOSED : CONN_END_PROTOCOL,
                        alert >= 0 ? (uint32_t)alert
                                   : ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED);
    case TLS_E_NOMEM:
        return conn_end(c, up ? CONN_END_CLOSED : CONN_END_NO_DETAIL, ENOMEM);
    case TLS_E_LIMIT:
        /* A peer flooding us with KeyUpdates after the handshake is dropped
         * like a lost connection: its credentials were fine. */
        return conn_end(c, up ? CONN_END_CLOSED : CONN_END_NO_DETAIL, EPROTO);
    case TLS_E_CLOSED:
        /* A peer that leaves mid-handshake (its read returned 0) is EPIPE
         * in libzmq, and libzmq's own tests hold a ZAP handshake to it. */
        return conn_end(c, up ? CONN_END_CLOSED : CONN_END_NO_DETAIL,
                        up ? ECONNRESET : EPIPE);
    default: {
        int err = tls_conn_errno(c->tls);
        if (!up && tls_conn_peer_eof(c->tls))
            err = EPIPE;
        return conn_end(c, up ? CONN_END_CLOSED : CONN_END_NO_DETAIL,
                        (uint32_t)(err ? err : ECONNRESET));
    }
    }
}

int conn_end_zmtp(conn_t *c, int zerr)
{
    return conn_end(c, c->ses.succeeded ? CONN_END_CLOSED : CONN_END_PROTOCOL,
                    (uint32_t)zmtp_error_event_value(zerr));
}

/* ---- phases ------------------------------------------------------------ */

/* TLS: the handshake. 0 while it waits, 1 once done, -1 ended. */
static int conn_tls_step(conn_t *c)
{
    int rc = tls_conn_handshake(c->tls);
    if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE) {
        c->rec.handshake_wants = rc == TLS_WANT_READ ? RX_READ : RX_WRITE;
        return 0;
    }
    if (rc < 0)
        return conn_end_tls(c, rc);
    c->phase = CONN_PH_GREETING;
    /* ZMQ_HANDSHAKE_IVL = 0: the TLS phase had its own deadline, and the
     * ZMTP handshake has none, as libzmq's. */
    if (c->cfg->handshake_ivl <= 0)
        rx_timer_stop(c->loop, &c->handshake_timer);
    /* The server has verified the client: it speaks first. The client
     * waits for that proof before sending anything. */
    if (c->is_server && conn_queue_greeting(c) < 0)
        return -1;
    return 1;
}

static unsigned conn_tls_wants(const conn_t *c)
{
    return c->rec.handshake_wants;
}

/* The ZMTP phases read unless a message waits for the bridge or a drain
 * stopped input, and write while output waits. */
static unsigned conn_stream_wants(const conn_t *c)
{
    unsigned want = 0;
    if (!c->ses.parts_ready && !c->drain.active)
        want |= c->rec.read_wants ? c->rec.read_wants : RX_READ;
    if (conn_out_len(c) > 0)
        want |= c->rec.write_wants ? c->rec.write_wants : RX_WRITE;
    return want;
}

/* ZAP: the handler decides; only output already queued (our greeting)
 * still goes out, and the peer is watched for a hang-up until it sends
 * anything (conn_zap_step). */
static unsigned conn_zap_wants(const conn_t *c)
{
    unsigned want = c->zap.peer_held ? 0 : RX_READ;
    if (conn_out_len(c) > 0)
        want |= c->rec.write_wants ? c->rec.write_wants : RX_WRITE;
    return want;
}

/* What each phase does when the connection runs. `step` runs first; while
 * it returns 0 the phase waits for `wants`. Then, in phases that read,
 * input is read and parsed (conn_parse dispatches on the phase: greeting,
 * READY, frames); in phases that pump, the bridge is emptied into the
 * output; output is flushed in every phase past TLS. The handshake timer
 * (ZMQ_HANDSHAKE_IVL) covers every phase before TRAFFIC. */
typedef struct conn_phase_def {
    const char *name;
    int (*step)(conn_t *c);
    unsigned (*wants)(const conn_t *c);
    int reads;
    int pumps;
} conn_phase_def_t;

static const conn_phase_def_t conn_phases[CONN_PH_COUNT] = {
    [CONN_PH_TLS] = {"TLS", conn_tls_step, conn_tls_wants, 0, 0},
    [CONN_PH_GREETING] = {"GREETING", NULL, conn_stream_wants, 1, 0},
    [CONN_PH_READY] = {"READY", NULL, conn_stream_wants, 1, 0},
    [CONN_PH_ZAP] = {"ZAP", conn_zap_step, conn_zap_wants, 0, 0},
    [CONN_PH_TRAFFIC] = {"TRAFFIC", NULL, conn_stream_wants, 1, 1},
};

/* ---- driving ----------------------------------------------------------- */

static void conn_arm(conn_t *c)
{
    unsigned want = conn_phases[c->phase].wants(c);
    rx_io_stop(c->loop, &c->io, (RX_READ | RX_WRITE) & ~want);
    rx_io_start(c->loop, &c->io, want);
}

static int conn_step(conn_t *c, int *budget)
{
    const conn_phase_def_t *ph = &conn_phases[c->phase];
    if (ph->step != NULL) {
        int rc = ph->step(c);
        if (rc <= 0)
            return rc;
    }
    if (conn_phases[c->phase].reads && !c->drain.active && conn_read(c, budget) < 0)
        return -1;
    if (conn_phases[c->phase].pumps && c->pump.bridge != NULL &&
        conn_pull_bridge(c, budget) < 0)
        return -1;
    if (conn_flush(c) < 0)
        return -1;
    /* A PONG held back behind the previous one goes once that one went. */
    if (c->hb.pong_due && !c->pump.mid && c->rec.out_sent >= c->hb.pong_end &&
        (conn_queue_heartbeats(c) < 0 || conn_flush(c) < 0))
        return -1;
    if (c->drain.active && c->pump.empty && !c->pump.mid && conn_out_len(c) == 0)
        return conn_end(c, CONN_END_DRAINED, 0);
    return 0;
}

/* The only entry point from the loop: runs the phases until nothing moves,
 * then tells the owner if the connection ended. Re-entrant calls (an owner
 * callback touching the conn) just ask the running one to go round again. */
static void conn_drive(conn_t *c)
{
    conn_drive_state_t *d = &c->drive;
    if (d->in_drive) {
        d->again = 1;
        return;
    }
    d->in_drive = 1;
    int budget = CONN_BUDGET;
    int rounds = 0;
    do {
        d->again = 0;
        d->input_pending = 0;
        c->pump.armed = 0;
        if (c->end.dead || conn_step(c, &budget) < 0)
            break;
        if (d->input_pending)
            d->again = 1;
        if (conn_pump_poll(c) < 0)
            break;
        if (d->again && (budget <= 0 || ++rounds >= 64)) {
            rx_timer_start(c->loop, &c->resume_timer, 0);
            break;
        }
    } while (d->again);
    d->in_drive = 0;
    if (c->end.dead) {
        c->owner.ended(c, c->owner.arg, c->end.why, c->end.value);
        return; /* c may be gone */
    }
    conn_arm(c);
}

void conn_drive_from_timer(conn_t *c)
{
    conn_drive(c);
}

static void conn_on_io(rx_io_t *io, unsigned revents)
{
    conn_t *c = io->data;
    if (io == &c->io && (revents & RX_READ))
        c->rec.rx_empty = 0;
    conn_drive(c);
}

static void conn_on_resume(rx_timer_t *t)
{
    conn_drive(t->data);
}

static void conn_on_handshake_timeout(rx_timer_t *t)
{
    conn_t *c = t->data;
    if (c->phase != CONN_PH_TRAFFIC && !c->end.dead) {
        conn_end(c, CONN_END_NO_DETAIL, ETIMEDOUT);
        conn_drive(c);
    }
}

static void conn_on_expiry(rx_timer_t *t)
{
    conn_t *c = t->data;
    if (!c->end.dead) {
        conn_end(c, CONN_END_CLOSED, EKEYEXPIRED);
        conn_drive_from_timer(c);
    }
}

void conn_expiry_start(conn_t *c)
{
    int64_t left;
    if (tls_conn_peer_expiry(c->tls, &left) != 0 || left > CONN_EXPIRY_MAX_S)
        return;
    rx_timer_start(c->loop, &c->expiry_timer, left > 0 ? (uint64_t)left * 1000 : 0);
}

static void conn_on_drain_timeout(rx_timer_t *t)
{
    conn_t *c = t->data;
    if (!c->end.dead) {
        conn_end(c, CONN_END_DRAINED, ETIMEDOUT);
        conn_drive(c);
    }
}

/* Idle since the timer started, nothing half-read, nothing waiting to be
 * written: drop the buffers. Busy connections just re-arm. */
static void conn_on_trim(rx_timer_t *t)
{
    conn_t *c = t->data;
    if (c->end.dead || conn_record_trim(c))
        return;
    c->trim.rx_count = c->rec.rx_count;
    c->trim.tx_count = c->rec.tx_count;
    rx_timer_start(c->loop, &c->trim.timer, CONN_TRIM_MS);
}

/* ---- public ------------------------------------------------------------ */

int conn_new(conn_t **out, const ep_cfg_t *cfg, SSL_CTX *tls, int fd, int is_server,
             const conn_owner_t *owner)
{
    conn_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return -ENOMEM;
    }
    c->cfg = cfg;
    c->owner = *owner;
    c->loop = io_loop();
    c->fd = fd;
    c->is_server = is_server;
    c->phase = CONN_PH_TLS;
    conn_record_init(c);
    int rc =
        tls_conn_new(&c->tls, tls, fd, is_server,
                     is_server || cfg->verify_name[0] == '\0' ? NULL : cfg->verify_name);
    /* Keyed by the endpoint string: a reconnect to the same endpoint from
     * the same socket (same credentials) resumes. */
    if (rc == 0 && !is_server && cfg->resume &&
        tls_conn_resume(c->tls, cfg->uri) == -ENOMEM)
        rc = -ENOMEM;
    if (rc != 0) {
        tls_conn_destroy(&c->tls);
        free(c);
        close(fd);
        return rc;
    }
    rx_io_init(&c->io, fd, 0, conn_on_io, c);
    rx_io_init(&c->bio, -1, RX_EDGE, conn_on_io, c);
    conn_log_start(c);
    rx_timer_init(&c->handshake_timer, conn_on_handshake_timeout, c);
    rx_timer_init(&c->resume_timer, conn_on_resume, c);
    rx_timer_init(&c->expiry_timer, conn_on_expiry, c);
    rx_timer_init(&c->drain.timer, conn_on_drain_timeout, c);
    rx_timer_init(&c->trim.timer, conn_on_trim, c);
    conn_hb_init(c);
    c->pump.sub_side = bridge_carries_subscriptions(cfg->app_type);
    /* The TLS phase always has a deadline: a peer cannot hold a connection
     * by never finishing its handshake, even with ZMQ_HANDSHAKE_IVL = 0. */
    rx_timer_start(c->loop, &c->handshake_timer,
                   cfg->handshake_ivl > 0 ? (uint64_t)cfg->handshake_ivl
                                          : CONN_TLS_DEADLINE_MS);
    /* Start on the next iteration: the owner is still setting up. A server
     * waits for the client's first bytes instead, so a connection that
     * sends nothing never gets OpenSSL's record buffers. */
    if (!is_server || rx_io_start(c->loop, &c->io, RX_READ) != 0)
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
    conn_zap_fini(c);
    conn_stop_timers(c);
    conn_session_fini(c);
    conn_record_fini(c);
    if (c->pump.owned)
        bridge_destroy(&c->pump.bridge);
    tls_conn_destroy(&c->tls);
    io_linger_close(c->fd);
    free(c);
}

void conn_attach(conn_t *c, bridge_t *b, int own, bridge_subs_t *subs)
{
    conn_pump_t *pu = &c->pump;
    pu->bridge = b;
    pu->owned = own;
    pu->subs = pu->sub_side ? subs : NULL;
    /* A pipe that outlived the last connection will not repeat what it
     * subscribed to: tell the new publisher ourselves. */
    for (size_t i = 0; pu->subs != NULL && i < bridge_subs_count(pu->subs); i++) {
        size_t len;
        const uint8_t *topic = bridge_subs_topic(pu->subs, i, &len);
        if (conn_queue_subscription(c, 0, topic, len) < 0)
            break;
    }
    pu->mid = 0;
    pu->empty = 0;
    rx_io_init(&c->bio, bridge_fd(b), RX_EDGE, conn_on_io, c);
    rx_io_start(c->loop, &c->bio, RX_READ);
    conn_drive(c);
}

int conn_detach(conn_t *c)
{
    int mid = c->pump.mid;
    rx_io_close(c->loop, &c->bio);
    c->pump.bridge = NULL;
    c->pump.owned = 0;
    c->pump.subs = NULL;
    return mid;
}

void conn_drain(conn_t *c, uint64_t deadline_ms)
{
    if (c->end.dead)
        return;
    if (c->phase != CONN_PH_TRAFFIC || c->pump.bridge == NULL) {
        conn_end(c, CONN_END_DRAINED, 0);
    } else {
        c->drain.active = 1;
        c->pump.empty = 0;
        if (deadline_ms > 0) {
            uint64_t now = rx_now(c->loop);
            rx_timer_start(c->loop, &c->drain.timer,
                           deadline_ms > now ? deadline_ms - now : 0);
        }
    }
    conn_drive(c);
}

void conn_publish_peer(conn_t *c, const uint8_t *routing_id, size_t routing_id_len)
{
    tls_peer_info_t info;
    /* an ended connection has no peer to show */
    if (c->end.dead || tls_conn_peer_info(c->tls, &info) != 0)
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
    peers_add(c, &key, &info, addr, c->zap.user_id); /* takes info */
}

const uint8_t *conn_peer_identity(const conn_t *c, size_t *len)
{
    *len = c->ses.peer_id_len;
    return c->ses.peer_id;
}

int conn_fd(const conn_t *c)
{
    return c->fd;
}

/*
 * What a connection tells the operator (log/log.h, ZMTLS_LOG): its
 * handshake's outcome and the loss of an authenticated peer, one line
 * each, written before the matching monitor event goes out. The format is
 * documented in docs/zmq_tls.7.md ("Diagnostics"); keep the two in step.
 */
#include "conn/conn_int.h"

#include "log/log.h"
#include "policy/alert.h"

#include <string.h>

/* one phase a line */
/* clang-format off */
static const char *const conn_phase_names[CONN_PH_COUNT] = {
    [CONN_PH_TLS] = "tls",
    [CONN_PH_GREETING] = "greeting",
    [CONN_PH_READY] = "ready",
    [CONN_PH_ZAP] = "zap",
    [CONN_PH_TRAFFIC] = "traffic",
};
/* clang-format on */

void conn_log_start(conn_t *c)
{
    if (!log_on(LOG_INFO))
        return;
    /* Taken now: once the peer resets, getpeername knows it no more. */
    log_peer_address(c->fd, c->peer_addr, sizeof(c->peer_addr));
    if (!log_on(LOG_DEBUG))
        return;
    log_line_t l;
    log_begin(&l, c->cfg->uri, c->is_server ? "tcp-accepted" : "tcp-connected",
              c->peer_addr);
    log_end(&l);
}

static void conn_log_subject(conn_t *c, log_line_t *l)
{
    /* Past the TLS phase our handshake completed (tls.h), so the peer's
     * certificate was accepted: a client refused by the server. */
    tls_peer_info_t pi;
    if (c->phase > CONN_PH_TLS && tls_conn_peer_info(c->tls, &pi) == 0) {
        log_add_quoted(l, "subject", pi.subject);
        tls_peer_info_free(&pi);
        return;
    }
    const char *refused = tls_conn_refused_subject(c->tls);
    if (refused[0] != '\0')
        log_add_quoted(l, "subject", refused);
    else
        log_add(l, "subject=unknown");
}

/* alert=48 alert_name=unknown_ca alert_dir=sent, when TLS ended with one. */
static int conn_log_alert(conn_t *c, log_line_t *l)
{
    int a = c->end.tls_failed ? tls_conn_alert(c->tls) : -1;
    if (a < 0)
        return 0;
    log_add(l, "alert=%d alert_name=%s alert_dir=%s", a, policy_alert_name(a),
            tls_conn_alert_received(c->tls) ? "received" : "sent");
    return 1;
}

static void conn_log_errno(log_line_t *l, uint32_t value)
{
    log_add(l, "errno=%u", value);
    log_add_quoted(l, "error", strerror((int)value));
}

static void conn_log_reason(conn_t *c, log_line_t *l)
{
    if (c->end.tls_failed)
        log_add_quoted(l, "reason", tls_conn_reason(c->tls));
}

void conn_log_established(conn_t *c)
{
    if (!log_on(LOG_INFO))
        return;
    tls_peer_info_t pi;
    int have = tls_conn_peer_info(c->tls, &pi) == 0;
    log_line_t l;
    log_begin(&l, c->cfg->uri, c->is_server ? "accepted" : "connected", c->peer_addr);
    log_add_quoted(&l, "subject", have ? pi.subject : "");
    log_add_quoted(&l, "san", have ? pi.san : "");
    log_add(&l, "resumed=%d", tls_conn_resumed(c->tls));
    log_end(&l);
    if (have)
        tls_peer_info_free(&pi);
}

void conn_log_end(conn_t *c, conn_end_t why, uint32_t value)
{
    if (!log_on(LOG_INFO))
        return;
    log_line_t l;
    const char *phase = conn_phase_names[c->phase];
    if (!c->ses.succeeded && why == CONN_END_AUTH) {
        log_begin(&l, c->cfg->uri, "refused", c->peer_addr);
        conn_log_subject(c, &l);
        if (value >= 300) /* a ZAP status code, not a TLS alert */
            log_add(&l, "zap_status=%u", value);
        else if (!conn_log_alert(c, &l))
            log_add(&l, "alert=%u alert_name=%s alert_dir=-", value,
                    policy_alert_name((int)value));
    } else if (!c->ses.succeeded && why == CONN_END_PROTOCOL) {
        log_begin(&l, c->cfg->uri, "protocol-error", c->peer_addr);
        if (!conn_log_alert(c, &l))
            log_add(&l, "code=0x%08x", value);
    } else if (!c->ses.succeeded && why == CONN_END_NO_DETAIL) {
        log_begin(&l, c->cfg->uri, "failed", c->peer_addr);
        conn_log_errno(&l, value);
    } else {
        /* DISCONNECTED goes out exactly when this holds (conn_end). */
        int was_up = c->is_server ? c->ses.succeeded : c->ses.connected_emitted;
        if (!was_up || why == CONN_END_AUTH || why == CONN_END_DRAINED)
            return;
        log_begin(&l, c->cfg->uri, "disconnected", c->peer_addr);
        if (!conn_log_alert(c, &l))
            conn_log_errno(&l, value);
        conn_log_reason(c, &l);
        log_end(&l);
        return;
    }
    log_add(&l, "phase=%s", phase);
    conn_log_reason(c, &l);
    log_end(&l);
}

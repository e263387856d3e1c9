/*
 * TLS record I/O of a connection: the decrypted input buffer, the encoded
 * output buffer and the direct-send message, and the reads and writes that
 * move them (see conn_int.h).
 */
#include "conn/conn_int.h"

#include <errno.h>
#include <string.h>

void conn_record_init(conn_t *c)
{
    buf_init(&c->rec.in, CONN_IN_CAP);
    buf_init(&c->rec.out, CONN_OUT_LIMIT);
}

static void conn_direct_clear(conn_t *c)
{
    if (c->rec.direct_active) {
        zmq_msg_close(&c->rec.direct);
        c->rec.direct_active = 0;
    }
}

void conn_record_fini(conn_t *c)
{
    conn_direct_clear(c);
    buf_fini(&c->rec.in);
    buf_fini(&c->rec.out);
}

/* ---- output ------------------------------------------------------------ */

/* The direct message's place is an offset into the output buffer: keep it
 * right when the buffer moves its bytes to the front (by as much as its
 * write cursor moved). */
static int conn_out_reserve(conn_t *c, size_t need)
{
    buf_t *out = &c->rec.out;
    size_t wr = out->wr;
    int rc = buf_reserve(out, need);
    if (c->rec.direct_active)
        c->rec.direct_at -= wr - out->wr;
    return rc;
}

uint8_t *conn_out_space(conn_t *c, size_t need)
{
    if (need == 0) {
        /* a size function's "cannot be represented" */
        conn_end(c, c->ses.succeeded ? CONN_END_CLOSED : CONN_END_PROTOCOL, EPROTO);
        return NULL;
    }
    int rc = conn_out_reserve(c, need);
    if (rc != 0) {
        conn_end(c, c->ses.succeeded ? CONN_END_CLOSED : CONN_END_NO_DETAIL,
                 (uint32_t)-rc);
        return NULL;
    }
    return buf_tail(&c->rec.out);
}

int conn_out_commit(conn_t *c, size_t need, size_t written)
{
    if (written != need || buf_commit(&c->rec.out, written) != 0)
        return conn_end(c, c->ses.succeeded ? CONN_END_CLOSED : CONN_END_PROTOCOL,
                        EPROTO);
    c->rec.out_added += written;
    return 0;
}

size_t conn_out_len(const conn_t *c)
{
    size_t n = buf_len(&c->rec.out);
    if (c->rec.direct_active)
        n += zmq_msg_size((zmq_msg_t *)&c->rec.direct) - c->rec.direct_off;
    return n;
}

void conn_out_direct(conn_t *c, zmq_msg_t *m, size_t off)
{
    c->rec.direct = *m; /* ownership moves */
    c->rec.direct_active = 1;
    c->rec.direct_at = c->rec.out.wr;
    c->rec.direct_off = off;
}

/* Writes the output in order: buffered bytes up to the direct message,
 * the direct message, the rest. A refused write is retried with the same
 * bytes first, as tls_conn_write requires. */
int conn_flush(conn_t *c)
{
    conn_record_t *r = &c->rec;
    for (;;) {
        size_t end = r->direct_active ? r->direct_at : r->out.wr;
        const uint8_t *p;
        size_t len;
        int from_out = r->out.rd < end;
        if (from_out) {
            p = buf_head(&r->out);
            len = end - r->out.rd;
        } else if (r->direct_active) {
            p = (const uint8_t *)zmq_msg_data(&r->direct) + r->direct_off;
            len = zmq_msg_size(&r->direct) - r->direct_off;
        } else {
            break;
        }
        size_t n = 0;
        int rc = len > 0 ? tls_conn_write(c->tls, p, len, &n) : TLS_OK;
        if (rc == TLS_WANT_WRITE || rc == TLS_WANT_READ) {
            r->write_wants = rc == TLS_WANT_WRITE ? RX_WRITE : RX_READ;
            return 0;
        }
        if (rc < 0)
            return conn_end_tls(c, rc);
        if (n > 0)
            r->tx_count++;
        if (from_out) {
            size_t wr = r->out.wr;
            buf_consume(&r->out, n);
            r->out_sent += n;
            if (r->direct_active)
                r->direct_at -= wr - r->out.wr;
        } else {
            r->direct_off += n;
            if (r->direct_off == zmq_msg_size(&r->direct))
                conn_direct_clear(c);
        }
    }
    r->write_wants = 0;
    return 0;
}

/* ---- input ------------------------------------------------------------- */

static void conn_trim_arm(conn_t *c)
{
    if (c->phase == CONN_PH_TRAFFIC && !rx_timer_active(&c->trim.timer)) {
        c->trim.rx_count = c->rec.rx_count;
        c->trim.tx_count = c->rec.tx_count;
        rx_timer_start(c->loop, &c->trim.timer, CONN_TRIM_MS);
    }
}

int conn_read(conn_t *c, int *budget)
{
    conn_record_t *r = &c->rec;
    conn_trim_arm(c);
    /* Woken for the bridge or a timer: the socket was empty and still is
     * (its level-triggered readiness would have said), skip the recv. */
    if (r->rx_empty)
        return 0;
    int drained = 0;
    for (;;) {
        if (!c->ses.big_active) {
            int rc = conn_parse(c, budget);
            if (rc != 0)
                return rc < 0 ? -1 : 0;
        }
        if (drained) {
            /* Another read would only find the socket empty; the fd
             * (level-triggered) reports what comes next. */
            r->read_wants = RX_READ;
            r->rx_empty = 1;
            return 0;
        }
        if (*budget <= 0) {
            /* More may wait in the kernel or inside OpenSSL, where no fd
             * readiness will announce it again. */
            c->drive.input_pending = 1;
            return 0;
        }
        uint8_t *dst;
        size_t cap;
        if (c->ses.big_active) {
            if (conn_big_room(c, &dst, &cap) < 0)
                return -1;
        } else {
            /* All the room the buffer may have: what a frame header says
             * it needs is never more than CONN_IN_CAP (conn_parse reads
             * larger frames in place). */
            int rc = buf_reserve(&r->in, CONN_IN_CAP - buf_len(&r->in));
            if (rc != 0)
                return conn_end(c,
                                c->ses.succeeded ? CONN_END_CLOSED : CONN_END_NO_DETAIL,
                                (uint32_t)-rc);
            dst = buf_tail(&r->in);
            cap = buf_room(&r->in);
        }
        size_t n = 0;
        int rc = tls_conn_read(c->tls, dst, cap, &n);
        if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE) {
            r->read_wants = rc == TLS_WANT_READ ? RX_READ : RX_WRITE;
            r->rx_empty = rc == TLS_WANT_READ;
            return 0;
        }
        if (rc < 0)
            return conn_end_tls(c, rc);
        r->read_wants = 0;
        r->rx_count++;
        drained = tls_conn_drained(c->tls);
        if (n == 0)
            continue;
        if (c->ses.big_active) {
            if (conn_big_fill(c, n) < 0)
                return -1;
        } else if (buf_commit(&r->in, n) != 0) {
            return conn_end(c, CONN_END_CLOSED, EPROTO);
        }
    }
}

/* ---- idle -------------------------------------------------------------- */

int conn_record_trim(conn_t *c)
{
    conn_record_t *r = &c->rec;
    int idle = r->rx_count == c->trim.rx_count && r->tx_count == c->trim.tx_count &&
               buf_len(&r->in) == 0 && !c->ses.big_active && conn_out_len(c) == 0 &&
               c->ses.nparts == 0;
    if (!idle)
        return 0;
    buf_fini(&r->in);
    buf_fini(&r->out);
    tls_conn_trim(c->tls);
    return 1;
}

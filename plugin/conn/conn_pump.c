/*
 * The bridge pump of a connection: application messages from the bridge
 * become ZMTP frames (and subscriptions become commands); assembled
 * messages from the peer go to the bridge (see conn_int.h).
 */
#include "conn/conn_int.h"

#include "zmtp/zmtp.h"

#include <errno.h>
#include <string.h>

int conn_deliver(conn_t *c)
{
    conn_session_t *s = &c->ses;
    if (c->pump.bridge == NULL)
        return 1;
    c->pump.armed = 0;
    while (s->parts_sent < s->nparts) {
        int more = s->parts_sent + 1 < s->nparts;
        int rc = bridge_send(c->pump.bridge, &s->parts[s->parts_sent], more);
        if (rc == -EAGAIN)
            return 1;
        if (rc < 0)
            return conn_end(c, CONN_END_CLOSED, (uint32_t)-rc);
        s->parts_sent++;
    }
    conn_parts_delivered(c);
    return 0;
}

/* One data frame: header and the message, or, for a large one, its bytes
 * up to the next record boundary with the rest sent from the message
 * itself. Takes the message. */
static int conn_queue_message(conn_t *c, zmq_msg_t *m, int more)
{
    size_t size = zmq_msg_size(m);
    size_t copy = size;
    if (size >= CONN_DIRECT_MIN) {
        size_t after = conn_out_len(c) + ZMTP_FRAME_HEADER_MAX;
        copy = (CONN_RECORD - after % CONN_RECORD) % CONN_RECORD;
        if (copy > size)
            copy = size;
    }
    size_t hdr = zmtp_frame_header_size(size);
    size_t need = hdr + copy;
    uint8_t *p = hdr == 0 ? NULL : conn_out_space(c, need);
    if (p == NULL) {
        zmq_msg_close(m);
        return hdr == 0 ? conn_end(c, CONN_END_CLOSED, EMSGSIZE) : -1;
    }
    size_t n = zmtp_frame_header_encode(p, more ? ZMTP_FLAG_MORE : 0, size);
    if (n == hdr && copy > 0) {
        memcpy(p + n, zmq_msg_data(m), copy);
        n += copy;
    }
    if (conn_out_commit(c, need, n) < 0) {
        zmq_msg_close(m);
        return -1;
    }
    c->pump.mid = more;
    if (copy < size)
        conn_out_direct(c, m, copy); /* ownership moves */
    else
        zmq_msg_close(m);
    /* After the direct message is in place: commands follow the whole
     * message. */
    if (!more && (c->hb.ping_due || c->hb.pong_due))
        return conn_queue_heartbeats(c);
    return 0;
}

int conn_pull_bridge(conn_t *c, int *budget)
{
    conn_pump_t *pu = &c->pump;
    while (conn_out_len(c) < CONN_OUT_HIGH && *budget > 0 && !c->rec.direct_active) {
        zmq_msg_t m;
        int more = 0;
        zmq_msg_init(&m);
        int rc = bridge_recv(pu->bridge, &m, &more);
        if (rc == -EAGAIN) {
            zmq_msg_close(&m);
            pu->empty = 1;
            pu->armed = 1;
            return 0;
        }
        if (rc < 0) {
            zmq_msg_close(&m);
            return conn_end(c, CONN_END_CLOSED, (uint32_t)-rc);
        }
        pu->empty = 0;
        (*budget)--;
        size_t size = zmq_msg_size(&m);
        const uint8_t *data = zmq_msg_data(&m);
        if (pu->sub_side && !pu->mid && !more &&
            bridge_subs_is_subscription(data, size)) {
            rc = pu->subs != NULL ? bridge_subs_apply(pu->subs, data, size) : 0;
            if (rc == 0)
                rc = conn_queue_subscription(c, data[0] == 0, data + 1, size - 1);
            else
                rc = conn_end(c, CONN_END_CLOSED, ENOMEM);
            zmq_msg_close(&m);
            if (rc < 0)
                return -1;
            continue;
        }
        if (conn_queue_message(c, &m, more) < 0)
            return -1;
    }
    return 0;
}

int conn_pump_poll(conn_t *c)
{
    conn_pump_t *pu = &c->pump;
    /* ZMQ_FD is edge-triggered: asking ZMQ_EVENTS after our own sends and
     * receives re-arms it and tells what is left to do. A receive that just
     * found nothing did the same already (libzmq processes its commands
     * before it says EAGAIN), unless a send came after it or a blocked
     * message waits for room. */
    if (pu->bridge == NULL || c->phase != CONN_PH_TRAFFIC ||
        (pu->armed && !c->ses.parts_ready))
        return 0;
    int ev = bridge_events(pu->bridge);
    if (ev < 0)
        return conn_end(c, CONN_END_CLOSED, (uint32_t)-ev);
    if (!(ev & ZMQ_POLLIN)) {
        /* Nothing to read: what a drain waits for, also when the last pull
         * stopped early (a direct message, a full output buffer) and never
         * saw EAGAIN. */
        if (c->drain.active && !pu->empty)
            c->drive.again = 1;
        pu->empty = 1;
    } else if (conn_out_len(c) < CONN_OUT_HIGH && !c->rec.direct_active) {
        pu->empty = 0;
        c->drive.again = 1;
    }
    if (!c->ses.parts_ready || c->drain.active)
        return 0;
    if (!pu->sub_side) {
        if (ev & ZMQ_POLLOUT)
            c->drive.again = 1;
        return 0;
    }
    /* An XPUB bridge says POLLOUT even with its pipe full, so POLLOUT
     * cannot end the wait. The events call above processed its commands,
     * the application's "room again" among them, and any later one raises
     * ZMQ_FD: one more attempt now either delivers or leaves a wait that
     * the fd ends, without spinning. */
    int rc = conn_deliver(c);
    if (rc < 0)
        return -1;
    if (rc == 0)
        c->drive.again = 1;
    return 0;
}

/* Forwards libzmq's monitor events and adds zmtls's: see monitor.h. */
#include "monitor/monitor.h"

#include "real/real.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* Our private inproc endpoints are an implementation detail: events about
 * them (libzmq emits few for inproc, but future versions may) are hidden. */
#define MON_PRIVATE_PREFIX "inproc://zmtls-"

struct monitor {
    rx_loop_t *loop;
    void *in;
    void *out;
    char *addr;
    int events;
    rx_io_t io;
    monitor_stopped_cb on_stopped;
    void *arg;
};

static void mon_send(monitor_t *m, const void *head, size_t head_len, const void *ep,
                     size_t ep_len)
{
    if (zmq_send(m->out, head, head_len, ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0)
        return;
    zmq_send(m->out, ep, ep_len, ZMQ_DONTWAIT);
}

/* Moves every queued libzmq event to the application. Returns 1 when
 * MONITOR_STOPPED went through. */
static int mon_forward(monitor_t *m)
{
    int stopped = 0;
    for (;;) {
        zmq_msg_t head, ep;
        zmq_msg_init(&head);
        if (zmq_msg_recv(&head, m->in, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&head);
            break;
        }
        zmq_msg_init(&ep);
        if (!zmq_msg_more(&head) || zmq_msg_recv(&ep, m->in, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&head);
            zmq_msg_close(&ep);
            continue;
        }
        uint16_t event = 0;
        if (zmq_msg_size(&head) >= sizeof(event))
            memcpy(&event, zmq_msg_data(&head), sizeof(event));
        size_t plen = strlen(MON_PRIVATE_PREFIX);
        int private_ep = zmq_msg_size(&ep) >= plen &&
                         memcmp(zmq_msg_data(&ep), MON_PRIVATE_PREFIX, plen) == 0;
        if (!private_ep)
            mon_send(m, zmq_msg_data(&head), zmq_msg_size(&head), zmq_msg_data(&ep),
                     zmq_msg_size(&ep));
        if (event == ZMQ_EVENT_MONITOR_STOPPED)
            stopped = 1;
        zmq_msg_close(&head);
        zmq_msg_close(&ep);
    }
    return stopped;
}

void monitor_kick(monitor_t *m)
{
    int ev = 0;
    size_t len = sizeof(ev);
    /* Reading ZMQ_EVENTS re-arms the edge; forward until nothing is left. */
    while (real()->getsockopt(m->in, ZMQ_EVENTS, &ev, &len) == 0 && (ev & ZMQ_POLLIN)) {
        if (mon_forward(m)) {
            if (m->on_stopped != NULL)
                m->on_stopped(m, m->arg); /* may destroy m */
            return;
        }
    }
}

static void mon_on_io(rx_io_t *io, unsigned revents)
{
    monitor_kick(io->data);
}

int monitor_new(monitor_t **out, rx_loop_t *loop, void *in, void *out_sock,
                const char *addr, int events, monitor_stopped_cb on_stopped, void *arg)
{
    monitor_t *m = calloc(1, sizeof(*m));
    if (m != NULL)
        m->addr = strdup(addr);
    if (m == NULL || m->addr == NULL) {
        free(m);
        return -ENOMEM;
    }
    m->loop = loop;
    m->in = in;
    m->out = out_sock;
    m->events = events;
    m->on_stopped = on_stopped;
    m->arg = arg;
    int fd = -1;
    size_t len = sizeof(fd);
    if (real()->getsockopt(in, ZMQ_FD, &fd, &len) != 0) {
        int err = errno;
        free(m->addr);
        free(m);
        return -err;
    }
    rx_io_init(&m->io, fd, RX_EDGE, mon_on_io, m);
    int rc = rx_io_start(loop, &m->io, RX_READ);
    if (rc != 0) {
        free(m->addr);
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void monitor_destroy(monitor_t **mp)
{
    monitor_t *m = *mp;
    if (m == NULL)
        return;
    *mp = NULL;
    rx_io_close(m->loop, &m->io);
    mon_forward(m);
    /* Unbinding an inproc name is immediate and keeps the pipe, so what was
     * forwarded still reaches the application. */
    real()->unbind(m->out, m->addr);
    real()->close(m->in);
    real()->close(m->out);
    free(m->addr);
    free(m);
}

void monitor_emit(monitor_t *m, int event, uint32_t value, const char *endpoint)
{
    if (m == NULL || !(m->events & event))
        return;
    uint8_t head[6];
    uint16_t ev16 = (uint16_t)event;
    memcpy(head, &ev16, sizeof(ev16));
    memcpy(head + 2, &value, sizeof(value));
    mon_send(m, head, sizeof(head), endpoint, strlen(endpoint));
}

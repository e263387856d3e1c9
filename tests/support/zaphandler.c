/* A ZAP handler thread for tests: see zaphandler.h. */
#include "zaphandler.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

static void *tu_zap_main(void *arg)
{
    tu_zap_handler_t *h = arg;
    void *rep = tu_socket(h->ctx, ZMQ_REP);
    CHECK_EQ(zmq_bind(rep, "inproc://zeromq.zap.01"), 0);
    void *ctl = tu_socket(h->ctx, ZMQ_PAIR);
    CHECK_EQ(zmq_connect(ctl, h->ctl_endpoint), 0);
    CHECK_EQ(zmq_send(ctl, "ready", 5, 0), 5);
    for (;;) {
        zmq_pollitem_t items[2] = {{rep, 0, ZMQ_POLLIN, 0}, {ctl, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 2, -1);
        if (rc < 0 && errno == EINTR)
            continue;
        CHECK(rc > 0);
        if (items[1].revents & ZMQ_POLLIN)
            break;
        if (items[0].revents & ZMQ_POLLIN)
            h->answer(h->arg, rep);
    }
    CHECK_EQ(zmq_close(rep), 0);
    CHECK_EQ(zmq_close(ctl), 0);
    return NULL;
}

void tu_zap_handler_start(tu_zap_handler_t *h, void *ctx, tu_zap_answer_fn answer,
                          void *arg)
{
    memset(h, 0, sizeof *h);
    h->ctx = ctx;
    h->answer = answer;
    h->arg = arg;
    snprintf(h->ctl_endpoint, sizeof h->ctl_endpoint, "inproc://tu-zap-ctl-%p",
             (void *)h);
    h->ctl = tu_socket(ctx, ZMQ_PAIR);
    CHECK_EQ(zmq_bind(h->ctl, h->ctl_endpoint), 0);
    CHECK_EQ(pthread_create(&h->thread, NULL, tu_zap_main, h), 0);
    char buf[8];
    CHECK_EQ(tu_recv_str(h->ctl, buf, sizeof buf, TU_TIMEOUT_MS), 5);
}

void tu_zap_handler_stop(tu_zap_handler_t *h)
{
    CHECK_EQ(zmq_send(h->ctl, "stop", 4, 0), 4);
    CHECK_EQ(pthread_join(h->thread, NULL), 0);
    CHECK_EQ(zmq_close(h->ctl), 0);
}

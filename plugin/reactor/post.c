/*
 * Cross-thread work queue and the eventfd that wakes the loop for it.
 */
#include "reactor/reactor_int.h"

#include <errno.h>
#include <unistd.h>

void rxi_wake(rx_loop_t *loop)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is saturated, i.e. a wake is pending
     * already; nothing else can fail on a valid eventfd. */
    while (write(loop->wakefd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

void rxi_wake_drain(rx_loop_t *loop)
{
    uint64_t count;
    while (read(loop->wakefd, &count, sizeof count) < 0 && errno == EINTR)
        ;
}

void rx_post(rx_loop_t *loop, rx_work_t *w)
{
    w->next = NULL;
    pthread_mutex_lock(&loop->lock);
    int was_empty = loop->work_head == NULL;
    if (was_empty)
        loop->work_head = w;
    else
        loop->work_tail->next = w;
    loop->work_tail = w;
    pthread_mutex_unlock(&loop->lock);

    /* Only the post that makes the queue non-empty has to wake the loop:
     * the loop empties the queue whole, so any later post before that
     * rides on the same wake. */
    if (was_empty)
        rxi_wake(loop);
}

void rxi_work_run(rx_loop_t *loop)
{
    pthread_mutex_lock(&loop->lock);
    rx_work_t *w = loop->work_head;
    loop->work_head = loop->work_tail = NULL;
    pthread_mutex_unlock(&loop->lock);

    /* Run unlocked so callbacks may post (to the next iteration) and other
     * threads are never blocked behind a callback. */
    while (w != NULL) {
        rx_work_t *next = w->next;
        w->cb(w);
        w = next;
    }
}

void rx_loop_run_posted(rx_loop_t *loop)
{
    for (;;) {
        pthread_mutex_lock(&loop->lock);
        int empty = loop->work_head == NULL;
        pthread_mutex_unlock(&loop->lock);
        if (empty)
            return;
        rxi_work_run(loop);
    }
}

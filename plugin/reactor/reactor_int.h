/*
 * Reactor internals shared by loop.c, io.c, timer.c and post.c. Not part of
 * the API.
 */
#ifndef ZMTLS_REACTOR_INT_H
#define ZMTLS_REACTOR_INT_H

#include "reactor/reactor.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>

/* Ready events taken per epoll_wait. More ready fds are not lost: level-
 * triggered ones are reported again, edge-triggered ones stay on epoll's
 * ready list for the next wait. */
#define RXI_MAX_EVENTS 64

struct rx_loop {
    int epfd;
    int wakefd; /* eventfd: rx_post and rx_loop_stop from other threads */
    uint64_t now;
    int running;
    atomic_int stop;

    /* Timers: intrusive min-heap ordered by (due, seq). */
    rx_timer_t *heap_root;
    size_t heap_size;
    uint64_t timer_seq;

    /* Watchers whose wanted set is not yet what epoll has (circular list
     * with this sentinel), and whether one of them failed an update and
     * must be told through its callback. */
    struct rx_link changes;
    int change_failed;

    /* The batch being dispatched, kept in the loop so rx_io_close can null
     * the entries of a watcher that must not be called any more. */
    struct epoll_event events[RXI_MAX_EVENTS];
    int nevents;

    /* Posted work, FIFO, guarded by lock. */
    pthread_mutex_t lock;
    rx_work_t *work_head, *work_tail;
};

/* timer.c */
void rxi_timers_run(rx_loop_t *loop);
/* epoll_wait timeout in ms for the next timer: -1 when none is active. */
int rxi_timers_timeout(const rx_loop_t *loop);

/* io.c */
void rxi_io_apply_changes(rx_loop_t *loop);
void rxi_io_dispatch(rx_loop_t *loop);
void rxi_io_forget_all(rx_loop_t *loop);

/* post.c */
void rxi_work_run(rx_loop_t *loop);
void rxi_wake(rx_loop_t *loop);
void rxi_wake_drain(rx_loop_t *loop);

#endif

/*
 * Reactor: one epoll loop with I/O watchers, timers and cross-thread posts.
 *
 * Threading: a loop is driven by exactly one thread (the one calling
 * rx_loop_run). Every function here must be called on that thread, except
 * rx_post() and rx_loop_stop(), which any thread may call at any time, and
 * rx_loop_new/rx_loop_destroy (before the loop thread starts / after it has
 * been joined).
 *
 * Each iteration runs in fixed phases: update the cached clock, run expired
 * timers, run posted work, then wait for I/O (timeout = next timer) and
 * dispatch ready watchers. Watchers and timers are embedded in their owner's
 * struct (no allocation per start/stop); an owner may stop or free a watcher
 * or timer from inside any callback, including its own.
 *
 * Errors are negative errno values. Nothing here aborts.
 */
#ifndef ZMTLS_REACTOR_H
#define ZMTLS_REACTOR_H

#include <stddef.h>
#include <stdint.h>

typedef struct rx_loop rx_loop_t;

/* ---- I/O watchers ------------------------------------------------------- */

#define RX_READ  0x1u
#define RX_WRITE 0x2u
/* Watcher flag: register edge-triggered (for libzmq's ZMQ_FD, which only
 * signals "check ZMQ_EVENTS" and must be drained by its owner). */
#define RX_EDGE 0x4u

/* revents passed to the callback: RX_READ and/or RX_WRITE; an error or hang
 * up on the fd is reported as RX_READ | RX_WRITE so the owner's read or
 * write discovers it. */
typedef struct rx_io rx_io_t;
typedef void (*rx_io_cb)(rx_io_t *io, unsigned revents);

struct rx_io {
    int fd;
    rx_io_cb cb;
    void *data;        /* owner's pointer */
    unsigned flags;    /* RX_EDGE or 0 */
    unsigned wanted;   /* events the owner asked for */
    unsigned armed;    /* events registered with epoll */
    int registered;    /* fd is in the epoll set */
};

void rx_io_init(rx_io_t *io, int fd, unsigned flags, rx_io_cb cb, void *data);
/* Adds events to the wanted set (applied before the next wait). */
int rx_io_start(rx_loop_t *loop, rx_io_t *io, unsigned events);
/* Removes events from the wanted set. */
int rx_io_stop(rx_loop_t *loop, rx_io_t *io, unsigned events);
/* Removes the fd from the loop entirely; call before closing the fd. Safe on
 * a watcher that was never started. No callback runs for it afterwards, even
 * later in the same iteration. */
void rx_io_close(rx_loop_t *loop, rx_io_t *io);

/* ---- timers ------------------------------------------------------------- */

typedef struct rx_timer rx_timer_t;
typedef void (*rx_timer_cb)(rx_timer_t *t);

struct rx_timer {
    uint64_t due;   /* absolute, ms on the loop clock */
    uint64_t seq;   /* start order, breaks ties */
    rx_timer_t *left, *right, *parent; /* intrusive heap links */
    int active;
    rx_timer_cb cb;
    void *data;
};

void rx_timer_init(rx_timer_t *t, rx_timer_cb cb, void *data);
/* (Re)starts a one-shot timer `ms` from the loop's cached now. */
void rx_timer_start(rx_loop_t *loop, rx_timer_t *t, uint64_t ms);
void rx_timer_stop(rx_loop_t *loop, rx_timer_t *t);
static inline int rx_timer_active(const rx_timer_t *t)
{
    return t->active;
}

/* Loop clock: monotonic milliseconds, cached at the start of each iteration. */
uint64_t rx_now(const rx_loop_t *loop);
/* Monotonic milliseconds read now (any thread). */
uint64_t rx_clock_ms(void);

/* ---- posted work (any thread) ------------------------------------------ */

typedef struct rx_work rx_work_t;
typedef void (*rx_work_cb)(rx_work_t *w);
struct rx_work {
    rx_work_t *next;
    rx_work_cb cb;
    void *data;
};

/* Queues `w` to run on the loop thread, in posting order, and wakes the
 * loop. Never fails; `w` must stay valid until its callback runs. */
void rx_post(rx_loop_t *loop, rx_work_t *w);

/* ---- loop ------------------------------------------------------------- */

int rx_loop_new(rx_loop_t **out);
/* Frees the loop. Posted work that never ran is dropped (not called). */
void rx_loop_destroy(rx_loop_t **loop);
/* Runs until rx_loop_stop(); returns 0, or a negative errno if epoll fails
 * in a way that cannot be retried. EINTR is retried. */
int rx_loop_run(rx_loop_t *loop);
/* Asks the loop to return after the current iteration. Any thread. */
void rx_loop_stop(rx_loop_t *loop);

#endif

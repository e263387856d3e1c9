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

/* Loop-private intrusive list link. */
struct rx_link {
    struct rx_link *next, *prev;
};

struct rx_io {
    int fd;
    rx_io_cb cb;
    void *data;      /* owner's pointer */
    unsigned flags;  /* RX_EDGE or 0 */
    unsigned wanted; /* events the owner asked for */
    unsigned armed;  /* events registered with epoll */
    int registered;  /* fd is in the epoll set */
    /* Loop-private: membership of the loop's list of watchers whose wanted
     * set differs from what epoll has, and the errno of a failed update. */
    struct rx_link change;
    int change_err;
};

/* Also the way to reuse a watcher for another fd, after rx_io_close. */
void rx_io_init(rx_io_t *io, int fd, unsigned flags, rx_io_cb cb, void *data);
/* Adds events (RX_READ and/or RX_WRITE) to the wanted set. The first start
 * of a watcher adds the fd to epoll at once, so an unusable fd is reported
 * here (-EBADF, -EPERM for regular files, -EEXIST for an fd already watched
 * by another watcher, -ENOMEM...); later changes are applied before the next
 * wait. If such a later change fails, the callback gets RX_READ | RX_WRITE
 * once per iteration until the change succeeds or the watcher is closed.
 * -EINVAL for unknown event bits or a negative fd. */
int rx_io_start(rx_loop_t *loop, rx_io_t *io, unsigned events);
/* Removes events from the wanted set. Events not wanted at dispatch time are
 * not delivered, even if epoll already reported them in the current batch.
 * When the wanted set becomes empty the fd leaves the epoll set (so a hang
 * up on an idle watcher cannot make the loop spin). */
int rx_io_stop(rx_loop_t *loop, rx_io_t *io, unsigned events);
/* Removes the fd from the loop entirely; call before closing the fd, and
 * before freeing or re-initialising a started watcher. Safe on a watcher
 * that was never started, and on one closed already. No callback runs for
 * it afterwards, even later in the same iteration. */
void rx_io_close(rx_loop_t *loop, rx_io_t *io);

/* ---- timers ------------------------------------------------------------- */

typedef struct rx_timer rx_timer_t;
typedef void (*rx_timer_cb)(rx_timer_t *t);

struct rx_timer {
    uint64_t due;                      /* absolute, ms on the loop clock */
    uint64_t seq;                      /* start order, breaks ties */
    rx_timer_t *left, *right, *parent; /* intrusive heap links */
    int active;
    rx_timer_cb cb;
    void *data;
};

void rx_timer_init(rx_timer_t *t, rx_timer_cb cb, void *data);
/* (Re)starts a one-shot timer `ms` from the loop's cached now. Timers due at
 * the same ms run in start order. A timer started while timers are running
 * (even for 0 ms, even from its own callback) runs in a later iteration, so
 * the I/O and posted-work phases are never starved. */
void rx_timer_start(rx_loop_t *loop, rx_timer_t *t, uint64_t ms);
/* Safe on an inactive timer. The callback runs with the timer inactive. */
void rx_timer_stop(rx_loop_t *loop, rx_timer_t *t);
static inline int rx_timer_active(const rx_timer_t *t)
{
    return t->active;
}

/* Loop clock: monotonic milliseconds, cached at the start of each iteration
 * (and by rx_loop_new, for timers started before the loop runs). */
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
 * loop. Never fails; `w` must stay valid until its callback runs (or the
 * loop is destroyed), and must not be posted again before then. Work posted
 * from a work callback runs in the next iteration. */
void rx_post(rx_loop_t *loop, rx_work_t *w);

/* ---- loop ------------------------------------------------------------- */

/* Returns 0 and *out, or -ENOMEM, -EMFILE... from epoll/eventfd creation. */
int rx_loop_new(rx_loop_t **out);
/* Frees the loop and sets *loop to NULL; NULL or *loop NULL is a no-op.
 * Posted work that never ran is dropped (not called). Watchers and timers
 * are not touched beyond being forgotten: their owners must not use them
 * with another loop without rx_io_init / rx_timer_init. */
void rx_loop_destroy(rx_loop_t **loop);
/* Runs until rx_loop_stop(); returns 0, or a negative errno if epoll fails
 * in a way that cannot be retried. EINTR is retried. -EBUSY if called from
 * inside one of the loop's own callbacks. */
int rx_loop_run(rx_loop_t *loop);
/* Asks the loop to return after the current iteration. Any thread. A stop
 * requested while the loop is not running is kept: the next rx_loop_run
 * does one iteration (without blocking) and returns. */
void rx_loop_stop(rx_loop_t *loop);
/* Runs the work posted so far, and what that work posts, until the queue is
 * empty. Loop thread, after rx_loop_run returned: an owner that stops its
 * loop for good calls it so that work posted just before the stop is run,
 * not dropped (a caller may be waiting on it). */
void rx_loop_run_posted(rx_loop_t *loop);

#endif

/*
 * Reactor loop: creation, the clock and the fixed-phase iteration.
 */
/* The build defines _GNU_SOURCE; this keeps a bare -std=c11 compile able
 * to see clock_gettime. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "reactor/reactor_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

uint64_t rx_clock_ms(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail with a valid pointer; should it anyway,
     * a zeroed time only makes timers late, never early. */
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t rx_now(const rx_loop_t *loop)
{
    return loop->now;
}

int rx_loop_new(rx_loop_t **out)
{
    if (out == NULL)
        return -EINVAL;
    *out = NULL;

    rx_loop_t *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return -ENOMEM;
    loop->epfd = -1;
    loop->wakefd = -1;

    int rc = pthread_mutex_init(&loop->lock, NULL);
    if (rc != 0) {
        free(loop);
        return -rc;
    }

    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        goto fail;
    loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wakefd < 0)
        goto fail;

    /* The wake entry is told apart from watchers by its address: NULL is
     * what rx_io_close leaves in cancelled batch entries. */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &loop->wakefd};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) != 0)
        goto fail;

    loop->changes.next = loop->changes.prev = &loop->changes;
    atomic_init(&loop->stop, 0);
    loop->now = rx_clock_ms();
    *out = loop;
    return 0;

fail:
    rc = -errno;
    if (loop->wakefd >= 0)
        close(loop->wakefd);
    if (loop->epfd >= 0)
        close(loop->epfd);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
    return rc;
}

void rx_loop_destroy(rx_loop_t **pl)
{
    if (pl == NULL || *pl == NULL)
        return;
    rx_loop_t *loop = *pl;
    *pl = NULL;

    /* Unlink queued watchers so none keeps a pointer into freed memory;
     * pending work is simply forgotten, as documented. */
    rxi_io_forget_all(loop);
    close(loop->wakefd);
    close(loop->epfd);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
}

void rx_loop_stop(rx_loop_t *loop)
{
    if (loop == NULL)
        return;
    atomic_store(&loop->stop, 1);
    rxi_wake(loop);
}

int rx_loop_run(rx_loop_t *loop)
{
    if (loop == NULL)
        return -EINVAL;
    if (loop->running)
        return -EBUSY;
    loop->running = 1;

    int rc = 0;
    for (;;) {
        loop->now = rx_clock_ms();
        rxi_timers_run(loop);
        rxi_work_run(loop);
        rxi_io_apply_changes(loop);

        /* A stop asked for by a callback above, or a failed watcher update
         * still to report, must not wait behind a long timer. */
        int timeout = rxi_timers_timeout(loop);
        if (atomic_load(&loop->stop) || loop->change_failed)
            timeout = 0;

        int n = epoll_wait(loop->epfd, loop->events, RXI_MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno != EINTR) {
                rc = -errno;
                break;
            }
            /* EINTR: treat as an empty batch; the next iteration refreshes
             * the clock and recomputes the timeout. */
            n = 0;
        }
        loop->nevents = n;
        rxi_io_dispatch(loop);
        loop->nevents = 0;

        if (atomic_exchange(&loop->stop, 0))
            break;
    }

    loop->running = 0;
    return rc;
}

/*
 * I/O watchers. Interest changes made by callbacks are collected on the
 * loop's change list and applied once per iteration, so a watcher toggled
 * several times costs at most one epoll_ctl.
 */
#include "reactor/reactor_int.h"

#include <errno.h>
#include <stddef.h>

#define IO_EVENTS (RX_READ | RX_WRITE)

static rx_io_t *fd_of_link(struct rx_link *l)
{
    return (rx_io_t *)(void *)((char *)l - offsetof(rx_io_t, change));
}

static int fd_queued(const rx_io_t *io)
{
    return io->change.next != NULL;
}

static void fd_unlink(rx_io_t *io)
{
    io->change.prev->next = io->change.next;
    io->change.next->prev = io->change.prev;
    io->change.next = io->change.prev = NULL;
    io->change_err = 0;
}

static void fd_append(struct rx_link *head, rx_io_t *io)
{
    io->change.prev = head->prev;
    io->change.next = head;
    head->prev->next = &io->change;
    head->prev = &io->change;
}

static uint32_t fd_epoll_mask(const rx_io_t *io)
{
    uint32_t m = 0;
    if (io->wanted & RX_READ)
        m |= EPOLLIN;
    if (io->wanted & RX_WRITE)
        m |= EPOLLOUT;
    if (io->flags & RX_EDGE)
        m |= EPOLLET;
    return m;
}

static int fd_ctl(rx_loop_t *loop, int op, rx_io_t *io)
{
    struct epoll_event ev = {.events = fd_epoll_mask(io), .data.ptr = io};
    return epoll_ctl(loop->epfd, op, io->fd, &ev) == 0 ? 0 : -errno;
}

/* Brings epoll in line with io->wanted. */
static int fd_apply(rx_loop_t *loop, rx_io_t *io)
{
    if (io->wanted == 0) {
        if (io->registered) {
            /* Leaving the set rather than arming zero events: epoll always
             * reports hang ups, which would make an idle watcher spin. A
             * failure means the fd is gone from the set already. */
            (void)fd_ctl(loop, EPOLL_CTL_DEL, io);
            io->registered = 0;
        }
        io->armed = 0;
        return 0;
    }
    if (io->registered && io->armed == io->wanted)
        return 0;
    int rc = fd_ctl(loop, io->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, io);
    if (rc != 0)
        return rc;
    io->registered = 1;
    io->armed = io->wanted;
    return 0;
}

static void fd_note_change(rx_loop_t *loop, rx_io_t *io)
{
    if (!fd_queued(io) &&
        (io->wanted != io->armed || (io->wanted == 0 && io->registered)))
        fd_append(&loop->changes, io);
}

void rx_io_init(rx_io_t *io, int fd, unsigned flags, rx_io_cb cb, void *data)
{
    io->fd = fd;
    io->cb = cb;
    io->data = data;
    io->flags = flags & RX_EDGE;
    io->wanted = 0;
    io->armed = 0;
    io->registered = 0;
    io->change.next = io->change.prev = NULL;
    io->change_err = 0;
}

int rx_io_start(rx_loop_t *loop, rx_io_t *io, unsigned events)
{
    if (loop == NULL || io == NULL || (events & ~IO_EVENTS) != 0 || io->fd < 0)
        return -EINVAL;
    if (events == 0)
        return 0;

    if (!io->registered) {
        /* First registration happens now so the caller learns about an
         * fd epoll refuses; only changes to a known-good fd are deferred. */
        unsigned old = io->wanted;
        io->wanted |= events;
        int rc = fd_apply(loop, io);
        if (rc != 0) {
            io->wanted = old;
            return rc;
        }
        if (fd_queued(io))
            fd_unlink(io);
        return 0;
    }

    io->wanted |= events;
    fd_note_change(loop, io);
    return 0;
}

int rx_io_stop(rx_loop_t *loop, rx_io_t *io, unsigned events)
{
    if (loop == NULL || io == NULL || (events & ~IO_EVENTS) != 0)
        return -EINVAL;
    io->wanted &= ~events;
    fd_note_change(loop, io);
    return 0;
}

void rx_io_close(rx_loop_t *loop, rx_io_t *io)
{
    if (loop == NULL || io == NULL)
        return;
    if (fd_queued(io))
        fd_unlink(io);
    if (io->registered) {
        /* Must happen before the owner closes the fd: a dup'ed fd would
         * otherwise keep the registration (and its stale pointer) alive. */
        (void)fd_ctl(loop, EPOLL_CTL_DEL, io);
        io->registered = 0;
    }
    io->wanted = 0;
    io->armed = 0;

    /* The watcher may be freed as soon as this returns, so later entries
     * of the batch being dispatched must not lead back to it. */
    for (int i = 0; i < loop->nevents; i++)
        if (loop->events[i].data.ptr == io)
            loop->events[i].data.ptr = NULL;
}

void rxi_io_apply_changes(rx_loop_t *loop)
{
    /* No callback runs here, so walking the list while unlinking is safe. */
    loop->change_failed = 0;
    struct rx_link *l = loop->changes.next;
    while (l != &loop->changes) {
        rx_io_t *io = fd_of_link(l);
        l = l->next;
        int rc = fd_apply(loop, io);
        if (rc == 0) {
            fd_unlink(io);
        } else {
            io->change_err = rc;
            loop->change_failed = 1;
        }
    }
}

/* Only what the owner still wants is reported: an earlier callback in the
 * same batch may have stopped some events. An error or hang up is reported
 * in full, as the owner's next read or write is what explains it. */
static unsigned fd_revents(uint32_t ev, unsigned wanted)
{
    if (wanted == 0)
        return 0;
    if (ev & (EPOLLERR | EPOLLHUP))
        return RX_READ | RX_WRITE;
    unsigned r = 0;
    if (ev & EPOLLIN)
        r |= RX_READ;
    if (ev & EPOLLOUT)
        r |= RX_WRITE;
    return r & wanted;
}

/* Watchers whose deferred epoll update failed hear about it as an error on
 * the fd, which their next read or write will explain. They stay queued so
 * the update is retried next iteration. */
static void fd_report_failures(rx_loop_t *loop)
{
    /* Moved to a private list first: callbacks may close, restart or
     * requeue any watcher, and unlinking works on whichever list it is. */
    struct rx_link failed = {&failed, &failed};
    struct rx_link *l = loop->changes.next;
    while (l != &loop->changes) {
        rx_io_t *io = fd_of_link(l);
        l = l->next;
        if (io->change_err != 0) {
            fd_unlink(io);
            fd_append(&failed, io);
        }
    }
    while (failed.next != &failed) {
        rx_io_t *io = fd_of_link(failed.next);
        fd_unlink(io);
        fd_append(&loop->changes, io);
        if (io->wanted != 0)
            io->cb(io, RX_READ | RX_WRITE);
    }
    loop->change_failed = 0;
}

void rxi_io_dispatch(rx_loop_t *loop)
{
    for (int i = 0; i < loop->nevents; i++) {
        void *p = loop->events[i].data.ptr;
        if (p == NULL)
            continue;
        if (p == &loop->wakefd) {
            rxi_wake_drain(loop);
            continue;
        }
        rx_io_t *io = p;
        unsigned rev = fd_revents(loop->events[i].events, io->wanted);
        if (rev != 0)
            io->cb(io, rev);
    }
    if (loop->change_failed)
        fd_report_failures(loop);
}

void rxi_io_forget_all(rx_loop_t *loop)
{
    while (loop->changes.next != &loop->changes)
        fd_unlink(fd_of_link(loop->changes.next));
}

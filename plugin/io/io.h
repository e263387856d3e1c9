/*
 * The zmtls I/O thread: one reactor loop that runs every tls:// endpoint,
 * connection, bridge and monitor of the process, and the queue through
 * which application threads reach it.
 *
 * Three groups of functions:
 *  - the queue, called on application threads: post work to the thread
 *    (starting it on first use) or call it and wait;
 *  - monitor commands, on application threads (the monitors live here
 *    because every layer above emits events through them);
 *  - services, called only on the I/O thread by its own objects.
 *
 * Lifetime: the thread starts with the first work that creates something
 * (io_post with hold = 1) and stops when a context ends with nothing left
 * anywhere (io_stop_if_idle), so a process that terminates its contexts ends
 * with no zmtls thread and no zmtls memory.
 *
 * Locks: io's own start/stop lock. Every zmtls lock is taken around fork()
 * (io_shared_lock_t): a child never inherits one held by a thread that does
 * not exist in it.
 */
#ifndef ZMTLS_IO_H
#define ZMTLS_IO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "io/thread_opts.h"
#include "reactor/reactor.h"

/* ---- the queue (application threads) ---------------------------------- */

/* Runs w->cb on the I/O thread, starting the thread if it is not running.
 * hold = 1: the work creates an object that keeps the thread alive until
 * io_release (also on the I/O thread when the creation fails). Returns 0,
 * -ESHUTDOWN once exit() has begun, or the thread's start error (w is then
 * not queued). */
int io_post(rx_work_t *w, int hold);
/* Work about existing objects: queued only when the thread runs (otherwise
 * there are none). 0, or -ESRCH (not queued). */
int io_post_existing(rx_work_t *w);

typedef struct io_sync io_sync_t;
/* Synchronous: runs fn(arg, sync) on the running I/O thread and returns
 * once io_sync_done(sync) has been called, by fn or later by whatever fn
 * handed `sync` to. -ESRCH at once (fn not run) when the thread is not
 * running: there is nothing to act on. */
int io_call(void (*fn)(void *arg, io_sync_t *sync), void *arg);
void io_sync_done(io_sync_t *sync);

/* Stops and frees the thread when nothing holds it. Application thread. */
void io_stop_if_idle(void);

/* ---- monitors (application threads) ----------------------------------- */

/* Starts forwarding a monitor (takes both sockets on success; `out` is
 * bound to the application's `addr`). */
int io_monitor_start(uint32_t sock_id, void *ctx, void *in, void *out, const char *addr,
                     int events);
/* Synchronous: forwards what libzmq queued (its MONITOR_STOPPED included)
 * and closes the monitor's sockets. */
void io_monitor_stop(uint32_t sock_id);

/* ---- process (any thread) --------------------------------------------- */

/* Registers the fork handlers once; every way into a zmtls lock calls it
 * first. */
void io_init(void);
/* A process-wide lock that application threads share with the I/O thread
 * (the socket registry, the peer table). Its first use adds it to the locks
 * held across fork(): prepare takes them in the order of first use (after
 * io's own), the parent releases them, the child initialises them afresh.
 * At most IO_FORK_LOCKS such locks. Hold one only for short work that takes
 * no other zmtls lock. */
#define IO_FORK_LOCKS 8
typedef struct io_shared_lock {
    pthread_mutex_t mutex;
    atomic_int known; /* added to the fork list */
} io_shared_lock_t;
#define IO_SHARED_LOCK_INIT                                                              \
    {                                                                                    \
        PTHREAD_MUTEX_INITIALIZER, 0                                                     \
    }
void io_shared_lock(io_shared_lock_t *l);
void io_shared_unlock(io_shared_lock_t *l);

/* A layer above that keeps I/O-thread objects of its own (ep's endpoint
 * list) registers `forget` once: it runs in the child of a fork, after io
 * has forgotten the parent's thread, and must drop (not free, not touch)
 * what belonged to it. 0, or -ENOSPC past IO_FORK_HOOKS. */
#define IO_FORK_HOOKS 4
int io_on_fork_child(void (*forget)(void));

/* Application threads wrap what they do inside OpenSSL (building and
 * freeing credentials) in these: fork() waits for such sections to end, so
 * a child never inherits an OpenSSL lock held by a thread it does not
 * have. Sections may run in parallel; they must not nest or call libzmq. */
void io_fork_guard_enter(void);
void io_fork_guard_leave(void);

/* ---- services (I/O thread only) --------------------------------------- */

rx_loop_t *io_loop(void);
/* Releases what io_post(..., hold = 1) held. */
void io_release(void);
/* The first endpoint since the thread started brings its context's
 * ZMQ_THREAD_* options (thread_opts.h); later calls do nothing. */
void io_apply_thread_opts(const io_thread_opts_t *o);
/* Returns the free memory at the top of the heap and in its arenas to the
 * system (glibc's malloc_trim; nothing elsewhere). For after a wave of
 * connections: it costs a walk of the heap. */
void io_give_back_memory(void);
/* Sends an event to the application socket's monitor, if it has one. */
void io_emit(uint32_t sock_id, int event, uint32_t value, const char *endpoint);
/* Ends the monitors of a context that is terminating. */
void io_monitors_drop_ctx(void *ctx);
/* Closes a connection's fd gracefully: shuts down our sending side, then
 * reads and discards until the peer closes or IO_LINGER_MS pass. Closing
 * with unread input makes the kernel send a reset, which can overtake what
 * we sent last: a refusal alert, an ERROR command, close_notify. */
#define IO_LINGER_MS 1000
void io_linger_close(int fd);

/* Uniform random 32 bits for jitter. */
uint32_t io_random(void);

/* A routing id for a peer that announced none, so a ROUTER application and
 * zmtls_peer_property() agree on it. The shape of libzmq's own: 0x00, then a
 * 32-bit counter, big-endian, starting at a random value; successive calls
 * never repeat one before the counter wraps. I/O thread only. Writes
 * IO_ROUTING_ID_LEN bytes. */
#define IO_ROUTING_ID_LEN 5
void io_routing_id(uint8_t out[IO_ROUTING_ID_LEN]);

#endif

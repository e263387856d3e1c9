/*
 * Monitor: the event stream an application reads from zmq_socket_monitor.
 *
 * libzmq's own monitor PAIR can only be written by libzmq, so the shim binds
 * the application's address itself (`out`), points libzmq's monitor at a
 * private inproc address read by `in`, and this object forwards libzmq's
 * events from `in` to `out` while adding zmtls's events for tls://
 * endpoints. Both go out in libzmq's two-frame format with libzmq's codes,
 * filtered by the application's event mask.
 *
 * Threading: everything here runs on the I/O thread, which is the only
 * writer of `out` (so events from both sources are never interleaved
 * mid-message). Sends never block: like libzmq, an event that finds the
 * application's PAIR full is dropped.
 */
#ifndef ZMTLS_MONITOR_H
#define ZMTLS_MONITOR_H

#include <stdint.h>

#include "reactor/reactor.h"

typedef struct monitor monitor_t;

/* Called once when libzmq's MONITOR_STOPPED has been forwarded (the
 * application socket closed, or monitoring was turned off). */
typedef void (*monitor_stopped_cb)(monitor_t *m, void *arg);

/* Takes ownership of both PAIR sockets; `addr` is the application's
 * address `out_sock` is bound to. */
int monitor_new(monitor_t **out, rx_loop_t *loop, void *in, void *out_sock,
                const char *addr, int events, monitor_stopped_cb on_stopped, void *arg);
/* Forwards what libzmq queued so far. Call once after monitor_new (events
 * may have queued before the fd was watched, and its edge is gone); may
 * call on_stopped. */
void monitor_kick(monitor_t *m);

/* Forwards whatever libzmq already queued, then closes both sockets. The
 * application's address is free again when this returns (libzmq releases a
 * closed socket's inproc names later, on its reaper thread), so a monitor
 * can be restarted on the same address at once, events already queued for
 * the application still arriving. */
void monitor_destroy(monitor_t **m);

/* Sends one zmtls event if the mask selects it. */
void monitor_emit(monitor_t *m, int event, uint32_t value, const char *endpoint);

#endif

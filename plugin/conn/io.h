/*
 * The zmtls I/O thread: one reactor loop that owns every tls:// endpoint,
 * connection, bridge and monitor of the process.
 *
 * Two groups of functions:
 *  - commands, called by the shim on application threads: they queue work
 *    for the I/O thread (starting it on first use) and return at once,
 *    except the ones documented as synchronous, which wait for the I/O
 *    thread to finish them;
 *  - services, called only on the I/O thread by its own objects.
 *
 * Ownership: io_connect / io_bind take the configuration (and the listening
 * fd) whatever they return.
 */
#ifndef ZMTLS_IO_H
#define ZMTLS_IO_H

#include <stdint.h>
#include <openssl/ssl.h>

#include "conn/epcfg.h"
#include "reactor/reactor.h"

/* ---- commands (application threads) ------------------------------------ */

int io_connect(ep_cfg_t *cfg);
int io_bind(ep_cfg_t *cfg, int listen_fd);
/* Stops one endpoint (zmq_disconnect / zmq_unbind): its connections close
 * now, as libzmq's do. */
void io_close_endpoint(uint32_t ep_id);
/* The application closed the socket. Established connections first send
 * what the application had queued, for up to `linger` ms (-1: no limit),
 * then close. Synchronous for linger 0 (call before libzmq's close). */
void io_socket_closed(uint32_t sock_id, int linger);
/* New credentials for the socket's endpoints (either may be NULL: keep).
 * Takes one reference of each. Resets the auth backoff and retries at once
 * an endpoint waiting on it. */
void io_set_tls(uint32_t sock_id, SSL_CTX *client, SSL_CTX *server);
/* Starts forwarding a monitor (takes both sockets on success; `out` is
 * bound to the application's `addr`). */
int io_monitor_start(uint32_t sock_id, void *ctx, void *in, void *out, const char *addr,
                     int events);
/* Synchronous: forwards what libzmq queued (its MONITOR_STOPPED included)
 * and closes the monitor's sockets. */
void io_monitor_stop(uint32_t sock_id);
/* Synchronous: closes every zmtls socket of the context (bridges and
 * monitors) so libzmq's zmq_ctx_term can finish; stops the I/O thread when
 * nothing is left anywhere. */
void io_ctx_term(void *ctx);

/* ---- services (I/O thread only) --------------------------------------- */

rx_loop_t *io_loop(void);
/* Sends an event to the application socket's monitor, if it has one. */
void io_emit(uint32_t sock_id, int event, uint32_t value, const char *endpoint);
/* Closes a connection's fd gracefully: shuts down our sending side, then
 * reads and discards until the peer closes or IO_LINGER_MS pass. Closing
 * with unread input makes the kernel send a reset, which can overtake what
 * we sent last: a refusal alert, an ERROR command, close_notify. */
#define IO_LINGER_MS 1000
void io_linger_close(int fd);

/* Uniform random 32 bits for jitter. */
uint32_t io_random(void);

/* A routing id for a peer that announced none, so a ROUTER application and
 * zmtls_peer_property() agree on it: 0x00 then 8 bytes, a length libzmq's own
 * generated ids (0x00 + 4 bytes) never have. Writes IO_ROUTING_ID_LEN bytes. */
#define IO_ROUTING_ID_LEN 9
void io_routing_id(uint8_t out[IO_ROUTING_ID_LEN]);

#endif

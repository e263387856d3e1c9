/*
 * Test support for integration tests: ordinary libzmq programs that use
 * tls:// endpoints the way an application would.
 *
 * Rules the helpers enforce so the tests stay deterministic:
 *   - no sleeps: every wait is zmq_poll/poll against an absolute deadline;
 *   - failures print where and why and exit(1) (CHECK from check.h), or are
 *     returned when the caller decides (timeouts return -1);
 *   - nothing here calls a zmtls_* function, so unit tests that link only
 *     the static core can use this library too.
 *
 * Not thread-safe unless stated: like libzmq sockets, each helper call
 * belongs to the thread that owns the sockets it is given.
 */
#ifndef ZMTLS_TESTUTIL_H
#define ZMTLS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

/* Draft options of libzmq 4.3 that Debian's libzmq accepts; its zmq.h
 * declares them only under ZMQ_BUILD_DRAFT_API. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#include "check.h"

/* Deadline for things that must happen ("the handshake succeeds"). Long
 * enough for a loaded CI machine, short enough that ctest's timeout is
 * never what ends a failing test. */
#define TU_TIMEOUT_MS 5000

/* Window for things that must not happen ("the server receives nothing"). */
#define TU_QUIET_MS 1000

/* Watchdog every test arms first thing in main. */
#define TU_WATCHDOG_S 60

/* Buffer size for endpoint strings (ZMQ_LAST_ENDPOINT, event endpoints). */
#define TU_EP_MAX 256

/* ------------------------------------------------------------------ */
/* Process                                                              */

/* alarm(seconds) whose expiry prints a message and _exit(3)s, so a hung
 * test fails with a reason instead of waiting for ctest's timeout. */
void tu_watchdog(unsigned seconds);

/* Makes ZMTLS_CERT, ZMTLS_KEY and ZMTLS_CA equal to the certificates named
 * (short names as for tu_cert, NULL = unset) for the whole life of the
 * process, and ZMTLS_CRL unset. When the environment differs, it is changed and the test
 * re-executes itself (/proc/self/exe with the same argv), because the
 * library may read the environment when it is loaded, before main. Call it
 * first in main, with main's argv. */
void tu_env_creds(char **argv, const char *cert, const char *key, const char *ca);

/* Full path of a test certificate file ("client.pem") in the directory
 * named by ZMTLS_TEST_CERTS; exits when the variable is unset or the file
 * is missing (the certs fixture did not run). Returns one of 8 rotating
 * static buffers, so a few calls can appear in one expression. */
const char *tu_cert(const char *name);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t tu_now_ms(void);

/* Files, for tests of credential files that change. tu_file_replace writes
 * `text` to a new file next to `path` and renames it into place (the
 * usual atomic rotation); tu_file_rewrite truncates and rewrites `path`
 * itself (same inode). tu_file_read returns the contents (free it). Both
 * CHECK-fail on any error. */
void tu_file_replace(const char *path, const char *text);
void tu_file_rewrite(const char *path, const char *text);
char *tu_file_read(const char *path);

/* ------------------------------------------------------------------ */
/* Sockets                                                              */

/* zmq_socket with ZMQ_LINGER 0, so a failing test never hangs in
 * zmq_ctx_term on undelivered messages. Tests of linger itself use
 * zmq_socket directly. */
void *tu_socket(void *ctx, int type);

void tu_set_int(void *sock, int option, int value);
int tu_get_int(void *sock, int option);
void tu_set_str(void *sock, int option, const char *value);

/* Sets ZMTLS_CERT_FILE / ZMTLS_KEY_FILE / ZMTLS_CA_FILE from short names
 * (tu_cert); NULL leaves that option alone. */
void tu_set_creds(void *sock, const char *cert, const char *key, const char *ca);

/* Binds `pattern` ("tls://127.0.0.1:*") and writes ZMQ_LAST_ENDPOINT to
 * endpoint_out (TU_EP_MAX bytes). Checks that the endpoint keeps the
 * pattern's scheme and host and carries a real port. */
void tu_bind_ephemeral(void *sock, const char *pattern, char *endpoint_out);

/* Port number of "scheme://host:PORT"; exits when there is none. */
int tu_endpoint_port(const char *endpoint);

/* ------------------------------------------------------------------ */
/* Monitor events                                                       */

/* Starts zmq_socket_monitor(sock, "inproc://tu-mon-N", mask) and returns
 * the PAIR connected to it (ZMQ_LINGER 0). Attach before bind/connect so
 * that no event is missed. */
void *tu_monitor(void *ctx, void *sock, int mask);

/* Waits up to timeout_ms for one event. Checks the libzmq 4.3 format
 * (frame 1: 6 bytes, uint16 event + uint32 value in native byte order;
 * frame 2: endpoint, last). endpoint may be NULL, else TU_EP_MAX bytes.
 * Values are returned as int: fds, errnos, alerts, intervals and ZMTP
 * protocol codes all fit. Returns 0, or -1 on timeout. */
int tu_event_recv(void *mon, int timeout_ms, int *event, int *value, char *endpoint);

#define TU_EVENTS_MAX 512
#define TU_EVENT_EP   64

typedef struct tu_event {
    int64_t t_ms; /* tu_now_ms() when the test read it */
    int event;
    int value;
    char endpoint[TU_EVENT_EP]; /* truncated */
} tu_event_t;

/* What a monitor reported: counts per event code (exact, never capped) and
 * the sequence (the first TU_EVENTS_MAX events). */
typedef struct tu_events {
    unsigned count[16]; /* by bit position of the ZMQ_EVENT_* code */
    unsigned other;     /* codes that are not a single bit of 0..15 */
    size_t n;           /* entries in seq */
    size_t total;       /* events seen, including those not kept in seq */
    tu_event_t seq[TU_EVENTS_MAX];
} tu_events_t;

void tu_events_init(tu_events_t *log);
void tu_events_add(tu_events_t *log, int event, int value, const char *endpoint);
unsigned tu_events_count(const tu_events_t *log, int event);
/* Value of the nth (0-based) occurrence of event in seq; 0 or -1 when
 * there is no such entry. */
int tu_events_nth(const tu_events_t *log, int event, unsigned nth, int *value);
/* Index in seq of the nth occurrence of event, or -1. */
int tu_events_index(const tu_events_t *log, int event, unsigned nth);
/* One line "label: NAME=count ..." then the sequence "NAME(value) ...". */
void tu_events_print(const tu_events_t *log, const char *label);
/* libzmq's name of a ZMQ_EVENT_* code without the prefix, or "UNKNOWN". */
const char *tu_event_name(int event);

/* Waits up to timeout_ms for `event`, recording every event read
 * (including the one waited for) in log (may be NULL). Returns 0 with
 * *value set (value may be NULL), or -1 on timeout. */
int tu_expect_event(void *mon, tu_events_t *log, int event, int timeout_ms, int *value);

/* Records every event that arrives within window_ms. Returns the number. */
int tu_drain_events(void *mon, tu_events_t *log, int window_ms);

/* Records the events available now, without waiting. Returns the number. */
int tu_pump(void *mon, tu_events_t *log);

/* ------------------------------------------------------------------ */
/* Peers: a socket, its monitor and its event log, the unit most tests
 * handle in pairs.                                                     */

typedef struct tu_peer {
    const char *name; /* for messages */
    void *sock;
    void *mon;
    tu_events_t log;
    char endpoint[TU_EP_MAX]; /* bound or connected endpoint */
} tu_peer_t;

/* Socket (tu_socket) + monitor of all events + credentials (tu_set_creds).
 * Neither binds nor connects, so options can be set first. */
void tu_peer_open(tu_peer_t *p, const char *name, void *ctx, int type, const char *cert,
                  const char *key, const char *ca);
/* tu_bind_ephemeral(p->sock, "tls://127.0.0.1:*", p->endpoint). */
void tu_peer_bind(tu_peer_t *p);
/* zmq_connect, checked, and remembers the endpoint. */
void tu_peer_connect(tu_peer_t *p, const char *endpoint);
/* Closes the monitor then the socket. */
void tu_peer_close(tu_peer_t *p);

/* Waits TU_TIMEOUT_MS for the next `event` on p's monitor, recording
 * everything read. On timeout prints the caller's location and p's events
 * and exits. Returns the event's value. */
#define TU_PEER_EXPECT(p, event) tu_peer_expect_at((p), (event), __FILE__, __LINE__)
int tu_peer_expect_at(tu_peer_t *p, int event, const char *file, int line);

/* Reads the monitors of n peers together (so no stream's timestamps lag)
 * until deadline_ms, or, when `until` is not NULL, until until->log counts
 * `count` events `event`. Returns 0 when the count was reached (or, with
 * until NULL, at the deadline), -1 when the deadline came first. */
int tu_peers_wait(tu_peer_t *const peers[], size_t n, int64_t deadline_ms,
                  const tu_peer_t *until, int event, unsigned count);

/* tu_peers_wait that also watches `quiet`, a socket that must stay
 * unreadable (a server that must receive nothing): returns 1 as soon as it
 * becomes readable, else as tu_peers_wait. */
int tu_peers_wait_quiet(void *quiet, tu_peer_t *const peers[], size_t n,
                        int64_t deadline_ms, const tu_peer_t *until, int event,
                        unsigned count);

/* ------------------------------------------------------------------ */
/* Messages                                                             */

#define TU_PARTS_MAX 8

/* One whole (multipart) message. */
typedef struct tu_msg {
    size_t n;
    zmq_msg_t part[TU_PARTS_MAX];
} tu_msg_t;

/* 0 when sock becomes readable within timeout_ms, else -1. */
int tu_wait_readable(void *sock, int timeout_ms);
/* Receives a whole message within timeout_ms. Returns 0, or -1 on timeout
 * (m is then empty). Exits on other errors or more than TU_PARTS_MAX parts. */
int tu_recv_msg(void *sock, tu_msg_t *m, int timeout_ms);
void tu_msg_close(tu_msg_t *m);
/* 1 when part i of m holds exactly data/len. */
int tu_msg_part_eq(const tu_msg_t *m, size_t i, const void *data, size_t len);
int tu_msg_part_is(const tu_msg_t *m, size_t i, const char *s);

/* Sends n parts as one message; exits when a part cannot be queued. */
void tu_send_parts(void *sock, size_t n, const void *const data[], const size_t len[]);
/* Sends one frame (flags: ZMQ_SNDMORE, ZMQ_DONTWAIT). Returns zmq_send's rc. */
int tu_send_str(void *sock, const char *s, int flags);
/* Receives one frame into buf as a string within timeout_ms. Returns its
 * length, or -1 on timeout. Exits when it does not fit. */
int tu_recv_str(void *sock, char *buf, size_t cap, int timeout_ms);

/* Receives one whole message and sends it back unchanged: the reply path
 * of REP, ROUTER (the routing id frame routes it back) and DEALER servers.
 * Returns the number of parts, or -1 on timeout. */
int tu_echo(void *sock, int timeout_ms);

/* client sends the n parts, server echoes them (tu_echo), client receives
 * them back and they are compared. The parts are what the client socket
 * carries: a DEALER facing a REP must include the empty delimiter.
 * Returns 0, -1 when the server got nothing, -2 when the client got no
 * reply, -3 when the reply differs (details on stderr). */
int tu_roundtrip(void *client, void *server, size_t n, const void *const data[],
                 const size_t len[], int timeout_ms);
/* tu_roundtrip of one string frame. */
int tu_roundtrip_str(void *client, void *server, const char *s, int timeout_ms);

/* ------------------------------------------------------------------ */
/* Raw TCP, for peers that are not ZeroMQ                               */

/* Blocking connect to 127.0.0.1:port; returns the fd. */
int tu_tcp_connect(int port);
/* The same from source address src ("127.0.0.2": any 127/8 address works on
 * Linux loopback); NULL: the system's choice. */
int tu_tcp_connect_from(const char *src, int port);
/* Sends all of buf; returns 0, or -1 when the peer is already gone. */
int tu_tcp_send(int fd, const void *buf, size_t len);
/* Reads and discards until the peer closes (recv returns 0 or fails with
 * ECONNRESET/EPIPE). Returns 0 when it did within timeout_ms, -1 if not. */
int tu_tcp_wait_closed(int fd, int timeout_ms);
/* A loopback port nothing listens on: it stays bound (not listening) on
 * *holder, so connects are refused; close(*holder) when done. */
int tu_closed_port(int *holder);

#endif

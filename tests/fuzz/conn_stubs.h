/*
 * The world a connection sees in the conn_session fuzz target. The four
 * plugin/conn files are linked with conn_stubs.c instead of TLS, a libzmq
 * bridge, the I/O thread and the peer table; this header is what the
 * harness (fuzz_conn_session.c) sets up and inspects.
 *
 * TLS: reads hand out the peer's decrypted bytes (`in`) in chunks, writes
 * collect what the conn sends (`out`). Every decision a stub takes (chunk
 * size, partial or refused write, a bridge that pushes back) comes from
 * the input's control bytes, read in a cycle; a zero byte, or `benign`, is
 * the plain outcome (everything read, everything written, nothing
 * refused).
 *
 * The conn's fd is one end of a socketpair: the stubs keep one byte in it
 * exactly while the peer has something for the conn to read, so the
 * level-triggered watcher fires as a real socket would. The bridge's fd is
 * an eventfd the harness writes to when the application side changes.
 *
 * The loop clock is fake while a run is in progress (clock_gettime is
 * wrapped at link time), so timers fire when the harness moves the clock
 * and never because the machine was slow.
 */
#ifndef ZMTLS_FUZZ_CONN_STUBS_H
#define ZMTLS_FUZZ_CONN_STUBS_H

#include "bridge/subs.h"
#include "conn/conn.h"
#include "reactor/reactor.h"

#include <stddef.h>
#include <stdint.h>

/* Survives NDEBUG: a broken invariant must crash the fuzzer, saying which. */
#define FZ_CHECK(c)                                                                      \
    do {                                                                                 \
        if (!(c))                                                                        \
            fz_fail(__FILE__, __LINE__, #c);                                             \
    } while (0)

_Noreturn void fz_fail(const char *file, int line, const char *what);

/* One message part. flag -1: data. flag 1 / 0: a subscribe / cancel; in
 * `expect` data is the topic (the conn prepends the byte), in `app` data
 * is the whole message, that byte first. */
typedef struct fz_part {
    const uint8_t *data;
    size_t len;
    int more;
    int flag;
} fz_part_t;

typedef struct fz_world {
    /* ---- set by the harness for one input ---- */
    rx_loop_t *loop;
    const ep_cfg_t *cfg;
    int is_server;
    int conn_fd; /* the conn's end of the socketpair */
    int peer_fd; /* ours */
    const uint8_t *ctl;
    size_t ctl_len, ctl_pos;
    int benign;

    /* the peer's decrypted bytes: [in_pos, in_avail) has arrived */
    const uint8_t *in;
    size_t in_len, in_pos, in_avail;
    int end_rc;    /* what a read returns after the last byte */
    int hs_wants;  /* tls_conn_handshake: TLS_WANT_* this many times */
    int hs_rc;     /* ...then this */
    int new_rc;    /* tls_conn_new */
    int resume_rc; /* tls_conn_resume */
    int peer_info_rc;

    /* the application side of the bridge: parts it sends, in order;
     * [app_next, app_visible) can be received now */
    const fz_part_t *app;
    size_t app_n, app_visible, app_next;
    int send_blocked;
    /* what the peer's input should deliver, in order */
    const fz_part_t *expect;
    size_t expect_n;

    /* ---- kept by the stubs ---- */
    int tls_live;
    int hs_done;
    int failure;   /* sticky TLS_E_*, 0 none */
    int end_given; /* end_rc was returned */
    int drained;
    int readable;
    int shutdown;
    int fd_closed;
    size_t retry_len; /* a refused write: the next one starts with these */
    uint8_t retry[16384];
    uint8_t *out; /* everything tls_conn_write accepted */
    size_t out_len, out_cap;

    int bridge_live;
    int bridge_fd;
    size_t delivered; /* parts of `expect` the bridge took */
    int delivering;   /* the last part taken had MORE */

    int peer_listed;
    int dead;         /* conn_end ran (peers_remove outside destroy) */
    int dead_settled; /* a whole loop iteration passed since */
    int in_destroy;
    int ended;
    int injected; /* a stub reported a failure the conn must end on */

    int ev_connected, ev_succeeded, ev_failed, ev_disconnected;
    uint32_t failed_value;

    uint64_t progress; /* bumps whenever a stub moves something */
    int clock_fake;
    uint64_t clock_ms;
} fz_world_t;

extern fz_world_t fz;

/* The next control byte (0 once benign or when there are none). */
uint8_t fz_ctl_next(void);
/* Puts the byte in the socketpair or takes it out, as the peer's state
 * says. */
void fz_update_readable(void);
/* The application side changed: an edge on the bridge's fd. */
void fz_bridge_signal(void);
/* The bridge the harness hands to conn_attach (bridge_fd: an eventfd). */
bridge_t *fz_bridge_open(void);
/* Closes it unless the conn already destroyed it. */
void fz_bridge_close(void);

#endif

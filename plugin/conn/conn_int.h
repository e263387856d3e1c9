/*
 * Inside a connection: the state record and the functions its files
 * share. Not for use outside conn/
 *
 * Layers, one file each, each calling only downwards (and conn.c, which
 * drives them all):
 *
 *   conn.c          life cycle, the phase table, driving, ending, timers
 *   conn_pump.c     bridge pump: application messages <-> ZMTP frames
 *   conn_session.c  ZMTP session: greeting, commands, frame parsing,
 *                   multipart assembly, heartbeats
 *   conn_zap.c      server with a ZAP domain: the peer put to the
 *                   application's ZAP handler between the client's READY
 *                   and ours
 *   conn_record.c   TLS record I/O: decrypted input and encoded output
 *                   buffers, the direct-send message, reads and writes
 *
 * Beside them, conn_log.c: the operator's lines (ZMTLS_LOG), called by
 * conn.c and conn_session.c at the outcomes they report.
 *
 * Every function returning int returns 0 to go on or -1 once the
 * connection has ended (conn_end recorded why); a caller seeing -1 returns
 * -1 itself, touching nothing else.
 *
 * Threading: I/O thread only.
 */
#ifndef ZMTLS_CONN_INT_H
#define ZMTLS_CONN_INT_H

#include "buf/buf.h"
#include "conn/conn.h"
#include "reactor/reactor.h"
#include "tls/tls.h"
#include "zap/zap.h"

#include <zmq.h>

/* Decrypted input buffer. Frames that do not fit are read into a buffer of
 * their own, so this bounds only small-frame batching. */
#define CONN_IN_CAP (32 * 1024)
/* A large frame's buffer follows its bytes: when less than a record's
 * worth of room is left it grows by max(CONN_BIG_STEP, bytes already
 * received), never past the declared size. So it holds at most twice what
 * arrived plus 64 KiB, whatever size the peer declared, in a number of
 * reallocations logarithmic in the frame's size. */
#define CONN_BIG_STEP (64 * 1024)
/* The largest command frame handled from the input buffer; larger ones
 * (after the handshake: a SUBSCRIBE for a long topic) are read in place,
 * bounded like data frames by ZMQ_MAXMSGSIZE. */
#define CONN_COMMAND_MAX (CONN_IN_CAP - ZMTP_FRAME_HEADER_MAX)
/* Certificates valid for longer than this (about 34 years) are treated as
 * never expiring while connected. */
#define CONN_EXPIRY_MAX_S ((int64_t)1 << 30)
/* Stop pulling messages from the bridge while this much waits for TLS. */
#define CONN_OUT_HIGH (256 * 1024)
/* The output holds only what this process produced: CONN_OUT_HIGH stops
 * the pump, and what may come on top is one message's head and the
 * subscriptions replayed at attach. A write past this ends the connection
 * with ENOBUFS. */
#define CONN_OUT_LIMIT ((size_t)1 << 30)
/* Messages at least this large are encrypted straight from their zmq_msg_t
 * instead of being copied into the output buffer first. */
#define CONN_DIRECT_MIN (16 * 1024)
/* TLS record payload: output is laid out so records come out full. */
#define CONN_RECORD 16384
/* Frames or messages handled per wake-up before yielding to other
 * connections; the rest continues on the next loop iteration. */
#define CONN_BUDGET 256
/* An established connection that has read nothing for this long gives its
 * buffers back (they come back on the next read): idle peers cost little. */
#define CONN_TRIM_MS 250

/* The phases, in order; conn.c's table says what each does. */
typedef enum conn_phase {
    CONN_PH_TLS,
    CONN_PH_GREETING,
    CONN_PH_READY,
    CONN_PH_ZAP,
    CONN_PH_TRAFFIC,
    CONN_PH_COUNT
} conn_phase_t;

/* TLS record I/O (conn_record.c). */
typedef struct conn_record {
    unsigned handshake_wants; /* RX_* the TLS handshake waits for */
    unsigned read_wants;      /* RX_* the last TLS read waits for, 0: none */
    unsigned write_wants;     /* RX_* the last TLS write waits for */
    int rx_empty;             /* reading found the socket empty and the TCP fd
                                 has not reported readable since */
    uint64_t rx_count;        /* successful reads, to tell "any traffic since" */
    uint64_t tx_count;        /* successful writes */
    buf_t in;                 /* decrypted bytes not parsed yet */
    buf_t out;                /* encoded bytes not written yet */
    uint64_t out_added;       /* bytes ever committed to `out` */
    uint64_t out_sent;        /* ...and ever written from it */
    /* A message written from its own zmq_msg_t: out[rd, direct_at) goes
     * first, then the message's bytes from direct_off, then the rest. */
    zmq_msg_t direct;
    int direct_active;
    size_t direct_at, direct_off;
} conn_record_t;

/* ZMTP session (conn_session.c). */
typedef struct conn_session {
    int signature_ok;      /* the peer's greeting signature checked */
    int connected_emitted; /* client: CONNECTED went out */
    int succeeded;         /* HANDSHAKE_SUCCEEDED went out */
    int ready_deferred;    /* server: our READY waits for the ZAP verdict */
    uint8_t peer_minor;    /* ZMTP 3.minor of the peer */
    uint8_t peer_id[255];
    size_t peer_id_len;
    /* A frame too large for the input buffer, in a buffer of its own that
     * grows as its bytes arrive (limit: the frame's declared size). */
    buf_t big;
    int big_active;
    int big_more;
    int big_command; /* a command frame, handled once complete */
    /* the message being assembled; delivered once complete so that a
     * connection lost mid-message never leaves half a message in the
     * bridge */
    zmq_msg_t *parts;
    size_t nparts, parts_cap, parts_sent;
    size_t parts_bytes; /* their sizes added up */
    int parts_ready;
} conn_session_t;

/* Heartbeats (conn_session.c): ZMQ_HEARTBEAT_* and the peer's PING TTL. */
typedef struct conn_hb {
    rx_timer_t ivl_timer;   /* ZMQ_HEARTBEAT_IVL: send a PING */
    rx_timer_t deadline;    /* ZMQ_HEARTBEAT_TIMEOUT after a PING */
    rx_timer_t ttl_timer;   /* the peer's PING TTL */
    uint64_t ping_rx_count; /* rx_count when our PING went out */
    uint64_t ttl_rx_count;  /* rx_count when the peer's TTL was armed */
    uint64_t peer_ttl_ms;
    /* Commands wait while the output stream is inside a multipart message
     * (rfc 37 allows commands only between messages). */
    int ping_due;
    int pong_due;
    /* rec.out_added just after our last PONG: until out_sent reaches it
     * that PONG has not gone, and a newer PING waits (its context replaces
     * the older one): a peer that sends PINGs and never reads is owed one
     * PONG, not one per PING. */
    uint64_t pong_end;
    uint8_t pong_ctx[16];
    size_t pong_ctx_len;
} conn_hb_t;

/* Bridge pump (conn_pump.c). */
typedef struct conn_pump {
    bridge_t *bridge;
    int owned;
    int mid;             /* the last part read from the bridge had MORE */
    int empty;           /* the last bridge read found nothing */
    int armed;           /* ...and nothing was sent to it since: libzmq has
                            processed its commands, ZMQ_FD is re-armed */
    int sub_side;        /* SUB/XSUB application: the bridge yields subscriptions,
                            and its POLLOUT says nothing (an XPUB's) */
    bridge_subs_t *subs; /* connect side: what to replay after a reconnect */
} conn_pump_t;

/* ZAP (conn_zap.c): the request in flight and the verdict's user id. */
typedef struct conn_zap {
    zap_req_t *req;
    rx_io_t io; /* the request socket's ZMQ_FD, edge-triggered */
    char user_id[ZAP_USER_ID_MAX + 1];
    int peer_held; /* the peer sent bytes: kept unparsed in the input, and
                      nothing more read until the verdict */
} conn_zap_t;

/* Driving and ending (conn.c). */
typedef struct conn_drive_state {
    int in_drive;      /* conn_drive is on the stack */
    int again;         /* go round once more */
    int input_pending; /* reading stopped on the budget with input left */
} conn_drive_state_t;

typedef struct conn_end_state {
    int dead;
    int tls_failed; /* the TLS connection failed: nothing more is written */
    conn_end_t why;
    uint32_t value;
} conn_end_state_t;

struct conn {
    const ep_cfg_t *cfg;
    conn_owner_t owner;
    rx_loop_t *loop;
    int fd;
    int is_server;
    tls_conn_t *tls;
    conn_phase_t phase;
    char peer_addr[64]; /* for the log lines; only set when ZMTLS_LOG is on */

    rx_io_t io;  /* TCP fd, level-triggered */
    rx_io_t bio; /* bridge ZMQ_FD, edge-triggered */
    rx_timer_t handshake_timer;
    rx_timer_t resume_timer;
    rx_timer_t expiry_timer; /* the peer certificate's notAfter */

    conn_record_t rec;
    conn_session_t ses;
    conn_hb_t hb;
    conn_pump_t pump;
    conn_zap_t zap;
    conn_drive_state_t drive;
    conn_end_state_t end;
    struct {
        int active; /* conn_drain: flush, then end */
        rx_timer_t timer;
    } drain;
    struct {
        rx_timer_t timer;  /* CONN_TRIM_MS: release idle buffers */
        uint64_t rx_count; /* rx_count / tx_count when it started */
        uint64_t tx_count;
    } trim;
};

/* ---- conn.c ------------------------------------------------------------ */

/* Records the end and emits its events; the owner hears of it when the
 * outermost conn_drive unwinds. Returns -1. */
int conn_end(conn_t *c, conn_end_t why, uint32_t value);
/* An authenticated peer went past a limit (err: EMSGSIZE, ...): it is told
 * why with an rfc 37 ERROR (best effort), then the connection ends as a
 * loss (DISCONNECTED). Returns -1. */
int conn_end_limit(conn_t *c, const char *reason, int err);
/* Ends for a TLS error code (TLS_E_*). Returns -1. */
int conn_end_tls(conn_t *c, int rc);
/* Ends for a ZMTP codec error (ZMTP_E_*). Returns -1. */
int conn_end_zmtp(conn_t *c, int zerr);
void conn_emit(conn_t *c, int event, uint32_t value);
/* Once authenticated: the connection ends (a loss, EKEYEXPIRED) when the
 * peer's certificate expires, so no peer stays in on a certificate that is
 * no longer valid; its reconnect must then pass a full handshake. */
void conn_expiry_start(conn_t *c);
/* A timer or an fd of a lower layer fired: run the connection (and tell
 * the owner if it ended). c may be gone afterwards. */
void conn_drive_from_timer(conn_t *c);

/* ---- conn_log.c -------------------------------------------------------- */

/* The operator's lines (ZMTLS_LOG); each does nothing when logging is off.
 * conn_log_start: at conn_new (notes the peer's address). */
void conn_log_start(conn_t *c);
/* Just before HANDSHAKE_SUCCEEDED. */
void conn_log_established(conn_t *c);
/* Inside conn_end, before its events: the handshake failure, or the loss
 * of an authenticated peer (what DISCONNECTED reports). */
void conn_log_end(conn_t *c, conn_end_t why, uint32_t value);

/* ---- conn_record.c ----------------------------------------------------- */

void conn_record_init(conn_t *c);
void conn_record_fini(conn_t *c);
/* Room for `need` more output bytes; NULL once the connection ended
 * (ENOBUFS past CONN_OUT_LIMIT, ENOMEM). */
uint8_t *conn_out_space(conn_t *c, size_t need);
/* Commits what an encoder wrote into conn_out_space(need): anything but
 * exactly `need` bytes ends the connection (EPROTO): an encoder and its
 * size function disagree, and a command is never dropped quietly. */
int conn_out_commit(conn_t *c, size_t need, size_t written);
/* Bytes waiting to be written, the direct message's included. */
size_t conn_out_len(const conn_t *c);
/* Makes `m` the direct message after what is buffered (ownership moves),
 * starting at byte `off`. */
void conn_out_direct(conn_t *c, zmq_msg_t *m, size_t off);
/* Writes the output in order until TLS refuses more. */
int conn_flush(conn_t *c);
/* Reads and parses until TLS has nothing more, the bridge pushes back or
 * the budget is spent. */
int conn_read(conn_t *c, int *budget);
/* Gives the buffers back when idle; 1 when they were released. */
int conn_record_trim(conn_t *c);

/* ---- conn_session.c ---------------------------------------------------- */

void conn_session_fini(conn_t *c);
/* The server sends its greeting as soon as its TLS handshake is done. */
int conn_queue_greeting(conn_t *c);
/* Parses buffered input according to the phase. 0: needs more bytes; 1:
 * stop reading for now (message blocked on the bridge, or budget spent);
 * -1: ended. */
int conn_parse(conn_t *c, int *budget);
/* The bridge took every part of the assembled message. */
void conn_parts_delivered(conn_t *c);
/* Where the next read of a large frame goes (the frame's buffer grown for
 * one read, CONN_BIG_STEP): 0 with *dst and *cap, or -1 once ended. */
int conn_big_room(conn_t *c, uint8_t **dst, size_t *cap);
/* A large frame has received `n` more bytes (written at conn_big_room). */
int conn_big_fill(conn_t *c, size_t n);
/* Appends the heartbeat commands that fell due, unless the output stream
 * is between the parts of a message. */
int conn_queue_heartbeats(conn_t *c);
/* A subscription as rfc 37 SUBSCRIBE/CANCEL, or rfc 23's message form for a
 * ZMTP 3.0 peer. */
int conn_queue_subscription(conn_t *c, int cancel, const uint8_t *topic, size_t len);
/* rfc 37 ERROR, best effort (the connection is ending); nothing when our
 * output is between the parts of a message, where no command may go. */
void conn_queue_error(conn_t *c, const char *reason);
void conn_hb_init(conn_t *c);
void conn_hb_stop(conn_t *c);
/* Starts ZMQ_HEARTBEAT_IVL once the handshake succeeded. */
void conn_hb_start(conn_t *c);
/* The peer's READY was accepted (and, with ZAP, the handler admitted it):
 * our READY if it was held back, the owner's bridge, HANDSHAKE_SUCCEEDED.
 * Moves to TRAFFIC. */
int conn_admit(conn_t *c);

/* ---- conn_zap.c -------------------------------------------------------- */

/* 1 when this connection must pass the ZAP handler: a server whose bind
 * has a ZAP domain. */
int conn_zap_required(const conn_t *c);
/* After the client's READY. With no handler bound in the context, as
 * libzmq: admits the peer, or ends with NO_DETAIL EFAULT under
 * ZMQ_ZAP_ENFORCE_DOMAIN. Otherwise sends the request and enters the ZAP
 * phase (no input parsed, but a peer that hangs up ends it; bounded by the
 * handshake deadline). */
int conn_zap_start(conn_t *c);
/* The ZAP phase's step: 0 while the reply is awaited, 1 once admitted (in
 * TRAFFIC), -1 ended (refused: AUTH with the status code, the client told
 * with an rfc 37 ERROR as libzmq does). */
int conn_zap_step(conn_t *c);
/* Drops a request in flight; idempotent. */
void conn_zap_fini(conn_t *c);

/* ---- conn_pump.c ------------------------------------------------------- */

/* Moves messages from the bridge into the output. */
int conn_pull_bridge(conn_t *c, int *budget);
/* Hands the assembled message to the bridge. 0 delivered, 1 blocked (the
 * application's pipe is full), -1 ended. */
int conn_deliver(conn_t *c);
/* Asks the bridge what is left to do after our own sends and receives
 * (re-arming its edge-triggered fd); sets c->drive.again when there is. */
int conn_pump_poll(conn_t *c);

#endif

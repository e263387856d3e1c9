/*
 * zmtls_hostile: what hostile peers cost a tls:// REP server.
 *
 * Two executables:
 *   zmtls_hostile_server ENDPOINT   a stock libzmq REP echo (server.c); it
 *                                   links libzmq only and gets tls:// from
 *                                   LD_PRELOAD=libzmtls.so and the ZMTLS_*
 *                                   environment, like any application;
 *   zmtls_hostile run [options]     the orchestrator (run.c): for each attack
 *                                   a fresh server, a good client, the
 *                                   attack itself (attacks.c, over the raw
 *                                   connections of wire.c), /proc samples of
 *                                   the server (proc.c) and a markdown row
 *                                   (report.c);
 *   zmtls_hostile client key=value  the good client (client.c), a REQ over
 *                                   tls:// or tcp:// timing one request
 *                                   every interval; started by run.
 *
 * A measuring tool, not a test: nothing here passes or fails on a figure.
 * Every wait is bounded, and a server that closes an attacker's connection
 * early is an outcome to report, not an error.
 */
#ifndef ZMTLS_HOSTILE_H
#define ZMTLS_HOSTILE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "common/tool.h"

/* The helpers both measuring tools share (time, text, key=value arguments,
 * quantiles, /proc, child processes): tools/common/tool.h. */

/* "zmtls_hostile <who>: message" on stderr. */
#define hs_log(who, ...) tool_log("zmtls_hostile", (who), __VA_ARGS__)

/* ---- sizes (size.c) ------------------------------------------------------- */

/* "16G", "4GiB", "1M", "1000000": bytes (K, M, G, T are powers of 1024).
 * Returns 0, or -1 when s is not a size. */
int hs_parse_size(const char *s, uint64_t *out);
/* "16 GiB", "3.5 MiB", "512 B" */
void hs_fmt_bytes(char *buf, size_t len, double bytes);

/* ---- the server process seen from outside (proc.c) ------------------------ */

typedef struct hs_sample {
    long rss_kb;  /* VmRSS */
    long hwm_kb;  /* VmHWM: peak RSS over the process's life */
    long size_kb; /* VmSize */
    long peak_kb; /* VmPeak: peak VmSize over the process's life */
    int fds;      /* entries of /proc/PID/fd */
    double cpu_s; /* utime + stime */
    int ok;       /* 0: the process is gone (fields are -1) */
} hs_sample_t;

/* One reading of /proc/PID/{status,fd,stat}. */
hs_sample_t hs_sample(pid_t pid);

/* A thread sampling one process every period_ms and keeping the largest
 * RSS, VmSize and fd count since the last hs_sampler_reset. */
typedef struct hs_sampler hs_sampler_t;
int hs_sampler_start(hs_sampler_t **out, pid_t pid, int period_ms);
void hs_sampler_reset(hs_sampler_t *s);
/* The peaks since the last reset (rss_kb, size_kb, fds; other fields are
 * the latest sample). */
hs_sample_t hs_sampler_peak(hs_sampler_t *s);
void hs_sampler_stop(hs_sampler_t **s);

/* ---- raw connections to the server (wire.c) -------------------------------- */

/* Where attacks connect, and the TLS client contexts they use (NULL when
 * the server is on tcp://). */
typedef struct hw_target {
    struct sockaddr_in addr;
    /* Attackers connect from src_base, src_base + 1, ... (src_count
     * loopback addresses, host order); the good client from 127.0.0.1, so
     * that a limit per address meets only the attacker. */
    uint32_t src_base;
    unsigned src_count;
    int tls;
    SSL_CTX *good; /* the valid client certificate */
    SSL_CTX *anon; /* no certificate at all */
} hw_target_t;

int hw_target_init(hw_target_t *t, int port, int tls, const char *certs,
                   uint32_t src_base, unsigned src_count);
void hw_target_free(hw_target_t *t);

/* How a connection ended, as far as the attacker saw. */
typedef enum hw_end {
    HW_OPEN = 0,    /* still open */
    HW_EOF,         /* the server closed (FIN, or TLS close_notify) */
    HW_RESET,       /* ECONNRESET / EPIPE */
    HW_ALERT,       /* a TLS alert from the server */
    HW_ZMTP_ERROR,  /* a ZMTP ERROR command (then usually EOF) */
    HW_TIMEOUT,     /* our own deadline, not the server */
    HW_LOCAL_ERROR, /* something on our side (connect refused, TLS failure) */
} hw_end_t;
const char *hw_end_name(hw_end_t e);

typedef struct hw_conn {
    int fd;
    SSL *ssl;     /* NULL on tcp:// */
    hw_end_t end; /* HW_OPEN while usable */
    int alert;    /* the TLS alert received, when end == HW_ALERT */
    char why[128];
    int64_t opened_ms, ended_ms;
    int64_t mark_ms; /* when the attack's own bytes went out (0: opened_ms) */
    /* Server-to-client frames, parsed after the ZMTP handshake only to
     * find an ERROR command. */
    int parse_rx;
    uint8_t rx[512];
    size_t rx_len;
    uint64_t rx_skip;          /* body bytes of a data frame still to skip */
    long ku_sent, ku_received; /* TLS KeyUpdate messages */
} hw_conn_t;

/* TCP connect (and the TLS handshake with ctx when the target is TLS;
 * ctx NULL: target->good) by deadline. 0, or -1 with c->end / c->why. */
int hw_open(hw_conn_t *c, const hw_target_t *t, SSL_CTX *ctx, int64_t deadline);
/* TCP connect only, from source address number src (modulo src_count):
 * the socket, non-blocking, for the pre-auth flood's many connections
 * (0 with the connect in progress, or -errno). */
int hw_tcp_start(const hw_target_t *t, unsigned src, int *fd);
/* Writes all of p by deadline: 0; -ETIMEDOUT when the server did not take
 * it all by then (the connection stays open; with TLS the next write must
 * start with the same bytes); -1 once the connection has ended (c->end
 * says how). hw_write_some also says how much went out. */
int hw_write(hw_conn_t *c, const void *p, size_t n, int64_t deadline);
int hw_write_some(hw_conn_t *c, const void *p, size_t n, int64_t deadline, size_t *done);
/* Reads exactly n bytes by deadline: 0, or -1. */
int hw_read_full(hw_conn_t *c, void *p, size_t n, int64_t deadline);
/* Reads whatever the server sent, without waiting, looking for a ZMTP
 * ERROR command; notices EOF, resets and alerts. Returns 1 while the
 * connection is open, 0 once it has ended. */
int hw_poll(hw_conn_t *c);
/* Waits until any of the n connections has news or timeout_ms passes,
 * then hw_poll()s the ones with news. Returns how many are still open. */
int hw_poll_many(hw_conn_t **conns, size_t n, int timeout_ms);
/* ZMTP 3.1 greeting (NULL mechanism) and READY with our Socket-Type, then
 * the server's READY, by deadline: 0, or -1 (an ERROR command included). */
int hw_zmtp_handshake(hw_conn_t *c, const char *socket_type, int64_t deadline);
/* A frame header: flags (ZMTP: 1 MORE, 2 LONG, 4 COMMAND) and size; the
 * long form when size > 255 or forced by long_form. Returns its length. */
size_t hw_frame_header(uint8_t *out, int more, uint64_t size, int long_form);
/* Sends KeyUpdate(update_requested) and waits until it is written:
 * 0, or -1. */
int hw_key_update(hw_conn_t *c, int64_t deadline);
/* Closes: with TLS close_notify when clean (not waited for), then close(2). */
void hw_close(hw_conn_t *c, int clean);
/* The first half (or n bytes) of a real ClientHello, for a flood that
 * stops mid-handshake. Returns its length, 0 when it cannot be made. */
size_t hw_partial_client_hello(const hw_target_t *t, uint8_t *out, size_t cap);

/* ---- the attacks (attacks.c) ----------------------------------------------- */

typedef struct hs_params {
    /* 1 declared-size */
    long declared_conns;
    uint64_t declared_size;
    long declared_hold_ms;
    /* 1b trickle */
    long trickle_conns;
    uint64_t trickle_size;
    uint64_t trickle_rate; /* bytes per second per connection */
    long trickle_ms;
    /* 2 multipart */
    long multipart_frames;
    long multipart_ms; /* deadline for sending them */
    long multipart_hold_ms;
    /* 3 pre-auth */
    long flood_conns;
    long flood_sources;    /* source addresses the connections are spread over */
    long flood_connect_ms; /* for all the connects to complete */
    long flood_hold_ms;
    /* 4 KeyUpdate */
    long keyupdates;
    long keyupdate_ms; /* deadline */
    /* 5 soak */
    long soak_cycles;
    long soak_threads; /* cycles in parallel */
    long soak_ms;      /* deadline */
    /* 6 unauthenticated reconnects */
    long unauth_ms;
    /* one connection's TCP + TLS + ZMTP handshake, and one request */
    long handshake_ms;
} hs_params_t;

typedef struct hs_outcome {
    char outcome[200]; /* short: the table's last column */
    char detail[600];  /* longer: the notes under the table */
    int failed;        /* the attack could not run (not: the server closed it) */
} hs_outcome_t;

typedef struct hs_attack {
    const char *name;
    const char *what; /* one line for the report */
    int tls_only;
    void (*run)(const hw_target_t *t, const hs_params_t *p, hs_outcome_t *o);
    /* The longest run() can take with these parameters, for the watchdog. */
    long (*budget_ms)(const hs_params_t *p);
} hs_attack_t;

extern const hs_attack_t hs_attacks[];
extern const size_t hs_attack_count;

/* ---- roles ------------------------------------------------------------------ */

int hs_client_main(int argc, char **argv);
int hs_run_main(int argc, char **argv);

/* ---- the report (report.c) -------------------------------------------------- */

typedef struct hs_row {
    const char *transport;
    const hs_attack_t *attack;
    hs_sample_t before, peak, after;
    double settle_s; /* how long "after" took to settle, or < 0: not settled */
    /* good client, during the attack */
    long sent, replies, timeouts;
    double p50_ms, p99_ms, max_ms;
    int client_ok;
    hs_outcome_t out;
    char server_end[96]; /* "" or how the server process ended early */
} hs_row_t;

/* The markdown report: a header of facts, the table, then notes. */
void hs_report_write(FILE *f, const char *facts, const hs_row_t *rows, size_t n);

#endif

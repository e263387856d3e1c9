/*
 * zmtls_bench: tls:// against tcp://, CURVE and stunnel, in one run.
 *
 * One executable, three roles:
 *   zmtls_bench run [options]        the orchestrator (bench.c, run.c): starts
 *                                    the stunnels, then server and client
 *                                    processes for every measurement, and
 *                                    writes the report (report.c);
 *   zmtls_bench server key=value...  one measurement's server (roles.c);
 *   zmtls_bench client key=value...  one measurement's client (roles.c).
 *
 * Server and client are separate processes, pinned to different CPUs before
 * they create a context, so libzmq's and zmtls's I/O threads inherit the
 * pinning. They talk to the orchestrator by lines on stdout ("ready ...",
 * "result k=v ...", "error ...") and wait for EOF on stdin before tearing
 * down, so a client keeps its connection until the server has measured.
 *
 * Every wait is bounded; children are killed and reaped whatever happens.
 */
#ifndef ZMTLS_BENCH_H
#define ZMTLS_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <zmq.h>
#include <zmtls.h>

#include "common/tool.h"

/* TLS session resumption. The lead is adding it to zmtls; the bench measures
 * reconnects with a resumed session only when include/zmtls.h offers the
 * switch, and otherwise reports "n/a (no resumption support yet)". Other
 * names the option might get can be mapped here. */
#if defined(ZMTLS_RESUME)
#define BENCH_RESUME_OPT ZMTLS_RESUME
#elif defined(ZMTLS_SESSION_CACHE)
#define BENCH_RESUME_OPT ZMTLS_SESSION_CACHE
#endif

enum { CASE_TCP, CASE_CURVE, CASE_STUNNEL, CASE_TLS, CASE_N };
extern const char *const bench_case_name[CASE_N];
int bench_case_parse(const char *s);

/* What one server/client pair measures. */
typedef enum bench_metric {
    M_LAT,   /* REQ/REP round trips, client times each */
    M_THR,   /* PUSH/PULL, server times first to last message */
    M_NEW,   /* new connections: zmq_connect -> HANDSHAKE_SUCCEEDED */
    M_RECON, /* reconnects after a dropped connection */
    M_MEM,   /* server RSS with many idle connections */
} bench_metric_t;
extern const char *const bench_metric_name[];
int bench_metric_parse(const char *s);

/* The helpers both measuring tools share (time, text, key=value arguments,
 * quantiles, /proc, child processes): tools/common/tool.h. */

/* "zmtls_bench <who>: message" on stderr. */
#define bench_log(who, ...) tool_log("zmtls_bench", (who), __VA_ARGS__)

/* ---- roles (roles.c) -------------------------------------------------- */

int role_server(int argc, char **argv);
int role_client(int argc, char **argv);

/* ---- orchestrator (run.c) --------------------------------------------- */

int run_main(int argc, char **argv);

#endif

/*
 * What the measuring tools share: zmtls_bench (bench/) and zmtls_hostile
 * (tools/hostile/) link this static library, so both start, watch and stop
 * their child processes, read /proc and keep time the same way.
 *
 * Threading: every function may be called from any thread, except the
 * child-process ones (child.c), which belong to the one thread that starts
 * and stops children; tool_child_kill_all_async() alone is for a signal
 * handler.
 *
 * Errors are -1 or a negative errno, as each declaration says. Nothing here
 * aborts or exits, and nothing here prints but tool_log().
 */
#ifndef ZMTLS_TOOL_H
#define ZMTLS_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- time (clock.c) --------------------------------------------------------- */

/* CLOCK_MONOTONIC in ns, us and ms (each the one before divided down). */
int64_t tool_now_ns(void);
int64_t tool_now_us(void);
int64_t tool_now_ms(void);
/* Sleeps ms (<= 0: not at all), resumed after EINTR. */
void tool_sleep_ms(int64_t ms);

/* ---- text (text.c) ---------------------------------------------------------- */

/* "<prog> <who>: message" and a newline on stderr, the message cut at 1023
 * bytes. Each tool wraps it with its own name (bench_log, hs_log). */
void tool_log(const char *prog, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* snprintf for text that may be cut short on purpose (log tails, a child's
 * line quoted in an error): never fails, always terminated when len > 0. */
void tool_fmt(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends to the terminated string in buf, cut short like tool_fmt; does
 * nothing when buf is already full. */
void tool_cat(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- key=value arguments (args.c) ------------------------------------------- */

/* The value of the first argv entry "key=value", or def. The pointer is
 * into argv. */
const char *tool_arg(int argc, char **argv, const char *key, const char *def);
/* The same, read as a number (strtol / strtod: no error on junk). */
long tool_arg_long(int argc, char **argv, const char *key, long def);
double tool_arg_double(int argc, char **argv, const char *key, double def);

/* ---- samples (stats.c) ------------------------------------------------------ */

/* qsort comparator for doubles, ascending. */
int tool_cmp_double(const void *a, const void *b);
/* Nearest-rank quantile q (0..1) of n ascending values: the smallest value
 * with at least q of the samples at or below it (p99 of 20000 samples is the
 * 19800th); 0 when n == 0. */
double tool_quantile(const double *sorted, size_t n, double q);

/* ---- processes seen through /proc (proc.c) ---------------------------------- */

/* pid 0 means the calling process in all of these. */

/* VmRSS in KiB, or -1. */
long tool_rss_kb(pid_t pid);
/* Open file descriptors (the one opendir takes to count our own is not
 * counted), or -1. */
int tool_fd_count(pid_t pid);
/* The process's threads and the Cpus_allowed_list they share ("0") in cpus,
 * or "mixed:A|B" when they differ. Returns the thread count, -1 when the
 * process is gone. */
int tool_affinity(pid_t pid, char *cpus, size_t len);
/* Pins the calling process to cpu; every thread it creates later inherits
 * it. cpu < 0: no pinning. Returns 0 or -errno. */
int tool_pin(int cpu);
/* Raises RLIMIT_NOFILE to the hard limit (children inherit it); returns the
 * new soft limit, or -1. */
long tool_raise_nofile(void);

/* ---- facts about the machine, for a report's header (machine.c) ------------- */

/* "MODEL, N CPUs online, X.X GiB RAM, Linux RELEASE" */
void tool_machine(char *out, size_t len);
/* The current time as "YYYY-MM-DD HH:MM UTC". */
void tool_date_utc(char *out, size_t len);

/* ---- child processes (child.c) ---------------------------------------------- */

/*
 * A child talks to us by lines: it reads its stdin until EOF ("you are
 * done") and writes lines on its stdout. Every child runs in its own process
 * group (one kill reaches whatever it starts) and gets SIGKILL when we die,
 * even by SIGKILL. Children are registered from spawn until reaped, so
 * tool_child_kill_all (atexit) and tool_child_kill_all_async (a fatal
 * signal's handler) find them; at most TOOL_CHILD_MAX at once, more are
 * still started but not registered.
 */
#define TOOL_CHILD_MAX 16

typedef struct tool_child {
    char name[48]; /* for messages */
    pid_t pid;     /* 0 once reaped */
    int pidfd;     /* readable once it has exited; -1 once reaped */
    int in;        /* its stdin, -1 once closed */
    int out;       /* its stdout (non-blocking), -1 when not captured or at EOF */
    char buf[4096];
    size_t len;
    /* Once reaped: its exit status or 128 + signal; -1 before, or when we
     * killed it. */
    int status;
} tool_child_t;

/* A child slot that holds no process and no descriptor: what a
 * tool_child_t must start as, so that killing one never started closes
 * nothing (a zero-filled one would close fd 0). */
#define TOOL_CHILD_NONE                                                                  \
    {                                                                                    \
        .pid = 0, .pidfd = -1, .in = -1, .out = -1, .status = -1                         \
    }

/* tool_child_spawn flags. STDOUT_NULL: its stdout goes to /dev/null, not to
 * us. PIN_OR_FAIL: it exits with 126 before exec when it cannot be pinned;
 * without it, it runs unpinned. */
#define TOOL_CHILD_STDOUT_NULL 0x1u
#define TOOL_CHILD_PIN_OR_FAIL 0x2u

/* Starts argv[0] (a path; no PATH search) with argv, with our environment
 * plus env ("K=V" entries, NULL-terminated, may be NULL; they win over ours),
 * stdin a pipe from us, stdout a pipe to us (see flags), pinned to cpu when
 * cpu >= 0. c is overwritten. Returns 0, or -errno with nothing left open. */
int tool_child_spawn(tool_child_t *c, const char *name, char *const argv[],
                     char *const env[], int cpu, unsigned flags);
/* Next line of its stdout, without the newline, cut to cap - 1 bytes (a
 * line longer than the buffer comes in pieces), within timeout_ms: 0; -1 on
 * timeout; -2 when its output has ended (it exited, or closed stdout). */
int tool_child_line(tool_child_t *c, char *line, size_t cap, int timeout_ms);
/* Writes line and a newline to its stdin; once a write fails (it is gone)
 * its stdin is closed and later lines are dropped. */
void tool_child_say(tool_child_t *c, const char *line);
/* EOF on its stdin: the line protocol's "you are done". */
void tool_child_close_stdin(tool_child_t *c);
/* 1 when it has exited (it is then reaped, c->status set), else 0. Does not
 * block. */
int tool_child_exited(tool_child_t *c);
/* Closes its stdin and waits up to timeout_ms for it to exit, else kills
 * its group. Returns its exit status (128 + signal when a signal ended it),
 * or -1 when it was killed, now or before. */
int tool_child_stop(tool_child_t *c, int timeout_ms);
/* SIGKILLs its group and reaps it now; c->status becomes -1. Harmless on a
 * child already reaped. */
void tool_child_kill(tool_child_t *c);
/* tool_child_kill for every registered child (for atexit). */
void tool_child_kill_all(void);
/* Async-signal-safe, for a fatal signal's handler that then calls _exit:
 * SIGKILLs every registered child's group and waits for each; touches no
 * tool_child_t. */
void tool_child_kill_all_async(void);

#endif

/*
 * Operator diagnostics: one line per event on stderr, chosen by the
 * environment variable ZMTLS_LOG ("info" or "debug"; unset or anything
 * else: nothing is written). docs/zmq_tls.7.md ("Diagnostics") gives the
 * line format, which callers keep stable:
 *
 *   zmtls: <endpoint> <verb> <address> [key=value ...]
 *
 * Cost: when the level is off, log_on() is one relaxed atomic load and a
 * compare; callers test it before gathering anything for a line.
 *
 * Bounds: a line is built in a fixed buffer on the caller's stack
 * (LOG_LINE_MAX); what does not fit is cut and ends with LOG_CUT_MARK. The
 * line goes out whole with one write(2) to fd 2 (EINTR retried, anything
 * else ignored), so lines of different threads never interleave and the
 * I/O thread waits at most for that one write.
 *
 * Threading: every function may be called from any thread; a log_line_t
 * belongs to the thread that built it.
 */
#ifndef ZMTLS_LOG_H
#define ZMTLS_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>

enum {
    LOG_OFF = 0,
    LOG_INFO = 1,  /* handshake outcomes, losses of authenticated peers */
    LOG_DEBUG = 2, /* plus connection attempts, accepts and retries */
};

/* Bytes of a line, its prefix and newline included. */
#define LOG_LINE_MAX 1024
/* Ends a line that did not fit. */
#define LOG_CUT_MARK "...(cut)"

/* The level, read from ZMTLS_LOG by the first call of the process;
 * -1 until then. Use log_on(). */
extern atomic_int log_cached_level;
int log_level_init(void);

/* 1 when lines of `level` are written. */
static inline int log_on(int level)
{
    int l = atomic_load_explicit(&log_cached_level, memory_order_relaxed);
    if (l < 0)
        l = log_level_init();
    return l >= level;
}

typedef struct log_line {
    char buf[LOG_LINE_MAX];
    size_t len; /* bytes used, without a terminating NUL */
    int cut;    /* something did not fit */
} log_line_t;

/* Starts a line: the prefix, the endpoint, the verb and the address
 * (NULL or "": "-"). */
void log_begin(log_line_t *l, const char *endpoint, const char *verb,
               const char *address);
/* Appends " " and the formatted text. */
void log_add(log_line_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends ` key="value"`, with '"' and '\' escaped by '\' and control
 * bytes written as '?', so a value never ends a field or a line early. */
void log_add_quoted(log_line_t *l, const char *key, const char *value);
/* Writes the line (newline added, LOG_CUT_MARK when cut). */
void log_end(log_line_t *l);

/* The address of the peer of a connected socket, "1.2.3.4:5" or
 * "[::1]:5"; "-" when unknown. Writes at most cap bytes, NUL included. */
void log_peer_address(int fd, char *buf, size_t cap);

#endif

/* Operator diagnostics (log.h): the level, line building, the write. */
#include "log/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

atomic_int log_cached_level = -1;

int log_level_init(void)
{
    /* Two threads racing here read the same variable and store the same
     * value; the environment is read once in effect. */
    const char *v = getenv("ZMTLS_LOG");
    int l = LOG_OFF;
    if (v != NULL && strcmp(v, "info") == 0)
        l = LOG_INFO;
    else if (v != NULL && strcmp(v, "debug") == 0)
        l = LOG_DEBUG;
    atomic_store_explicit(&log_cached_level, l, memory_order_relaxed);
    return l;
}

/* Room for the newline and the cut mark is kept at the end of buf. */
#define LOG_ROOM (LOG_LINE_MAX - 1 - (sizeof(LOG_CUT_MARK) - 1))

static void log_vadd(log_line_t *l, const char *fmt, va_list ap)
{
    if (l->cut)
        return;
    size_t room = LOG_ROOM - l->len;
    /* vsnprintf writes a NUL: one byte more than the room, which the
     * reserve at the end of buf holds. */
    int n = vsnprintf(l->buf + l->len, room + 1, fmt, ap);
    if (n < 0) {
        l->cut = 1;
        return;
    }
    if ((size_t)n > room) {
        l->len = LOG_ROOM;
        l->cut = 1;
        return;
    }
    l->len += (size_t)n;
}

static void log_fmt(log_line_t *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vadd(l, fmt, ap);
    va_end(ap);
}

void log_begin(log_line_t *l, const char *endpoint, const char *verb, const char *address)
{
    l->len = 0;
    l->cut = 0;
    log_fmt(l, "zmtls: %s %s %s", endpoint != NULL && *endpoint ? endpoint : "-", verb,
            address != NULL && *address ? address : "-");
}

void log_add(log_line_t *l, const char *fmt, ...)
{
    va_list ap;
    log_fmt(l, " ");
    va_start(ap, fmt);
    log_vadd(l, fmt, ap);
    va_end(ap);
}

static void log_putc(log_line_t *l, char ch)
{
    if (l->cut)
        return;
    if (l->len >= LOG_ROOM) {
        l->cut = 1;
        return;
    }
    l->buf[l->len++] = ch;
}

void log_add_quoted(log_line_t *l, const char *key, const char *value)
{
    log_fmt(l, " %s=\"", key);
    for (const unsigned char *p = (const unsigned char *)(value != NULL ? value : "");
         *p != '\0' && !l->cut; p++) {
        if (*p == '"' || *p == '\\')
            log_putc(l, '\\');
        log_putc(l, *p < 0x20 || *p == 0x7f ? '?' : (char)*p);
    }
    log_putc(l, '"');
}

void log_end(log_line_t *l)
{
    if (l->cut) {
        memcpy(l->buf + l->len, LOG_CUT_MARK, sizeof(LOG_CUT_MARK) - 1);
        l->len += sizeof(LOG_CUT_MARK) - 1;
    }
    l->buf[l->len++] = '\n';
    const char *p = l->buf;
    size_t left = l->len;
    /* One write for the whole line: a pipe or a terminal takes up to
     * PIPE_BUF (4096) bytes atomically, more than a line. A short write
     * (a full non-blocking stderr) loses the rest rather than waiting. */
    ssize_t n;
    do {
        n = write(STDERR_FILENO, p, left);
    } while (n < 0 && errno == EINTR);
}

void log_peer_address(int fd, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN];
    snprintf(buf, cap, "-");
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host)) != NULL)
            snprintf(buf, cap, "%s:%u", host, (unsigned)ntohs(in->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host)) != NULL)
            snprintf(buf, cap, "[%s]:%u", host, (unsigned)ntohs(in6->sin6_port));
    }
}

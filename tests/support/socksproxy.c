/*
 * The test SOCKS5 proxy (socksproxy.h): a listener thread and one thread
 * per client connection, all ended by one pipe that stop makes readable.
 */
#include "socksproxy.h"

#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PX_SESSIONS_MAX 256

struct tu_socks {
    tu_socks_opts_t opts;
    int lfd;
    int port;
    char address[32];
    int stop[2]; /* readable once stopping */
    pthread_t listener;
    pthread_mutex_t mu;
    pthread_cond_t changed;
    tu_socks_stats_t stats;
    pthread_t sessions[PX_SESSIONS_MAX];
    size_t nsessions;
};

typedef struct px_session {
    tu_socks_t *p;
    int client;
} px_session_t;

static void px_count(tu_socks_t *p, unsigned *field)
{
    pthread_mutex_lock(&p->mu);
    (*field)++;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->mu);
}

/* Waits for fd to be readable: 1, or 0 on stop, timeout or error. */
static int px_wait(tu_socks_t *p, int fd, int ms)
{
    struct pollfd f[2] = {{fd, POLLIN, 0}, {p->stop[0], POLLIN, 0}};
    int rc;
    do
        rc = poll(f, 2, ms);
    while (rc < 0 && errno == EINTR);
    return rc > 0 && !(f[1].revents & POLLIN) && (f[0].revents & (POLLIN | POLLHUP));
}

/* Reads exactly n bytes: 0, or -1 (EOF, error, stop, timeout). */
static int px_read(tu_socks_t *p, int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        if (!px_wait(p, fd, TU_SOCKS_IO_MS))
            return -1;
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static void px_write(int fd, const uint8_t *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        n -= (size_t)w;
    }
}

static void px_reply(int fd, uint8_t rep)
{
    const uint8_t r[10] = {5, rep, 0, 1, 0, 0, 0, 0, 0, 0};
    px_write(fd, r, sizeof(r));
}

/* Method choice and, for method 2, the credentials: 0 to go on. */
static int px_auth(tu_socks_t *p, int fd)
{
    uint8_t b[2 + 255 + 255];
    if (px_read(p, fd, b, 2) < 0 || b[0] != 5 || px_read(p, fd, b + 2, b[1]) < 0)
        return -1;
    if (p->opts.silent) {
        px_wait(p, fd, -1); /* until the client gives up, or stop */
        return -1;
    }
    if (p->opts.garbage) {
        static const char http[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
        px_write(fd, (const uint8_t *)http, sizeof(http) - 1);
        return -1;
    }
    uint8_t want = p->opts.user ? 2 : 0;
    uint8_t method = 0xff;
    for (int i = 0; i < b[1]; i++)
        if (b[2 + i] == want)
            method = want;
    const uint8_t choice[2] = {5, method};
    px_write(fd, choice, 2);
    if (method == 0xff) {
        px_count(p, &p->stats.auth_failed);
        return -1;
    }
    if (method == 0)
        return 0;
    uint8_t ulen, plen;
    char user[256], pass[256];
    if (px_read(p, fd, b, 2) < 0 || b[0] != 1)
        return -1;
    ulen = b[1];
    if (px_read(p, fd, (uint8_t *)user, ulen) < 0 || px_read(p, fd, &plen, 1) < 0 ||
        px_read(p, fd, (uint8_t *)pass, plen) < 0)
        return -1;
    user[ulen] = pass[plen] = '\0';
    const char *expect = p->opts.pass ? p->opts.pass : "";
    int ok = strcmp(user, p->opts.user) == 0 && strcmp(pass, expect) == 0;
    const uint8_t verdict[2] = {1, ok ? 0 : 1};
    px_write(fd, verdict, 2);
    px_count(p, ok ? &p->stats.auth_ok : &p->stats.auth_failed);
    return ok ? 0 : -1; /* RFC 1929: close after a failure */
}

/* Reads the CONNECT and connects where it (or the redirect) says: the
 * remote fd, or -1 after answering the failure. */
static int px_connect(tu_socks_t *p, int fd)
{
    uint8_t h[4], a[256], port[2];
    char host[256] = "";
    if (px_read(p, fd, h, 4) < 0 || h[0] != 5 || h[1] != 1)
        return -1;
    size_t alen = h[3] == 1 ? 4 : h[3] == 4 ? 16 : 0;
    if (h[3] == 3) {
        uint8_t l;
        if (px_read(p, fd, &l, 1) < 0)
            return -1;
        alen = l;
    }
    if ((h[3] != 1 && h[3] != 3 && h[3] != 4) || px_read(p, fd, a, alen) < 0 ||
        px_read(p, fd, port, 2) < 0)
        return -1;
    if (h[3] == 1)
        inet_ntop(AF_INET, a, host, sizeof(host));
    else if (h[3] == 4)
        inet_ntop(AF_INET6, a, host, sizeof(host));
    else
        memcpy(host, a, alen), host[alen] = '\0';
    int dport = (port[0] << 8) | port[1];
    pthread_mutex_lock(&p->mu);
    p->stats.requests++;
    p->stats.last_atyp = h[3];
    snprintf(p->stats.last_host, sizeof(p->stats.last_host), "%s", host);
    p->stats.last_port = dport;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->mu);
    if (p->opts.refuse_rep) {
        px_reply(fd, (uint8_t)p->opts.refuse_rep);
        return -1;
    }
    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%d",
             p->opts.redirect_port ? p->opts.redirect_port : dport);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(p->opts.redirect_port ? "127.0.0.1" : host, portstr, &hints, &res) !=
        0) {
        px_reply(fd, 4);
        return -1;
    }
    /* Every address of a name in turn ("localhost" is ::1 first, and a
     * test server listens on 127.0.0.1). */
    int r = -1;
    for (struct addrinfo *ai = res; ai != NULL && r < 0; ai = ai->ai_next) {
        r = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (r >= 0 && connect(r, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(r);
            r = -1;
        }
    }
    freeaddrinfo(res);
    if (r < 0) {
        px_reply(fd, 5);
        return -1;
    }
    px_reply(fd, 0);
    px_count(p, &p->stats.tunnels);
    return r;
}

/* Copies both ways until either side closes, or stop. */
static void px_relay(tu_socks_t *p, int a, int b)
{
    uint8_t buf[16384];
    for (;;) {
        struct pollfd f[3] = {{a, POLLIN, 0}, {b, POLLIN, 0}, {p->stop[0], POLLIN, 0}};
        int rc = poll(f, 3, -1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0 || (f[2].revents & POLLIN))
            return;
        for (int i = 0; i < 2; i++) {
            if (!(f[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = recv(f[i].fd, buf, sizeof(buf), 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return;
            px_write(f[1 - i].fd, buf, (size_t)n);
        }
    }
}

static void *px_session_main(void *arg)
{
    px_session_t *s = arg;
    tu_socks_t *p = s->p;
    int fd = s->client;
    free(s);
    if (px_auth(p, fd) == 0) {
        int r = px_connect(p, fd);
        if (r >= 0) {
            px_relay(p, fd, r);
            close(r);
        }
    }
    close(fd);
    return NULL;
}

static void *px_listener_main(void *arg)
{
    tu_socks_t *p = arg;
    while (px_wait(p, p->lfd, -1)) {
        int fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        px_count(p, &p->stats.accepted);
        px_session_t *s = malloc(sizeof(*s));
        if (s == NULL || p->nsessions == PX_SESSIONS_MAX) {
            free(s);
            close(fd);
            continue;
        }
        s->p = p;
        s->client = fd;
        if (pthread_create(&p->sessions[p->nsessions], NULL, px_session_main, s) != 0) {
            free(s);
            close(fd);
            continue;
        }
        p->nsessions++;
    }
    return NULL;
}

tu_socks_t *tu_socks_start(const tu_socks_opts_t *opts)
{
    tu_socks_t *p = calloc(1, sizeof(*p));
    CHECK(p != NULL);
    p->opts = *opts;
    CHECK(pipe(p->stop) == 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->changed, NULL);
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(p->lfd >= 0);
    int one = 1;
    CHECK(setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)opts->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "socksproxy: bind to port %d: %s\n", opts->port, strerror(errno));
        exit(1);
    }
    CHECK(listen(p->lfd, 64) == 0);
    socklen_t len = sizeof(sa);
    CHECK(getsockname(p->lfd, (struct sockaddr *)&sa, &len) == 0);
    p->port = ntohs(sa.sin_port);
    snprintf(p->address, sizeof(p->address), "127.0.0.1:%d", p->port);
    CHECK(pthread_create(&p->listener, NULL, px_listener_main, p) == 0);
    return p;
}

int tu_socks_port(const tu_socks_t *p)
{
    return p->port;
}

const char *tu_socks_address(const tu_socks_t *p)
{
    return p->address;
}

void tu_socks_stats(tu_socks_t *p, tu_socks_stats_t *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->mu);
}

int tu_socks_wait(tu_socks_t *p, unsigned field_offset, unsigned count, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    while (*(unsigned *)((char *)&p->stats + field_offset) < count && rc == 0)
        rc = pthread_cond_timedwait(&p->changed, &p->mu, &until);
    int reached = *(unsigned *)((char *)&p->stats + field_offset) >= count;
    pthread_mutex_unlock(&p->mu);
    return reached ? 0 : -1;
}

void tu_socks_stop(tu_socks_t **pp)
{
    tu_socks_t *p = *pp;
    if (p == NULL)
        return;
    *pp = NULL;
    CHECK(write(p->stop[1], "x", 1) == 1);
    pthread_join(p->listener, NULL);
    for (size_t i = 0; i < p->nsessions; i++)
        pthread_join(p->sessions[i], NULL);
    close(p->lfd);
    close(p->stop[0]);
    close(p->stop[1]);
    pthread_cond_destroy(&p->changed);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

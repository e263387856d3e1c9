/* Test support; see testutil.h for the contract. */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "zmtls.h"

/* ------------------------------------------------------------------ */
/* Process                                                              */

static void tu_watchdog_fired(int sig)
{
    static const char msg[] = "watchdog: test did not finish in time\n";
    (void)sig;
    /* Only async-signal-safe calls here. */
    ssize_t rc = write(2, msg, sizeof msg - 1);
    (void)rc;
    _exit(3);
}

void tu_watchdog(unsigned seconds)
{
    signal(SIGALRM, tu_watchdog_fired);
    alarm(seconds);
    /* Summary lines must reach ctest -V in order even when a CHECK exits. */
    setvbuf(stdout, NULL, _IOLBF, 0);
}

static const char *const tu_env_names[3] = {"ZMTLS_CERT", "ZMTLS_KEY", "ZMTLS_CA"};

void tu_env_creds(char **argv, const char *cert, const char *key, const char *ca)
{
    const char *want[3] = {cert, key, ca};
    int changed = 0;
    for (int i = 0; i < 3; i++) {
        const char *have = getenv(tu_env_names[i]);
        if (want[i] == NULL) {
            if (have != NULL) {
                CHECK(unsetenv(tu_env_names[i]) == 0);
                changed = 1;
            }
            continue;
        }
        const char *path = tu_cert(want[i]);
        if (have == NULL || strcmp(have, path) != 0) {
            CHECK(setenv(tu_env_names[i], path, 1) == 0);
            changed = 1;
        }
    }
    /* A CRL default from the caller's environment would refuse or check
     * peers behind every test's back. */
    if (getenv("ZMTLS_CRL") != NULL) {
        CHECK(unsetenv("ZMTLS_CRL") == 0);
        changed = 1;
    }
    if (!changed)
        return;
    /* Second time round the environment matches, so this cannot loop. */
    execv("/proc/self/exe", argv);
    fprintf(stderr, "tu_env_creds: re-exec failed: %s\n", strerror(errno));
    exit(1);
}

const char *tu_cert(const char *name)
{
    static char bufs[8][1024];
    static unsigned next;
    const char *dir = getenv("ZMTLS_TEST_CERTS");
    if (dir == NULL || *dir == '\0') {
        fprintf(stderr, "ZMTLS_TEST_CERTS is not set (run through ctest, which makes "
                        "the certificates with scripts/make-certs.sh)\n");
        exit(1);
    }
    char *buf = bufs[next++ % 8];
    int n = snprintf(buf, sizeof bufs[0], "%s/%s", dir, name);
    CHECK(n > 0 && (size_t)n < sizeof bufs[0]);
    if (access(buf, R_OK) != 0) {
        fprintf(stderr, "test certificate %s: %s\n", buf, strerror(errno));
        exit(1);
    }
    return buf;
}

int64_t tu_now_ms(void)
{
    struct timespec ts;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int tu_remaining(int64_t deadline)
{
    int64_t left = deadline - tu_now_ms();
    return left > 0 ? (int)left : 0;
}

/* ------------------------------------------------------------------ */
/* Sockets                                                              */

void *tu_socket(void *ctx, int type)
{
    void *s = zmq_socket(ctx, type);
    CHECK(s != NULL);
    tu_set_int(s, ZMQ_LINGER, 0);
    return s;
}

void tu_set_int(void *sock, int option, int value)
{
    if (zmq_setsockopt(sock, option, &value, sizeof value) != 0) {
        fprintf(stderr, "zmq_setsockopt(%#x, %d): %s\n", (unsigned)option, value,
                zmq_strerror(errno));
        exit(1);
    }
}

int tu_get_int(void *sock, int option)
{
    int value = 0;
    size_t len = sizeof value;
    CHECK(zmq_getsockopt(sock, option, &value, &len) == 0);
    CHECK_EQ(len, sizeof value);
    return value;
}

void tu_set_str(void *sock, int option, const char *value)
{
    if (zmq_setsockopt(sock, option, value, strlen(value)) != 0) {
        fprintf(stderr, "zmq_setsockopt(%#x, \"%s\"): %s\n", (unsigned)option, value,
                zmq_strerror(errno));
        exit(1);
    }
}

void tu_set_creds(void *sock, const char *cert, const char *key, const char *ca)
{
    if (cert != NULL)
        tu_set_str(sock, ZMTLS_CERT_FILE, tu_cert(cert));
    if (key != NULL)
        tu_set_str(sock, ZMTLS_KEY_FILE, tu_cert(key));
    if (ca != NULL)
        tu_set_str(sock, ZMTLS_CA_FILE, tu_cert(ca));
}

void tu_bind_ephemeral(void *sock, const char *pattern, char *endpoint_out)
{
    if (zmq_bind(sock, pattern) != 0) {
        fprintf(stderr, "zmq_bind(%s): %s\n", pattern, zmq_strerror(errno));
        exit(1);
    }
    size_t len = TU_EP_MAX;
    CHECK(zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, endpoint_out, &len) == 0);
    CHECK(len > 0 && len <= TU_EP_MAX && endpoint_out[len - 1] == '\0');
    /* "tls://127.0.0.1:*" must come back as "tls://127.0.0.1:<port>". */
    const char *star = strrchr(pattern, '*');
    CHECK(star != NULL);
    size_t prefix = (size_t)(star - pattern);
    if (strncmp(endpoint_out, pattern, prefix) != 0) {
        fprintf(stderr, "ZMQ_LAST_ENDPOINT \"%s\" does not match \"%s\"\n", endpoint_out,
                pattern);
        exit(1);
    }
    int port = tu_endpoint_port(endpoint_out);
    CHECK(port > 0 && port < 65536);
}

int tu_endpoint_port(const char *endpoint)
{
    const char *colon = strrchr(endpoint, ':');
    CHECK(colon != NULL);
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port <= 0 || port > 65535) {
        fprintf(stderr, "no port in endpoint \"%s\"\n", endpoint);
        exit(1);
    }
    return (int)port;
}

/* ------------------------------------------------------------------ */
/* Monitor events                                                       */

void *tu_monitor(void *ctx, void *sock, int mask)
{
    static unsigned counter;
    char addr[64];
    snprintf(addr, sizeof addr, "inproc://tu-mon-%u", counter++);
    if (zmq_socket_monitor(sock, addr, mask) != 0) {
        fprintf(stderr, "zmq_socket_monitor(%s): %s\n", addr, zmq_strerror(errno));
        exit(1);
    }
    void *pair = tu_socket(ctx, ZMQ_PAIR);
    CHECK(zmq_connect(pair, addr) == 0);
    return pair;
}

int tu_event_recv(void *mon, int timeout_ms, int *event, int *value, char *endpoint)
{
    if (tu_wait_readable(mon, timeout_ms) != 0)
        return -1;
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    CHECK(zmq_msg_recv(&frame, mon, 0) >= 0);
    /* The format every monitor reader (CZMQ, pyzmq) depends on. */
    CHECK_EQ(zmq_msg_size(&frame), 6);
    CHECK(zmq_msg_more(&frame));
    const unsigned char *data = zmq_msg_data(&frame);
    uint16_t ev;
    uint32_t val;
    memcpy(&ev, data, sizeof ev);
    memcpy(&val, data + sizeof ev, sizeof val);
    zmq_msg_close(&frame);

    zmq_msg_init(&frame);
    CHECK(zmq_msg_recv(&frame, mon, 0) >= 0);
    CHECK(!zmq_msg_more(&frame));
    if (endpoint != NULL) {
        size_t n = zmq_msg_size(&frame);
        if (n >= TU_EP_MAX)
            n = TU_EP_MAX - 1;
        memcpy(endpoint, zmq_msg_data(&frame), n);
        endpoint[n] = '\0';
    }
    zmq_msg_close(&frame);
    *event = ev;
    *value = (int)val;
    return 0;
}

void tu_events_init(tu_events_t *log)
{
    memset(log, 0, sizeof *log);
}

static int tu_event_bit(int event)
{
    for (int bit = 0; bit < 16; bit++)
        if (event == (1 << bit))
            return bit;
    return -1;
}

void tu_events_add(tu_events_t *log, int event, int value, const char *endpoint)
{
    int bit = tu_event_bit(event);
    if (bit >= 0)
        log->count[bit]++;
    else
        log->other++;
    log->total++;
    if (log->n == TU_EVENTS_MAX)
        return;
    tu_event_t *e = &log->seq[log->n++];
    e->t_ms = tu_now_ms();
    e->event = event;
    e->value = value;
    snprintf(e->endpoint, sizeof e->endpoint, "%s", endpoint ? endpoint : "");
}

unsigned tu_events_count(const tu_events_t *log, int event)
{
    int bit = tu_event_bit(event);
    return bit >= 0 ? log->count[bit] : 0;
}

int tu_events_index(const tu_events_t *log, int event, unsigned nth)
{
    for (size_t i = 0; i < log->n; i++)
        if (log->seq[i].event == event && nth-- == 0)
            return (int)i;
    return -1;
}

int tu_events_nth(const tu_events_t *log, int event, unsigned nth, int *value)
{
    int i = tu_events_index(log, event, nth);
    if (i < 0)
        return -1;
    *value = log->seq[i].value;
    return 0;
}

const char *tu_event_name(int event)
{
    /* Our own table: tests must not read zmtls's events through zmtls's own
     * zmtls_event_name, and this library does not link libzmtls. */
    static const char *const names[16] = {"CONNECTED",
                                          "CONNECT_DELAYED",
                                          "CONNECT_RETRIED",
                                          "LISTENING",
                                          "BIND_FAILED",
                                          "ACCEPTED",
                                          "ACCEPT_FAILED",
                                          "CLOSED",
                                          "CLOSE_FAILED",
                                          "DISCONNECTED",
                                          "MONITOR_STOPPED",
                                          "HANDSHAKE_FAILED_NO_DETAIL",
                                          "HANDSHAKE_SUCCEEDED",
                                          "HANDSHAKE_FAILED_PROTOCOL",
                                          "HANDSHAKE_FAILED_AUTH",
                                          "UNKNOWN"};
    int bit = tu_event_bit(event);
    return bit >= 0 ? names[bit] : "UNKNOWN";
}

void tu_events_print(const tu_events_t *log, const char *label)
{
    printf("%s: events=%zu", label, log->total);
    for (int bit = 0; bit < 16; bit++)
        if (log->count[bit] > 0)
            printf(" %s=%u", tu_event_name(1 << bit), log->count[bit]);
    if (log->other > 0)
        printf(" other=%u", log->other);
    printf("\n%s: sequence", label);
    int64_t t0 = log->n > 0 ? log->seq[0].t_ms : 0;
    for (size_t i = 0; i < log->n; i++)
        printf(" %s(%d)@%lld", tu_event_name(log->seq[i].event), log->seq[i].value,
               (long long)(log->seq[i].t_ms - t0));
    if (log->n < log->total)
        printf(" ... (%zu more)", log->total - log->n);
    printf("\n");
}

int tu_expect_event(void *mon, tu_events_t *log, int event, int timeout_ms, int *value)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    for (;;) {
        int ev, val;
        char ep[TU_EP_MAX];
        if (tu_event_recv(mon, tu_remaining(deadline), &ev, &val, ep) != 0)
            return -1;
        if (log != NULL)
            tu_events_add(log, ev, val, ep);
        if (ev == event) {
            if (value != NULL)
                *value = val;
            return 0;
        }
    }
}

int tu_drain_events(void *mon, tu_events_t *log, int window_ms)
{
    int64_t deadline = tu_now_ms() + window_ms;
    int n = 0;
    int ev, val;
    char ep[TU_EP_MAX];
    while (tu_event_recv(mon, tu_remaining(deadline), &ev, &val, ep) == 0) {
        tu_events_add(log, ev, val, ep);
        n++;
    }
    return n;
}

int tu_pump(void *mon, tu_events_t *log)
{
    int n = 0;
    int ev, val;
    char ep[TU_EP_MAX];
    while (tu_event_recv(mon, 0, &ev, &val, ep) == 0) {
        tu_events_add(log, ev, val, ep);
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Peers                                                                */

void tu_peer_open(tu_peer_t *p, const char *name, void *ctx, int type, const char *cert,
                  const char *key, const char *ca)
{
    memset(p, 0, sizeof *p);
    p->name = name;
    p->sock = tu_socket(ctx, type);
    tu_events_init(&p->log);
    p->mon = tu_monitor(ctx, p->sock, ZMQ_EVENT_ALL);
    tu_set_creds(p->sock, cert, key, ca);
}

void tu_peer_bind(tu_peer_t *p)
{
    tu_bind_ephemeral(p->sock, "tls://127.0.0.1:*", p->endpoint);
}

void tu_peer_connect(tu_peer_t *p, const char *endpoint)
{
    if (zmq_connect(p->sock, endpoint) != 0) {
        fprintf(stderr, "%s: zmq_connect(%s): %s\n", p->name, endpoint,
                zmq_strerror(errno));
        exit(1);
    }
    snprintf(p->endpoint, sizeof p->endpoint, "%s", endpoint);
}

void tu_peer_close(tu_peer_t *p)
{
    /* Monitor first: closing the socket would send MONITOR_STOPPED to a
     * PAIR nobody reads any more. */
    if (p->mon != NULL) {
        CHECK(zmq_close(p->mon) == 0);
        p->mon = NULL;
    }
    if (p->sock != NULL) {
        CHECK(zmq_close(p->sock) == 0);
        p->sock = NULL;
    }
}

int tu_peer_expect_at(tu_peer_t *p, int event, const char *file, int line)
{
    int value = 0;
    if (tu_expect_event(p->mon, &p->log, event, TU_TIMEOUT_MS, &value) == 0)
        return value;
    fprintf(stderr, "%s:%d: %s: no %s within %d ms\n", file, line, p->name,
            tu_event_name(event), TU_TIMEOUT_MS);
    tu_events_print(&p->log, p->name);
    exit(1);
}

int tu_peers_wait(tu_peer_t *const peers[], size_t n, int64_t deadline_ms,
                  const tu_peer_t *until, int event, unsigned count)
{
    return tu_peers_wait_quiet(NULL, peers, n, deadline_ms, until, event, count);
}

int tu_peers_wait_quiet(void *quiet, tu_peer_t *const peers[], size_t n,
                        int64_t deadline_ms, const tu_peer_t *until, int event,
                        unsigned count)
{
    /* Item 0 is `quiet` (or an item that never fires), then the monitors. */
    zmq_pollitem_t items[9];
    CHECK(n > 0 && n <= 8);
    items[0] = (zmq_pollitem_t){quiet, 0, quiet != NULL ? ZMQ_POLLIN : 0, 0};
    for (size_t i = 0; i < n; i++)
        items[i + 1] = (zmq_pollitem_t){peers[i]->mon, 0, ZMQ_POLLIN, 0};
    for (;;) {
        if (until != NULL && tu_events_count(&until->log, event) >= count)
            return 0;
        int left = tu_remaining(deadline_ms);
        if (left == 0)
            return until != NULL ? -1 : 0;
        int rc = zmq_poll(quiet != NULL ? items : items + 1,
                          (int)(quiet != NULL) + (int)n, left);
        if (rc < 0 && errno == EINTR)
            continue;
        CHECK(rc >= 0);
        if (items[0].revents & ZMQ_POLLIN)
            return 1;
        for (size_t i = 0; i < n; i++)
            if (items[i + 1].revents & ZMQ_POLLIN)
                tu_pump(peers[i]->mon, &peers[i]->log);
    }
}

/* ------------------------------------------------------------------ */
/* Messages                                                             */

int tu_wait_readable(void *sock, int timeout_ms)
{
    int64_t deadline = tu_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    for (;;) {
        int rc = zmq_poll(&item, 1, tu_remaining(deadline));
        if (rc > 0)
            return 0;
        if (rc < 0 && errno == EINTR)
            continue;
        CHECK(rc == 0);
        if (tu_remaining(deadline) == 0)
            return -1;
    }
}

int tu_recv_msg(void *sock, tu_msg_t *m, int timeout_ms)
{
    m->n = 0;
    if (tu_wait_readable(sock, timeout_ms) != 0)
        return -1;
    /* The parts of one message arrive together, so once the first is
     * readable the rest need no waiting. */
    for (;;) {
        CHECK(m->n < TU_PARTS_MAX);
        zmq_msg_t *part = &m->part[m->n];
        zmq_msg_init(part);
        CHECK(zmq_msg_recv(part, sock, 0) >= 0);
        m->n++;
        if (!zmq_msg_more(part))
            return 0;
    }
}

void tu_msg_close(tu_msg_t *m)
{
    for (size_t i = 0; i < m->n; i++)
        zmq_msg_close(&m->part[i]);
    m->n = 0;
}

int tu_msg_part_eq(const tu_msg_t *m, size_t i, const void *data, size_t len)
{
    if (i >= m->n)
        return 0;
    /* zmq_msg_size/data take non-const pointers but do not modify. */
    zmq_msg_t *part = (zmq_msg_t *)&m->part[i];
    return zmq_msg_size(part) == len &&
           (len == 0 || memcmp(zmq_msg_data(part), data, len) == 0);
}

int tu_msg_part_is(const tu_msg_t *m, size_t i, const char *s)
{
    return tu_msg_part_eq(m, i, s, strlen(s));
}

void tu_send_parts(void *sock, size_t n, const void *const data[], const size_t len[])
{
    for (size_t i = 0; i < n; i++) {
        int flags = i + 1 < n ? ZMQ_SNDMORE : 0;
        if (zmq_send(sock, data[i], len[i], flags) != (int)len[i]) {
            fprintf(stderr, "zmq_send part %zu of %zu: %s\n", i, n, zmq_strerror(errno));
            exit(1);
        }
    }
}

int tu_send_str(void *sock, const char *s, int flags)
{
    return zmq_send(sock, s, strlen(s), flags);
}

int tu_recv_str(void *sock, char *buf, size_t cap, int timeout_ms)
{
    if (tu_wait_readable(sock, timeout_ms) != 0)
        return -1;
    int n = zmq_recv(sock, buf, cap - 1, 0);
    CHECK(n >= 0);
    CHECK((size_t)n < cap); /* zmq_recv truncates silently otherwise */
    buf[n] = '\0';
    return n;
}

int tu_echo(void *sock, int timeout_ms)
{
    tu_msg_t m;
    if (tu_recv_msg(sock, &m, timeout_ms) != 0)
        return -1;
    size_t n = m.n;
    for (size_t i = 0; i < n; i++)
        CHECK(zmq_msg_send(&m.part[i], sock, i + 1 < n ? ZMQ_SNDMORE : 0) >= 0);
    /* zmq_msg_send took the contents; closing the emptied parts is fine. */
    tu_msg_close(&m);
    return (int)n;
}

int tu_roundtrip(void *client, void *server, size_t n, const void *const data[],
                 const size_t len[], int timeout_ms)
{
    tu_send_parts(client, n, data, len);
    if (tu_echo(server, timeout_ms) < 0) {
        fprintf(stderr, "roundtrip: server received nothing in %d ms\n", timeout_ms);
        return -1;
    }
    tu_msg_t m;
    if (tu_recv_msg(client, &m, timeout_ms) != 0) {
        fprintf(stderr, "roundtrip: client got no reply in %d ms\n", timeout_ms);
        return -2;
    }
    int rc = 0;
    if (m.n != n) {
        fprintf(stderr, "roundtrip: %zu parts back, %zu sent\n", m.n, n);
        rc = -3;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!tu_msg_part_eq(&m, i, data[i], len[i])) {
            fprintf(stderr, "roundtrip: part %zu differs (%zu bytes back, %zu sent)\n", i,
                    zmq_msg_size(&m.part[i]), len[i]);
            rc = -3;
        }
    }
    tu_msg_close(&m);
    return rc;
}

int tu_roundtrip_str(void *client, void *server, const char *s, int timeout_ms)
{
    const void *data[1] = {s};
    size_t len[1] = {strlen(s)};
    return tu_roundtrip(client, server, 1, data, len, timeout_ms);
}

/* ------------------------------------------------------------------ */
/* Raw TCP                                                              */

static struct sockaddr_in tu_loopback(int port)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

int tu_tcp_connect(int port)
{
    return tu_tcp_connect_from(NULL, port);
}

int tu_tcp_connect_from(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    if (src != NULL) {
        struct sockaddr_in from = {.sin_family = AF_INET};
        CHECK_EQ(inet_pton(AF_INET, src, &from.sin_addr), 1);
        CHECK_EQ(bind(fd, (struct sockaddr *)&from, sizeof from), 0);
    }
    struct sockaddr_in sa = tu_loopback(port);
    /* Loopback connects complete or fail at once; no deadline needed. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "connect 127.0.0.1:%d: %s\n", port, strerror(errno));
        exit(1);
    }
    return fd;
}

int tu_tcp_send(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        /* MSG_NOSIGNAL: a server that already hung up must not kill us. */
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int tu_tcp_wait_closed(int fd, int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    char buf[4096];
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int rc = poll(&pfd, 1, tu_remaining(deadline));
        if (rc < 0 && errno == EINTR)
            continue;
        CHECK(rc >= 0);
        if (rc == 0)
            return -1;
        /* A TLS alert may come before the close; read past it. */
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            return 0;
        if (n < 0 && (errno == ECONNRESET || errno == EPIPE))
            return 0;
        CHECK(n > 0 || errno == EINTR);
    }
}

int tu_closed_port(int *holder)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in sa = tu_loopback(0);
    CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    socklen_t len = sizeof sa;
    CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    /* Kept bound but never listening: connects are refused, and no other
     * process can take the port while the test runs. */
    *holder = fd;
    return ntohs(sa.sin_port);
}

/* ------------------------------------------------------------------ */
/* Files                                                                */

static void tu_file_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    size_t n = strlen(text);
    CHECK(fwrite(text, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

void tu_file_replace(const char *path, const char *text)
{
    char tmp[1024];
    int n = snprintf(tmp, sizeof(tmp), "%s.new", path);
    CHECK(n > 0 && (size_t)n < sizeof(tmp));
    tu_file_write(tmp, text);
    CHECK(rename(tmp, path) == 0);
}

void tu_file_rewrite(const char *path, const char *text)
{
    tu_file_write(path, text);
}

char *tu_file_read(const char *path)
{
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    CHECK(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    CHECK(buf != NULL);
    CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

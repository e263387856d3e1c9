/*
 * The good client: a REQ over tls:// (the valid client certificate) or
 * tcp:// that sends one request every interval and times each round trip.
 * A request unanswered within the timeout counts as timed out; the socket
 * is then closed and a new one connects (a REQ cannot send again before
 * its reply), as a careful application would.
 *
 *   zmtls_hostile client endpoint=E certs=DIR tls=0|1 interval=MS timeout=MS
 *
 * stdout: "up" after the first reply (or "error ..." when none came within
 * HS_CLIENT_UP_MS), then, at EOF on stdin, one line
 * "result sent=N replies=N timeouts=N p50=MS p99=MS max=MS".
 * stdin: "start" and "stop" lines bracket the attack; only requests sent
 * in between are counted.
 */
#include "hostile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>
#include <zmtls.h>

#define HS_CLIENT_UP_MS 15000

typedef struct good {
    void *ctx;
    void *req;
    const char *endpoint;
    const char *certs;
    int tls;
} good_t;

static void die(const char *fmt, const char *arg)
{
    printf("error ");
    printf(fmt, arg);
    printf("\n");
    fflush(stdout);
    _exit(3);
}

static void set_file(good_t *g, int opt, const char *name)
{
    char path[1024];
    tool_fmt(path, sizeof(path), "%s/%s", g->certs, name);
    if (zmq_setsockopt(g->req, opt, path, strlen(path)) != 0)
        die("credential option: %s", zmtls_last_error());
}

static void reconnect(good_t *g)
{
    if (g->req != NULL)
        zmq_close(g->req);
    g->req = zmq_socket(g->ctx, ZMQ_REQ);
    if (g->req == NULL)
        die("zmq_socket: %s", zmq_strerror(errno));
    int zero = 0;
    zmq_setsockopt(g->req, ZMQ_LINGER, &zero, sizeof(zero));
    if (g->tls) {
        set_file(g, ZMTLS_CERT_FILE, "client.pem");
        set_file(g, ZMTLS_KEY_FILE, "client.key");
        set_file(g, ZMTLS_CA_FILE, "ca.pem");
    }
    if (zmq_connect(g->req, g->endpoint) != 0)
        die("zmq_connect: %s", zmq_strerror(errno));
}

typedef struct lat {
    double *v;
    size_t n, cap;
} lat_t;

static void lat_add(lat_t *l, double ms)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        double *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = ms;
}

/* Reads stdin lines: sets *during on start/stop; returns 0 at EOF. */
static int read_control(char *buf, size_t *len, size_t cap, int *during)
{
    ssize_t n = read(0, buf + *len, cap - *len);
    if (n <= 0)
        return !(n == 0 || (errno != EINTR && errno != EAGAIN));
    *len += (size_t)n;
    char *nl;
    while ((nl = memchr(buf, '\n', *len)) != NULL) {
        *nl = '\0';
        if (strcmp(buf, "start") == 0)
            *during = 1;
        else if (strcmp(buf, "stop") == 0)
            *during = 0;
        size_t used = (size_t)(nl - buf) + 1;
        memmove(buf, buf + used, *len - used);
        *len -= used;
    }
    if (*len == cap)
        *len = 0;
    return 1;
}

int hs_client_main(int argc, char **argv)
{
    good_t g = {0};
    g.endpoint = tool_arg(argc, argv, "endpoint", NULL);
    g.certs = tool_arg(argc, argv, "certs", ".");
    g.tls = (int)tool_arg_long(argc, argv, "tls", 1);
    long interval = tool_arg_long(argc, argv, "interval", 250);
    long timeout = tool_arg_long(argc, argv, "timeout", 2000);
    if (g.endpoint == NULL)
        die("%s", "client needs endpoint=");
    g.ctx = zmq_ctx_new();
    reconnect(&g);

    lat_t lat = {0};
    long sent = 0, replies = 0, timeouts = 0;
    int up = 0, during = 0, waiting = 0, counted = 0, closing = 0;
    unsigned seq = 0;
    char ctl[256];
    size_t ctl_len = 0;
    int64_t t_up = tool_now_ms() + HS_CLIENT_UP_MS;
    int64_t next_send = tool_now_ms(), sent_at = 0;
    /* At EOF a counted request still in flight gets its answer or its
     * timeout before the result is written. */
    while (!closing || (waiting && counted)) {
        int64_t now = tool_now_ms();
        if (!up && now >= t_up)
            die("%s", "no reply from the server");
        int64_t wake = waiting ? sent_at / 1000 + timeout : next_send;
        long wait_ms = (long)(wake - now);
        zmq_pollitem_t it[2] = {{g.req, 0, ZMQ_POLLIN, 0}, {NULL, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(it, closing ? 1 : 2, wait_ms > 0 ? wait_ms : 0);
        if (rc < 0 && errno != EINTR)
            die("zmq_poll: %s", zmq_strerror(errno));
        /* A pipe at EOF polls as POLLHUP, which zmq_poll reports as POLLERR. */
        if (rc > 0 && !closing && (it[1].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) &&
            !read_control(ctl, &ctl_len, sizeof(ctl), &during)) {
            closing = 1;
            during = 0;
        }
        if (rc > 0 && (it[0].revents & ZMQ_POLLIN) && waiting) {
            char reply[64];
            int n = zmq_recv(g.req, reply, sizeof(reply), ZMQ_DONTWAIT);
            if (n >= 0) {
                double ms = (double)(tool_now_us() - sent_at) / 1000.0;
                waiting = 0;
                if (counted) {
                    replies++;
                    lat_add(&lat, ms);
                }
                if (!up) {
                    up = 1;
                    printf("up\n");
                    fflush(stdout);
                }
            }
        }
        now = tool_now_ms();
        if (waiting && now >= sent_at / 1000 + timeout) {
            if (counted)
                timeouts++;
            waiting = 0;
            reconnect(&g);
        }
        if (!waiting && !closing && now >= next_send) {
            char msg[32];
            int n = snprintf(msg, sizeof(msg), "good %u", seq++);
            sent_at = tool_now_us();
            if (zmq_send(g.req, msg, (size_t)n, ZMQ_DONTWAIT) == n) {
                waiting = 1;
                counted = during;
                sent += counted;
            }
            /* Missed ticks are skipped, not made up for in a burst. */
            next_send += interval;
            if (next_send < now)
                next_send = now + interval;
        }
    }
    double p50 = 0, p99 = 0, max = 0;
    if (lat.n > 0) {
        qsort(lat.v, lat.n, sizeof(double), tool_cmp_double);
        p50 = tool_quantile(lat.v, lat.n, 0.50);
        p99 = tool_quantile(lat.v, lat.n, 0.99);
        max = lat.v[lat.n - 1];
    }
    printf("result sent=%ld replies=%ld timeouts=%ld p50=%.3f p99=%.3f max=%.3f\n", sent,
           replies, timeouts, p50, p99, max);
    fflush(stdout);
    free(lat.v);
    zmq_close(g.req);
    zmq_ctx_term(g.ctx);
    return 0;
}

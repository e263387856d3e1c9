/*
 * zmtls demo: a REP server, a good REQ client and a client whose certificate
 * comes from a CA the server does not trust, side by side in one process,
 * printing their monitor events as they happen.
 *
 *   demo CERT_DIR [SECONDS]
 *
 * CERT_DIR holds the files scripts/make-certs.sh writes. What to look for:
 * the good client reports CONNECTED then HANDSHAKE_SUCCEEDED and gets its
 * replies; the rogue client never reports CONNECTED, gets
 * HANDSHAKE_FAILED_AUTH 48 (unknown_ca) and retries at growing intervals
 * instead of flooding the server.
 *
 * This is an ordinary libzmq program: the only zmtls-specific lines set the
 * certificate options, and the same works with ZMTLS_CERT/ZMTLS_KEY/ZMTLS_CA
 * in the environment.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "zmtls.h"

typedef struct actor {
    const char *name;
    void *sock;
    void *mon;
    int connected, succeeded, auth_failures, replies, requests;
    int retries[16];
    int nretries;
} actor_t;

static const char *cert_dir;
static struct timespec t0;

static double elapsed(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "demo: %s: %s %s\n", what, zmq_strerror(zmq_errno()),
            zmtls_last_error());
    exit(1);
}

static void set_file(void *s, int opt, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", cert_dir, name);
    if (zmq_setsockopt(s, opt, path, strlen(path)) != 0)
        die("setsockopt");
}

static void actor_init(actor_t *a, void *ctx, const char *name, int type,
                       const char *cert, const char *key)
{
    memset(a, 0, sizeof(*a));
    a->name = name;
    a->sock = zmq_socket(ctx, type);
    set_file(a->sock, ZMTLS_CERT_FILE, cert);
    set_file(a->sock, ZMTLS_KEY_FILE, key);
    set_file(a->sock, ZMTLS_CA_FILE, "ca.pem");
    int zero = 0;
    zmq_setsockopt(a->sock, ZMQ_LINGER, &zero, sizeof(zero));
    char addr[64];
    snprintf(addr, sizeof(addr), "inproc://monitor-%s", name);
    if (zmq_socket_monitor(a->sock, addr, ZMQ_EVENT_ALL) != 0)
        die("zmq_socket_monitor");
    a->mon = zmq_socket(ctx, ZMQ_PAIR);
    zmq_connect(a->mon, addr);
}

static void actor_event(actor_t *a)
{
    zmq_msg_t head, ep;
    zmq_msg_init(&head);
    zmq_msg_init(&ep);
    if (zmq_msg_recv(&head, a->mon, 0) < 0 || zmq_msg_recv(&ep, a->mon, 0) < 0)
        return;
    uint16_t ev;
    uint32_t value;
    memcpy(&ev, zmq_msg_data(&head), sizeof(ev));
    memcpy(&value, (uint8_t *)zmq_msg_data(&head) + 2, sizeof(value));
    char detail[64] = "";
    switch (ev) {
    case ZMQ_EVENT_CONNECTED:
        a->connected++;
        break;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        a->succeeded++;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        a->auth_failures++;
        snprintf(detail, sizeof(detail), "  (TLS alert: %s)",
                 zmtls_alert_name((int)value));
        break;
    case ZMQ_EVENT_CONNECT_RETRIED:
        if (a->nretries < 16)
            a->retries[a->nretries++] = (int)value;
        snprintf(detail, sizeof(detail), "  (next attempt in %u ms)", value);
        break;
    }
    printf("[%6.3f] %-6s %-26s %6u  %.*s%s\n", elapsed(), a->name, zmtls_event_name(ev),
           value, (int)zmq_msg_size(&ep), (const char *)zmq_msg_data(&ep), detail);
    fflush(stdout);
    zmq_msg_close(&head);
    zmq_msg_close(&ep);
}

static void actor_close(actor_t *a)
{
    zmq_close(a->sock);
    zmq_close(a->mon);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: demo CERT_DIR [SECONDS]\n");
        return 2;
    }
    cert_dir = argv[1];
    double seconds = argc > 2 ? atof(argv[2]) : 8.0;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    void *ctx = zmq_ctx_new();
    actor_t server, good, rogue;
    actor_init(&server, ctx, "server", ZMQ_REP, "server.pem", "server.key");
    if (zmq_bind(server.sock, "tls://127.0.0.1:*") != 0)
        die("zmq_bind");
    char endpoint[256];
    size_t len = sizeof(endpoint);
    zmq_getsockopt(server.sock, ZMQ_LAST_ENDPOINT, endpoint, &len);
    printf("server bound %s; good client and rogue client (untrusted CA) connect\n\n",
           endpoint);

    actor_init(&good, ctx, "good", ZMQ_REQ, "client.pem", "client.key");
    actor_init(&rogue, ctx, "rogue", ZMQ_REQ, "rogue-client.pem", "rogue-client.key");
    if (zmq_connect(good.sock, endpoint) != 0 || zmq_connect(rogue.sock, endpoint) != 0)
        die("zmq_connect");
    /* Both ask at once; only the good one can ever be answered. */
    zmq_send(good.sock, "hello from good", 15, 0);
    zmq_send(rogue.sock, "hello from rogue", 16, 0);
    good.requests = 1;
    double next_request = 1.0;

    while (elapsed() < seconds) {
        zmq_pollitem_t items[] = {
            {server.mon, 0, ZMQ_POLLIN, 0}, {good.mon, 0, ZMQ_POLLIN, 0},
            {rogue.mon, 0, ZMQ_POLLIN, 0},  {server.sock, 0, ZMQ_POLLIN, 0},
            {good.sock, 0, ZMQ_POLLIN, 0},
        };
        zmq_poll(items, 5, 100);
        if (items[0].revents)
            actor_event(&server);
        if (items[1].revents)
            actor_event(&good);
        if (items[2].revents)
            actor_event(&rogue);
        if (items[3].revents) {
            char buf[64];
            int n = zmq_recv(server.sock, buf, sizeof(buf) - 1, 0);
            if (n >= 0) {
                buf[n < (int)sizeof(buf) - 1 ? n : (int)sizeof(buf) - 1] = '\0';
                printf("[%6.3f] server received \"%s\"\n", elapsed(), buf);
                server.requests++;
                zmq_send(server.sock, "welcome", 7, 0);
            }
        }
        if (items[4].revents) {
            char buf[64];
            int n = zmq_recv(good.sock, buf, sizeof(buf) - 1, 0);
            if (n >= 0) {
                good.replies++;
                printf("[%6.3f] good   got reply \"%.*s\"\n", elapsed(), n, buf);
            }
        }
        if (good.replies == good.requests && elapsed() >= next_request) {
            zmq_send(good.sock, "hello again", 11, 0);
            good.requests++;
            next_request += 1.0;
        }
    }

    printf("\nsummary after %.0f s:\n", seconds);
    printf("  good client:  CONNECTED %d, HANDSHAKE_SUCCEEDED %d, replies %d\n",
           good.connected, good.succeeded, good.replies);
    printf("  rogue client: CONNECTED %d, HANDSHAKE_FAILED_AUTH %d, retry intervals:",
           rogue.connected, rogue.auth_failures);
    for (int i = 0; i < rogue.nretries; i++)
        printf(" %d", rogue.retries[i]);
    printf(" ms\n  server: requests received %d (all from the good client)\n",
           server.requests);

    actor_close(&rogue);
    actor_close(&good);
    actor_close(&server);
    zmq_ctx_term(ctx);
    return good.replies > 0 && rogue.connected == 0 ? 0 : 1;
}

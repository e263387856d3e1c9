/*
 * zmtls_hostile_server ENDPOINT: the server the attacks aim at, an ordinary
 * libzmq REP echo that knows nothing of zmtls. It links libzmq only;
 * tls:// comes from LD_PRELOAD=libzmtls.so and the credentials from
 * ZMTLS_CERT, ZMTLS_KEY and ZMTLS_CA, as for any unmodified application.
 * Every socket option is libzmq's default, unless given:
 *
 *   zmtls_hostile_server ENDPOINT [LIFETIME_S [maxmsgsize=N] [handshake_ivl=MS]]
 *
 * (what an application that guards itself would set, to compare with).
 *
 * Prints "ready ENDPOINT" (the bound endpoint, port included) once bound,
 * echoes every request, and leaves when its stdin reaches EOF, or after
 * its lifetime (default 900 s) if nobody says so.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

static void fail(const char *what)
{
    printf("error %s: %s\n", what, zmq_strerror(errno));
    fflush(stdout);
    exit(3);
}

/* One whole request back to its sender. */
static void echo(void *s)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        int more = zmq_msg_more(&m);
        if (zmq_msg_send(&m, s, more ? ZMQ_SNDMORE : 0) < 0)
            zmq_msg_close(&m);
        if (!more)
            return;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr,
                "usage: %s ENDPOINT [LIFETIME_S [maxmsgsize=N] [handshake_ivl=MS]]\n",
                argv[0]);
        return 2;
    }
    long lifetime_s = argc > 2 ? strtol(argv[2], NULL, 10) : 900;
    time_t until = time(NULL) + lifetime_s;
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_REP);
    if (s == NULL)
        fail("zmq_socket");
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    for (int i = 3; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (eq == NULL)
            continue;
        if (strncmp(argv[i], "maxmsgsize=", 11) == 0) {
            int64_t v = strtoll(eq + 1, NULL, 10);
            if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &v, sizeof(v)) != 0)
                fail("ZMQ_MAXMSGSIZE");
        } else if (strncmp(argv[i], "handshake_ivl=", 14) == 0) {
            int v = atoi(eq + 1);
            if (zmq_setsockopt(s, ZMQ_HANDSHAKE_IVL, &v, sizeof(v)) != 0)
                fail("ZMQ_HANDSHAKE_IVL");
        }
    }
    if (zmq_bind(s, argv[1]) != 0)
        fail("zmq_bind");
    char ep[256];
    size_t len = sizeof(ep);
    if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len) != 0)
        fail("ZMQ_LAST_ENDPOINT");
    printf("ready %s\n", ep);
    fflush(stdout);
    while (time(NULL) < until) {
        zmq_pollitem_t it[2] = {{s, 0, ZMQ_POLLIN, 0}, {NULL, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(it, 2, 1000);
        if (rc < 0 && errno != EINTR)
            fail("zmq_poll");
        if (rc <= 0)
            continue;
        if (it[0].revents & ZMQ_POLLIN)
            echo(s);
        if (it[1].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) {
            char b[64];
            if (read(0, b, sizeof(b)) <= 0)
                break;
        }
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}

/*
 * Credentials that cannot be used fail zmq_connect / zmq_bind at once, with
 * the errno include/zmtls.h documents and a zmtls_last_error() that says
 * why, and leave the library (and the socket) usable:
 *   connect, ZMTLS_CERT_FILE missing         -> ENOENT, message names the path
 *   bind, nothing configured (env cleared)   -> EINVAL
 *   bind, certificate and key but no CA      -> EINVAL
 *   bind, a private key given as certificate -> EINVAL (unusable content)
 *   bind, certificate and key that differ    -> EINVAL
 *   malformed tls:// endpoints               -> EINVAL (as libzmq for tcp://)
 * then the same sockets, given good credentials, bind, connect and carry a
 * round trip.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "zmtls.h"

static void expect_fail(int rc, int err, int want, const char *what)
{
    const char *why = zmtls_last_error();
    printf("%s: rc %d errno %s, zmtls_last_error \"%s\"\n", what, rc, zmq_strerror(err),
           why);
    CHECK_EQ(rc, -1);
    CHECK_EQ(err, want);
    CHECK(why != NULL && *why != '\0');
}

int main(int argc, char **argv)
{
    (void)argc;
    /* The "nothing configured" case needs the environment defaults gone. */
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    /* A missing certificate file, next to the real ones. */
    char missing[1024];
    const char *ca = tu_cert("ca.pem");
    snprintf(missing, sizeof missing, "%.*s/no-such-cert.pem",
             (int)(strrchr(ca, '/') - ca), ca);
    void *cli = tu_socket(ctx, ZMQ_REQ);
    tu_set_str(cli, ZMTLS_CERT_FILE, missing);
    tu_set_creds(cli, NULL, "client.key", "ca.pem");
    int rc = zmq_connect(cli, "tls://127.0.0.1:1");
    expect_fail(rc, errno, ENOENT, "connect with missing cert");
    CHECK(strstr(zmtls_last_error(), missing) != NULL);

    void *srv = tu_socket(ctx, ZMQ_REP);
    rc = zmq_bind(srv, "tls://127.0.0.1:*");
    expect_fail(rc, errno, EINVAL, "bind with nothing configured");

    tu_set_creds(srv, "server.pem", "server.key", NULL);
    rc = zmq_bind(srv, "tls://127.0.0.1:*");
    expect_fail(rc, errno, EINVAL, "bind without a CA");

    tu_set_creds(srv, "ca.key", "server.key", "ca.pem");
    rc = zmq_bind(srv, "tls://127.0.0.1:*");
    expect_fail(rc, errno, EINVAL, "bind with a key file as certificate");

    tu_set_creds(srv, "server.pem", "client.key", "ca.pem");
    rc = zmq_bind(srv, "tls://127.0.0.1:*");
    expect_fail(rc, errno, EINVAL, "bind with a mismatched key");

    /* Good credentials from here: only the endpoint is wrong. */
    tu_set_creds(srv, "server.pem", "server.key", "ca.pem");
    static const char *const bad_bind[] = {"tls://127.0.0.1", "tls://127.0.0.1:notaport",
                                           "tls://127.0.0.1:70000", "tls://:5555"};
    for (size_t i = 0; i < sizeof bad_bind / sizeof bad_bind[0]; i++) {
        rc = zmq_bind(srv, bad_bind[i]);
        expect_fail(rc, errno, EINVAL, bad_bind[i]);
    }
    tu_set_creds(cli, "client.pem", "client.key", "ca.pem");
    static const char *const bad_connect[] = {"tls://*:5555", "tls://127.0.0.1:*",
                                              "tls://[::1:5555"};
    for (size_t i = 0; i < sizeof bad_connect / sizeof bad_connect[0]; i++) {
        rc = zmq_connect(cli, bad_connect[i]);
        expect_fail(rc, errno, EINVAL, bad_connect[i]);
    }

    /* The same sockets, now correctly configured, work. */
    char endpoint[TU_EP_MAX];
    tu_bind_ephemeral(srv, "tls://127.0.0.1:*", endpoint);
    void *mon = tu_monitor(ctx, cli, ZMQ_EVENT_ALL);
    tu_events_t log;
    tu_events_init(&log);
    CHECK_EQ(zmq_connect(cli, endpoint), 0);
    CHECK_EQ(
        tu_expect_event(mon, &log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, TU_TIMEOUT_MS, NULL),
        0);
    CHECK_EQ(tu_roundtrip_str(cli, srv, "recovered", TU_TIMEOUT_MS), 0);

    CHECK_EQ(zmq_close(mon), 0);
    CHECK_EQ(zmq_close(cli), 0);
    CHECK_EQ(zmq_close(srv), 0);
    CHECK(zmq_ctx_term(ctx) == 0);
    printf("bad_credentials: ENOENT (path named), 4 x EINVAL, %zu malformed endpoints "
           "EINVAL; the same sockets then bound, connected and round-tripped\n",
           sizeof bad_bind / sizeof bad_bind[0] +
               sizeof bad_connect / sizeof bad_connect[0]);
    return 0;
}

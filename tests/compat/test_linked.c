/*
 * A stock libzmq program (linked with libzmq only, no preload) whose
 * libzmq.so.5 is zmtls's compatibility library, found first on the library
 * path as an ld.so.conf.d entry or zmtls-run would put it: the global
 * definition of an interposed function is libzmtls's, the others are the
 * real libzmq's, and tls:// works end to end, refusals included.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* The file that defines `sym` for a global lookup, resolved (no symlink). */
static const char *owner(const char *sym, char *out)
{
    Dl_info info;
    void *p = dlsym(RTLD_DEFAULT, sym);
    CHECK(p != NULL);
    CHECK(dladdr(p, &info) != 0 && info.dli_fname != NULL);
    CHECK(realpath(info.dli_fname, out) != NULL);
    return out;
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);

    char real_zmq[PATH_MAX], path[PATH_MAX];
    CHECK(realpath(ZMTLS_REAL_LIBZMQ, real_zmq) != NULL);
    CHECK(strstr(owner("zmq_bind", path), "/libzmtls.so") != NULL);
    CHECK(strstr(owner("zmq_socket_monitor", path), "/libzmtls.so") != NULL);
    CHECK_STR(owner("zmq_msg_init", path), real_zmq);
    CHECK_STR(owner("zmq_poll", path), real_zmq);

    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    tu_peer_t server, client, rogue;
    tu_peer_open(&server, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&server);
    tu_peer_open(&client, "client", ctx, ZMQ_REQ, "client.pem", "client.key", "ca.pem");
    tu_peer_connect(&client, server.endpoint);
    CHECK_EQ(TU_PEER_EXPECT(&client, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    CHECK_EQ(tu_roundtrip_str(client.sock, server.sock, "compat", TU_TIMEOUT_MS), 0);

    tu_peer_open(&rogue, "rogue", ctx, ZMQ_REQ, "rogue-client.pem", "rogue-client.key",
                 "ca.pem");
    tu_peer_connect(&rogue, server.endpoint);
    CHECK_EQ(TU_PEER_EXPECT(&server, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 48);
    CHECK_EQ(TU_PEER_EXPECT(&rogue, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 48);
    CHECK_EQ(tu_events_count(&rogue.log, ZMQ_EVENT_CONNECTED), 0);

    tu_peer_close(&rogue);
    tu_peer_close(&client);
    tu_peer_close(&server);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("compat.linked: interposers from libzmtls, the rest from %s; round trip and "
           "refusal ok\n",
           real_zmq);
    return 0;
}

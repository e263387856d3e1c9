/*
 * tls:// authenticates both ends with certificates and carries ZMTP's NULL
 * mechanism. A socket that asks for CURVE or PLAIN on top is refused at
 * connect/bind with EINVAL and a reason, rather than having its security
 * setting silently ignored; the same socket works once the mechanism is
 * unset, and tcp:// keeps its mechanisms. A SUB that binds tls:// with
 * ZMQ_CONFLATE is refused too (it could not conflate).
 */
#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "check.h"
#include "testutil.h"
#include "zmtls.h"

int main(void)
{
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();

    void *server = tu_socket(ctx, ZMQ_REP);
    tu_set_creds(server, "server.pem", "server.key", "ca.pem");
    char pub[41], sec[41];
    CHECK_EQ(zmq_curve_keypair(pub, sec), 0);
    tu_set_int(server, ZMQ_CURVE_SERVER, 1);
    CHECK_EQ(zmq_setsockopt(server, ZMQ_CURVE_SECRETKEY, sec, 40), 0);
    CHECK_EQ(zmq_bind(server, "tls://127.0.0.1:*"), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK(strstr(zmtls_last_error(), "ZMQ_CURVE") != NULL);
    printf("CURVE server on tls://: refused (%s)\n", zmtls_last_error());

    /* The same socket keeps CURVE for tcp:// ... */
    CHECK_EQ(zmq_bind(server, "tcp://127.0.0.1:*"), 0);
    /* ... and can use tls:// once the mechanism is back to NULL. */
    tu_set_int(server, ZMQ_CURVE_SERVER, 0);
    CHECK_EQ(tu_get_int(server, ZMQ_MECHANISM), ZMQ_NULL);
    char ep[TU_EP_MAX];
    tu_bind_ephemeral(server, "tls://127.0.0.1:*", ep);

    void *client = tu_socket(ctx, ZMQ_REQ);
    tu_set_creds(client, "client.pem", "client.key", "ca.pem");
    CHECK_EQ(zmq_setsockopt(client, ZMQ_PLAIN_USERNAME, "admin", 5), 0);
    CHECK_EQ(zmq_setsockopt(client, ZMQ_PLAIN_PASSWORD, "secret", 6), 0);
    CHECK_EQ(tu_get_int(client, ZMQ_MECHANISM), ZMQ_PLAIN);
    CHECK_EQ(zmq_connect(client, ep), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK(strstr(zmtls_last_error(), "ZMQ_PLAIN") != NULL);
    printf("PLAIN client on tls://: refused\n");

    /* An empty username resets the mechanism to NULL, as libzmq defines. */
    CHECK_EQ(zmq_setsockopt(client, ZMQ_PLAIN_USERNAME, NULL, 0), 0);
    CHECK_EQ(tu_get_int(client, ZMQ_MECHANISM), ZMQ_NULL);
    CHECK_EQ(zmq_connect(client, ep), 0);
    CHECK_EQ(zmq_send(client, "hi", 2, 0), 2);
    char buf[8];
    CHECK_EQ(zmq_recv(server, buf, sizeof(buf), 0), 2);
    printf("after unsetting the mechanisms: tls:// round trip ok\n");

    zmq_close(client);
    zmq_close(server);
    /* Not a mechanism, refused the same way: a bound SUB cannot conflate
     * over tls:// (its pipes come from bridges libzmq does not conflate);
     * a connecting one can, and the same socket binds tcp://. */
    void *sub = tu_socket(ctx, ZMQ_SUB);
    tu_set_creds(sub, "server.pem", "server.key", "ca.pem");
    tu_set_int(sub, ZMQ_CONFLATE, 1);
    CHECK_EQ(zmq_bind(sub, "tls://127.0.0.1:*"), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK(strstr(zmtls_last_error(), "ZMQ_CONFLATE") != NULL);
    printf("conflating SUB bind on tls://: refused (%s)\n", zmtls_last_error());
    CHECK_EQ(zmq_bind(sub, "tcp://127.0.0.1:*"), 0);
    CHECK_EQ(zmq_connect(sub, "tls://127.0.0.1:9"), 0);
    tu_set_int(sub, ZMQ_LINGER, 0);
    CHECK_EQ(zmq_close(sub), 0);

    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return 0;
}

/*
 * CZMQ binds and connects on tls:// endpoints: what zsock_new_rep("@..."),
 * zsock_bind, zsock_endpoint and zsock_last_endpoint report, and how
 * CZMQ surfaces zmtls's errors. No traffic flows here (test_messages.c
 * and the others do that); this pins down the endpoint bookkeeping an
 * application relies on to find its port.
 *
 * CZMQ 4.2.1's zsock_bind treats tcp:// specially: it picks ephemeral
 * ports itself ("*", "!", "*[first-last]") and returns the port number.
 * Every other scheme, tls:// included, goes to zmq_bind verbatim and
 * returns 0, and zsock_endpoint() keeps the string as written. The tests
 * below assert that behaviour so a change in either library is noticed.
 */
#include "czmq_support.h"

/* zsock_new_rep("@tls://127.0.0.1:*") binds inside the constructor, so its
 * credentials can only come from the environment (set in main). */
static void test_constructor_bind(void)
{
    zsock_t *rep = zsock_new_rep("@tls://127.0.0.1:*");
    if (rep == NULL) {
        fprintf(stderr, "zsock_new_rep: %s %s\n", zmq_strerror(errno),
                zmtls_last_error());
        exit(1);
    }
    char last[TU_EP_MAX];
    cz_last_endpoint(rep, last);
    /* ZMQ_LAST_ENDPOINT (through zmtls) carries the real port... */
    CHECK(strncmp(last, "tls://127.0.0.1:", 16) == 0);
    int port = tu_endpoint_port(last);
    CHECK(port > 0 && port < 65536);
    /* ...but zsock_endpoint is CZMQ's copy of the string it was given: the
     * wildcard, not a port. Applications must use zsock_last_endpoint. */
    CHECK_STR(zsock_endpoint(rep), "tls://127.0.0.1:*");
    printf("zsock_new_rep(@tls://127.0.0.1:*): last_endpoint %s, endpoint %s\n", last,
           zsock_endpoint(rep));
    zsock_destroy(&rep);
}

/* zsock_bind's return value: a port only for tcp://. */
static void test_bind_return_value(void)
{
    zsock_t *rep = zsock_new(ZMQ_REP);
    CHECK(rep != NULL);

    int rc = zsock_bind(rep, "tcp://127.0.0.1:*");
    CHECK(rc > 0);
    char tcp_last[TU_EP_MAX];
    cz_last_endpoint(rep, tcp_last);
    CHECK_EQ(tu_endpoint_port(tcp_last), rc);
    /* For tcp:// CZMQ rewrote "*" into the port it chose. */
    CHECK_EQ(tu_endpoint_port(zsock_endpoint(rep)), rc);

    rc = zsock_bind(rep, "tls://127.0.0.1:*");
    CHECK_EQ(rc, 0); /* success, but no port number */
    char tls_last[TU_EP_MAX];
    cz_last_endpoint(rep, tls_last);
    CHECK(strncmp(tls_last, "tls://127.0.0.1:", 16) == 0);
    int tls_port = tu_endpoint_port(tls_last);
    CHECK_STR(zsock_endpoint(rep), "tls://127.0.0.1:*");

    /* An explicit port is also returned as 0 for tls://. The port the
     * kernel just gave us is free on 127.0.0.2 (also loopback on Linux):
     * nothing listens on it there, or the first bind would have failed. */
    rc = zsock_bind(rep, "tls://127.0.0.2:%d", tls_port);
    CHECK_EQ(rc, 0);
    char explicit_last[TU_EP_MAX];
    cz_last_endpoint(rep, explicit_last);
    char want[TU_EP_MAX];
    snprintf(want, sizeof want, "tls://127.0.0.2:%d", tls_port);
    CHECK_STR(explicit_last, want);
    CHECK_STR(zsock_endpoint(rep), want);

    /* Binding a port in use fails with -1 and the socket keeps its last
     * successful endpoint. */
    zsock_t *other = zsock_new(ZMQ_REP);
    CHECK(other != NULL);
    CHECK_EQ(zsock_bind(other, "%s", tls_last), -1);
    CHECK_EQ(errno, EADDRINUSE);
    CHECK(zsock_endpoint(other) == NULL);
    zsock_destroy(&other);

    /* zsock_unbind takes the resolved endpoint, as for tcp://. */
    CHECK_EQ(zsock_unbind(rep, "%s", tls_last), 0);
    CHECK_EQ(zsock_unbind(rep, "%s", tls_last), -1);
    zsock_destroy(&rep);
    printf("zsock_bind: tcp returns the port; tls returns 0 (%s, %s)\n", tls_last, want);
}

/* CZMQ's own ephemeral-port syntax is implemented inside zsock_bind for
 * tcp:// only; for tls:// it reaches zmq_bind unchanged and zmtls rejects
 * it as a malformed endpoint. */
static void test_czmq_port_syntax(void)
{
    static const char *const forms[] = {"tls://127.0.0.1:!", "tls://127.0.0.1:*[60000-]",
                                        "tls://127.0.0.1:![55000-55999]"};
    zsock_t *rep = zsock_new(ZMQ_REP);
    CHECK(rep != NULL);
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        CHECK_EQ(zsock_bind(rep, "%s", forms[i]), -1);
        CHECK_EQ(errno, EINVAL);
        CHECK(strstr(zmtls_last_error(), "malformed endpoint") != NULL);
    }
    CHECK(zsock_endpoint(rep) == NULL);
    zsock_destroy(&rep);

    /* The constructor form reports the same failure as NULL. */
    zsock_t *none = zsock_new_rep("@tls://127.0.0.1:!");
    CHECK(none == NULL);
    printf("tls:// rejects CZMQ's \"!\" and \"*[range]\" port forms (EINVAL)\n");
}

/* Credential errors come back through CZMQ as -1 with errno and
 * zmtls_last_error, as the header promises for zmq_bind. */
static void test_credential_errors(void)
{
    zsock_t *rep = zsock_new(ZMQ_REP);
    CHECK(rep != NULL);
    tu_set_str(zsock_resolve(rep), ZMTLS_CERT_FILE, "/nonexistent/zmtls-czmq.pem");
    CHECK_EQ(zsock_bind(rep, "tls://127.0.0.1:*"), -1);
    CHECK_EQ(errno, ENOENT);
    CHECK(strstr(zmtls_last_error(), "/nonexistent/zmtls-czmq.pem") != NULL);
    CHECK(zsock_endpoint(rep) == NULL);

    /* Clearing the option (empty value) falls back to the environment. */
    CHECK_EQ(zmq_setsockopt(zsock_resolve(rep), ZMTLS_CERT_FILE, "", 0), 0);
    CHECK_EQ(zsock_bind(rep, "tls://127.0.0.1:*"), 0);
    zsock_destroy(&rep);
    printf(
        "missing certificate: zsock_bind -1, ENOENT; empty option falls back to env\n");
}

/* Connect side: the constructor connects, and ZMQ_LAST_ENDPOINT reports
 * the tls:// endpoint. A port nobody listens on keeps this free of
 * traffic; a connect does not wait for the peer. */
static void test_connect_endpoints(void)
{
    int holder;
    int port = tu_closed_port(&holder);
    char spec[TU_EP_MAX + 1];
    snprintf(spec, sizeof spec, ">tls://127.0.0.1:%d", port);
    zsock_t *req = zsock_new_req(spec);
    CHECK(req != NULL);
    char last[TU_EP_MAX];
    cz_last_endpoint(req, last);
    CHECK_STR(last, spec + 1);
    /* zsock_endpoint tracks binds only. */
    CHECK(zsock_endpoint(req) == NULL);
    zsock_destroy(&req);
    close(holder);

    /* A connect needs a port: the wildcard is a malformed endpoint. */
    zsock_t *none = zsock_new_req(">tls://127.0.0.1:*");
    CHECK(none == NULL);
    CHECK_EQ(errno, EINVAL);

    /* Several endpoints in one constructor, tls:// and tcp:// mixed. */
    zsock_t *multi = zsock_new_rep("@tls://127.0.0.1:*,@tcp://127.0.0.1:*");
    CHECK(multi != NULL);
    cz_last_endpoint(multi, last);
    CHECK(strncmp(last, "tcp://127.0.0.1:", 16) == 0);
    zsock_destroy(&multi);
    printf("connect: last_endpoint %s; connect to \"*\" fails with EINVAL\n", spec + 1);
}

int main(void)
{
    tu_watchdog(TU_WATCHDOG_S);
    /* This process only binds as a server (and connects to nothing that
     * answers), so the environment holds the server's identity. */
    cz_env_creds("server.pem", "server.key", "ca.pem");
    cz_check_interposed();
    int64_t t0 = tu_now_ms();

    test_constructor_bind();
    test_bind_return_value();
    test_czmq_port_syntax();
    test_credential_errors();
    test_connect_endpoints();

    int64_t t = tu_now_ms();
    zsys_shutdown();
    printf("zsys_shutdown: %lld ms; total %lld ms\n", (long long)(tu_now_ms() - t),
           (long long)(tu_now_ms() - t0));
    return 0;
}

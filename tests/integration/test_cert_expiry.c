/*
 * No peer stays in on a certificate that has expired. Certificates valid
 * for EXPIRY_S more seconds are made at run time (support/mint.h):
 *   client  a REQ with such a certificate is served; when the certificate
 *           expires the server ends its connection (DISCONNECTED on both
 *           sides), and the client's reconnect, whose session the server
 *           no longer resumes, is refused in a full handshake:
 *           HANDSHAKE_FAILED_AUTH 45 (certificate_expired) on both sides
 *   server  the same with the server's certificate: the client ends the
 *           connection when it expires, does not offer the old session,
 *           and refuses the server with 45
 * Every wait is for a monitor event, bounded by EXPIRY_WAIT_MS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint.h"
#include "testutil.h"
#include "zmtls.h"

/* Long enough for a loaded machine to finish a handshake and a round
 * trip before the certificate expires. */
#define EXPIRY_S       4
#define EXPIRY_WAIT_MS ((EXPIRY_S + 10) * 1000)

static void set_pem(void *sock, int option, const char *pem)
{
    CHECK_EQ(zmq_setsockopt(sock, option, pem, strlen(pem)), 0);
}

/* The next `event` on mon within EXPIRY_WAIT_MS, other events skipped;
 * returns its value. */
static int wait_event(void *mon, int event, const char *who)
{
    int64_t until = tu_now_ms() + EXPIRY_WAIT_MS;
    for (;;) {
        int left = (int)(until - tu_now_ms());
        int ev = 0, value = -1;
        if (left <= 0 || tu_event_recv(mon, left, &ev, &value, NULL) != 0) {
            fprintf(stderr, "%s: no %s within %d ms\n", who, tu_event_name(event),
                    EXPIRY_WAIT_MS);
            exit(1);
        }
        if (ev == event)
            return value;
    }
}

static void run(int server_expires)
{
    const char *label = server_expires ? "server" : "client";
    char *cert, *key;
    tu_mint(server_expires, EXPIRY_S, &cert, &key);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);

    void *rep = tu_socket(ctx, ZMQ_REP);
    void *req = tu_socket(ctx, ZMQ_REQ);
    if (server_expires) {
        set_pem(rep, ZMTLS_CERT_PEM, cert);
        set_pem(rep, ZMTLS_KEY_PEM, key);
        tu_set_str(rep, ZMTLS_CA_FILE, tu_cert("ca.pem"));
        tu_set_creds(req, "client.pem", "client.key", "ca.pem");
    } else {
        tu_set_creds(rep, "server.pem", "server.key", "ca.pem");
        set_pem(req, ZMTLS_CERT_PEM, cert);
        set_pem(req, ZMTLS_KEY_PEM, key);
        tu_set_str(req, ZMTLS_CA_FILE, tu_cert("ca.pem"));
    }
    /* Retry soon after the loss and after the refusal. */
    tu_set_int(req, ZMQ_RECONNECT_IVL, 50);
    tu_set_int(req, ZMTLS_AUTH_IVL, 50);
    void *smon = tu_monitor(ctx, rep, ZMQ_EVENT_ALL);
    void *cmon = tu_monitor(ctx, req, ZMQ_EVENT_ALL);
    char ep[TU_EP_MAX];
    tu_bind_ephemeral(rep, "tls://127.0.0.1:*", ep);
    CHECK_EQ(zmq_connect(req, ep), 0);
    wait_event(smon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, "server");
    CHECK_EQ(tu_roundtrip_str(req, rep, "while valid", TU_TIMEOUT_MS), 0);
    int64_t t0 = tu_now_ms();

    wait_event(smon, ZMQ_EVENT_DISCONNECTED, "server");
    wait_event(cmon, ZMQ_EVENT_DISCONNECTED, "client");
    int s_alert = wait_event(smon, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, "server");
    int c_alert = wait_event(cmon, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, "client");
    printf("%s certificate expired: connection ended about %lld ms after the round "
           "trip; the reconnect was refused with %d (%s) on the server and %d on the "
           "client\n",
           label, (long long)(tu_now_ms() - t0), s_alert, zmtls_alert_name(s_alert),
           c_alert);
    CHECK_EQ(s_alert, 45);
    CHECK_EQ(c_alert, 45);
    /* Nothing from the refused reconnect reached the application. */
    CHECK_EQ(tu_wait_readable(rep, 0), -1);

    tu_set_int(req, ZMQ_LINGER, 0);
    CHECK_EQ(zmq_close(smon), 0);
    CHECK_EQ(zmq_close(cmon), 0);
    CHECK_EQ(zmq_close(req), 0);
    CHECK_EQ(zmq_close(rep), 0);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    free(cert);
    free(key);
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    run(0);
    run(1);
    return 0;
}

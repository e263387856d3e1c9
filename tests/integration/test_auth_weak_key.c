/*
 * Keys below security level 2 (here RSA-1024) are refused whatever the
 * host's OpenSSL configuration says. The test runs under an OPENSSL_CONF
 * of its own that lowers the default level to 0 (it re-executes itself
 * with it) and checks that a context made the ordinary way really gets
 * level 0, so the refusals below come from zmtls and not from the host:
 *   - a raw OpenSSL client that presents an RSA-1024 certificate is
 *     refused by a zmtls server: HANDSHAKE_FAILED_AUTH with the alert on
 *     the server's monitor, the same alert on the client's first read;
 *   - a zmtls client refuses to load that certificate (EINVAL);
 *   - a good client is served, under the same configuration.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <zmq.h>

#include "check.h"
#include "rawtls.h"
#include "testutil.h"
#include "zmtls.h"

#define CONF_NAME "seclevel0.cnf"

static const char conf_text[] = "openssl_conf = openssl_init\n"
                                "[openssl_init]\n"
                                "ssl_conf = ssl_sect\n"
                                "[ssl_sect]\n"
                                "system_default = system_default_sect\n"
                                "[system_default_sect]\n"
                                "CipherString = DEFAULT@SECLEVEL=0\n";

/* Runs the rest of the test under a configuration that sets SECLEVEL=0,
 * written to a directory of its own (removed by the re-executed test). */
static void run_under_weak_conf(char **argv)
{
    const char *have = getenv("OPENSSL_CONF");
    size_t n = have != NULL ? strlen(have) : 0;
    if (n > strlen(CONF_NAME) && strcmp(have + n - strlen(CONF_NAME), CONF_NAME) == 0)
        return;
    char dir[] = "/tmp/zmtls-seclevel-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[sizeof(dir) + sizeof(CONF_NAME) + 1];
    snprintf(path, sizeof(path), "%s/%s", dir, CONF_NAME);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    CHECK(fputs(conf_text, f) >= 0);
    CHECK(fclose(f) == 0);
    CHECK(setenv("OPENSSL_CONF", path, 1) == 0);
    execv("/proc/self/exe", argv);
    perror("re-exec");
    exit(1);
}

/* At exit, passed or failed. */
static void remove_weak_conf(void)
{
    char path[256];
    snprintf(path, sizeof(path), "%s", getenv("OPENSSL_CONF"));
    if (unlink(path) == 0) {
        *strrchr(path, '/') = '\0';
        rmdir(path);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    run_under_weak_conf(argv);
    atexit(remove_weak_conf);
    tu_watchdog(TU_WATCHDOG_S);

    /* The host configuration is in force: OpenSSL's own default is 0 here. */
    SSL_CTX *plain = SSL_CTX_new(TLS_method());
    CHECK(plain != NULL);
    printf("security level of a plain context under %s: %d\n", getenv("OPENSSL_CONF"),
           SSL_CTX_get_security_level(plain));
    CHECK_EQ(SSL_CTX_get_security_level(plain), 0);
    SSL_CTX_free(plain);

    void *ctx = zmq_ctx_new();
    tu_peer_t server;
    tu_peer_open(&server, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&server);
    int port = tu_endpoint_port(server.endpoint);

    /* The weak client: its own context at level 0, so it presents the key.
     * In TLS 1.3 its side of the handshake completes before the server has
     * judged the certificate: the refusal shows on the first read. */
    SSL_CTX *weak_tls = rt_ctx_new("rsa1024-client.pem", "rsa1024-client.key", "ca.pem",
                                   TLS1_3_VERSION, 0);
    rt_conn_t weak;
    rt_open(&weak, weak_tls, port, NULL);
    CHECK_EQ(rt_handshake(&weak, TU_TIMEOUT_MS), 0);
    CHECK_EQ(rt_zmtp_handshake(&weak, "REQ", TU_TIMEOUT_MS), -1);
    int alert = TU_PEER_EXPECT(&server, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    printf("RSA-1024 client: server alert %d (%s), client saw alert %d\n", alert,
           zmtls_alert_name(alert), weak.alert_received);
    CHECK_EQ(alert, 42); /* bad_certificate: X509_V_ERR_EE_KEY_TOO_SMALL */
    CHECK_EQ(weak.alert_received, alert);
    CHECK_EQ(tu_events_count(&server.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    rt_close(&weak);
    SSL_CTX_free(weak_tls);

    /* A zmtls client will not present such a key at all. */
    void *client = tu_socket(ctx, ZMQ_REQ);
    tu_set_creds(client, "rsa1024-client.pem", "rsa1024-client.key", "ca.pem");
    CHECK_EQ(zmq_connect(client, server.endpoint), -1);
    CHECK_EQ(errno, EINVAL);
    printf("zmtls client with the RSA-1024 certificate: %s\n", zmtls_last_error());
    CHECK(strstr(zmtls_last_error(), "too small") != NULL);
    zmq_close(client);

    /* Everything else works under that configuration. */
    SSL_CTX *good_tls =
        rt_ctx_new("client.pem", "client.key", "ca.pem", TLS1_3_VERSION, -1);
    rt_conn_t good;
    rt_open(&good, good_tls, port, NULL);
    CHECK_EQ(rt_handshake(&good, TU_TIMEOUT_MS), 0);
    CHECK_EQ(rt_zmtp_handshake(&good, "REQ", TU_TIMEOUT_MS), 0);
    CHECK_EQ(rt_zmtp_send_request(&good, "ping", TU_TIMEOUT_MS), 0);
    CHECK_EQ(tu_echo(server.sock, TU_TIMEOUT_MS), 1);
    CHECK_EQ(rt_zmtp_recv_reply(&good, "ping", TU_TIMEOUT_MS), 0);
    rt_close(&good);
    SSL_CTX_free(good_tls);

    tu_peer_close(&server);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("integration.auth_weak_key: ok\n");
    return 0;
}

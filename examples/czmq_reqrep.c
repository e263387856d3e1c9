/*
 * zmtls with CZMQ: a REP server, a good REQ client and a client whose
 * certificate comes from a CA the server does not trust, in one process,
 * printing what CZMQ's zmonitor reports.
 *
 *   czmq_reqrep CERT_DIR
 *
 * CERT_DIR holds the files scripts/make-certs.sh writes. The program ends
 * by itself within a few seconds and exits 0 when the good client got its
 * replies and the rogue client was refused without ever being CONNECTED.
 *
 * Nothing here is special to tls:// except how credentials are given.
 * CZMQ has setters only for the options it knows, so there are two ways:
 *
 *   1. The environment: ZMTLS_CERT, ZMTLS_KEY, ZMTLS_CA. zmtls reads them
 *      when zmq_bind / zmq_connect runs. This is the only way for CZMQ's
 *      one-line constructors, zsock_new_rep("@tls://...") and
 *      zsock_new_req(">tls://..."), because they bind or connect before
 *      returning the socket.
 *   2. Socket options, set through the libzmq handle CZMQ wraps:
 *        zmq_setsockopt(zsock_resolve(sock), ZMTLS_CERT_FILE, path, len);
 *      They must be set before the bind or connect, so the socket is made
 *      with zsock_new(), configured, then zsock_bind / zsock_connect.
 *      Options win over the environment, credential by credential.
 *
 * Link with -lzmtls before -lczmq -lzmq (or run with LD_PRELOAD=libzmtls.so)
 * so that the zmq_* calls CZMQ makes reach zmtls. With a linker that drops
 * unused libraries (--as-needed, Debian's default), a program must use a
 * zmtls symbol, as this one does, or be linked with -Wl,--no-as-needed.
 */
#include <czmq.h>

#include "zmtls.h"

static const char *cert_dir;
static int64_t t0;

static const char *path(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", cert_dir, name);
    return p;
}

/* Way 1: process-wide defaults. */
static void use_identity(const char *cert, const char *key)
{
    setenv("ZMTLS_CERT", path(cert), 1);
    setenv("ZMTLS_KEY", path(key), 1);
    setenv("ZMTLS_CA", path("ca.pem"), 1);
}

/* Way 2: one socket's own credentials. */
static void set_file(zsock_t *sock, int option, const char *name)
{
    const char *p = path(name);
    if (zmq_setsockopt(zsock_resolve(sock), option, p, strlen(p)) != 0) {
        fprintf(stderr, "zmq_setsockopt: %s\n", zmtls_last_error());
        exit(1);
    }
}

/* A zmonitor actor for the events named; START returns once monitoring. */
static zactor_t *monitor(zsock_t *sock, const char *first, ...)
{
    zactor_t *mon = zactor_new(zmonitor, sock);
    zmsg_t *listen = zmsg_new();
    zmsg_addstr(listen, "LISTEN");
    va_list ap;
    va_start(ap, first);
    for (const char *name = first; name != NULL; name = va_arg(ap, const char *))
        zmsg_addstr(listen, name);
    va_end(ap);
    zmsg_send(&listen, mon);
    zstr_send(mon, "START");
    zsock_wait(mon);
    return mon;
}

typedef struct counts {
    int connected, auth_failures;
} counts_t;

/* zmonitor sends three frames: event name, value, endpoint. */
static void print_event(const char *who, zactor_t *mon, counts_t *n)
{
    char *name = NULL, *value = NULL, *endpoint = NULL;
    if (zstr_recvx(mon, &name, &value, &endpoint, NULL) != 3)
        return;
    char detail[64] = "";
    if (streq(name, "CONNECTED"))
        n->connected++;
    if (streq(name, "HANDSHAKE_FAILED_AUTH")) {
        n->auth_failures++;
        /* The value is the TLS alert that refused the certificate. */
        snprintf(detail, sizeof detail, "  (TLS alert: %s)",
                 zmtls_alert_name(atoi(value)));
    }
    if (streq(name, "CONNECT_RETRIED"))
        snprintf(detail, sizeof detail, "  (next attempt in %s ms)", value);
    printf("[%5.3f] %-6s %-22s %5s  %s%s\n", (zclock_mono() - t0) / 1000.0, who, name,
           value, endpoint, detail);
    zstr_free(&name);
    zstr_free(&value);
    zstr_free(&endpoint);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: czmq_reqrep CERT_DIR\n");
        return 2;
    }
    cert_dir = argv[1];
    t0 = zclock_mono();

    /* Server, the one-line way: its identity comes from the environment.
     * In a real deployment server and clients are separate processes with
     * their own environments; this demo plays every role in one process,
     * so it changes the environment between constructors. zmtls reads it
     * only inside zmq_bind / zmq_connect, on the calling thread, and only
     * this thread makes those calls, so that is safe here. */
    use_identity("server.pem", "server.key");
    zsock_t *server = zsock_new_rep("@tls://127.0.0.1:*");
    if (server == NULL) {
        fprintf(stderr, "bind: %s\n", zmtls_last_error());
        return 1;
    }
    /* zsock_bind returns a port only for tcp://, and zsock_endpoint()
     * keeps "tls://127.0.0.1:*" as written. ZMQ_LAST_ENDPOINT has the
     * real port. */
    char *endpoint = zsock_last_endpoint(server);
    printf("server bound %s (zsock_endpoint says \"%s\")\n\n", endpoint,
           zsock_endpoint(server));
    zactor_t *server_mon = monitor(server, "ACCEPTED", "HANDSHAKE_SUCCEEDED",
                                   "HANDSHAKE_FAILED_AUTH", "DISCONNECTED", NULL);

    /* Good client, also the one-line way, with the client's identity. The
     * constructor connects before a monitor could be attached, so this
     * client is watched from the server's side only. */
    use_identity("client.pem", "client.key");
    char *spec = zsys_sprintf(">%s", endpoint);
    zsock_t *good = zsock_new_req(spec);
    zstr_free(&spec);

    /* Rogue client, the explicit way: its own certificate as socket
     * options (the CA still comes from the environment), a monitor
     * attached before it connects, then zsock_connect. */
    zsock_t *rogue = zsock_new(ZMQ_REQ);
    set_file(rogue, ZMTLS_CERT_FILE, "rogue-client.pem");
    set_file(rogue, ZMTLS_KEY_FILE, "rogue-client.key");
    zactor_t *rogue_mon = monitor(rogue, "CONNECTED", "HANDSHAKE_SUCCEEDED",
                                  "HANDSHAKE_FAILED_AUTH", "CONNECT_RETRIED", NULL);
    if (good == NULL || zsock_connect(rogue, "%s", endpoint) != 0) {
        fprintf(stderr, "connect: %s\n", zmtls_last_error());
        return 1;
    }

    /* Both ask at once; only the good one can be answered. The rogue's
     * request waits in its queue: zmtls never lets it reach the server. */
    zstr_send(good, "hello from good");
    zstr_send(rogue, "hello from rogue");
    int requests = 1, replies = 0;

    counts_t server_n = {0, 0}, rogue_n = {0, 0};
    zpoller_t *poller = zpoller_new(server, good, server_mon, rogue_mon, NULL);
    /* Run until three replies and two refusals of the rogue (the second
     * comes after zmtls's one-second back-off), five seconds at most. */
    while (zclock_mono() - t0 < 5000 && (replies < 3 || rogue_n.auth_failures < 2)) {
        void *which = zpoller_wait(poller, 100);
        if (which == server) {
            char *request = zstr_recv(server);
            printf("[%5.3f] server received \"%s\"\n", (zclock_mono() - t0) / 1000.0,
                   request);
            zstr_free(&request);
            zstr_send(server, "welcome");
        } else if (which == good) {
            char *reply = zstr_recv(good);
            printf("[%5.3f] good   got reply \"%s\"\n", (zclock_mono() - t0) / 1000.0,
                   reply);
            zstr_free(&reply);
            if (++replies < 3)
                zstr_sendf(good, "hello again (%d)", ++requests);
        } else if (which == server_mon) {
            print_event("server", server_mon, &server_n);
        } else if (which == rogue_mon) {
            print_event("rogue", rogue_mon, &rogue_n);
        } else if (zpoller_terminated(poller)) {
            break; /* Ctrl-C */
        }
    }

    printf("\ngood client: %d replies; rogue client: CONNECTED %d, "
           "HANDSHAKE_FAILED_AUTH %d\n",
           replies, rogue_n.connected, rogue_n.auth_failures);
    int ok = replies == 3 && rogue_n.connected == 0 && rogue_n.auth_failures > 0;

    /* Monitors before the sockets they watch. */
    zpoller_destroy(&poller);
    zactor_destroy(&rogue_mon);
    zactor_destroy(&server_mon);
    zsock_destroy(&rogue);
    zsock_destroy(&good);
    zsock_destroy(&server);
    zstr_free(&endpoint);
    /* CZMQ would also do this at exit, but OpenSSL's own exit handler,
     * registered after CZMQ's, runs first and cleans up under zmtls's
     * I/O thread. Shutting down here keeps that order right. */
    zsys_shutdown();
    return ok ? 0 : 1;
}

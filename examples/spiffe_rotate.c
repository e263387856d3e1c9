/*
 * spiffe_rotate: a tls:// server that admits clients by SPIFFE ID and renews
 * its own short-lived certificate while a client keeps talking.
 *
 *   spiffe_rotate [CA_DIR]
 *
 * Every certificate is minted here with OpenSSL and lives for minutes, under
 * a CA made in memory or read from CA_DIR/ca.pem and CA_DIR/ca.key (what
 * scripts/make-certs.sh writes). The server's files go to a temporary
 * directory. Then:
 *
 *   1. the server binds allowing every SPIFFE ID under
 *      spiffe://example.org/client/ (CLIENTS below); a worker client,
 *      spiffe://example.org/client/worker-1, connects allowing only the
 *      server's SPIFFE ID, and a thread keeps a REQ/REP loop going;
 *   2. three times, a new server certificate and key are written next to the
 *      old ones and renamed into place (atomic), and zmtls_reload() makes the
 *      next handshakes use them; a new client then checks the serial it is
 *      shown, and the worker carries on over its first connection;
 *   3. a client whose SPIFFE ID is outside the allowed path
 *      (spiffe://example.org/client-admin) is refused inside the handshake:
 *      HANDSHAKE_FAILED_AUTH on its monitor and the server's.
 *
 * Where another program renews the files, the periodic check picks them up
 * within ZMTLS_RELOAD_IVL ms (2 s by default). This process writes its own
 * and calls zmtls_reload() after both renames, so it turns the check off
 * unless the environment sets it: a check between the two renames would
 * report, harmlessly, a new key that does not match the old certificate.
 * Exits 0 only if everything held; every wait has a deadline. See
 * zmq_tls(7), "Operating".
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "zmtls.h"

#define ROTATIONS   3
#define DEADLINE_MS 10000 /* bound on every wait */
#define SERVER_ID   "spiffe://example.org/server"
#define CLIENTS     "uri:spiffe://example.org/client/*" /* a path prefix */

static char dir[64];

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "spiffe_rotate: FAILED: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (%s)\n", zmtls_last_error());
    va_end(ap);
    exit(1);
}

/* ---- minting: just enough OpenSSL for short-lived certificates ---------- */

typedef struct cred {
    X509 *cert;
    EVP_PKEY *key;
} cred_t;

/* A certificate for `san` (OpenSSL's "URI:...,DNS:..." form), valid from a
 * minute ago (clock skew) for `seconds`, signed by `ca`; a self-signed CA
 * when ca is NULL. The serial is random, as RFC 5280 recommends. */
static cred_t mint(const cred_t *ca, const char *cn, const char *san, const char *eku,
                   long seconds)
{
    cred_t c = {X509_new(), EVP_EC_gen("P-256")};
    BIGNUM *serial = BN_new();
    if (c.cert == NULL || c.key == NULL || serial == NULL ||
        !BN_rand(serial, 64, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
        !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(c.cert)))
        fail("mint %s", cn);
    BN_free(serial);
    X509_set_version(c.cert, 2);
    X509_gmtime_adj(X509_getm_notBefore(c.cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(c.cert), seconds);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(c.cert), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    const cred_t *issuer = ca != NULL ? ca : &c;
    X509_set_issuer_name(c.cert, X509_get_subject_name(issuer->cert));
    X509_set_pubkey(c.cert, c.key);
    const char *ext[][2] = {
        {"basicConstraints", ca != NULL ? "critical,CA:FALSE" : "critical,CA:TRUE"},
        {"keyUsage",
         ca != NULL ? "critical,digitalSignature" : "critical,keyCertSign,cRLSign"},
        {"extendedKeyUsage", eku},
        {"subjectAltName", san}};
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer->cert, c.cert, NULL, NULL, 0);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        if (ext[i][1] == NULL)
            continue;
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, ext[i][0], ext[i][1]);
        if (e == NULL || !X509_add_ext(c.cert, e, -1))
            fail("extension %s=%s", ext[i][0], ext[i][1]);
        X509_EXTENSION_free(e);
    }
    if (!X509_sign(c.cert, issuer->key, EVP_sha256()))
        fail("sign %s", cn);
    return c;
}

static void cred_free(cred_t *c)
{
    X509_free(c->cert);
    EVP_PKEY_free(c->key);
}

/* An existing CA: CA_DIR/ca.pem and CA_DIR/ca.key. */
static cred_t load_ca(const char *ca_dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/ca.pem", ca_dir);
    BIO *b = BIO_new_file(path, "r");
    cred_t ca = {b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL, NULL};
    BIO_free(b);
    snprintf(path, sizeof path, "%s/ca.key", ca_dir);
    b = BIO_new_file(path, "r");
    ca.key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (ca.cert == NULL || ca.key == NULL)
        fail("no usable ca.pem and ca.key in %s", ca_dir);
    return ca;
}

/* PEM text of a certificate (key == 0) or of its private key (key == 1). */
static char *pem(const cred_t *c, int key)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data, *out = NULL;
    if (b != NULL && (key ? PEM_write_bio_PrivateKey(b, c->key, NULL, NULL, 0, NULL, NULL)
                          : PEM_write_bio_X509(b, c->cert))) {
        long n = BIO_get_mem_data(b, &data);
        out = strndup(data, (size_t)n);
    }
    BIO_free(b);
    if (out == NULL)
        fail("PEM encoding");
    return out;
}

/* Atomic replacement: a reader sees the old file or the new one, never half
 * of one. The temporary name is in the same directory, so rename(2) cannot
 * cross file systems. */
static void write_file(const char *name, const cred_t *c, int key)
{
    char path[128], tmp[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    char *text = pem(c, key);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0 ||
        fclose(f) != 0 || rename(tmp, path) != 0)
        fail("write %s", path);
    free(text);
}

/* ---- sockets --------------------------------------------------------------- */

static void *ctx;
static char endpoint[64];

static void set_str(void *s, int opt, const char *v)
{
    if (zmq_setsockopt(s, opt, v, strlen(v)) != 0)
        fail("zmq_setsockopt %d", opt);
}

/* A REQ presenting `id` that trusts only the server's SPIFFE ID; *mon
 * receives its monitor events. */
static void *client(const cred_t *ca, const char *id, void **mon)
{
    static int n;
    char san[128], addr[32], *cert, *key;
    snprintf(san, sizeof san, "URI:%s", id);
    cred_t c = mint(ca, id, san, "clientAuth", 600);
    void *s = zmq_socket(ctx, ZMQ_REQ);
    set_str(s, ZMTLS_CERT_PEM, cert = pem(&c, 0));
    set_str(s, ZMTLS_KEY_PEM, key = pem(&c, 1));
    free(cert);
    free(key);
    cred_free(&c);
    char ca_path[128];
    snprintf(ca_path, sizeof ca_path, "%s/ca.pem", dir);
    set_str(s, ZMTLS_CA_FILE, ca_path);
    set_str(s, ZMTLS_ALLOW, "uri:" SERVER_ID);
    int one = 1, zero = 0;
    zmq_setsockopt(s, ZMTLS_AUTH_STOP, &one, sizeof one); /* refused: stay down */
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    snprintf(addr, sizeof addr, "inproc://mon-%d", n++);
    *mon = zmq_socket(ctx, ZMQ_PAIR);
    if (zmq_socket_monitor(s, addr, ZMQ_EVENT_ALL) != 0 || zmq_connect(*mon, addr) != 0 ||
        zmq_connect(s, endpoint) != 0)
        fail("client %s", id);
    return s;
}

/* The next monitor event within timeout_ms (its value in *value), or -1. */
static int next_event(void *mon, long timeout_ms, uint32_t *value)
{
    zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
    uint8_t head[6];
    char ep[256];
    uint16_t ev;
    if (zmq_poll(&it, 1, timeout_ms) <= 0 || zmq_recv(mon, head, sizeof head, 0) != 6 ||
        zmq_recv(mon, ep, sizeof ep, 0) < 0)
        return -1;
    memcpy(&ev, head, 2);
    memcpy(value, head + 2, 4);
    return ev;
}

/* Waits for `event`, skipping others; returns its value. */
static uint32_t expect(void *mon, int event, const char *who)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint32_t value;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = DEADLINE_MS -
                    ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        int ev = left > 0 ? next_event(mon, left, &value) : -1;
        if (ev == event)
            return value;
        if (ev < 0)
            fail("%s: no %s within %d ms", who, zmtls_event_name(event), DEADLINE_MS);
    }
}

static void close_client(void *s, void *mon)
{
    zmq_socket_monitor(s, NULL, 0);
    zmq_close(mon);
    zmq_close(s);
}

/* ---- the worker's request/reply loop, on its own thread -------------------- */

static void *server, *worker;
static atomic_int stop, failed;
static int round_trips; /* guarded by lock */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t progressed = PTHREAD_COND_INITIALIZER;

/* One request and its reply; RCVTIMEO bounds each receive, so a stall is a
 * failure, not a hang. */
static int round_trip(void)
{
    char buf[8];
    return zmq_send(worker, "ping", 4, 0) == 4 &&
           zmq_recv(server, buf, sizeof buf, 0) == 4 &&
           zmq_send(server, "pong", 4, 0) == 4 &&
           zmq_recv(worker, buf, sizeof buf, 0) == 4;
}

static void *traffic(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        int ok = round_trip();
        pthread_mutex_lock(&lock);
        round_trips += ok;
        atomic_store(&failed, !ok);
        pthread_cond_broadcast(&progressed);
        pthread_mutex_unlock(&lock);
        if (!ok)
            break;
    }
    return NULL;
}

/* Waits until the worker has made `more` round trips from now; returns the
 * total. */
static int wait_round_trips(int more)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += DEADLINE_MS / 1000;
    pthread_mutex_lock(&lock);
    int target = round_trips + more, rc = 0;
    while (round_trips < target && !atomic_load(&failed) && rc == 0)
        rc = pthread_cond_timedwait(&progressed, &lock, &until);
    int n = round_trips;
    pthread_mutex_unlock(&lock);
    if (n < target || atomic_load(&failed))
        fail("the worker's request/reply loop stalled after %d round trips", n);
    return n;
}

/* ---- the scenario -------------------------------------------------------- */

static void peer_serial(void *s, char *out, size_t len)
{
    if (zmtls_endpoint_peer_property(s, endpoint, "Serial", out, len) <= 0)
        fail("Serial of %s", endpoint);
}

/* A new server certificate and key (its serial in `serial`), each renamed
 * into place. Key first: a periodic check that runs between the two renames
 * sees a key that does not match the certificate and keeps the old pair
 * until the certificate lands. */
static void rotate(const cred_t *ca, char *serial, size_t len)
{
    cred_t c = mint(ca, "server", "URI:" SERVER_ID ",DNS:localhost,IP:127.0.0.1",
                    "serverAuth", 300);
    /* hex, as zmtls's "Serial" peer property shows it */
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c.cert), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    if (hex == NULL)
        fail("serial");
    snprintf(serial, len, "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    write_file("server.key", &c, 1);
    write_file("server.pem", &c, 0);
    cred_free(&c);
}

int main(int argc, char **argv)
{
    setenv("ZMTLS_RELOAD_IVL", "0", 0); /* read at each tls:// connect and bind */
    cred_t ca =
        argc > 1 ? load_ca(argv[1])
                 : mint(NULL, "example.org CA", "URI:spiffe://example.org", NULL, 3600);
    snprintf(dir, sizeof dir, "/tmp/spiffe-rotate-XXXXXX");
    if (mkdtemp(dir) == NULL)
        fail("mkdtemp");
    write_file("ca.pem", &ca, 0);
    char serial[ROTATIONS + 1][64], seen[64], path[3][128];
    rotate(&ca, serial[0], sizeof serial[0]);
    printf("files in %s, CA %s\n", dir, argc > 1 ? argv[1] : "made in memory");

    ctx = zmq_ctx_new();
    server = zmq_socket(ctx, ZMQ_REP);
    const char *names[] = {"server.pem", "server.key", "ca.pem"};
    const int opts[] = {ZMTLS_CERT_FILE, ZMTLS_KEY_FILE, ZMTLS_CA_FILE};
    for (int i = 0; i < 3; i++) {
        snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
        set_str(server, opts[i], path[i]);
    }
    set_str(server, ZMTLS_ALLOW, CLIENTS);
    int timeout = DEADLINE_MS, zero = 0;
    zmq_setsockopt(server, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(server, ZMQ_LINGER, &zero, sizeof zero);
    void *server_mon = zmq_socket(ctx, ZMQ_PAIR);
    size_t eplen = sizeof endpoint;
    if (zmq_socket_monitor(server, "inproc://mon-server",
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) ||
        zmq_connect(server_mon, "inproc://mon-server") ||
        zmq_bind(server, "tls://127.0.0.1:*") != 0 ||
        zmq_getsockopt(server, ZMQ_LAST_ENDPOINT, endpoint, &eplen) != 0)
        fail("server");
    printf("server   %s allows %s, serial %s\n", endpoint, CLIENTS, serial[0]);

    void *worker_mon;
    worker = client(&ca, "spiffe://example.org/client/worker-1", &worker_mon);
    zmq_setsockopt(worker, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    expect(worker_mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, "worker");
    /* Once the server has the first request its handshake is done too, and
     * each side can tell who the other is. */
    if (!round_trip())
        fail("first request");
    char id[128];
    if (zmtls_endpoint_peer_property(server, endpoint, "SPIFFE-ID", id, sizeof id) <= 0)
        fail("SPIFFE-ID of the worker");
    peer_serial(worker, seen, sizeof seen);
    printf("worker   %s connected, sees serial %s\n", id, seen);
    round_trips = 1;
    /* From here on the sockets belong to the traffic thread until it ends. */
    pthread_t thread;
    if (pthread_create(&thread, NULL, traffic, NULL) != 0)
        fail("pthread_create");

    for (int i = 1; i <= ROTATIONS; i++) {
        rotate(&ca, serial[i], sizeof serial[i]);
        if (zmtls_reload() != 0)
            fail("zmtls_reload");
        void *probe_mon,
            *probe = client(&ca, "spiffe://example.org/client/probe", &probe_mon);
        expect(probe_mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, "probe");
        peer_serial(probe, seen, sizeof seen);
        close_client(probe, probe_mon);
        if (strcmp(seen, serial[i]) != 0)
            fail("rotation %d: a new client sees serial %s, not %s", i, seen, serial[i]);
        int n = wait_round_trips(3);
        printf("rotate %d key and certificate renamed into place, zmtls_reload() = 0\n"
               "         a new client sees serial %s (worker: %d round trips so far)\n",
               i, seen, n);
    }

    void *intruder_mon,
        *intruder = client(&ca, "spiffe://example.org/client-admin", &intruder_mon);
    uint32_t alert = expect(intruder_mon, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, "intruder");
    uint32_t server_alert = expect(server_mon, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, "server");
    printf("intruder spiffe://example.org/client-admin refused: HANDSHAKE_FAILED_AUTH %u "
           "(%s); the server's monitor: HANDSHAKE_FAILED_AUTH %u\n",
           alert, zmtls_alert_name((int)alert), server_alert);
    close_client(intruder, intruder_mon);

    atomic_store(&stop, 1);
    pthread_join(thread, NULL);
    if (atomic_load(&failed))
        fail("the worker's request/reply loop");
    /* One connection all along: no second handshake, no disconnection. */
    uint32_t value;
    for (int ev; (ev = next_event(worker_mon, 0, &value)) >= 0;)
        if (ev == ZMQ_EVENT_DISCONNECTED || ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            fail("the worker saw %s", zmtls_event_name(ev));
    peer_serial(worker, seen, sizeof seen);
    if (strcmp(seen, serial[0]) != 0)
        fail("the worker's connection shows serial %s, not %s", seen, serial[0]);
    printf("worker   %d round trips over its first connection, which still shows serial "
           "%s\nall held\n",
           round_trips, seen);

    close_client(worker, worker_mon);
    zmq_socket_monitor(server, NULL, 0);
    zmq_close(server_mon);
    zmq_close(server);
    zmq_ctx_term(ctx);
    cred_free(&ca);
    for (int i = 0; i < 3; i++)
        unlink(path[i]);
    rmdir(dir);
    return 0;
}

/*
 * The bindings that bypass LD_PRELOAD, reproduced in C: a program linked
 * with neither libzmq nor libzmtls opens "libzmq.so.5" itself, as ffi-rzmq
 * and ZMQ::FFI do (RTLD_LOCAL, every symbol looked up on the handle), or as
 * PHP loads php-zmq (RTLD_DEEPBIND, argument "deepbind"; sanitizer runtimes
 * refuse that flag). The library path puts zmtls's compatibility library
 * first. Through the handle, interposed functions must be libzmtls's and
 * the others the real libzmq's, and tls:// must work: a round trip with
 * good certificates, and a client from another CA refused with
 * HANDSHAKE_FAILED_AUTH 48 on the server's monitor.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "check.h"
#include "zmtls.h"

#define WAIT_MS 5000 /* every receive is bounded by this */

static struct {
    void *(*ctx_new)(void);
    int (*ctx_term)(void *);
    void *(*socket)(void *, int);
    int (*close)(void *);
    int (*setsockopt)(void *, int, const void *, size_t);
    int (*getsockopt)(void *, int, void *, size_t *);
    int (*bind)(void *, const char *);
    int (*connect)(void *, const char *);
    int (*send)(void *, const void *, size_t, int);
    int (*recv)(void *, void *, size_t, int);
    int (*socket_monitor)(void *, const char *, int);
} z;

static const char *certs;

static void *sym(void *h, const char *name)
{
    void *p = dlsym(h, name);
    if (p == NULL) {
        fprintf(stderr, "dlsym %s: %s\n", name, dlerror());
        exit(1);
    }
    return p;
}

/* Resolved path of the file that defines what the handle gives for name. */
static const char *owner(void *h, const char *name, char *out)
{
    Dl_info info;
    CHECK(dladdr(sym(h, name), &info) != 0 && info.dli_fname != NULL);
    CHECK(realpath(info.dli_fname, out) != NULL);
    return out;
}

static void set_str(void *s, int opt, const char *v)
{
    CHECK_EQ(z.setsockopt(s, opt, v, strlen(v)), 0);
}

static void set_int(void *s, int opt, int v)
{
    CHECK_EQ(z.setsockopt(s, opt, &v, sizeof v), 0);
}

static void *tls_socket(void *ctx, int type, const char *who)
{
    char path[PATH_MAX];
    void *s = z.socket(ctx, type);
    CHECK(s != NULL);
    set_int(s, ZMQ_LINGER, 0);
    set_int(s, ZMQ_RCVTIMEO, WAIT_MS);
    snprintf(path, sizeof path, "%s/%s.pem", certs, who);
    set_str(s, ZMTLS_CERT_FILE, path);
    snprintf(path, sizeof path, "%s/%s.key", certs, who);
    set_str(s, ZMTLS_KEY_FILE, path);
    snprintf(path, sizeof path, "%s/ca.pem", certs);
    set_str(s, ZMTLS_CA_FILE, path);
    return s;
}

int main(int argc, char **argv)
{
    int deepbind = argc > 1 && strcmp(argv[1], "deepbind") == 0;
    certs = getenv("ZMTLS_TEST_CERTS");
    CHECK(certs != NULL);
    alarm(60); /* a hang fails (SIGALRM) instead of waiting for ctest */

    CHECK(dlsym(RTLD_DEFAULT, "zmq_bind") == NULL); /* nothing preloaded or linked */
    void *h =
        dlopen("libzmq.so.5", RTLD_NOW | RTLD_LOCAL | (deepbind ? RTLD_DEEPBIND : 0));
    if (h == NULL) {
        fprintf(stderr, "dlopen libzmq.so.5: %s\n", dlerror());
        return 1;
    }
    char real_zmq[PATH_MAX], path[PATH_MAX];
    CHECK(realpath(ZMTLS_REAL_LIBZMQ, real_zmq) != NULL);
    CHECK(strstr(owner(h, "zmq_connect", path), "/libzmtls.so") != NULL);
    CHECK(strstr(owner(h, "zmq_ctx_new", path), "/libzmtls.so") != NULL);
    CHECK_STR(owner(h, "zmq_send", path), real_zmq);
    CHECK_STR(owner(h, "zmq_msg_init", path), real_zmq);
#define LOAD(field) *(void **)&z.field = sym(h, "zmq_" #field)
    LOAD(ctx_new);
    LOAD(ctx_term);
    LOAD(socket);
    LOAD(close);
    LOAD(setsockopt);
    LOAD(getsockopt);
    LOAD(bind);
    LOAD(connect);
    LOAD(send);
    LOAD(recv);
    LOAD(socket_monitor);
#undef LOAD

    void *ctx = z.ctx_new();
    CHECK(ctx != NULL);
    void *server = tls_socket(ctx, ZMQ_REP, "server");
    CHECK_EQ(
        z.socket_monitor(server, "inproc://compat-mon", ZMQ_EVENT_HANDSHAKE_FAILED_AUTH),
        0);
    void *mon = z.socket(ctx, ZMQ_PAIR);
    CHECK(mon != NULL);
    set_int(mon, ZMQ_LINGER, 0);
    set_int(mon, ZMQ_RCVTIMEO, WAIT_MS);
    CHECK_EQ(z.connect(mon, "inproc://compat-mon"), 0);
    CHECK_EQ(z.bind(server, "tls://127.0.0.1:*"), 0);
    char endpoint[256];
    size_t len = sizeof endpoint;
    CHECK_EQ(z.getsockopt(server, ZMQ_LAST_ENDPOINT, endpoint, &len), 0);
    CHECK(strncmp(endpoint, "tls://127.0.0.1:", 16) == 0);

    void *client = tls_socket(ctx, ZMQ_REQ, "client");
    CHECK_EQ(z.connect(client, endpoint), 0);
    char buf[64];
    CHECK_EQ(z.send(client, "hello", 5, 0), 5);
    CHECK_EQ(z.recv(server, buf, sizeof buf, 0), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ(z.send(server, "world", 5, 0), 5);
    CHECK_EQ(z.recv(client, buf, sizeof buf, 0), 5);
    CHECK(memcmp(buf, "world", 5) == 0);

    void *rogue = tls_socket(ctx, ZMQ_REQ, "rogue-client");
    CHECK_EQ(z.connect(rogue, endpoint), 0);
    unsigned char ev[6];
    CHECK_EQ(z.recv(mon, ev, sizeof ev, 0), 6);
    uint16_t event;
    uint32_t value;
    memcpy(&event, ev, sizeof event);
    memcpy(&value, ev + 2, sizeof value);
    CHECK_EQ(event, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    CHECK_EQ(value, 48);
    CHECK(z.recv(mon, buf, sizeof buf, 0) > 0); /* the endpoint frame */

    CHECK_EQ(z.close(rogue), 0);
    CHECK_EQ(z.close(client), 0);
    CHECK_EQ(z.close(mon), 0);
    CHECK_EQ(z.close(server), 0);
    CHECK_EQ(z.ctx_term(ctx), 0);
    printf("compat.dlopen (%s): interposers from libzmtls, the rest from %s; round trip "
           "and refusal ok\n",
           deepbind ? "RTLD_DEEPBIND" : "RTLD_LOCAL", real_zmq);
    return 0;
}

/*
 * ZMTLS_LOG, as an operator sees it: the test runs one tls:// scenario in
 * child processes (this program re-executed with "child"), each with a
 * different ZMTLS_LOG and its stderr on a pipe, and checks the lines
 * (format: docs/zmq_tls.7.md, "Diagnostics").
 *
 * The scenario: a ROUTER server; a good DEALER client that completes its
 * handshake, then leaves; a client whose certificate comes from a CA the
 * server does not trust (rogue-client.pem), refused with unknown_ca. The
 * child waits on monitor events only (each line is written before its
 * event goes out), and the parent reads the pipe to its end on a deadline.
 *
 *   info:    the server's "accepted" line names the good client's address,
 *            CN and SAN; the client's "connected" line names the server;
 *            the server's "refused" line names the rogue client's address,
 *            its CN "rogue client" and alert 48 unknown_ca sent, with the
 *            TLS layer's reason; the rogue client's own "refused" line says
 *            it received the alert; the good client's departure is a
 *            "disconnected" line with an errno; no debug line.
 *   debug:   the same plus TCP accepts, connect attempts and the retry
 *            with its interval.
 *   unset, and a value that is not a level: nothing at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "zmtls.h"

#define OUT_MAX   (64 * 1024)
#define LINES_MAX 128

static void scenario(void)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    tu_peer_t srv, good, rogue;
    tu_peer_open(&srv, "server", ctx, ZMQ_ROUTER, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&srv);

    tu_peer_open(&good, "good client", ctx, ZMQ_DEALER, "client.pem", "client.key",
                 "ca.pem");
    tu_peer_connect(&good, srv.endpoint);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    TU_PEER_EXPECT(&good, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    tu_peer_close(&good);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_DISCONNECTED);

    tu_peer_open(&rogue, "rogue client", ctx, ZMQ_DEALER, "rogue-client.pem",
                 "rogue-client.key", "ca.pem");
    tu_peer_connect(&rogue, srv.endpoint);
    CHECK_EQ(TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 48);
    CHECK_EQ(TU_PEER_EXPECT(&rogue, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 48);
    TU_PEER_EXPECT(&rogue, ZMQ_EVENT_CONNECT_RETRIED);
    tu_peer_close(&rogue);
    tu_peer_close(&srv);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

/* Runs the scenario in a child with ZMTLS_LOG = level (NULL: unset) and
 * returns what it wrote on stderr, NUL-terminated, in out. */
static size_t run_child(const char *self, const char *level, char *out)
{
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (dup2(p[1], STDERR_FILENO) < 0)
            _exit(2);
        if (level != NULL)
            setenv("ZMTLS_LOG", level, 1);
        else
            unsetenv("ZMTLS_LOG");
        char *const args[] = {(char *)self, "child", NULL};
        execv("/proc/self/exe", args);
        _exit(2);
    }
    close(p[1]);
    size_t n = 0;
    int64_t deadline = tu_now_ms() + 4 * TU_TIMEOUT_MS;
    for (;;) {
        int64_t left = deadline - tu_now_ms();
        CHECK(left > 0); /* the child never closed its stderr */
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        int rc = poll(&pfd, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        CHECK(rc >= 0);
        if (rc == 0)
            continue;
        CHECK(n < OUT_MAX - 1);
        ssize_t r = read(p[0], out + n, OUT_MAX - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        CHECK(r >= 0);
        if (r == 0)
            break;
        n += (size_t)r;
    }
    out[n] = '\0';
    close(p[0]);
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "child (ZMTLS_LOG=%s) failed; its stderr:\n%s\n",
                level ? level : "(unset)", out);
        CHECK(0);
    }
    return n;
}

/* One parsed line: "zmtls: <endpoint> <verb> <address> <rest>". */
typedef struct line {
    char endpoint[TU_EP_MAX];
    char verb[32];
    char address[64];
    const char *rest; /* the fields, up to the end of the line (no newline) */
    char text[1024];
} line_t;

typedef struct lines {
    size_t n;
    line_t l[LINES_MAX];
} lines_t;

/* Splits and parses every line; each must carry the prefix and the three
 * fixed fields. */
static void parse(char *out, lines_t *ls)
{
    ls->n = 0;
    char *save = NULL;
    for (char *s = strtok_r(out, "\n", &save); s != NULL;
         s = strtok_r(NULL, "\n", &save)) {
        CHECK(ls->n < LINES_MAX);
        line_t *l = &ls->l[ls->n++];
        snprintf(l->text, sizeof(l->text), "%s", s);
        int used = 0;
        if (sscanf(s, "zmtls: %255s %31s %63s%n", l->endpoint, l->verb, l->address,
                   &used) != 3) {
            fprintf(stderr, "not a log line: %s\n", s);
            CHECK(0);
        }
        l->rest = l->text + used;
    }
}

static void print_lines(const lines_t *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        fprintf(stderr, "  %s\n", ls->l[i].text);
}

/* The first line of `verb` whose address is (is_addr 1) or is not
 * (is_addr 0) `addr` (NULL: any); NULL when none. */
static const line_t *find(const lines_t *ls, const char *verb, const char *addr,
                          int is_addr)
{
    for (size_t i = 0; i < ls->n; i++) {
        const line_t *l = &ls->l[i];
        if (strcmp(l->verb, verb) != 0)
            continue;
        if (addr == NULL || (strcmp(l->address, addr) == 0) == is_addr)
            return l;
    }
    return NULL;
}

static size_t count(const lines_t *ls, const char *verb)
{
    size_t k = 0;
    for (size_t i = 0; i < ls->n; i++)
        k += strcmp(ls->l[i].verb, verb) == 0;
    return k;
}

#define HAS(l, s)                                                                        \
    do {                                                                                 \
        if (strstr((l)->rest, (s)) == NULL) {                                            \
            fprintf(stderr, "%s:%d: line lacks '%s': %s\n", __FILE__, __LINE__, (s),     \
                    (l)->text);                                                          \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

/* "127.0.0.1:<port>", a real port other than the server's. */
static void check_client_address(const char *addr, const char *server_authority)
{
    unsigned port = 0;
    char tail = 0;
    CHECK_EQ(sscanf(addr, "127.0.0.1:%u%c", &port, &tail), 1);
    CHECK(port > 0 && port < 65536);
    CHECK(strcmp(addr, server_authority) != 0);
}

static void check_info_lines(const lines_t *ls, int debug)
{
    /* The server's success line, and from it the endpoint. */
    const line_t *acc = find(ls, "accepted", NULL, 0);
    CHECK(acc != NULL);
    CHECK_EQ(count(ls, "accepted"), 1);
    CHECK(strncmp(acc->endpoint, "tls://127.0.0.1:", 16) == 0);
    const char *authority = acc->endpoint + strlen("tls://");
    check_client_address(acc->address, authority);
    HAS(acc, "subject=\"CN=client\"");
    HAS(acc, "san=\"DNS:client\"");
    HAS(acc, "resumed=0");

    /* The good client's own: the server's address and certificate. */
    const line_t *con = find(ls, "connected", NULL, 0);
    CHECK(con != NULL);
    CHECK_STR(con->endpoint, acc->endpoint);
    CHECK_STR(con->address, authority);
    HAS(con, "subject=\"CN=");

    /* Its departure, on the server. */
    const line_t *gone = find(ls, "disconnected", acc->address, 1);
    CHECK(gone != NULL);
    CHECK_STR(gone->endpoint, acc->endpoint);
    HAS(gone, "errno=");

    /* The rogue client, refused by the server: its address, the CN of the
     * certificate it presented, the alert we sent and why. */
    const line_t *ref = find(ls, "refused", authority, 0);
    CHECK(ref != NULL);
    CHECK_STR(ref->endpoint, acc->endpoint);
    check_client_address(ref->address, authority);
    CHECK(strcmp(ref->address, acc->address) != 0);
    HAS(ref, "subject=\"CN=rogue client\"");
    HAS(ref, "alert=48 alert_name=unknown_ca alert_dir=sent");
    HAS(ref, "phase=tls");
    HAS(ref, "reason=\"peer certificate not accepted: ");

    /* ...and the rogue client's own view: the server's alert received. */
    const line_t *own = find(ls, "refused", authority, 1);
    CHECK(own != NULL);
    HAS(own, "alert=48 alert_name=unknown_ca alert_dir=received");

    size_t dbg = count(ls, "tcp-accepted") + count(ls, "tcp-connected") +
                 count(ls, "connecting") + count(ls, "retry");
    if (!debug) {
        CHECK_EQ(dbg, 0);
        return;
    }
    CHECK(find(ls, "tcp-accepted", acc->address, 1) != NULL);
    CHECK(find(ls, "tcp-connected", authority, 1) != NULL);
    CHECK(count(ls, "connecting") >= 2);
    const line_t *retry = find(ls, "retry", NULL, 0);
    CHECK(retry != NULL);
    HAS(retry, "in_ms=");
    HAS(retry, "schedule=auth");
}

int main(int argc, char **argv)
{
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    if (argc >= 2 && strcmp(argv[1], "child") == 0) {
        scenario();
        return 0;
    }

    static char out[OUT_MAX];
    static lines_t ls;
    static const char *const levels[] = {"info", "debug"};
    for (size_t i = 0; i < 2; i++) {
        run_child(argv[0], levels[i], out);
        parse(out, &ls);
        printf("ZMTLS_LOG=%s: %zu lines\n", levels[i], ls.n);
        print_lines(&ls);
        check_info_lines(&ls, i == 1);
    }

    static const char *const silent[] = {NULL, "INFO", "verbose"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = run_child(argv[0], silent[i], out);
        if (n != 0)
            fprintf(stderr, "ZMTLS_LOG=%s wrote:\n%s\n",
                    silent[i] ? silent[i] : "(unset)", out);
        CHECK_EQ(n, 0);
    }
    printf("log: ok\n");
    return 0;
}

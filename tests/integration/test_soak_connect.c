/*
 * Connect/close soak: one tls:// REP server in this process outlives
 * SOAK_CYCLES short-lived REQ clients, each a new socket that connects
 * (full mutual handshake), makes one round trip and closes, one after the
 * other. A long-lived good REQ client is served before, every
 * SOAK_GOOD_EVERY cycles, and after.
 *
 * Asserts: every cycle's round trip works; the server's monitor counts
 * exactly one HANDSHAKE_SUCCEEDED and one DISCONNECTED per cycle and no
 * failure of any kind; once the last DISCONNECTED is in, the process's open
 * file descriptors come back to exactly the baseline taken with only the
 * server and the good client up, both after a warm-up of SOAK_WARMUP
 * cycles and after the soak (waited for against a deadline, since closes
 * finish on libzmq's reaper and our I/O thread). RSS after the warm-up and
 * after the soak is printed, not asserted: an ASan build keeps freed memory
 * in quarantine (hundreds of MiB here). Times are printed too.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define SOAK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOAK_SANITIZED 1
#endif
#endif

/* Every handshake signs and verifies twice with ECDSA on each side; an
 * instrumented build does fewer cycles so the test stays around 30 s. */
#ifdef SOAK_SANITIZED
#define SOAK_CYCLES 1500
#define SOAK_NOTE   " (sanitizer build: fewer cycles)"
#else
#define SOAK_CYCLES 2000
#define SOAK_NOTE   ""
#endif
#define SOAK_WARMUP     20
#define SOAK_GOOD_EVERY 100
#define SOAK_WATCHDOG_S 120

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the DIR's own fd */
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    CHECK(kib > 0);
    return kib;
}

static tu_peer_t srv;

/* One short-lived client: connect, one round trip, close. */
static void cycle(void *ctx, unsigned i)
{
    void *req = tu_socket(ctx, ZMQ_REQ);
    CHECK_EQ(zmq_connect(req, srv.endpoint), 0);
    char body[32];
    snprintf(body, sizeof body, "cycle-%u", i);
    if (tu_roundtrip_str(req, srv.sock, body, TU_TIMEOUT_MS) != 0) {
        fprintf(stderr, "cycle %u: no round trip\n", i);
        tu_events_print(&srv.log, "server");
        exit(1);
    }
    CHECK_EQ(zmq_close(req), 0);
    tu_pump(srv.mon, &srv.log);
}

/* Waits for the server's DISCONNECTED of every client so far. */
static void wait_disconnected(unsigned n)
{
    tu_peer_t *const peers[] = {&srv};
    if (tu_peers_wait(peers, 1, tu_now_ms() + TU_TIMEOUT_MS, &srv, ZMQ_EVENT_DISCONNECTED,
                      n) != 0) {
        tu_events_print(&srv.log, "server");
        fprintf(stderr, "the server saw %u DISCONNECTED, expected %u\n",
                tu_events_count(&srv.log, ZMQ_EVENT_DISCONNECTED), n);
        exit(1);
    }
}

static tu_peer_t good;

/* Waits until the open fds equal `want`. Sockets only act on their mailbox
 * when the application calls them, so the long-lived ones are asked for
 * ZMQ_EVENTS each round: a closed client's pipe to the REP is released
 * only then, as an application serving requests would. Returns the last
 * count. */
static int wait_fds(int want)
{
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    for (;;) {
        (void)tu_get_int(srv.sock, ZMQ_EVENTS);
        (void)tu_get_int(good.sock, ZMQ_EVENTS);
        int n = open_fds();
        if (n == want || tu_now_ms() >= deadline)
            return n;
        tu_drain_events(srv.mon, &srv.log, 10);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    /* Short-lived clients take their credentials from the environment, as
     * an unmodified application would. */
    tu_env_creds(argv, "client.pem", "client.key", "ca.pem");
    tu_watchdog(SOAK_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_set_int(srv.mon, ZMQ_RCVHWM, 0);
    tu_peer_bind(&srv);
    tu_peer_open(&good, "good client", ctx, ZMQ_REQ, NULL, NULL, NULL);
    tu_peer_connect(&good, srv.endpoint);
    TU_PEER_EXPECT(&good, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(tu_roundtrip_str(good.sock, srv.sock, "before", TU_TIMEOUT_MS), 0);

    /* The baseline: the server and the good client up, nothing else. */
    int base = open_fds();
    for (unsigned i = 0; i < SOAK_WARMUP; i++)
        cycle(ctx, i);
    wait_disconnected(SOAK_WARMUP);
    /* Nothing a client leaves behind: the warm-up's clients are gone too. */
    CHECK_EQ(wait_fds(base), base);
    long rss_before = rss_kib();

    int64_t t0 = tu_now_ms();
    for (unsigned i = 0; i < SOAK_CYCLES; i++) {
        cycle(ctx, SOAK_WARMUP + i);
        if ((i + 1) % SOAK_GOOD_EVERY == 0)
            CHECK_EQ(tu_roundtrip_str(good.sock, srv.sock, "during", TU_TIMEOUT_MS), 0);
    }
    int64_t t_cycles = tu_now_ms() - t0;
    const unsigned total = SOAK_WARMUP + SOAK_CYCLES;
    wait_disconnected(total);
    int fds = wait_fds(base);
    long rss_after = rss_kib();
    CHECK_EQ(tu_roundtrip_str(good.sock, srv.sock, "after", TU_TIMEOUT_MS), 0);

    tu_pump(srv.mon, &srv.log);
    printf(
        "soak_connect: %u connect/round-trip/close cycles in %lld ms (%.2f ms each)%s\n",
        SOAK_CYCLES, (long long)t_cycles, (double)t_cycles / SOAK_CYCLES, SOAK_NOTE);
    printf(
        "open fds: baseline %d, after %d; RSS %ld KiB before, %ld KiB after (%+ld KiB)\n",
        base, fds, rss_before, rss_after, rss_after - rss_before);
    CHECK_EQ(fds, base);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), total + 1);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_DISCONNECTED), total);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL), 0);
    tu_pump(good.mon, &good.log);
    CHECK_EQ(tu_events_count(&good.log, ZMQ_EVENT_DISCONNECTED), 0);

    tu_peer_close(&good);
    tu_peer_close(&srv);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    return 0;
}

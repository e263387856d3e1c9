/*
 * The orchestrator. For each attack and transport: a fresh server (so that
 * VmHWM and VmPeak are the attack's own), a good client, a baseline sample,
 * the attack with the sampler keeping the peaks, then "after": the attack's
 * connections are closed and the server is polled until its fds are back
 * and its RSS holds still, or the settle deadline passes. Then both
 * processes are stopped, and killed when they do not stop.
 *
 * Children are in their own process groups with PR_SET_PDEATHSIG and are
 * killed on every way out (atexit, SIGINT/SIGTERM, the per-attack watchdog).
 */
#include "hostile.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <zmq.h>
#include <zmtls.h>

/* The server may take this long to print "ready". */
#define RUN_SERVER_UP_MS 10000
/* The good client's first reply (it gives up after 15 s itself). */
#define RUN_CLIENT_UP_MS 17000
/* Stopping a child before it is killed. */
#define RUN_STOP_MS 3000
/* Attackers connect from 127.0.0.2 (and up, for --flood-sources); the good
 * client from 127.0.0.1. */
#define RUN_ATTACKER_ADDR 0x7f000002u
/* The good client's window lasts at least this many request intervals. */
#define RUN_MIN_WINDOW_INTERVALS 4
/* /proc sampling period during an attack. */
#define RUN_SAMPLE_MS 50
/* "After": polled this often; settled once fds are back to the baseline
 * and RSS has moved less than RUN_SETTLE_KB over RUN_SETTLE_STABLE_MS. */
#define RUN_SETTLE_POLL_MS   100
#define RUN_SETTLE_STABLE_MS 500
#define RUN_SETTLE_KB        64
/* Beyond the attack's own budget, for the watchdog: start-up, settling,
 * stopping. */
#define RUN_WATCHDOG_SLACK_MS 60000

typedef struct config {
    const char *certs;
    const char *out;
    const char *server;
    const char *lib;
    int quick;
    int tls, tcp;
    int pin;
    long interval_ms, timeout_ms;
    long baseline_ms, settle_ms;
    long server_maxmsgsize;    /* < 0: libzmq's default */
    long server_handshake_ivl; /* < 0: libzmq's default */
    char attacks[256];         /* comma list, "" = all */
    hs_params_t p;
} config_t;

static config_t cfg;
static char self_exe[PATH_MAX];

/* ---- options
 * ------------------------------------------------------------------------------ */

/* Full run: each attack well under a minute on 2 cores. */
static const hs_params_t full_params = {
    .declared_conns = 8,
    .declared_size = (uint64_t)16 << 30,
    .declared_hold_ms = 5000,
    .trickle_conns = 3,
    .trickle_size = (uint64_t)4 << 30,
    .trickle_rate = 1000000,
    .trickle_ms = 5000,
    .multipart_frames = 1000000,
    .multipart_ms = 30000,
    .multipart_hold_ms = 3000,
    .flood_conns = 2000,
    .flood_sources = 1,
    .flood_connect_ms = 10000,
    .flood_hold_ms = 35000,
    .keyupdates = 100000,
    .keyupdate_ms = 30000,
    .soak_cycles = 20000,
    .soak_threads = 2,
    .soak_ms = 120000,
    .unauth_ms = 10000,
    .handshake_ms = 5000,
};

/* --quick: a few seconds each, only to show the tool works. Sizes stay
 * below what a sanitizer's allocator refuses outright. */
static const hs_params_t quick_params = {
    .declared_conns = 2,
    .declared_size = (uint64_t)1 << 30,
    .declared_hold_ms = 1000,
    .trickle_conns = 2,
    .trickle_size = (uint64_t)256 << 20,
    .trickle_rate = 1000000,
    .trickle_ms = 1000,
    .multipart_frames = 20000,
    .multipart_ms = 5000,
    .multipart_hold_ms = 500,
    .flood_conns = 50,
    .flood_sources = 1,
    .flood_connect_ms = 2000,
    .flood_hold_ms = 1500,
    .keyupdates = 1000,
    .keyupdate_ms = 5000,
    .soak_cycles = 100,
    .soak_threads = 2,
    .soak_ms = 10000,
    .unauth_ms = 1000,
    .handshake_ms = 5000,
};

typedef enum { OPT_LONG, OPT_SIZE } opt_kind_t;

typedef struct param_opt {
    const char *name;
    opt_kind_t kind;
    size_t offset; /* in hs_params_t */
    const char *help;
} param_opt_t;

#define P_LONG(f) OPT_LONG, offsetof(hs_params_t, f)
#define P_SIZE(f) OPT_SIZE, offsetof(hs_params_t, f)

static const param_opt_t param_opts[] = {
    {"--declared-conns", P_LONG(declared_conns), "declared-size: connections"},
    {"--declared-size", P_SIZE(declared_size), "declared-size: the size declared (16G)"},
    {"--declared-hold-ms", P_LONG(declared_hold_ms), "declared-size: hold time"},
    {"--trickle-conns", P_LONG(trickle_conns), "declared-trickle: connections"},
    {"--trickle-size", P_SIZE(trickle_size), "declared-trickle: the size declared (4G)"},
    {"--trickle-rate", P_SIZE(trickle_rate), "declared-trickle: bytes/s per connection"},
    {"--trickle-ms", P_LONG(trickle_ms), "declared-trickle: duration"},
    {"--multipart-frames", P_LONG(multipart_frames), "multipart: frames flagged MORE"},
    {"--multipart-ms", P_LONG(multipart_ms), "multipart: deadline for sending them"},
    {"--multipart-hold-ms", P_LONG(multipart_hold_ms), "multipart: hold time after"},
    {"--flood-conns", P_LONG(flood_conns), "preauth-*: connections"},
    {"--flood-sources", P_LONG(flood_sources),
     "preauth-*: spread over 127.0.0.2 ... 127.0.0.(1+N)"},
    {"--flood-connect-ms", P_LONG(flood_connect_ms), "preauth-*: deadline for connects"},
    {"--flood-hold-ms", P_LONG(flood_hold_ms), "preauth-*: hold time (35000)"},
    {"--keyupdates", P_LONG(keyupdates), "keyupdate: KeyUpdates to send"},
    {"--keyupdate-ms", P_LONG(keyupdate_ms), "keyupdate: deadline"},
    {"--soak-cycles", P_LONG(soak_cycles), "soak: connect/close cycles"},
    {"--soak-threads", P_LONG(soak_threads), "soak: cycles in parallel (at most 16)"},
    {"--soak-ms", P_LONG(soak_ms), "soak: deadline"},
    {"--unauth-ms", P_LONG(unauth_ms), "unauth-reconnect: duration"},
    {"--handshake-ms", P_LONG(handshake_ms), "one connection's handshakes, deadline"},
};

static void usage(void)
{
    fprintf(
        stderr,
        "usage: zmtls_hostile run --certs DIR [--out FILE] [--quick] [--tcp | --both]\n"
        "         [--attacks a,b,...] [--server PATH] [--lib PATH] [--no-pin]\n"
        "         [--interval-ms 250] [--timeout-ms 2000] [--settle-ms 5000]\n"
        "         [--baseline-ms 1000] [--server-maxmsgsize N]\n"
        "         [--server-handshake-ivl MS] [attack parameters]\n"
        "  --tcp: the server on tcp:// (TLS-only attacks skipped); --both: tls://\n"
        "  then tcp://, one table. Attacks:");
    for (size_t i = 0; i < hs_attack_count; i++)
        fprintf(stderr, " %s", hs_attacks[i].name);
    fprintf(stderr,
            "\nattack parameters (sizes take K, M, G suffixes, powers of 1024):\n");
    for (size_t i = 0; i < sizeof(param_opts) / sizeof(param_opts[0]); i++)
        fprintf(stderr, "  %-22s %s\n", param_opts[i].name, param_opts[i].help);
}

static int set_param(const param_opt_t *o, const char *v)
{
    char *base = (char *)&cfg.p + o->offset;
    if (o->kind == OPT_SIZE) {
        uint64_t size;
        if (hs_parse_size(v, &size) != 0 || size == 0)
            return -1;
        memcpy(base, &size, sizeof(size));
        return 0;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (*end != '\0' || n <= 0)
        return -1;
    memcpy(base, &n, sizeof(n));
    return 0;
}

static long parse_ms(const char *name, const char *v)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*end != '\0' || n <= 0) {
        hs_log("run", "%s: not a positive number: %s", name, v);
        exit(2);
    }
    return n;
}

static int parse_args(int argc, char **argv)
{
    /* --quick first: explicit parameters override its values. */
    cfg.p = full_params;
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--quick") == 0)
            cfg.quick = 1;
    if (cfg.quick)
        cfg.p = quick_params;
    cfg.tls = 1;
    cfg.pin = 1;
    cfg.interval_ms = 250;
    cfg.timeout_ms = 2000;
    cfg.baseline_ms = cfg.quick ? 300 : 1000;
    cfg.settle_ms = cfg.quick ? 2000 : 5000;
    cfg.server_maxmsgsize = -1;
    cfg.server_handshake_ivl = -1;
#ifdef HOSTILE_SERVER_PATH
    cfg.server = HOSTILE_SERVER_PATH;
#endif
#ifdef HOSTILE_ZMTLS_LIB
    cfg.lib = HOSTILE_ZMTLS_LIB;
#endif
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0)
            continue;
        if (strcmp(a, "--tcp") == 0) {
            cfg.tls = 0, cfg.tcp = 1;
            continue;
        }
        if (strcmp(a, "--both") == 0) {
            cfg.tls = 1, cfg.tcp = 1;
            continue;
        }
        if (strcmp(a, "--no-pin") == 0) {
            cfg.pin = 0;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            exit(0);
        }
        if (v == NULL) {
            hs_log("run", "%s: unknown, or missing its value", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--certs") == 0)
            cfg.certs = v;
        else if (strcmp(a, "--out") == 0)
            cfg.out = v;
        else if (strcmp(a, "--server") == 0)
            cfg.server = v;
        else if (strcmp(a, "--lib") == 0)
            cfg.lib = v;
        else if (strcmp(a, "--attacks") == 0)
            tool_fmt(cfg.attacks, sizeof(cfg.attacks), ",%s,", v);
        else if (strcmp(a, "--interval-ms") == 0)
            cfg.interval_ms = parse_ms(a, v);
        else if (strcmp(a, "--timeout-ms") == 0)
            cfg.timeout_ms = parse_ms(a, v);
        else if (strcmp(a, "--settle-ms") == 0)
            cfg.settle_ms = parse_ms(a, v);
        else if (strcmp(a, "--baseline-ms") == 0)
            cfg.baseline_ms = parse_ms(a, v);
        else if (strcmp(a, "--server-maxmsgsize") == 0)
            cfg.server_maxmsgsize = parse_ms(a, v);
        else if (strcmp(a, "--server-handshake-ivl") == 0)
            cfg.server_handshake_ivl = parse_ms(a, v);
        else {
            size_t k = 0, n = sizeof(param_opts) / sizeof(param_opts[0]);
            while (k < n && strcmp(a, param_opts[k].name) != 0)
                k++;
            if (k == n) {
                hs_log("run", "unknown option %s", a);
                return -1;
            }
            if (set_param(&param_opts[k], v) != 0) {
                hs_log("run", "%s: bad value %s", a, v);
                return -1;
            }
        }
    }
    if (cfg.certs == NULL || cfg.server == NULL) {
        hs_log("run", "--certs DIR is required (and --server PATH when not built in)");
        return -1;
    }
    if (cfg.p.flood_sources > 250) {
        hs_log("run", "--flood-sources: at most 250 (127.0.0.2 ... 127.0.0.251)");
        return -1;
    }
    /* Every name in --attacks must be known. */
    for (const char *a = cfg.attacks; *a != '\0';) {
        a += strspn(a, ",");
        size_t len = strcspn(a, ",");
        if (len == 0)
            break;
        size_t k = 0;
        while (k < hs_attack_count && (strlen(hs_attacks[k].name) != len ||
                                       strncmp(hs_attacks[k].name, a, len) != 0))
            k++;
        if (k == hs_attack_count) {
            hs_log("run", "--attacks: unknown attack %.*s", (int)len, a);
            return -1;
        }
        a += len;
    }
    return 0;
}

static int attack_on(const hs_attack_t *a)
{
    if (cfg.attacks[0] == '\0')
        return 1;
    char name[64];
    tool_fmt(name, sizeof(name), ",%s,", a->name);
    return strstr(cfg.attacks, name) != NULL;
}

/* ---- watchdog and signals
 * --------------------------------------------------------------- */

static void on_signal(int sig)
{
    static const char alarm_msg[] =
        "zmtls_hostile run: watchdog: an attack took too long\n";
    static const char int_msg[] = "zmtls_hostile run: interrupted\n";
    if (sig == SIGALRM)
        (void)!write(2, alarm_msg, sizeof(alarm_msg) - 1);
    else
        (void)!write(2, int_msg, sizeof(int_msg) - 1);
    tool_child_kill_all_async();
    _exit(sig == SIGALRM ? 4 : 130);
}

/* ---- one attack
 * ------------------------------------------------------------------------- */

static int start_server(tool_child_t *srv, int tls, int *port)
{
    char lifetime[32], maxmsg[48], hs_ivl[48];
    tool_fmt(lifetime, sizeof(lifetime), "%d", RUN_WATCHDOG_SLACK_MS / 1000 + 3600);
    tool_fmt(maxmsg, sizeof(maxmsg), "maxmsgsize=%ld", cfg.server_maxmsgsize);
    tool_fmt(hs_ivl, sizeof(hs_ivl), "handshake_ivl=%ld", cfg.server_handshake_ivl);
    char *argv[6] = {(char *)cfg.server, tls ? "tls://127.0.0.1:*" : "tcp://127.0.0.1:*",
                     lifetime, NULL};
    int a = 3;
    if (cfg.server_maxmsgsize >= 0)
        argv[a++] = maxmsg;
    if (cfg.server_handshake_ivl >= 0)
        argv[a++] = hs_ivl;
    static char env[4][PATH_MAX + 32];
    char *envp[5] = {NULL};
    int k = 0;
    if (tls) {
        tool_fmt(env[0], sizeof(env[0]), "ZMTLS_CERT=%s/server.pem", cfg.certs);
        tool_fmt(env[1], sizeof(env[1]), "ZMTLS_KEY=%s/server.key", cfg.certs);
        tool_fmt(env[2], sizeof(env[2]), "ZMTLS_CA=%s/ca.pem", cfg.certs);
        envp[k++] = env[0], envp[k++] = env[1], envp[k++] = env[2];
#ifndef HOSTILE_SERVER_LINKED
        tool_fmt(env[3], sizeof(env[3]), "LD_PRELOAD=%s", cfg.lib);
        envp[k++] = env[3];
#endif
    }
    int rc = tool_child_spawn(srv, "server", argv, envp, cfg.pin ? 0 : -1, 0);
    if (rc < 0) {
        hs_log("run", "cannot start %s: %s", cfg.server, strerror(-rc));
        return -1;
    }
    char line[512];
    rc = tool_child_line(srv, line, sizeof(line), RUN_SERVER_UP_MS);
    const char *colon = strrchr(line, ':');
    if (rc != 0 || strncmp(line, "ready ", 6) != 0 || colon == NULL) {
        hs_log("run", "server did not start: %s", rc == 0 ? line : "no ready line");
        tool_child_stop(srv, RUN_STOP_MS);
        return -1;
    }
    *port = atoi(colon + 1);
    return 0;
}

static int start_client(tool_child_t *cli, int tls, int port)
{
    char endpoint[96], certs[PATH_MAX + 8], tls_arg[16], interval[32], timeout[32];
    tool_fmt(endpoint, sizeof(endpoint), "endpoint=%s://127.0.0.1:%d",
             tls ? "tls" : "tcp", port);
    tool_fmt(certs, sizeof(certs), "certs=%s", cfg.certs);
    tool_fmt(tls_arg, sizeof(tls_arg), "tls=%d", tls);
    tool_fmt(interval, sizeof(interval), "interval=%ld", cfg.interval_ms);
    tool_fmt(timeout, sizeof(timeout), "timeout=%ld", cfg.timeout_ms);
    char *argv[] = {self_exe, "client", endpoint, certs,
                    tls_arg,  interval, timeout,  NULL};
    int rc = tool_child_spawn(cli, "client", argv, NULL, cfg.pin ? 1 : -1, 0);
    if (rc < 0) {
        hs_log("run", "cannot start the good client: %s", strerror(-rc));
        return -1;
    }
    char line[512];
    rc = tool_child_line(cli, line, sizeof(line), RUN_CLIENT_UP_MS);
    if (rc != 0 || strcmp(line, "up") != 0) {
        hs_log("run", "good client: %s", rc == 0 ? line : "no reply from the server");
        tool_child_stop(cli, RUN_STOP_MS);
        return -1;
    }
    return 0;
}

static double kv(const char *line, const char *key)
{
    char k[32];
    tool_fmt(k, sizeof(k), " %s=", key);
    const char *p = strstr(line, k);
    return p != NULL ? strtod(p + strlen(k), NULL) : 0;
}

static void stop_client(tool_child_t *cli, hs_row_t *row)
{
    tool_child_close_stdin(cli);
    char line[512];
    /* An answer in flight may take the whole request timeout. */
    int rc = tool_child_line(cli, line, sizeof(line), (int)cfg.timeout_ms + RUN_STOP_MS);
    if (rc == 0 && strncmp(line, "result ", 7) == 0) {
        row->client_ok = 1;
        row->sent = (long)kv(line, "sent");
        row->replies = (long)kv(line, "replies");
        row->timeouts = (long)kv(line, "timeouts");
        row->p50_ms = kv(line, "p50");
        row->p99_ms = kv(line, "p99");
        row->max_ms = kv(line, "max");
    } else {
        hs_log("run", "good client: no result (%s)", rc == 0 ? line : "none");
    }
    tool_child_stop(cli, RUN_STOP_MS);
}

/* Polls the server until its fds are back to the baseline and RSS holds
 * still, or the deadline: the seconds it took, or -1. */
static double settle(pid_t pid, const hs_sample_t *before, hs_sample_t *after)
{
    int64_t start = tool_now_ms(), end = start + cfg.settle_ms;
    int64_t stable_since = start;
    hs_sample_t prev = hs_sample(pid);
    *after = prev;
    while (after->ok) {
        int64_t now = tool_now_ms();
        int back = after->fds <= before->fds;
        if (back && now - stable_since >= RUN_SETTLE_STABLE_MS)
            return (double)(stable_since - start) / 1000.0;
        if (now >= end)
            return -1;
        tool_sleep_ms(RUN_SETTLE_POLL_MS);
        *after = hs_sample(pid);
        long drift = after->rss_kb - prev.rss_kb;
        if (drift < 0)
            drift = -drift;
        if (after->fds != prev.fds || drift > RUN_SETTLE_KB) {
            stable_since = tool_now_ms();
            prev = *after;
        }
    }
    return -1;
}

static void run_one(const hs_attack_t *a, int tls, hs_row_t *row)
{
    memset(row, 0, sizeof(*row));
    row->transport = tls ? "tls" : "tcp";
    row->attack = a;
    row->settle_s = -1;
    long budget = a->budget_ms(&cfg.p) + RUN_WATCHDOG_SLACK_MS + cfg.settle_ms;
    alarm((unsigned)(budget / 1000 + 1));
    hs_log("run", "%s %s ...", row->transport, a->name);

    tool_child_t srv, cli;
    int port = 0;
    hw_target_t target;
    if (start_server(&srv, tls, &port) != 0) {
        tool_fmt(row->out.outcome, sizeof(row->out.outcome), "server did not start");
        row->out.failed = 1;
        return;
    }
    if (hw_target_init(&target, port, tls, cfg.certs, RUN_ATTACKER_ADDR,
                       (unsigned)cfg.p.flood_sources) != 0) {
        tool_fmt(row->out.outcome, sizeof(row->out.outcome),
                 "client credentials unusable");
        row->out.failed = 1;
        tool_child_stop(&srv, RUN_STOP_MS);
        return;
    }
    if (start_client(&cli, tls, port) != 0) {
        tool_fmt(row->out.outcome, sizeof(row->out.outcome),
                 "good client got no reply before the attack");
        row->out.failed = 1;
        hw_target_free(&target);
        tool_child_stop(&srv, RUN_STOP_MS);
        return;
    }
    hs_sampler_t *sampler = NULL;
    if (hs_sampler_start(&sampler, srv.pid, RUN_SAMPLE_MS) != 0)
        hs_log("run", "no sampler thread: peaks are the before/after samples only");
    tool_sleep_ms(cfg.baseline_ms);
    row->before = hs_sample(srv.pid);
    if (sampler != NULL)
        hs_sampler_reset(sampler);

    tool_child_say(&cli, "start");
    int64_t t0 = tool_now_ms();
    a->run(&target, &cfg.p, &row->out);
    /* An attack the server ends at once still gets a few good requests
     * measured next to it. */
    tool_sleep_ms(t0 + RUN_MIN_WINDOW_INTERVALS * cfg.interval_ms - tool_now_ms());
    tool_child_say(&cli, "stop");
    hs_log("run", "%s %s: %s (%.1f s)", row->transport, a->name, row->out.outcome,
           (double)(tool_now_ms() - t0) / 1000.0);

    row->peak = sampler != NULL ? hs_sampler_peak(sampler) : hs_sample(srv.pid);
    hs_sampler_stop(&sampler);
    if (row->peak.ok && row->peak.hwm_kb > row->peak.rss_kb)
        row->peak.rss_kb = row->peak.hwm_kb; /* what sampling missed */
    row->settle_s = settle(srv.pid, &row->before, &row->after);
    stop_client(&cli, row);

    if (tool_child_exited(&srv)) {
        int st = srv.status;
        if (st > 128)
            tool_fmt(row->server_end, sizeof(row->server_end),
                     "server killed by signal %d", st - 128);
        else
            tool_fmt(row->server_end, sizeof(row->server_end), "server exited with %d",
                     st);
    }
    if (tool_child_stop(&srv, RUN_STOP_MS) < 0)
        tool_fmt(row->server_end, sizeof(row->server_end),
                 "server did not stop within %d ms at the end (killed)", RUN_STOP_MS);
    hw_target_free(&target);
    alarm(0);
}

/* ---- facts for the report
 * ---------------------------------------------------------------- */

static void read_first_line(const char *path, char *out, size_t len)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    if (fgets(out, (int)len, f) != NULL)
        out[strcspn(out, "\n")] = '\0';
    fclose(f);
}

static void facts(char *buf, size_t len, long nofile)
{
    char date[64], machine[512], overcommit[16], tw[16], somax[16];
    tool_date_utc(date, sizeof(date));
    tool_machine(machine, sizeof(machine));
    read_first_line("/proc/sys/vm/overcommit_memory", overcommit, sizeof(overcommit));
    read_first_line("/proc/sys/net/ipv4/tcp_tw_reuse", tw, sizeof(tw));
    read_first_line("/proc/sys/net/core/somaxconn", somax, sizeof(somax));
    int zmaj, zmin, zpat;
    zmq_version(&zmaj, &zmin, &zpat);
    const hs_params_t *p = &cfg.p;
    char dsize[32], tsize[32], trate[32];
    hs_fmt_bytes(dsize, sizeof(dsize), (double)p->declared_size);
    hs_fmt_bytes(tsize, sizeof(tsize), (double)p->trickle_size);
    hs_fmt_bytes(trate, sizeof(trate), (double)p->trickle_rate);
    buf[0] = '\0';
    tool_cat(buf, len, "- date: %s; mode: %s\n", date, cfg.quick ? "--quick" : "full");
    tool_cat(buf, len, "- machine: %s\n", machine);
    tool_cat(buf, len, "- versions: zmtls %d.%d.%d, libzmq %d.%d.%d, %s\n",
             ZMTLS_VERSION_MAJOR, ZMTLS_VERSION_MINOR, ZMTLS_VERSION_PATCH, zmaj, zmin,
             zpat, OpenSSL_version(OPENSSL_VERSION));
    char opts[128];
    if (cfg.server_maxmsgsize < 0 && cfg.server_handshake_ivl < 0)
        tool_fmt(opts, sizeof(opts),
                 "every socket option at libzmq's default (ZMQ_HANDSHAKE_IVL 30 s, no "
                 "ZMQ_MAXMSGSIZE)");
    else
        tool_fmt(opts, sizeof(opts), "ZMQ_MAXMSGSIZE %ld, ZMQ_HANDSHAKE_IVL %ld ms",
                 cfg.server_maxmsgsize,
                 cfg.server_handshake_ivl < 0 ? 30000L : cfg.server_handshake_ivl);
    tool_cat(
        buf, len,
        "- server: `zmtls_hostile_server`, a stock libzmq REP echo bound to "
        "tls://127.0.0.1:* (%s, credentials from ZMTLS_CERT/KEY/CA) or tcp://; %s; a "
        "fresh server for every row\n",
#ifdef HOSTILE_SERVER_LINKED
        "linked with libzmtls",
#else
        "LD_PRELOAD of libzmtls",
#endif
        opts);
    tool_cat(
        buf, len,
        "- limits: RLIMIT_NOFILE %ld (server and attacker), vm.overcommit_memory %s, "
        "net.core.somaxconn %s, net.ipv4.tcp_tw_reuse %s\n",
        nofile, overcommit, somax, tw);
    char floods[64] = "";
    if (p->flood_sources > 1)
        tool_fmt(floods, sizeof(floods),
                 " (the pre-auth floods from 127.0.0.2 ... 127.0.0.%ld)",
                 1 + p->flood_sources);
    tool_cat(buf, len,
             "- addresses: the good client connects from 127.0.0.1, every attacker from "
             "127.0.0.2%s, so that a limit per address meets only the attacker\n",
             floods);
    tool_cat(buf, len, "- pinning: %s\n",
             cfg.pin ? "server on CPU 0; good client and attacker on CPU 1"
                     : "none (--no-pin)");
    tool_cat(
        buf, len,
        "- good client: a REQ over the same transport (valid certificate) sends a "
        "request every %ld ms; a request unanswered after %ld ms counts as timed out "
        "and the client reconnects; latency counts requests sent while the attack ran "
        "(at least %d intervals)\n",
        cfg.interval_ms, cfg.timeout_ms, RUN_MIN_WINDOW_INTERVALS);
    tool_cat(
        buf, len,
        "- server figures: /proc/PID/status, /proc/PID/fd, /proc/PID/stat. before: "
        "%ld ms after the good client's first reply; peak: sampled every %d ms while "
        "the attack ran, RSS peak = max(samples, VmHWM), VmSize peak = VmPeak; after: "
        "once the attack closed its connections, polled every %d ms until the fds are "
        "back to the baseline and RSS moves < %d KiB for %d ms, at most %.1f s; CPU: "
        "utime + stime from before to after\n",
        cfg.baseline_ms, RUN_SAMPLE_MS, RUN_SETTLE_POLL_MS, RUN_SETTLE_KB,
        RUN_SETTLE_STABLE_MS, cfg.settle_ms / 1000.0);
    tool_cat(buf, len,
             "- parameters: declared-size %ld x %s, hold %.1f s; declared-trickle %ld x "
             "%s at %s/s for %.1f s; multipart %ld frames; preauth %ld connections, hold "
             "%.1f s; keyupdate %ld; soak %ld cycles (at most %.0f s); unauth-reconnect "
             "%.1f s\n",
             p->declared_conns, dsize, p->declared_hold_ms / 1000.0, p->trickle_conns,
             tsize, trate, p->trickle_ms / 1000.0, p->multipart_frames, p->flood_conns,
             p->flood_hold_ms / 1000.0, p->keyupdates, p->soak_cycles,
             p->soak_ms / 1000.0, p->unauth_ms / 1000.0);
}

/* ---- main
 * ---------------------------------------------------------------------------------- */

int hs_run_main(int argc, char **argv)
{
    if (parse_args(argc, argv) != 0) {
        usage();
        return 2;
    }
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
    if (n <= 0) {
        hs_log("run", "cannot find my own executable");
        return 2;
    }
    self_exe[n] = '\0';
    char probe[PATH_MAX + 16];
    tool_fmt(probe, sizeof(probe), "%s/ca.pem", cfg.certs);
    if (access(probe, R_OK) != 0 || access(cfg.server, X_OK) != 0) {
        hs_log("run", "need %s and an executable %s", probe, cfg.server);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGALRM, on_signal);
    atexit(tool_child_kill_all);
    long nofile = tool_raise_nofile();
    if (cfg.pin)
        tool_pin(sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0);

    hs_row_t *rows = calloc(hs_attack_count * 2, sizeof(*rows));
    if (rows == NULL)
        return 2;
    size_t nrows = 0;
    int failed = 0;
    for (int pass = 0; pass < 2; pass++) {
        int tls = pass == 0;
        if ((tls && !cfg.tls) || (!tls && !cfg.tcp))
            continue;
        for (size_t i = 0; i < hs_attack_count; i++) {
            const hs_attack_t *a = &hs_attacks[i];
            if (!attack_on(a) || (a->tls_only && !tls))
                continue;
            run_one(a, tls, &rows[nrows]);
            failed |= rows[nrows].out.failed;
            nrows++;
        }
    }
    char head[4096];
    facts(head, sizeof(head), nofile);
    hs_report_write(stdout, head, rows, nrows);
    fflush(stdout);
    if (cfg.out != NULL) {
        FILE *f = fopen(cfg.out, "w");
        if (f == NULL) {
            hs_log("run", "%s: %s", cfg.out, strerror(errno));
            failed = 1;
        } else {
            hs_report_write(f, head, rows, nrows);
            if (fclose(f) != 0)
                failed = 1;
            else
                hs_log("run", "wrote %s", cfg.out);
        }
    }
    free(rows);
    return failed ? 1 : 0;
}

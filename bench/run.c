/*
 * The orchestrator: one run of every case and metric, interleaved.
 *
 * For each measurement it starts a server process and one or more client
 * processes (this same executable, pinned to CPU 0 and CPU 1), reads their
 * result lines and reaps them. Two stunnel4 processes, pinned the same way,
 * serve the stunnel case for the whole run. Within a round every metric is
 * measured for all four cases back to back, in a rotating order, and the
 * report takes the median across rounds, so slow drifts of the machine hit
 * every case alike.
 *
 * Children run in their own process groups with PR_SET_PDEATHSIG, and are
 * killed and reaped on every way out (atexit, SIGINT/SIGTERM, the watchdog).
 */
#include "bench.h"
#include "report.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* Client processes holding idle connections for the memory figure: about
 * 4 descriptors per tls:// client connection keeps each under the limit. */
#define MEM_PER_WORKER  1250
#define MEM_WORKERS_MAX 8

/* ---- child processes ------------------------------------------------------ */

static char self_exe[PATH_MAX];
static char tun_dir[PATH_MAX]; /* stunnel configs and logs; removed at exit */

/* tool_child_spawn with our way of failing: a message, then -1. Children
 * inherit our environment; a child that cannot be pinned does not run, so
 * no figure comes from an unpinned process. stdout comes to us when
 * capture, else goes to /dev/null (stunnel's). */
static int child_spawn(tool_child_t *c, const char *name, char *const argv[], int cpu,
                       int capture)
{
    unsigned flags = TOOL_CHILD_PIN_OR_FAIL | (capture ? 0 : TOOL_CHILD_STDOUT_NULL);
    int rc = tool_child_spawn(c, name, argv, NULL, cpu, flags);
    if (rc < 0) {
        bench_log("run", "%s: cannot start: %s", name, strerror(-rc));
        return -1;
    }
    return 0;
}

/* The files stunnel's directory can hold, named in advance so the signal
 * handler can remove them with unlink alone. */
static char tun_files[4][PATH_MAX + 16];

static void tun_dir_names(void)
{
    static const char *const names[4] = {"server.conf", "client.conf", "server.log",
                                         "client.log"};
    for (int i = 0; i < 4; i++)
        tool_fmt(tun_files[i], sizeof(tun_files[i]), "%s/%s", tun_dir, names[i]);
}

/* Async-signal-safe. */
static void remove_tun_dir(void)
{
    if (tun_dir[0] == '\0')
        return;
    for (int i = 0; i < 4; i++)
        unlink(tun_files[i]);
    rmdir(tun_dir);
    tun_dir[0] = '\0';
}

static void at_exit(void)
{
    tool_child_kill_all();
    remove_tun_dir();
}

/* Async-signal-safe: write, tool_child_kill_all_async, unlink, _exit only. */
static void on_fatal_signal(int sig)
{
    static const char alarm_msg[] = "zmtls_bench run: watchdog: the run took too long\n";
    static const char int_msg[] = "zmtls_bench run: interrupted\n";
    /* Nothing to do if stderr is gone: the process is ending anyway. */
    ssize_t rc = sig == SIGALRM ? write(2, alarm_msg, sizeof(alarm_msg) - 1)
                                : write(2, int_msg, sizeof(int_msg) - 1);
    (void)rc;
    tool_child_kill_all_async();
    remove_tun_dir();
    _exit(sig == SIGALRM ? 4 : 130);
}

/* ---- key=value result lines --------------------------------------------- */

typedef struct kv {
    int n;
    char key[32][24];
    char val[32][96];
} kv_t;

static void kv_parse(const char *line, kv_t *kv)
{
    kv->n = 0;
    const char *p = line;
    while (*p != '\0' && kv->n < 32) {
        while (*p == ' ')
            p++;
        const char *eq = strchr(p, '=');
        const char *sp = strchr(p, ' ');
        if (sp == NULL)
            sp = p + strlen(p);
        if (eq == NULL || eq > sp) {
            p = sp;
            continue;
        }
        snprintf(kv->key[kv->n], sizeof(kv->key[0]), "%.*s", (int)(eq - p), p);
        snprintf(kv->val[kv->n], sizeof(kv->val[0]), "%.*s", (int)(sp - eq - 1), eq + 1);
        kv->n++;
        p = sp;
    }
}

static const char *kv_str(const kv_t *kv, const char *key)
{
    for (int i = 0; i < kv->n; i++)
        if (strcmp(kv->key[i], key) == 0)
            return kv->val[i];
    return NULL;
}

static double kv_num(const kv_t *kv, const char *key)
{
    const char *v = kv_str(kv, key);
    return v != NULL ? strtod(v, NULL) : NAN;
}

/* ---- configuration -------------------------------------------------------- */

typedef struct config {
    const char *certs;
    const char *out;
    const char *plot;
    const char *stunnel;
    int quick;
    int rx_prio; /* --receiver-priority: ZMQ_THREAD_PRIORITY on server contexts */
    int rounds;
    int srv_cpu, cli_cpu;
    unsigned cases;   /* bit per CASE_* */
    unsigned metrics; /* bit per M_* */
    long lat_count, lat_warm;
    double lat_secs;
    double thr_secs; /* target duration of one throughput run */
    long hs_count, hs_warm;
    double hs_secs;
    long mem_conns;
} config_t;

static config_t cfg;
static report_t rep;
static int64_t t_start_ms;
static int any_failure;
static int cur_round; /* what report_add files values under */

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "[%6.1fs] %s\n", (double)(tool_now_ms() - t_start_ms) / 1000.0, msg);
}

/* ---- pinning check ---------------------------------------------------------- */

/* What /proc/<pid>/task/x/status said about each kind of process. */
typedef struct pin_seen {
    const char *what;
    int want;        /* CPU, or -1 */
    int max_tasks;   /* most threads seen at once */
    int checks, bad; /* processes checked, and those not all on `want` */
    char bad_cpus[64];
} pin_seen_t;

static pin_seen_t pin_srv = {"server processes", -1, 0, 0, 0, ""};
static pin_seen_t pin_cli = {"client processes", -1, 0, 0, 0, ""};
static pin_seen_t pin_tsrv = {"stunnel server", -1, 0, 0, 0, ""};
static pin_seen_t pin_tcli = {"stunnel client", -1, 0, 0, 0, ""};

static void pin_check(pin_seen_t *p, int tasks, const char *cpus)
{
    if (tasks <= 0 || cpus == NULL)
        return;
    p->checks++;
    if (tasks > p->max_tasks)
        p->max_tasks = tasks;
    char want[16];
    snprintf(want, sizeof(want), "%d", p->want);
    if (p->want >= 0 && strcmp(cpus, want) != 0) {
        p->bad++;
        tool_fmt(p->bad_cpus, sizeof(p->bad_cpus), "%s", cpus);
    }
}

static void pin_check_kv(pin_seen_t *p, const kv_t *kv)
{
    double t = kv_num(kv, "tasks");
    pin_check(p, isnan(t) ? 0 : (int)t, kv_str(kv, "cpus"));
}

static void pin_check_pid(pin_seen_t *p, pid_t pid)
{
    char cpus[128];
    int n = tool_affinity(pid, cpus, sizeof(cpus));
    pin_check(p, n, cpus);
}

/* ---- stunnel ------------------------------------------------------------------ */

typedef struct tunnels {
    tool_child_t srv, cli;
    int up;
    int backend; /* where the stunnel case's server binds */
    int accept;  /* server-side stunnel */
    int full;    /* client-side stunnel, sessionResume = no */
    int resume;  /* client-side stunnel, sessionResume = yes */
    char err[512];
} tunnels_t;

static tunnels_t tun = {.srv = TOOL_CHILD_NONE, .cli = TOOL_CHILD_NONE};

/* Ports below the kernel's ephemeral range, so that none of the thousands of
 * client connections of a run can hold one while its listener is down. */
static int reserve_ports(int *ports, int n)
{
    int lo = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f != NULL) {
        if (fscanf(f, "%d", &lo) != 1)
            lo = 32768;
        fclose(f);
    }
    int fds[8];
    int got = 0;
    unsigned seed = (unsigned)getpid() ^ (unsigned)tool_now_ns();
    for (int tries = 0; tries < 2000 && got < n; tries++) {
        seed = seed * 1103515245u + 12345u;
        int port =
            10000 + (int)((seed >> 8) % (unsigned)(lo > 12000 ? lo - 10000 : 2000));
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            fds[got] = fd;
            ports[got++] = port;
        } else if (fd >= 0) {
            close(fd);
        }
    }
    for (int i = 0; i < got; i++)
        close(fds[i]);
    return got == n ? 0 : -1;
}

/* 1 when something listens on 127.0.0.1:port (/proc/net/tcp, state 0A). */
static int port_listening(int port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    if (f == NULL)
        return 0;
    char line[512];
    int found = 0;
    if (fgets(line, sizeof(line), f) == NULL) { /* header */
        fclose(f);
        return 0;
    }
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        unsigned addr, lport, st;
        if (sscanf(line, " %*d: %8X:%4X %*8X:%*4X %2X", &addr, &lport, &st) == 3)
            found = (int)lport == port && st == 0x0A;
    }
    fclose(f);
    return found;
}

/* Bounded wait for stunnel's listeners: polls its pidfd (so a stunnel that
 * died is noticed at once) between looks at /proc/net/tcp. */
static int wait_listening(tool_child_t *c, const int *ports, int n, int timeout_ms)
{
    int64_t deadline = tool_now_ms() + timeout_ms;
    for (;;) {
        int all = 1;
        for (int i = 0; i < n && all; i++)
            all = port_listening(ports[i]);
        if (all)
            return 0;
        if (tool_now_ms() > deadline)
            return -1;
        struct pollfd p = {c->pidfd, POLLIN, 0};
        if (poll(&p, 1, 5) > 0)
            return -2;
    }
}

static void log_tail(const char *label, const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    if (f == NULL)
        return;
    char line[512], last[3][512] = {"", "", ""};
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        memmove(last[0], last[1], sizeof(last[0]) * 2);
        snprintf(last[2], sizeof(last[2]), "%s", line);
    }
    fclose(f);
    tool_fmt(out, len, "%s log: %s | %s | %s", label, last[0], last[1], last[2]);
}

static int write_conf(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* Mutual TLS 1.3 with the test certificates on both sides, as zmtls does:
 * the server requires and verifies a client certificate, the client
 * verifies the server's chain and its IP SAN. */
/* The cipher suites zmtls offers, in its order: both TLS cases then run
 * AES-128-GCM (stunnel's default order would pick AES-256-GCM). */
#define BENCH_SUITES                                                                     \
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

static int tunnels_start(void)
{
    char conf[4096], path[PATH_MAX + 32], log[PATH_MAX + 32];
    const char *c = cfg.certs;
    tun.err[0] = '\0';
    snprintf(log, sizeof(log), "%s/server.log", tun_dir);
    tool_fmt(conf, sizeof(conf),
             "foreground = quiet\npid =\ndebug = 4\noutput = %s\n"
             "[server]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
             "cert = %s/server.pem\nkey = %s/server.key\nCAfile = %s/ca.pem\n"
             "requireCert = yes\nverifyChain = yes\n"
             "sslVersionMin = TLSv1.3\nsslVersionMax = TLSv1.3\n"
             "ciphersuites = " BENCH_SUITES "\noptions = CIPHER_SERVER_PREFERENCE\n"
             /* No lingering for close_notify: connections end at once, as
              * libzmq's and zmtls's do. */
             "TIMEOUTclose = 0\n",
             log, tun.accept, tun.backend, c, c, c);
    snprintf(path, sizeof(path), "%s/server.conf", tun_dir);
    if (write_conf(path, conf) != 0) {
        tool_fmt(tun.err, sizeof(tun.err), "cannot write %s", path);
        return -1;
    }
    char *sargv[] = {(char *)cfg.stunnel, path, NULL};
    if (child_spawn(&tun.srv, "stunnel server", sargv, cfg.srv_cpu, 0) != 0) {
        snprintf(tun.err, sizeof(tun.err), "cannot start %s", cfg.stunnel);
        return -1;
    }

    char svc[2][1024];
    for (int i = 0; i < 2; i++)
        snprintf(svc[i], sizeof(svc[i]),
                 "[%s]\nclient = yes\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
                 "cert = %s/client.pem\nkey = %s/client.key\nCAfile = %s/ca.pem\n"
                 "verifyChain = yes\ncheckIP = 127.0.0.1\n"
                 "sslVersionMin = TLSv1.3\nsslVersionMax = TLSv1.3\n"
                 "ciphersuites = " BENCH_SUITES "\n"
                 "sessionResume = %s\nTIMEOUTclose = 0\n",
                 i == 0 ? "full" : "resume", i == 0 ? tun.full : tun.resume, tun.accept,
                 c, c, c, i == 0 ? "no" : "yes");
    snprintf(log, sizeof(log), "%s/client.log", tun_dir);
    tool_fmt(conf, sizeof(conf),
             "foreground = quiet\npid =\ndebug = 4\noutput = %s\n%s%s", log, svc[0],
             svc[1]);
    char cpath[PATH_MAX + 32];
    snprintf(cpath, sizeof(cpath), "%s/client.conf", tun_dir);
    if (write_conf(cpath, conf) != 0) {
        tool_fmt(tun.err, sizeof(tun.err), "cannot write %s", cpath);
        return -1;
    }
    char *cargv[] = {(char *)cfg.stunnel, cpath, NULL};
    if (child_spawn(&tun.cli, "stunnel client", cargv, cfg.cli_cpu, 0) != 0) {
        snprintf(tun.err, sizeof(tun.err), "cannot start %s", cfg.stunnel);
        return -1;
    }

    int sp[1] = {tun.accept}, cp[2] = {tun.full, tun.resume};
    int rs = wait_listening(&tun.srv, sp, 1, 5000);
    int rc = rs == 0 ? wait_listening(&tun.cli, cp, 2, 5000) : 0;
    if (rs != 0 || rc != 0) {
        char tail[1200];
        snprintf(path, sizeof(path), "%s/%s.log", tun_dir, rs != 0 ? "server" : "client");
        log_tail(rs != 0 ? "stunnel server" : "stunnel client", path, tail, sizeof(tail));
        tool_fmt(tun.err, sizeof(tun.err), "stunnel %s %s%s%s",
                 rs != 0 ? "server" : "client",
                 (rs != 0 ? rs : rc) == -2 ? "exited at start (its messages are above)"
                                           : "did not listen within 5 s",
                 tail[0] ? ". " : "", tail);
        tool_child_kill(&tun.srv);
        tool_child_kill(&tun.cli);
        return -1;
    }
    pin_check_pid(&pin_tsrv, tun.srv.pid);
    pin_check_pid(&pin_tcli, tun.cli.pid);
    tun.up = 1;
    return 0;
}

static void tunnels_stop(void)
{
    tool_child_kill(&tun.srv);
    tool_child_kill(&tun.cli);
    tun.up = 0;
}

/* ---- one measurement ------------------------------------------------------------ */

typedef struct meas {
    int kase, metric;
    long size, count, warm;
    double secs;
    int resume;
    kv_t srv, cli;
    long tun_rss0[2], tun_rss1[2]; /* stunnel server, client (memory) */
    char err[768];
} meas_t;

static void fmt_arg(char *buf, size_t len, const char *key, long v)
{
    tool_fmt(buf, len, "%s=%ld", key, v);
}

/* Reads lines from c until one starts with `want` ("ready", "result",
 * "up"), an "error" line, or the end. Returns 0 with the rest of the line
 * in `rest`, or -1 with m->err set. */
static int expect_line(meas_t *m, tool_child_t *c, const char *want, char *rest,
                       size_t len, int timeout_ms)
{
    int64_t deadline = tool_now_ms() + timeout_ms;
    for (;;) {
        char line[2048];
        int64_t left = deadline - tool_now_ms();
        int rc = left > 0 ? tool_child_line(c, line, sizeof(line), (int)left) : -1;
        if (rc == -1) {
            snprintf(m->err, sizeof(m->err), "%s: no \"%s\" line within %d s", c->name,
                     want, timeout_ms / 1000);
            return -1;
        }
        if (rc == -2) {
            int st = tool_child_stop(c, 1000);
            snprintf(m->err, sizeof(m->err), "%s exited (status %d) before \"%s\"",
                     c->name, st, want);
            return -1;
        }
        if (strncmp(line, "error ", 6) == 0) {
            tool_fmt(m->err, sizeof(m->err), "%s: %s", c->name, line + 6);
            return -1;
        }
        size_t wl = strlen(want);
        if (strncmp(line, want, wl) == 0 && (line[wl] == ' ' || line[wl] == '\0')) {
            snprintf(rest, len, "%s", line[wl] ? line + wl + 1 : "");
            return 0;
        }
        fprintf(stderr, "  %s: %s\n", c->name, line);
    }
}

static int run_meas(meas_t *m)
{
    tool_child_t srv = TOOL_CHILD_NONE, cli[MEM_WORKERS_MAX];
    int ncli = 0, rc = -1;
    m->err[0] = '\0';
    const char *cname = bench_case_name[m->kase];
    char a_case[32], a_metric[32], a_bind[64], a_size[32], a_count[32], a_certs[PATH_MAX],
        a_cpu[16], a_prio[16];
    snprintf(a_case, sizeof(a_case), "case=%s", cname);
    snprintf(a_metric, sizeof(a_metric), "metric=%s", bench_metric_name[m->metric]);
    if (m->kase == CASE_STUNNEL)
        snprintf(a_bind, sizeof(a_bind), "bind=tcp://127.0.0.1:%d", tun.backend);
    else
        snprintf(a_bind, sizeof(a_bind), "bind=%s://127.0.0.1:*",
                 m->kase == CASE_TLS ? "tls" : "tcp");
    fmt_arg(a_size, sizeof(a_size), "size", m->size);
    fmt_arg(a_count, sizeof(a_count), "count", m->count);
    snprintf(a_certs, sizeof(a_certs), "certs=%s", cfg.certs);
    fmt_arg(a_cpu, sizeof(a_cpu), "cpu", cfg.srv_cpu);
    fmt_arg(a_prio, sizeof(a_prio), "prio", cfg.rx_prio);

    if (m->kase == CASE_STUNNEL && !tun.up) {
        tool_fmt(m->err, sizeof(m->err), "stunnel is not running: %s", tun.err);
        return -1;
    }
    if (m->metric == M_MEM && m->kase == CASE_STUNNEL) {
        m->tun_rss0[0] = tool_rss_kb(tun.srv.pid);
        m->tun_rss0[1] = tool_rss_kb(tun.cli.pid);
    }

    char name[48];
    snprintf(name, sizeof(name), "server %s", cname);
    char *sargv[] = {self_exe, "server", a_case, a_metric, a_bind, a_size,
                     a_count,  a_certs,  a_cpu,  a_prio,   NULL};
    if (child_spawn(&srv, name, sargv, -1, 1) != 0) {
        snprintf(m->err, sizeof(m->err), "cannot start the server process");
        return -1;
    }
    char ready[512];
    if (expect_line(m, &srv, "ready", ready, sizeof(ready), 15000) != 0)
        goto out;
    char ep[256], key[64] = "";
    if (sscanf(ready, "%255s key=%63s", ep, key) < 1) {
        snprintf(m->err, sizeof(m->err), "%s: bad ready line \"%s\"", srv.name, ready);
        goto out;
    }
    char a_ep[300], a_key[80], a_warm[32], a_secs[32], a_resume[16], a_ccpu[16];
    if (m->kase == CASE_STUNNEL)
        snprintf(a_ep, sizeof(a_ep), "ep=tcp://127.0.0.1:%d",
                 m->resume ? tun.resume : tun.full);
    else
        snprintf(a_ep, sizeof(a_ep), "ep=%s", ep);
    snprintf(a_key, sizeof(a_key), "key=%s", key);
    fmt_arg(a_warm, sizeof(a_warm), "warm", m->warm);
    snprintf(a_secs, sizeof(a_secs), "secs=%.3f", m->secs);
    fmt_arg(a_resume, sizeof(a_resume), "resume", m->resume);
    fmt_arg(a_ccpu, sizeof(a_ccpu), "cpu", cfg.cli_cpu);

    long left = m->count;
    int workers =
        m->metric == M_MEM ? (int)((m->count + MEM_PER_WORKER - 1) / MEM_PER_WORKER) : 1;
    if (workers > MEM_WORKERS_MAX)
        workers = MEM_WORKERS_MAX;
    for (int w = 0; w < workers; w++) {
        char a_n[32];
        long n =
            m->metric == M_MEM ? (left + (workers - w) - 1) / (workers - w) : m->count;
        left -= n;
        fmt_arg(a_n, sizeof(a_n), "count", n);
        snprintf(name, sizeof(name), "client %s%s", cname, workers > 1 ? " worker" : "");
        char *cargv[] = {self_exe, "client", a_case, a_metric, a_ep,    a_key,  a_size,
                         a_n,      a_warm,   a_secs, a_resume, a_certs, a_ccpu, NULL};
        if (child_spawn(&cli[ncli], name, cargv, -1, 1) != 0) {
            snprintf(m->err, sizeof(m->err), "cannot start a client process");
            goto out;
        }
        ncli++;
    }

    char line[2048];
    if (m->metric == M_MEM) {
        for (int w = 0; w < ncli; w++) {
            if (expect_line(m, &cli[w], "up", line, sizeof(line), 120000) != 0)
                goto out;
            kv_t kv;
            kv_parse(line, &kv);
            pin_check_kv(&pin_cli, &kv);
        }
        if (expect_line(m, &srv, "result", line, sizeof(line), 300000) != 0)
            goto out;
        kv_parse(line, &m->srv);
        if (m->kase == CASE_STUNNEL) {
            m->tun_rss1[0] = tool_rss_kb(tun.srv.pid);
            m->tun_rss1[1] = tool_rss_kb(tun.cli.pid);
            /* The moment stunnel runs the most threads. */
            pin_check_pid(&pin_tsrv, tun.srv.pid);
            pin_check_pid(&pin_tcli, tun.cli.pid);
        }
    } else {
        int budget = (int)(m->secs * 1000) + 60000;
        if (expect_line(m, &cli[0], "result", line, sizeof(line), budget) != 0)
            goto out;
        kv_parse(line, &m->cli);
        if (m->metric == M_LAT || m->metric == M_THR) {
            if (expect_line(m, &srv, "result", line, sizeof(line), 60000) != 0)
                goto out;
            kv_parse(line, &m->srv);
        }
    }
    rc = 0;

out:
    /* Clients first: they hold the connections the server measured. */
    for (int w = 0; w < ncli; w++) {
        int st = tool_child_stop(&cli[w], 15000);
        if (rc == 0 && st != 0)
            report_note(&rep, "%s (%s, %s): %s after the measurement", cli[w].name, cname,
                        bench_metric_name[m->metric],
                        st < 0 ? "did not exit within 15 s of its release; killed"
                               : "exited non-zero");
    }
    if (rc == 0 && (m->metric == M_NEW || m->metric == M_RECON)) {
        tool_child_close_stdin(&srv);
        if (expect_line(m, &srv, "result", line, sizeof(line), 10000) == 0)
            kv_parse(line, &m->srv);
        else
            report_note(&rep, "%s (%s): %s", srv.name, bench_metric_name[m->metric],
                        m->err);
        m->err[0] = '\0';
    }
    if (srv.pid > 0) {
        int st = tool_child_stop(&srv, 15000);
        if (rc == 0 && st != 0)
            report_note(&rep, "%s (%s): %s after the measurement", srv.name,
                        bench_metric_name[m->metric],
                        st < 0 ? "did not exit within 15 s of its release; killed"
                               : "exited non-zero");
    }
    if (rc == 0) {
        pin_check_kv(&pin_srv, &m->srv);
        pin_check_kv(&pin_cli, &m->cli);
    }
    return rc;
}

/* ---- the schedule --------------------------------------------------------------- */

static const long lat_sizes[2] = {64, 1024};
static const long thr_sizes[3] = {64, 1024, 65536};
/* Rough tcp:// rates (msg/s) on a small VM: the first run of each case and
 * size is sized from these, later rounds from that case's own rate. */
static const long thr_guess[3] = {2000000, 500000, 10000};
static long thr_next[CASE_N][3];
/* (metric group, case) pairs that failed twice are not tried again. */
static int fails[9][CASE_N];

static int case_on(int k)
{
    return (cfg.cases >> k) & 1u;
}

static int metric_on(int m)
{
    return (cfg.metrics >> m) & 1u;
}

static int give_up(int group, int k)
{
    return fails[group][k] >= 2;
}

static void record_failure(int group, int k, int row_first, int row_last, const meas_t *m)
{
    any_failure = 1;
    fails[group][k]++;
    progress("  FAILED %s %s: %s", bench_case_name[k], bench_metric_name[m->metric],
             m->err);
    report_note(&rep, "%s %s failed: %s", bench_case_name[k],
                bench_metric_name[m->metric], m->err);
    for (int row = row_first; row <= row_last; row++)
        if (rep.cell[row][k].n == 0)
            report_cell_note(&rep, row, k, "failed");
}

static void do_lat(int k, int si)
{
    int row = si == 0 ? R_LAT64_P50 : R_LAT1K_P50;
    if (give_up(si, k))
        return;
    meas_t m = {.kase = k,
                .metric = M_LAT,
                .size = lat_sizes[si],
                .count = cfg.lat_count,
                .warm = cfg.lat_warm,
                .secs = cfg.lat_secs};
    if (run_meas(&m) != 0) {
        record_failure(si, k, row, row + 1, &m);
        return;
    }
    report_add(&rep, row, k, cur_round, kv_num(&m.cli, "p50"));
    report_add(&rep, row + 1, k, cur_round, kv_num(&m.cli, "p99"));
    progress("  lat %5ld B %-8s p50 %8.1f us  p99 %8.1f us  (n=%s)", m.size,
             bench_case_name[k], kv_num(&m.cli, "p50"), kv_num(&m.cli, "p99"),
             kv_str(&m.cli, "n"));
}

static void do_thr(int k, int si)
{
    static const int rows[3] = {R_THR64_MSG, R_THR1K_MSG, R_THR64K_MSG};
    if (give_up(2 + si, k))
        return;
    meas_t m = {
        .kase = k, .metric = M_THR, .size = thr_sizes[si], .count = thr_next[k][si]};
    if (run_meas(&m) != 0) {
        record_failure(2 + si, k, rows[si], rows[si] + 1, &m);
        return;
    }
    double rate = kv_num(&m.srv, "rate");
    report_add(&rep, rows[si], k, cur_round, rate);
    report_add(&rep, rows[si] + 1, k, cur_round, kv_num(&m.srv, "mbps"));
    /* The next run of this case and size lasts about thr_secs. */
    long next = (long)(rate * cfg.thr_secs);
    long guess = (long)((double)thr_guess[si] * cfg.thr_secs);
    long lo = guess / 50, hi = guess * 4;
    thr_next[k][si] = next < lo ? lo : next > hi ? hi : next;
    progress("  thr %5ld B %-8s %10.0f msg/s %9.1f MB/s  (%ld msgs in %.2f s)", m.size,
             bench_case_name[k], rate, kv_num(&m.srv, "mbps"), m.count,
             kv_num(&m.srv, "secs"));
}

/* Reconnects timed from CONNECTED for want of a CONNECT_DELAYED, per case. */
static long no_delayed[CASE_N];

static void do_hs(int k, int metric, int resume)
{
    int row = metric == M_NEW ? R_NEW : resume ? R_RECON_RESUMED : R_RECON;
    int group = metric == M_NEW ? 5 : resume ? 7 : 6;
    if (give_up(group, k))
        return;
    meas_t m = {.kase = k,
                .metric = metric,
                .count = cfg.hs_count,
                .warm = cfg.hs_warm,
                .secs = cfg.hs_secs,
                .resume = resume};
    if (run_meas(&m) != 0) {
        record_failure(group, k, row, row, &m);
        return;
    }
    report_add(&rep, row, k, cur_round, kv_num(&m.cli, "rate"));
    progress("  %-5s%s %-8s %8.0f conn/s  p50 %7.1f us  p99 %7.1f us  (n=%s)",
             bench_metric_name[metric], resume ? " resumed" : "", bench_case_name[k],
             kv_num(&m.cli, "rate"), kv_num(&m.cli, "p50"), kv_num(&m.cli, "p99"),
             kv_str(&m.cli, "n"));
    double nd = kv_num(&m.cli, "no_delayed");
    if (metric == M_RECON && nd > 0)
        no_delayed[k] += (long)nd;
}

static void do_mem(int k)
{
    meas_t m = {.kase = k, .metric = M_MEM, .count = cfg.mem_conns};
    if (run_meas(&m) != 0) {
        record_failure(8, k, R_MEM, R_MEM, &m);
        return;
    }
    double conns = kv_num(&m.srv, "conns");
    double delta = kv_num(&m.srv, "rss1") - kv_num(&m.srv, "rss0");
    if (!(conns > 0)) {
        snprintf(m.err, sizeof(m.err), "no connection was established");
        record_failure(8, k, R_MEM, R_MEM, &m);
        return;
    }
    double per = delta / conns;
    if (k == CASE_STUNNEL) {
        double ts = (double)(m.tun_rss1[0] - m.tun_rss0[0]);
        double tc = (double)(m.tun_rss1[1] - m.tun_rss0[1]);
        per = (delta + ts) / conns;
        report_note(&rep,
                    "stunnel memory at %.0f connections: libzmq backend server +%.1f "
                    "KiB/conn, server-side stunnel +%.1f KiB/conn (the table sums both: "
                    "everything on the server side); client-side stunnel +%.1f KiB/conn",
                    conns, delta / conns, ts / conns, tc / conns);
    }
    report_add(&rep, R_MEM, k, cur_round, per);
    if (conns < (double)m.count) {
        report_cell_note(&rep, R_MEM, k, "at %.0f conns", conns);
        report_note(&rep,
                    "%s memory: only %.0f of %ld connections were established (server: "
                    "%s handshake failures, %s accept failures, %s fds open); measured "
                    "at %.0f",
                    bench_case_name[k], conns, m.count, kv_str(&m.srv, "hs_failed"),
                    kv_str(&m.srv, "accept_failed"), kv_str(&m.srv, "fds1"), conns);
    }
    progress(
        "  mem %-8s %7.1f KiB/conn at %.0f connections (server RSS %s -> %s KiB, fds "
        "%s -> %s)",
        bench_case_name[k], per, conns, kv_str(&m.srv, "rss0"), kv_str(&m.srv, "rss1"),
        kv_str(&m.srv, "fds0"), kv_str(&m.srv, "fds1"));
}

/* ---- facts about the machine and the run ---------------------------------------- */

static void stunnel_version(char *out, size_t len)
{
    snprintf(out, len, "unknown");
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "%s -version 2>&1", cfg.stunnel);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof(line), p) != NULL) {
        if (strncmp(line, "stunnel ", 8) == 0) {
            char *on = strstr(line, " on ");
            if (on != NULL)
                *on = '\0';
            tool_fmt(out, len, "%s", line + 8);
            out[strcspn(out, "\n")] = '\0';
        }
    }
    pclose(p);
}

static void add_facts(void)
{
    char machine[512], stv[64], date[64];
    tool_machine(machine, sizeof(machine));
    stunnel_version(stv, sizeof(stv));
    tool_date_utc(date, sizeof(date));
    int maj, min, pat, zmaj, zmin, zpat;
    zmq_version(&maj, &min, &pat);
    zmtls_version(&zmaj, &zmin, &zpat);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    report_fact(&rep, "date: %s", date);
    report_fact(&rep, "machine: %s", machine);
    /* Other work on the machine shows up as noise, mostly in p99s. */
    report_fact(&rep, "load average when the run started: %.2f %.2f %.2f", load[0],
                load[1], load[2]);
    if (cfg.srv_cpu >= 0)
        report_fact(&rep,
                    "pinning: server process and server-side stunnel on CPU %d, client "
                    "process(es) and client-side stunnel on CPU %d (sched_setaffinity "
                    "before the context exists, so libzmq's and zmtls's I/O threads "
                    "inherit it)",
                    cfg.srv_cpu, cfg.cli_cpu);
    else
        report_fact(&rep, "pinning: none (fewer than 2 CPUs)");
    report_fact(&rep, "versions: zmtls %d.%d.%d, libzmq %d.%d.%d, %s, stunnel %s", zmaj,
                zmin, zpat, maj, min, pat, OpenSSL_version(OPENSSL_VERSION), stv);
    report_fact(
        &rep, "security: tls and stunnel both TLS 1.3 only with TLS_AES_128_GCM_SHA256, "
              "mutual authentication with "
              "the EC P-256 certificates of scripts/make-certs.sh, server verifies the "
              "client chain, client verifies the server chain and IP SAN; curve is "
              "server-authenticated CURVE (no ZAP)");
    if (cfg.rx_prio)
        report_fact(&rep, "receiver priority (--receiver-priority): every server process "
                          "sets ZMQ_THREAD_PRIORITY on its context, so libzmq's and "
                          "zmtls's I/O threads run at nice -20 there; clients and the "
                          "stunnel processes are unchanged");
    report_fact(&rep,
                "method: %d round(s), cases interleaved per metric in a rotating order; "
                "value = median across rounds, ratio = median across rounds of value / "
                "tcp value in the same round (memory: one round)",
                cfg.rounds);
    report_fact(&rep,
                "latency: REQ/REP, %ld warm-up round trips, then up to %ld timed "
                "(CLOCK_MONOTONIC per round trip on the client, capped at %.1f s)",
                cfg.lat_warm, cfg.lat_count, cfg.lat_secs);
    report_fact(&rep,
                "throughput: PUSH -> PULL, SNDHWM = RCVHWM = 1000, the server times "
                "first to last message; message count sized for ~%.1f s per run; "
                "MB = 10^6 bytes of payload",
                cfg.thr_secs);
    report_fact(&rep,
                "connections: DEALER -> ROUTER, one at a time, %ld timed after %ld "
                "(capped at %.1f s). new: zmq_connect() -> HANDSHAKE_SUCCEEDED on the "
                "client's monitor, then zmq_disconnect(). reconnect: the connection is "
                "dropped with shutdown(2) on its fd and timed from CONNECT_DELAYED to "
                "HANDSHAKE_SUCCEEDED (ZMQ_RECONNECT_IVL 1 ms, not included). stunnel: "
                "the libzmq client's ZMTP handshake completes only once both TLS legs "
                "and the backend connection are up; sessionResume = no except in the "
                "resumed row",
                cfg.hs_count, cfg.hs_warm, cfg.hs_secs);
    report_fact(&rep,
                "memory: server VmRSS before and after %ld idle DEALER connections "
                "(HANDSHAKE_SUCCEEDED counted on the server's monitor, then 1 s to "
                "settle), divided by the count; stunnel: backend server + server-side "
                "stunnel",
                cfg.mem_conns);
}

static void add_pin_facts(void)
{
    pin_seen_t *all[4] = {&pin_srv, &pin_cli, &pin_tsrv, &pin_tcli};
    char buf[1024] = "";
    size_t off = 0;
    for (int i = 0; i < 4; i++) {
        pin_seen_t *p = all[i];
        if (p->checks == 0)
            continue;
        char want[16];
        snprintf(want, sizeof(want), "%d", p->want);
        off += (size_t)snprintf(buf + off, sizeof(buf) - off,
                                "%s%s: %d checked, up to %d threads, %s", off ? "; " : "",
                                p->what, p->checks, p->max_tasks,
                                p->bad == 0 ? (p->want >= 0 ? "all on CPU " : "unpinned")
                                            : "NOT all on CPU ");
        if (p->want >= 0)
            off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s", want);
        if (p->bad > 0)
            off += (size_t)snprintf(buf + off, sizeof(buf) - off, " (%d saw %s)", p->bad,
                                    p->bad_cpus);
        if (off >= sizeof(buf))
            break;
    }
    report_fact(&rep,
                "pinning verified (Cpus_allowed_list of every thread in "
                "/proc/<pid>/task/*/status): %s",
                buf);
}

/* ---- main ------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(
        stderr,
        "usage: zmtls_bench run --certs DIR --out DIR [--plot FILE] [--quick]\n"
        "       [--rounds N] [--cases tcp,curve,stunnel,tls]\n"
        "       [--metrics lat,thr,new,recon,mem] [--mem-conns N] [--stunnel PATH]\n"
        "       [--receiver-priority]   ZMQ_THREAD_PRIORITY on every server context\n"
        "                               (root: libzmq aborts when it may not renice)\n");
}

static unsigned parse_list(const char *s, int (*parse)(const char *))
{
    unsigned mask = 0;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        int v = parse(t);
        if (v < 0)
            return 0;
        mask |= 1u << v;
    }
    return mask;
}

int run_main(int argc, char **argv)
{
    cfg.rounds = -1;
    cfg.cases = (1u << CASE_N) - 1;
    cfg.metrics = (1u << (M_MEM + 1)) - 1;
    cfg.stunnel = "/usr/bin/stunnel4";
    cfg.mem_conns = -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            cfg.quick = 1;
        } else if (strcmp(a, "--receiver-priority") == 0) {
            cfg.rx_prio = 1;
        } else if (v != NULL && strcmp(a, "--certs") == 0) {
            cfg.certs = v, i++;
        } else if (v != NULL && strcmp(a, "--out") == 0) {
            cfg.out = v, i++;
        } else if (v != NULL && strcmp(a, "--plot") == 0) {
            cfg.plot = v, i++;
        } else if (v != NULL && strcmp(a, "--stunnel") == 0) {
            cfg.stunnel = v, i++;
        } else if (v != NULL && strcmp(a, "--rounds") == 0) {
            cfg.rounds = atoi(v), i++;
        } else if (v != NULL && strcmp(a, "--mem-conns") == 0) {
            cfg.mem_conns = atol(v), i++;
        } else if (v != NULL && strcmp(a, "--cases") == 0) {
            cfg.cases = parse_list(v, bench_case_parse), i++;
        } else if (v != NULL && strcmp(a, "--metrics") == 0) {
            cfg.metrics = parse_list(v, bench_metric_parse), i++;
        } else {
            usage();
            return 2;
        }
    }
    if (cfg.certs == NULL || cfg.out == NULL || cfg.cases == 0 || cfg.metrics == 0) {
        usage();
        return 2;
    }
    if (cfg.rx_prio && geteuid() != 0) {
        /* libzmq's I/O threads assert on a refused nice(-20). */
        fprintf(stderr, "zmtls_bench run: --receiver-priority needs root\n");
        return 2;
    }
    if (cfg.rounds < 0)
        cfg.rounds = cfg.quick ? 1 : 5;
    if (cfg.rounds < 1 || cfg.rounds > MAX_ROUNDS) {
        fprintf(stderr, "zmtls_bench run: --rounds must be 1..%d\n", MAX_ROUNDS);
        return 2;
    }
    if (cfg.mem_conns < 0)
        cfg.mem_conns = cfg.quick ? 1000 : 5000;
    if (cfg.mem_conns > (long)MEM_PER_WORKER * MEM_WORKERS_MAX)
        cfg.mem_conns = (long)MEM_PER_WORKER * MEM_WORKERS_MAX;
    cfg.lat_count = cfg.quick ? 2000 : 20000;
    cfg.lat_warm = cfg.quick ? 200 : 1000;
    cfg.lat_secs = cfg.quick ? 0.5 : 2.5;
    cfg.thr_secs = cfg.quick ? 0.3 : 1.0;
    cfg.hs_count = cfg.quick ? 100 : 500;
    cfg.hs_warm = cfg.quick ? 10 : 20;
    cfg.hs_secs = cfg.quick ? 1.0 : 3.0;
    for (int k = 0; k < CASE_N; k++)
        for (int s = 0; s < 3; s++)
            thr_next[k][s] = (long)((double)thr_guess[s] * cfg.thr_secs);
    rep.rounds = cfg.rounds;

    t_start_ms = tool_now_ms();
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
    if (n <= 0) {
        fprintf(stderr, "zmtls_bench run: cannot find my own executable\n");
        return 2;
    }
    self_exe[n] = '\0';
    char probe[PATH_MAX + 16];
    snprintf(probe, sizeof(probe), "%s/client.key", cfg.certs);
    if (access(probe, R_OK) != 0) {
        fprintf(stderr, "zmtls_bench run: %s: %s (run scripts/make-certs.sh DIR)\n",
                probe, strerror(errno));
        return 2;
    }
    if (mkdir(cfg.out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "zmtls_bench run: %s: %s\n", cfg.out, strerror(errno));
        return 2;
    }

    /* Children inherit the raised limit: 5000 connections need it. */
    long nofile = tool_raise_nofile();
    if (sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
        cfg.srv_cpu = 0;
        cfg.cli_cpu = 1;
    } else {
        cfg.srv_cpu = cfg.cli_cpu = -1;
    }
    pin_srv.want = pin_tsrv.want = cfg.srv_cpu;
    pin_cli.want = pin_tcli.want = cfg.cli_cpu;

    atexit(at_exit);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Every wait below is bounded; this bounds their sum too. */
    alarm(cfg.quick ? 600 : 1800);

    add_facts();
    if (nofile < cfg.mem_conns * 3 + 100)
        report_note(&rep,
                    "RLIMIT_NOFILE hard limit is %ld: the memory figure may be "
                    "measured at fewer connections",
                    nofile);

    /* curve needs a libzmq built with CURVE. */
    if (case_on(CASE_CURVE) && !zmq_has("curve")) {
        any_failure = 1;
        for (int row = 0; row < R_N; row++)
            report_cell_note(&rep, row, CASE_CURVE, "n/a (libzmq without CURVE)");
        report_note(&rep, "curve: this libzmq has no CURVE support");
        cfg.cases &= ~(1u << CASE_CURVE);
    }
    if (case_on(CASE_STUNNEL)) {
        int ports[4];
        const char *tmp = getenv("TMPDIR");
        snprintf(tun_dir, sizeof(tun_dir), "%s/zmtls-bench-XXXXXX",
                 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
        if (access(cfg.stunnel, X_OK) != 0) {
            snprintf(tun.err, sizeof(tun.err), "%s: %s (apt-get install stunnel4)",
                     cfg.stunnel, strerror(errno));
            tun_dir[0] = '\0';
        } else if (mkdtemp(tun_dir) == NULL) {
            snprintf(tun.err, sizeof(tun.err), "mkdtemp: %s", strerror(errno));
            tun_dir[0] = '\0';
        } else {
            tun_dir_names();
            if (reserve_ports(ports, 4) != 0) {
                snprintf(tun.err, sizeof(tun.err), "no free loopback ports");
            } else {
                tun.backend = ports[0];
                tun.accept = ports[1];
                tun.full = ports[2];
                tun.resume = ports[3];
                tunnels_start();
            }
        }
        if (!tun.up) {
            any_failure = 1;
            progress("stunnel case cannot run: %s", tun.err);
            report_note(&rep, "stunnel: cannot run: %s", tun.err);
            for (int row = 0; row < R_N; row++)
                report_cell_note(&rep, row, CASE_STUNNEL, "failed (stunnel)");
            cfg.cases &= ~(1u << CASE_STUNNEL);
        } else {
            progress("stunnel up: client side 127.0.0.1:%d (full) / :%d (resume) -> "
                     "server side 127.0.0.1:%d -> backend 127.0.0.1:%d",
                     tun.full, tun.resume, tun.accept, tun.backend);
        }
    }

    for (int r = 0; r < cfg.rounds; r++) {
        cur_round = r;
        int order[CASE_N];
        for (int i = 0; i < CASE_N; i++)
            order[i] = (i + r) % CASE_N;
        progress("round %d/%d (order: %s, %s, %s, %s)", r + 1, cfg.rounds,
                 bench_case_name[order[0]], bench_case_name[order[1]],
                 bench_case_name[order[2]], bench_case_name[order[3]]);
        for (int si = 0; si < 2 && metric_on(M_LAT); si++)
            for (int i = 0; i < CASE_N; i++)
                if (case_on(order[i]))
                    do_lat(order[i], si);
        for (int si = 0; si < 3 && metric_on(M_THR); si++)
            for (int i = 0; i < CASE_N; i++)
                if (case_on(order[i]))
                    do_thr(order[i], si);
        for (int i = 0; i < CASE_N && metric_on(M_NEW); i++)
            if (case_on(order[i]))
                do_hs(order[i], M_NEW, 0);
        for (int i = 0; i < CASE_N && metric_on(M_RECON); i++)
            if (case_on(order[i]))
                do_hs(order[i], M_RECON, 0);
        /* ---- TLS session resumption --------------------------------------
         * stunnel resumes by default (its "resume" service); zmtls only
         * when the header has the switch (see bench.h). */
        for (int i = 0; i < CASE_N && metric_on(M_RECON); i++) {
            int k = order[i];
            if (!case_on(k) || (k != CASE_STUNNEL && k != CASE_TLS))
                continue;
#ifndef BENCH_RESUME_OPT
            if (k == CASE_TLS) {
                report_cell_note(&rep, R_RECON_RESUMED, k,
                                 "n/a (no resumption support yet)");
                continue;
            }
#endif
            do_hs(k, M_RECON, 1);
        }
    }
    for (int k = 0; k < CASE_N; k++) {
        if (no_delayed[k] > 0)
            report_note(&rep,
                        "%s reconnect: %ld attempts reported no CONNECT_DELAYED (the TCP "
                        "connect completed at once); those were timed from CONNECTED",
                        bench_case_name[k], no_delayed[k]);
    }
    if (metric_on(M_RECON)) {
        /* tcp:// has no TLS session: its reconnect is the base of both rows. */
        const cell_t *t = &rep.cell[R_RECON][CASE_TCP];
        for (int i = 0; i < MAX_ROUNDS; i++)
            if (t->has[i])
                report_add(&rep, R_RECON_RESUMED, CASE_TCP, i, t->v[i]);
        report_cell_note(&rep, R_RECON_RESUMED, CASE_TCP, "(no TLS; as above)");
        report_cell_note(&rep, R_RECON_RESUMED, CASE_CURVE, "n/a (no sessions)");
    }

    if (metric_on(M_MEM)) {
        /* Fresh stunnels: thread stacks cached from earlier connections would
         * hide part of the per-connection cost. */
        if (tun.up) {
            tunnels_stop();
            if (tunnels_start() != 0) {
                report_note(&rep, "stunnel: restart for the memory phase failed: %s",
                            tun.err);
                report_cell_note(&rep, R_MEM, CASE_STUNNEL, "failed (stunnel)");
                any_failure = 1;
            }
        }
        progress("memory: %ld idle connections per case", cfg.mem_conns);
        cur_round = 0; /* measured once: RSS barely varies between runs */
        for (int k = 0; k < CASE_N; k++)
            if (case_on(k) && (k != CASE_STUNNEL || tun.up))
                do_mem(k);
    }
    tunnels_stop();
    add_pin_facts();
    progress("done in %.0f s", (double)(tool_now_ms() - t_start_ms) / 1000.0);

    if (report_write(&rep, cfg.out, cfg.plot) != 0)
        return 2;
    report_print_table(&rep, stdout);
    if (any_failure)
        fprintf(stderr,
                "zmtls_bench run: some measurements failed; see the notes in "
                "%s/latest.txt\n",
                cfg.out);
    return any_failure ? 1 : 0;
}

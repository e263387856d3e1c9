/* Small helpers shared by the roles and the orchestrator. */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

const char *const bench_case_name[CASE_N] = {"tcp", "curve", "stunnel", "tls"};
const char *const bench_metric_name[] = {"lat", "thr", "new", "recon", "mem"};

int bench_case_parse(const char *s)
{
    for (int i = 0; s != NULL && i < CASE_N; i++)
        if (strcmp(s, bench_case_name[i]) == 0)
            return i;
    return -1;
}

int bench_metric_parse(const char *s)
{
    for (int i = 0; s != NULL && i <= M_MEM; i++)
        if (strcmp(s, bench_metric_name[i]) == 0)
            return i;
    return -1;
}

int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t now_ms(void)
{
    return now_ns() / 1000000;
}

void bench_log(const char *who, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "zmtls_bench %s: %s\n", who, msg);
}

void bench_fmt(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

int bench_pin(int cpu)
{
    if (cpu < 0)
        return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}

long bench_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return (long)rl.rlim_cur;
}

/* The value of a "Key:\tvalue" line of a /proc status file. */
static int status_field(const char *path, const char *key, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char line[512];
    size_t klen = strlen(key);
    int rc = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            const char *v = line + klen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            snprintf(out, len, "%s", v);
            out[strcspn(out, "\n")] = '\0';
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

long bench_rss_kb(pid_t pid)
{
    char path[64], v[64];
    if (pid == 0)
        snprintf(path, sizeof(path), "/proc/self/status");
    else
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (status_field(path, "VmRSS", v, sizeof(v)) != 0)
        return -1;
    return strtol(v, NULL, 10);
}

int bench_affinity(pid_t pid, char *cpus, size_t len)
{
    char dir[64];
    if (pid == 0)
        snprintf(dir, sizeof(dir), "/proc/self/task");
    else
        snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int n = 0, mixed = 0;
    char first[128] = "";
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[320], v[128];
        bench_fmt(path, sizeof(path), "%s/%s/status", dir, e->d_name);
        if (status_field(path, "Cpus_allowed_list", v, sizeof(v)) != 0)
            continue; /* the thread ended meanwhile */
        if (n++ == 0)
            bench_fmt(first, sizeof(first), "%s", v);
        else if (strcmp(first, v) != 0 && !mixed) {
            mixed = 1;
            bench_fmt(first + strlen(first), sizeof(first) - strlen(first), "|%s", v);
        }
    }
    closedir(d);
    snprintf(cpus, len, "%s%s", mixed ? "mixed:" : "", first);
    return n;
}

int bench_fd_count(pid_t pid)
{
    char dir[64];
    if (pid == 0)
        snprintf(dir, sizeof(dir), "/proc/self/fd");
    else
        snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - (pid == 0); /* opendir's own fd */
}

int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_quantile(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return 0;
    /* Nearest rank: the smallest value with at least q of the samples at
     * or below it, so p99 of 20000 samples is the 19800th. */
    size_t rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

const char *bench_arg(int argc, char **argv, const char *key, const char *def)
{
    size_t klen = strlen(key);
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], key, klen) == 0 && argv[i][klen] == '=')
            return argv[i] + klen + 1;
    return def;
}

long bench_arg_long(int argc, char **argv, const char *key, long def)
{
    const char *v = bench_arg(argc, argv, key, NULL);
    return v != NULL ? strtol(v, NULL, 10) : def;
}

double bench_arg_double(int argc, char **argv, const char *key, double def)
{
    const char *v = bench_arg(argc, argv, key, NULL);
    return v != NULL ? strtod(v, NULL) : def;
}

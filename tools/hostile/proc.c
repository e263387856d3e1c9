/*
 * The server process seen from outside: /proc samples, a sampling thread
 * for the peaks, and the child processes (server, good client) with their
 * line protocol on stdin/stdout.
 */
#include "hostile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/prctl.h>
#include <sys/wait.h>

extern char **environ;

/* ---- samples ----------------------------------------------------------------- */

static int fd_count(pid_t pid)
{
    char dir[64];
    hs_fmt(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* utime + stime of /proc/PID/stat, in seconds; -1 when unreadable. The
 * command name may hold spaces and parentheses: fields start after the
 * last ')'. */
static double cpu_seconds(pid_t pid)
{
    char path[64], line[1024];
    hs_fmt(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = '\0';
    char *p = strrchr(line, ')');
    if (p == NULL)
        return -1;
    /* After ')': state(3) ppid pgrp session tty_nr tpgid flags minflt
     * cminflt majflt cmajflt utime(14) stime(15). */
    unsigned long long ut = 0, st = 0;
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
               &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

hs_sample_t hs_sample(pid_t pid)
{
    hs_sample_t s = {-1, -1, -1, -1, -1, -1, 0};
    char path[64], line[256];
    hs_fmt(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return s;
    int found = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        long v;
        if (sscanf(line, "VmRSS: %ld", &v) == 1)
            s.rss_kb = v, found++;
        else if (sscanf(line, "VmHWM: %ld", &v) == 1)
            s.hwm_kb = v, found++;
        else if (sscanf(line, "VmSize: %ld", &v) == 1)
            s.size_kb = v, found++;
        else if (sscanf(line, "VmPeak: %ld", &v) == 1)
            s.peak_kb = v, found++;
    }
    fclose(f);
    /* A zombie has a status file but no memory lines. */
    if (found < 4)
        return s;
    s.fds = fd_count(pid);
    s.cpu_s = cpu_seconds(pid);
    s.ok = s.fds >= 0 && s.cpu_s >= 0;
    return s;
}

/* ---- the sampling thread ------------------------------------------------------- */

struct hs_sampler {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pid_t pid;
    int period_ms;
    int stop;
    hs_sample_t latest, peak;
};

static void peak_fold(hs_sample_t *peak, const hs_sample_t *s)
{
    if (!s->ok)
        return;
    if (!peak->ok) {
        *peak = *s;
        return;
    }
    if (s->rss_kb > peak->rss_kb)
        peak->rss_kb = s->rss_kb;
    if (s->size_kb > peak->size_kb)
        peak->size_kb = s->size_kb;
    if (s->fds > peak->fds)
        peak->fds = s->fds;
    peak->hwm_kb = s->hwm_kb;
    peak->peak_kb = s->peak_kb;
    peak->cpu_s = s->cpu_s;
}

static void *sampler_main(void *arg)
{
    hs_sampler_t *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        pthread_mutex_unlock(&s->lock);
        hs_sample_t now = hs_sample(s->pid);
        pthread_mutex_lock(&s->lock);
        if (now.ok) {
            s->latest = now;
            peak_fold(&s->peak, &now);
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)s->period_ms * 1000000;
        until.tv_sec += until.tv_nsec / 1000000000;
        until.tv_nsec %= 1000000000;
        if (!s->stop)
            pthread_cond_timedwait(&s->wake, &s->lock, &until);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int hs_sampler_start(hs_sampler_t **out, pid_t pid, int period_ms)
{
    hs_sampler_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->pid = pid;
    s->period_ms = period_ms > 0 ? period_ms : 50;
    s->latest = s->peak = hs_sample(pid);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    int rc = pthread_create(&s->thread, NULL, sampler_main, s);
    if (rc != 0) {
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return -rc;
    }
    *out = s;
    return 0;
}

void hs_sampler_reset(hs_sampler_t *s)
{
    pthread_mutex_lock(&s->lock);
    s->peak = s->latest;
    pthread_mutex_unlock(&s->lock);
}

hs_sample_t hs_sampler_peak(hs_sampler_t *s)
{
    hs_sample_t now = hs_sample(s->pid);
    pthread_mutex_lock(&s->lock);
    peak_fold(&s->peak, &now);
    hs_sample_t p = s->peak;
    pthread_mutex_unlock(&s->lock);
    return p;
}

void hs_sampler_stop(hs_sampler_t **sp)
{
    hs_sampler_t *s = *sp;
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
    *sp = NULL;
}

/* ---- child processes ----------------------------------------------------------- */

#define CHILD_MAX 8

static hs_child_t *children[CHILD_MAX];

static void child_register(hs_child_t *c, int on)
{
    for (int i = 0; i < CHILD_MAX; i++) {
        if (on && children[i] == NULL) {
            children[i] = c;
            return;
        }
        if (!on && children[i] == c)
            children[i] = NULL;
    }
}

static void child_close_fds(hs_child_t *c)
{
    int *fds[2] = {&c->in, &c->out};
    for (int i = 0; i < 2; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

static int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 255;
}

int hs_child_spawn(hs_child_t *c, const char *name, char *const argv[], char *const env[],
                   int cpu)
{
    memset(c, 0, sizeof(*c));
    hs_fmt(c->name, sizeof(c->name), "%s", name);
    c->in = c->out = -1;
    c->status = -1;
    /* The environment is built before fork: the child of a threaded
     * process may only call async-signal-safe functions. */
    size_t nenv = 0, nextra = 0;
    while (environ[nenv] != NULL)
        nenv++;
    while (env != NULL && env[nextra] != NULL)
        nextra++;
    char **envp = calloc(nenv + nextra + 1, sizeof(*envp));
    if (envp == NULL)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < nextra; i++)
        envp[k++] = env[i];
    for (size_t i = 0; i < nenv; i++) {
        size_t klen = strcspn(environ[i], "=");
        int shadowed = 0;
        for (size_t j = 0; j < nextra && !shadowed; j++)
            shadowed = strncmp(env[j], environ[i], klen + 1) == 0;
        if (!shadowed)
            envp[k++] = environ[i];
    }
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    pid_t parent = getpid();
    pid_t pid = -1;
    if (pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0)
        pid = fork();
    if (pid < 0) {
        int err = errno;
        int fds[4] = {in[0], in[1], out[0], out[1]};
        for (int i = 0; i < 4; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        free(envp);
        return -err;
    }
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            sched_setaffinity(0, sizeof(set), &set);
        }
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGALRM, SIG_DFL);
        dup2(in[0], 0);
        dup2(out[1], 1);
        close_range(3, ~0u, 0);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    free(envp);
    setpgid(pid, pid);
    close(in[0]);
    close(out[1]);
    c->in = in[1];
    c->out = out[0];
    fcntl(c->out, F_SETFL, O_NONBLOCK);
    c->pid = pid;
    child_register(c, 1);
    return 0;
}

int hs_child_line(hs_child_t *c, char *line, size_t cap, int timeout_ms)
{
    int64_t deadline = hs_now_ms() + timeout_ms;
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl != NULL || c->len == sizeof(c->buf)) {
            size_t n = nl != NULL ? (size_t)(nl - c->buf) : c->len;
            size_t k = n < cap - 1 ? n : cap - 1;
            memcpy(line, c->buf, k);
            line[k] = '\0';
            size_t used = nl != NULL ? n + 1 : n;
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            return 0;
        }
        if (c->out < 0)
            return -2;
        int64_t left = deadline - hs_now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {c->out, POLLIN, 0};
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        ssize_t n = read(c->out, c->buf + c->len, sizeof(c->buf) - c->len);
        if (n > 0)
            c->len += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            close(c->out);
            c->out = -1;
        }
    }
}

void hs_child_say(hs_child_t *c, const char *line)
{
    if (c->in < 0)
        return;
    size_t n = strlen(line);
    /* Short lines to a pipe nobody fills: written whole or not at all. */
    if (write(c->in, line, n) != (ssize_t)n || write(c->in, "\n", 1) != 1) {
        close(c->in);
        c->in = -1;
    }
}

void hs_child_close_stdin(hs_child_t *c)
{
    if (c->in >= 0)
        close(c->in);
    c->in = -1;
}

static void child_reaped(hs_child_t *c, int st)
{
    c->status = decode_status(st);
    c->pid = 0;
    child_close_fds(c);
    child_register(c, 0);
}

int hs_child_exited(hs_child_t *c)
{
    if (c->pid <= 0)
        return 1;
    int st;
    pid_t r = waitpid(c->pid, &st, WNOHANG);
    if (r == c->pid) {
        child_reaped(c, st);
        return 1;
    }
    return 0;
}

static void child_kill(hs_child_t *c)
{
    if (c->pid > 0) {
        kill(-c->pid, SIGKILL);
        kill(c->pid, SIGKILL);
        int st = 0;
        while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
            ;
        child_reaped(c, st);
        c->status = -1;
    }
    child_close_fds(c);
    child_register(c, 0);
}

int hs_child_stop(hs_child_t *c, int timeout_ms)
{
    if (c->in >= 0) {
        close(c->in);
        c->in = -1;
    }
    int64_t deadline = hs_now_ms() + timeout_ms;
    while (!hs_child_exited(c)) {
        if (hs_now_ms() >= deadline) {
            child_kill(c);
            return -1;
        }
        hs_sleep_ms(10);
    }
    return c->status;
}

void hs_child_kill_all(void)
{
    for (int i = 0; i < CHILD_MAX; i++)
        if (children[i] != NULL)
            child_kill(children[i]);
}

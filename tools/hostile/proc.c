/*
 * The server process seen from outside: /proc samples, and a sampling
 * thread for the peaks.
 */
#include "hostile.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- samples ----------------------------------------------------------------- */

/* utime + stime of /proc/PID/stat, in seconds; -1 when unreadable. The
 * command name may hold spaces and parentheses: fields start after the
 * last ')'. */
static double cpu_seconds(pid_t pid)
{
    char path[64], line[1024];
    tool_fmt(path, sizeof(path), "/proc/%d/stat", (int)pid);
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
    tool_fmt(path, sizeof(path), "/proc/%d/status", (int)pid);
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
    s.fds = tool_fd_count(pid);
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

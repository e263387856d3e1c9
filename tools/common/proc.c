/* Processes seen through /proc, and the settings a tool gives itself
 * before it starts children (pinning, descriptor limit). */
#include "common/tool.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* /proc/self/<what> or /proc/<pid>/<what>. */
static void proc_path(char *out, size_t len, pid_t pid, const char *what)
{
    if (pid == 0)
        tool_fmt(out, len, "/proc/self/%s", what);
    else
        tool_fmt(out, len, "/proc/%d/%s", (int)pid, what);
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

long tool_rss_kb(pid_t pid)
{
    char path[64], v[64];
    proc_path(path, sizeof(path), pid, "status");
    if (status_field(path, "VmRSS", v, sizeof(v)) != 0)
        return -1;
    return strtol(v, NULL, 10);
}

int tool_fd_count(pid_t pid)
{
    char dir[64];
    proc_path(dir, sizeof(dir), pid, "fd");
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

int tool_affinity(pid_t pid, char *cpus, size_t len)
{
    char dir[64];
    proc_path(dir, sizeof(dir), pid, "task");
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
        tool_fmt(path, sizeof(path), "%s/%s/status", dir, e->d_name);
        if (status_field(path, "Cpus_allowed_list", v, sizeof(v)) != 0)
            continue; /* the thread ended meanwhile */
        if (n++ == 0)
            tool_fmt(first, sizeof(first), "%s", v);
        else if (strcmp(first, v) != 0 && !mixed) {
            mixed = 1;
            tool_cat(first, sizeof(first), "|%s", v);
        }
    }
    closedir(d);
    snprintf(cpus, len, "%s%s", mixed ? "mixed:" : "", first);
    return n;
}

int tool_pin(int cpu)
{
    if (cpu < 0)
        return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}

long tool_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return (long)rl.rlim_cur;
}

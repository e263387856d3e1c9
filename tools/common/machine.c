/* Facts about the machine, as both tools' reports state them. */
#include "common/tool.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* The first "model name" of /proc/cpuinfo, or "unknown CPU". */
static void cpu_model(char *out, size_t len)
{
    tool_fmt(out, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *v = strchr(line, ':');
            if (v != NULL) {
                v++;
                while (*v == ' ')
                    v++;
                tool_fmt(out, len, "%.*s", (int)strcspn(v, "\n"), v);
            }
            break;
        }
    }
    fclose(f);
}

void tool_machine(char *out, size_t len)
{
    char model[256];
    cpu_model(model, sizeof(model));
    struct utsname u;
    if (uname(&u) != 0)
        tool_fmt(u.release, sizeof(u.release), "?");
    double gib =
        (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) / 1073741824.0;
    tool_fmt(out, len, "%s, %ld CPUs online, %.1f GiB RAM, Linux %s", model,
             sysconf(_SC_NPROCESSORS_ONLN), gib, u.release);
}

void tool_date_utc(char *out, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (strftime(out, len, "%Y-%m-%d %H:%M UTC", &tm) == 0 && len > 0)
        out[0] = '\0';
}

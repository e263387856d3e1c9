/* Sizes: parsed from the command line, written in the report. */
#include "hostile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int hs_parse_size(const char *s, uint64_t *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || v < 0)
        return -1;
    static const char units[] = "KMGT";
    double mult = 1;
    if (*end != '\0') {
        const char *u = strchr(units, *end & ~0x20);
        if (u == NULL)
            return -1;
        for (const char *k = units; k <= u; k++)
            mult *= 1024;
        end++;
        if (strcasecmp(end, "ib") == 0 || strcasecmp(end, "b") == 0)
            end += strlen(end);
    }
    if (*end != '\0' || v * mult >= 18446744073709551615.0)
        return -1;
    *out = (uint64_t)(v * mult);
    return 0;
}

void hs_fmt_bytes(char *buf, size_t len, double bytes)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    if (u == 0)
        tool_fmt(buf, len, "%.0f B", bytes);
    else
        tool_fmt(buf, len, "%.*f %s", bytes < 10 ? 1 : 0, bytes, unit[u]);
}

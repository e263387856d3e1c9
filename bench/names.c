/* The names of the cases and metrics, as arguments and reports spell them. */
#include "bench.h"

#include <string.h>

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

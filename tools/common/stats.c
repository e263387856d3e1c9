/* Samples: sorting and quantiles of measured values. */
#include "common/tool.h"

int tool_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double tool_quantile(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return 0;
    /* ceil(q * n), less a hair: a product meant to be whole that comes
     * out a hair above it in binary must not take the next rank. */
    size_t rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

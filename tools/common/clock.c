/* Time: one monotonic clock for every deadline and measurement. */
#include "common/tool.h"

#include <errno.h>
#include <time.h>

int64_t tool_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t tool_now_us(void)
{
    return tool_now_ns() / 1000;
}

int64_t tool_now_ms(void)
{
    return tool_now_ns() / 1000000;
}

void tool_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

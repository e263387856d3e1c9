/*
 * Reconnect schedules (see backoff.h). All arithmetic saturates instead of
 * overflowing: ivl, ivl_max, floor and cap come straight from socket options.
 */
#include "policy/backoff.h"

#include <limits.h>

void policy_backoff_transient_init(policy_backoff_transient_t *b, int ivl, int ivl_max)
{
    b->ivl = ivl;
    b->ivl_max = ivl_max;
    b->current = ivl;
}

int policy_backoff_transient_next(policy_backoff_transient_t *b, uint32_t r)
{
    if (b->ivl < 0)
        return -1;

    int used = b->current;
    if (b->ivl > 0) {
        /* r % ivl < ivl <= INT_MAX, so only the sum can overflow. */
        int jitter = (int)(r % (uint32_t)b->ivl);
        used = b->current > INT_MAX - jitter ? INT_MAX : b->current + jitter;
    }

    /* Matches libzmq: ivl_max only matters when it is above ivl, and it is
     * an upper bound on the base interval, not on the jittered one. */
    if (b->ivl_max > b->ivl)
        b->current = b->current > b->ivl_max / 2 ? b->ivl_max : b->current * 2;
    return used;
}

void policy_backoff_transient_reset(policy_backoff_transient_t *b)
{
    b->current = b->ivl;
}

void policy_backoff_auth_init(policy_backoff_auth_t *b, int floor, int cap, int stop)
{
    if (floor < 1)
        floor = 1;
    if (cap < floor)
        cap = floor;
    b->floor = floor;
    b->cap = cap;
    b->stop = stop != 0;
    b->step = floor;
    b->failures = 0;
}

/* Step values outside [1, INT_MAX] cannot come from a schedule built by
 * policy_backoff_auth_init, but the bound helpers are public. */
static int bo_sane_step(int step)
{
    return step < 1 ? 1 : step;
}

int policy_backoff_auth_min(int step)
{
    /* ceil(0.8 * step): rounding up keeps every interval within the stated
     * factor range, and it is >= 1 for any step >= 1. */
    uint64_t s = (uint64_t)bo_sane_step(step);
    return (int)((s * 4 + 4) / 5);
}

int policy_backoff_auth_max(int step)
{
    /* floor(1.2 * step), clamped because 1.2 * INT_MAX does not fit. */
    uint64_t s = (uint64_t)bo_sane_step(step);
    uint64_t hi = s * 6 / 5;
    return hi > INT_MAX ? INT_MAX : (int)hi;
}

int policy_backoff_auth_next(policy_backoff_auth_t *b, uint32_t r)
{
    if (b->failures < UINT_MAX)
        b->failures++;
    if (b->stop)
        return -1;

    /* lo + span * r / UINT32_MAX maps r = 0 to the lower bound and
     * r = UINT32_MAX to the upper one. span < 2^30 and r < 2^32, so the
     * product fits in 64 bits. */
    uint64_t lo = (uint64_t)policy_backoff_auth_min(b->step);
    uint64_t span = (uint64_t)policy_backoff_auth_max(b->step) - lo;
    int used = (int)(lo + span * r / UINT32_MAX);

    b->step = b->step > b->cap / 2 ? b->cap : b->step * 2;
    return used;
}

void policy_backoff_auth_reset(policy_backoff_auth_t *b)
{
    b->step = b->floor;
    b->failures = 0;
}

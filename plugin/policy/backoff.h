/*
 * Reconnect schedules. Pure arithmetic: the caller supplies randomness, so
 * every schedule is reproducible in tests. Not thread-safe; each schedule
 * belongs to one endpoint on the I/O thread.
 *
 * Transient failures (refused, reset, timeout, protocol error) follow
 * libzmq's tcp:// rules: the interval used is `current + r % ivl` (jitter of
 * up to one base interval), then `current` doubles up to ivl_max when
 * ivl_max > ivl. ivl < 0 disables reconnection.
 *
 * Authentication failures follow a separate, raised schedule: the interval
 * used is `step` scaled by a factor drawn uniformly from [0.8, 1.2], then
 * `step` doubles up to `cap`. With `stop` set, the first authentication
 * failure ends reconnection.
 *
 * Both schedules are reset by a successful ZMTP handshake; the auth schedule
 * also by new credentials.
 */
#ifndef ZMTLS_BACKOFF_H
#define ZMTLS_BACKOFF_H

#include <stdint.h>

typedef struct policy_backoff_transient {
    int ivl;     /* ZMQ_RECONNECT_IVL, ms; < 0 disables */
    int ivl_max; /* ZMQ_RECONNECT_IVL_MAX, ms; 0 = no doubling */
    int current;
} policy_backoff_transient_t;

typedef struct policy_backoff_auth {
    int floor;         /* ms, >= 1 */
    int cap;           /* ms, >= floor */
    int stop;          /* 1: no retry after an auth failure */
    int step;          /* current step, ms */
    unsigned failures; /* consecutive auth failures */
} policy_backoff_auth_t;

void policy_backoff_transient_init(policy_backoff_transient_t *b, int ivl, int ivl_max);
/* Interval in ms to wait before the next attempt, or -1 when reconnection is
 * disabled. Advances the schedule. `r` is a uniform random 32-bit value. */
int policy_backoff_transient_next(policy_backoff_transient_t *b, uint32_t r);
void policy_backoff_transient_reset(policy_backoff_transient_t *b);

/* Clamps floor to >= 1 and cap to >= floor. */
void policy_backoff_auth_init(policy_backoff_auth_t *b, int floor, int cap, int stop);
/* Interval in ms for the retry after an auth failure, or -1 when `stop` is
 * set. Advances the schedule and counts the failure. */
int policy_backoff_auth_next(policy_backoff_auth_t *b, uint32_t r);
void policy_backoff_auth_reset(policy_backoff_auth_t *b);

/* Lowest and highest interval policy_backoff_auth_next can return for a given
 * step (the jitter bounds), for callers and tests. */
int policy_backoff_auth_min(int step);
int policy_backoff_auth_max(int step);

#endif

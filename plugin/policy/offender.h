/*
 * Repeat offenders: source addresses that keep failing authentication on a
 * listener. Pure bookkeeping with the time passed in, so every rule is
 * reproducible in tests; one table per listener, on the I/O thread.
 *
 * An address that fails `failures` times within `window_ms` is banned for
 * `ban_ms`: its connections are closed right after accept, before any TLS
 * work. Each ban it earns while an earlier one is remembered (within
 * POLICY_OFFENDER_MEMORY_MS of that ban's end) lasts twice the last, up to
 * POLICY_OFFENDER_BAN_MAX_MS. failures = 0 disables the rule.
 *
 * The table is bounded (POLICY_OFFENDER_SLOTS addresses): a new address
 * takes the slot of the one least recently seen, banned ones last, so
 * spoofed or rotating addresses cost a fixed amount of memory and can at
 * worst push out a ban early.
 */
#ifndef ZMTLS_POLICY_OFFENDER_H
#define ZMTLS_POLICY_OFFENDER_H

#include <stddef.h>
#include <stdint.h>

#define POLICY_OFFENDER_SLOTS      256
#define POLICY_OFFENDER_BAN_MAX_MS (60 * 60 * 1000)
#define POLICY_OFFENDER_MEMORY_MS  (10 * 60 * 1000)
#define POLICY_OFFENDER_ADDR_MAX   16 /* an IPv6 address */

typedef struct policy_offender {
    uint8_t addr[POLICY_OFFENDER_ADDR_MAX];
    uint8_t addr_len; /* 0: free slot */
    unsigned failures;
    uint64_t window_start; /* first failure counted */
    uint64_t seen;         /* last failure or refusal */
    uint64_t banned_until; /* 0: not banned */
    uint64_t last_ban_ms;  /* length of the last ban, 0: none yet */
} policy_offender_t;

typedef struct policy_offenders {
    unsigned failures; /* failures that earn a ban, 0: off */
    uint64_t window_ms;
    uint64_t ban_ms; /* the first ban */
    uint64_t bans;   /* bans started, for reports */
    policy_offender_t slot[POLICY_OFFENDER_SLOTS];
} policy_offenders_t;

void policy_offenders_init(policy_offenders_t *t, unsigned failures, uint64_t window_ms,
                           uint64_t ban_ms);
/* An authentication failure from addr (len bytes, <= 16) at `now`. Returns
 * the length of the ban it started in ms, or 0 when it started none. */
uint64_t policy_offenders_failed(policy_offenders_t *t, const uint8_t *addr, size_t len,
                                 uint64_t now);
/* 1 when addr is banned at `now` (a connection from it is to be closed at
 * once), else 0. */
int policy_offenders_banned(policy_offenders_t *t, const uint8_t *addr, size_t len,
                            uint64_t now);

#endif

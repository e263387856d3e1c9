/*
 * Reconnect schedules: transient (libzmq rules) and authentication.
 */
#include "check.h"
#include "policy/backoff.h"

#include <limits.h>
#include <stdint.h>

/* Small deterministic generator so "many r values" is reproducible. */
static uint32_t rng_state = 0x12345678u;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* ivl 100, ivl_max 1000: used = current + r % 100, current 100, 200, 400,
 * 800, then pinned at 1000. */
static void test_transient_sequence(void)
{
    policy_backoff_transient_t b;
    policy_backoff_transient_init(&b, 100, 1000);
    const int base[] = {100, 200, 400, 800, 1000, 1000, 1000};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) {
        CHECK_EQ(policy_backoff_transient_next(&b, 0), base[i]);
    }

    /* Jitter is r % ivl (the base interval, not the current one). */
    policy_backoff_transient_init(&b, 100, 1000);
    CHECK_EQ(policy_backoff_transient_next(&b, 57), 157);
    CHECK_EQ(policy_backoff_transient_next(&b, 199), 299);
    CHECK_EQ(policy_backoff_transient_next(&b, 1000), 400);
    CHECK_EQ(policy_backoff_transient_next(&b, UINT32_MAX),
             800 + (int)(UINT32_MAX % 100));
    CHECK_EQ(b.current, 1000);

    /* Reset returns to ivl. */
    policy_backoff_transient_reset(&b);
    CHECK_EQ(b.current, 100);
    CHECK_EQ(policy_backoff_transient_next(&b, 3), 103);

    /* ivl_max not a power-of-two multiple: capped exactly. */
    policy_backoff_transient_init(&b, 300, 1000);
    CHECK_EQ(policy_backoff_transient_next(&b, 0), 300);
    CHECK_EQ(policy_backoff_transient_next(&b, 0), 600);
    CHECK_EQ(policy_backoff_transient_next(&b, 0), 1000);
    CHECK_EQ(policy_backoff_transient_next(&b, 0), 1000);

    /* Many r: always within [current, current + ivl). */
    policy_backoff_transient_init(&b, 250, 4000);
    for (int i = 0; i < 10000; i++) {
        int cur = b.current;
        int used = policy_backoff_transient_next(&b, rng());
        CHECK_INT(used, >=, cur);
        CHECK_INT(used, <, cur + 250);
        CHECK_INT(b.current, <=, 4000);
    }
}

/* No doubling when ivl_max is 0 or not above ivl. */
static void test_transient_no_doubling(void)
{
    policy_backoff_transient_t b;
    const int maxes[] = {0, 100, 50, -5};
    for (size_t m = 0; m < sizeof maxes / sizeof maxes[0]; m++) {
        policy_backoff_transient_init(&b, 100, maxes[m]);
        for (int i = 0; i < 10; i++)
            CHECK_EQ(policy_backoff_transient_next(&b, (uint32_t)i * 7), 100 + i * 7);
        CHECK_EQ(b.current, 100);
    }
}

/* ivl < 0 disables; ivl 0 reconnects at once with no jitter (no r % 0). */
static void test_transient_disabled(void)
{
    policy_backoff_transient_t b;
    policy_backoff_transient_init(&b, -1, 1000);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(policy_backoff_transient_next(&b, rng()), -1);
    policy_backoff_transient_reset(&b);
    CHECK_EQ(policy_backoff_transient_next(&b, 0), -1);

    policy_backoff_transient_init(&b, 0, 0);
    CHECK_EQ(policy_backoff_transient_next(&b, UINT32_MAX), 0);
    policy_backoff_transient_init(&b, 0, 1000);
    CHECK_EQ(policy_backoff_transient_next(&b, UINT32_MAX), 0);
    CHECK_EQ(policy_backoff_transient_next(&b, 12345), 0);
}

/* Values near INT_MAX neither overflow the doubling nor the jitter. */
static void test_transient_overflow(void)
{
    policy_backoff_transient_t b;
    policy_backoff_transient_init(&b, INT_MAX / 2 + 10, INT_MAX);
    CHECK_EQ(policy_backoff_transient_next(&b, 0), INT_MAX / 2 + 10);
    CHECK_EQ(b.current, INT_MAX);
    CHECK_EQ(policy_backoff_transient_next(&b, UINT32_MAX), INT_MAX);
    CHECK_EQ(policy_backoff_transient_next(&b, 5), INT_MAX);

    policy_backoff_transient_init(&b, INT_MAX, 0);
    CHECK_EQ(policy_backoff_transient_next(&b, UINT32_MAX), INT_MAX);
    CHECK_EQ(policy_backoff_transient_next(&b, 0), INT_MAX);
}

static void test_auth_bounds(void)
{
    /* ceil(0.8 * step) and floor(1.2 * step). */
    CHECK_EQ(policy_backoff_auth_min(1), 1);
    CHECK_EQ(policy_backoff_auth_max(1), 1);
    CHECK_EQ(policy_backoff_auth_min(1000), 800);
    CHECK_EQ(policy_backoff_auth_max(1000), 1200);
    CHECK_EQ(policy_backoff_auth_min(7), 6);
    CHECK_EQ(policy_backoff_auth_max(7), 8);
    CHECK_EQ(policy_backoff_auth_max(INT_MAX), INT_MAX);
    CHECK_EQ(policy_backoff_auth_min(INT_MAX), (int)(((long long)INT_MAX * 4 + 4) / 5));
    /* Nonsense steps are treated as 1, never produce 0 or negatives. */
    CHECK_EQ(policy_backoff_auth_min(0), 1);
    CHECK_EQ(policy_backoff_auth_max(-5), 1);

    for (int step = 1; step < 5000; step++) {
        int lo = policy_backoff_auth_min(step), hi = policy_backoff_auth_max(step);
        CHECK_INT(lo, <=, hi);
        CHECK_INT(lo, >=, 1);
        CHECK_INT((long long)lo * 10, >=, (long long)step * 8);
        CHECK_INT((long long)hi * 10, <=, (long long)step * 12);
    }
}

/* The interval stays within [min, max] of the step it was drawn for, r = 0
 * and r = UINT32_MAX hit the two ends, and the draws spread across the
 * range. */
static void test_auth_jitter(void)
{
    const int steps[] = {1, 2, 3, 10, 999, 1000, 30000, 1 << 20, INT_MAX / 2, INT_MAX};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        int step = steps[s];
        int lo = policy_backoff_auth_min(step), hi = policy_backoff_auth_max(step);
        policy_backoff_auth_t b;

        policy_backoff_auth_init(&b, step, step, 0);
        CHECK_EQ(policy_backoff_auth_next(&b, 0), lo);
        CHECK_EQ(policy_backoff_auth_next(&b, UINT32_MAX), hi);

        /* Larger r never gives a shorter interval. */
        int prev = lo;
        for (uint64_t r = 0; r <= UINT32_MAX; r += 0x1000001u) {
            int v = policy_backoff_auth_next(&b, (uint32_t)r);
            CHECK_INT(v, >=, prev);
            prev = v;
        }

        int below_mid = 0, above_mid = 0;
        long long mid2 = (long long)lo + hi; /* 2 * midpoint */
        for (int i = 0; i < 20000; i++) {
            int v = policy_backoff_auth_next(&b, rng());
            CHECK_INT(v, >=, lo);
            CHECK_INT(v, <=, hi);
            if (2LL * v < mid2)
                below_mid++;
            else if (2LL * v > mid2)
                above_mid++;
        }
        if (hi - lo >= 10) {
            /* Uniform: each half gets a fair share (loose bound). */
            CHECK_INT(below_mid, >, 8000);
            CHECK_INT(above_mid, >, 8000);
        }
        CHECK_EQ(b.step, step);
    }
}

/* step doubles from floor up to cap; each interval is jittered around the
 * step current before the failure. */
static void test_auth_doubling(void)
{
    policy_backoff_auth_t b;
    policy_backoff_auth_init(&b, 1000, 30000, 0);
    CHECK_EQ(b.step, 1000);
    CHECK_EQ(b.failures, 0);
    const int steps[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        CHECK_EQ(b.step, steps[i]);
        uint32_t r = rng();
        int v = policy_backoff_auth_next(&b, r);
        CHECK_INT(v, >=, policy_backoff_auth_min(steps[i]));
        CHECK_INT(v, <=, policy_backoff_auth_max(steps[i]));
        CHECK_EQ(b.failures, i + 1);
    }
    /* Exactly 0.8 and 1.2 at the ends once capped. */
    CHECK_EQ(policy_backoff_auth_next(&b, 0), 24000);
    CHECK_EQ(policy_backoff_auth_next(&b, UINT32_MAX), 36000);

    policy_backoff_auth_reset(&b);
    CHECK_EQ(b.step, 1000);
    CHECK_EQ(b.failures, 0);
    CHECK_EQ(policy_backoff_auth_next(&b, 0), 800);
    CHECK_EQ(b.step, 2000);
    CHECK_EQ(b.failures, 1);
}

static void test_auth_init_clamps(void)
{
    policy_backoff_auth_t b;
    policy_backoff_auth_init(&b, 0, -10, 0);
    CHECK_EQ(b.floor, 1);
    CHECK_EQ(b.cap, 1);
    CHECK_EQ(b.step, 1);
    CHECK_EQ(policy_backoff_auth_next(&b, 0), 1);
    CHECK_EQ(policy_backoff_auth_next(&b, UINT32_MAX), 1);
    CHECK_EQ(b.step, 1);

    policy_backoff_auth_init(&b, 500, 100, 0);
    CHECK_EQ(b.cap, 500);
    CHECK_EQ(policy_backoff_auth_next(&b, 0), 400);
    CHECK_EQ(b.step, 500);

    policy_backoff_auth_init(&b, -7, 4, 7);
    CHECK_EQ(b.floor, 1);
    CHECK_EQ(b.cap, 4);
    CHECK_EQ(b.stop, 1);
}

/* With stop every auth failure ends reconnection, and is still counted. */
static void test_auth_stop(void)
{
    policy_backoff_auth_t b;
    policy_backoff_auth_init(&b, 1000, 8000, 1);
    CHECK_EQ(policy_backoff_auth_next(&b, 0), -1);
    CHECK_EQ(b.failures, 1);
    CHECK_EQ(policy_backoff_auth_next(&b, UINT32_MAX), -1);
    CHECK_EQ(b.failures, 2);
    policy_backoff_auth_reset(&b);
    CHECK_EQ(b.failures, 0);
    CHECK_EQ(policy_backoff_auth_next(&b, 5), -1);
}

/* Huge floors and caps: no signed overflow (UBSan would abort), the step
 * pins at cap, intervals stay positive and within INT_MAX. */
static void test_auth_overflow(void)
{
    policy_backoff_auth_t b;
    policy_backoff_auth_init(&b, INT_MAX / 2 + 1, INT_MAX, 0);
    for (int i = 0; i < 5; i++) {
        int v = policy_backoff_auth_next(&b, rng());
        CHECK_INT(v, >, 0);
        CHECK_INT(v, <=, INT_MAX);
    }
    CHECK_EQ(b.step, INT_MAX);
    CHECK_EQ(policy_backoff_auth_next(&b, UINT32_MAX), INT_MAX);
    CHECK_EQ(policy_backoff_auth_next(&b, 0), policy_backoff_auth_min(INT_MAX));

    policy_backoff_auth_init(&b, 1, INT_MAX, 0);
    for (int i = 0; i < 100; i++) {
        int v = policy_backoff_auth_next(&b, UINT32_MAX);
        CHECK_INT(v, >=, 1);
        CHECK_INT(b.step, >=, 1);
    }
    CHECK_EQ(b.step, INT_MAX);
    CHECK_EQ(b.failures, 100);

    /* The failure counter saturates instead of wrapping to 0. */
    b.failures = UINT_MAX;
    policy_backoff_auth_next(&b, 0);
    CHECK_EQ(b.failures, UINT_MAX);
}

int main(void)
{
    test_transient_sequence();
    test_transient_no_doubling();
    test_transient_disabled();
    test_transient_overflow();
    test_auth_bounds();
    test_auth_jitter();
    test_auth_doubling();
    test_auth_init_clamps();
    test_auth_stop();
    test_auth_overflow();
    puts("backoff: ok");
    return 0;
}

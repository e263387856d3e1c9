/*
 * Repeat offenders: a ban after `failures` within the window, bans that
 * double while remembered and are capped, a window that forgets, a table
 * that stays bounded, and an off switch.
 */
#include "check.h"
#include "policy/offender.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const uint8_t A[4] = {10, 0, 0, 1};
static const uint8_t B[4] = {10, 0, 0, 2};

static void test_ban_after_failures(void)
{
    static policy_offenders_t t;
    policy_offenders_init(&t, 3, 60000, 1000);
    CHECK_EQ(policy_offenders_failed(&t, A, 4, 100), 0);
    CHECK_EQ(policy_offenders_failed(&t, A, 4, 200), 0);
    CHECK_EQ(policy_offenders_banned(&t, A, 4, 250), 0);
    CHECK_EQ(policy_offenders_failed(&t, A, 4, 300), 1000);
    CHECK_EQ(policy_offenders_banned(&t, A, 4, 301), 1);
    CHECK_EQ(policy_offenders_banned(&t, A, 4, 1299), 1);
    CHECK_EQ(policy_offenders_banned(&t, A, 4, 1300), 0);
    CHECK_EQ(policy_offenders_banned(&t, B, 4, 301), 0); /* others unaffected */
    CHECK_EQ(t.bans, 1);
}

static void test_bans_double_and_cap(void)
{
    static policy_offenders_t t;
    policy_offenders_init(&t, 1, 60000, 1000);
    uint64_t now = 0, expect = 1000;
    for (int i = 0; i < 20; i++) {
        uint64_t ban = policy_offenders_failed(&t, A, 4, now);
        CHECK_EQ(ban, expect);
        now += ban; /* fails again as soon as the ban ends */
        expect = expect * 2 > POLICY_OFFENDER_BAN_MAX_MS ? POLICY_OFFENDER_BAN_MAX_MS
                                                         : expect * 2;
    }
    /* Long after: forgotten, the first ban again. */
    now += POLICY_OFFENDER_MEMORY_MS + 1;
    CHECK_EQ(policy_offenders_failed(&t, A, 4, now), 1000);
}

static void test_window_forgets(void)
{
    static policy_offenders_t t;
    policy_offenders_init(&t, 2, 1000, 500);
    CHECK_EQ(policy_offenders_failed(&t, A, 4, 0), 0);
    CHECK_EQ(policy_offenders_failed(&t, A, 4, 1001), 0); /* the first is outside */
    CHECK_EQ(policy_offenders_failed(&t, A, 4, 1500), 500);
}

static void test_bounded_table(void)
{
    static policy_offenders_t t;
    policy_offenders_init(&t, 1, 60000, 1000000);
    CHECK(policy_offenders_failed(&t, A, 4, 1) > 0); /* A banned first */
    uint8_t addr[16];
    memset(addr, 7, sizeof addr);
    /* Many more addresses than slots: the table never grows. Every slot
     * holds a running ban here, so the least recently seen goes: A. */
    for (uint32_t i = 0; i < 10 * POLICY_OFFENDER_SLOTS; i++) {
        memcpy(addr, &i, sizeof i);
        policy_offenders_failed(&t, addr, sizeof addr, 2 + i);
    }
    size_t used = 0;
    for (size_t i = 0; i < POLICY_OFFENDER_SLOTS; i++)
        used += t.slot[i].addr_len != 0;
    CHECK_EQ(used, POLICY_OFFENDER_SLOTS);
    CHECK_EQ(policy_offenders_banned(&t, A, 4, 3), 0);
}

static void test_off(void)
{
    static policy_offenders_t t;
    policy_offenders_init(&t, 0, 60000, 1000);
    for (int i = 0; i < 100; i++)
        CHECK_EQ(policy_offenders_failed(&t, A, 4, (uint64_t)i), 0);
    CHECK_EQ(policy_offenders_banned(&t, A, 4, 100), 0);
    /* Bad lengths are ignored. */
    policy_offenders_init(&t, 1, 60000, 1000);
    CHECK_EQ(policy_offenders_failed(&t, A, 0, 1), 0);
    CHECK_EQ(policy_offenders_failed(&t, A, 17, 1), 0);
}

int main(void)
{
    test_ban_after_failures();
    test_bans_double_and_cap();
    test_window_forgets();
    test_bounded_table();
    test_off();
    printf("offender: all checks passed\n");
    return 0;
}

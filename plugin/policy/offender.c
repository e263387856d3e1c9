/* Repeat offenders: see offender.h. */
#include "policy/offender.h"

#include <string.h>

void policy_offenders_init(policy_offenders_t *t, unsigned failures, uint64_t window_ms,
                           uint64_t ban_ms)
{
    memset(t, 0, sizeof(*t));
    t->failures = failures;
    t->window_ms = window_ms;
    t->ban_ms = ban_ms > 0 ? ban_ms : 1;
}

static policy_offender_t *offender_find(policy_offenders_t *t, const uint8_t *addr,
                                        size_t len)
{
    for (size_t i = 0; i < POLICY_OFFENDER_SLOTS; i++) {
        policy_offender_t *o = &t->slot[i];
        if (o->addr_len == len && memcmp(o->addr, addr, len) == 0)
            return o;
    }
    return NULL;
}

/* A free slot, else the least recently seen one not banned at `now`, else
 * the least recently seen of all. */
static policy_offender_t *offender_slot(policy_offenders_t *t, uint64_t now)
{
    policy_offender_t *idle = NULL, *any = NULL;
    for (size_t i = 0; i < POLICY_OFFENDER_SLOTS; i++) {
        policy_offender_t *o = &t->slot[i];
        if (o->addr_len == 0)
            return o;
        if (o->banned_until <= now && (idle == NULL || o->seen < idle->seen))
            idle = o;
        if (any == NULL || o->seen < any->seen)
            any = o;
    }
    return idle != NULL ? idle : any;
}

uint64_t policy_offenders_failed(policy_offenders_t *t, const uint8_t *addr, size_t len,
                                 uint64_t now)
{
    if (t->failures == 0 || len == 0 || len > POLICY_OFFENDER_ADDR_MAX)
        return 0;
    policy_offender_t *o = offender_find(t, addr, len);
    if (o == NULL) {
        o = offender_slot(t, now);
        memset(o, 0, sizeof(*o));
        memcpy(o->addr, addr, len);
        o->addr_len = (uint8_t)len;
    }
    o->seen = now;
    if (o->failures == 0 || now - o->window_start > t->window_ms) {
        o->failures = 0;
        o->window_start = now;
    }
    if (++o->failures < t->failures)
        return 0;
    /* A ban: twice the last one if that is still remembered. */
    uint64_t ban = t->ban_ms;
    if (o->last_ban_ms > 0 && o->banned_until + POLICY_OFFENDER_MEMORY_MS >= now)
        ban = o->last_ban_ms * 2;
    if (ban > POLICY_OFFENDER_BAN_MAX_MS)
        ban = POLICY_OFFENDER_BAN_MAX_MS;
    o->banned_until = now + ban;
    o->last_ban_ms = ban;
    o->failures = 0;
    t->bans++;
    return ban;
}

int policy_offenders_banned(policy_offenders_t *t, const uint8_t *addr, size_t len,
                            uint64_t now)
{
    if (t->failures == 0 || len == 0 || len > POLICY_OFFENDER_ADDR_MAX)
        return 0;
    policy_offender_t *o = offender_find(t, addr, len);
    if (o == NULL || o->banned_until <= now)
        return 0;
    o->seen = now;
    return 1;
}

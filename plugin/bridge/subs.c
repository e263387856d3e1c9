/* Subscription bookkeeping for replay after reconnects: see subs.h. */
#include "bridge/subs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct bridge_subs_entry {
    uint8_t *topic;
    size_t len;
} bridge_subs_entry_t;

struct subs {
    bridge_subs_entry_t *v;
    size_t n, cap;
};

int bridge_subs_new(bridge_subs_t **out)
{
    *out = calloc(1, sizeof(**out));
    return *out == NULL ? -ENOMEM : 0;
}

void bridge_subs_destroy(bridge_subs_t **sp)
{
    bridge_subs_t *s = *sp;
    if (s == NULL)
        return;
    *sp = NULL;
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].topic);
    free(s->v);
    free(s);
}

int bridge_subs_is_subscription(const uint8_t *msg, size_t len)
{
    return len >= 1 && (msg[0] == 0 || msg[0] == 1);
}

static bridge_subs_entry_t *bridge_subs_find(bridge_subs_t *s, const uint8_t *topic,
                                             size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].len == len && (len == 0 || memcmp(s->v[i].topic, topic, len) == 0))
            return &s->v[i];
    return NULL;
}

int bridge_subs_apply(bridge_subs_t *s, const uint8_t *msg, size_t len)
{
    if (!bridge_subs_is_subscription(msg, len))
        return 0;
    const uint8_t *topic = msg + 1;
    size_t tlen = len - 1;
    bridge_subs_entry_t *e = bridge_subs_find(s, topic, tlen);
    if (msg[0] == 0) {
        if (e != NULL) {
            free(e->topic);
            *e = s->v[--s->n];
        }
        return 0;
    }
    if (e != NULL)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        bridge_subs_entry_t *v = realloc(s->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    uint8_t *copy = malloc(tlen ? tlen : 1);
    if (copy == NULL)
        return -ENOMEM;
    if (tlen > 0)
        memcpy(copy, topic, tlen);
    s->v[s->n++] = (bridge_subs_entry_t){.topic = copy, .len = tlen};
    return 0;
}

size_t bridge_subs_count(const bridge_subs_t *s)
{
    return s->n;
}

const uint8_t *bridge_subs_topic(const bridge_subs_t *s, size_t i, size_t *len)
{
    *len = s->v[i].len;
    return s->v[i].topic;
}

/* Subscription bookkeeping for replay after reconnects: see subs.h. */
#include "bridge/subs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct subs_entry {
    uint8_t *topic;
    size_t len;
} subs_entry_t;

struct subs {
    subs_entry_t *v;
    size_t n, cap;
};

int subs_new(subs_t **out)
{
    *out = calloc(1, sizeof(**out));
    return *out == NULL ? -ENOMEM : 0;
}

void subs_destroy(subs_t **sp)
{
    subs_t *s = *sp;
    if (s == NULL)
        return;
    *sp = NULL;
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].topic);
    free(s->v);
    free(s);
}

int subs_is_subscription(const uint8_t *msg, size_t len)
{
    return len >= 1 && (msg[0] == 0 || msg[0] == 1);
}

static subs_entry_t *subs_find(subs_t *s, const uint8_t *topic, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].len == len && (len == 0 || memcmp(s->v[i].topic, topic, len) == 0))
            return &s->v[i];
    return NULL;
}

int subs_apply(subs_t *s, const uint8_t *msg, size_t len)
{
    if (!subs_is_subscription(msg, len))
        return 0;
    const uint8_t *topic = msg + 1;
    size_t tlen = len - 1;
    subs_entry_t *e = subs_find(s, topic, tlen);
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
        subs_entry_t *v = realloc(s->v, cap * sizeof(*v));
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
    s->v[s->n++] = (subs_entry_t){.topic = copy, .len = tlen};
    return 0;
}

size_t subs_count(const subs_t *s)
{
    return s->n;
}

const uint8_t *subs_topic(const subs_t *s, size_t i, size_t *len)
{
    *len = s->v[i].len;
    return s->v[i].topic;
}

/*
 * The subscriptions a SUB/XSUB application has sent through one connect
 * endpoint, so they can be told again to the next publisher after a
 * reconnect (libzmq resends them on a pipe hiccup; a bridge pipe does not
 * hiccup, it outlives connections).
 *
 * What is held is what a publisher would hold for this one pipe: libzmq's
 * PUB keeps a topic per pipe as present or absent, so a subscribe adds it
 * (again is a no-op) and one cancel removes it. A SUB already sends a
 * cancel upstream only when its own count drops to zero, which is why this
 * mirrors it exactly. Threading: I/O thread only.
 */
#ifndef ZMTLS_SUBS_H
#define ZMTLS_SUBS_H

#include <stddef.h>
#include <stdint.h>

typedef struct subs bridge_subs_t;

int bridge_subs_new(bridge_subs_t **out);
void bridge_subs_destroy(bridge_subs_t **s);

/* 1 when a message (one complete single-part message) is a subscription:
 * first byte 1 (subscribe) or 0 (cancel), then the topic. */
int bridge_subs_is_subscription(const uint8_t *msg, size_t len);
/* Records one subscription message. 0 or -ENOMEM. */
int bridge_subs_apply(bridge_subs_t *s, const uint8_t *msg, size_t len);

/* Topics currently held, for replay: index 0..bridge_subs_count()-1. */
size_t bridge_subs_count(const bridge_subs_t *s);
const uint8_t *bridge_subs_topic(const bridge_subs_t *s, size_t i, size_t *len);

#endif

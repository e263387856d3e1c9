/*
 * Subscriptions of every size: the subscriber's side of the checks, the
 * same for every publisher and transport. The caller says how its
 * subscriber (un)subscribes, how a round gets published and how the next
 * message is received; these functions decide, and print why when they
 * fail (they return -1 then, so that a test can go on with other cases).
 *
 *   ss_deliver  subscribe to the topic, then to SS_PROBE; publish rounds
 *               "near-miss#k, topic#k, ~p#k" until topic#k arrives. A
 *               near-miss must never arrive (the publisher would hold a
 *               truncated topic). Both subscriptions travel in order on one
 *               connection and a publisher applies them in order, so once
 *               a probe has arrived the topic's subscription has been
 *               applied too, if it ever will be: a second probe arriving
 *               with no topic message between them (topic#k of the second
 *               one's round was published in between) means the SUBSCRIBE
 *               was lost. That verdict needs no deadline, so a lost
 *               subscription fails in milliseconds.
 *   ss_cancel   cancel the topic, then subscribe to SS_MARK; publish rounds
 *               "topic#k, ~m#k". The cancel has taken effect once two
 *               consecutive markers arrive with no topic message between
 *               them (topic#k of the later one's round was filtered); after
 *               that no topic message may arrive, checked over SS_AFTER
 *               more rounds. For a non-empty topic more is certain: the
 *               marker's subscription travelled after the cancel, so no
 *               topic message may follow the first marker. (The empty topic
 *               matches the markers too, hence the consecutive-marker rule.)
 *
 * Both rely on the publisher never dropping a message it published (a
 * libzmq publisher with ZMQ_XPUB_NODROP) and on rounds being paced by the
 * arrival of their last message or pace_ms, so no queue grows. A SUB also
 * filters what it receives by its own subscriptions, so for a SUB
 * ss_cancel shows what the application sees; for an XSUB, which does not
 * filter, it shows that the publisher stopped sending.
 */
#ifndef ZMTLS_SUBSIZE_H
#define ZMTLS_SUBSIZE_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subsize_wire.h"
#include "testutil.h"

/* Rounds that must follow the cancel's taking effect with no topic
 * message. */
#define SS_AFTER 2

typedef struct ss_case ss_case_t;

struct ss_case {
    /* Set by the caller (ss_init). */
    char what[96]; /* names the case in every message */
    size_t len;    /* the topic's length */
    void *arg;     /* the caller's */
    /* Subscribes (on = 1) or cancels (on = 0) topic, as the subscriber
     * does it. */
    void (*ctl)(ss_case_t *c, int on, const void *topic, size_t len);
    /* Publishes round k of phase SS_DELIVER or SS_CANCEL (subsize_wire.h). */
    void (*publish)(ss_case_t *c, int phase, unsigned k);
    /* The next message before until (tu_now_ms() time): 0 with msg and
     * msg_len set (valid until the next call), -1 when nothing came, -2
     * when waiting longer is pointless (the connection broke; it printed
     * why with ss_fail). */
    int (*recv)(ss_case_t *c, int64_t until);
    /* Filled by ss_init and the functions below. */
    unsigned char *topic, *near;
    unsigned round; /* the next round's number */
    const unsigned char *msg;
    size_t msg_len;
};

static inline void ss_fail(const ss_case_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAILED (%s): ", c->what);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static inline void ss_init(ss_case_t *c, size_t len)
{
    c->len = len;
    c->topic = malloc(len + 1);
    c->near = malloc(len + 1);
    CHECK(c->topic != NULL && c->near != NULL);
    ss_topic(c->topic, len);
    ss_near(c->near, c->topic, len);
    c->round = 0;
}

static inline void ss_free(ss_case_t *c)
{
    free(c->topic);
    free(c->near);
    c->topic = c->near = NULL;
}

/* Subscribes (on = 1) or cancels (on = 0) topic on a libzmq socket the
 * way its type does: options for SUB, "\x01topic" / "\x00topic" messages
 * for XSUB. */
static inline void ss_socket_ctl(void *sock, int type, int on, const void *topic,
                                 size_t len)
{
    if (type == ZMQ_SUB) {
        CHECK_EQ(zmq_setsockopt(sock, on ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, topic, len),
                 0);
        return;
    }
    unsigned char *m = malloc(len + 1);
    CHECK(m != NULL);
    m[0] = (unsigned char)on;
    if (len > 0)
        memcpy(m + 1, topic, len);
    CHECK_EQ(zmq_send(sock, m, len + 1, 0), (int)(len + 1));
    free(m);
}

/* The next message, classified: SS_K_TOPIC, SS_K_PROBE or SS_K_MARK with
 * *round set; -1 when nothing came before until; -2 (printed) for a
 * near-miss, a message that is none of ours, or a broken connection. */
static inline int ss_next(ss_case_t *c, int64_t until, unsigned *round)
{
    int rc = c->recv(c, until);
    if (rc != 0)
        return rc == -1 ? -1 : -2;
    int kind = ss_classify(c->topic, c->near, c->len, c->msg, c->msg_len, round);
    if (kind == SS_K_NEAR) {
        ss_fail(c,
                "received near-miss #%u (the topic with its last byte changed): the "
                "publisher holds a subscription that is not the whole topic",
                *round);
        return -2;
    }
    if (kind == SS_K_OTHER) {
        char s[128];
        ss_fail(c, "received an unexpected message of %zu bytes \"%s\"", c->msg_len,
                ss_show(c->msg, c->msg_len, s, sizeof s));
        return -2;
    }
    return kind;
}

/* 0 when the topic's messages are delivered; -1 (printed) if not within
 * phase_ms, or as soon as the subscription is known to be lost. */
static inline int ss_deliver(ss_case_t *c, int phase_ms, int pace_ms)
{
    c->ctl(c, 1, c->topic, c->len);
    c->ctl(c, 1, SS_PROBE, 2);
    int64_t deadline = tu_now_ms() + phase_ms;
    unsigned probes = 0, first_probe = 0, rounds = 0;
    for (;;) {
        if (tu_now_ms() > deadline) {
            ss_fail(c,
                    "no topic message and %u probe(s) in %d ms (%u rounds): the "
                    "subscriptions never took effect",
                    probes, phase_ms, rounds);
            return -1;
        }
        unsigned k = c->round++;
        rounds++;
        c->publish(c, SS_DELIVER, k);
        int64_t pace = tu_now_ms() + pace_ms;
        for (;;) {
            unsigned r;
            int kind = ss_next(c, pace, &r);
            if (kind == -1)
                break;
            if (kind < 0)
                return -1;
            if (kind == SS_K_TOPIC) {
                printf("%s: delivered (topic #%u, after %u round(s))\n", c->what, r,
                       rounds);
                return 0;
            }
            if (kind == SS_K_MARK) {
                ss_fail(c, "received marker #%u, which nobody subscribed to yet", r);
                return -1;
            }
            /* A probe: its subscription followed the topic's. */
            if (probes++ > 0) {
                ss_fail(c,
                        "probes #%u and #%u arrived, topic #%u published between "
                        "them did not: the publisher applied the probe's subscription "
                        "but never got the topic's (SUBSCRIBE lost)",
                        first_probe, r, first_probe + 1);
                return -1;
            }
            first_probe = r;
            if (r == k)
                break;
        }
    }
}

/* 0 when the cancel stops the topic's messages; -1 (printed) if not within
 * phase_ms, or as soon as a topic message arrives where it cannot. */
static inline int ss_cancel(ss_case_t *c, int phase_ms, int pace_ms)
{
    c->ctl(c, 0, c->topic, c->len);
    c->ctl(c, 1, SS_MARK, 2);
    unsigned first = c->round;
    int64_t deadline = tu_now_ms() + phase_ms;
    int have_mark = 0, topic_since_mark = 0, effect = 0;
    unsigned last_mark = 0, effect_at = 0, after = 0, late = 0, rounds = 0;
    for (;;) {
        if (tu_now_ms() > deadline) {
            if (!have_mark)
                ss_fail(c,
                        "no marker in %d ms (%u rounds): the subscription sent after "
                        "the cancel never took effect",
                        phase_ms, rounds);
            else
                ss_fail(c,
                        "topic messages kept arriving between markers for %d ms (%u "
                        "rounds): the cancel never took effect",
                        phase_ms, rounds);
            return -1;
        }
        unsigned k = c->round++;
        rounds++;
        c->publish(c, SS_CANCEL, k);
        int64_t pace = tu_now_ms() + pace_ms;
        for (;;) {
            unsigned r;
            int kind = ss_next(c, pace, &r);
            if (kind == -1)
                break;
            if (kind < 0)
                return -1;
            if (kind == SS_K_PROBE) {
                /* Late copies of the delivery phase's probes only. */
                if (r >= first) {
                    ss_fail(c, "received probe #%u, published in no round", r);
                    return -1;
                }
                continue;
            }
            if (kind == SS_K_TOPIC) {
                if (effect) {
                    ss_fail(c,
                            "topic #%u arrived after the cancel had taken effect (topic "
                            "#%u was filtered)",
                            r, effect_at);
                    return -1;
                }
                if (have_mark && c->len > 0) {
                    ss_fail(c,
                            "topic #%u arrived after marker #%u, whose subscription was "
                            "sent after the cancel: the cancel was lost",
                            r, last_mark);
                    return -1;
                }
                topic_since_mark = 1;
                late++;
                continue;
            }
            /* A marker. */
            if (have_mark && !topic_since_mark) {
                if (!effect) {
                    effect = 1;
                    effect_at = last_mark + 1;
                } else if (++after == SS_AFTER) {
                    printf("%s: cancelled (in effect by topic #%u, which was filtered; "
                           "%u topic message(s) arrived before; none in %u more "
                           "rounds)\n",
                           c->what, effect_at, late, SS_AFTER);
                    return 0;
                }
            }
            have_mark = 1;
            last_mark = r;
            topic_since_mark = 0;
            if (r == k)
                break;
        }
    }
}

#endif

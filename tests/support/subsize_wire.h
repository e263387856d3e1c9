/*
 * Subscriptions of every size: what a publisher and a subscriber of the
 * subscribe-size tests agree on. Header-only and free of zmtls and libzmq,
 * so that the interop stock peer (linked with libzmq only) uses it too.
 *
 * A topic of length L is letters and digits that depend on L and on the
 * offset, never '~' or '#', so a truncated or shifted topic is a different
 * one and no topic is a prefix of another test's. Its near-miss is the
 * topic with the last byte changed: a publisher that holds anything but the
 * whole topic (a truncation) lets it through.
 *
 * Every published message is one frame: prefix "#" round, the round a
 * decimal number, the prefix a topic, a near-miss, SS_PROBE or SS_MARK.
 */
#ifndef ZMTLS_SUBSIZE_WIRE_H
#define ZMTLS_SUBSIZE_WIRE_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Short topics the subscriber subscribes to after the one under test:
 * the probe after subscribing it, the marker after cancelling it. */
#define SS_PROBE "~p"
#define SS_MARK  "~m"

/* Room after a prefix for "#" and a round number. */
#define SS_SUFFIX_MAX 16

/* Phases, and what a publisher publishes in round k of each. */
enum {
    SS_DELIVER = 1, /* near-miss#k (not for L = 0), topic#k, ~p#k */
    SS_CANCEL = 2   /* topic#k, ~m#k */
};

/* What a received frame is (ss_classify). */
enum { SS_K_TOPIC, SS_K_NEAR, SS_K_PROBE, SS_K_MARK, SS_K_OTHER };

/* The topic of length len into out (len bytes). */
static inline void ss_topic(unsigned char *out, size_t len)
{
    static const char alphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)alphabet[(i * 7 + i / 62 + len) % 62];
}

/* The near-miss of topic (len bytes) into out: the same but the last byte. */
static inline void ss_near(unsigned char *out, const unsigned char *topic, size_t len)
{
    if (len == 0)
        return;
    memcpy(out, topic, len);
    out[len - 1] = topic[len - 1] == 'x' ? 'y' : 'x';
}

/* prefix "#" round into out (plen + SS_SUFFIX_MAX bytes); returns the
 * frame's length. */
static inline size_t ss_frame(unsigned char *out, const void *prefix, size_t plen,
                              unsigned round)
{
    if (plen > 0)
        memcpy(out, prefix, plen);
    int n = snprintf((char *)out + plen, SS_SUFFIX_MAX, "#%u", round);
    return plen + (size_t)n;
}

/* "#digits" from off to the end of d: 1 with *round set, else 0. */
static inline int ss_suffix(const unsigned char *d, size_t n, size_t off, unsigned *round)
{
    if (off >= n || d[off] != '#' || n - off < 2 || n - off > 11)
        return 0;
    unsigned v = 0;
    for (size_t i = off + 1; i < n; i++) {
        if (d[i] < '0' || d[i] > '9')
            return 0;
        v = v * 10 + (unsigned)(d[i] - '0');
    }
    *round = v;
    return 1;
}

/* Which of our frames d (n bytes) is, for the topic of length len and its
 * near-miss; *round set unless SS_K_OTHER. */
static inline int ss_classify(const unsigned char *topic, const unsigned char *near,
                              size_t len, const unsigned char *d, size_t n,
                              unsigned *round)
{
    if (n >= 2 && memcmp(d, SS_PROBE, 2) == 0 && ss_suffix(d, n, 2, round))
        return SS_K_PROBE;
    if (n >= 2 && memcmp(d, SS_MARK, 2) == 0 && ss_suffix(d, n, 2, round))
        return SS_K_MARK;
    if (n > len && memcmp(d, topic, len) == 0 && ss_suffix(d, n, len, round))
        return SS_K_TOPIC;
    if (len > 0 && n > len && memcmp(d, near, len) == 0 && ss_suffix(d, n, len, round))
        return SS_K_NEAR;
    return SS_K_OTHER;
}

/* Up to the first 24 bytes of d, printable, into out, for messages. */
static inline const char *ss_show(const void *d, size_t n, char *out, size_t cap)
{
    const unsigned char *p = d;
    size_t o = 0;
    for (size_t i = 0; i < n && i < 24 && o + 5 < cap; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
            out[o++] = (char)p[i];
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
    }
    if (n > 24 && o + 4 < cap)
        o += (size_t)snprintf(out + o, cap - o, "...");
    out[o] = '\0';
    return out;
}

#endif

/*
 * What both sides of an interop test agree on: the scripted messages and
 * the one-line description of a message that the stock peer prints and the
 * test compares. Header-only and free of zmtls and libzmq so that
 * stock_peer.c, which must link libzmq only, can include it too.
 *
 * A description is "n=<parts> lens=<l0,l1,...> crc=<crc32>", the CRC-32
 * (IEEE) taken over every part preceded by its length as 4 big-endian
 * bytes, so a part boundary that moved, a dropped empty part or a changed
 * byte all change the line.
 */
#ifndef ZMTLS_INTEROP_WIRE_H
#define ZMTLS_INTEROP_WIRE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IW_PARTS_MAX 8

/* Big enough for "n=8 lens=" + 8 lengths + crc, and the routing id. */
#define IW_DESC_MAX 256

/* Topic prefixes of the PUB/SUB script: subscribers subscribe to
 * IW_TOPIC_ON and must never see a message starting with IW_TOPIC_OFF. */
#define IW_TOPIC_ON  "A."
#define IW_TOPIC_OFF "B."
/* A publisher sends IW_PROBE until the subscriber has seen one (slow
 * joiner: PUB drops what it sends before the subscription arrives), and
 * IW_END after the script, so the subscriber knows every message that was
 * going to arrive has arrived. Both start with IW_TOPIC_ON. */
#define IW_PROBE IW_TOPIC_ON "probe"
#define IW_END   IW_TOPIC_ON "end"

/* Topic of script message i from a publisher: every kind of message
 * appears once under each topic in any 8 consecutive ones (0, 2, 5, 7 are
 * on), so the 1 MiB message 6 is one a filtering publisher never sends. */
static inline const char *iw_pub_topic(unsigned i)
{
    return (i + i / 4) % 2 == 0 ? IW_TOPIC_ON : IW_TOPIC_OFF;
}

/* The larger message: a long (8-byte size) ZMTP frame that spans many TLS
 * records and many stunnel reads. */
#define IW_BIG_LEN (1u << 20)

typedef struct iw_msg {
    size_t n;
    size_t len[IW_PARTS_MAX];
    unsigned char *data[IW_PARTS_MAX];
} iw_msg_t;

static inline uint32_t iw_crc_update(uint32_t crc, const void *buf, size_t len)
{
    static uint32_t table[256];
    if (table[1] == 0) {
        /* Racing threads would compute the same table; none of our
         * programs calls this from two threads anyway. */
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    }
    const unsigned char *p = buf;
    crc = ~crc;
    while (len-- > 0)
        crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* Writes the description of n parts to out (IW_DESC_MAX bytes). */
static inline void iw_describe(size_t n, const void *const data[], const size_t len[],
                               char *out)
{
    uint32_t crc = 0;
    size_t used = (size_t)snprintf(out, IW_DESC_MAX, "n=%zu lens=", n);
    for (size_t i = 0; i < n; i++) {
        unsigned char be[4] = {(unsigned char)(len[i] >> 24),
                               (unsigned char)(len[i] >> 16),
                               (unsigned char)(len[i] >> 8), (unsigned char)len[i]};
        crc = iw_crc_update(crc, be, sizeof be);
        crc = iw_crc_update(crc, data[i], len[i]);
        if (used < IW_DESC_MAX)
            used += (size_t)snprintf(out + used, IW_DESC_MAX - used, "%s%zu",
                                     i > 0 ? "," : "", len[i]);
    }
    if (n == 0 && used < IW_DESC_MAX)
        used += (size_t)snprintf(out + used, IW_DESC_MAX - used, "-");
    if (used < IW_DESC_MAX)
        snprintf(out + used, IW_DESC_MAX - used, " crc=%08x", (unsigned)crc);
}

static inline void iw_msg_describe(const iw_msg_t *m, char *out)
{
    const void *data[IW_PARTS_MAX];
    for (size_t i = 0; i < m->n; i++)
        data[i] = m->data[i];
    iw_describe(m->n, data, m->len, out);
}

/* Lower-case hex of a routing id, "-" when empty; out holds IW_DESC_MAX. */
static inline void iw_hex(const void *buf, size_t len, char *out)
{
    const unsigned char *p = buf;
    size_t i = 0;
    for (; i < len && 2 * i + 2 < IW_DESC_MAX; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    if (i == 0)
        snprintf(out, IW_DESC_MAX, "-");
}

static inline unsigned char *iw_part(iw_msg_t *m, size_t len)
{
    unsigned char *p = malloc(len > 0 ? len : 1);
    if (p == NULL) {
        fprintf(stderr, "iw_part: out of memory\n");
        exit(1);
    }
    m->data[m->n] = p;
    m->len[m->n] = len;
    m->n++;
    return p;
}

/* Bytes that depend on the message, the part and the offset, so a part
 * delivered to the wrong message or shifted by one byte shows. */
static inline void iw_fill(unsigned char *p, size_t len, unsigned msg, unsigned part)
{
    for (size_t k = 0; k < len; k++)
        p[k] = (unsigned char)(k * 31u + msg * 7u + part * 13u + (k >> 8));
}

/*
 * Message i of the script. prefix (e.g. a topic, or "") starts the first
 * part. The four kinds cycle, so any N >= 4 covers every one:
 *   0: one short frame                 "<prefix>msg-<i>"
 *   1: three parts with an empty one   "<prefix>msg-<i>", "", 300 x 'g'
 *   2: the larger message              "<prefix>msg-<i>", 1 MiB of pattern
 *   3: five parts around the 255/256 short/long frame boundary, with a
 *      zero byte and a 64 KiB part    "<prefix>msg-<i>", 1, 255, 256, 65536
 */
static inline void iw_script(iw_msg_t *m, unsigned i, const char *prefix)
{
    char head[64];
    int hn = snprintf(head, sizeof head, "%smsg-%u", prefix, i);
    if (hn < 0 || (size_t)hn >= sizeof head) {
        fprintf(stderr, "iw_script: prefix too long\n");
        exit(1);
    }
    m->n = 0;
    memcpy(iw_part(m, (size_t)hn), head, (size_t)hn);
    switch (i % 4) {
    case 0:
        break;
    case 1:
        iw_part(m, 0);
        memset(iw_part(m, 300), 'g', 300);
        break;
    case 2:
        iw_fill(iw_part(m, IW_BIG_LEN), IW_BIG_LEN, i, 1);
        break;
    default: {
        static const size_t lens[4] = {1, 255, 256, 65536};
        for (unsigned k = 0; k < 4; k++)
            iw_fill(iw_part(m, lens[k]), lens[k], i, k + 1);
        m->data[1][0] = 0; /* a lone zero byte */
        break;
    }
    }
}

static inline void iw_msg_free(iw_msg_t *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->data[i]);
    m->n = 0;
}

/* Description of script message i, with the empty delimiter a REQ adds in
 * front when delimited is 1 (what a ROUTER facing a REQ sees). */
static inline void iw_script_describe(unsigned i, const char *prefix, int delimited,
                                      char *out)
{
    iw_msg_t m;
    iw_script(&m, i, prefix);
    const void *data[IW_PARTS_MAX + 1];
    size_t len[IW_PARTS_MAX + 1];
    size_t n = 0;
    if (delimited) {
        data[n] = "";
        len[n++] = 0;
    }
    for (size_t k = 0; k < m.n; k++) {
        data[n] = m.data[k];
        len[n++] = m.len[k];
    }
    iw_describe(n, data, len, out);
    iw_msg_free(&m);
}

#endif

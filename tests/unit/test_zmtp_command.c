/*
 * Command codec: name/data split, metadata iteration, READY, ERROR,
 * PING/PONG, SUBSCRIBE/CANCEL. Exact wire bytes, round trips, malformed and
 * truncated input, encoders refusing small buffers without writing.
 */
#include "zmtp/zmtp.h"

#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

static int tests_run;

/* Heap copy of exactly n bytes so sanitizers see over-reads; freed by the
 * caller. */
static uint8_t *dup_exact(const void *p, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    CHECK(copy != NULL);
    if (n)
        memcpy(copy, p, n);
    return copy;
}

/* Appends one property to buf at *len. */
static void add_prop(uint8_t *buf, size_t *len, const char *name, const void *value,
                     size_t value_len)
{
    size_t n = strlen(name);
    buf[(*len)++] = (uint8_t)n;
    memcpy(buf + *len, name, n);
    *len += n;
    buf[(*len)++] = (uint8_t)(value_len >> 24);
    buf[(*len)++] = (uint8_t)(value_len >> 16);
    buf[(*len)++] = (uint8_t)(value_len >> 8);
    buf[(*len)++] = (uint8_t)value_len;
    if (value_len)
        memcpy(buf + *len, value, value_len);
    *len += value_len;
}

/* Splits a whole command frame; checks the header is a COMMAND exactly
 * covering the buffer. */
static void split_frame(const uint8_t *frame, size_t len, zmtp_command_t *cmd)
{
    zmtp_frame_header_t h;
    CHECK_EQ(zmtp_frame_header_decode(frame, len, UINT64_MAX, &h), ZMTP_OK);
    CHECK_EQ(h.flags, ZMTP_FLAG_COMMAND);
    CHECK_EQ(h.header_len, h.size <= 255 ? 2 : 9);
    CHECK_EQ(h.header_len + h.size, len);
    CHECK_EQ(zmtp_command_parse(frame + h.header_len, (size_t)h.size, cmd), ZMTP_OK);
}

static void test_command_parse(void)
{
    zmtp_command_t c;
    static const uint8_t ready[] = "\x05READYxyz";
    CHECK_EQ(zmtp_command_parse(ready, 9, &c), ZMTP_OK);
    CHECK_EQ(c.name_len, 5);
    CHECK(c.name == ready + 1);
    CHECK_EQ(c.data_len, 3);
    CHECK(c.data == ready + 6);
    CHECK(zmtp_command_is(&c, "READY"));
    CHECK(!zmtp_command_is(&c, "ready"));
    CHECK(!zmtp_command_is(&c, "READ"));
    CHECK(!zmtp_command_is(&c, "READYX"));
    CHECK(!zmtp_command_is(&c, ""));
    CHECK(!zmtp_command_is(NULL, "READY"));
    CHECK(!zmtp_command_is(&c, NULL));

    /* Name only: empty data. */
    CHECK_EQ(zmtp_command_parse(ready, 6, &c), ZMTP_OK);
    CHECK_EQ(c.data_len, 0);

    /* Empty body, empty name, name running past the end. */
    CHECK_EQ(zmtp_command_parse(ready, 0, &c), ZMTP_E_COMMAND);
    CHECK_EQ(zmtp_command_parse(NULL, 0, &c), ZMTP_E_COMMAND);
    static const uint8_t noname[] = {0x00, 'A'};
    CHECK_EQ(zmtp_command_parse(noname, 2, &c), ZMTP_E_COMMAND);
    for (size_t len = 1; len < 6; len++) {
        uint8_t *p = dup_exact(ready, len);
        CHECK_EQ(zmtp_command_parse(p, len, &c), ZMTP_E_COMMAND);
        free(p);
    }
    static const uint8_t overlong[] = {0xFF, 'A', 'B'};
    CHECK_EQ(zmtp_command_parse(overlong, 3, &c), ZMTP_E_COMMAND);

    /* Names are letters only. */
    static const char *const bad[] = {"\x05RE-DY", "\x05READ\x00", "\x04PIN1", "\x02 A"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ(zmtp_command_parse((const uint8_t *)bad[i], 1 + (size_t)bad[i][0], &c),
                 ZMTP_E_COMMAND);

    /* The longest name. */
    uint8_t big[1 + 255 + 2];
    big[0] = 255;
    memset(big + 1, 'Z', 255);
    big[256] = 1;
    big[257] = 2;
    CHECK_EQ(zmtp_command_parse(big, sizeof big, &c), ZMTP_OK);
    CHECK_EQ(c.name_len, 255);
    CHECK_EQ(c.data_len, 2);
    tests_run++;
}

static void test_property_iteration(void)
{
    uint8_t buf[512];
    size_t len = 0;
    add_prop(buf, &len, "Socket-Type", "REQ", 3);
    add_prop(buf, &len, "X-Empty", "", 0);
    add_prop(buf, &len, "Resource", "a/b", 3);

    size_t pos = 0;
    zmtp_property_t p;
    CHECK_EQ(zmtp_property_next(buf, len, &pos, &p), ZMTP_OK);
    CHECK_EQ(p.name_len, 11);
    CHECK(memcmp(p.name, "Socket-Type", 11) == 0);
    CHECK_EQ(p.value_len, 3);
    CHECK(memcmp(p.value, "REQ", 3) == 0);
    CHECK_EQ(pos, 1 + 11 + 4 + 3);
    CHECK_EQ(zmtp_property_next(buf, len, &pos, &p), ZMTP_OK);
    CHECK(zmtp_property_is(&p, "x-empty"));
    CHECK_EQ(p.value_len, 0);
    CHECK_EQ(zmtp_property_next(buf, len, &pos, &p), ZMTP_OK);
    CHECK(zmtp_property_is(&p, "RESOURCE"));
    CHECK_EQ(pos, len);
    CHECK_EQ(zmtp_property_next(buf, len, &pos, &p), ZMTP_NEED_MORE);
    CHECK_EQ(pos, len);

    /* An empty list is finished at once. */
    pos = 0;
    CHECK_EQ(zmtp_property_next(NULL, 0, &pos, &p), ZMTP_NEED_MORE);
    /* A position past the end is a caller error, not "finished". */
    pos = len + 1;
    CHECK_EQ(zmtp_property_next(buf, len, &pos, &p), ZMTP_E_METADATA);
    CHECK_EQ(zmtp_property_next(buf, len, NULL, &p), ZMTP_E_METADATA);

    /* zmtp_property_is. */
    zmtp_property_t q = {(const uint8_t *)"Socket-Type", 11, NULL, 0};
    CHECK(zmtp_property_is(&q, "socket-type"));
    CHECK(zmtp_property_is(&q, "SOCKET-TYPE"));
    CHECK(!zmtp_property_is(&q, "Socket-Typ"));
    CHECK(!zmtp_property_is(&q, "Socket_Type"));
    CHECK(!zmtp_property_is(NULL, "x"));
    tests_run++;
}

static void test_property_malformed(void)
{
    zmtp_property_t p;
    size_t pos;

    /* Zero-length name. */
    static const uint8_t noname[] = {0, 0, 0, 0, 0};
    pos = 0;
    CHECK_EQ(zmtp_property_next(noname, sizeof noname, &pos, &p), ZMTP_E_METADATA);
    CHECK_EQ(pos, 0);

    /* Value length beyond the data, at INT32_MAX, and above it. */
    uint8_t buf[64];
    size_t len = 0;
    add_prop(buf, &len, "A", "xyz", 3);
    buf[2 + 3] = 4;
    pos = 0;
    CHECK_EQ(zmtp_property_next(buf, len, &pos, &p), ZMTP_E_METADATA);
    static const uint8_t at_max[] = {1, 'A', 0x7F, 0xFF, 0xFF, 0xFF, 'x'};
    pos = 0;
    CHECK_EQ(zmtp_property_next(at_max, sizeof at_max, &pos, &p), ZMTP_E_METADATA);
    static const uint8_t over_max[] = {1, 'A', 0x80, 0, 0, 0};
    pos = 0;
    CHECK_EQ(zmtp_property_next(over_max, sizeof over_max, &pos, &p), ZMTP_E_METADATA);
    static const uint8_t huge[] = {1, 'A', 0xFF, 0xFF, 0xFF, 0xFF};
    pos = 0;
    CHECK_EQ(zmtp_property_next(huge, sizeof huge, &pos, &p), ZMTP_E_METADATA);

    /* Every truncation of a two-property list: OK only at the boundary,
     * otherwise an error, never an over-read. */
    len = 0;
    add_prop(buf, &len, "Socket-Type", "PAIR", 4);
    size_t boundary = len;
    add_prop(buf, &len, "Identity", "id", 2);
    for (size_t cut = 0; cut <= len; cut++) {
        uint8_t *c = dup_exact(buf, cut);
        pos = 0;
        int n = 0, rc;
        while ((rc = zmtp_property_next(c, cut, &pos, &p)) == ZMTP_OK)
            n++;
        free(c);
        if (cut == 0) {
            CHECK_EQ(rc, ZMTP_NEED_MORE);
        } else if (cut == boundary || cut == len) {
            CHECK_EQ(rc, ZMTP_NEED_MORE);
            CHECK_EQ(n, cut == len ? 2 : 1);
        } else {
            CHECK_EQ(rc, ZMTP_E_METADATA);
            CHECK_EQ(n, cut > boundary ? 1 : 0);
        }
    }
    tests_run++;
}

static void test_ready_wire_bytes(void)
{
    /* rfc 23's worked example: a ROUTER's READY is 28 bytes of body. */
    uint8_t f[64];
    static const uint8_t want[] =
        "\x04\x1c\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER";
    CHECK_EQ(zmtp_ready_size(ZMQ_ROUTER, 0), sizeof want - 1);
    CHECK_EQ(zmtp_ready_encode(f, sizeof f, ZMQ_ROUTER, NULL, 0), sizeof want - 1);
    CHECK(memcmp(f, want, sizeof want - 1) == 0);

    static const uint8_t want_id[] = "\x04\x2a\x05READY\x0bSocket-Type\x00\x00\x00\x06"
                                     "DEALER\x08Identity\x00\x00\x00\x01Q";
    CHECK_EQ(zmtp_ready_encode(f, sizeof f, ZMQ_DEALER, (const uint8_t *)"Q", 1),
             sizeof want_id - 1);
    CHECK(memcmp(f, want_id, sizeof want_id - 1) == 0);
    tests_run++;
}

static void test_ready_round_trip(void)
{
    static const int types[] = {ZMQ_PAIR, ZMQ_PUB,    ZMQ_SUB,    ZMQ_REQ,
                                ZMQ_REP,  ZMQ_DEALER, ZMQ_ROUTER, ZMQ_PULL,
                                ZMQ_PUSH, ZMQ_XPUB,   ZMQ_XSUB};
    static const size_t id_lens[] = {0, 1, 5, 200, 255};
    uint8_t id[255];
    for (size_t i = 0; i < sizeof id; i++)
        id[i] = (uint8_t)(i + 1);

    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        for (size_t k = 0; k < sizeof id_lens / sizeof id_lens[0]; k++) {
            size_t il = id_lens[k];
            uint8_t frame[512];
            size_t need = zmtp_ready_size(types[t], il);
            CHECK(need > 0);
            CHECK_EQ(zmtp_ready_encode(frame, sizeof frame, types[t], id, il), need);

            zmtp_command_t c;
            split_frame(frame, need, &c);
            CHECK(zmtp_command_is(&c, "READY"));
            zmtp_ready_t r;
            CHECK_EQ(zmtp_ready_parse(c.data, c.data_len, &r), ZMTP_OK);
            CHECK_EQ(r.socket_type, types[t]);
            CHECK_EQ(r.identity_len, il);
            if (il == 0) {
                CHECK(r.identity == NULL);
            } else {
                CHECK(r.identity >= c.data && r.identity + il <= c.data + c.data_len);
                CHECK(memcmp(r.identity, id, il) == 0);
            }

            /* Smaller buffers are refused without a byte written. */
            uint8_t guard[512];
            for (size_t cap = 0; cap < need; cap++) {
                memset(guard, 0xAA, sizeof guard);
                CHECK_EQ(zmtp_ready_encode(guard, cap, types[t], id, il), 0);
                for (size_t b = 0; b < sizeof guard; b++)
                    CHECK_EQ(guard[b], 0xAA);
            }
            CHECK_EQ(zmtp_ready_encode(guard, need, types[t], id, il), need);
        }
    }
    /* A 255-byte identity pushes the body past 255: long form. */
    uint8_t frame[512];
    size_t n = zmtp_ready_encode(frame, sizeof frame, ZMQ_ROUTER, id, 255);
    CHECK_EQ(frame[0], ZMTP_FLAG_COMMAND | ZMTP_FLAG_LONG);
    CHECK_EQ(n, 9 + 6 + 22 + 13 + 255);
    tests_run++;
}

static void test_ready_encode_refuses(void)
{
    uint8_t f[512];
    uint8_t id[256] = {1};
    CHECK_EQ(zmtp_ready_size(ZMQ_STREAM, 0), 0);
    CHECK_EQ(zmtp_ready_size(-1, 0), 0);
    CHECK_EQ(zmtp_ready_size(99, 0), 0);
    CHECK_EQ(zmtp_ready_size(ZMQ_DEALER, 256), 0);
    CHECK_EQ(zmtp_ready_encode(f, sizeof f, ZMQ_STREAM, NULL, 0), 0);
    CHECK_EQ(zmtp_ready_encode(f, sizeof f, 12, NULL, 0), 0);
    CHECK_EQ(zmtp_ready_encode(f, sizeof f, ZMQ_DEALER, id, 256), 0);
    CHECK_EQ(zmtp_ready_encode(f, sizeof f, ZMQ_DEALER, NULL, 3), 0);
    tests_run++;
}

static int ready_parse_exact(const uint8_t *data, size_t len, zmtp_ready_t *r)
{
    uint8_t *c = dup_exact(data, len);
    int rc = zmtp_ready_parse(c, len, r);
    /* Pointers into the copy must not escape it. */
    if (rc == ZMTP_OK && r->identity != NULL)
        CHECK(r->identity >= c && r->identity + r->identity_len <= c + len);
    free(c);
    return rc;
}

static void test_ready_parse_properties(void)
{
    uint8_t d[1024];
    size_t len;
    zmtp_ready_t r;

    /* Case-insensitive names, unknown properties skipped in any position. */
    len = 0;
    add_prop(d, &len, "X-Hostname", "box", 3);
    add_prop(d, &len, "sOCKET-tYPE", "PUB", 3);
    add_prop(d, &len, "Resource", "svc", 3);
    add_prop(d, &len, "IDENTITY", "me", 2);
    add_prop(d, &len, "User-Id", "", 0);
    CHECK_EQ(ready_parse_exact(d, len, &r), ZMTP_OK);
    CHECK_EQ(r.socket_type, ZMQ_PUB);
    CHECK_EQ(r.identity_len, 2);

    /* Empty Identity reads as absent. */
    len = 0;
    add_prop(d, &len, "Socket-Type", "DEALER", 6);
    add_prop(d, &len, "Identity", "", 0);
    CHECK_EQ(ready_parse_exact(d, len, &r), ZMTP_OK);
    CHECK(r.identity == NULL);
    CHECK_EQ(r.identity_len, 0);

    /* Missing Socket-Type, including empty data. */
    CHECK_EQ(ready_parse_exact(d, 0, &r), ZMTP_E_SOCKET_TYPE);
    len = 0;
    add_prop(d, &len, "Identity", "me", 2);
    add_prop(d, &len, "Socket-Typ", "REQ", 3);
    CHECK_EQ(ready_parse_exact(d, len, &r), ZMTP_E_SOCKET_TYPE);

    /* Unknown or wrongly spelled values. */
    static const char *const bad_types[] = {"",       "FOO",  "dealer", "STREAM",
                                            "CLIENT", "REQ ", "PUBX",   "RE"};
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        len = 0;
        add_prop(d, &len, "Socket-Type", bad_types[i], strlen(bad_types[i]));
        CHECK_EQ(ready_parse_exact(d, len, &r), ZMTP_E_SOCKET_TYPE);
    }

    /* Repeats and an oversized identity. */
    len = 0;
    add_prop(d, &len, "Socket-Type", "REQ", 3);
    add_prop(d, &len, "socket-type", "REQ", 3);
    CHECK_EQ(ready_parse_exact(d, len, &r), ZMTP_E_READY);
    len = 0;
    add_prop(d, &len, "Socket-Type", "REQ", 3);
    add_prop(d, &len, "Identity", "a", 1);
    add_prop(d, &len, "Identity", "b", 1);
    CHECK_EQ(ready_parse_exact(d, len, &r), ZMTP_E_READY);
    uint8_t id[256];
    memset(id, 'i', sizeof id);
    len = 0;
    add_prop(d, &len, "Socket-Type", "REQ", 3);
    add_prop(d, &len, "Identity", id, 255);
    CHECK_EQ(ready_parse_exact(d, len, &r), ZMTP_OK);
    CHECK_EQ(r.identity_len, 255);
    len = 0;
    add_prop(d, &len, "Socket-Type", "REQ", 3);
    add_prop(d, &len, "Identity", id, 256);
    CHECK_EQ(ready_parse_exact(d, len, &r), ZMTP_E_READY);

    /* A broken list is metadata trouble even after a good Socket-Type. */
    len = 0;
    add_prop(d, &len, "Socket-Type", "REQ", 3);
    d[len++] = 0;
    CHECK_EQ(ready_parse_exact(d, len, &r), ZMTP_E_METADATA);

    /* A large unknown value is skipped, not copied or limited. */
    static uint8_t bigval[70000];
    static uint8_t bigdata[70100];
    len = 0;
    add_prop(bigdata, &len, "X-Blob", bigval, sizeof bigval);
    add_prop(bigdata, &len, "Socket-Type", "SUB", 3);
    CHECK_EQ(ready_parse_exact(bigdata, len, &r), ZMTP_OK);
    CHECK_EQ(r.socket_type, ZMQ_SUB);
    tests_run++;
}

static void test_ready_truncation(void)
{
    uint8_t d[256];
    size_t len = 0, boundaries[3];
    add_prop(d, &len, "Socket-Type", "ROUTER", 6);
    boundaries[0] = len;
    add_prop(d, &len, "Identity", "abc", 3);
    boundaries[1] = len;
    add_prop(d, &len, "X-Z", "12345", 5);
    boundaries[2] = len;
    for (size_t cut = 0; cut < len; cut++) {
        zmtp_ready_t r;
        int rc = ready_parse_exact(d, cut, &r);
        int at_boundary = cut == boundaries[0] || cut == boundaries[1];
        if (at_boundary)
            CHECK_EQ(rc, ZMTP_OK);
        else
            CHECK(rc < 0);
    }
    zmtp_ready_t r;
    CHECK_EQ(ready_parse_exact(d, boundaries[2], &r), ZMTP_OK);
    CHECK_EQ(r.identity_len, 3);

    /* And a whole frame cut at every offset: the header decoder and the
     * command splitter never see bytes that are not there. */
    uint8_t frame[64];
    size_t n = zmtp_ready_encode(frame, sizeof frame, ZMQ_REQ, (const uint8_t *)"abc", 3);
    CHECK(n > 0);
    for (size_t cut = 0; cut <= n; cut++) {
        uint8_t *c = dup_exact(frame, cut);
        zmtp_frame_header_t h;
        int rc = zmtp_frame_header_decode(c, cut, 4096, &h);
        if (cut < 2) {
            CHECK_EQ(rc, ZMTP_NEED_MORE);
        } else {
            CHECK_EQ(rc, ZMTP_OK);
            size_t avail = cut - h.header_len;
            zmtp_command_t cmd;
            if (avail < h.size) {
                /* A caller would wait; the splitter on the partial body
                 * must still be safe. */
                int prc = zmtp_command_parse(c + h.header_len, avail, &cmd);
                CHECK(prc == ZMTP_OK || prc == ZMTP_E_COMMAND);
                if (prc == ZMTP_OK) {
                    zmtp_ready_t rr;
                    (void)zmtp_ready_parse(cmd.data, cmd.data_len, &rr);
                }
            } else {
                CHECK_EQ(zmtp_command_parse(c + h.header_len, avail, &cmd), ZMTP_OK);
                zmtp_ready_t rr;
                CHECK_EQ(zmtp_ready_parse(cmd.data, cmd.data_len, &rr), ZMTP_OK);
                CHECK_EQ(rr.socket_type, ZMQ_REQ);
            }
        }
        free(c);
    }
    tests_run++;
}

static void test_error(void)
{
    uint8_t f[300];
    static const uint8_t want[] = "\x04\x0a\x05"
                                  "ERROR\x03"
                                  "400";
    CHECK_EQ(zmtp_error_encode(f, sizeof f, "400"), sizeof want - 1);
    CHECK(memcmp(f, want, sizeof want - 1) == 0);

    static const char *const reasons[] = {"", "Invalid socket type", "x"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = zmtp_error_encode(f, sizeof f, reasons[i]);
        CHECK(n > 0);
        zmtp_command_t c;
        split_frame(f, n, &c);
        CHECK(zmtp_command_is(&c, "ERROR"));
        const uint8_t *r;
        size_t rl;
        CHECK_EQ(zmtp_error_parse(c.data, c.data_len, &r, &rl), ZMTP_OK);
        CHECK_EQ(rl, strlen(reasons[i]));
        CHECK(rl == 0 || memcmp(r, reasons[i], rl) == 0);
        for (size_t cap = 0; cap < n; cap++)
            CHECK_EQ(zmtp_error_encode(f, cap, reasons[i]), 0);
    }
    /* NULL is an empty reason. */
    size_t n = zmtp_error_encode(f, sizeof f, NULL);
    CHECK_EQ(n, 2 + 6 + 1);
    CHECK_EQ(f[8], 0);

    /* 255 is the longest reason and needs a long frame. */
    char reason[257];
    memset(reason, 'r', 256);
    reason[255] = '\0';
    n = zmtp_error_encode(f, sizeof f, reason);
    CHECK_EQ(n, 9 + 6 + 1 + 255);
    CHECK_EQ(f[0], ZMTP_FLAG_COMMAND | ZMTP_FLAG_LONG);
    reason[255] = 'r';
    reason[256] = '\0';
    CHECK_EQ(zmtp_error_encode(f, sizeof f, reason), 0);

    /* Malformed: empty, short, trailing bytes; every truncation. */
    const uint8_t *r;
    size_t rl;
    CHECK_EQ(zmtp_error_parse(NULL, 0, &r, &rl), ZMTP_E_ERROR_CMD);
    static const uint8_t good[] = {3, 'a', 'b', 'c'};
    for (size_t cut = 0; cut < sizeof good; cut++) {
        uint8_t *c = dup_exact(good, cut);
        CHECK_EQ(zmtp_error_parse(c, cut, &r, &rl), ZMTP_E_ERROR_CMD);
        free(c);
    }
    CHECK_EQ(zmtp_error_parse(good, sizeof good, &r, &rl), ZMTP_OK);
    static const uint8_t trailing[] = {1, 'a', 'b'};
    CHECK_EQ(zmtp_error_parse(trailing, sizeof trailing, &r, &rl), ZMTP_E_ERROR_CMD);
    static const uint8_t empty[] = {0};
    CHECK_EQ(zmtp_error_parse(empty, 1, &r, &rl), ZMTP_OK);
    CHECK_EQ(rl, 0);
    tests_run++;
}

static void test_ping_pong(void)
{
    uint8_t f[64];
    static const uint8_t want[] = "\x04\x09\x04PING\x12\x34"
                                  "ab";
    CHECK_EQ(zmtp_ping_encode(f, sizeof f, 0x1234, (const uint8_t *)"ab", 2),
             sizeof want - 1);
    CHECK(memcmp(f, want, sizeof want - 1) == 0);
    static const uint8_t want_pong[] = "\x04\x07\x04PONG"
                                       "ab";
    CHECK_EQ(zmtp_pong_encode(f, sizeof f, (const uint8_t *)"ab", 2),
             sizeof want_pong - 1);
    CHECK(memcmp(f, want_pong, sizeof want_pong - 1) == 0);

    uint8_t ctx[17];
    for (size_t i = 0; i < sizeof ctx; i++)
        ctx[i] = (uint8_t)(0xC0 + i);
    for (size_t cl = 0; cl <= 16; cl++) {
        uint16_t ttl = (uint16_t)(cl * 4099u);
        size_t n = zmtp_ping_encode(f, sizeof f, ttl, ctx, cl);
        CHECK_EQ(n, 2 + 5 + 2 + cl);
        zmtp_command_t c;
        split_frame(f, n, &c);
        CHECK(zmtp_command_is(&c, "PING"));
        uint16_t t;
        const uint8_t *pc;
        size_t pcl;
        CHECK_EQ(zmtp_ping_parse(c.data, c.data_len, &t, &pc, &pcl), ZMTP_OK);
        CHECK_EQ(t, ttl);
        CHECK_EQ(pcl, cl);
        CHECK(cl == 0 || memcmp(pc, ctx, cl) == 0);
        for (size_t cap = 0; cap < n; cap++)
            CHECK_EQ(zmtp_ping_encode(f, cap, ttl, ctx, cl), 0);

        /* The reply echoes what was parsed. */
        uint8_t g[64];
        n = zmtp_pong_encode(g, sizeof g, pc, pcl);
        CHECK_EQ(n, 2 + 5 + cl);
        split_frame(g, n, &c);
        CHECK(zmtp_command_is(&c, "PONG"));
        const uint8_t *qc;
        size_t qcl;
        CHECK_EQ(zmtp_pong_parse(c.data, c.data_len, &qc, &qcl), ZMTP_OK);
        CHECK_EQ(qcl, cl);
        CHECK(cl == 0 || memcmp(qc, ctx, cl) == 0);
        for (size_t cap = 0; cap < n; cap++)
            CHECK_EQ(zmtp_pong_encode(g, cap, ctx, cl), 0);

        /* Answering in place, over the PING's own buffer. */
        CHECK_EQ(zmtp_pong_encode(f, sizeof f, pc, pcl), n);
        CHECK(memcmp(f, g, n) == 0);
    }

    /* The 16-octet context limit, both ways. */
    CHECK_EQ(zmtp_ping_encode(f, sizeof f, 1, ctx, 17), 0);
    CHECK_EQ(zmtp_pong_encode(f, sizeof f, ctx, 17), 0);
    CHECK_EQ(zmtp_ping_encode(f, sizeof f, 1, NULL, 1), 0);
    uint8_t pd[2 + 17] = {0, 10};
    uint16_t t;
    const uint8_t *pc;
    size_t pcl;
    CHECK_EQ(zmtp_ping_parse(pd, 18, &t, &pc, &pcl), ZMTP_OK);
    CHECK_EQ(zmtp_ping_parse(pd, 19, &t, &pc, &pcl), ZMTP_E_PING);
    CHECK_EQ(zmtp_pong_parse(pd, 16, &pc, &pcl), ZMTP_OK);
    CHECK_EQ(zmtp_pong_parse(pd, 17, &pc, &pcl), ZMTP_E_PING);
    /* The TTL is mandatory. */
    for (size_t cut = 0; cut < 2; cut++) {
        uint8_t *c = dup_exact(pd, cut);
        CHECK_EQ(zmtp_ping_parse(c, cut, &t, &pc, &pcl), ZMTP_E_PING);
        free(c);
    }
    CHECK_EQ(zmtp_ping_parse(pd, 2, &t, &pc, &pcl), ZMTP_OK);
    CHECK_EQ(t, 10);
    CHECK_EQ(pcl, 0);
    CHECK_EQ(zmtp_pong_parse(NULL, 0, &pc, &pcl), ZMTP_OK);
    CHECK_EQ(pcl, 0);
    tests_run++;
}

static void test_subscribe(void)
{
    uint8_t f[512];
    static const uint8_t want[] = "\x04\x0d\x09SUBSCRIBEabc";
    CHECK_EQ(zmtp_subscribe_encode(f, sizeof f, 0, (const uint8_t *)"abc", 3),
             sizeof want - 1);
    CHECK(memcmp(f, want, sizeof want - 1) == 0);
    static const uint8_t want_c[] = "\x04\x0a\x06"
                                    "CANCELabc";
    CHECK_EQ(zmtp_subscribe_encode(f, sizeof f, 1, (const uint8_t *)"abc", 3),
             sizeof want_c - 1);
    CHECK(memcmp(f, want_c, sizeof want_c - 1) == 0);

    uint8_t topic[400];
    for (size_t i = 0; i < sizeof topic; i++)
        topic[i] = (uint8_t)i;
    static const size_t lens[] = {0, 1, 245, 246, 249, 250, 400};
    for (int cancel = 0; cancel <= 1; cancel++) {
        for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
            size_t tl = lens[k];
            size_t n = zmtp_subscribe_encode(f, sizeof f, cancel, topic, tl);
            size_t body = 1 + (cancel ? 6u : 9u) + tl;
            CHECK_EQ(n, (body <= 255 ? 2 : 9) + body);
            zmtp_command_t c;
            split_frame(f, n, &c);
            CHECK(zmtp_command_is(&c, cancel ? "CANCEL" : "SUBSCRIBE"));
            CHECK_EQ(c.data_len, tl);
            CHECK(tl == 0 || memcmp(c.data, topic, tl) == 0);
            for (size_t cap = 0; cap < n; cap++)
                CHECK_EQ(zmtp_subscribe_encode(f, cap, cancel, topic, tl), 0);
        }
    }
    CHECK_EQ(zmtp_subscribe_encode(f, sizeof f, 0, NULL, 0), 2 + 10);
    CHECK_EQ(zmtp_subscribe_encode(f, sizeof f, 0, NULL, 1), 0);
    CHECK_EQ(zmtp_subscribe_encode(f, sizeof f, 0, topic, SIZE_MAX), 0);
    CHECK_EQ(zmtp_subscribe_encode(f, sizeof f, 0, topic, SIZE_MAX - 8), 0);
    tests_run++;
}

int main(void)
{
    test_command_parse();
    test_property_iteration();
    test_property_malformed();
    test_ready_wire_bytes();
    test_ready_round_trip();
    test_ready_encode_refuses();
    test_ready_parse_properties();
    test_ready_truncation();
    test_error();
    test_ping_pong();
    test_subscribe();
    printf("test_zmtp_command: %d tests passed\n", tests_run);
    return 0;
}

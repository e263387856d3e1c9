/*
 * Frame header codec: short/long boundary, flags, size limits decided from
 * the header alone, truncation at every offset, no over-reads.
 */
#include "zmtp/zmtp.h"

#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int tests_run;

static int decode_exact(const uint8_t *buf, size_t len, uint64_t max,
                        zmtp_frame_header_t *out)
{
    uint8_t *copy = malloc(len ? len : 1);
    CHECK(copy != NULL);
    if (len)
        memcpy(copy, buf, len);
    int rc = zmtp_frame_header_decode(copy, len, max, out);
    free(copy);
    return rc;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static const uint64_t sizes[] = {
    0,
    1,
    2,
    254,
    255,
    256,
    257,
    1000,
    65535,
    65536,
    UINT64_C(0xFFFFFFFF),
    UINT64_C(0x100000000),
    UINT64_C(0x0123456789ABCDEF),
    UINT64_C(0x7FFFFFFFFFFFFFFF),
};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void test_encode_forms(void)
{
    uint8_t h[ZMTP_FRAME_HEADER_MAX];
    CHECK_EQ(zmtp_frame_header_encode(h, 0, 0), 2);
    CHECK_EQ(h[0], 0x00);
    CHECK_EQ(h[1], 0);
    CHECK_EQ(zmtp_frame_header_encode(h, ZMTP_FLAG_MORE, 255), 2);
    CHECK_EQ(h[0], 0x01);
    CHECK_EQ(h[1], 255);
    CHECK_EQ(zmtp_frame_header_encode(h, ZMTP_FLAG_COMMAND, 3), 2);
    CHECK_EQ(h[0], 0x04);

    CHECK_EQ(zmtp_frame_header_encode(h, 0, 256), 9);
    static const uint8_t l256[] = {0x02, 0, 0, 0, 0, 0, 0, 1, 0};
    CHECK(memcmp(h, l256, 9) == 0);
    CHECK_EQ(zmtp_frame_header_encode(h, ZMTP_FLAG_MORE, UINT64_C(0x0102030405060708)),
             9);
    static const uint8_t lmore[] = {0x03, 1, 2, 3, 4, 5, 6, 7, 8};
    CHECK(memcmp(h, lmore, 9) == 0);
    CHECK_EQ(zmtp_frame_header_encode(h, ZMTP_FLAG_COMMAND, 300), 9);
    CHECK_EQ(h[0], 0x06);
    CHECK_EQ(zmtp_frame_header_encode(h, 0, UINT64_C(0x7FFFFFFFFFFFFFFF)), 9);
    CHECK_EQ(h[1], 0x7F);
    tests_run++;
}

static void test_encode_refuses_invalid(void)
{
    uint8_t h[ZMTP_FRAME_HEADER_MAX];
    memset(h, 0xAA, sizeof h);
    CHECK_EQ(zmtp_frame_header_encode(h, 0, UINT64_C(0x8000000000000000)), 0);
    CHECK_EQ(zmtp_frame_header_encode(h, 0, UINT64_MAX), 0);
    CHECK_EQ(zmtp_frame_header_encode(h, ZMTP_FLAG_COMMAND | ZMTP_FLAG_MORE, 1), 0);
    CHECK_EQ(zmtp_frame_header_encode(h, ZMTP_FLAG_LONG, 1), 0);
    for (int bit = 3; bit < 8; bit++)
        CHECK_EQ(zmtp_frame_header_encode(h, (uint8_t)(1u << bit), 1), 0);
    for (size_t i = 0; i < sizeof h; i++)
        CHECK_EQ(h[i], 0xAA);
    tests_run++;
}

static void test_round_trip(void)
{
    static const uint8_t flags[] = {0, ZMTP_FLAG_MORE, ZMTP_FLAG_COMMAND};
    for (size_t f = 0; f < sizeof flags; f++) {
        for (size_t s = 0; s < NSIZES; s++) {
            uint8_t h[ZMTP_FRAME_HEADER_MAX];
            zmtp_frame_header_t d;
            size_t n = zmtp_frame_header_encode(h, flags[f], sizes[s]);
            CHECK_EQ(n, sizes[s] <= 255 ? 2 : 9);
            CHECK_EQ(decode_exact(h, n, UINT64_MAX, &d), ZMTP_OK);
            CHECK_EQ(d.flags, flags[f]);
            CHECK(d.size == sizes[s]);
            CHECK_EQ(d.header_len, n);
            /* Every shorter prefix is merely incomplete. */
            for (size_t len = 0; len < n; len++)
                CHECK_EQ(decode_exact(h, len, UINT64_MAX, &d), ZMTP_NEED_MORE);
        }
    }
    tests_run++;
}

static void test_long_form_small_size(void)
{
    zmtp_frame_header_t d;
    static const uint8_t msg5[] = {0x02, 0, 0, 0, 0, 0, 0, 0, 5};
    CHECK_EQ(decode_exact(msg5, sizeof msg5, UINT64_MAX, &d), ZMTP_OK);
    CHECK_EQ(d.flags, 0);
    CHECK_EQ(d.size, 5);
    CHECK_EQ(d.header_len, 9);

    static const uint8_t more0[] = {0x03, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_EQ(decode_exact(more0, sizeof more0, UINT64_MAX, &d), ZMTP_OK);
    CHECK_EQ(d.flags, ZMTP_FLAG_MORE);
    CHECK_EQ(d.size, 0);
    CHECK_EQ(d.header_len, 9);

    static const uint8_t cmd255[] = {0x06, 0, 0, 0, 0, 0, 0, 0, 255};
    CHECK_EQ(decode_exact(cmd255, sizeof cmd255, 255, &d), ZMTP_OK);
    CHECK_EQ(d.flags, ZMTP_FLAG_COMMAND);
    CHECK_EQ(d.size, 255);
    tests_run++;
}

/* All 256 flag octets, short and long: accepted exactly when the reserved
 * bits are clear and COMMAND is not combined with MORE; refused from the
 * flags octet alone. */
static void test_all_flag_bytes(void)
{
    for (int f = 0; f < 256; f++) {
        int valid = (f & 0xF8) == 0 && (f & 0x05) != 0x05;
        uint8_t h[9] = {(uint8_t)f, 0, 0, 0, 0, 0, 0, 0, 3};
        zmtp_frame_header_t d;
        size_t full = (f & ZMTP_FLAG_LONG) ? 9 : 2;
        if (!(f & ZMTP_FLAG_LONG))
            h[1] = 3;
        CHECK_EQ(decode_exact(h, 1, UINT64_MAX, &d),
                 valid ? ZMTP_NEED_MORE : ZMTP_E_FRAME);
        int rc = decode_exact(h, full, UINT64_MAX, &d);
        if (valid) {
            CHECK_EQ(rc, ZMTP_OK);
            CHECK_EQ(d.flags, f & ~ZMTP_FLAG_LONG);
            CHECK_EQ(d.size, 3);
            CHECK_EQ(d.header_len, full);
        } else {
            CHECK_EQ(rc, ZMTP_E_FRAME);
        }
    }
    /* The named cases. */
    zmtp_frame_header_t d;
    static const uint8_t cmd_more[] = {0x05, 1};
    CHECK_EQ(decode_exact(cmd_more, 2, UINT64_MAX, &d), ZMTP_E_FRAME);
    static const uint8_t reserved[] = {0x08, 1};
    CHECK_EQ(decode_exact(reserved, 2, UINT64_MAX, &d), ZMTP_E_FRAME);
    static const uint8_t high[] = {0x80, 1};
    CHECK_EQ(decode_exact(high, 2, UINT64_MAX, &d), ZMTP_E_FRAME);
    tests_run++;
}

static void test_long_top_bit(void)
{
    zmtp_frame_header_t d;
    uint8_t h[9] = {0x02, 0x80, 0, 0, 0, 0, 0, 0, 1};
    CHECK_EQ(decode_exact(h, 9, UINT64_MAX, &d), ZMTP_E_FRAME);
    /* Decided as soon as the first size octet is in. */
    CHECK_EQ(decode_exact(h, 2, UINT64_MAX, &d), ZMTP_E_FRAME);
    CHECK_EQ(decode_exact(h, 1, UINT64_MAX, &d), ZMTP_NEED_MORE);
    memset(h + 1, 0xFF, 8);
    CHECK_EQ(decode_exact(h, 9, UINT64_MAX, &d), ZMTP_E_FRAME);
    h[0] = 0x06;
    CHECK_EQ(decode_exact(h, 9, UINT64_MAX, &d), ZMTP_E_FRAME);
    tests_run++;
}

static void test_too_big(void)
{
    zmtp_frame_header_t d;
    uint8_t h[ZMTP_FRAME_HEADER_MAX];

    /* Short frames respect the limit too. */
    CHECK_EQ(zmtp_frame_header_encode(h, 0, 255), 2);
    CHECK_EQ(decode_exact(h, 2, 255, &d), ZMTP_OK);
    CHECK_EQ(decode_exact(h, 2, 254, &d), ZMTP_E_TOOBIG);
    CHECK_EQ(zmtp_frame_header_encode(h, 0, 0), 2);
    CHECK_EQ(decode_exact(h, 2, 0, &d), ZMTP_OK);
    CHECK_EQ(zmtp_frame_header_encode(h, 0, 1), 2);
    CHECK_EQ(decode_exact(h, 2, 0, &d), ZMTP_E_TOOBIG);

    /* Long frames: exactly at and one over the limit, with no body bytes
     * present at all. */
    CHECK_EQ(zmtp_frame_header_encode(h, ZMTP_FLAG_MORE, 1000), 9);
    CHECK_EQ(decode_exact(h, 9, 1000, &d), ZMTP_OK);
    CHECK_EQ(decode_exact(h, 9, 999, &d), ZMTP_E_TOOBIG);
    CHECK_EQ(zmtp_frame_header_encode(h, 0, UINT64_C(0x7FFFFFFFFFFFFFFF)), 9);
    CHECK_EQ(decode_exact(h, 9, UINT64_MAX, &d), ZMTP_OK);
    CHECK_EQ(decode_exact(h, 9, UINT64_C(0x7FFFFFFFFFFFFFFE), &d), ZMTP_E_TOOBIG);

    /* A 4 GiB announcement against a 1 MiB limit is refused at the first
     * non-zero size octet, before the header is even complete. */
    CHECK_EQ(zmtp_frame_header_encode(h, 0, UINT64_C(0x100000000)), 9);
    for (size_t len = 0; len < 5; len++)
        CHECK_EQ(decode_exact(h, len, 1u << 20, &d), ZMTP_NEED_MORE);
    for (size_t len = 5; len <= 9; len++)
        CHECK_EQ(decode_exact(h, len, 1u << 20, &d), ZMTP_E_TOOBIG);

    /* A long header of a small size is not refused early. */
    CHECK_EQ(zmtp_frame_header_encode(h, 0, 300), 9);
    for (size_t len = 0; len < 9; len++)
        CHECK_EQ(decode_exact(h, len, 300, &d), ZMTP_NEED_MORE);
    CHECK_EQ(decode_exact(h, 9, 300, &d), ZMTP_OK);
    tests_run++;
}

/* For random headers and limits: every prefix gives NEED_MORE or the full
 * header's error, and ZMTP_OK only once the header is complete. */
static void test_prefix_consistency(void)
{
    uint64_t seed = 0x243F6A8885A308D3u;
    for (int n = 0; n < 20000; n++) {
        uint8_t h[9];
        for (size_t i = 0; i < 9; i++)
            h[i] = (uint8_t)xorshift(&seed);
        /* Bias towards valid flags and plausible sizes. */
        if (n % 2)
            h[0] &= 0x07;
        if (n % 3 == 0)
            h[1] &= 0x7F;
        if (n % 5 == 0)
            memset(h + 1, 0, 4);
        uint64_t max;
        switch (n % 4) {
        case 0:
            max = UINT64_MAX;
            break;
        case 1:
            max = xorshift(&seed) >> (xorshift(&seed) % 64);
            break;
        case 2:
            max = 255;
            break;
        default:
            max = xorshift(&seed) % 4096;
            break;
        }
        zmtp_frame_header_t full_d;
        int full = decode_exact(h, 9, max, &full_d);
        CHECK(full != ZMTP_NEED_MORE);
        for (size_t len = 0; len < 9; len++) {
            zmtp_frame_header_t d;
            int rc = decode_exact(h, len, max, &d);
            if (rc == ZMTP_OK) {
                CHECK_EQ(full, ZMTP_OK);
                CHECK(d.header_len <= len);
                CHECK_EQ(d.header_len, full_d.header_len);
                CHECK(d.size == full_d.size);
            } else if (rc < 0) {
                CHECK_EQ(rc, full);
            } else {
                CHECK_EQ(rc, ZMTP_NEED_MORE);
                CHECK(full != ZMTP_OK || len < full_d.header_len);
            }
        }
        if (full == ZMTP_OK) {
            CHECK(full_d.size <= max);
            CHECK((full_d.flags & ~(ZMTP_FLAG_MORE | ZMTP_FLAG_COMMAND)) == 0);
        }
    }
    tests_run++;
}

/* A caller's read loop over a byte stream of several frames. Returns the
 * number of complete frames, or a negative error; stops at NEED_MORE. */
static int walk_stream(const uint8_t *buf, size_t len, uint64_t max, size_t *consumed)
{
    size_t pos = 0;
    int frames = 0;
    for (;;) {
        zmtp_frame_header_t d;
        int rc = zmtp_frame_header_decode(buf + pos, len - pos, max, &d);
        if (rc < 0)
            return rc;
        if (rc == ZMTP_NEED_MORE || d.size > len - pos - d.header_len)
            break;
        pos += d.header_len + (size_t)d.size;
        frames++;
    }
    *consumed = pos;
    return frames;
}

static void test_stream_truncation(void)
{
    uint8_t stream[1024];
    size_t len = 0;
    static const struct {
        uint8_t flags;
        size_t size;
    } frames[] = {
        {ZMTP_FLAG_COMMAND, 28}, {ZMTP_FLAG_MORE, 0}, {ZMTP_FLAG_MORE, 255}, {0, 256},
        {ZMTP_FLAG_COMMAND, 6},
    };
    size_t ends[5];
    for (size_t i = 0; i < 5; i++) {
        len += zmtp_frame_header_encode(stream + len, frames[i].flags, frames[i].size);
        memset(stream + len, (int)i, frames[i].size);
        len += frames[i].size;
        ends[i] = len;
    }
    CHECK(len <= sizeof stream);

    for (size_t cut = 0; cut <= len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        CHECK(copy != NULL);
        memcpy(copy, stream, cut);
        size_t consumed = 0;
        int n = walk_stream(copy, cut, UINT64_MAX, &consumed);
        free(copy);
        int want = 0;
        for (size_t i = 0; i < 5; i++)
            if (ends[i] <= cut)
                want = (int)i + 1;
        CHECK_EQ(n, want);
        CHECK_EQ(consumed, want ? ends[want - 1] : 0);
    }

    /* With a limit below the 256-byte frame the walk fails there, having
     * consumed nothing of it. */
    size_t consumed = 0;
    CHECK_EQ(walk_stream(stream, len, 255, &consumed), ZMTP_E_TOOBIG);
    tests_run++;
}

int main(void)
{
    test_encode_forms();
    test_encode_refuses_invalid();
    test_round_trip();
    test_long_form_small_size();
    test_all_flag_bytes();
    test_long_top_bit();
    test_too_big();
    test_prefix_consistency();
    test_stream_truncation();
    printf("test_zmtp_frame: %d tests passed\n", tests_run);
    return 0;
}

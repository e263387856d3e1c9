/*
 * The bounded buffer: a write fits or fails with an error code, never
 * silently; cursors and growth stay within the limit.
 */
#include "buf/buf.h"
#include "check.h"
#include "zmtp/zmtp.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_empty_allocates_nothing(void)
{
    buf_t b;
    buf_init(&b, 1024);
    CHECK(b.data == NULL);
    CHECK_EQ(buf_len(&b), 0);
    CHECK_EQ(buf_room(&b), 0);
    CHECK_EQ(buf_release(&b), 0);
    buf_fini(&b);
}

static void test_commit_refuses_nothing_and_too_much(void)
{
    buf_t b;
    buf_init(&b, 64);
    CHECK_EQ(buf_reserve(&b, 10), 0);
    size_t room = buf_room(&b);
    CHECK(room >= 10);
    /* an encoder's 0 ("does not fit") is an error, not a no-op */
    CHECK_EQ(buf_commit(&b, 0), -ENOSPC);
    CHECK_EQ(buf_commit(&b, room + 1), -EOVERFLOW);
    CHECK_EQ(buf_len(&b), 0);
    memset(buf_tail(&b), 'x', 10);
    CHECK_EQ(buf_commit(&b, 10), 0);
    CHECK_EQ(buf_len(&b), 10);
    buf_fini(&b);
}

static void test_limit(void)
{
    buf_t b;
    buf_init(&b, 100);
    uint8_t junk[101] = {0};
    CHECK_EQ(buf_put(&b, junk, 101), -ENOBUFS);
    CHECK_EQ(buf_len(&b), 0);
    CHECK_EQ(buf_put(&b, junk, 60), 0);
    CHECK_EQ(buf_reserve(&b, 41), -ENOBUFS);
    CHECK_EQ(buf_len(&b), 60); /* a refused reserve changes nothing */
    CHECK_EQ(buf_reserve(&b, 40), 0);
    CHECK(b.cap <= 100);
    CHECK_EQ(buf_release(&b), -EBUSY);
    /* SIZE_MAX must not wrap the check */
    CHECK_EQ(buf_reserve(&b, SIZE_MAX), -ENOBUFS);
    buf_fini(&b);
}

static void test_consume_and_compact(void)
{
    buf_t b;
    buf_init(&b, 32);
    const char *s = "0123456789abcdefghijklmnopqrstuv"; /* 32 bytes */
    CHECK_EQ(buf_put(&b, s, 32), 0);
    CHECK_EQ(b.cap, 32);
    buf_consume(&b, 30);
    CHECK_EQ(buf_len(&b), 2);
    CHECK(memcmp(buf_head(&b), "uv", 2) == 0);
    /* room for 30 more exists only by moving the 2 held bytes forward */
    CHECK_EQ(buf_reserve(&b, 30), 0);
    CHECK_EQ(b.rd, 0);
    CHECK(memcmp(buf_head(&b), "uv", 2) == 0);
    CHECK_EQ(b.cap, 32);
    buf_consume(&b, 2);
    CHECK_EQ(b.rd, 0);
    CHECK_EQ(b.wr, 0);
    CHECK_EQ(buf_release(&b), 0);
    CHECK(b.data == NULL);
    buf_fini(&b);
}

static void test_growth_keeps_bytes(void)
{
    buf_t b;
    buf_init(&b, (size_t)1 << 20);
    uint8_t chunk[1000];
    for (size_t i = 0; i < 300; i++) {
        memset(chunk, (int)(i & 0xFF), sizeof(chunk));
        CHECK_EQ(buf_put(&b, chunk, sizeof(chunk)), 0);
        if (i % 3 == 0)
            buf_consume(&b, 500);
    }
    CHECK(b.cap <= ((size_t)1 << 20));
    CHECK_EQ(buf_len(&b), 300 * 1000 - 100 * 500);
    buf_fini(&b);
}

/* Exact growth follows what is held: the capacity is held + the room asked
 * for, never a doubling ahead of it; detach hands over the bytes. */
static void test_exact_growth_and_detach(void)
{
    buf_t b;
    buf_init(&b, 1000);
    size_t len = 1;
    CHECK(buf_detach(&b, &len) == NULL);
    CHECK_EQ(len, 0);
    CHECK_EQ(buf_reserve_exact(&b, 100), 0);
    CHECK_EQ(b.cap, 100);
    memset(buf_tail(&b), 'a', 100);
    CHECK_EQ(buf_commit(&b, 100), 0);
    CHECK_EQ(buf_reserve_exact(&b, 150), 0);
    CHECK_EQ(b.cap, 250);
    memset(buf_tail(&b), 'b', 150);
    CHECK_EQ(buf_commit(&b, 150), 0);
    CHECK_EQ(buf_reserve_exact(&b, 751), -ENOBUFS);
    CHECK_EQ(b.cap, 250);
    CHECK_EQ(buf_reserve_exact(&b, 750), 0);
    CHECK_EQ(b.cap, 1000);
    uint8_t *p = buf_detach(&b, &len);
    CHECK(p != NULL);
    CHECK_EQ(len, 250);
    CHECK(p[0] == 'a' && p[99] == 'a' && p[100] == 'b' && p[249] == 'b');
    CHECK(b.data == NULL);
    CHECK_EQ(buf_len(&b), 0);
    CHECK_EQ(b.limit, 1000);
    free(p);
    buf_fini(&b);
}

/* Every command's size function agrees with its encoder, so a writer that
 * reserves by the size function never sees "does not fit": the SUBSCRIBE
 * whose topic takes the body to 256 bytes is where the long form starts. */
static void test_size_functions(void)
{
    static uint8_t topic[70000];
    static uint8_t out[70100];
    const size_t lens[] = {0, 1, 245, 246, 247, 255, 256, 300, 4096, 65536};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (int cancel = 0; cancel <= 1; cancel++) {
            size_t need = zmtp_subscribe_size(cancel, lens[i]);
            CHECK(need > 0);
            CHECK_EQ(zmtp_subscribe_encode(out, need, cancel, topic, lens[i]), need);
            CHECK_EQ(zmtp_subscribe_encode(out, need - 1, cancel, topic, lens[i]), 0);
            size_t body = 1 + (cancel ? 6 : 9) + lens[i];
            CHECK_EQ(need, (body > 255 ? 9 : 2) + body);
        }
    }
    CHECK_EQ(zmtp_subscribe_size(0, 246), 9 + 256);
    CHECK_EQ(zmtp_subscribe_size(0, 245), 2 + 255);
    for (size_t ctx = 0; ctx <= 16; ctx++) {
        CHECK_EQ(zmtp_ping_encode(out, sizeof(out), 10, topic, ctx), zmtp_ping_size(ctx));
        CHECK_EQ(zmtp_pong_encode(out, sizeof(out), topic, ctx), zmtp_pong_size(ctx));
    }
    CHECK_EQ(zmtp_ping_size(17), 0);
    CHECK_EQ(zmtp_pong_size(17), 0);
    CHECK_EQ(zmtp_error_encode(out, sizeof(out), "Protocol error"),
             zmtp_error_size("Protocol error"));
    CHECK_EQ(zmtp_error_encode(out, sizeof(out), NULL), zmtp_error_size(NULL));
    const uint64_t sizes[] = {0, 255, 256, (uint64_t)1 << 40};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t h[ZMTP_FRAME_HEADER_MAX];
        CHECK_EQ(zmtp_frame_header_encode(h, 0, sizes[i]),
                 zmtp_frame_header_size(sizes[i]));
    }
    CHECK_EQ(zmtp_frame_header_size(UINT64_MAX), 0);
}

int main(void)
{
    test_empty_allocates_nothing();
    test_commit_refuses_nothing_and_too_much();
    test_limit();
    test_consume_and_compact();
    test_growth_keeps_bytes();
    test_exact_growth_and_detach();
    test_size_functions();
    printf("buf: all checks passed\n");
    return 0;
}

/*
 * Fuzz target: frame header decoder driven like a reader's loop. The first
 * input byte picks the size limit; the rest is a byte stream of frames that
 * is walked until consumed, skipping one byte after each error so junk in
 * the middle still exercises what follows.
 */
#include "zmtp/zmtp.h"

#include <stdlib.h>
#include <string.h>

/* Survives NDEBUG: a broken invariant must crash the fuzzer. */
#define FUZZ_CHECK(c)                                                                    \
    do {                                                                                 \
        if (!(c))                                                                        \
            abort();                                                                     \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t pick_limit(uint8_t sel)
{
    switch (sel & 3) {
    case 0:
        return UINT64_MAX;
    case 1:
        return 255;
    case 2:
        return UINT64_C(1) << 20;
    default:
        return sel >> 2;
    }
}

static void check_header(const uint8_t *p, size_t avail, uint64_t max,
                         const zmtp_frame_header_t *h)
{
    FUZZ_CHECK(h->header_len == 2 || h->header_len == 9);
    FUZZ_CHECK(h->header_len <= avail);
    FUZZ_CHECK(h->size <= max);
    FUZZ_CHECK((h->flags & ~(ZMTP_FLAG_MORE | ZMTP_FLAG_COMMAND)) == 0);
    FUZZ_CHECK((h->flags & (ZMTP_FLAG_MORE | ZMTP_FLAG_COMMAND)) !=
               (ZMTP_FLAG_MORE | ZMTP_FLAG_COMMAND));
    if (h->header_len == 2)
        FUZZ_CHECK(h->size <= 255);
    FUZZ_CHECK(((p[0] & ZMTP_FLAG_LONG) != 0) == (h->header_len == 9));

    /* A shorter prefix is only ever incomplete. */
    for (size_t len = 0; len < h->header_len; len++) {
        zmtp_frame_header_t q;
        FUZZ_CHECK(zmtp_frame_header_decode(p, len, max, &q) == ZMTP_NEED_MORE);
    }

    /* Re-encoding gives the canonical form of the same header. */
    uint8_t enc[ZMTP_FRAME_HEADER_MAX];
    zmtp_frame_header_t r;
    size_t n = zmtp_frame_header_encode(enc, h->flags, h->size);
    FUZZ_CHECK(n == (h->size <= 255 ? 2u : 9u));
    FUZZ_CHECK(zmtp_frame_header_decode(enc, n, max, &r) == ZMTP_OK);
    FUZZ_CHECK(r.flags == h->flags && r.size == h->size && r.header_len == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint64_t max = pick_limit(data[0]);
    const uint8_t *s = data + 1;
    size_t len = size - 1;

    size_t pos = 0;
    while (pos < len) {
        const uint8_t *p = s + pos;
        size_t avail = len - pos;
        zmtp_frame_header_t h;
        int rc = zmtp_frame_header_decode(p, avail, max, &h);
        if (rc == ZMTP_NEED_MORE)
            break;
        if (rc < 0) {
            FUZZ_CHECK(rc == ZMTP_E_FRAME || rc == ZMTP_E_TOOBIG);
            if (rc == ZMTP_E_TOOBIG)
                FUZZ_CHECK(max != UINT64_MAX);
            pos++;
            continue;
        }
        FUZZ_CHECK(rc == ZMTP_OK);
        check_header(p, avail, max, &h);
        if (h.size > avail - h.header_len)
            break;
        if (h.flags & ZMTP_FLAG_COMMAND) {
            zmtp_command_t c;
            if (zmtp_command_parse(p + h.header_len, (size_t)h.size, &c) == ZMTP_OK)
                FUZZ_CHECK(1 + c.name_len + c.data_len == h.size);
        }
        pos += h.header_len + (size_t)h.size;
    }
    return 0;
}

/*
 * ZMTP frame headers: flags octet, then a 1-octet or 8-octet big-endian size.
 */
#include "zmtp/zmtp.h"

#define FLAGS_RESERVED 0xF8u
#define LONG_SIZE_LEN  8
#define SHORT_MAX      255u
#define LONG_MAX_SIZE  UINT64_C(0x7FFFFFFFFFFFFFFF)

static int flags_check(uint8_t flags)
{
    if (flags & FLAGS_RESERVED)
        return ZMTP_E_FRAME;
    if ((flags & ZMTP_FLAG_COMMAND) && (flags & ZMTP_FLAG_MORE))
        return ZMTP_E_FRAME;
    return ZMTP_OK;
}

int zmtp_frame_header_decode(const uint8_t *buf, size_t len, uint64_t max_size,
                             zmtp_frame_header_t *out)
{
    if (len == 0)
        return ZMTP_NEED_MORE;
    if (buf == NULL)
        return ZMTP_E_FRAME;

    uint8_t flags = buf[0];
    int rc = flags_check(flags);
    if (rc != ZMTP_OK)
        return rc;

    if (!(flags & ZMTP_FLAG_LONG)) {
        if (len < 2)
            return ZMTP_NEED_MORE;
        if (buf[1] > max_size)
            return ZMTP_E_TOOBIG;
        out->flags = flags;
        out->size = buf[1];
        out->header_len = 2;
        return ZMTP_OK;
    }

    /* The top bit and the leading size octets are judged as soon as they
     * arrive: a peer announcing an absurd size is refused without waiting
     * for the rest of its header. */
    size_t have = len - 1;
    if (have > LONG_SIZE_LEN)
        have = LONG_SIZE_LEN;
    if (have > 0 && (buf[1] & 0x80))
        return ZMTP_E_FRAME;
    uint64_t size = 0;
    for (size_t i = 0; i < have; i++)
        size = (size << 8) | buf[1 + i];
    /* With the missing octets taken as zero this is the smallest size any
     * completion could carry; the shift stays below 64 because have >= 1. */
    if (have > 0 && (size << (8 * (LONG_SIZE_LEN - have))) > max_size)
        return ZMTP_E_TOOBIG;
    if (have < LONG_SIZE_LEN)
        return ZMTP_NEED_MORE;

    out->flags = (uint8_t)(flags & ~ZMTP_FLAG_LONG);
    out->size = size;
    out->header_len = 1 + LONG_SIZE_LEN;
    return ZMTP_OK;
}

size_t zmtp_frame_header_encode(uint8_t out[ZMTP_FRAME_HEADER_MAX], uint8_t flags,
                                uint64_t size)
{
    if (flags & ~(ZMTP_FLAG_MORE | ZMTP_FLAG_COMMAND))
        return 0;
    if (flags_check(flags) != ZMTP_OK || size > LONG_MAX_SIZE)
        return 0;

    if (size <= SHORT_MAX) {
        out[0] = flags;
        out[1] = (uint8_t)size;
        return 2;
    }
    out[0] = (uint8_t)(flags | ZMTP_FLAG_LONG);
    for (int i = LONG_SIZE_LEN; i >= 1; i--) {
        out[i] = (uint8_t)(size & 0xFF);
        size >>= 8;
    }
    return 1 + LONG_SIZE_LEN;
}

size_t zmtp_frame_header_size(uint64_t size)
{
    if (size > LONG_MAX_SIZE)
        return 0;
    return size <= SHORT_MAX ? 2 : 1 + LONG_SIZE_LEN;
}

/*
 * Fuzz target: command body splitter and every command data parser. The
 * input is tried both as a whole command body and, raw, as data for each
 * parser, so the metadata walker sees arbitrary bytes even when the name
 * is junk. Accepted input must survive a re-encode.
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

#define INSIDE(p, n, base, len) ((p) >= (base) && (size_t)((p) - (base)) + (n) <= (len))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk_properties(const uint8_t *d, size_t len)
{
    size_t pos = 0;
    zmtp_property_t p;
    int rc;
    while ((rc = zmtp_property_next(d, len, &pos, &p)) == ZMTP_OK) {
        FUZZ_CHECK(p.name_len >= 1 && p.name_len <= 255);
        FUZZ_CHECK(INSIDE(p.name, p.name_len, d, len));
        FUZZ_CHECK(INSIDE(p.value, p.value_len, d, len));
        FUZZ_CHECK(pos <= len && (size_t)(p.value - d) + p.value_len == pos);
        (void)zmtp_property_is(&p, "Socket-Type");
    }
    FUZZ_CHECK(rc == ZMTP_NEED_MORE || rc == ZMTP_E_METADATA);
    if (rc == ZMTP_NEED_MORE)
        FUZZ_CHECK(pos == len);
}

static void check_ready(const uint8_t *d, size_t len)
{
    zmtp_ready_t r;
    int rc = zmtp_ready_parse(d, len, &r);
    FUZZ_CHECK(rc == ZMTP_OK || rc == ZMTP_E_READY || rc == ZMTP_E_METADATA ||
               rc == ZMTP_E_SOCKET_TYPE);
    if (rc != ZMTP_OK)
        return;
    FUZZ_CHECK(zmtp_socket_type_name(r.socket_type) != NULL);
    FUZZ_CHECK(r.identity_len <= 255);
    FUZZ_CHECK((r.identity == NULL) == (r.identity_len == 0));
    if (r.identity)
        FUZZ_CHECK(INSIDE(r.identity, r.identity_len, d, len));

    uint8_t frame[512];
    size_t n =
        zmtp_ready_encode(frame, sizeof frame, r.socket_type, r.identity, r.identity_len);
    FUZZ_CHECK(n > 0 && n == zmtp_ready_size(r.socket_type, r.identity_len));
    zmtp_frame_header_t h;
    zmtp_command_t c;
    zmtp_ready_t again;
    FUZZ_CHECK(zmtp_frame_header_decode(frame, n, UINT64_MAX, &h) == ZMTP_OK);
    FUZZ_CHECK(h.header_len + h.size == n);
    FUZZ_CHECK(zmtp_command_parse(frame + h.header_len, (size_t)h.size, &c) == ZMTP_OK);
    FUZZ_CHECK(zmtp_command_is(&c, "READY"));
    FUZZ_CHECK(zmtp_ready_parse(c.data, c.data_len, &again) == ZMTP_OK);
    FUZZ_CHECK(again.socket_type == r.socket_type);
    FUZZ_CHECK(again.identity_len == r.identity_len);
    if (r.identity_len)
        FUZZ_CHECK(memcmp(again.identity, r.identity, r.identity_len) == 0);
}

static void check_error(const uint8_t *d, size_t len)
{
    const uint8_t *reason;
    size_t reason_len;
    int rc = zmtp_error_parse(d, len, &reason, &reason_len);
    FUZZ_CHECK(rc == ZMTP_OK || rc == ZMTP_E_ERROR_CMD);
    if (rc != ZMTP_OK)
        return;
    FUZZ_CHECK(reason_len + 1 == len && INSIDE(reason, reason_len, d, len));
    /* The encoder takes a C string, so only NUL-free reasons round-trip. */
    if (memchr(reason, 0, reason_len) != NULL)
        return;
    char text[256];
    memcpy(text, reason, reason_len);
    text[reason_len] = '\0';
    uint8_t frame[300];
    size_t n = zmtp_error_encode(frame, sizeof frame, text);
    FUZZ_CHECK(n > 0);
    zmtp_frame_header_t h;
    zmtp_command_t c;
    FUZZ_CHECK(zmtp_frame_header_decode(frame, n, UINT64_MAX, &h) == ZMTP_OK);
    FUZZ_CHECK(zmtp_command_parse(frame + h.header_len, (size_t)h.size, &c) == ZMTP_OK);
    FUZZ_CHECK(zmtp_command_is(&c, "ERROR"));
    const uint8_t *r2;
    size_t r2_len;
    FUZZ_CHECK(zmtp_error_parse(c.data, c.data_len, &r2, &r2_len) == ZMTP_OK);
    FUZZ_CHECK(r2_len == reason_len && memcmp(r2, reason, reason_len) == 0);
}

static void check_ping_pong(const uint8_t *d, size_t len)
{
    uint16_t ttl;
    const uint8_t *ctx;
    size_t ctx_len;
    int rc = zmtp_ping_parse(d, len, &ttl, &ctx, &ctx_len);
    FUZZ_CHECK(rc == ZMTP_OK || rc == ZMTP_E_PING);
    if (rc == ZMTP_OK) {
        FUZZ_CHECK(ctx_len <= 16 && ctx_len + 2 == len && INSIDE(ctx, ctx_len, d, len));
        uint8_t frame[64];
        size_t n = zmtp_ping_encode(frame, sizeof frame, ttl, ctx, ctx_len);
        FUZZ_CHECK(n == 2 + 5 + len);
        FUZZ_CHECK(memcmp(frame + 7, d, len) == 0);
        n = zmtp_pong_encode(frame, sizeof frame, ctx, ctx_len);
        FUZZ_CHECK(n == 2 + 5 + ctx_len);
    }
    rc = zmtp_pong_parse(d, len, &ctx, &ctx_len);
    FUZZ_CHECK(rc == (len <= 16 ? ZMTP_OK : ZMTP_E_PING));
}

static void check_data(const uint8_t *d, size_t len)
{
    walk_properties(d, len);
    check_ready(d, len);
    check_error(d, len);
    check_ping_pong(d, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zmtp_command_t c;
    int rc = zmtp_command_parse(data, size, &c);
    FUZZ_CHECK(rc == ZMTP_OK || rc == ZMTP_E_COMMAND);
    if (rc == ZMTP_OK) {
        FUZZ_CHECK(c.name_len >= 1 && 1 + c.name_len + c.data_len == size);
        FUZZ_CHECK(c.name == data + 1 && c.data == data + 1 + c.name_len);
        check_data(c.data, c.data_len);
    }
    check_data(data, size);

    /* Topics are opaque: any input is a valid subscription. */
    static const size_t caps[] = {0, 64, 1024};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        uint8_t frame[1024];
        size_t n = zmtp_subscribe_encode(frame, caps[i], (int)(size & 1), data, size);
        size_t body = 1 + ((size & 1) ? 6u : 9u) + size;
        size_t need = (body <= 255 ? 2 : 9) + body;
        FUZZ_CHECK(n == (need <= caps[i] ? need : 0));
    }
    return 0;
}

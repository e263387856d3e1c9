/*
 * Greeting codec: exact layout, signature rejection from the first octet,
 * version and mechanism checks on partial input, no over-reads.
 */
#include "zmtp/zmtp.h"

#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int tests_run;

/* Decodes from a heap copy of exactly `len` bytes so a sanitizer build
 * catches any read past the end. */
static int decode_exact(const uint8_t *buf, size_t len, zmtp_greeting_t *out)
{
    uint8_t *copy = malloc(len ? len : 1);
    CHECK(copy != NULL);
    if (len)
        memcpy(copy, buf, len);
    int rc = zmtp_greeting_decode(copy, len, out);
    free(copy);
    return rc;
}

static int signature_exact(const uint8_t *buf, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    CHECK(copy != NULL);
    if (len)
        memcpy(copy, buf, len);
    int rc = zmtp_signature_check(copy, len);
    free(copy);
    return rc;
}

static void test_encode_layout(void)
{
    uint8_t g[ZMTP_GREETING_SIZE];
    memset(g, 0xAA, sizeof g);
    CHECK_EQ(zmtp_greeting_encode(g, 1, "NULL", 0), 64);
    CHECK_EQ(g[0], 0xFF);
    for (int i = 1; i <= 8; i++)
        CHECK_EQ(g[i], 0);
    CHECK_EQ(g[9], 0x7F);
    CHECK_EQ(g[10], 3);
    CHECK_EQ(g[11], 1);
    CHECK(memcmp(g + 12, "NULL", 4) == 0);
    for (int i = 16; i < 32; i++)
        CHECK_EQ(g[i], 0);
    CHECK_EQ(g[32], 0);
    for (int i = 33; i < 64; i++)
        CHECK_EQ(g[i], 0);

    CHECK_EQ(zmtp_greeting_encode(g, 0, "CURVE", 7), 64);
    CHECK_EQ(g[11], 0);
    CHECK_EQ(g[32], 1);
    tests_run++;
}

static void test_encode_mechanism_limits(void)
{
    uint8_t g[ZMTP_GREETING_SIZE];
    CHECK_EQ(zmtp_greeting_encode(g, 1, "ABCDEFGHIJKLMNOPQRST", 0), 64);
    CHECK(memcmp(g + 12, "ABCDEFGHIJKLMNOPQRST", 20) == 0);
    CHECK_EQ(g[32], 0);
    CHECK_EQ(zmtp_greeting_encode(g, 1, "ABCDEFGHIJKLMNOPQRSTU", 0), 0);
    CHECK_EQ(zmtp_greeting_encode(g, 1, NULL, 0), 0);
    CHECK_EQ(zmtp_greeting_encode(g, 1, "", 0), 0);
    CHECK_EQ(zmtp_greeting_encode(g, 1, "null", 0), 0);
    CHECK_EQ(zmtp_greeting_encode(g, 1, "PL AIN", 0), 0);
    CHECK_EQ(zmtp_greeting_encode(g, 1, "A-Z_0.9+", 0), 64);
    tests_run++;
}

static void test_round_trip(void)
{
    static const char *const mechs[] = {"NULL", "PLAIN", "CURVE", "X",
                                        "ABCDEFGHIJKLMNOPQRST"};
    for (size_t m = 0; m < sizeof mechs / sizeof mechs[0]; m++) {
        for (int as_server = 0; as_server <= 1; as_server++) {
            for (uint8_t minor = 0; minor <= 2; minor++) {
                uint8_t g[ZMTP_GREETING_SIZE];
                zmtp_greeting_t d;
                CHECK_EQ(zmtp_greeting_encode(g, minor, mechs[m], as_server), 64);
                CHECK_EQ(decode_exact(g, sizeof g, &d), ZMTP_OK);
                CHECK_EQ(d.major, 3);
                CHECK_EQ(d.minor, minor);
                CHECK_STR(d.mechanism, mechs[m]);
                CHECK_EQ(d.as_server, as_server);
            }
        }
    }
    tests_run++;
}

static void test_signature(void)
{
    uint8_t g[ZMTP_GREETING_SIZE];
    CHECK_EQ(zmtp_greeting_encode(g, 1, "NULL", 0), 64);

    CHECK_EQ(zmtp_signature_check(NULL, 0), ZMTP_NEED_MORE);
    for (size_t len = 1; len < ZMTP_SIGNATURE_SIZE; len++)
        CHECK_EQ(signature_exact(g, len), ZMTP_NEED_MORE);
    CHECK_EQ(signature_exact(g, ZMTP_SIGNATURE_SIZE), ZMTP_OK);
    CHECK_EQ(signature_exact(g, ZMTP_GREETING_SIZE), ZMTP_OK);

    /* Every wrong first octet is refused with one byte in hand. */
    for (int b = 0; b < 256; b++) {
        uint8_t one = (uint8_t)b;
        zmtp_greeting_t d;
        int want = b == 0xFF ? ZMTP_NEED_MORE : ZMTP_E_SIGNATURE;
        CHECK_EQ(signature_exact(&one, 1), want);
        CHECK_EQ(decode_exact(&one, 1, &d), want);
    }

    /* Common junk: HTTP, a TLS record, a ZMTP 1.0 short identity frame. */
    static const char http[] = "GET / HTTP/1.1\r\n";
    CHECK_EQ(signature_exact((const uint8_t *)http, 1), ZMTP_E_SIGNATURE);
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x02, 0x00};
    CHECK_EQ(signature_exact(tls, sizeof tls), ZMTP_E_SIGNATURE);
    static const uint8_t zmtp10[] = {0x01, 0x00};
    CHECK_EQ(signature_exact(zmtp10, sizeof zmtp10), ZMTP_E_SIGNATURE);

    /* The last signature octet must be 0x7F. */
    for (int b = 0; b < 256; b++) {
        uint8_t s[ZMTP_SIGNATURE_SIZE];
        memcpy(s, g, sizeof s);
        s[9] = (uint8_t)b;
        CHECK_EQ(signature_exact(s, sizeof s), b == 0x7F ? ZMTP_OK : ZMTP_E_SIGNATURE);
    }

    /* Padding carries no meaning (a 1.0-style length here is legal). */
    uint8_t p[ZMTP_GREETING_SIZE];
    memcpy(p, g, sizeof p);
    for (int i = 1; i <= 8; i++)
        p[i] = (uint8_t)(0xA0 + i);
    zmtp_greeting_t d;
    CHECK_EQ(signature_exact(p, ZMTP_SIGNATURE_SIZE), ZMTP_OK);
    CHECK_EQ(decode_exact(p, sizeof p, &d), ZMTP_OK);
    CHECK_STR(d.mechanism, "NULL");
    tests_run++;
}

static void test_version(void)
{
    uint8_t g[ZMTP_GREETING_SIZE];
    zmtp_greeting_t d;
    CHECK_EQ(zmtp_greeting_encode(g, 1, "NULL", 0), 64);
    for (int major = 0; major < 3; major++) {
        g[10] = (uint8_t)major;
        /* Known as soon as the major octet arrives. */
        CHECK_EQ(decode_exact(g, 11, &d), ZMTP_E_VERSION);
        CHECK_EQ(decode_exact(g, 20, &d), ZMTP_E_VERSION);
        CHECK_EQ(decode_exact(g, sizeof g, &d), ZMTP_E_VERSION);
    }
    /* Later versions must be accepted (rfc 23 "Version Negotiation"). */
    g[10] = 4;
    g[11] = 7;
    CHECK_EQ(decode_exact(g, sizeof g, &d), ZMTP_OK);
    CHECK_EQ(d.major, 4);
    CHECK_EQ(d.minor, 7);
    g[10] = 0xFF;
    CHECK_EQ(decode_exact(g, sizeof g, &d), ZMTP_OK);
    g[10] = 3;
    g[11] = 0;
    CHECK_EQ(decode_exact(g, sizeof g, &d), ZMTP_OK);
    CHECK_EQ(d.minor, 0);
    tests_run++;
}

static void put_mech(uint8_t g[ZMTP_GREETING_SIZE], const uint8_t *m, size_t n)
{
    memset(g + 12, 0, 20);
    memcpy(g + 12, m, n);
}

static void test_mechanism_field(void)
{
    uint8_t g[ZMTP_GREETING_SIZE];
    zmtp_greeting_t d;
    CHECK_EQ(zmtp_greeting_encode(g, 1, "NULL", 0), 64);

    /* A NUL inside the name is not padding. */
    put_mech(g, (const uint8_t *)"NU\0L", 4);
    CHECK_EQ(decode_exact(g, sizeof g, &d), ZMTP_E_MECHANISM);
    CHECK_EQ(decode_exact(g, 16, &d), ZMTP_E_MECHANISM);
    /* Garbage after the padding starts. */
    put_mech(g, (const uint8_t *)"NULL", 4);
    g[31] = 'X';
    CHECK_EQ(decode_exact(g, sizeof g, &d), ZMTP_E_MECHANISM);
    CHECK_EQ(decode_exact(g, 31, &d), ZMTP_NEED_MORE);
    CHECK_EQ(decode_exact(g, 32, &d), ZMTP_E_MECHANISM);
    /* No name at all. */
    put_mech(g, (const uint8_t *)"", 0);
    CHECK_EQ(decode_exact(g, sizeof g, &d), ZMTP_E_MECHANISM);
    CHECK_EQ(decode_exact(g, 13, &d), ZMTP_E_MECHANISM);
    /* Outside the mechanism-char set. */
    static const char *const bad[] = {"null", "NU LL", "NULL\x01", "N\xC3\x9cLL", "A/B"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        put_mech(g, (const uint8_t *)bad[i], strlen(bad[i]));
        CHECK_EQ(decode_exact(g, sizeof g, &d), ZMTP_E_MECHANISM);
    }
    /* The first bad octet is reported before the greeting is complete. */
    put_mech(g, (const uint8_t *)"x", 1);
    CHECK_EQ(decode_exact(g, 13, &d), ZMTP_E_MECHANISM);

    /* A full 20-octet name has no padding and still gets a terminator. */
    put_mech(g, (const uint8_t *)"ABCDEFGHIJKLMNOPQRST", 20);
    memset(&d, 0x55, sizeof d);
    CHECK_EQ(decode_exact(g, sizeof g, &d), ZMTP_OK);
    CHECK_EQ(strlen(d.mechanism), 20);
    CHECK_STR(d.mechanism, "ABCDEFGHIJKLMNOPQRST");

    /* Trailing NULs are stripped: the struct holds no stale bytes. */
    put_mech(g, (const uint8_t *)"NULL", 4);
    CHECK_EQ(decode_exact(g, sizeof g, &d), ZMTP_OK);
    CHECK_STR(d.mechanism, "NULL");
    for (size_t i = 4; i < sizeof d.mechanism; i++)
        CHECK_EQ(d.mechanism[i], 0);
    tests_run++;
}

static void test_unvalidated_fields(void)
{
    uint8_t g[ZMTP_GREETING_SIZE];
    zmtp_greeting_t d;
    CHECK_EQ(zmtp_greeting_encode(g, 1, "NULL", 0), 64);
    for (int i = 33; i < 64; i++)
        g[i] = 0xEE;
    CHECK_EQ(decode_exact(g, sizeof g, &d), ZMTP_OK);
    g[32] = 1;
    CHECK_EQ(decode_exact(g, sizeof g, &d), ZMTP_OK);
    CHECK_EQ(d.as_server, 1);
    /* Reported as received; the caller decides what a non-conforming
     * as-server octet means. */
    g[32] = 7;
    CHECK_EQ(decode_exact(g, sizeof g, &d), ZMTP_OK);
    CHECK_EQ(d.as_server, 7);
    tests_run++;
}

/* Every prefix of a greeting yields NEED_MORE or the error of the whole
 * greeting, never ZMTP_OK early and never a different error. */
static void check_prefixes(const uint8_t g[ZMTP_GREETING_SIZE])
{
    zmtp_greeting_t d;
    int full = decode_exact(g, ZMTP_GREETING_SIZE, &d);
    for (size_t len = 0; len < ZMTP_GREETING_SIZE; len++) {
        int rc = decode_exact(g, len, &d);
        CHECK(rc == ZMTP_NEED_MORE || (rc < 0 && rc == full));
    }
    /* Extra bytes after the greeting belong to the next layer. */
    uint8_t longer[ZMTP_GREETING_SIZE + 8];
    memcpy(longer, g, ZMTP_GREETING_SIZE);
    memset(longer + ZMTP_GREETING_SIZE, 0x04, 8);
    CHECK_EQ(decode_exact(longer, sizeof longer, &d), full);
}

static void test_truncation(void)
{
    uint8_t g[ZMTP_GREETING_SIZE];
    CHECK_EQ(zmtp_greeting_encode(g, 1, "NULL", 0), 64);
    check_prefixes(g);

    uint8_t bad[ZMTP_GREETING_SIZE];
    static const size_t offsets[] = {0, 9, 10, 12, 15, 16, 31};
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        for (int v = 0; v < 256; v += 17) {
            memcpy(bad, g, sizeof bad);
            bad[offsets[i]] = (uint8_t)v;
            check_prefixes(bad);
        }
    }
    tests_run++;
}

/* Random greetings never read out of bounds and decoding is all-or-nothing. */
static void test_random(void)
{
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int n = 0; n < 4000; n++) {
        uint8_t g[ZMTP_GREETING_SIZE];
        CHECK_EQ(zmtp_greeting_encode(g, 1, "NULL", 0), 64);
        int flips = 1 + n % 4;
        for (int k = 0; k < flips; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            g[(x >> 8) % 33] = (uint8_t)x;
        }
        check_prefixes(g);
    }
    tests_run++;
}

int main(void)
{
    test_encode_layout();
    test_encode_mechanism_limits();
    test_round_trip();
    test_signature();
    test_version();
    test_mechanism_field();
    test_unvalidated_fields();
    test_truncation();
    test_random();
    printf("test_zmtp_greeting: %d tests passed\n", tests_run);
    return 0;
}

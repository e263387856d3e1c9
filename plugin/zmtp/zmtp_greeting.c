/*
 * ZMTP greeting: the fixed 64-octet preamble each peer sends first.
 *
 * Layout (rfc 23/37): signature 0..9, major 10, minor 11, mechanism 12..31,
 * as-server 32, filler 33..63.
 */
#include "zmtp/zmtp.h"

#include <string.h>

enum {
    SIG_FIRST = 0,
    SIG_LAST = 9,
    OFF_MAJOR = 10,
    OFF_MINOR = 11,
    OFF_MECH = 12,
    MECH_LEN = 20,
    OFF_AS_SERVER = 32,
};

static int mechanism_char_ok(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '+';
}

size_t zmtp_greeting_encode(uint8_t out[ZMTP_GREETING_SIZE], uint8_t minor,
                            const char *mechanism, int as_server)
{
    if (mechanism == NULL)
        return 0;
    size_t n = 0;
    while (n <= MECH_LEN && mechanism[n] != '\0')
        n++;
    /* Refuse anything our own decoder would refuse, so two zmtls peers can
     * never disagree about a greeting one of them produced. */
    if (n == 0 || n > MECH_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!mechanism_char_ok((uint8_t)mechanism[i]))
            return 0;

    memset(out, 0, ZMTP_GREETING_SIZE);
    out[SIG_FIRST] = 0xFF;
    out[SIG_LAST] = 0x7F;
    out[OFF_MAJOR] = 3;
    out[OFF_MINOR] = minor;
    memcpy(out + OFF_MECH, mechanism, n);
    out[OFF_AS_SERVER] = as_server ? 1 : 0;
    return ZMTP_GREETING_SIZE;
}

int zmtp_signature_check(const uint8_t *buf, size_t len)
{
    if (len == 0)
        return ZMTP_NEED_MORE;
    if (buf == NULL)
        return ZMTP_E_SIGNATURE;
    /* Octets 1..8 are padding that rfc 23 forbids interpreting (ZMTP 1.0
     * peers put a length there), so only the two ends are significant. */
    if (buf[SIG_FIRST] != 0xFF)
        return ZMTP_E_SIGNATURE;
    if (len <= SIG_LAST)
        return ZMTP_NEED_MORE;
    if (buf[SIG_LAST] != 0x7F)
        return ZMTP_E_SIGNATURE;
    return ZMTP_OK;
}

/* Checks the mechanism octets present in buf[0..avail). The name is a run of
 * mechanism-chars followed only by NULs; an all-NUL field names nothing. */
static int mechanism_check(const uint8_t *mech, size_t avail)
{
    int padding = 0;
    for (size_t i = 0; i < avail; i++) {
        uint8_t c = mech[i];
        if (c == 0) {
            if (i == 0)
                return ZMTP_E_MECHANISM;
            padding = 1;
        } else if (padding || !mechanism_char_ok(c)) {
            return ZMTP_E_MECHANISM;
        }
    }
    return ZMTP_OK;
}

int zmtp_greeting_decode(const uint8_t *buf, size_t len, zmtp_greeting_t *out)
{
    int rc = zmtp_signature_check(buf, len);
    if (rc != ZMTP_OK)
        return rc;

    /* Everything checkable in a partial greeting is checked now, so a
     * reader can drop a ZMTP 2.0 peer or junk without waiting for 64 bytes
     * that may never come. */
    if (len <= OFF_MAJOR)
        return ZMTP_NEED_MORE;
    if (buf[OFF_MAJOR] < 3)
        return ZMTP_E_VERSION;
    if (len > OFF_MECH) {
        size_t avail = len - OFF_MECH;
        if (avail > MECH_LEN)
            avail = MECH_LEN;
        rc = mechanism_check(buf + OFF_MECH, avail);
        if (rc != ZMTP_OK)
            return rc;
    }
    if (len < ZMTP_GREETING_SIZE)
        return ZMTP_NEED_MORE;

    out->major = buf[OFF_MAJOR];
    out->minor = buf[OFF_MINOR];
    size_t n = 0;
    while (n < MECH_LEN && buf[OFF_MECH + n] != 0)
        n++;
    memcpy(out->mechanism, buf + OFF_MECH, n);
    memset(out->mechanism + n, 0, sizeof out->mechanism - n);
    out->as_server = buf[OFF_AS_SERVER];
    return ZMTP_OK;
}

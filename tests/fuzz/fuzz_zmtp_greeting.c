/*
 * Fuzz target: greeting decoder. Beyond "no crash", checks the properties a
 * reader relies on: a prefix never succeeds early nor disagrees with the
 * whole, and anything accepted survives a re-encode.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zmtp_greeting_t g;
    int sig = zmtp_signature_check(data, size);
    int rc = zmtp_greeting_decode(data, size, &g);

    FUZZ_CHECK(sig == ZMTP_OK || sig == ZMTP_NEED_MORE || sig == ZMTP_E_SIGNATURE);
    FUZZ_CHECK(rc == ZMTP_OK || rc == ZMTP_NEED_MORE || rc == ZMTP_E_SIGNATURE ||
               rc == ZMTP_E_VERSION || rc == ZMTP_E_MECHANISM);
    if (sig == ZMTP_E_SIGNATURE)
        FUZZ_CHECK(rc == ZMTP_E_SIGNATURE);
    if (size < ZMTP_GREETING_SIZE)
        FUZZ_CHECK(rc != ZMTP_OK);
    else
        FUZZ_CHECK(rc != ZMTP_NEED_MORE);

    size_t whole = size < ZMTP_GREETING_SIZE ? size : ZMTP_GREETING_SIZE;
    int whole_rc = zmtp_greeting_decode(data, whole, &g);
    FUZZ_CHECK(whole_rc == rc);
    for (size_t len = 0; len < whole; len++) {
        zmtp_greeting_t p;
        int prc = zmtp_greeting_decode(data, len, &p);
        FUZZ_CHECK(prc == ZMTP_NEED_MORE || (prc < 0 && prc == rc));
    }

    if (rc == ZMTP_OK) {
        size_t n = strlen(g.mechanism);
        FUZZ_CHECK(n >= 1 && n <= 20);
        FUZZ_CHECK(g.major >= 3);
        FUZZ_CHECK(memcmp(g.mechanism, data + 12, n) == 0);

        uint8_t again[ZMTP_GREETING_SIZE];
        zmtp_greeting_t h;
        FUZZ_CHECK(zmtp_greeting_encode(again, g.minor, g.mechanism, g.as_server) ==
                   ZMTP_GREETING_SIZE);
        FUZZ_CHECK(zmtp_greeting_decode(again, sizeof again, &h) == ZMTP_OK);
        FUZZ_CHECK(h.major == 3 && h.minor == g.minor);
        FUZZ_CHECK(strcmp(h.mechanism, g.mechanism) == 0);
        FUZZ_CHECK(h.as_server == (g.as_server != 0));
    }
    return 0;
}

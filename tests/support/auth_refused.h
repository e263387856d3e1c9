/*
 * The scenario shared by the certificate-refusal tests (untrusted CA,
 * missing certificate, expired certificate): a good ROUTER server and a
 * DEALER client whose credentials the server refuses. Kept in its own file
 * because it calls zmtls_* helpers: only integration tests, which link
 * libzmtls, pull it from the static support library.
 */
#ifndef ZMTLS_TEST_AUTH_REFUSED_H
#define ZMTLS_TEST_AUTH_REFUSED_H

/* Runs the scenario in a context of its own and exits(1) on any failed
 * assertion; prints a summary line. cert/key are short names (tu_cert) or
 * NULL for a client without a certificate; alert is the TLS alert both
 * sides must report as the HANDSHAKE_FAILED_AUTH value.
 *
 * Asserts, with a constant auth retry step (ZMTLS_AUTH_IVL = _MAX):
 *   client: >= 3 HANDSHAKE_FAILED_AUTH, every value == alert; never
 *     CONNECTED, DISCONNECTED, HANDSHAKE_SUCCEEDED or another failure kind;
 *     exactly one CONNECT_RETRIED between consecutive failures, none before
 *     the first, each value within the step's +/-20 % jitter;
 *   server: HANDSHAKE_FAILED_AUTH count within 1 of the client's (one may
 *     be in flight), every value == alert, at least one ACCEPTED per
 *     failure, no HANDSHAKE_SUCCEEDED, no DISCONNECTED;
 *   the server application never receives the message the client queued;
 *   afterwards, while the refused client still retries, a good DEALER
 *   completes its handshake and a round trip with the same server. */
void tu_auth_refused(const char *name, const char *cert, const char *key, int alert);

#endif

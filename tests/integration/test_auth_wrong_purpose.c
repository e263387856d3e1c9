/*
 * The server refuses a client certificate from the trusted CA that is made for
 * servers only (extendedKeyUsage serverAuth): unsupported_certificate (TLS alert
 * 43). Both sides report HANDSHAKE_FAILED_AUTH(43) per attempt, the client never
 * reports CONNECTED or DISCONNECTED, retries follow the auth schedule, and the
 * server application never receives the client's message. Scenario and
 * assertions: tests/support/auth_refused.h.
 */
#include "auth_refused.h"
#include "testutil.h"

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    tu_auth_refused("wrong_purpose", "server.pem", "server.key", 43);
    return 0;
}

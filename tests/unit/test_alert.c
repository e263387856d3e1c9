/*
 * Alert names (RFC 8446 §6) and the authentication classification.
 */
#include "check.h"
#include "policy/alert.h"

#include <limits.h>

static const struct {
    int alert;
    const char *name;
    int is_auth;
} alerts[] = {
    {0, "close_notify", 0},
    {10, "unexpected_message", 0},
    {20, "bad_record_mac", 0},
    {22, "record_overflow", 0},
    {40, "handshake_failure", 0},
    {42, "bad_certificate", 1},
    {43, "unsupported_certificate", 1},
    {44, "certificate_revoked", 1},
    {45, "certificate_expired", 1},
    {46, "certificate_unknown", 1},
    {47, "illegal_parameter", 0},
    {48, "unknown_ca", 1},
    {49, "access_denied", 1},
    {50, "decode_error", 0},
    {51, "decrypt_error", 0},
    {70, "protocol_version", 0},
    {71, "insufficient_security", 0},
    {80, "internal_error", 0},
    {86, "inappropriate_fallback", 0},
    {90, "user_canceled", 0},
    {109, "missing_extension", 0},
    {110, "unsupported_extension", 0},
    {112, "unrecognized_name", 0},
    {113, "bad_certificate_status_response", 0},
    {115, "unknown_psk_identity", 0},
    {116, "certificate_required", 1},
    {120, "no_application_protocol", 0},
};
#define NALERTS (sizeof alerts / sizeof alerts[0])

static int find(int alert)
{
    for (size_t i = 0; i < NALERTS; i++)
        if (alerts[i].alert == alert)
            return (int)i;
    return -1;
}

/* Every defined alert has its RFC name and classification. */
static void test_defined(void)
{
    int auth = 0;
    for (size_t i = 0; i < NALERTS; i++) {
        CHECK_STR(policy_alert_name(alerts[i].alert), alerts[i].name);
        CHECK_EQ(policy_alert_is_auth(alerts[i].alert), alerts[i].is_auth);
        auth += alerts[i].is_auth;
    }
    CHECK_EQ(auth, 8);
}

/* Every other value of the alert byte, and ints out of its range, are
 * "unknown" (never NULL) and not auth. Includes TLS 1.2-only alerts the
 * RFC 8446 list dropped (21 decryption_failed, 30, 41, 60, 100). */
static void test_undefined(void)
{
    for (int a = -300; a <= 300; a++) {
        if (find(a) >= 0)
            continue;
        const char *n = policy_alert_name(a);
        CHECK(n != NULL);
        CHECK_STR(n, "unknown");
        CHECK_EQ(policy_alert_is_auth(a), 0);
    }
    const int extremes[] = {INT_MIN, INT_MIN + 1, INT_MAX, 256 + 48, -48, 65536 + 116};
    for (size_t i = 0; i < sizeof extremes / sizeof extremes[0]; i++) {
        CHECK_STR(policy_alert_name(extremes[i]), "unknown");
        CHECK_EQ(policy_alert_is_auth(extremes[i]), 0);
    }
}

/* Names are distinct, so a name identifies its alert in logs. */
static void test_distinct(void)
{
    for (size_t i = 0; i < NALERTS; i++)
        for (size_t j = i + 1; j < NALERTS; j++)
            CHECK(strcmp(policy_alert_name(alerts[i].alert),
                         policy_alert_name(alerts[j].alert)) != 0);
}

int main(void)
{
    test_defined();
    test_undefined();
    test_distinct();
    puts("alert: ok");
    return 0;
}

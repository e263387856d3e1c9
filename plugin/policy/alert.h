/*
 * TLS alert numbers (RFC 8446 §6) and how zmtls classifies them.
 * Pure tables; thread-safe.
 */
#ifndef ZMTLS_ALERT_H
#define ZMTLS_ALERT_H

/* RFC 8446 name ("unknown_ca"), or "unknown". Never NULL. */
const char *policy_alert_name(int alert);

/* 1 when the alert refuses a certificate (authentication failure):
 * bad_certificate 42, unsupported_certificate 43, certificate_revoked 44,
 * certificate_expired 45, certificate_unknown 46, unknown_ca 48,
 * access_denied 49, certificate_required 116. Else 0. */
int policy_alert_is_auth(int alert);

#endif

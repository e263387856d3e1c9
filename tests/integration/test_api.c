/*
 * The public API of include/zmtls.h as an application calls it, through
 * the ordinary zmq_setsockopt / zmq_getsockopt:
 *   integer options: documented defaults, read-back, range checks (>= 1),
 *     size checks; the TLS policy options at both ends of their ranges and
 *     one past each; string options: read-back as NUL-terminated strings,
 *     an empty value clears, a too-small buffer fails, ZMTLS_KEY_PEM cannot
 *     be read back; an unknown id in zmtls's range is refused; libzmq's own
 *     options still work on the same socket;
 *   helpers: zmtls_event_name, zmtls_alert_name, zmtls_alert_is_auth (the
 *     RFC 8446 certificate alerts and only those), zmtls_version,
 *     zmtls_last_error on a thread that saw no failure.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "zmtls.h"

static void check_int_options(void *s)
{
    CHECK_EQ(tu_get_int(s, ZMTLS_AUTH_IVL), ZMTLS_AUTH_IVL_DEFAULT);
    CHECK_EQ(tu_get_int(s, ZMTLS_AUTH_IVL_MAX), ZMTLS_AUTH_IVL_MAX_DEFAULT);
    CHECK_EQ(tu_get_int(s, ZMTLS_AUTH_STOP), 0);

    tu_set_int(s, ZMTLS_AUTH_IVL, 250);
    tu_set_int(s, ZMTLS_AUTH_IVL_MAX, 4000);
    tu_set_int(s, ZMTLS_AUTH_STOP, 1);
    CHECK_EQ(tu_get_int(s, ZMTLS_AUTH_IVL), 250);
    CHECK_EQ(tu_get_int(s, ZMTLS_AUTH_IVL_MAX), 4000);
    CHECK_EQ(tu_get_int(s, ZMTLS_AUTH_STOP), 1);

    int zero = 0, negative = -5;
    CHECK_EQ(zmq_setsockopt(s, ZMTLS_AUTH_IVL, &zero, sizeof zero), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(zmq_setsockopt(s, ZMTLS_AUTH_IVL, &negative, sizeof negative), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(tu_get_int(s, ZMTLS_AUTH_IVL), 250); /* a refused value changes nothing */
    short small = 100;
    CHECK_EQ(zmq_setsockopt(s, ZMTLS_AUTH_IVL, &small, sizeof small), -1);
    CHECK_EQ(errno, EINVAL);
    char tiny[2];
    size_t tiny_len = sizeof tiny;
    CHECK_EQ(zmq_getsockopt(s, ZMTLS_AUTH_IVL, tiny, &tiny_len), -1);
    CHECK_EQ(errno, EINVAL);
}

/* The TLS policy options: defaults, read-back, ranges, and a message in
 * zmtls_last_error for a refused value. */
static void check_policy_options(void *s)
{
    static const struct {
        int id, dflt, lo, hi;
    } opts[] = {
        {ZMTLS_VERIFY_DEPTH, ZMTLS_VERIFY_DEPTH_DEFAULT, 0, ZMTLS_VERIFY_DEPTH_MAX},
        {ZMTLS_SESSION_LIFETIME, ZMTLS_SESSION_LIFETIME_DEFAULT, 1,
         ZMTLS_SESSION_LIFETIME_MAX},
        {ZMTLS_TLS_UPDATES_MAX, ZMTLS_TLS_UPDATES_MAX_DEFAULT, 0, INT_MAX},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        CHECK_EQ(tu_get_int(s, opts[i].id), opts[i].dflt);
        tu_set_int(s, opts[i].id, opts[i].lo);
        CHECK_EQ(tu_get_int(s, opts[i].id), opts[i].lo);
        tu_set_int(s, opts[i].id, opts[i].hi);
        CHECK_EQ(tu_get_int(s, opts[i].id), opts[i].hi);
        int below = opts[i].lo - 1;
        CHECK_EQ(zmq_setsockopt(s, opts[i].id, &below, sizeof below), -1);
        CHECK_EQ(errno, EINVAL);
        CHECK(strstr(zmtls_last_error(), "invalid value") != NULL);
        if (opts[i].hi < INT_MAX) {
            int above = opts[i].hi + 1;
            CHECK_EQ(zmq_setsockopt(s, opts[i].id, &above, sizeof above), -1);
            CHECK_EQ(errno, EINVAL);
        }
        CHECK_EQ(tu_get_int(s, opts[i].id), opts[i].hi);
        tu_set_int(s, opts[i].id, opts[i].dflt);
    }
}

static void check_string_options(void *s)
{
    static const int ids[] = {ZMTLS_CERT_FILE, ZMTLS_KEY_FILE, ZMTLS_CA_FILE,
                              ZMTLS_SERVER_NAME};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        /* Set without a terminator: the length is what counts. */
        const char value[] = "/some/where.pemXXXX";
        CHECK_EQ(zmq_setsockopt(s, ids[i], value, 15), 0);
        char back[64];
        size_t len = sizeof back;
        CHECK_EQ(zmq_getsockopt(s, ids[i], back, &len), 0);
        CHECK_STR(back, "/some/where.pem");
        CHECK_EQ(len, 16);

        char small[4];
        size_t small_len = sizeof small;
        CHECK_EQ(zmq_getsockopt(s, ids[i], small, &small_len), -1);
        CHECK_EQ(errno, EINVAL);

        CHECK_EQ(zmq_setsockopt(s, ids[i], "", 0), 0);
        len = sizeof back;
        CHECK_EQ(zmq_getsockopt(s, ids[i], back, &len), 0);
        CHECK_STR(back, "");
    }
    /* PEM text options read back, except the private key. */
    const char cert_pem[] = "-----BEGIN CERTIFICATE-----\n";
    CHECK_EQ(zmq_setsockopt(s, ZMTLS_CERT_PEM, cert_pem, strlen(cert_pem)), 0);
    char back[64];
    size_t len = sizeof back;
    CHECK_EQ(zmq_getsockopt(s, ZMTLS_CERT_PEM, back, &len), 0);
    CHECK_STR(back, cert_pem);
    const char key_pem[] = "-----BEGIN PRIVATE KEY-----\n";
    CHECK_EQ(zmq_setsockopt(s, ZMTLS_KEY_PEM, key_pem, strlen(key_pem)), 0);
    len = sizeof back;
    CHECK_EQ(zmq_getsockopt(s, ZMTLS_KEY_PEM, back, &len), -1);

    int v = 1;
    CHECK_EQ(zmq_setsockopt(s, ZMTLS_OPTION_BASE + 99, &v, sizeof v), -1);
    CHECK_EQ(errno, EINVAL);
    len = sizeof back;
    CHECK_EQ(zmq_getsockopt(s, ZMTLS_OPTION_BASE + 99, back, &len), -1);
    CHECK_EQ(errno, EINVAL);

    /* libzmq's options are untouched by the shim. */
    tu_set_int(s, ZMQ_SNDHWM, 77);
    CHECK_EQ(tu_get_int(s, ZMQ_SNDHWM), 77);
    CHECK_EQ(tu_get_int(s, ZMQ_TYPE), ZMQ_DEALER);
}

static void check_helpers(void)
{
    CHECK_STR(zmtls_event_name(ZMQ_EVENT_CONNECTED), "CONNECTED");
    CHECK_STR(zmtls_event_name(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), "HANDSHAKE_FAILED_AUTH");
    CHECK_STR(zmtls_event_name(ZMQ_EVENT_CONNECT_RETRIED), "CONNECT_RETRIED");
    CHECK_STR(zmtls_event_name(0x12345), "UNKNOWN");
    CHECK_STR(zmtls_event_name(0), "UNKNOWN");

    CHECK_STR(zmtls_alert_name(42), "bad_certificate");
    CHECK_STR(zmtls_alert_name(45), "certificate_expired");
    CHECK_STR(zmtls_alert_name(48), "unknown_ca");
    CHECK_STR(zmtls_alert_name(116), "certificate_required");
    CHECK_STR(zmtls_alert_name(70), "protocol_version");
    CHECK_STR(zmtls_alert_name(999), "unknown");
    CHECK_STR(zmtls_alert_name(-1), "unknown");

    static const int auth[] = {42, 43, 44, 45, 46, 48, 49, 116};
    for (size_t i = 0; i < sizeof auth / sizeof auth[0]; i++)
        CHECK_EQ(zmtls_alert_is_auth(auth[i]), 1);
    static const int not_auth[] = {0, 10, 20, 40, 47, 50, 70, 80, 109, 120, 256, -48};
    for (size_t i = 0; i < sizeof not_auth / sizeof not_auth[0]; i++)
        CHECK_EQ(zmtls_alert_is_auth(not_auth[i]), 0);

    int major = -1, minor = -1, patch = -1;
    zmtls_version(&major, &minor, &patch);
    CHECK_EQ(major, ZMTLS_VERSION_MAJOR);
    CHECK_EQ(minor, ZMTLS_VERSION_MINOR);
    CHECK_EQ(patch, ZMTLS_VERSION_PATCH);

    CHECK(zmtls_last_error() != NULL);
    CHECK_STR(zmtls_last_error(), "");
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    check_helpers(); /* first: zmtls_last_error must still be "" */
    void *s = tu_socket(ctx, ZMQ_DEALER);
    check_int_options(s);
    check_policy_options(s);
    check_string_options(s);
    CHECK_EQ(zmq_close(s), 0);
    CHECK(zmq_ctx_term(ctx) == 0);
    printf("api: int options (defaults %d/%d/0, range and size checks), string options "
           "(read-back, clear, short buffer, write-only key), unknown id, helpers ok\n",
           ZMTLS_AUTH_IVL_DEFAULT, ZMTLS_AUTH_IVL_MAX_DEFAULT);
    return 0;
}

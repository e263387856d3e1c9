/*
 * A tls:// REP server facing authenticated peers that speak broken ZMTP
 * 3.1: a plain OpenSSL client with a valid certificate completes the TLS
 * handshake, reads the server's greeting, then writes hand-made bytes.
 * One case at a time so each server event can be attributed, while a good
 * REQ client is served before, between and after them.
 *
 * Handshake cases: the server closes the connection and reports
 * HANDSHAKE_FAILED_PROTOCOL with the ZMQ_PROTOCOL_ERROR_ZMTP_* value
 * include/zmtls.h and plugin/zmtp/zmtp_error.c document for it (greeting
 * and framing faults have no dedicated libzmq value: _UNSPECIFIED).
 * Established cases (after a full handshake and a request the application
 * answered): the server closes the connection and reports DISCONNECTED.
 * Control: the same client writing correct bytes is served, so every
 * refusal was the fault written into its case and nothing else.
 *
 * At the end: one ACCEPTED per case, no HANDSHAKE_FAILED_AUTH or
 * NO_DETAIL, the application received nothing but the control's and the
 * good client's requests, and the good client's connection was never lost.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "rawtls.h"
#include "testutil.h"
#include "zmtls.h"

#define CASE_MAX 256

typedef struct zcase {
    const char *label;
    /* bytes after the TLS handshake: our greeting (when the case keeps it
     * valid) is written by the builder too */
    size_t (*build)(uint8_t *out);
    int established; /* run a full ZMTP handshake and a request first */
    int value;       /* HANDSHAKE_FAILED_PROTOCOL value; unused when established */
} zcase_t;

/* ---- builders ----------------------------------------------------------- */

static size_t greeting_with(uint8_t *out, size_t at, uint8_t byte)
{
    rt_zmtp_greeting(out);
    out[at] = byte;
    return RT_GREETING_SIZE;
}

static size_t bad_signature_first(uint8_t *out)
{
    return greeting_with(out, 0, 0x00);
}

static size_t bad_signature_last(uint8_t *out)
{
    return greeting_with(out, 9, 0x00);
}

static size_t major_version_2(uint8_t *out)
{
    return greeting_with(out, 10, 2);
}

static size_t mechanism(uint8_t *out, const char *name)
{
    rt_zmtp_greeting(out);
    memset(out + 12, 0, 20);
    memcpy(out + 12, name, strlen(name));
    return RT_GREETING_SIZE;
}

static size_t mechanism_curve(uint8_t *out)
{
    return mechanism(out, "CURVE");
}

static size_t mechanism_lowercase(uint8_t *out)
{
    return mechanism(out, "null");
}

/* Our greeting, then a frame with `flags` and the body (size < 256). */
static size_t greeting_then(uint8_t *out, uint8_t flags, const void *body, size_t len)
{
    rt_zmtp_greeting(out);
    size_t n = RT_GREETING_SIZE;
    CHECK(len < 256 && n + 2 + len <= CASE_MAX);
    out[n++] = flags;
    out[n++] = (uint8_t)len;
    memcpy(out + n, body, len);
    return n + len;
}

#define READY_BODY(props)        "\5READY" props
#define SOCKET_TYPE(len4, value) "\13Socket-Type" len4 value
#define LIT(s)                   s, sizeof(s) - 1

static size_t ready_property_overrun(uint8_t *out)
{
    /* The value claims 10 bytes; 3 follow. */
    return greeting_then(out, 0x04, LIT(READY_BODY(SOCKET_TYPE("\0\0\0\12", "REQ"))));
}

static size_t ready_property_huge(uint8_t *out)
{
    return greeting_then(out, 0x04,
                         LIT(READY_BODY(SOCKET_TYPE("\377\377\377\377", "REQ"))));
}

static size_t ready_property_name_overrun(uint8_t *out)
{
    /* A property name of 200 bytes in a 12-byte list. */
    return greeting_then(out, 0x04, LIT(READY_BODY("\310Socket-Type")));
}

static size_t ready_without_socket_type(uint8_t *out)
{
    return greeting_then(out, 0x04, LIT(READY_BODY("\10Identity\0\0\0\0")));
}

static size_t ready_two_socket_types(uint8_t *out)
{
    return greeting_then(
        out, 0x04,
        LIT(READY_BODY(SOCKET_TYPE("\0\0\0\3", "REQ") SOCKET_TYPE("\0\0\0\3", "REQ"))));
}

static size_t ready_unknown_socket_type(uint8_t *out)
{
    return greeting_then(out, 0x04, LIT(READY_BODY(SOCKET_TYPE("\0\0\0\3", "FOO"))));
}

static size_t ready_incompatible_socket_type(uint8_t *out)
{
    return greeting_then(out, 0x04, LIT(READY_BODY(SOCKET_TYPE("\0\0\0\3", "PUB"))));
}

static size_t ping_before_ready(uint8_t *out)
{
    return greeting_then(out, 0x04, LIT("\4PING\0\0"));
}

static size_t message_before_ready(uint8_t *out)
{
    return greeting_then(out, 0x00, LIT("early"));
}

static size_t error_before_ready(uint8_t *out)
{
    return greeting_then(out, 0x04, LIT("\5ERROR\3bad"));
}

static size_t command_name_overrun(uint8_t *out)
{
    /* The name claims 9 bytes; 2 follow. */
    return greeting_then(out, 0x04, LIT("\11AB"));
}

static size_t command_too_big(uint8_t *out)
{
    /* A long command header announcing 1 TiB. */
    rt_zmtp_greeting(out);
    static const uint8_t h[9] = {0x06, 0, 0, 0, 1, 0, 0, 0, 0};
    memcpy(out + RT_GREETING_SIZE, h, sizeof h);
    return RT_GREETING_SIZE + sizeof h;
}

static size_t reserved_flags(uint8_t *out)
{
    return greeting_then(out, 0x80, LIT(""));
}

/* Established: bytes after a complete handshake. */
static size_t ready_again(uint8_t *out)
{
    return rt_zmtp_ready(out, CASE_MAX, "REQ");
}

static size_t reserved_flags_established(uint8_t *out)
{
    out[0] = 0x80;
    out[1] = 0x00;
    return 2;
}

static const zcase_t cases[] = {
    {"bad signature (first byte)", bad_signature_first, 0,
     ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED},
    {"bad signature (last byte)", bad_signature_last, 0,
     ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED},
    {"major version 2", major_version_2, 0, ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED},
    {"mechanism CURVE", mechanism_curve, 0, ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH},
    {"mechanism \"null\"", mechanism_lowercase, 0,
     ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH},
    {"READY property value past the end", ready_property_overrun, 0,
     ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA},
    {"READY property length 2^32-1", ready_property_huge, 0,
     ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA},
    {"READY property name past the end", ready_property_name_overrun, 0,
     ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA},
    {"READY without Socket-Type", ready_without_socket_type, 0,
     ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA},
    {"READY with two Socket-Types", ready_two_socket_types, 0,
     ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY},
    {"READY Socket-Type FOO", ready_unknown_socket_type, 0,
     ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA},
    {"READY Socket-Type PUB to a REP", ready_incompatible_socket_type, 0,
     ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA},
    {"PING before READY", ping_before_ready, 0,
     ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND},
    {"message before READY", message_before_ready, 0,
     ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND},
    {"ERROR before READY", error_before_ready, 0,
     ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR},
    {"command name past the end", command_name_overrun, 0,
     ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED},
    {"command of 1 TiB before READY", command_too_big, 0,
     ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED},
    {"reserved frame flags", reserved_flags, 0, ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED},
    {"READY again when established", ready_again, 1, 0},
    {"reserved frame flags when established", reserved_flags_established, 1, 0},
};

#define NCASES (sizeof cases / sizeof cases[0])

/* ---- the run ------------------------------------------------------------ */

static tu_peer_t srv, good;
static unsigned trips;

static void good_roundtrip(const char *when)
{
    /* Nothing from the hostile client reached the application. */
    CHECK_EQ(tu_wait_readable(srv.sock, 0), -1);
    CHECK_EQ(tu_roundtrip_str(good.sock, srv.sock, when, TU_TIMEOUT_MS), 0);
    trips++;
}

/* The raw client's full handshake and one request, answered by the
 * application. */
static void raw_established(rt_conn_t *c)
{
    CHECK_EQ(rt_zmtp_handshake(c, "REQ", TU_TIMEOUT_MS), 0);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_EQ(rt_zmtp_send_request(c, "raw", TU_TIMEOUT_MS), 0);
    CHECK_EQ(tu_echo(srv.sock, TU_TIMEOUT_MS), 1);
    CHECK_EQ(rt_zmtp_recv_reply(c, "raw", TU_TIMEOUT_MS), 0);
}

static void run_case(SSL_CTX *tls, const zcase_t *k)
{
    rt_conn_t c;
    rt_open(&c, tls, tu_endpoint_port(srv.endpoint), NULL);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);
    CHECK_EQ(rt_handshake(&c, TU_TIMEOUT_MS), 0);
    if (k->established) {
        raw_established(&c);
    } else {
        /* The server's greeting: it accepted our certificate. */
        uint8_t g[RT_GREETING_SIZE];
        CHECK_EQ(rt_read(&c, g, sizeof g, TU_TIMEOUT_MS), 0);
    }
    uint8_t bytes[CASE_MAX];
    size_t n = k->build(bytes);
    CHECK(n > 0 && n <= CASE_MAX);
    CHECK_EQ(rt_write(&c, bytes, n, TU_TIMEOUT_MS), 0);
    if (rt_wait_closed(&c, TU_TIMEOUT_MS) != 0) {
        fprintf(stderr, "%s: the server kept the connection open\n", k->label);
        exit(1);
    }
    if (k->established) {
        TU_PEER_EXPECT(&srv, ZMQ_EVENT_DISCONNECTED);
        printf("%s: closed by the server (%s), DISCONNECTED\n", k->label, c.why);
    } else {
        int v = TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
        printf("%s: closed by the server (%s), HANDSHAKE_FAILED_PROTOCOL(%#x)\n",
               k->label, c.why, (unsigned)v);
        CHECK_EQ(v, k->value);
    }
    /* The server ended the session cleanly at the TLS layer: ZMTP errors
     * are not TLS errors. */
    CHECK_EQ(c.alert_received, -1);
    rt_close(&c);
    good_roundtrip(k->label);
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_env_creds(argv, NULL, NULL, NULL);
    tu_watchdog(TU_WATCHDOG_S);
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    tu_peer_open(&srv, "server", ctx, ZMQ_REP, "server.pem", "server.key", "ca.pem");
    tu_peer_bind(&srv);
    tu_peer_open(&good, "good client", ctx, ZMQ_REQ, "client.pem", "client.key",
                 "ca.pem");
    tu_peer_connect(&good, srv.endpoint);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    good_roundtrip("before");

    SSL_CTX *tls = rt_ctx_new("client.pem", "client.key", "ca.pem", TLS1_3_VERSION, -1);
    unsigned handshake_cases = 0;
    for (size_t i = 0; i < NCASES; i++) {
        run_case(tls, &cases[i]);
        handshake_cases += !cases[i].established;
    }

    /* Control: correct bytes from the same client are served. */
    rt_conn_t c;
    rt_open(&c, tls, tu_endpoint_port(srv.endpoint), NULL);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_ACCEPTED);
    CHECK_EQ(rt_handshake(&c, TU_TIMEOUT_MS), 0);
    raw_established(&c);
    rt_close(&c);
    TU_PEER_EXPECT(&srv, ZMQ_EVENT_DISCONNECTED);
    printf("control: a correct handshake and request from the raw client served\n");
    good_roundtrip("after");

    tu_pump(srv.mon, &srv.log);
    tu_pump(good.mon, &good.log);
    tu_events_print(&srv.log, "server");
    unsigned established = (unsigned)NCASES - handshake_cases + 1;
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_ACCEPTED), NCASES + 2);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL),
             handshake_cases);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), established + 1);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_DISCONNECTED), established);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
    CHECK_EQ(tu_events_count(&srv.log, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL), 0);
    CHECK_EQ(tu_events_count(&good.log, ZMQ_EVENT_DISCONNECTED), 0);

    SSL_CTX_free(tls);
    tu_peer_close(&good);
    tu_peer_close(&srv);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
    printf("hostile_zmtp: %u malformed handshakes refused with their ZMTP code, %u "
           "established connections dropped, control served; good client served %u "
           "times\n",
           handshake_cases, (unsigned)NCASES - handshake_cases, trips);
    return 0;
}

/*
 * Socket-Type names, the full compatibility matrix, and the error mapping.
 */
#include "zmtp/zmtp.h"

#include "check.h"

#include <string.h>

#include <zmq.h>

static int tests_run;

static const struct {
    int type;
    const char *name;
} known[] = {
    {ZMQ_PAIR, "PAIR"},     {ZMQ_PUB, "PUB"},   {ZMQ_SUB, "SUB"},
    {ZMQ_REQ, "REQ"},       {ZMQ_REP, "REP"},   {ZMQ_DEALER, "DEALER"},
    {ZMQ_ROUTER, "ROUTER"}, {ZMQ_PULL, "PULL"}, {ZMQ_PUSH, "PUSH"},
    {ZMQ_XPUB, "XPUB"},     {ZMQ_XSUB, "XSUB"},
};
#define NKNOWN (sizeof known / sizeof known[0])

static void test_names(void)
{
    for (size_t i = 0; i < NKNOWN; i++) {
        CHECK_STR(zmtp_socket_type_name(known[i].type), known[i].name);
        const char *n = known[i].name;
        CHECK_EQ(zmtp_socket_type_from_name((const uint8_t *)n, strlen(n)),
                 known[i].type);
    }
    /* ZMQ_STREAM (11) and the draft numbers 12..20 speak no ZMTP here. */
    static const int unknown[] = {-1, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 1000};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK(zmtp_socket_type_name(unknown[i]) == NULL);

    static const char *const bad[] = {"",        "req",   "Req",  "STREAM", "CLIENT",
                                      "SERVER",  "RADIO", "DISH", "PEER",   "DEALE",
                                      "DEALERS", " PUB",  "PUB "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ(zmtp_socket_type_from_name((const uint8_t *)bad[i], strlen(bad[i])), -1);
    /* Length is authoritative: an embedded NUL is not a terminator. */
    CHECK_EQ(zmtp_socket_type_from_name((const uint8_t *)"REQ\0", 4), -1);
    CHECK_EQ(zmtp_socket_type_from_name((const uint8_t *)"REQX", 3), ZMQ_REQ);
    CHECK_EQ(zmtp_socket_type_from_name(NULL, 0), -1);
    tests_run++;
}

/* The brief's pairing table, written out independently of the code. */
static int expected(int a, int b)
{
    static const int pairs[][2] = {
        {ZMQ_REQ, ZMQ_REP},       {ZMQ_REQ, ZMQ_ROUTER}, {ZMQ_REP, ZMQ_REQ},
        {ZMQ_REP, ZMQ_DEALER},    {ZMQ_DEALER, ZMQ_REP}, {ZMQ_DEALER, ZMQ_DEALER},
        {ZMQ_DEALER, ZMQ_ROUTER}, {ZMQ_ROUTER, ZMQ_REQ}, {ZMQ_ROUTER, ZMQ_DEALER},
        {ZMQ_ROUTER, ZMQ_ROUTER}, {ZMQ_PUB, ZMQ_SUB},    {ZMQ_PUB, ZMQ_XSUB},
        {ZMQ_SUB, ZMQ_PUB},       {ZMQ_SUB, ZMQ_XPUB},   {ZMQ_XPUB, ZMQ_SUB},
        {ZMQ_XPUB, ZMQ_XSUB},     {ZMQ_XSUB, ZMQ_PUB},   {ZMQ_XSUB, ZMQ_XPUB},
        {ZMQ_PUSH, ZMQ_PULL},     {ZMQ_PULL, ZMQ_PUSH},  {ZMQ_PAIR, ZMQ_PAIR},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (pairs[i][0] == a && pairs[i][1] == b)
            return 1;
    return 0;
}

static void test_compatibility_matrix(void)
{
    int allowed = 0;
    for (int a = -2; a <= 25; a++) {
        for (int b = -2; b <= 25; b++) {
            int got = zmtp_socket_types_compatible(a, b);
            CHECK_EQ(got, expected(a, b));
            /* The relation is symmetric. */
            CHECK_EQ(got, zmtp_socket_types_compatible(b, a));
            allowed += got;
        }
    }
    CHECK_EQ(allowed, 21);
    tests_run++;
}

static void test_error_mapping(void)
{
    CHECK_EQ(zmtp_error_event_value(ZMTP_E_READY),
             ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY);
    CHECK_EQ(zmtp_error_event_value(ZMTP_E_UNEXPECTED),
             ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
    CHECK_EQ(zmtp_error_event_value(ZMTP_E_METADATA),
             ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA);
    CHECK_EQ(zmtp_error_event_value(ZMTP_E_SOCKET_TYPE),
             ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA);
    CHECK_EQ(zmtp_error_event_value(ZMTP_E_MECHANISM),
             ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH);
    CHECK_EQ(zmtp_error_event_value(ZMTP_E_ERROR_CMD),
             ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR);
    CHECK_EQ(zmtp_error_event_value(ZMTP_E_COMMAND),
             ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED);
    CHECK_EQ(zmtp_error_event_value(ZMTP_E_PING),
             ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED);
    static const int unspecified[] = {
        ZMTP_E_SIGNATURE, ZMTP_E_VERSION, ZMTP_E_FRAME, ZMTP_E_TOOBIG, -99, 0, 1};
    for (size_t i = 0; i < sizeof unspecified / sizeof unspecified[0]; i++)
        CHECK_EQ(zmtp_error_event_value(unspecified[i]),
                 ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED);
    tests_run++;
}

static void test_strerror(void)
{
    /* Each code has its own non-empty text, distinct from the fallback. */
    const char *fallback = zmtp_strerror(-1000);
    CHECK(fallback != NULL && fallback[0] != '\0');
    for (int e = ZMTP_E_PING; e <= ZMTP_NEED_MORE; e++) {
        const char *s = zmtp_strerror(e);
        CHECK(s != NULL && s[0] != '\0');
        CHECK(strcmp(s, fallback) != 0);
        for (int f = ZMTP_E_PING; f < e; f++)
            CHECK(strcmp(s, zmtp_strerror(f)) != 0);
    }
    CHECK_STR(zmtp_strerror(2), fallback);
    tests_run++;
}

int main(void)
{
    test_names();
    test_compatibility_matrix();
    test_error_mapping();
    test_strerror();
    printf("test_zmtp_socktype: %d tests passed\n", tests_run);
    return 0;
}

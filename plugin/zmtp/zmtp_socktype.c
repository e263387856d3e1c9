/*
 * Socket-Type names and libzmq's peer compatibility rules.
 *
 * Only the stable libzmq 4.3 types are known: a draft type (CLIENT, RADIO,
 * ...) cannot exist in an application built against the stable API, and
 * ZMQ_STREAM never speaks ZMTP, so a peer announcing one is refused.
 */
#include "zmtp/zmtp.h"

#include <string.h>

#include <zmq.h>

static const struct {
    int type;
    const char *name;
} socket_types[] = {
    {ZMQ_PAIR, "PAIR"},     {ZMQ_PUB, "PUB"},   {ZMQ_SUB, "SUB"},
    {ZMQ_REQ, "REQ"},       {ZMQ_REP, "REP"},   {ZMQ_DEALER, "DEALER"},
    {ZMQ_ROUTER, "ROUTER"}, {ZMQ_PULL, "PULL"}, {ZMQ_PUSH, "PUSH"},
    {ZMQ_XPUB, "XPUB"},     {ZMQ_XSUB, "XSUB"},
};

#define SOCKET_TYPE_COUNT (sizeof socket_types / sizeof socket_types[0])

const char *zmtp_socket_type_name(int type)
{
    for (size_t i = 0; i < SOCKET_TYPE_COUNT; i++)
        if (socket_types[i].type == type)
            return socket_types[i].name;
    return NULL;
}

int zmtp_socket_type_from_name(const uint8_t *name, size_t len)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < SOCKET_TYPE_COUNT; i++) {
        const char *n = socket_types[i].name;
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return socket_types[i].type;
    }
    return -1;
}

int zmtp_socket_types_compatible(int ours, int theirs)
{
    switch (ours) {
    case ZMQ_REQ:
        return theirs == ZMQ_REP || theirs == ZMQ_ROUTER;
    case ZMQ_REP:
        return theirs == ZMQ_REQ || theirs == ZMQ_DEALER;
    case ZMQ_DEALER:
        return theirs == ZMQ_REP || theirs == ZMQ_DEALER || theirs == ZMQ_ROUTER;
    case ZMQ_ROUTER:
        return theirs == ZMQ_REQ || theirs == ZMQ_DEALER || theirs == ZMQ_ROUTER;
    case ZMQ_PUB:
    case ZMQ_XPUB:
        return theirs == ZMQ_SUB || theirs == ZMQ_XSUB;
    case ZMQ_SUB:
    case ZMQ_XSUB:
        return theirs == ZMQ_PUB || theirs == ZMQ_XPUB;
    case ZMQ_PUSH:
        return theirs == ZMQ_PULL;
    case ZMQ_PULL:
        return theirs == ZMQ_PUSH;
    case ZMQ_PAIR:
        return theirs == ZMQ_PAIR;
    default:
        return 0;
    }
}

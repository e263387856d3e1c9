/*
 * ZMTP_E_* codes as libzmq monitor values and as log text.
 */
#include "zmtp/zmtp.h"

#include <zmq.h>

int zmtp_error_event_value(int err)
{
    switch (err) {
    case ZMTP_E_MECHANISM:
        return ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH;
    case ZMTP_E_COMMAND:
    case ZMTP_E_PING:
        return ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED;
    case ZMTP_E_READY:
        return ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY;
    /* libzmq reports a refused Socket-Type as bad metadata, so monitors
     * written against it see the same value from us. */
    case ZMTP_E_METADATA:
    case ZMTP_E_SOCKET_TYPE:
        return ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA;
    case ZMTP_E_UNEXPECTED:
        return ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND;
    case ZMTP_E_ERROR_CMD:
        return ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR;
    /* Greeting and framing faults have no dedicated libzmq value. */
    case ZMTP_E_SIGNATURE:
    case ZMTP_E_VERSION:
    case ZMTP_E_FRAME:
    case ZMTP_E_TOOBIG:
    default:
        return ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED;
    }
}

const char *zmtp_strerror(int err)
{
    switch (err) {
    case ZMTP_OK:
        return "success";
    case ZMTP_NEED_MORE:
        return "incomplete input";
    case ZMTP_E_SIGNATURE:
        return "not a ZMTP greeting signature";
    case ZMTP_E_VERSION:
        return "peer speaks ZMTP older than 3.0";
    case ZMTP_E_MECHANISM:
        return "security mechanism mismatch or malformed";
    case ZMTP_E_FRAME:
        return "malformed frame header";
    case ZMTP_E_TOOBIG:
        return "frame exceeds size limit";
    case ZMTP_E_COMMAND:
        return "malformed command";
    case ZMTP_E_READY:
        return "malformed READY command";
    case ZMTP_E_METADATA:
        return "malformed metadata property list";
    case ZMTP_E_SOCKET_TYPE:
        return "unknown or incompatible socket type";
    case ZMTP_E_UNEXPECTED:
        return "unexpected command";
    case ZMTP_E_ERROR_CMD:
        return "malformed ERROR command";
    case ZMTP_E_PING:
        return "malformed PING or PONG command";
    default:
        return "unknown ZMTP error";
    }
}

/* The public helpers of include/zmtls.h. */
#include "zmtls.h"

#include "policy/alert.h"
#include "shim/lasterror.h"

#include <zmq.h>

#define API_EXPORT __attribute__((visibility("default")))

API_EXPORT const char *zmtls_event_name(int event)
{
    switch (event) {
    case ZMQ_EVENT_CONNECTED:
        return "CONNECTED";
    case ZMQ_EVENT_CONNECT_DELAYED:
        return "CONNECT_DELAYED";
    case ZMQ_EVENT_CONNECT_RETRIED:
        return "CONNECT_RETRIED";
    case ZMQ_EVENT_LISTENING:
        return "LISTENING";
    case ZMQ_EVENT_BIND_FAILED:
        return "BIND_FAILED";
    case ZMQ_EVENT_ACCEPTED:
        return "ACCEPTED";
    case ZMQ_EVENT_ACCEPT_FAILED:
        return "ACCEPT_FAILED";
    case ZMQ_EVENT_CLOSED:
        return "CLOSED";
    case ZMQ_EVENT_CLOSE_FAILED:
        return "CLOSE_FAILED";
    case ZMQ_EVENT_DISCONNECTED:
        return "DISCONNECTED";
    case ZMQ_EVENT_MONITOR_STOPPED:
        return "MONITOR_STOPPED";
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        return "HANDSHAKE_FAILED_NO_DETAIL";
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        return "HANDSHAKE_SUCCEEDED";
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        return "HANDSHAKE_FAILED_PROTOCOL";
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        return "HANDSHAKE_FAILED_AUTH";
    default:
        return "UNKNOWN";
    }
}

API_EXPORT const char *zmtls_alert_name(int alert)
{
    return alert_name(alert);
}

API_EXPORT int zmtls_alert_is_auth(int alert)
{
    return alert_is_auth(alert);
}

API_EXPORT const char *zmtls_last_error(void)
{
    return shim_last_error();
}

API_EXPORT void zmtls_version(int *major, int *minor, int *patch)
{
    if (major != NULL)
        *major = ZMTLS_VERSION_MAJOR;
    if (minor != NULL)
        *minor = ZMTLS_VERSION_MINOR;
    if (minor != NULL && patch != NULL)
        *patch = ZMTLS_VERSION_PATCH;
}

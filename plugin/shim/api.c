/* The public helpers of include/zmtls.h. */
#include "zmtls.h"

#include "ep/ep.h"
#include "peers/peers.h"
#include "policy/alert.h"
#include "shim/lasterror.h"
#include "shim/registry.h"
#include "shim/shim_int.h"

#include <errno.h>
#include <string.h>
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
    return policy_alert_name(alert);
}

API_EXPORT int zmtls_alert_is_auth(int alert)
{
    return policy_alert_is_auth(alert);
}

API_EXPORT const char *zmtls_last_error(void)
{
    return shim_last_error();
}

static int api_peer_result(int rc)
{
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return rc;
}

API_EXPORT int zmtls_peer_property(void *socket, const void *routing_id,
                                   size_t routing_id_len, const char *property, char *buf,
                                   size_t len)
{
    shim_sock_t *e = shim_registry_get(socket);
    if (e == NULL) {
        errno = ENOTSOCK;
        return -1;
    }
    if (routing_id == NULL || property == NULL) {
        errno = EINVAL;
        return -1;
    }
    return api_peer_result(
        peers_get(e->id, 0, routing_id, routing_id_len, property, buf, len));
}

API_EXPORT int zmtls_endpoint_peer_property(void *socket, const char *endpoint,
                                            const char *property, char *buf, size_t len)
{
    shim_sock_t *e = shim_registry_get(socket);
    if (e == NULL) {
        errno = ENOTSOCK;
        return -1;
    }
    if (endpoint == NULL || property == NULL) {
        errno = EINVAL;
        return -1;
    }
    for (shim_ep_t *x = e->eps; x != NULL; x = x->next)
        if (strcmp(x->uri, endpoint) == 0 || strcmp(x->resolved, endpoint) == 0)
            return api_peer_result(
                peers_get(e->id, x->ep_id, NULL, 0, property, buf, len));
    errno = ENOENT;
    return -1;
}

atomic_uint shim_reload_gen;

API_EXPORT int zmtls_reload(void)
{
    shim_clear_error();
    atomic_fetch_add(&shim_reload_gen, 1);
    char err[1024];
    if (ep_reload(err, sizeof(err)) > 0)
        return shim_fail(EINVAL, "zmtls: %s", err);
    return 0;
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

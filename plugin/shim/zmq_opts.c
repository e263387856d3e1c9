/*
 * Refusals of libzmq options tls:// cannot honour. Each would otherwise be
 * silently dropped, which for these options means a different wire (raw
 * bytes, a second security layer, properties the peer expects) or a
 * different reconnect contract than the application asked for: failing
 * the connect or bind says so where it can be fixed.
 */
#include "shim/zmq_opts.h"

#include "shim/lasterror.h"
#include "shim/shim_int.h"

#include <zmq.h>

/* Draft ids Debian's libzmq 4.3.4 accepts although zmq.h declares them
 * only under ZMQ_BUILD_DRAFT_API. */
#ifndef ZMQ_METADATA
#define ZMQ_METADATA 95
#endif
#ifndef ZMQ_RECONNECT_STOP
#define ZMQ_RECONNECT_STOP 109
#endif

#define SHIM_NOTED_ROUTER_RAW 1u
#define SHIM_NOTED_METADATA   2u

void shim_zmq_opts_note(void *s, int option, const void *val, size_t len)
{
    if (option != ZMQ_ROUTER_RAW && option != ZMQ_METADATA)
        return;
    shim_sock_t *e = shim_registry_get(s);
    if (e == NULL)
        return;
    if (option == ZMQ_METADATA) {
        /* libzmq keeps every property set; there is no way to remove one. */
        e->zmq_noted |= SHIM_NOTED_METADATA;
        return;
    }
    int on = len == sizeof(int) && *(const int *)val != 0;
    if (on)
        e->zmq_noted |= SHIM_NOTED_ROUTER_RAW;
    else
        e->zmq_noted &= ~SHIM_NOTED_ROUTER_RAW;
}

static int shim_zmq_getint(void *s, int opt, int dflt)
{
    int v = dflt;
    size_t len = sizeof(v);
    if (real()->getsockopt(s, opt, &v, &len) != 0)
        return dflt;
    return v;
}

int shim_zmq_opts_check(const shim_sock_t *e, void *s, int is_bind)
{
    /* TLS authenticates both ends; a ZMTP security mechanism on top would
     * be ignored, and silently dropping CURVE, PLAIN or GSSAPI is worse
     * than refusing. */
    if (shim_zmq_getint(s, ZMQ_MECHANISM, ZMQ_NULL) != ZMQ_NULL)
        return shim_fail(
            EINVAL, "zmtls: tls:// authenticates with certificates; it cannot carry "
                    "ZMQ_PLAIN, ZMQ_CURVE or ZMQ_GSSAPI (unset them on this socket)");
    /* ROUTER_RAW exchanges raw TCP bytes, not ZMTP, like ZMQ_STREAM. */
    if (e->zmq_noted & SHIM_NOTED_ROUTER_RAW)
        return shim_fail(ENOCOMPATPROTO,
                         "zmtls: tls:// carries ZMTP; it cannot carry a ZMQ_ROUTER_RAW "
                         "socket's raw bytes");
    /* libzmq adds application metadata to received messages only inside its
     * own engines, so what a tls:// peer sent could never reach the
     * application; sending ours would be half the option. */
    if (e->zmq_noted & SHIM_NOTED_METADATA)
        return shim_fail(EINVAL, "zmtls: tls:// does not carry ZMQ_METADATA properties");
    if (!is_bind && shim_zmq_getint(s, ZMQ_RECONNECT_STOP, 0) != 0)
        return shim_fail(EINVAL,
                         "zmtls: tls:// connects do not support ZMQ_RECONNECT_STOP "
                         "(ZMTLS_AUTH_STOP stops after authentication failures)");
    return 0;
}

/*
 * The interposed zmq_msg_get: only to explain ZMQ_SRCFD.
 *
 * libzmq answers ZMQ_SRCFD from a property its own engines attach to each
 * message they receive (the TCP connection's fd). A message from a tls://
 * peer is received by the I/O thread and reaches the application socket
 * through an inproc pipe, and libzmq offers no public way to attach a
 * property to a message: it arrives with none, as an inproc:// message
 * does, and libzmq returns -1 (EINVAL). zmtls keeps that answer and says
 * why in zmtls_last_error(); docs/design-notes.md records the alternatives
 * and why they were not taken.
 *
 * Threading: any thread, as libzmq's.
 */
#include "real/real.h"
#include "shim/lasterror.h"
#include "shim/shim_int.h"

#include <errno.h>
#include <zmq.h>

SHIM_EXPORT int zmq_msg_get(const zmq_msg_t *msg, int property)
{
    REAL_OR_FAIL(r, -1);
    int rc = r->msg_get(msg, property);
    if (rc < 0 && property == ZMQ_SRCFD)
        return shim_fail(errno,
                         "zmtls: ZMQ_SRCFD: this message carries no source fd (messages "
                         "received over tls:// or inproc:// have none; "
                         "zmtls_peer_property() names a tls:// peer)");
    return rc;
}

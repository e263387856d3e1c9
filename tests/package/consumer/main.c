/* An application built against an installed zmtls: it checks that the
 * header and the library agree on the version, and that a tls:// bind
 * reaches zmtls (without credentials it is refused with zmtls's reason;
 * plain libzmq would say "Protocol not supported"). Exits 0 when both
 * hold. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include <zmtls.h>

int main(void)
{
    int major = -1, minor = -1, patch = -1;
    zmtls_version(&major, &minor, &patch);
    if (ZMTLS_MAKE_VERSION(major, minor, patch) != ZMTLS_VERSION) {
        fprintf(stderr, "consumer: header %d, library %d.%d.%d\n", ZMTLS_VERSION, major,
                minor, patch);
        return 1;
    }
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_REP);
    int rc = zmq_bind(s, "tls://127.0.0.1:*");
    int err = errno;
    printf("consumer: zmtls %d.%d.%d; tls:// bind without credentials: %s (%s)\n", major,
           minor, patch, rc == 0 ? "accepted" : strerror(err), zmtls_last_error());
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc == -1 && err == EINVAL && strstr(zmtls_last_error(), "zmtls") != NULL ? 0
                                                                                    : 1;
}

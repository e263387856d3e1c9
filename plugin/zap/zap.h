/*
 * ZAP client (rfc 27): one request to the application's ZAP handler, made
 * on behalf of one tls:// connection a bind is accepting.
 *
 * The request goes from a DEALER (a real libzmq socket in the
 * application's context) connected to inproc://zeromq.zap.01, so the
 * handler sees it exactly as libzmq's own: an empty delimiter, then
 * "1.0", the request id, the domain, the peer's IP address, the bound
 * socket's own ZMQ_ROUTING_ID (as libzmq sends it), the mechanism "NULL",
 * and nothing more: rfc 27 gives NULL no credential frames, and handlers
 * written for it (libzmq's own tests among them) read exactly those six and
 * reply, which a REP refuses (EFSM) while a further frame is unread. Only
 * when the bind asks for it (ZMTLS_ZAP_CERT, cert_pem below) does one more
 * frame follow: the client's certificate as PEM.
 *
 * The caller asks only while a handler is bound (shim/registry.h); one
 * that unbinds before answering leaves the request waiting in the inproc
 * pipe (libzmq queues inproc connects): the caller bounds the wait.
 *
 * Threading: I/O thread only (the socket lives and dies there).
 * Errors: negative errno.
 */
#ifndef ZMTLS_ZAP_H
#define ZMTLS_ZAP_H

#include <stddef.h>
#include <stdint.h>

#define ZAP_ENDPOINT    "inproc://zeromq.zap.01"
#define ZAP_USER_ID_MAX 255

typedef struct zap_req zap_req_t;

typedef struct zap_request {
    void *ctx;          /* the application's context */
    const char *domain; /* ZMQ_ZAP_DOMAIN */
    const char *address;
    const uint8_t *identity;
    size_t identity_len;
    const char *cert_pem; /* NULL: none; else one frame after the mechanism */
    size_t cert_pem_len;
} zap_request_t;

typedef struct zap_reply {
    /* 0, or ZMQ_PROTOCOL_ERROR_ZAP_*: the handler broke rfc 27 */
    int protocol_error;
    int status; /* 200, 300, 400 or 500 */
    char user_id[ZAP_USER_ID_MAX + 1];
} zap_reply_t;

/* Opens the socket and sends the request (the send never blocks: the pipe
 * is fresh). */
int zap_req_new(zap_req_t **out, const zap_request_t *req);
void zap_req_destroy(zap_req_t **z);

/* The socket's edge-triggered ZMQ_FD: readable means "call zap_req_poll". */
int zap_req_fd(const zap_req_t *z);

/* 1 with *reply once the reply is in, 0 while it is not (the fd's edge is
 * re-armed), or a negative errno (-ETERM: the context is ending). */
int zap_req_poll(zap_req_t *z, zap_reply_t *reply);

#endif

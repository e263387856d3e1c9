/* A ZAP request from the I/O thread: see zap.h. */
#include "zap/zap.h"

#include "real/real.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* The frames of a reply (rfc 27): delimiter, version, request id, status
 * code, status text, user id, metadata. */
#define ZAP_REPLY_FRAMES 7

struct zap_req {
    void *sock;
    int fd;
    char id[24]; /* the request id, to match the reply */
};

static unsigned long zap_next_id;

static int zap_send_all(zap_req_t *z, const zap_request_t *q)
{
    static const char version[] = "1.0", mechanism[] = "NULL";
    const void *data[] = {"",         version,     z->id,     q->domain,
                          q->address, q->identity, mechanism, q->cert_pem};
    size_t len[] = {0,
                    sizeof(version) - 1,
                    strlen(z->id),
                    strlen(q->domain),
                    strlen(q->address),
                    q->identity_len,
                    sizeof(mechanism) - 1,
                    q->cert_pem_len};
    size_t n = sizeof(len) / sizeof(len[0]) - (q->cert_pem == NULL);
    for (size_t i = 0; i < n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_send(z->sock, len[i] ? data[i] : "", len[i], flags) < 0)
            return -errno;
    }
    return 0;
}

int zap_req_new(zap_req_t **out, const zap_request_t *q)
{
    const zmtls_real_t *r = real();
    if (r == NULL)
        return -ENOSYS;
    zap_req_t *z = calloc(1, sizeof(*z));
    if (z == NULL)
        return -ENOMEM;
    snprintf(z->id, sizeof(z->id), "%lu", ++zap_next_id);
    z->sock = r->socket(q->ctx, ZMQ_DEALER);
    if (z->sock == NULL) {
        int err = errno;
        free(z);
        return -err;
    }
    int zero = 0;
    size_t fdlen = sizeof(z->fd);
    int rc = r->setsockopt(z->sock, ZMQ_LINGER, &zero, sizeof(zero));
    if (rc == 0)
        rc = r->connect(z->sock, ZAP_ENDPOINT);
    if (rc == 0)
        rc = r->getsockopt(z->sock, ZMQ_FD, &z->fd, &fdlen);
    rc = rc == 0 ? zap_send_all(z, q) : -errno;
    if (rc != 0) {
        r->close(z->sock);
        free(z);
        return rc;
    }
    *out = z;
    return 0;
}

void zap_req_destroy(zap_req_t **zp)
{
    zap_req_t *z = *zp;
    if (z == NULL)
        return;
    *zp = NULL;
    const zmtls_real_t *r = real();
    if (r != NULL)
        r->close(z->sock);
    free(z);
}

int zap_req_fd(const zap_req_t *z)
{
    return z->fd;
}

static int zap_frame_is(zmq_msg_t *m, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), s, n) == 0;
}

/* Checks a whole reply as libzmq's ZAP client does. */
static void zap_parse(zap_req_t *z, zmq_msg_t *f, size_t n, zap_reply_t *reply)
{
    memset(reply, 0, sizeof(*reply));
    if (n != ZAP_REPLY_FRAMES || zmq_msg_size(&f[0]) != 0) {
        reply->protocol_error = ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY;
        return;
    }
    if (!zap_frame_is(&f[1], "1.0")) {
        reply->protocol_error = ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION;
        return;
    }
    if (!zap_frame_is(&f[2], z->id)) {
        reply->protocol_error = ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID;
        return;
    }
    static const struct {
        const char *code;
        int status;
    } codes[] = {{"200", 200}, {"300", 300}, {"400", 400}, {"500", 500}};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (zap_frame_is(&f[3], codes[i].code))
            reply->status = codes[i].status;
    if (reply->status == 0) {
        reply->protocol_error = ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE;
        return;
    }
    size_t uid = zmq_msg_size(&f[5]);
    if (uid > ZAP_USER_ID_MAX)
        uid = ZAP_USER_ID_MAX;
    memcpy(reply->user_id, zmq_msg_data(&f[5]), uid);
    reply->user_id[uid] = '\0';
}

int zap_req_poll(zap_req_t *z, zap_reply_t *reply)
{
    int ev = 0;
    size_t evlen = sizeof(ev);
    /* ZMQ_EVENTS processes the socket's commands and re-arms the edge. */
    if (real()->getsockopt(z->sock, ZMQ_EVENTS, &ev, &evlen) != 0)
        return -errno;
    if (!(ev & ZMQ_POLLIN))
        return 0;
    /* A message's parts arrive together: once the first is there, so are
     * the rest. Parts past the seventh are read and dropped. */
    zmq_msg_t f[ZAP_REPLY_FRAMES + 1];
    size_t n = 0;
    int more = 1, rc = 0;
    while (more) {
        zmq_msg_t *m = &f[n < ZAP_REPLY_FRAMES ? n : ZAP_REPLY_FRAMES];
        zmq_msg_init(m);
        if (zmq_msg_recv(m, z->sock, ZMQ_DONTWAIT) < 0) {
            rc = -errno;
            zmq_msg_close(m);
            break;
        }
        more = zmq_msg_more(m);
        if (n < ZAP_REPLY_FRAMES)
            n++;
        else
            zmq_msg_close(m);
        if (n == ZAP_REPLY_FRAMES && more)
            n++; /* one too many: malformed, counted but not kept */
    }
    if (rc == 0)
        zap_parse(z, f, n, reply);
    for (size_t i = 0; i < n && i < ZAP_REPLY_FRAMES; i++)
        zmq_msg_close(&f[i]);
    return rc == 0 ? 1 : rc;
}

/* The socket BIO of a TLS connection: see tls_conn_int.h. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>

#include "tls/tls_conn_int.h"

/* ---- socket BIO ---------------------------------------------------------
 * OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE when
 * the peer has gone; a library must not kill its host process that way (and
 * OpenSSL itself writes alerts to dead peers). This minimal BIO uses
 * send(MSG_NOSIGNAL) and also records the errno and EOF of the operation
 * where it happened, before anything else can overwrite errno. */

static CRYPTO_ONCE tls_bio_once = CRYPTO_ONCE_STATIC_INIT;
static BIO_METHOD *tls_bio_meth;

static int tls_bio_write(BIO *b, const char *data, int len)
{
    tls_conn_t *c = BIO_get_data(b);
    ssize_t r;

    BIO_clear_retry_flags(b);
    /* MSG_MORE while a write has records left: TCP sends full segments
     * instead of one per record (a 64 KiB message is four records). */
    do {
        r = send(c->fd, data, (size_t)len, MSG_NOSIGNAL | (c->bio_more ? MSG_MORE : 0));
    } while (r < 0 && errno == EINTR);
    if (r >= 0) {
        return (int)r;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        BIO_set_retry_write(b);
    } else {
        c->bio_errno = errno;
    }
    return -1;
}

static int tls_bio_read(BIO *b, char *buf, int len)
{
    tls_conn_t *c = BIO_get_data(b);
    ssize_t r;

    BIO_clear_retry_flags(b);
    if (buf == NULL || len <= 0) {
        return 0;
    }
    do {
        r = recv(c->fd, buf, (size_t)len, 0);
    } while (r < 0 && errno == EINTR);
    if (r > 0) {
        c->bio_short = r < len;
        return (int)r;
    }
    if (r == 0) {
        c->bio_eof = 1;
        return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c->bio_dry = 1;
        c->bio_short = 1;
        BIO_set_retry_read(b);
    } else {
        c->bio_errno = errno;
    }
    return -1;
}

static int tls_bio_puts(BIO *b, const char *s)
{
    return tls_bio_write(b, s, (int)strlen(s));
}

static long tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    tls_conn_t *c = BIO_get_data(b);

    (void)num;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* nothing is buffered here */
    case BIO_CTRL_EOF:
        /* OpenSSL 3 asks this to tell an unexpected EOF from an error. */
        return c != NULL && c->bio_eof;
    case BIO_C_GET_FD:
        /* Keeps SSL_get_fd() working for debugging. */
        if (c == NULL) {
            return -1;
        }
        if (ptr != NULL) {
            *(int *)ptr = c->fd;
        }
        return c->fd;
    default:
        return 0;
    }
}

static void tls_bio_init(void)
{
    int type = BIO_get_new_index();
    BIO_METHOD *m;

    if (type == -1) {
        return;
    }
    m = BIO_meth_new(type | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "zmtls socket");
    if (m == NULL) {
        return;
    }
    if (BIO_meth_set_write(m, tls_bio_write) != 1 ||
        BIO_meth_set_read(m, tls_bio_read) != 1 ||
        BIO_meth_set_puts(m, tls_bio_puts) != 1 ||
        BIO_meth_set_ctrl(m, tls_bio_ctrl) != 1) {
        BIO_meth_free(m);
        return;
    }
    /* Lives for the whole process, like OpenSSL's built-in methods. */
    tls_bio_meth = m;
}

BIO_METHOD *tls_bio_method(void)
{
    if (CRYPTO_THREAD_run_once(&tls_bio_once, tls_bio_init) != 1)
        return NULL;
    return tls_bio_meth;
}

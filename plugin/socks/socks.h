/*
 * SOCKS5 client handshake (RFC 1928 CONNECT, with RFC 1929 username and
 * password): what turns a TCP connection to a proxy into a tunnel to the
 * destination, before TLS starts through it.
 *
 * Two layers:
 *  - the wire (socks_wire.c): encoders and decoders of each message. Pure:
 *    no I/O, no allocation, bounded by the sizes below; the reply decoder
 *    rejects a prefix as soon as it rules the reply out, and otherwise says
 *    how many bytes the reply needs in all (fuzz.socks_reply);
 *  - the exchange (socks.c): a state machine that says what to send and
 *    how many bytes to read next, and judges what was read. Also pure,
 *    except socks_io(), which moves the bytes over a non-blocking fd.
 *
 * As libzmq 4.3 does, the greeting offers one method: username/password
 * when a username is set, else none; a destination given as an IP literal
 * goes as an address (ATYP 1 or 4), a name as a name (ATYP 3), resolved by
 * the proxy.
 *
 * Errors are negative errnos, each with a one-line reason
 * (socks_reason()):
 *   -EPROTO        the proxy does not speak SOCKS5 as RFC 1928 and 1929
 *                  say (bad version, reserved byte, address type, a
 *                  method it was not offered, an unassigned reply code)
 *   -EACCES        the proxy accepts none of the methods offered, refused
 *                  the username/password, or its rules forbid the
 *                  connection (reply 2)
 *   other replies  1 ECONNABORTED, 3 ENETUNREACH, 4 EHOSTUNREACH,
 *                  5 ECONNREFUSED, 6 ETIMEDOUT, 7 EOPNOTSUPP,
 *                  8 EAFNOSUPPORT
 *   socks_io()     also the errno of send/recv, and ECONNRESET for an EOF
 * The first error ends the exchange: every later call returns it again.
 *
 * Threading: none inside; a socks_t belongs to one thread. Ownership: the
 * username and password passed to socks_init are borrowed and must outlive
 * the exchange.
 */
#ifndef ZMTLS_SOCKS_H
#define ZMTLS_SOCKS_H

#include <stddef.h>
#include <stdint.h>

#define SOCKS_VERSION      0x05
#define SOCKS_AUTH_VERSION 0x01 /* RFC 1929 subnegotiation */

#define SOCKS_METHOD_NONE     0x00
#define SOCKS_METHOD_USERPASS 0x02
#define SOCKS_METHOD_REFUSED  0xff

#define SOCKS_ATYP_IPV4   0x01
#define SOCKS_ATYP_DOMAIN 0x03
#define SOCKS_ATYP_IPV6   0x04

#define SOCKS_CMD_CONNECT 0x01

#define SOCKS_NAME_MAX 255 /* a domain name, a username, a password */

/* The longest message each way: a username/password request out
 * (3 + 255 + 255); a reply carrying a 255-byte name in (7 + 255). */
#define SOCKS_OUT_MAX (3 + 2 * SOCKS_NAME_MAX)
#define SOCKS_IN_MAX  (7 + SOCKS_NAME_MAX)

/* ---- wire ---------------------------------------------------------------- */

/* Where the tunnel goes. */
typedef struct socks_dest {
    uint8_t atyp;                 /* SOCKS_ATYP_* */
    uint8_t addr[SOCKS_NAME_MAX]; /* 4 or 16 bytes, or the name (no NUL) */
    size_t addr_len;
    uint16_t port;
} socks_dest_t;

/* Fills dest from a host (IPv4 or IPv6 literal, else a DNS name) and a
 * port, as libzmq chooses the address type. 0, or -EINVAL: empty or too
 * long a name, an IPv6 zone id (SOCKS5 has no way to carry one), port 0. */
int socks_dest_set(socks_dest_t *dest, const char *host, int port);

/* Encoders write into out (cap bytes) and return the length written, or
 * -EINVAL for arguments the message cannot carry, -ENOSPC when cap is too
 * small. */
int socks_greeting_encode(uint8_t *out, size_t cap, uint8_t method);
int socks_auth_encode(uint8_t *out, size_t cap, const char *user, size_t user_len,
                      const char *pass, size_t pass_len);
int socks_request_encode(uint8_t *out, size_t cap, const socks_dest_t *dest);

/* Decoders of the proxy's messages. Each returns 0 when in[0..*need) holds
 * the whole message (extra bytes ignored), SOCKS_PARTIAL when the bytes so
 * far are a valid prefix and *need says how many the message needs in all
 * (always more than len; exact once known, else a lower bound), or
 * -EPROTO as soon as the bytes rule the message out. Fields are written
 * only on 0. */
#define SOCKS_PARTIAL 1
int socks_choice_decode(const uint8_t *in, size_t len, size_t *need, uint8_t *method);
int socks_auth_reply_decode(const uint8_t *in, size_t len, size_t *need, uint8_t *status);

typedef struct socks_reply {
    uint8_t rep;        /* 0 succeeded, else the proxy's failure code */
    socks_dest_t bound; /* BND.ADDR / BND.PORT: the proxy's side of the tunnel */
} socks_reply_t;
/* Any REP value decodes; what it means is the exchange's business. */
int socks_reply_decode(const uint8_t *in, size_t len, size_t *need, socks_reply_t *out);

/* The errno and the reason for a failure code of a reply (1..255). */
int socks_reply_errno(uint8_t rep);
const char *socks_reply_reason(uint8_t rep);

/* ---- exchange -------------------------------------------------------------- */

typedef enum socks_state {
    SOCKS_ST_GREETING,   /* send: the methods we offer */
    SOCKS_ST_CHOICE,     /* read: the method the proxy chose */
    SOCKS_ST_AUTH,       /* send: username and password */
    SOCKS_ST_AUTH_REPLY, /* read: their verdict */
    SOCKS_ST_REQUEST,    /* send: CONNECT to the destination */
    SOCKS_ST_REPLY,      /* read: the proxy's reply */
    SOCKS_ST_DONE,       /* the tunnel is open */
    SOCKS_ST_FAILED,
    SOCKS_ST_COUNT,
} socks_state_t;

typedef struct socks {
    socks_state_t state;
    int err; /* the error that ended it (negative), else 0 */
    socks_state_t failed_in;
    const char *why; /* its reason, static text */
    uint8_t method;  /* the one we offered */
    socks_dest_t dest;
    const char *user, *pass; /* borrowed */
    size_t user_len, pass_len;
    uint8_t out[SOCKS_OUT_MAX];
    size_t out_len, out_off;
    uint8_t in[SOCKS_IN_MAX];
    size_t in_len;
    size_t in_need; /* what the message being read needs in all, so far */
} socks_t;

/* Starts an exchange: the greeting is ready to send. user_len 0: no
 * authentication offered (pass ignored). 0, or -EINVAL (a username or
 * password over 255 bytes, a bad dest). */
int socks_init(socks_t *s, const socks_dest_t *dest, const char *user, size_t user_len,
               const char *pass, size_t pass_len);

/* Bytes waiting to be sent (a pointer into s); 0 when none. */
size_t socks_out(const socks_t *s, const uint8_t **data);
/* n of them went out. */
void socks_sent(socks_t *s, size_t n);

/* How many bytes to read next, at most (0: none wanted now). Reading no
 * more than this keeps every byte after the proxy's reply, the start of
 * TLS, in the socket. *room: where to put them. */
size_t socks_need(socks_t *s, uint8_t **room);
/* n bytes were put in the room: judges them. 0 or the error. */
int socks_received(socks_t *s, size_t n);

/* 1 once the tunnel is open. */
int socks_done(const socks_t *s);
/* The error that ended the exchange (0 while it runs or once done) and
 * its reason ("" when none). */
int socks_error(const socks_t *s);
const char *socks_reason(const socks_t *s);
const char *socks_state_name(socks_state_t st);
/* The state the exchange is in, or the one it failed in. */
socks_state_t socks_where(const socks_t *s);

/* Runs the exchange over a connected non-blocking fd as far as it can
 * without blocking (EINTR retried, MSG_NOSIGNAL). Returns 0 once done,
 * SOCKS_WANT_READ or SOCKS_WANT_WRITE while it waits for the fd, or the
 * error (an EOF from the proxy: -ECONNRESET). */
#define SOCKS_WANT_READ  1
#define SOCKS_WANT_WRITE 2
int socks_io(socks_t *s, int fd);

#endif

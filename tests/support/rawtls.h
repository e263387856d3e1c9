/*
 * A raw TLS client for tests that must misbehave where no libzmq socket
 * would: plain OpenSSL on a loopback TCP socket, with hand-written ZMTP
 * bytes on top, or bytes written straight onto the TCP stream past TLS.
 * It can also be a peer zmtls would not shape: one presenting a key a
 * zmtls client refuses to load (its own security level), one that keeps
 * sending KeyUpdates after the handshake, one that counts the tickets and
 * KeyUpdates the server sends.
 *
 * Rules, as for testutil.h: no sleeps, every wait polls against a deadline
 * (timeouts are returned, never waited out twice); CHECK exits on misuse and
 * on failures of the test machine itself (socket, OpenSSL allocation).
 * Nothing here calls a zmtls_* function. Single-threaded: a connection
 * belongs to the thread that opened it.
 */
#ifndef ZMTLS_TEST_RAWTLS_H
#define ZMTLS_TEST_RAWTLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* ------------------------------------------------------------------ */
/* TLS                                                                  */

/* A client context. cert/key/ca are short names (tu_cert); cert and key
 * may be NULL (no client certificate). max_version: TLS1_3_VERSION for an
 * ordinary client, TLS1_2_VERSION for one that cannot speak TLS 1.3.
 * seclevel >= 0 sets the context's security level before the certificate
 * is loaded, so a test can present a key the default level would refuse;
 * -1 leaves OpenSSL's (and the host configuration's). The server's
 * certificate is verified against ca (chain only: the tests connect to
 * 127.0.0.1 and check names elsewhere). Free with SSL_CTX_free once its
 * connections are closed. */
SSL_CTX *rt_ctx_new(const char *cert, const char *key, const char *ca, int max_version,
                    int seclevel);

typedef struct rt_conn {
    int fd;
    SSL *ssl;
    /* The first fatal alert each way (info callback), or -1. */
    int alert_sent;
    int alert_received;
    /* What ended the last failing call: "close_notify", "eof or reset",
     * "timeout", "ssl error". For messages. */
    const char *why;
    /* The server ended the connection (close_notify, EOF or a reset) as a
     * call saw it; a fatal alert shows in alert_received instead. */
    int eof;
    /* What the server sent besides data, as OpenSSL parsed it (message
     * callback): KeyUpdates, NewSessionTickets and the lifetime of the
     * last ticket, in seconds. */
    unsigned long key_updates;
    unsigned long tickets;
    unsigned long ticket_life;
} rt_conn_t;

/* TCP connect to 127.0.0.1:port (blocking connect, then non-blocking) and
 * an SSL object on it. resume: a session to offer (NULL for none). */
void rt_open(rt_conn_t *c, SSL_CTX *ctx, int port, SSL_SESSION *resume);
/* The same from source address src (tu_tcp_connect_from). */
void rt_open_from(rt_conn_t *c, SSL_CTX *ctx, const char *src, int port,
                  SSL_SESSION *resume);
void rt_close(rt_conn_t *c);

/* Drives the handshake. 0 once this side completed it, -1 when it failed
 * (alerts and `why` say how) or timed out. */
int rt_handshake(rt_conn_t *c, int timeout_ms);

/* Writes all of buf through TLS. 0, or -1 on failure or timeout. */
int rt_write(rt_conn_t *c, const void *buf, size_t len, int timeout_ms);

/* Reads exactly len bytes through TLS. 0, or -1 when the connection ended
 * first (close_notify, EOF, an alert) or the deadline passed. */
int rt_read(rt_conn_t *c, void *buf, size_t len, int timeout_ms);

/* Reads and discards until the server ends the connection. 0 when it did
 * within timeout_ms (close_notify, EOF, reset or a fatal alert), -1 if the
 * connection was still open at the deadline. */
int rt_wait_closed(rt_conn_t *c, int timeout_ms);

/* Reads and processes whatever the server sent that is already here
 * (tickets, KeyUpdates, alerts) without waiting. Application data is an
 * error: the caller expects none (it is discarded). 0, or -1 when the
 * connection ended or data came. */
int rt_drain(rt_conn_t *c);

/* Sends one KeyUpdate that asks the server to update its keys too,
 * reading what the server sends meanwhile (rt_drain). 0, or -1 when the
 * connection ended or the update did not go out within timeout_ms. */
int rt_key_update(rt_conn_t *c, int timeout_ms);

/* Writes bytes straight onto the TCP socket, past TLS. 0, or -1 when the
 * peer is already gone. */
int rt_raw_write(rt_conn_t *c, const void *buf, size_t len);

/* ------------------------------------------------------------------ */
/* ZMTP 3.1 by hand                                                     */

#define RT_GREETING_SIZE 64

/* A valid ZMTP 3.1 greeting: NULL mechanism, as-server 0. Tests corrupt
 * their copy. */
void rt_zmtp_greeting(uint8_t out[RT_GREETING_SIZE]);

/* A READY command frame announcing Socket-Type `type` ("REQ"). Returns its
 * length (cap must hold it). */
size_t rt_zmtp_ready(uint8_t *out, size_t cap, const char *type);

/* The client half of a ZMTP handshake over an established TLS connection:
 * reads and checks the server's greeting, sends ours and READY(type),
 * reads the server's READY. 0, or -1 with a message on stderr. */
int rt_zmtp_handshake(rt_conn_t *c, const char *type, int timeout_ms);

/* Sends body as a REQ request: an empty delimiter, then the body (<= 255
 * bytes). 0, or -1 with a message on stderr. */
int rt_zmtp_send_request(rt_conn_t *c, const char *body, int timeout_ms);

/* Reads a REP's reply the same way. 0 when it carries exactly `expect`,
 * -1 otherwise (message on stderr). */
int rt_zmtp_recv_reply(rt_conn_t *c, const char *expect, int timeout_ms);

#endif

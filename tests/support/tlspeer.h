/*
 * A tls:// client made of plain OpenSSL and hand-written ZMTP, for tests
 * that need a peer zmtls does not shape: one presenting a certificate a
 * zmtls client would refuse to load (an RSA-1024 key), or one that keeps
 * sending TLS handshake messages after the handshake.
 *
 * The socket is non-blocking and every wait is a poll() against a
 * deadline, so a silent server makes a call fail instead of hanging.
 * Failures are returned (-1), never CHECKed, because the tests are about
 * how and when the server ends the connection. Like the rest of the
 * support library, nothing here calls a zmtls_* function.
 */
#ifndef ZMTLS_TEST_TLSPEER_H
#define ZMTLS_TEST_TLSPEER_H

#include <stddef.h>

#include <openssl/ssl.h>

typedef struct tu_tls {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    int alert;                 /* first fatal alert received, or -1 */
    unsigned long key_updates; /* KeyUpdate messages received */
    unsigned long tickets;     /* NewSessionTicket messages received */
    unsigned long ticket_life; /* lifetime hint of the last ticket, s */
    int eof;                   /* the server closed the connection */
} tu_tls_t;

/* TCP connect to 127.0.0.1:port, then the TLS 1.3 handshake presenting
 * cert/key (short names as for tu_cert; NULL: no certificate) and
 * verifying the server against ca. seclevel >= 0 sets the context's
 * security level, so a test can present a key the default level would
 * refuse; -1 leaves OpenSSL's. Returns 0 once the client's side of the
 * handshake is done (in TLS 1.3 before the server has judged the client
 * certificate: a refusal shows on the first read), -1 when it failed. */
int tu_tls_open(tu_tls_t *t, int port, const char *cert, const char *key, const char *ca,
                int seclevel);
void tu_tls_close(tu_tls_t *t);

/* Reads exactly len bytes / writes all of len, within timeout_ms.
 * 0, or -1 on failure, EOF (t->eof) or timeout. */
int tu_tls_read(tu_tls_t *t, void *buf, size_t len, int timeout_ms);
int tu_tls_write(tu_tls_t *t, const void *buf, size_t len, int timeout_ms);

/* Reads and processes whatever the server sent that is already here
 * (tickets, KeyUpdates, alerts) without waiting. Application data is an
 * error: the caller expects none. 0, or -1 when the connection ended. */
int tu_tls_drain(tu_tls_t *t);

/* Sends one KeyUpdate that asks the server to update its keys too,
 * reading what the server sends meanwhile. 0, or -1 when the connection
 * ended or the write did not go out within timeout_ms. */
int tu_tls_key_update(tu_tls_t *t, int timeout_ms);

/* ZMTP 3.0 NULL handshake as a socket of type socket_type ("REQ"): our
 * greeting and READY out, the server's greeting and READY in. 0 or -1. */
int tu_tls_zmtp_ready(tu_tls_t *t, const char *socket_type, int timeout_ms);

/* A request as a REQ sends it (empty delimiter, then body; up to 255
 * bytes): 0 or -1. */
int tu_tls_req_send(tu_tls_t *t, const char *body, int timeout_ms);
/* The reply to it: the body is copied to buf (NUL-terminated). Returns its
 * length, or -1. */
int tu_tls_req_recv(tu_tls_t *t, char *buf, size_t cap, int timeout_ms);

#endif

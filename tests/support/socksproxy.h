/*
 * A SOCKS5 proxy for tests (RFC 1928 CONNECT, RFC 1929 username and
 * password), on 127.0.0.1 in threads of the test process. It counts what
 * it sees, so a test can prove its traffic went through it, and can be
 * told to refuse in the ways a real proxy does.
 *
 * Every wait inside is bounded (TU_SOCKS_IO_MS) and stop ends every
 * thread, tunnels included. Start and stop from one thread; stats from
 * any.
 */
#ifndef ZMTLS_TEST_SOCKSPROXY_H
#define ZMTLS_TEST_SOCKSPROXY_H

#include <stdint.h>

/* Bound on each read of a handshake message from a client. */
#define TU_SOCKS_IO_MS 5000

typedef struct tu_socks_opts {
    const char *user;  /* set: only username/password (method 2), with pass */
    const char *pass;  /* NULL: empty */
    int port;          /* 0: an ephemeral port */
    int refuse_rep;    /* non-zero: answer every CONNECT with this reply code */
    int redirect_port; /* non-zero: tunnel every CONNECT to 127.0.0.1:this,
                        * whatever destination it names */
    int silent;        /* read the greeting and never answer */
    int garbage;       /* answer the greeting as an HTTP server would, and close */
} tu_socks_opts_t;

typedef struct tu_socks_stats {
    unsigned accepted;    /* TCP connections */
    unsigned auth_ok;     /* username/password accepted */
    unsigned auth_failed; /* refused (wrong credentials, or no method in common) */
    unsigned requests;    /* CONNECT requests read */
    unsigned tunnels;     /* CONNECTs answered with success */
    int last_atyp;        /* of the last request: 1 IPv4, 3 name, 4 IPv6 */
    char last_host[256];  /* its destination, as text */
    int last_port;
} tu_socks_stats_t;

typedef struct tu_socks tu_socks_t;

/* Listens at once (CHECK-fails when it cannot). */
tu_socks_t *tu_socks_start(const tu_socks_opts_t *opts);
int tu_socks_port(const tu_socks_t *p);
/* "127.0.0.1:PORT", for ZMQ_SOCKS_PROXY (a static buffer per proxy). */
const char *tu_socks_address(const tu_socks_t *p);
void tu_socks_stats(tu_socks_t *p, tu_socks_stats_t *out);
/* Waits up to timeout_ms until `field` of the stats (offsetof) reaches
 * `count`. 0, or -1 on timeout. */
int tu_socks_wait(tu_socks_t *p, unsigned field_offset, unsigned count, int timeout_ms);
/* Closes the listener and every connection, joins the threads, frees;
 * NULLs *p. */
void tu_socks_stop(tu_socks_t **p);

#endif

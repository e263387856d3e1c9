/*
 * Endpoint configuration: everything a tls:// connect or bind needs, taken
 * from the application socket's options at zmq_connect / zmq_bind time (as
 * libzmq snapshots options into its sessions), then owned by the I/O
 * thread.
 */
#ifndef ZMTLS_EPCFG_H
#define ZMTLS_EPCFG_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include "bridge/bridge.h"
#include "io/thread_opts.h"
#include "endpoint/endpoint.h"
#include "policy/accept_filter.h"
#include "socks/socks.h"
#include "tls/tls_src.h"

#define EPCFG_URI_MAX    (ENDPOINT_URI_MAX + 32)
#define EPCFG_INPROC_MAX 64
#define EPCFG_DEVICE_MAX 64 /* ZMQ_BINDTODEVICE, NUL included */

typedef struct ep_cfg {
    uint32_t sock_id; /* the application socket, as the shim numbers it */
    uint32_t ep_id;   /* this endpoint */
    void *ctx;        /* the application's context */
    int app_type;     /* ZMQ_REQ, ... */
    int is_bind;
    endpoint_t ep;
    char uri[EPCFG_URI_MAX];                 /* endpoint string used in events */
    char inproc[EPCFG_INPROC_MAX];           /* private inproc:// rendezvous */
    char verify_name[ENDPOINT_HOST_MAX + 1]; /* connect: expected server name */
    /* connect: the local address each attempt binds to before connecting
     * (the endpoint's SRC_HOST:SRC_PORT, resolved); src_addr_len 0: none */
    struct sockaddr_storage src_addr;
    socklen_t src_addr_len;
    SSL_CTX *tls;     /* one reference */
    tls_src_t *src;   /* where tls came from, to rebuild it when files change */
    bridge_t *bridge; /* connect: a bridge bound in advance, or NULL */
    /* connect: ZMQ_SOCKS_PROXY set. The TCP connection goes to `proxy`,
     * which is asked for a tunnel to socks_dest (the endpoint's host and
     * port, unresolved), with ZMQ_SOCKS_USERNAME / ZMQ_SOCKS_PASSWORD when
     * a username is set; TLS then verifies verify_name as without one. */
    int has_proxy;
    endpoint_t proxy;
    socks_dest_t socks_dest;
    char socks_user[SOCKS_NAME_MAX];
    size_t socks_user_len;
    char socks_pass[SOCKS_NAME_MAX]; /* wiped by ep_cfg_destroy */
    size_t socks_pass_len;

    /* libzmq options of the application socket */
    int reconnect_ivl;
    int reconnect_ivl_max;
    int handshake_ivl;
    int connect_timeout;
    int linger;
    int backlog;
    int ipv6;
    int immediate; /* ZMQ_IMMEDIATE: a pipe only while authenticated */
    int conflate;  /* ZMQ_CONFLATE: keep only the newest message */
    int64_t maxmsgsize;
    io_thread_opts_t thread; /* the context's ZMQ_THREAD_* options */
    int sndbuf; /* ZMQ_SNDBUF / ZMQ_RCVBUF for the TCP socket, -1: the OS's */
    int rcvbuf;
    /* ZMQ_TCP_KEEPALIVE and its _CNT, _IDLE, _INTVL: -1 the OS's */
    int tcp_keepalive, tcp_keepalive_cnt, tcp_keepalive_idle, tcp_keepalive_intvl;
    int tcp_maxrt;                       /* ZMQ_TCP_MAXRT, ms; 0: the OS's */
    int tos;                             /* ZMQ_TOS; 0: the OS's */
    char bound_device[EPCFG_DEVICE_MAX]; /* ZMQ_BINDTODEVICE; "": any */
    int use_fd; /* bind: ZMQ_USE_FD, a listening socket to take; -1: none */
    int heartbeat_ivl;
    int heartbeat_ttl;
    int heartbeat_timeout;
    uint8_t routing_id[255];
    size_t routing_id_len;
    /* bind: ZMQ_ZAP_DOMAIN; non-empty: every peer is put to the context's
     * ZAP handler (zap/zap.h) before it is admitted */
    char zap_domain[256];
    /* bind: ZMQ_ZAP_ENFORCE_DOMAIN: with a domain and no handler bound,
     * refuse (libzmq: HANDSHAKE_FAILED_NO_DETAIL EFAULT) instead of
     * admitting */
    int zap_enforce;
    /* bind: ZMTLS_ZAP_CERT: the client's certificate as a last frame */
    int zap_cert;
    /* whether a handler is bound in ctx right now (the shim's registry;
     * any thread); NULL: never */
    int (*zap_handler_present)(void *ctx);

    /* zmtls options */
    int auth_ivl;
    int auth_ivl_max;
    int auth_stop;
    int resume; /* offer the previous TLS session on reconnect */
    /* what one message still open may hold, -1: no limit */
    int64_t multipart_max_parts;
    int64_t multipart_max_bytes;
    /* bind: handshakes in progress on the listener, and from one address */
    int handshakes_max;
    int handshakes_per_addr;
    /* bind: repeat offenders (policy/offender.h) */
    int offender_failures;
    int offender_window;
    int offender_ban;
    /* bind: ZMQ_TCP_ACCEPT_FILTER as set before zmq_bind (owned) */
    policy_accept_list_t accept;
} ep_cfg_t;

/* The bridge configuration for this endpoint's application socket. */
bridge_cfg_t ep_cfg_bridge(const ep_cfg_t *cfg, int bind, const uint8_t *routing_id,
                           size_t routing_id_len);

/* Applies the application's TCP-level options to a TCP socket, as libzmq
 * does for tcp://: on a listening socket before bind (Linux gives accepted
 * sockets the listener's options), on a connecting one before connect.
 * ZMQ_SNDBUF, ZMQ_RCVBUF, ZMQ_TCP_KEEPALIVE*, ZMQ_TCP_MAXRT and ZMQ_TOS
 * are best effort, as in libzmq; ZMQ_BINDTODEVICE restricts where traffic
 * may go, so its failure is the caller's: 0, or -errno (ENODEV: no such
 * interface, EPERM: not allowed). Any thread; fd only. Implemented in
 * sockopt.c. */
int ep_cfg_tune_socket(const ep_cfg_t *cfg, int fd);

/* Frees the configuration, its TLS reference and source, wiping the
 * proxy password. NULLs *cfg. */
void ep_cfg_destroy(ep_cfg_t **cfg);

#endif

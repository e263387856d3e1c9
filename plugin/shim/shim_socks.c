/*
 * ZMQ_SOCKS_PROXY on tls:// connects: the proxy options, read from the
 * application socket at zmq_connect as libzmq reads them for tcp://, into
 * the endpoint's configuration; what SOCKS5 cannot carry is refused here
 * rather than retried for ever.
 *
 * Threading: as shim_ep.c (the caller's thread, no lock held).
 */
#include "endpoint/endpoint.h"
#include "epcfg/epcfg.h"
#include "real/real.h"
#include "shim/lasterror.h"
#include "socks/socks.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "shim/shim_int.h"

/* libzmq 4.3.4 honours these for tcp:// in every build, but its header
 * declares them only with the draft API. */
#ifndef ZMQ_SOCKS_USERNAME
#define ZMQ_SOCKS_USERNAME 99
#endif
#ifndef ZMQ_SOCKS_PASSWORD
#define ZMQ_SOCKS_PASSWORD 100
#endif

/* A string option's value without libzmq's terminating NUL; 0 when unset
 * or unknown to this libzmq. */
static size_t shim_socks_string(void *s, int opt, char *buf, size_t cap)
{
    size_t len = cap;
    if (real()->getsockopt(s, opt, buf, &len) != 0 || len == 0 || len > cap)
        return 0;
    if (buf[len - 1] == '\0')
        len--;
    return len;
}

int shim_socks_snapshot(void *s, ep_cfg_t *cfg)
{
    char proxy[ENDPOINT_URI_MAX];
    size_t len = sizeof(proxy) - 1;
    /* ZMQ_SOCKS_PROXY is a stable libzmq 4.3 option: a failure here means
     * a value too long for any HOST:PORT, never "unset", which would send
     * the connection straight to the destination. */
    if (real()->getsockopt(s, ZMQ_SOCKS_PROXY, proxy, &len) != 0)
        return shim_fail(EINVAL, "zmtls: ZMQ_SOCKS_PROXY is longer than %d bytes",
                         (int)sizeof(proxy) - 2);
    if (len > 0 && proxy[len - 1] == '\0')
        len--;
    if (len == 0)
        return 0;
    proxy[len] = '\0';
    /* The proxy's address has a connect endpoint's syntax (host:port,
     * [v6]:port); libzmq's "source;host:port" form is not taken. */
    char uri[ENDPOINT_URI_MAX + 8];
    snprintf(uri, sizeof(uri), "tls://%s", proxy);
    if (strchr(proxy, ';') != NULL || endpoint_parse(uri, 0, &cfg->proxy) < 0)
        return shim_fail(
            EINVAL,
            "zmtls: ZMQ_SOCKS_PROXY \"%s\" is not HOST:PORT (a name, an IPv4 "
            "address or a bracketed IPv6 address, and a port)",
            proxy);
    if (socks_dest_set(&cfg->socks_dest, cfg->ep.host, cfg->ep.port) < 0)
        return shim_fail(EINVAL,
                         "zmtls: a SOCKS5 proxy cannot reach %s: the request has no "
                         "place for an IPv6 zone id",
                         cfg->ep.host);
    /* libzmq keeps at most 255 bytes of each, which SOCKS5 carries. */
    char tmp[SOCKS_NAME_MAX + 2];
    size_t ulen = shim_socks_string(s, ZMQ_SOCKS_USERNAME, tmp, sizeof(tmp));
    if (ulen > 0 && ulen <= sizeof(cfg->socks_user)) {
        memcpy(cfg->socks_user, tmp, ulen);
        cfg->socks_user_len = ulen;
        size_t plen = shim_socks_string(s, ZMQ_SOCKS_PASSWORD, tmp, sizeof(tmp));
        if (plen <= sizeof(cfg->socks_pass)) {
            memcpy(cfg->socks_pass, tmp, plen);
            cfg->socks_pass_len = plen;
        }
        OPENSSL_cleanse(tmp, sizeof(tmp));
    }
    cfg->has_proxy = 1;
    return 0;
}

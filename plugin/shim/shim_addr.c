/*
 * The addresses of tls:// endpoints, resolved on the application's thread
 * so that mistakes fail zmq_connect / zmq_bind as they do for tcp://: a
 * connect's source address, and a bind's listening socket (see
 * shim_int.h).
 */
#include "endpoint/endpoint.h"
#include "epcfg/epcfg.h"
#include "shim/lasterror.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "shim/shim_int.h"
/* The first address of network interface `name` (AF_INET, or AF_INET6
 * too with ipv6), with `port` (network order). 0, or -1 when none. */
static int shim_if_addr(const char *name, int ipv6, uint16_t port,
                        struct sockaddr_storage *ss, socklen_t *len)
{
    struct ifaddrs *ifs = NULL;
    int found = 0;
    if (getifaddrs(&ifs) != 0)
        return -1;
    for (struct ifaddrs *i = ifs; i != NULL && !found; i = i->ifa_next) {
        if (i->ifa_addr == NULL || strcmp(i->ifa_name, name) != 0)
            continue;
        int fam = i->ifa_addr->sa_family;
        if (fam == AF_INET || (fam == AF_INET6 && ipv6)) {
            *len =
                fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
            memcpy(ss, i->ifa_addr, *len);
            if (fam == AF_INET)
                ((struct sockaddr_in *)ss)->sin_port = port;
            else
                ((struct sockaddr_in6 *)ss)->sin6_port = port;
            found = 1;
        }
    }
    freeifaddrs(ifs);
    return found ? 0 : -1;
}

/* Bind addresses follow libzmq's tcp:// rules: "*", an IP literal, or the
 * name of a network interface ("lo", "eth0") -- not a DNS name, which
 * libzmq refuses with ENODEV. */
static int shim_bind_addr(const ep_cfg_t *cfg, struct sockaddr_storage *ss,
                          socklen_t *len)
{
    const endpoint_t *ep = &cfg->ep;
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    uint16_t port = htons((uint16_t)ep->port);
    if (strcmp(ep->host, "*") == 0) {
        if (cfg->ipv6) {
            a6->sin6_family = AF_INET6;
            a6->sin6_addr = in6addr_any;
            a6->sin6_port = port;
            *len = sizeof(*a6);
        } else {
            a4->sin_family = AF_INET;
            a4->sin_addr.s_addr = htonl(INADDR_ANY);
            a4->sin_port = port;
            *len = sizeof(*a4);
        }
        return 0;
    }
    if (inet_pton(AF_INET, ep->host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = port;
        *len = sizeof(*a4);
        return 0;
    }
    /* libzmq binds an IPv6 address only on a socket with ZMQ_IPV6 set. */
    if (cfg->ipv6 && inet_pton(AF_INET6, ep->host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = port;
        *len = sizeof(*a6);
        return 0;
    }
    if (shim_if_addr(ep->host, cfg->ipv6, port, ss, len) != 0)
        return shim_fail(ENODEV,
                         "zmtls: cannot bind \"%s\": not an IP address or a "
                         "network interface",
                         ep->host);
    return 0;
}

/* The source of a connect (tls://SRC_HOST:SRC_PORT;HOST:PORT), resolved
 * once here like a bind address, so a mistake fails zmq_connect instead
 * of every attempt. Its family decides the destination's: a literal of
 * the other family is refused, a name is resolved in the source's. */
int shim_source_addr(ep_cfg_t *cfg)
{
    const endpoint_t *ep = &cfg->ep;
    struct sockaddr_storage *ss = &cfg->src_addr;
    uint16_t port = htons((uint16_t)ep->src_port);
    memset(ss, 0, sizeof(*ss));
    if (ep->src_is_ip_literal) {
        struct addrinfo hints = {0}, *res = NULL;
        hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
        hints.ai_socktype = SOCK_STREAM;
        if (getaddrinfo(ep->src_host, NULL, &hints, &res) != 0 || res == NULL ||
            res->ai_addrlen > sizeof(*ss)) {
            if (res != NULL)
                freeaddrinfo(res);
            return shim_fail(EINVAL, "zmtls: source address \"%s\" is not usable",
                             ep->src_host);
        }
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        cfg->src_addr_len = res->ai_addrlen;
        freeaddrinfo(res);
        if (ss->ss_family == AF_INET)
            ((struct sockaddr_in *)ss)->sin_port = port;
        else
            ((struct sockaddr_in6 *)ss)->sin6_port = port;
    } else if (shim_if_addr(ep->src_host, cfg->ipv6, port, ss, &cfg->src_addr_len) != 0) {
        return shim_fail(ENODEV,
                         "zmtls: source \"%s\" is not an IP address or a network "
                         "interface with an address",
                         ep->src_host);
    }
    if (ep->is_ip_literal && (ss->ss_family == AF_INET6) != (ep->is_ipv6_literal != 0))
        return shim_fail(EINVAL,
                         "zmtls: source \"%s\" and destination \"%s\" are of different "
                         "address families",
                         ep->src_host, ep->host);
    return 0;
}

/* ZMQ_USE_FD: as libzmq does, the bind takes the application's socket,
 * already bound and listening (socket activation), ignores the endpoint's
 * address and closes the socket at unbind. libzmq aborts on a socket that
 * is not listening; zmtls refuses it instead. */
static int shim_adopt_fd(ep_cfg_t *cfg)
{
    int fd = cfg->use_fd, listening = 0, type = 0;
    socklen_t len = sizeof(listening);
    int ok = getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0;
    len = sizeof(type);
    ok = ok && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
    if (!ok || !listening || type != SOCK_STREAM)
        return shim_fail(EINVAL,
                         "zmtls: ZMQ_USE_FD %d is not a listening TCP socket, which a "
                         "tls:// bind needs",
                         fd);
    int fl = fcntl(fd, F_GETFL);
    int trc = ep_cfg_tune_socket(cfg, fd);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || trc < 0) {
        int err = trc < 0 ? -trc : errno;
        return shim_fail(err, "zmtls: cannot listen on ZMQ_USE_FD %d: %s", fd,
                         strerror(err));
    }
    return fd;
}

static int shim_open_listener(ep_cfg_t *cfg)
{
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;
    if (shim_bind_addr(cfg, &addr, &addr_len) < 0)
        return -1;
    int any = strcmp(cfg->ep.host, "*") == 0;
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int err = errno;
    if (fd >= 0) {
        int one = 1, zero = 0;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (addr.ss_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &zero : &one, sizeof(int));
        /* ZMQ_BINDTODEVICE failing fails the bind, as with tcp:// */
        int trc = ep_cfg_tune_socket(cfg, fd);
        if (trc < 0 || bind(fd, (struct sockaddr *)&addr, addr_len) != 0 ||
            listen(fd, cfg->backlog > 0 ? cfg->backlog : 100) != 0) {
            err = trc < 0 ? -trc : errno;
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0)
        return shim_fail(err, "zmtls: cannot listen on %s: %s", cfg->uri, strerror(err));
    return fd;
}

/* Opens the listening socket here, on the caller's thread, so that bind
 * errors (EADDRINUSE, ...) and the ephemeral port are known when zmq_bind
 * returns, as with tcp://. Writes the resolved endpoint to cfg->uri. */
int shim_listen(ep_cfg_t *cfg)
{
    int fd = cfg->use_fd >= 0 ? shim_adopt_fd(cfg) : shim_open_listener(cfg);
    if (fd < 0)
        return -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char where[INET6_ADDRSTRLEN + 16]; /* "[host]:port" */
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
        endpoint_format_sockaddr((struct sockaddr *)&ss, where, sizeof(where)) > 0)
        snprintf(cfg->uri, sizeof(cfg->uri), "tls://%s", where);
    return fd;
}

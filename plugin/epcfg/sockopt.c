/*
 * The application's TCP-level libzmq options, applied to zmtls's own TCP
 * sockets with libzmq's meaning of each value (src/tcp.cpp in libzmq 4.3):
 * -1 (keepalives) or 0 (TOS, MAXRT) leave the system's setting.
 */
#include "epcfg/epcfg.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

static void ep_cfg_keepalive(const ep_cfg_t *cfg, int fd)
{
    if (cfg->tcp_keepalive == -1)
        return;
    int on = cfg->tcp_keepalive != 0;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    if (!on)
        return;
    /* The probes' parameters matter only with keepalive on, as in libzmq. */
    if (cfg->tcp_keepalive_cnt != -1)
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cfg->tcp_keepalive_cnt, sizeof(int));
    if (cfg->tcp_keepalive_idle != -1)
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &cfg->tcp_keepalive_idle, sizeof(int));
    if (cfg->tcp_keepalive_intvl != -1)
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &cfg->tcp_keepalive_intvl,
                   sizeof(int));
}

/* The traffic class goes in the IPv4 header and, for an IPv6 socket, the
 * IPv6 one; a v4-only socket refuses IPV6_TCLASS, which is expected. */
static void ep_cfg_tos(const ep_cfg_t *cfg, int fd)
{
    if (cfg->tos == 0)
        return;
    setsockopt(fd, IPPROTO_IP, IP_TOS, &cfg->tos, sizeof(cfg->tos));
    setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &cfg->tos, sizeof(cfg->tos));
}

int ep_cfg_tune_socket(const ep_cfg_t *cfg, int fd)
{
    if (cfg->sndbuf >= 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cfg->sndbuf, sizeof(cfg->sndbuf));
    if (cfg->rcvbuf >= 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cfg->rcvbuf, sizeof(cfg->rcvbuf));
    ep_cfg_keepalive(cfg, fd);
    if (cfg->tcp_maxrt > 0) {
        unsigned ms = (unsigned)cfg->tcp_maxrt;
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
    }
    ep_cfg_tos(cfg, fd);
    if (cfg->bound_device[0] != '\0' &&
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, cfg->bound_device,
                   (socklen_t)strlen(cfg->bound_device)) != 0)
        return -errno;
    return 0;
}

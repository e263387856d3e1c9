/*
 * Every libzmq option, as the table of docs/zmq_tls.7.md ("libzmq options")
 * says tls:// treats it. The expected status of each option is read from
 * that table, never written here, so the page and the library cannot
 * drift apart: a row without a probe here, a probe without a row there, or
 * counts that do not add up fail the test.
 *
 * Each probe sets its option to a sensible value on a socket type where it
 * applies, then:
 *   honoured        the tls:// bind and connect succeed and the pair talks;
 *                   where the effect is cheap to observe (TCP socket
 *                   options read back from the connection's fd, routing
 *                   ids, probes, read-only values) it is checked, for the
 *                   TCP-level ones over tcp:// too with the same assertions
 *   not applicable  the same, and the option changes nothing
 *   refused (E, w)  the call w (setsockopt, bind, connect) fails with E;
 *                   at bind/connect zmtls_last_error() says why, and the
 *                   same socket binds or connects over tcp://
 *
 * Usage: test_options_table [name-substring] (to run some rows only).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "conf.h"
#include "zaphandler.h"
#include "zmtls.h"

#ifndef ZMTLS_SOURCE_DIR
#error "ZMTLS_SOURCE_DIR must name the source tree (tests/CMakeLists.txt)"
#endif

/* Draft and deprecated ids (zmq.h declares the drafts only under
 * ZMQ_BUILD_DRAFT_API); Debian's libzmq 4.3.4 accepts some at runtime. */
enum {
    OPT_ZAP_ENFORCE_DOMAIN = 93,
    OPT_LOOPBACK_FASTPATH = 94,
    OPT_METADATA = 95,
    OPT_MULTICAST_LOOP = 96,
    OPT_ROUTER_NOTIFY = 97,
    OPT_XPUB_MANUAL_LAST_VALUE = 98,
    OPT_SOCKS_USERNAME = 99,
    OPT_SOCKS_PASSWORD = 100,
    OPT_IN_BATCH_SIZE = 101,
    OPT_OUT_BATCH_SIZE = 102,
    OPT_WSS_KEY_PEM = 103,
    OPT_WSS_CERT_PEM = 104,
    OPT_WSS_TRUST_PEM = 105,
    OPT_WSS_HOSTNAME = 106,
    OPT_WSS_TRUST_SYSTEM = 107,
    OPT_ONLY_FIRST_SUBSCRIBE = 108,
    OPT_RECONNECT_STOP = 109,
    OPT_HELLO_MSG = 110,
    OPT_DISCONNECT_MSG = 111,
    OPT_PRIORITY = 112,
    OPT_CTX_ZERO_COPY_RECV = 10,
};

/* ------------------------------------------------------------------ */
/* The table, as the page writes it                                     */

typedef enum { ST_HONOURED, ST_REFUSED, ST_NA } st_kind_t;

typedef struct status {
    st_kind_t kind;
    int err;                         /* refused: the errno */
    int at_set, at_bind, at_connect; /* refused: where */
} status_t;

#define DOC_ROWS_MAX 256

typedef struct doc_row {
    char name[64];
    int ctx; /* the context options' table */
    status_t st;
    int used; /* a probe claimed it */
} doc_row_t;

typedef struct doc {
    doc_row_t row[DOC_ROWS_MAX];
    size_t n;
    int total, honoured, refused, na; /* the counts the text gives */
} doc_t;

static int errno_by_name(const char *s, size_t len)
{
    static const struct {
        const char *name;
        int err;
    } names[] = {{"EINVAL", EINVAL},
                 {"ENOCOMPATPROTO", ENOCOMPATPROTO},
                 {"ENODEV", ENODEV},
                 {"EPERM", EPERM},
                 {"ENOTSUP", ENOTSUP}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == len && strncmp(names[i].name, s, len) == 0)
            return names[i].err;
    return 0;
}

/* "honoured", "not applicable", "refused (EINVAL, bind, connect)" */
static int parse_status(const char *cell, status_t *st)
{
    memset(st, 0, sizeof *st);
    if (strcmp(cell, "honoured") == 0) {
        st->kind = ST_HONOURED;
        return 0;
    }
    if (strcmp(cell, "not applicable") == 0) {
        st->kind = ST_NA;
        return 0;
    }
    if (strncmp(cell, "refused (", 9) != 0 || cell[strlen(cell) - 1] != ')')
        return -1;
    st->kind = ST_REFUSED;
    const char *p = cell + 9;
    size_t elen = strcspn(p, ",)");
    st->err = errno_by_name(p, elen);
    if (st->err == 0 || p[elen] != ',')
        return -1;
    p += elen;
    while (*p == ',') {
        p++;
        while (*p == ' ')
            p++;
        size_t wl = strcspn(p, ",)");
        if (wl == 10 && strncmp(p, "setsockopt", wl) == 0)
            st->at_set = 1;
        else if (wl == 4 && strncmp(p, "bind", wl) == 0)
            st->at_bind = 1;
        else if (wl == 7 && strncmp(p, "connect", wl) == 0)
            st->at_connect = 1;
        else
            return -1;
        p += wl;
    }
    return *p == ')' && (st->at_set + st->at_bind + st->at_connect) > 0 ? 0 : -1;
}

/* Copies cell `i` (0-based) of a "| a | b | c |" line, trimmed. */
static int table_cell(const char *line, int i, char *out, size_t cap)
{
    const char *p = line;
    for (int k = 0; k <= i; k++) {
        p = strchr(p, '|');
        if (p == NULL)
            return -1;
        p++;
    }
    const char *end = strchr(p, '|');
    if (end == NULL)
        return -1;
    while (p < end && *p == ' ')
        p++;
    while (end > p && end[-1] == ' ')
        end--;
    size_t len = (size_t)(end - p);
    if (len >= cap)
        return -1;
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

static void doc_load(doc_t *d)
{
    const char *path = ZMTLS_SOURCE_DIR "/docs/zmq_tls.7.md";
    char *text = tu_file_read(path);
    memset(d, 0, sizeof *d);
    d->total = -1;
    int in_section = 0, ctx = -1;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (strncmp(line, "## ", 3) == 0) {
            in_section = strcmp(line, "## libzmq options") == 0;
            continue;
        }
        if (!in_section)
            continue;
        if (strcmp(line, "### Socket options") == 0)
            ctx = 0;
        else if (strcmp(line, "### Context options") == 0)
            ctx = 1;
        /* "Of the N rows below (...), H are honoured, R refused and A not applicable." */
        char *of = strstr(line, "Of the ");
        if (of != NULL)
            CHECK_EQ(sscanf(of, "Of the %d rows", &d->total), 1);
        if (strstr(line, "are honoured,") != NULL)
            CHECK_EQ(sscanf(strstr(line, "), ") + 3,
                            "%d are honoured, %d refused and %d not", &d->honoured,
                            &d->refused, &d->na),
                     3);
        if (strncmp(line, "| `ZMQ_", 7) != 0)
            continue;
        if (ctx < 0) {
            fprintf(stderr, "%s: a row before the socket/context tables: %s\n", path,
                    line);
            exit(1);
        }
        CHECK(d->n < DOC_ROWS_MAX);
        doc_row_t *r = &d->row[d->n++];
        const char *b = line + 3, *e = strchr(b, '`');
        CHECK(e != NULL && (size_t)(e - b) < sizeof r->name);
        memcpy(r->name, b, (size_t)(e - b));
        r->ctx = ctx;
        char cell[128];
        if (table_cell(line, 1, cell, sizeof cell) < 0 ||
            parse_status(cell, &r->st) < 0) {
            fprintf(stderr, "%s: row %s: unreadable status \"%s\"\n", path, r->name,
                    cell);
            exit(1);
        }
        for (size_t i = 0; i + 1 < d->n; i++)
            if (strcmp(d->row[i].name, r->name) == 0 && d->row[i].ctx == ctx) {
                fprintf(stderr, "%s: %s listed twice\n", path, r->name);
                exit(1);
            }
    }
    free(text);
    if (d->n == 0) {
        fprintf(stderr, "%s: no \"## libzmq options\" table\n", path);
        exit(1);
    }
}

/* The counts the text gives must be the table's. */
static void doc_check_counts(const doc_t *d)
{
    int h = 0, r = 0, a = 0;
    for (size_t i = 0; i < d->n; i++) {
        h += d->row[i].st.kind == ST_HONOURED;
        r += d->row[i].st.kind == ST_REFUSED;
        a += d->row[i].st.kind == ST_NA;
    }
    if (d->total != (int)d->n || d->honoured != h || d->refused != r || d->na != a) {
        fprintf(stderr,
                "docs/zmq_tls.7.md says %d rows: %d honoured, %d refused, %d not "
                "applicable; the table has %zu: %d, %d, %d\n",
                d->total, d->honoured, d->refused, d->na, d->n, h, r, a);
        exit(1);
    }
}

/* ------------------------------------------------------------------ */
/* Probes                                                               */

typedef enum {
    V_INT,   /* ival */
    V_I64,   /* ival as int64_t */
    V_U64,   /* ival as uint64_t */
    V_STR,   /* sval */
    V_KEY,   /* a CURVE key, Z85 */
    V_USEFD, /* a listening socket made for the probe */
    V_GET,   /* read-only: read it, check it */
    V_NONE,  /* nothing to set (a message property) */
} vtype_t;

/* flags */
#define F_TCP    0x01u  /* run over tcp:// too, the same assertions */
#define F_NOTALK 0x02u  /* the pair cannot talk (a proxy that is not there) */
#define F_TALKS  0x04u  /* the check does the talking */
#define F_ZAP    0x08u  /* a ZAP handler admits everyone */
#define F_MANUAL 0x10u  /* XPUB manual: the publisher subscribes for its peer */
#define F_INVERT 0x20u  /* both ends invert matching */
#define F_KEEPON 0x40u  /* ZMQ_TCP_KEEPALIVE 1 as well */
#define F_STREAM 0x80u  /* a STREAM socket: tls:// refuses the type */
#define F_ZAPDOM 0x100u /* ZMQ_ZAP_DOMAIN as well */
/* Listed as honoured while its tls:// support is being completed
 * elsewhere: set, bound, connected and authenticated here, its effect left
 * to its own test. */
#define F_PENDING 0x200u
#define F_CPUADD  0x400u /* ZMQ_THREAD_AFFINITY_CPU_ADD 0 first: removing needs it */

typedef struct probe probe_t;

/* What the check sees: the pair, connected and authenticated. */
typedef struct pair {
    const char *tr;
    void *ctx;
    tu_peer_t *opt;  /* the socket carrying the option */
    tu_peer_t *peer; /* the other end */
    tu_peer_t *srv, *cli;
    int opt_fd; /* the option side's TCP connection (ACCEPTED / CONNECTED fd) */
} pair_t;

typedef void (*check_fn)(const probe_t *p, pair_t *x);

struct probe {
    const char *name;
    int ctx; /* a context option */
    int id;
    vtype_t vt;
    int ival;
    const char *sval;
    int type, peer;
    int on_connect; /* the option's socket connects (else it binds) */
    unsigned flags;
    check_fn check;
};

static int fd_int(int fd, int level, int opt)
{
    int v = -12345;
    socklen_t len = sizeof v;
    CHECK_EQ(getsockopt(fd, level, opt, &v, &len), 0);
    return v;
}

static void check_keepalive(const probe_t *p, pair_t *x)
{
    CHECK_EQ(fd_int(x->opt_fd, SOL_SOCKET, SO_KEEPALIVE), 1);
}
static void check_keepcnt(const probe_t *p, pair_t *x)
{
    CHECK_EQ(fd_int(x->opt_fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    CHECK_EQ(fd_int(x->opt_fd, IPPROTO_TCP, TCP_KEEPCNT), p->ival);
}
static void check_keepidle(const probe_t *p, pair_t *x)
{
    CHECK_EQ(fd_int(x->opt_fd, IPPROTO_TCP, TCP_KEEPIDLE), p->ival);
}
static void check_keepintvl(const probe_t *p, pair_t *x)
{
    CHECK_EQ(fd_int(x->opt_fd, IPPROTO_TCP, TCP_KEEPINTVL), p->ival);
}
static void check_tos(const probe_t *p, pair_t *x)
{
    CHECK_EQ(fd_int(x->opt_fd, IPPROTO_IP, IP_TOS), p->ival);
}
static void check_maxrt(const probe_t *p, pair_t *x)
{
    CHECK_EQ(fd_int(x->opt_fd, IPPROTO_TCP, TCP_USER_TIMEOUT), p->ival);
}
static void check_sndbuf(const probe_t *p, pair_t *x)
{
    CHECK(fd_int(x->opt_fd, SOL_SOCKET, SO_SNDBUF) >= p->ival);
}
static void check_rcvbuf(const probe_t *p, pair_t *x)
{
    CHECK(fd_int(x->opt_fd, SOL_SOCKET, SO_RCVBUF) >= p->ival);
}

/* The connection carries the device, and a device that does not exist
 * fails a bind as tcp:// fails it. */
static void check_device(const probe_t *p, pair_t *x)
{
    char dev[IF_NAMESIZE + 1] = "";
    socklen_t len = sizeof dev;
    CHECK_EQ(getsockopt(x->opt_fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len), 0);
    CHECK(strcmp(dev, p->sval) == 0);
    void *s = tu_socket(x->ctx, ZMQ_PULL);
    conf_creds(s, x->tr, CONF_SERVER);
    CHECK_EQ(zmq_setsockopt(s, ZMQ_BINDTODEVICE, "zmtlsnodev0", 11), 0);
    char ep[64];
    snprintf(ep, sizeof ep, "%s://127.0.0.1:*", x->tr);
    CHECK_EQ(zmq_bind(s, ep), -1);
    CHECK_EQ(errno, ENODEV);
    zmq_close(s);
}

static int usefd_port = -1;

static int make_listener(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    CHECK_EQ(listen(fd, 16), 0);
    usefd_port = ntohs(a.sin_port);
    return fd;
}

/* The bind took the given socket: it reports that socket's port. */
static void check_usefd(const probe_t *p, pair_t *x)
{
    CHECK_EQ(tu_endpoint_port(x->srv->endpoint), usefd_port);
}

static void check_routing_id(const probe_t *p, pair_t *x)
{
    CHECK_EQ(tu_send_str(x->cli->sock, "ping", 0), 4);
    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(x->srv->sock, &m, TU_TIMEOUT_MS), 0);
    CHECK(m.n == 2 && tu_msg_part_is(&m, 0, p->sval) && tu_msg_part_is(&m, 1, "ping"));
    tu_msg_close(&m);
}

/* The ROUTER hears the empty probe first. */
static void check_probe(const probe_t *p, pair_t *x)
{
    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(x->srv->sock, &m, TU_TIMEOUT_MS), 0);
    CHECK(m.n == 2 && zmq_msg_size(&m.part[1]) == 0);
    tu_msg_close(&m);
}

/* The connecting ROUTER reaches its peer by the name it gave it. */
static void check_connect_rid(const probe_t *p, pair_t *x)
{
    const void *parts[] = {p->sval, "ping"};
    const size_t lens[] = {strlen(p->sval), 4};
    tu_send_parts(x->cli->sock, 2, parts, lens);
    CHECK_EQ(tu_echo(x->srv->sock, TU_TIMEOUT_MS), 2);
    tu_msg_t m;
    CHECK_EQ(tu_recv_msg(x->cli->sock, &m, TU_TIMEOUT_MS), 0);
    CHECK(m.n == 2 && tu_msg_part_is(&m, 0, p->sval) && tu_msg_part_is(&m, 1, "ping"));
    tu_msg_close(&m);
}

static int get_int(void *s, int opt)
{
    int v = -12345;
    size_t len = sizeof v;
    CHECK_EQ(zmq_getsockopt(s, opt, &v, &len), 0);
    return v;
}

static void check_get(const probe_t *p, pair_t *x)
{
    void *s = x->opt->sock;
    switch (p->id) {
    case ZMQ_LAST_ENDPOINT: {
        char ep[TU_EP_MAX], want[32];
        size_t len = sizeof ep;
        CHECK_EQ(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len), 0);
        snprintf(want, sizeof want, "%s://127.0.0.1:", x->tr);
        CHECK(strncmp(ep, want, strlen(want)) == 0 && tu_endpoint_port(ep) > 0);
        break;
    }
    case ZMQ_TYPE:
        CHECK_EQ(get_int(s, ZMQ_TYPE), p->type);
        break;
    case ZMQ_MECHANISM:
        CHECK_EQ(get_int(s, ZMQ_MECHANISM), ZMQ_NULL);
        break;
    case ZMQ_RCVMORE:
    case ZMQ_THREAD_SAFE:
        CHECK_EQ(get_int(s, p->id), 0);
        break;
    case ZMQ_FD:
        CHECK(get_int(s, ZMQ_FD) >= 0);
        break;
    case ZMQ_EVENTS:
        CHECK((get_int(s, ZMQ_EVENTS) & ~(ZMQ_POLLIN | ZMQ_POLLOUT)) == 0);
        break;
    default:
        CHECK(!"no read-only check for this option");
    }
}

static void check_ipv4only(const probe_t *p, pair_t *x)
{
    CHECK_EQ(get_int(x->opt->sock, ZMQ_IPV6), 1);
}

static void check_ctx(const probe_t *p, pair_t *x)
{
    switch (p->id) {
    case ZMQ_MAX_SOCKETS:
        CHECK_EQ(zmq_ctx_get(x->ctx, ZMQ_MAX_SOCKETS), p->ival);
        break;
    case ZMQ_SOCKET_LIMIT:
        CHECK(zmq_ctx_get(x->ctx, ZMQ_SOCKET_LIMIT) > 0);
        break;
    case ZMQ_MSG_T_SIZE:
        CHECK_EQ(zmq_ctx_get(x->ctx, ZMQ_MSG_T_SIZE), (int)sizeof(zmq_msg_t));
        break;
    case ZMQ_IPV6:
        CHECK_EQ(get_int(x->srv->sock, ZMQ_IPV6), 1);
        break;
    case ZMQ_BLOCKY:
        CHECK_EQ(zmq_ctx_get(x->ctx, ZMQ_BLOCKY), 0);
        break;
    default:
        break;
    }
}

/* A message larger than ZMQ_MAX_MSGSZ goes through, as over tcp://. */
static void check_max_msgsz(const probe_t *p, pair_t *x)
{
    char big[4096];
    memset(big, 'b', sizeof big);
    big[sizeof big - 1] = '\0';
    CHECK_EQ(tu_roundtrip_str(x->cli->sock, x->srv->sock, big, TU_TIMEOUT_MS), 0);
}

#define SOCK(n, id, vt, iv, sv, t, pt, oc, fl, ck)                                       \
    {                                                                                    \
        n, 0, id, vt, iv, sv, t, pt, oc, fl, ck                                          \
    }
#define CTX(n, id, vt, iv, fl, ck)                                                       \
    {                                                                                    \
        n, 1, id, vt, iv, NULL, ZMQ_DEALER, ZMQ_ROUTER, 1, fl, ck                        \
    }
#define B 0 /* the option's socket binds */
#define C 1 /* it connects */

static const probe_t probes[] = {
    SOCK("ZMQ_AFFINITY", ZMQ_AFFINITY, V_U64, 1, NULL, ZMQ_DEALER, ZMQ_ROUTER, C, 0,
         NULL),
    SOCK("ZMQ_ROUTING_ID", ZMQ_ROUTING_ID, V_STR, 0, "ident-1", ZMQ_DEALER, ZMQ_ROUTER, C,
         F_TALKS, check_routing_id),
    SOCK("ZMQ_SUBSCRIBE", ZMQ_SUBSCRIBE, V_STR, 0, "", ZMQ_SUB, ZMQ_PUB, C, 0, NULL),
    SOCK("ZMQ_UNSUBSCRIBE", ZMQ_UNSUBSCRIBE, V_STR, 0, "zz", ZMQ_SUB, ZMQ_PUB, C, 0,
         NULL),
    SOCK("ZMQ_RATE", ZMQ_RATE, V_INT, 100, NULL, ZMQ_PUSH, ZMQ_PULL, C, 0, NULL),
    SOCK("ZMQ_RECOVERY_IVL", ZMQ_RECOVERY_IVL, V_INT, 1000, NULL, ZMQ_PUSH, ZMQ_PULL, C,
         0, NULL),
    SOCK("ZMQ_SNDBUF", ZMQ_SNDBUF, V_INT, 65536, NULL, ZMQ_ROUTER, ZMQ_DEALER, B, F_TCP,
         check_sndbuf),
    SOCK("ZMQ_RCVBUF", ZMQ_RCVBUF, V_INT, 65536, NULL, ZMQ_DEALER, ZMQ_ROUTER, C, F_TCP,
         check_rcvbuf),
    SOCK("ZMQ_RCVMORE", ZMQ_RCVMORE, V_GET, 0, NULL, ZMQ_PULL, ZMQ_PUSH, B, 0, check_get),
    SOCK("ZMQ_FD", ZMQ_FD, V_GET, 0, NULL, ZMQ_PULL, ZMQ_PUSH, B, 0, check_get),
    SOCK("ZMQ_EVENTS", ZMQ_EVENTS, V_GET, 0, NULL, ZMQ_PULL, ZMQ_PUSH, B, 0, check_get),
    SOCK("ZMQ_TYPE", ZMQ_TYPE, V_GET, 0, NULL, ZMQ_REP, ZMQ_REQ, B, 0, check_get),
    SOCK("ZMQ_LINGER", ZMQ_LINGER, V_INT, 100, NULL, ZMQ_PUSH, ZMQ_PULL, C, 0, NULL),
    SOCK("ZMQ_RECONNECT_IVL", ZMQ_RECONNECT_IVL, V_INT, 50, NULL, ZMQ_DEALER, ZMQ_ROUTER,
         C, 0, NULL),
    SOCK("ZMQ_BACKLOG", ZMQ_BACKLOG, V_INT, 10, NULL, ZMQ_ROUTER, ZMQ_DEALER, B, 0, NULL),
    SOCK("ZMQ_RECONNECT_IVL_MAX", ZMQ_RECONNECT_IVL_MAX, V_INT, 500, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_MAXMSGSIZE", ZMQ_MAXMSGSIZE, V_I64, 1000, NULL, ZMQ_ROUTER, ZMQ_DEALER, B,
         0, NULL),
    SOCK("ZMQ_SNDHWM", ZMQ_SNDHWM, V_INT, 10, NULL, ZMQ_PUSH, ZMQ_PULL, C, 0, NULL),
    SOCK("ZMQ_RCVHWM", ZMQ_RCVHWM, V_INT, 10, NULL, ZMQ_PULL, ZMQ_PUSH, B, 0, NULL),
    SOCK("ZMQ_MULTICAST_HOPS", ZMQ_MULTICAST_HOPS, V_INT, 2, NULL, ZMQ_PUSH, ZMQ_PULL, C,
         0, NULL),
    SOCK("ZMQ_RCVTIMEO", ZMQ_RCVTIMEO, V_INT, 2000, NULL, ZMQ_REP, ZMQ_REQ, B, 0, NULL),
    SOCK("ZMQ_SNDTIMEO", ZMQ_SNDTIMEO, V_INT, 2000, NULL, ZMQ_REQ, ZMQ_REP, C, 0, NULL),
    SOCK("ZMQ_IPV4ONLY", ZMQ_IPV4ONLY, V_INT, 0, NULL, ZMQ_ROUTER, ZMQ_DEALER, B, 0,
         check_ipv4only),
    SOCK("ZMQ_LAST_ENDPOINT", ZMQ_LAST_ENDPOINT, V_GET, 0, NULL, ZMQ_ROUTER, ZMQ_DEALER,
         B, F_TCP, check_get),
    SOCK("ZMQ_ROUTER_MANDATORY", ZMQ_ROUTER_MANDATORY, V_INT, 1, NULL, ZMQ_ROUTER,
         ZMQ_DEALER, B, 0, NULL),
    SOCK("ZMQ_TCP_KEEPALIVE", ZMQ_TCP_KEEPALIVE, V_INT, 1, NULL, ZMQ_ROUTER, ZMQ_DEALER,
         B, F_TCP, check_keepalive),
    SOCK("ZMQ_TCP_KEEPALIVE_CNT", ZMQ_TCP_KEEPALIVE_CNT, V_INT, 7, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, F_TCP | F_KEEPON, check_keepcnt),
    SOCK("ZMQ_TCP_KEEPALIVE_IDLE", ZMQ_TCP_KEEPALIVE_IDLE, V_INT, 77, NULL, ZMQ_ROUTER,
         ZMQ_DEALER, B, F_TCP | F_KEEPON, check_keepidle),
    SOCK("ZMQ_TCP_KEEPALIVE_INTVL", ZMQ_TCP_KEEPALIVE_INTVL, V_INT, 11, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, F_TCP | F_KEEPON, check_keepintvl),
    SOCK("ZMQ_TCP_ACCEPT_FILTER", 38, V_STR, 0, "127.0.0.1", ZMQ_ROUTER, ZMQ_DEALER, B, 0,
         NULL),
    SOCK("ZMQ_IMMEDIATE", ZMQ_IMMEDIATE, V_INT, 1, NULL, ZMQ_DEALER, ZMQ_ROUTER, C, 0,
         NULL),
    SOCK("ZMQ_XPUB_VERBOSE", ZMQ_XPUB_VERBOSE, V_INT, 1, NULL, ZMQ_XPUB, ZMQ_SUB, B, 0,
         NULL),
    SOCK("ZMQ_ROUTER_RAW", ZMQ_ROUTER_RAW, V_INT, 1, NULL, ZMQ_ROUTER, ZMQ_DEALER, B, 0,
         NULL),
    SOCK("ZMQ_IPV6", ZMQ_IPV6, V_INT, 1, NULL, ZMQ_ROUTER, ZMQ_DEALER, B, 0, NULL),
    SOCK("ZMQ_MECHANISM", ZMQ_MECHANISM, V_GET, 0, NULL, ZMQ_DEALER, ZMQ_ROUTER, C, 0,
         check_get),
    SOCK("ZMQ_PLAIN_SERVER", ZMQ_PLAIN_SERVER, V_INT, 1, NULL, ZMQ_DEALER, ZMQ_ROUTER, C,
         0, NULL),
    SOCK("ZMQ_PLAIN_USERNAME", ZMQ_PLAIN_USERNAME, V_STR, 0, "user", ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_PLAIN_PASSWORD", ZMQ_PLAIN_PASSWORD, V_STR, 0, "secret", ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_CURVE_SERVER", ZMQ_CURVE_SERVER, V_INT, 1, NULL, ZMQ_DEALER, ZMQ_ROUTER, C,
         0, NULL),
    SOCK("ZMQ_CURVE_PUBLICKEY", ZMQ_CURVE_PUBLICKEY, V_KEY, 0, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_CURVE_SECRETKEY", ZMQ_CURVE_SECRETKEY, V_KEY, 0, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_CURVE_SERVERKEY", ZMQ_CURVE_SERVERKEY, V_KEY, 0, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_PROBE_ROUTER", ZMQ_PROBE_ROUTER, V_INT, 1, NULL, ZMQ_DEALER, ZMQ_ROUTER, C,
         F_TCP, check_probe),
    SOCK("ZMQ_REQ_CORRELATE", ZMQ_REQ_CORRELATE, V_INT, 1, NULL, ZMQ_REQ, ZMQ_REP, C, 0,
         NULL),
    SOCK("ZMQ_REQ_RELAXED", ZMQ_REQ_RELAXED, V_INT, 1, NULL, ZMQ_REQ, ZMQ_REP, C, 0,
         NULL),
    SOCK("ZMQ_CONFLATE", ZMQ_CONFLATE, V_INT, 1, NULL, ZMQ_PULL, ZMQ_PUSH, B, 0, NULL),
    SOCK("ZMQ_ZAP_DOMAIN", ZMQ_ZAP_DOMAIN, V_STR, 0, "global", ZMQ_ROUTER, ZMQ_DEALER, B,
         F_ZAP, NULL),
    SOCK("ZMQ_ROUTER_HANDOVER", ZMQ_ROUTER_HANDOVER, V_INT, 1, NULL, ZMQ_ROUTER,
         ZMQ_DEALER, B, 0, NULL),
    SOCK("ZMQ_TOS", ZMQ_TOS, V_INT, 0x28, NULL, ZMQ_ROUTER, ZMQ_DEALER, B, F_TCP,
         check_tos),
    SOCK("ZMQ_IPC_FILTER_PID", 58, V_INT, 1, NULL, ZMQ_PULL, ZMQ_PUSH, B, 0, NULL),
    SOCK("ZMQ_IPC_FILTER_UID", 59, V_INT, 0, NULL, ZMQ_PULL, ZMQ_PUSH, B, 0, NULL),
    SOCK("ZMQ_IPC_FILTER_GID", 60, V_INT, 0, NULL, ZMQ_PULL, ZMQ_PUSH, B, 0, NULL),
    SOCK("ZMQ_CONNECT_ROUTING_ID", ZMQ_CONNECT_ROUTING_ID, V_STR, 0, "peerA", ZMQ_ROUTER,
         ZMQ_ROUTER, C, F_TCP | F_TALKS, check_connect_rid),
    SOCK("ZMQ_GSSAPI_SERVER", ZMQ_GSSAPI_SERVER, V_INT, 1, NULL, ZMQ_DEALER, ZMQ_ROUTER,
         C, 0, NULL),
    SOCK("ZMQ_GSSAPI_PRINCIPAL", ZMQ_GSSAPI_PRINCIPAL, V_STR, 0, "me", ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_GSSAPI_SERVICE_PRINCIPAL", ZMQ_GSSAPI_SERVICE_PRINCIPAL, V_STR, 0, "svc",
         ZMQ_DEALER, ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_GSSAPI_PLAINTEXT", ZMQ_GSSAPI_PLAINTEXT, V_INT, 1, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_HANDSHAKE_IVL", ZMQ_HANDSHAKE_IVL, V_INT, 5000, NULL, ZMQ_ROUTER,
         ZMQ_DEALER, B, 0, NULL),
    SOCK("ZMQ_SOCKS_PROXY", ZMQ_SOCKS_PROXY, V_STR, 0, "127.0.0.1:9", ZMQ_DEALER,
         ZMQ_ROUTER, C, F_NOTALK, NULL),
    SOCK("ZMQ_XPUB_NODROP", ZMQ_XPUB_NODROP, V_INT, 1, NULL, ZMQ_XPUB, ZMQ_SUB, B, 0,
         NULL),
    SOCK("ZMQ_XPUB_MANUAL", ZMQ_XPUB_MANUAL, V_INT, 1, NULL, ZMQ_XPUB, ZMQ_SUB, B,
         F_MANUAL, NULL),
    SOCK("ZMQ_XPUB_WELCOME_MSG", ZMQ_XPUB_WELCOME_MSG, V_STR, 0, "welcome", ZMQ_XPUB,
         ZMQ_SUB, B, 0, NULL),
    SOCK("ZMQ_STREAM_NOTIFY", ZMQ_STREAM_NOTIFY, V_INT, 1, NULL, ZMQ_STREAM, ZMQ_DEALER,
         B, F_STREAM, NULL),
    SOCK("ZMQ_INVERT_MATCHING", ZMQ_INVERT_MATCHING, V_INT, 1, NULL, ZMQ_XPUB, ZMQ_SUB, B,
         F_INVERT, NULL),
    SOCK("ZMQ_HEARTBEAT_IVL", ZMQ_HEARTBEAT_IVL, V_INT, 1000, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_HEARTBEAT_TTL", ZMQ_HEARTBEAT_TTL, V_INT, 5000, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_HEARTBEAT_TIMEOUT", ZMQ_HEARTBEAT_TIMEOUT, V_INT, 3000, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_XPUB_VERBOSER", ZMQ_XPUB_VERBOSER, V_INT, 1, NULL, ZMQ_XPUB, ZMQ_SUB, B, 0,
         NULL),
    SOCK("ZMQ_CONNECT_TIMEOUT", ZMQ_CONNECT_TIMEOUT, V_INT, 2000, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_TCP_MAXRT", ZMQ_TCP_MAXRT, V_INT, 12345, NULL, ZMQ_DEALER, ZMQ_ROUTER, C,
         F_TCP, check_maxrt),
    SOCK("ZMQ_THREAD_SAFE", ZMQ_THREAD_SAFE, V_GET, 0, NULL, ZMQ_DEALER, ZMQ_ROUTER, C, 0,
         check_get),
    SOCK("ZMQ_MULTICAST_MAXTPDU", ZMQ_MULTICAST_MAXTPDU, V_INT, 1500, NULL, ZMQ_PUSH,
         ZMQ_PULL, C, 0, NULL),
    SOCK("ZMQ_VMCI_BUFFER_SIZE", ZMQ_VMCI_BUFFER_SIZE, V_I64, 65536, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_VMCI_BUFFER_MIN_SIZE", ZMQ_VMCI_BUFFER_MIN_SIZE, V_I64, 1024, NULL,
         ZMQ_DEALER, ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_VMCI_BUFFER_MAX_SIZE", ZMQ_VMCI_BUFFER_MAX_SIZE, V_I64, 65536, NULL,
         ZMQ_DEALER, ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_VMCI_CONNECT_TIMEOUT", ZMQ_VMCI_CONNECT_TIMEOUT, V_INT, 1000, NULL,
         ZMQ_DEALER, ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_USE_FD", ZMQ_USE_FD, V_USEFD, 0, NULL, ZMQ_ROUTER, ZMQ_DEALER, B, F_TCP,
         check_usefd),
    SOCK("ZMQ_GSSAPI_PRINCIPAL_NAMETYPE", ZMQ_GSSAPI_PRINCIPAL_NAMETYPE, V_INT,
         ZMQ_GSSAPI_NT_USER_NAME, NULL, ZMQ_DEALER, ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_GSSAPI_SERVICE_PRINCIPAL_NAMETYPE", ZMQ_GSSAPI_SERVICE_PRINCIPAL_NAMETYPE,
         V_INT, ZMQ_GSSAPI_NT_USER_NAME, NULL, ZMQ_DEALER, ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_BINDTODEVICE", ZMQ_BINDTODEVICE, V_STR, 0, "lo", ZMQ_ROUTER, ZMQ_DEALER, B,
         F_TCP, check_device),
    SOCK("ZMQ_ZAP_ENFORCE_DOMAIN", OPT_ZAP_ENFORCE_DOMAIN, V_INT, 1, NULL, ZMQ_ROUTER,
         ZMQ_DEALER, B, F_ZAP | F_ZAPDOM, NULL),
    SOCK("ZMQ_LOOPBACK_FASTPATH", OPT_LOOPBACK_FASTPATH, V_INT, 1, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_METADATA", OPT_METADATA, V_STR, 0, "X-color:blue", ZMQ_DEALER, ZMQ_ROUTER,
         C, 0, NULL),
    SOCK("ZMQ_MULTICAST_LOOP", OPT_MULTICAST_LOOP, V_INT, 1, NULL, ZMQ_PUSH, ZMQ_PULL, C,
         0, NULL),
    SOCK("ZMQ_ROUTER_NOTIFY", OPT_ROUTER_NOTIFY, V_INT, 3, NULL, ZMQ_ROUTER, ZMQ_DEALER,
         B, 0, NULL),
    SOCK("ZMQ_XPUB_MANUAL_LAST_VALUE", OPT_XPUB_MANUAL_LAST_VALUE, V_INT, 1, NULL,
         ZMQ_XPUB, ZMQ_SUB, B, F_MANUAL, NULL),
    SOCK("ZMQ_SOCKS_USERNAME", OPT_SOCKS_USERNAME, V_STR, 0, "user", ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_SOCKS_PASSWORD", OPT_SOCKS_PASSWORD, V_STR, 0, "secret", ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_IN_BATCH_SIZE", OPT_IN_BATCH_SIZE, V_INT, 8192, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_OUT_BATCH_SIZE", OPT_OUT_BATCH_SIZE, V_INT, 8192, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_WSS_KEY_PEM", OPT_WSS_KEY_PEM, V_STR, 0, "pem", ZMQ_DEALER, ZMQ_ROUTER, C,
         0, NULL),
    SOCK("ZMQ_WSS_CERT_PEM", OPT_WSS_CERT_PEM, V_STR, 0, "pem", ZMQ_DEALER, ZMQ_ROUTER, C,
         0, NULL),
    SOCK("ZMQ_WSS_TRUST_PEM", OPT_WSS_TRUST_PEM, V_STR, 0, "pem", ZMQ_DEALER, ZMQ_ROUTER,
         C, 0, NULL),
    SOCK("ZMQ_WSS_HOSTNAME", OPT_WSS_HOSTNAME, V_STR, 0, "localhost", ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_WSS_TRUST_SYSTEM", OPT_WSS_TRUST_SYSTEM, V_INT, 1, NULL, ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_ONLY_FIRST_SUBSCRIBE", OPT_ONLY_FIRST_SUBSCRIBE, V_INT, 1, NULL, ZMQ_XPUB,
         ZMQ_SUB, B, 0, NULL),
    SOCK("ZMQ_RECONNECT_STOP", OPT_RECONNECT_STOP, V_INT, 1, NULL, ZMQ_DEALER, ZMQ_ROUTER,
         C, 0, NULL),
    SOCK("ZMQ_HELLO_MSG", OPT_HELLO_MSG, V_STR, 0, "hello", ZMQ_DEALER, ZMQ_ROUTER, C, 0,
         NULL),
    SOCK("ZMQ_DISCONNECT_MSG", OPT_DISCONNECT_MSG, V_STR, 0, "bye", ZMQ_DEALER,
         ZMQ_ROUTER, C, 0, NULL),
    SOCK("ZMQ_PRIORITY", OPT_PRIORITY, V_INT, 1, NULL, ZMQ_DEALER, ZMQ_ROUTER, C, 0,
         NULL),
    SOCK("ZMQ_SRCFD", 0, V_NONE, 0, NULL, ZMQ_PULL, ZMQ_PUSH, B, 0, NULL),

    CTX("ZMQ_IO_THREADS", ZMQ_IO_THREADS, V_INT, 2, 0, NULL),
    CTX("ZMQ_MAX_SOCKETS", ZMQ_MAX_SOCKETS, V_INT, 100, 0, check_ctx),
    CTX("ZMQ_SOCKET_LIMIT", ZMQ_SOCKET_LIMIT, V_GET, 0, 0, check_ctx),
    CTX("ZMQ_THREAD_PRIORITY", ZMQ_THREAD_PRIORITY, V_INT, 0, 0, NULL),
    CTX("ZMQ_THREAD_SCHED_POLICY", ZMQ_THREAD_SCHED_POLICY, V_INT, 0 /* SCHED_OTHER */, 0,
        NULL),
    CTX("ZMQ_MAX_MSGSZ", ZMQ_MAX_MSGSZ, V_INT, 100, F_TALKS, check_max_msgsz),
    CTX("ZMQ_MSG_T_SIZE", ZMQ_MSG_T_SIZE, V_GET, 0, 0, check_ctx),
    CTX("ZMQ_THREAD_AFFINITY_CPU_ADD", ZMQ_THREAD_AFFINITY_CPU_ADD, V_INT, 0, 0, NULL),
    CTX("ZMQ_THREAD_AFFINITY_CPU_REMOVE", ZMQ_THREAD_AFFINITY_CPU_REMOVE, V_INT, 0,
        F_CPUADD, NULL),
    CTX("ZMQ_THREAD_NAME_PREFIX", ZMQ_THREAD_NAME_PREFIX, V_INT, 7, 0, NULL),
    CTX("ZMQ_IPV6", ZMQ_IPV6, V_INT, 1, 0, check_ctx),
    CTX("ZMQ_BLOCKY", ZMQ_BLOCKY, V_INT, 0, 0, check_ctx),
    CTX("ZMQ_ZERO_COPY_RECV", OPT_CTX_ZERO_COPY_RECV, V_INT, 0, 0, NULL),
};

/* ------------------------------------------------------------------ */
/* Running a probe                                                      */

static int set_option(void *s, const probe_t *p)
{
    switch (p->vt) {
    case V_INT:
        return zmq_setsockopt(s, p->id, &p->ival, sizeof p->ival);
    case V_I64: {
        int64_t v = p->ival;
        return zmq_setsockopt(s, p->id, &v, sizeof v);
    }
    case V_U64: {
        uint64_t v = (uint64_t)p->ival;
        return zmq_setsockopt(s, p->id, &v, sizeof v);
    }
    case V_STR:
        return zmq_setsockopt(s, p->id, p->sval, strlen(p->sval));
    case V_KEY: {
        char pub[41], sec[41];
        CHECK_EQ(zmq_curve_keypair(pub, sec), 0);
        return zmq_setsockopt(s, p->id, p->id == ZMQ_CURVE_SECRETKEY ? sec : pub, 40);
    }
    case V_USEFD: {
        int fd = make_listener();
        return zmq_setsockopt(s, p->id, &fd, sizeof fd);
    }
    case V_GET:
    case V_NONE:
        return 0;
    }
    return -1;
}

/* A ZAP handler that admits every request. */
static void zap_admit(void *arg, void *rep)
{
    char f[8][512];
    int len[8] = {0}, n = 0, more = 1;
    while (more) {
        char buf[8192];
        int l = zmq_recv(rep, buf, sizeof buf, 0);
        CHECK(l >= 0);
        if (n < 8) {
            len[n] = l < (int)sizeof f[0] ? l : (int)sizeof f[0];
            memcpy(f[n], buf, (size_t)len[n]);
        }
        n++;
        more = tu_get_int(rep, ZMQ_RCVMORE);
    }
    CHECK(n >= 6);
    CHECK_EQ(zmq_send(rep, "1.0", 3, ZMQ_SNDMORE), 3);
    CHECK_EQ(zmq_send(rep, f[1], (size_t)len[1], ZMQ_SNDMORE), len[1]);
    CHECK_EQ(zmq_send(rep, "200", 3, ZMQ_SNDMORE), 3);
    CHECK_EQ(zmq_send(rep, "OK", 2, ZMQ_SNDMORE), 2);
    CHECK_EQ(zmq_send(rep, "", 0, ZMQ_SNDMORE), 0);
    CHECK_EQ(zmq_send(rep, "", 0, 0), 0);
}

static int is_pub(int t)
{
    return t == ZMQ_PUB || t == ZMQ_XPUB;
}

/* A publisher sends until its subscriber hears one message: subscriptions
 * travel asynchronously. A manual XPUB subscribes for its peer as it
 * learns of it. */
static void talk_pubsub(void *pub, void *sub, int manual)
{
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    while (tu_now_ms() < deadline) {
        zmq_pollitem_t it = {.socket = pub, .events = ZMQ_POLLIN};
        while (zmq_poll(&it, 1, 0) == 1) {
            char buf[256];
            int l = zmq_recv(pub, buf, sizeof buf, 0);
            CHECK(l >= 0);
            if (manual && l >= 1 && buf[0] == 1)
                CHECK_EQ(zmq_setsockopt(pub, ZMQ_SUBSCRIBE, buf + 1, (size_t)l - 1), 0);
        }
        zmq_send(pub, "ping", 4, ZMQ_DONTWAIT);
        if (tu_wait_readable(sub, CONF_PROBE_MS) == 0) {
            char buf[64];
            CHECK(tu_recv_str(sub, buf, sizeof buf, 0) >= 0);
            return;
        }
    }
    fprintf(stderr, "the subscriber heard nothing within %d ms\n", TU_TIMEOUT_MS);
    exit(1);
}

static int first_sender(int t)
{
    return t == ZMQ_REQ || t == ZMQ_DEALER || t == ZMQ_PAIR || t == ZMQ_PUSH;
}

/* The pair talks: one message each way where the types allow. */
static void talk(const probe_t *p, pair_t *x, int srv_type, int cli_type)
{
    if (is_pub(srv_type) || is_pub(cli_type)) {
        int srv_pub = is_pub(srv_type);
        talk_pubsub(srv_pub ? x->srv->sock : x->cli->sock,
                    srv_pub ? x->cli->sock : x->srv->sock, (p->flags & F_MANUAL) != 0);
        return;
    }
    void *a = first_sender(cli_type) ? x->cli->sock : x->srv->sock;
    void *b = a == x->cli->sock ? x->srv->sock : x->cli->sock;
    int ta = a == x->cli->sock ? cli_type : srv_type;
    if (ta == ZMQ_PUSH) {
        char buf[16];
        CHECK_EQ(tu_send_str(a, "ping", 0), 4);
        CHECK_EQ(tu_recv_str(b, buf, sizeof buf, TU_TIMEOUT_MS), 4);
        return;
    }
    CHECK_EQ(tu_roundtrip_str(a, b, "ping", TU_TIMEOUT_MS), 0);
}

static void check_refusal(void *s, const char *what, int rc, int err, const char *name)
{
    if (rc == 0 || errno != err) {
        fprintf(stderr, "%s: %s returned %d (%s), the table says %s\n", name, what, rc,
                rc == 0 ? "success" : zmq_strerror(errno), zmq_strerror(err));
        exit(1);
    }
}

/* refused (E, setsockopt) / (E, bind) / (E, connect) */
static void run_refused(const probe_t *p, const status_t *st)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    if (p->ctx) {
        CHECK(st->at_set && !st->at_bind && !st->at_connect);
        check_refusal(NULL, "zmq_ctx_set", zmq_ctx_set(ctx, p->id, p->ival), st->err,
                      p->name);
        CHECK_EQ(zmq_ctx_term(ctx), 0);
        return;
    }
    if (st->at_set) {
        void *s = tu_socket(ctx, p->type);
        check_refusal(s, "zmq_setsockopt", set_option(s, p), st->err, p->name);
        zmq_close(s);
    }
    for (int where = 0; where < 2; where++) {
        int bind = where == 0;
        if (!(bind ? st->at_bind : st->at_connect))
            continue;
        void *s = tu_socket(ctx, p->type);
        conf_creds(s, "tls", bind ? CONF_SERVER : CONF_CLIENT);
        CHECK_EQ(set_option(s, p), 0);
        const char *ep = bind ? "tls://127.0.0.1:*" : "tls://127.0.0.1:9";
        int rc = bind ? zmq_bind(s, ep) : zmq_connect(s, ep);
        check_refusal(s, bind ? "zmq_bind" : "zmq_connect", rc, st->err, p->name);
        if (strncmp(zmtls_last_error(), "zmtls: ", 7) != 0) {
            fprintf(stderr, "%s: no reason in zmtls_last_error()\n", p->name);
            exit(1);
        }
        /* The refusal is tls://'s: the same socket goes over tcp://. */
        rc =
            bind ? zmq_bind(s, "tcp://127.0.0.1:*") : zmq_connect(s, "tcp://127.0.0.1:9");
        if (rc != 0) {
            fprintf(stderr, "%s: tcp:// refuses it too: %s\n", p->name,
                    zmq_strerror(errno));
            exit(1);
        }
        zmq_close(s);
    }
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

/* honoured / not applicable, over tr */
static void run_accepted(const probe_t *p, const char *tr)
{
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    if (p->flags & F_CPUADD)
        CHECK_EQ(zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_ADD, 0), 0);
    if (p->ctx && p->vt == V_INT)
        CHECK_EQ(zmq_ctx_set(ctx, p->id, p->ival), 0);
    tu_zap_handler_t zap;
    if (p->flags & F_ZAP)
        tu_zap_handler_start(&zap, ctx, zap_admit, NULL);
    tu_peer_t opt, peer;
    conf_peer_open(&opt, "option", ctx, p->type, tr,
                   p->on_connect ? CONF_CLIENT : CONF_SERVER);
    conf_peer_open(&peer, "peer", ctx, p->peer, tr,
                   p->on_connect ? CONF_SERVER : CONF_CLIENT);
    pair_t x = {.tr = tr, .ctx = ctx, .opt = &opt, .peer = &peer};
    x.srv = p->on_connect ? &peer : &opt;
    x.cli = p->on_connect ? &opt : &peer;
    int srv_type = p->on_connect ? p->peer : p->type;
    int cli_type = p->on_connect ? p->type : p->peer;
    if (!p->ctx) {
        if (p->flags & F_KEEPON)
            tu_set_int(opt.sock, ZMQ_TCP_KEEPALIVE, 1);
        if (p->flags & F_ZAPDOM)
            tu_set_str(opt.sock, ZMQ_ZAP_DOMAIN, "global");
        if (set_option(opt.sock, p) != 0) {
            fprintf(stderr, "%s: zmq_setsockopt: %s\n", p->name, zmq_strerror(errno));
            exit(1);
        }
    }
    const char *topic = "";
    if (p->flags & F_INVERT) {
        tu_set_int(peer.sock, ZMQ_INVERT_MATCHING, 1);
        topic = "zz"; /* "ping" does not match: inverted, it is delivered */
    }
    if (cli_type == ZMQ_SUB)
        tu_set_str(x.cli->sock, ZMQ_SUBSCRIBE, topic);
    if (p->flags & F_STREAM) {
        /* The type never reaches tls://, so neither does the option. */
        CHECK_EQ(zmq_bind(opt.sock, "tls://127.0.0.1:*"), -1);
        CHECK_EQ(errno, ENOCOMPATPROTO);
    } else {
        conf_peer_bind(x.srv, tr);
        tu_peer_connect(x.cli, x.srv->endpoint);
    }
    if (!(p->flags & (F_NOTALK | F_STREAM))) {
        TU_PEER_EXPECT(x.cli, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
        TU_PEER_EXPECT(x.srv, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
        int fd = -1;
        CHECK_EQ(tu_events_nth(&opt.log,
                               p->on_connect ? ZMQ_EVENT_CONNECTED : ZMQ_EVENT_ACCEPTED,
                               0, &fd),
                 0);
        x.opt_fd = fd;
        if (p->check != NULL)
            p->check(p, &x);
        if (!(p->flags & (F_TALKS | F_PENDING)))
            talk(p, &x, srv_type, cli_type);
    }
    tu_peer_close(&peer);
    tu_peer_close(&opt);
    if (p->flags & F_ZAP)
        tu_zap_handler_stop(&zap);
    CHECK_EQ(zmq_ctx_term(ctx), 0);
}

static doc_row_t *doc_find(doc_t *d, const probe_t *p)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->row[i].ctx == p->ctx && strcmp(d->row[i].name, p->name) == 0)
            return &d->row[i];
    return NULL;
}

int main(int argc, char **argv)
{
    tu_watchdog(150);
    doc_t *d = calloc(1, sizeof *d);
    CHECK(d != NULL);
    doc_load(d);
    doc_check_counts(d);
    int missing = 0;
    size_t nprobes = sizeof probes / sizeof probes[0];
    for (size_t i = 0; i < nprobes; i++) {
        doc_row_t *r = doc_find(d, &probes[i]);
        if (r == NULL) {
            fprintf(stderr, "%s (%s option) is not in docs/zmq_tls.7.md\n",
                    probes[i].name, probes[i].ctx ? "context" : "socket");
            missing++;
        } else {
            r->used++;
        }
    }
    for (size_t i = 0; i < d->n; i++)
        if (d->row[i].used != 1) {
            fprintf(stderr, "%s (%s option): %s\n", d->row[i].name,
                    d->row[i].ctx ? "context" : "socket",
                    d->row[i].used ? "probed twice" : "in the table but never probed");
            missing++;
        }
    CHECK_EQ(missing, 0);

    const char *only = argc > 1 ? argv[1] : NULL;
    int counts[3] = {0};
    for (size_t i = 0; i < nprobes; i++) {
        const probe_t *p = &probes[i];
        if (only != NULL && strstr(p->name, only) == NULL)
            continue;
        const status_t *st = &doc_find(d, p)->st;
        int64_t t0 = tu_now_ms();
        if (st->kind == ST_REFUSED) {
            run_refused(p, st);
        } else {
            run_accepted(p, "tls");
            if (p->flags & F_TCP)
                run_accepted(p, "tcp");
        }
        counts[st->kind]++;
        printf("ok %-40s %-8s %s (%lld ms)\n", p->name, p->ctx ? "context" : "socket",
               st->kind == ST_HONOURED ? "honoured"
               : st->kind == ST_NA     ? "not applicable"
                                       : "refused",
               (long long)(tu_now_ms() - t0));
        fflush(stdout);
    }
    printf("%d honoured, %d refused, %d not applicable: as docs/zmq_tls.7.md says\n",
           counts[ST_HONOURED], counts[ST_REFUSED], counts[ST_NA]);
    free(d);
    return 0;
}

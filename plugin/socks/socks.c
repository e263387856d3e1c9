/*
 * The SOCKS5 exchange as a state machine (see socks.h): a table says what
 * each state sends and where that leads, or which handler judges what it
 * reads. socks_io() is the only part that touches a file descriptor.
 */
#include "socks/socks.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

static int socks_fail(socks_t *s, int err, const char *why)
{
    if (s->state != SOCKS_ST_FAILED)
        s->failed_in = s->state;
    s->state = SOCKS_ST_FAILED;
    s->err = -err;
    s->why = why;
    s->out_len = s->out_off = 0;
    return s->err;
}

/* Queues the message of a sending state; len is its encoder's result. */
static int socks_send(socks_t *s, socks_state_t st, int len)
{
    /* Every argument was checked by socks_init, and the buffer holds the
     * longest message: an encoder refusing now is a bug to surface. */
    if (len <= 0 || (size_t)len > sizeof(s->out))
        return socks_fail(s, EINVAL, "SOCKS5 message could not be encoded");
    s->state = st;
    s->out_len = (size_t)len;
    s->out_off = 0;
    return 0;
}

static int socks_request(socks_t *s)
{
    return socks_send(s, SOCKS_ST_REQUEST,
                      socks_request_encode(s->out, sizeof(s->out), &s->dest));
}

/* Handlers of the reading states: 0 while the message is incomplete (with
 * in_need updated) or once it led to the next state, else the error. */

static int socks_on_choice(socks_t *s)
{
    uint8_t method = 0;
    int rc = socks_choice_decode(s->in, s->in_len, &s->in_need, &method);
    if (rc == SOCKS_PARTIAL)
        return 0;
    if (rc < 0)
        return socks_fail(s, EPROTO, "proxy: not a SOCKS5 answer to the greeting");
    if (method == SOCKS_METHOD_REFUSED)
        return socks_fail(s, EACCES,
                          s->method == SOCKS_METHOD_USERPASS
                              ? "proxy: does not accept username/password authentication"
                              : "proxy: requires authentication (ZMQ_SOCKS_USERNAME)");
    if (method != s->method)
        return socks_fail(s, EPROTO, "proxy: chose a method that was not offered");
    if (method == SOCKS_METHOD_USERPASS)
        return socks_send(s, SOCKS_ST_AUTH,
                          socks_auth_encode(s->out, sizeof(s->out), s->user, s->user_len,
                                            s->pass, s->pass_len));
    return socks_request(s);
}

static int socks_on_auth_reply(socks_t *s)
{
    uint8_t status = 0;
    int rc = socks_auth_reply_decode(s->in, s->in_len, &s->in_need, &status);
    if (rc == SOCKS_PARTIAL)
        return 0;
    if (rc < 0)
        return socks_fail(s, EPROTO, "proxy: not an RFC 1929 answer to the credentials");
    if (status != 0)
        return socks_fail(s, EACCES, "proxy: username/password refused");
    return socks_request(s);
}

static int socks_on_reply(socks_t *s)
{
    socks_reply_t r;
    int rc = socks_reply_decode(s->in, s->in_len, &s->in_need, &r);
    if (rc < 0)
        return socks_fail(s, EPROTO, "proxy: malformed reply to CONNECT");
    /* A refusal is final: no need to wait for the address that follows it
     * (a proxy may close right after the code). */
    if (s->in_len >= 2 && s->in[1] != 0)
        return socks_fail(s, socks_reply_errno(s->in[1]), socks_reply_reason(s->in[1]));
    if (rc == SOCKS_PARTIAL)
        return 0;
    s->state = SOCKS_ST_DONE;
    return 0;
}

typedef struct socks_state_def {
    const char *name;
    socks_state_t after_send;    /* sending states: the state that reads the answer */
    int (*on_input)(socks_t *s); /* reading states */
} socks_state_def_t;

static const socks_state_def_t socks_states[SOCKS_ST_COUNT] = {
    [SOCKS_ST_GREETING] = {"greeting", SOCKS_ST_CHOICE, NULL},
    [SOCKS_ST_CHOICE] = {"choice", SOCKS_ST_COUNT, socks_on_choice},
    [SOCKS_ST_AUTH] = {"auth", SOCKS_ST_AUTH_REPLY, NULL},
    [SOCKS_ST_AUTH_REPLY] = {"auth-reply", SOCKS_ST_COUNT, socks_on_auth_reply},
    [SOCKS_ST_REQUEST] = {"request", SOCKS_ST_REPLY, NULL},
    [SOCKS_ST_REPLY] = {"reply", SOCKS_ST_COUNT, socks_on_reply},
    [SOCKS_ST_DONE] = {"done", SOCKS_ST_COUNT, NULL},
    [SOCKS_ST_FAILED] = {"failed", SOCKS_ST_COUNT, NULL},
};

const char *socks_state_name(socks_state_t st)
{
    return st < SOCKS_ST_COUNT ? socks_states[st].name : "?";
}

int socks_init(socks_t *s, const socks_dest_t *dest, const char *user, size_t user_len,
               const char *pass, size_t pass_len)
{
    memset(s, 0, sizeof(*s));
    uint8_t probe[SOCKS_OUT_MAX];
    if (dest == NULL || socks_request_encode(probe, sizeof(probe), dest) < 0)
        return -EINVAL;
    if (user_len > 0 &&
        socks_auth_encode(probe, sizeof(probe), user, user_len, pass, pass_len) < 0)
        return -EINVAL;
    s->dest = *dest;
    s->user = user;
    s->user_len = user_len;
    s->pass = pass;
    s->pass_len = pass_len;
    s->method = user_len > 0 ? SOCKS_METHOD_USERPASS : SOCKS_METHOD_NONE;
    return socks_send(s, SOCKS_ST_GREETING,
                      socks_greeting_encode(s->out, sizeof(s->out), s->method));
}

size_t socks_out(const socks_t *s, const uint8_t **data)
{
    *data = s->out + s->out_off;
    return s->out_len - s->out_off;
}

void socks_sent(socks_t *s, size_t n)
{
    size_t left = s->out_len - s->out_off;
    s->out_off += n < left ? n : left;
    if (s->out_off < s->out_len || s->state >= SOCKS_ST_DONE)
        return;
    const socks_state_def_t *def = &socks_states[s->state];
    if (def->after_send == SOCKS_ST_COUNT) {
        socks_fail(s, EINVAL, "SOCKS5 exchange sent in a reading state");
        return;
    }
    s->out_len = s->out_off = 0;
    s->state = def->after_send;
    s->in_len = 0;
    /* The decoder, given nothing, says how much the answer needs at least. */
    socks_states[s->state].on_input(s);
}

size_t socks_need(socks_t *s, uint8_t **room)
{
    *room = s->in + s->in_len;
    if (s->state >= SOCKS_ST_DONE || socks_states[s->state].on_input == NULL ||
        s->in_need <= s->in_len || s->in_need > sizeof(s->in))
        return 0;
    return s->in_need - s->in_len;
}

int socks_received(socks_t *s, size_t n)
{
    if (s->state >= SOCKS_ST_DONE)
        return s->err;
    if (socks_states[s->state].on_input == NULL || n > s->in_need - s->in_len)
        return socks_fail(s, EINVAL, "SOCKS5 exchange read out of turn");
    s->in_len += n;
    return socks_states[s->state].on_input(s);
}

socks_state_t socks_where(const socks_t *s)
{
    return s->state == SOCKS_ST_FAILED ? s->failed_in : s->state;
}

int socks_done(const socks_t *s)
{
    return s->state == SOCKS_ST_DONE;
}

int socks_error(const socks_t *s)
{
    return s->err;
}

const char *socks_reason(const socks_t *s)
{
    return s->why != NULL ? s->why : "";
}

int socks_io(socks_t *s, int fd)
{
    for (;;) {
        if (s->state == SOCKS_ST_DONE)
            return 0;
        if (s->state == SOCKS_ST_FAILED)
            return s->err;
        const uint8_t *out;
        size_t n = socks_out(s, &out);
        if (n > 0) {
            ssize_t w = send(fd, out, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return SOCKS_WANT_WRITE;
            if (w < 0)
                return socks_fail(s, errno,
                                  "proxy: connection lost during the SOCKS5 exchange");
            socks_sent(s, (size_t)w);
            continue;
        }
        uint8_t *room;
        n = socks_need(s, &room);
        if (n == 0)
            return socks_fail(s, EINVAL, "SOCKS5 exchange has nothing to send or read");
        ssize_t r = recv(fd, room, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return SOCKS_WANT_READ;
        if (r < 0)
            return socks_fail(s, errno,
                              "proxy: connection lost during the SOCKS5 exchange");
        if (r == 0)
            return socks_fail(s, ECONNRESET,
                              "proxy: closed the connection during the SOCKS5 exchange");
        int rc = socks_received(s, (size_t)r);
        if (rc < 0)
            return rc;
    }
}

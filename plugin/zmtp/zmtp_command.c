/*
 * ZMTP commands: the name/data split, the READY metadata list, and the
 * NULL-mechanism and 3.1 commands (READY, ERROR, PING, PONG, SUBSCRIBE,
 * CANCEL). Encoders produce whole frames so callers never hand-assemble a
 * header that disagrees with its body.
 */
#include "zmtp/zmtp.h"

#include <string.h>

#define NAME_READY       "READY"
#define NAME_ERROR       "ERROR"
#define NAME_PING        "PING"
#define NAME_PONG        "PONG"
#define NAME_SUBSCRIBE   "SUBSCRIBE"
#define NAME_CANCEL      "CANCEL"
#define PROP_SOCKET_TYPE "Socket-Type"
#define PROP_IDENTITY    "Identity"

#define PING_CONTEXT_MAX 16
#define IDENTITY_MAX     255
#define VALUE_LEN_MAX    UINT32_C(0x7FFFFFFF)

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
           (uint32_t)p[3];
}

static uint8_t *put_bytes(uint8_t *p, const void *src, size_t n)
{
    /* memcpy with a NULL source is undefined even for n == 0. memmove so a
     * PONG can be built over the receive buffer holding its PING. */
    if (n > 0)
        memmove(p, src, n);
    return p + n;
}

static uint8_t *put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

static uint8_t *put_short_string(uint8_t *p, const char *s, size_t n)
{
    *p++ = (uint8_t)n;
    return put_bytes(p, s, n);
}

static int is_alpha(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static uint8_t ascii_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c - 'A' + 'a') : c;
}

/* ---- generic command frames --------------------------------------------- */

int zmtp_command_parse(const uint8_t *body, size_t len, zmtp_command_t *out)
{
    if (len == 0 || body == NULL)
        return ZMTP_E_COMMAND;
    size_t name_len = body[0];
    if (name_len == 0 || name_len > len - 1)
        return ZMTP_E_COMMAND;
    for (size_t i = 0; i < name_len; i++)
        if (!is_alpha(body[1 + i]))
            return ZMTP_E_COMMAND;
    out->name = body + 1;
    out->name_len = name_len;
    out->data = body + 1 + name_len;
    out->data_len = len - 1 - name_len;
    return ZMTP_OK;
}

int zmtp_command_is(const zmtp_command_t *cmd, const char *name)
{
    if (cmd == NULL || name == NULL)
        return 0;
    size_t n = strlen(name);
    return n == cmd->name_len && (n == 0 || memcmp(cmd->name, name, n) == 0);
}

/* Frame length for a command with the given name and data length, or 0 when
 * it cannot be represented. */
static size_t command_frame_size(size_t name_len, size_t data_len)
{
    uint8_t scratch[ZMTP_FRAME_HEADER_MAX];
    if (data_len > SIZE_MAX - ZMTP_FRAME_HEADER_MAX - 1 - name_len)
        return 0;
    size_t body = 1 + name_len + data_len;
    size_t hdr = zmtp_frame_header_encode(scratch, ZMTP_FLAG_COMMAND, body);
    return hdr == 0 ? 0 : hdr + body;
}

/* Writes the frame header and the command name; returns where the data goes.
 * The caller has already checked `cap` against command_frame_size(). */
static uint8_t *put_command_start(uint8_t *out, const char *name, size_t name_len,
                                  size_t data_len)
{
    size_t hdr =
        zmtp_frame_header_encode(out, ZMTP_FLAG_COMMAND, 1 + name_len + data_len);
    return put_short_string(out + hdr, name, name_len);
}

/* ---- metadata ----------------------------------------------------------- */

int zmtp_property_next(const uint8_t *data, size_t len, size_t *pos, zmtp_property_t *out)
{
    if (pos == NULL)
        return ZMTP_E_METADATA;
    size_t p = *pos;
    if (p == len)
        return ZMTP_NEED_MORE;
    if (p > len || data == NULL)
        return ZMTP_E_METADATA;

    size_t rem = len - p;
    const uint8_t *q = data + p;
    size_t name_len = q[0];
    if (name_len == 0 || rem < 1 + name_len + 4)
        return ZMTP_E_METADATA;
    uint32_t value_len = get_be32(q + 1 + name_len);
    if (value_len > VALUE_LEN_MAX || value_len > rem - 1 - name_len - 4)
        return ZMTP_E_METADATA;

    out->name = q + 1;
    out->name_len = name_len;
    out->value = q + 1 + name_len + 4;
    out->value_len = value_len;
    *pos = p + 1 + name_len + 4 + value_len;
    return ZMTP_OK;
}

int zmtp_property_is(const zmtp_property_t *prop, const char *name)
{
    if (prop == NULL || name == NULL)
        return 0;
    size_t n = strlen(name);
    if (n != prop->name_len)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(prop->name[i]) != ascii_lower((uint8_t)name[i]))
            return 0;
    return 1;
}

/* ---- READY -------------------------------------------------------------- */

int zmtp_ready_parse(const uint8_t *data, size_t len, zmtp_ready_t *out)
{
    int socket_type = -1;
    int have_identity = 0;
    const uint8_t *identity = NULL;
    size_t identity_len = 0;
    size_t pos = 0;
    zmtp_property_t prop;
    int rc;

    while ((rc = zmtp_property_next(data, len, &pos, &prop)) == ZMTP_OK) {
        if (zmtp_property_is(&prop, PROP_SOCKET_TYPE)) {
            /* Two announcements leave the peer's type ambiguous; refusing is
             * safer than picking one. */
            if (socket_type != -1)
                return ZMTP_E_READY;
            socket_type = zmtp_socket_type_from_name(prop.value, prop.value_len);
            if (socket_type < 0)
                return ZMTP_E_SOCKET_TYPE;
        } else if (zmtp_property_is(&prop, PROP_IDENTITY)) {
            if (have_identity || prop.value_len > IDENTITY_MAX)
                return ZMTP_E_READY;
            have_identity = 1;
            /* An empty Identity means "none" to a ROUTER, so it is reported
             * as absent rather than as a zero-length routing id. */
            if (prop.value_len > 0) {
                identity = prop.value;
                identity_len = prop.value_len;
            }
        }
    }
    if (rc != ZMTP_NEED_MORE)
        return rc;
    if (socket_type == -1)
        return ZMTP_E_SOCKET_TYPE;

    out->socket_type = socket_type;
    out->identity = identity;
    out->identity_len = identity_len;
    return ZMTP_OK;
}

static size_t ready_data_size(const char *type_name, size_t identity_len)
{
    size_t n = 1 + strlen(PROP_SOCKET_TYPE) + 4 + strlen(type_name);
    if (identity_len > 0)
        n += 1 + strlen(PROP_IDENTITY) + 4 + identity_len;
    return n;
}

size_t zmtp_ready_size(int socket_type, size_t identity_len)
{
    const char *type_name = zmtp_socket_type_name(socket_type);
    if (type_name == NULL || identity_len > IDENTITY_MAX)
        return 0;
    return command_frame_size(strlen(NAME_READY),
                              ready_data_size(type_name, identity_len));
}

size_t zmtp_ready_encode(uint8_t *out, size_t cap, int socket_type,
                         const uint8_t *identity, size_t identity_len)
{
    size_t need = zmtp_ready_size(socket_type, identity_len);
    if (need == 0 || cap < need || out == NULL)
        return 0;
    if (identity_len > 0 && identity == NULL)
        return 0;

    const char *type_name = zmtp_socket_type_name(socket_type);
    size_t type_len = strlen(type_name);
    uint8_t *p = put_command_start(out, NAME_READY, strlen(NAME_READY),
                                   ready_data_size(type_name, identity_len));
    p = put_short_string(p, PROP_SOCKET_TYPE, strlen(PROP_SOCKET_TYPE));
    p = put_be32(p, (uint32_t)type_len);
    p = put_bytes(p, type_name, type_len);
    if (identity_len > 0) {
        p = put_short_string(p, PROP_IDENTITY, strlen(PROP_IDENTITY));
        p = put_be32(p, (uint32_t)identity_len);
        p = put_bytes(p, identity, identity_len);
    }
    return (size_t)(p - out);
}

/* ---- ERROR -------------------------------------------------------------- */

int zmtp_error_parse(const uint8_t *data, size_t len, const uint8_t **reason,
                     size_t *reason_len)
{
    if (len == 0 || data == NULL)
        return ZMTP_E_ERROR_CMD;
    if ((size_t)data[0] != len - 1)
        return ZMTP_E_ERROR_CMD;
    *reason = data + 1;
    *reason_len = data[0];
    return ZMTP_OK;
}

size_t zmtp_error_size(const char *reason)
{
    size_t reason_len = reason == NULL ? 0 : strlen(reason);
    if (reason_len > 255)
        return 0;
    return command_frame_size(strlen(NAME_ERROR), 1 + reason_len);
}

size_t zmtp_error_encode(uint8_t *out, size_t cap, const char *reason)
{
    if (reason == NULL)
        reason = "";
    size_t reason_len = strlen(reason);
    if (reason_len > 255)
        return 0;
    size_t need = command_frame_size(strlen(NAME_ERROR), 1 + reason_len);
    if (need == 0 || cap < need || out == NULL)
        return 0;
    uint8_t *p = put_command_start(out, NAME_ERROR, strlen(NAME_ERROR), 1 + reason_len);
    p = put_short_string(p, reason, reason_len);
    return (size_t)(p - out);
}

/* ---- PING / PONG -------------------------------------------------------- */

int zmtp_ping_parse(const uint8_t *data, size_t len, uint16_t *ttl_ds,
                    const uint8_t **context, size_t *context_len)
{
    if (len < 2 || data == NULL || len - 2 > PING_CONTEXT_MAX)
        return ZMTP_E_PING;
    *ttl_ds = (uint16_t)((data[0] << 8) | data[1]);
    *context = data + 2;
    *context_len = len - 2;
    return ZMTP_OK;
}

int zmtp_pong_parse(const uint8_t *data, size_t len, const uint8_t **context,
                    size_t *context_len)
{
    if (len > PING_CONTEXT_MAX || (len > 0 && data == NULL))
        return ZMTP_E_PING;
    *context = data;
    *context_len = len;
    return ZMTP_OK;
}

size_t zmtp_ping_size(size_t context_len)
{
    if (context_len > PING_CONTEXT_MAX)
        return 0;
    return command_frame_size(strlen(NAME_PING), 2 + context_len);
}

size_t zmtp_pong_size(size_t context_len)
{
    if (context_len > PING_CONTEXT_MAX)
        return 0;
    return command_frame_size(strlen(NAME_PONG), context_len);
}

size_t zmtp_ping_encode(uint8_t *out, size_t cap, uint16_t ttl_ds, const uint8_t *context,
                        size_t context_len)
{
    if (context_len > PING_CONTEXT_MAX || (context_len > 0 && context == NULL))
        return 0;
    size_t need = command_frame_size(strlen(NAME_PING), 2 + context_len);
    if (need == 0 || cap < need || out == NULL)
        return 0;
    uint8_t *p = put_command_start(out, NAME_PING, strlen(NAME_PING), 2 + context_len);
    *p++ = (uint8_t)(ttl_ds >> 8);
    *p++ = (uint8_t)ttl_ds;
    p = put_bytes(p, context, context_len);
    return (size_t)(p - out);
}

size_t zmtp_pong_encode(uint8_t *out, size_t cap, const uint8_t *context,
                        size_t context_len)
{
    if (context_len > PING_CONTEXT_MAX || (context_len > 0 && context == NULL))
        return 0;
    size_t need = command_frame_size(strlen(NAME_PONG), context_len);
    if (need == 0 || cap < need || out == NULL)
        return 0;
    uint8_t *p = put_command_start(out, NAME_PONG, strlen(NAME_PONG), context_len);
    p = put_bytes(p, context, context_len);
    return (size_t)(p - out);
}

/* ---- SUBSCRIBE / CANCEL ------------------------------------------------- */

size_t zmtp_subscribe_size(int cancel, size_t topic_len)
{
    return command_frame_size(strlen(cancel ? NAME_CANCEL : NAME_SUBSCRIBE), topic_len);
}

size_t zmtp_subscribe_encode(uint8_t *out, size_t cap, int cancel, const uint8_t *topic,
                             size_t topic_len)
{
    const char *name = cancel ? NAME_CANCEL : NAME_SUBSCRIBE;
    size_t name_len = strlen(name);
    if (topic_len > 0 && topic == NULL)
        return 0;
    size_t need = command_frame_size(name_len, topic_len);
    if (need == 0 || cap < need || out == NULL)
        return 0;
    uint8_t *p = put_command_start(out, name, name_len, topic_len);
    p = put_bytes(p, topic, topic_len);
    return (size_t)(p - out);
}

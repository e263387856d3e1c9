/*
 * ZMTP 3.x wire codec (rfc 23/ZMTP 3.0, rfc 37/ZMTP 3.1), NULL mechanism.
 *
 * Pure bytes in / bytes out: no I/O, no allocation, no global state. Every
 * function is reentrant and may be called from any thread. Decoders never
 * read past the length they are given and never trust a length field before
 * checking it against the bytes present and the caller's limit.
 *
 * Return convention for decoders: ZMTP_OK (0), ZMTP_NEED_MORE (1, not an
 * error: call again with more bytes), or a negative ZMTP_E_* error.
 * Encoders return the number of bytes written, or 0 when `cap` is too small.
 */
#ifndef ZMTLS_ZMTP_H
#define ZMTLS_ZMTP_H

#include <stddef.h>
#include <stdint.h>

enum {
    ZMTP_OK = 0,
    ZMTP_NEED_MORE = 1,
};

/* Errors. zmtp_error_event_value() maps each to the libzmq
 * ZMQ_PROTOCOL_ERROR_ZMTP_* value used in HANDSHAKE_FAILED_PROTOCOL. */
enum {
    ZMTP_E_SIGNATURE = -1,   /* not a ZMTP greeting signature */
    ZMTP_E_VERSION = -2,     /* major version < 3 */
    ZMTP_E_MECHANISM = -3,   /* mechanism not NULL / malformed */
    ZMTP_E_FRAME = -4,       /* reserved flag bits, bad size */
    ZMTP_E_TOOBIG = -5,      /* frame larger than the caller's limit */
    ZMTP_E_COMMAND = -6,     /* malformed command frame */
    ZMTP_E_READY = -7,       /* malformed READY */
    ZMTP_E_METADATA = -8,    /* malformed property list */
    ZMTP_E_SOCKET_TYPE = -9, /* unknown or incompatible Socket-Type */
    ZMTP_E_UNEXPECTED = -10, /* command not valid here */
    ZMTP_E_ERROR_CMD = -11,  /* malformed ERROR */
    ZMTP_E_PING = -12,       /* malformed PING / PONG */
};

#define ZMTP_SIGNATURE_SIZE 10
#define ZMTP_GREETING_SIZE  64

/* Frame flag bits (rfc 23 §"Framing"). */
#define ZMTP_FLAG_MORE    0x01
#define ZMTP_FLAG_LONG    0x02
#define ZMTP_FLAG_COMMAND 0x04

#define ZMTP_FRAME_HEADER_MAX 9

/* ---- greeting ---------------------------------------------------------- */

typedef struct zmtp_greeting {
    uint8_t major;
    uint8_t minor;
    char mechanism[21]; /* NUL-terminated, trailing NULs stripped */
    int as_server;      /* the octet as received (0 or 1 from a conforming peer) */
} zmtp_greeting_t;

/* Writes the 64-byte greeting: signature, version 3.`minor`, the mechanism
 * name (<= 20 chars) NUL-padded, as-server, zero filler. Returns 64, or 0
 * when mechanism is longer than 20 characters (or NULL, empty, or holding a
 * character zmtp_greeting_decode would reject: only A-Z 0-9 - _ . +).
 * A non-zero as_server is written as 1. */
size_t zmtp_greeting_encode(uint8_t out[ZMTP_GREETING_SIZE], uint8_t minor,
                            const char *mechanism, int as_server);

/* Checks the first min(len, 10) bytes against the signature. ZMTP_OK when
 * len >= 10 and valid, ZMTP_NEED_MORE when the prefix is valid but short,
 * ZMTP_E_SIGNATURE otherwise. Lets a reader reject junk after one byte. */
int zmtp_signature_check(const uint8_t *buf, size_t len);

/* Decodes a whole greeting. ZMTP_NEED_MORE if len < 64 (after checking the
 * available prefix), ZMTP_E_SIGNATURE, ZMTP_E_VERSION (major < 3),
 * ZMTP_E_MECHANISM (non-printable or non-NUL-padded name). Does not require
 * the mechanism to be NULL: the caller checks. The name must be non-empty and
 * use rfc 23's mechanism-char set (A-Z 0-9 - _ . +). Padding, minor version,
 * as-server and filler are not validated (rfc 23: padding has no meaning,
 * later versions must be accepted). */
int zmtp_greeting_decode(const uint8_t *buf, size_t len, zmtp_greeting_t *out);

/* ---- frames ------------------------------------------------------------ */

typedef struct zmtp_frame_header {
    uint8_t flags;     /* MORE / COMMAND bits as received (LONG cleared) */
    uint64_t size;     /* body size in bytes */
    size_t header_len; /* 2 (short) or 9 (long) */
} zmtp_frame_header_t;

/* Decodes one frame header. ZMTP_NEED_MORE if the header is incomplete.
 * Errors: ZMTP_E_FRAME for reserved bits set (0xF8), a COMMAND with MORE,
 * or a long size with the top bit set; ZMTP_E_TOOBIG when size > max_size
 * (pass UINT64_MAX for no limit). Decided before any body byte is needed,
 * so the caller can refuse a frame before allocating for it. An incomplete
 * header already gets the error when its bytes so far rule out every
 * completion (bad flags, top size bit, or a size prefix above max_size);
 * otherwise NEED_MORE. A long form carrying a small size is accepted. */
int zmtp_frame_header_decode(const uint8_t *buf, size_t len, uint64_t max_size,
                             zmtp_frame_header_t *out);

/* Writes a header for a body of `size` bytes: short form up to 255, long
 * form above. `flags` may carry MORE and COMMAND. Returns 2 or 9; 0 (nothing
 * written) when the header would be invalid: flags other than MORE/COMMAND,
 * MORE with COMMAND, or size >= 2^63. */
size_t zmtp_frame_header_encode(uint8_t out[ZMTP_FRAME_HEADER_MAX], uint8_t flags,
                                uint64_t size);
/* The header length zmtp_frame_header_encode writes for `size`: 2 or 9; 0
 * for size >= 2^63. */
size_t zmtp_frame_header_size(uint64_t size);

/* ---- commands ---------------------------------------------------------- */

typedef struct zmtp_command {
    const uint8_t *name; /* points into the body */
    size_t name_len;
    const uint8_t *data; /* points into the body */
    size_t data_len;
} zmtp_command_t;

/* Splits a command frame body into name and data (rfc 37: name-len octet,
 * name of 1..255 chars, data). ZMTP_E_COMMAND if empty or truncated, or if
 * the name holds anything but ASCII letters (rfc 37 command-name-char). */
int zmtp_command_parse(const uint8_t *body, size_t len, zmtp_command_t *out);

/* 1 when the command's name equals `name` (case-sensitive), else 0. */
int zmtp_command_is(const zmtp_command_t *cmd, const char *name);

/* Metadata property iterator over READY data (rfc 37: name-len octet, name,
 * 4-octet big-endian value length, value). Set *pos = 0 first; returns
 * ZMTP_OK with the next property, ZMTP_NEED_MORE when the list is finished
 * (no more properties), ZMTP_E_METADATA when malformed. */
typedef struct zmtp_property {
    const uint8_t *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
} zmtp_property_t;
int zmtp_property_next(const uint8_t *data, size_t len, size_t *pos,
                       zmtp_property_t *out);

/* 1 when the property's name equals `name` ignoring ASCII case, else 0. */
int zmtp_property_is(const zmtp_property_t *prop, const char *name);

typedef struct zmtp_ready {
    int socket_type;         /* ZMQ_* socket type constant */
    const uint8_t *identity; /* NULL when absent or empty; points into data */
    size_t identity_len;
} zmtp_ready_t;

/* Parses READY command data (after the name). Socket-Type is required and
 * must be a known type (ZMTP_E_SOCKET_TYPE otherwise); Identity is optional
 * (<= 255 bytes); property names compare case-insensitively; unknown
 * properties are skipped. ZMTP_E_READY / ZMTP_E_METADATA when malformed.
 * Socket-Type values are case-sensitive ("DEALER"). A repeated Socket-Type
 * or Identity, or an Identity over 255 bytes, is ZMTP_E_READY; a broken
 * property list is ZMTP_E_METADATA. `out` is written only on ZMTP_OK. */
int zmtp_ready_parse(const uint8_t *data, size_t len, zmtp_ready_t *out);

/* Writes a complete READY command frame (header included) with Socket-Type
 * and, when identity_len > 0, Identity. Returns the frame length, or 0 if
 * `cap` is too small or the type is unknown. zmtp_ready_size() gives the
 * length needed. */
size_t zmtp_ready_encode(uint8_t *out, size_t cap, int socket_type,
                         const uint8_t *identity, size_t identity_len);
/* 0 for an unknown type or identity_len > 255 (both refused by the encoder). */
size_t zmtp_ready_size(int socket_type, size_t identity_len);

/* ERROR (rfc 37): reason-len octet then reason. The parser wants exactly
 * 1 + reason-len bytes (ZMTP_E_ERROR_CMD otherwise) and does not check the
 * reason's characters: sanitise before logging. The encoder writes a whole
 * frame; NULL means an empty reason; 0 when the reason exceeds 255 bytes. */
int zmtp_error_parse(const uint8_t *data, size_t len, const uint8_t **reason,
                     size_t *reason_len);
size_t zmtp_error_encode(uint8_t *out, size_t cap, const char *reason);
/* The frame length zmtp_error_encode writes; 0 when it would refuse. */
size_t zmtp_error_size(const char *reason);

/* PING: 2-octet big-endian TTL (tenths of a second) then up to 16 octets of
 * context. PONG: the context echoed. Encoders write whole frames and return
 * 0 for a context over 16 bytes; the PONG context may lie inside `out` (a
 * reply built over the PING it answers). Parsers return ZMTP_E_PING for a
 * short PING or a context over 16 bytes. */
int zmtp_ping_parse(const uint8_t *data, size_t len, uint16_t *ttl_ds,
                    const uint8_t **context, size_t *context_len);
int zmtp_pong_parse(const uint8_t *data, size_t len, const uint8_t **context,
                    size_t *context_len);
size_t zmtp_ping_encode(uint8_t *out, size_t cap, uint16_t ttl_ds, const uint8_t *context,
                        size_t context_len);
size_t zmtp_pong_encode(uint8_t *out, size_t cap, const uint8_t *context,
                        size_t context_len);
/* The frame lengths the encoders write; 0 for a context over 16 bytes. */
size_t zmtp_ping_size(size_t context_len);
size_t zmtp_pong_size(size_t context_len);

/* SUBSCRIBE / CANCEL (rfc 37): the data is the topic. Encoders write whole
 * frames. */
size_t zmtp_subscribe_encode(uint8_t *out, size_t cap, int cancel, const uint8_t *topic,
                             size_t topic_len);
/* The frame length zmtp_subscribe_encode writes: the long header form from
 * a body (name-len octet, name, topic) of 256 bytes, i.e. a SUBSCRIBE topic
 * of 246 bytes. 0 when it cannot be represented. */
size_t zmtp_subscribe_size(int cancel, size_t topic_len);

/* ---- socket types ------------------------------------------------------ */

/* "REQ", "ROUTER", ... for ZMQ_REQ, ZMQ_ROUTER, ...; NULL when unknown.
 * Known: the eleven stable libzmq 4.3 types that speak ZMTP (PAIR through
 * XSUB); ZMQ_STREAM and the draft types are unknown. */
const char *zmtp_socket_type_name(int type);

/* ZMQ_* constant for a Socket-Type property value, or -1. */
int zmtp_socket_type_from_name(const uint8_t *name, size_t len);

/* 1 when a socket of type `ours` may talk to a peer of type `theirs`
 * (rfc 37 / libzmq's pairing table), else 0. */
int zmtp_socket_types_compatible(int ours, int theirs);

/* ZMQ_PROTOCOL_ERROR_ZMTP_* value for a ZMTP_E_* error; _UNSPECIFIED for
 * greeting/framing errors and for anything that is not a ZMTP_E_* code. */
int zmtp_error_event_value(int err);

/* Short English description of a ZMTP_E_* error, for logs. */
const char *zmtp_strerror(int err);

#endif

/*
 * A bounded byte buffer: data, a read and a write cursor and a capacity in
 * one object. Bytes [rd, wr) are held; writers reserve room at the tail,
 * write into it and commit what they wrote; readers consume from the head.
 *
 *   reserve(n)  room for n more bytes, moving the held bytes to the front
 *               or growing (never past `limit`); fails, changing nothing
 *   commit(n)   n bytes written at the tail are now held; n must be between
 *               1 and the room: a 0 (an encoder's "does not fit") or more
 *               than the room fails, changing nothing
 *   consume(n)  the first n held bytes are done with
 *
 * so every write either fits or fails with an error code the caller must
 * handle: nothing is dropped quietly.
 *
 * Memory: none until the first reserve; buf_release gives it back while
 * nothing is held. Not thread-safe: a buffer belongs to its owner's thread.
 */
#ifndef ZMTLS_BUF_H
#define ZMTLS_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    uint8_t *data;
    size_t cap;   /* allocated */
    size_t limit; /* the most it may grow to */
    size_t rd;    /* first held byte */
    size_t wr;    /* one past the last held byte */
} buf_t;

/* An empty buffer that may grow to `limit` bytes; allocates nothing. */
void buf_init(buf_t *b, size_t limit);
/* Frees the memory; the buffer is empty and may be used again. */
void buf_fini(buf_t *b);
/* Frees the memory if nothing is held; 0, or -EBUSY. */
int buf_release(buf_t *b);

static inline size_t buf_len(const buf_t *b)
{
    return b->wr - b->rd;
}
/* NULL while nothing is allocated (no offset is added to a null pointer). */
static inline const uint8_t *buf_head(const buf_t *b)
{
    return b->data != NULL ? b->data + b->rd : NULL;
}
static inline uint8_t *buf_tail(buf_t *b)
{
    return b->data != NULL ? b->data + b->wr : NULL;
}
/* Room at the tail without moving or growing. */
static inline size_t buf_room(const buf_t *b)
{
    return b->cap - b->wr;
}

/* At least n bytes of room at the tail. 0, -ENOBUFS (held + n > limit) or
 * -ENOMEM. Growth doubles from 16 KiB (or the limit, if smaller), capped at
 * the limit. */
int buf_reserve(buf_t *b, size_t n);
/* Like buf_reserve, but growth is to exactly held + n bytes: for a buffer
 * whose size must follow what has arrived, never run ahead of it. */
int buf_reserve_exact(buf_t *b, size_t n);
/* Hands the memory over: returns it with the held bytes at its start
 * (*len of them; free() it), or NULL with *len 0 when nothing was
 * allocated. The buffer is left empty, with nothing allocated. */
uint8_t *buf_detach(buf_t *b, size_t *len);
/* Like buf_reserve, and returns where the n bytes go (NULL on failure, with
 * the error in *err when err is not NULL). */
uint8_t *buf_space(buf_t *b, size_t n, int *err);
/* 0, or -ENOSPC for n == 0 and -EOVERFLOW for n > buf_room. */
int buf_commit(buf_t *b, size_t n);
/* reserve + copy + commit; n == 0 is a no-op. */
int buf_put(buf_t *b, const void *p, size_t n);
/* Drops the first n held bytes (n <= buf_len); the cursors go back to 0 once
 * nothing is held. */
void buf_consume(buf_t *b, size_t n);
/* Moves the held bytes to the front, so that buf_room is the most there is
 * without growing. */
void buf_compact(buf_t *b);

#endif

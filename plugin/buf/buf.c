/* Bounded byte buffer: see buf.h. */
#include "buf/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The first allocation of a growing buffer. */
#define BUF_FIRST (16 * 1024)

void buf_init(buf_t *b, size_t limit)
{
    b->data = NULL;
    b->cap = 0;
    b->limit = limit;
    b->rd = b->wr = 0;
}

void buf_fini(buf_t *b)
{
    free(b->data);
    buf_init(b, b->limit);
}

int buf_release(buf_t *b)
{
    if (b->rd != b->wr)
        return -EBUSY;
    buf_fini(b);
    return 0;
}

void buf_compact(buf_t *b)
{
    if (b->rd == 0)
        return;
    memmove(b->data, b->data + b->rd, b->wr - b->rd);
    b->wr -= b->rd;
    b->rd = 0;
}

/* Grows to cap (> b->cap, <= limit); a failed realloc leaves the buffer as
 * it was. */
static int buf_grow(buf_t *b, size_t cap)
{
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    buf_compact(b);
    return 0;
}

/* 1: room already; 0: must grow; < 0: past the limit. Compacts when that
 * makes the room. */
static int buf_room_for(buf_t *b, size_t n)
{
    if (b->cap - b->wr >= n)
        return 1;
    size_t held = b->wr - b->rd;
    if (n > b->limit || held > b->limit - n)
        return -ENOBUFS;
    if (b->cap - held >= n) {
        buf_compact(b);
        return 1;
    }
    return 0;
}

int buf_reserve(buf_t *b, size_t n)
{
    int rc = buf_room_for(b, n);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    size_t held = b->wr - b->rd;
    size_t cap = b->cap ? b->cap : (BUF_FIRST < b->limit ? BUF_FIRST : b->limit);
    while (cap - held < n)
        cap = cap > b->limit / 2 ? b->limit : cap * 2;
    return buf_grow(b, cap);
}

int buf_reserve_exact(buf_t *b, size_t n)
{
    int rc = buf_room_for(b, n);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    return buf_grow(b, b->wr - b->rd + n);
}

uint8_t *buf_detach(buf_t *b, size_t *len)
{
    buf_compact(b);
    uint8_t *p = b->data;
    *len = b->wr;
    buf_init(b, b->limit);
    return p;
}

uint8_t *buf_space(buf_t *b, size_t n, int *err)
{
    int rc = buf_reserve(b, n);
    if (err != NULL)
        *err = rc;
    return rc == 0 ? buf_tail(b) : NULL;
}

int buf_commit(buf_t *b, size_t n)
{
    if (n == 0)
        return -ENOSPC;
    if (n > b->cap - b->wr)
        return -EOVERFLOW;
    b->wr += n;
    return 0;
}

int buf_put(buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    int rc = buf_reserve(b, n);
    if (rc != 0)
        return rc;
    memcpy(buf_tail(b), p, n);
    b->wr += n;
    return 0;
}

void buf_consume(buf_t *b, size_t n)
{
    b->rd += n < b->wr - b->rd ? n : b->wr - b->rd;
    if (b->rd == b->wr)
        b->rd = b->wr = 0;
}

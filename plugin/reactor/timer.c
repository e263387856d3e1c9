/*
 * Timers: a binary min-heap threaded through the timers themselves, so
 * starting and stopping never allocate. Node k (1-based, breadth-first) is
 * reached from the root by the bits of k below its top bit, 0 = left.
 */
#include "reactor/reactor_int.h"

#include <limits.h>

static int tm_less(const rx_timer_t *a, const rx_timer_t *b)
{
    if (a->due != b->due)
        return a->due < b->due;
    return a->seq < b->seq;
}

/* Node at 1-based position k (1 <= k <= heap_size + 1); for k = size + 1
 * the walk stops at the would-be parent and *parent_out gets it. */
static rx_timer_t *tm_walk(const rx_loop_t *loop, size_t k, rx_timer_t **parent_out)
{
    int top = 0;
    while ((k >> top) > 1)
        top++;

    rx_timer_t *parent = NULL;
    rx_timer_t *node = loop->heap_root;
    for (int bit = top - 1; bit >= 0 && node != NULL; bit--) {
        parent = node;
        node = ((k >> bit) & 1) ? node->right : node->left;
    }
    if (parent_out != NULL)
        *parent_out = parent;
    return node;
}

static void tm_replace_child(rx_loop_t *loop, rx_timer_t *parent, rx_timer_t *old,
                             rx_timer_t *new_child)
{
    if (parent == NULL)
        loop->heap_root = new_child;
    else if (parent->left == old)
        parent->left = new_child;
    else
        parent->right = new_child;
}

/* Exchanges a node with its child c by relinking; the timers are owned by
 * their users, so their contents cannot be moved. */
static void tm_swap_with_child(rx_loop_t *loop, rx_timer_t *p, rx_timer_t *c)
{
    rx_timer_t *c_left = c->left, *c_right = c->right;
    rx_timer_t *sibling;

    if (p->left == c) {
        sibling = p->right;
        c->left = p;
        c->right = sibling;
    } else {
        sibling = p->left;
        c->right = p;
        c->left = sibling;
    }
    if (sibling != NULL)
        sibling->parent = c;

    tm_replace_child(loop, p->parent, p, c);
    c->parent = p->parent;
    p->parent = c;

    p->left = c_left;
    p->right = c_right;
    if (c_left != NULL)
        c_left->parent = p;
    if (c_right != NULL)
        c_right->parent = p;
}

static void tm_sift_up(rx_loop_t *loop, rx_timer_t *t)
{
    while (t->parent != NULL && tm_less(t, t->parent))
        tm_swap_with_child(loop, t->parent, t);
}

static void tm_sift_down(rx_loop_t *loop, rx_timer_t *t)
{
    for (;;) {
        rx_timer_t *min = t;
        if (t->left != NULL && tm_less(t->left, min))
            min = t->left;
        if (t->right != NULL && tm_less(t->right, min))
            min = t->right;
        if (min == t)
            return;
        tm_swap_with_child(loop, t, min);
    }
}

static void tm_insert(rx_loop_t *loop, rx_timer_t *t)
{
    t->left = t->right = t->parent = NULL;
    rx_timer_t *parent;
    size_t k = loop->heap_size + 1;
    tm_walk(loop, k, &parent);
    loop->heap_size = k;
    if (parent == NULL) {
        loop->heap_root = t;
        return;
    }
    t->parent = parent;
    if (k & 1)
        parent->right = t;
    else
        parent->left = t;
    tm_sift_up(loop, t);
}

static void tm_remove(rx_loop_t *loop, rx_timer_t *t)
{
    rx_timer_t *last = tm_walk(loop, loop->heap_size, NULL);
    loop->heap_size--;

    /* Detach the last node first; if it is a child of t this already
     * clears the link that t would otherwise hand over to it. */
    tm_replace_child(loop, last->parent, last, NULL);

    if (last != t) {
        last->left = t->left;
        last->right = t->right;
        last->parent = t->parent;
        if (last->left != NULL)
            last->left->parent = last;
        if (last->right != NULL)
            last->right->parent = last;
        tm_replace_child(loop, t->parent, t, last);
        /* The moved node may belong above or below its new place. */
        tm_sift_down(loop, last);
        tm_sift_up(loop, last);
    }
    t->left = t->right = t->parent = NULL;
}

void rx_timer_init(rx_timer_t *t, rx_timer_cb cb, void *data)
{
    t->due = 0;
    t->seq = 0;
    t->left = t->right = t->parent = NULL;
    t->active = 0;
    t->cb = cb;
    t->data = data;
}

void rx_timer_start(rx_loop_t *loop, rx_timer_t *t, uint64_t ms)
{
    if (t->active)
        tm_remove(loop, t);
    t->due = ms > UINT64_MAX - loop->now ? UINT64_MAX : loop->now + ms;
    t->seq = loop->timer_seq++;
    t->active = 1;
    tm_insert(loop, t);
}

void rx_timer_stop(rx_loop_t *loop, rx_timer_t *t)
{
    if (!t->active)
        return;
    tm_remove(loop, t);
    t->active = 0;
}

void rxi_timers_run(rx_loop_t *loop)
{
    /* Timers started from here on get a seq at or above this bound and
     * wait for the next iteration; without it a callback restarting its
     * timer for 0 ms would keep this phase busy forever. Among timers due
     * by now, older ones sort first on ties, so stopping at the first new
     * one cannot skip an old one. */
    uint64_t seq_bound = loop->timer_seq;
    for (;;) {
        rx_timer_t *t = loop->heap_root;
        if (t == NULL || t->due > loop->now || t->seq >= seq_bound)
            return;
        tm_remove(loop, t);
        t->active = 0;
        t->cb(t);
    }
}

int rxi_timers_timeout(const rx_loop_t *loop)
{
    const rx_timer_t *t = loop->heap_root;
    if (t == NULL)
        return -1;
    /* Measured from the real time, not the cached one: the phases before
     * the wait may have taken a while. */
    uint64_t now = rx_clock_ms();
    if (t->due <= now)
        return 0;
    uint64_t left = t->due - now;
    return left > INT_MAX ? INT_MAX : (int)left;
}

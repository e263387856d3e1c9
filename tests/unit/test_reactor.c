/*
 * Reactor: timers, I/O watchers, posted work and the loop itself.
 *
 * Nothing sleeps: progress is driven by the loop. "Iterations" are counted
 * with a ticker, a 0 ms timer restarted from its own callback, which runs
 * exactly once per iteration. Every run has a watchdog timer that fails the
 * test after a few seconds, so a broken loop cannot hang.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "check.h"
#include "reactor/reactor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#define WATCHDOG_MS 10000

static void watchdog_cb(rx_timer_t *t)
{
    fprintf(stderr, "watchdog fired: %s\n", (const char *)t->data);
    exit(1);
}

static rx_loop_t *new_loop(void)
{
    rx_loop_t *loop = NULL;
    CHECK_EQ(rx_loop_new(&loop), 0);
    CHECK(loop != NULL);
    return loop;
}

static void run_loop(rx_loop_t *loop, const char *what)
{
    rx_timer_t wd;
    rx_timer_init(&wd, watchdog_cb, (void *)what);
    rx_timer_start(loop, &wd, WATCHDOG_MS);
    CHECK_EQ(rx_loop_run(loop), 0);
    rx_timer_stop(loop, &wd);
}

static void make_pipe(int fds[2])
{
    CHECK_EQ(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
}

static void put_byte(int fd)
{
    CHECK_EQ(write(fd, "x", 1), 1);
}

/* ---- ticker ------------------------------------------------------------ */

typedef struct ticker {
    rx_timer_t t;
    rx_loop_t *loop;
    int ticks;
    int stop_at;                        /* stop the loop at this tick */
    void (*hook)(struct ticker *, int); /* called every tick, optional */
    void *arg;
} ticker_t;

static void ticker_cb(rx_timer_t *t)
{
    ticker_t *tk = t->data;
    tk->ticks++;
    if (tk->hook)
        tk->hook(tk, tk->ticks);
    if (tk->ticks >= tk->stop_at)
        rx_loop_stop(tk->loop);
    else
        rx_timer_start(tk->loop, t, 0);
}

static void ticker_start(ticker_t *tk, rx_loop_t *loop, int stop_at)
{
    memset(tk, 0, sizeof *tk);
    tk->loop = loop;
    tk->stop_at = stop_at;
    rx_timer_init(&tk->t, ticker_cb, tk);
    rx_timer_start(loop, &tk->t, 0);
}

/* ---- timers ------------------------------------------------------------ */

typedef struct rec_timer {
    rx_timer_t t;
    rx_loop_t *loop;
    int id;
    int *order;
    int *norder;
    int stop_after; /* stop the loop when norder reaches this */
} rec_timer_t;

static void rec_cb(rx_timer_t *t)
{
    rec_timer_t *r = t->data;
    CHECK(!rx_timer_active(t));
    CHECK_INT(rx_now(r->loop), >=, t->due);
    r->order[(*r->norder)++] = r->id;
    if (*r->norder == r->stop_after)
        rx_loop_stop(r->loop);
}

/* Timers fire by due time; equal due times fire in start order. */
static void test_timer_order(void)
{
    rx_loop_t *loop = new_loop();
    const uint64_t ms[] = {30, 10, 20, 10, 0, 20, 0};
    const int expect[] = {4, 6, 1, 3, 2, 5, 0};
    enum { N = sizeof ms / sizeof ms[0] };
    rec_timer_t r[N];
    int order[N], norder = 0;
    for (int i = 0; i < N; i++) {
        r[i] = (rec_timer_t){
            .loop = loop, .id = i, .order = order, .norder = &norder, .stop_after = N};
        rx_timer_init(&r[i].t, rec_cb, &r[i]);
        rx_timer_start(loop, &r[i].t, ms[i]);
        CHECK(rx_timer_active(&r[i].t));
    }
    uint64_t t0 = rx_now(loop);
    run_loop(loop, "timer order");
    CHECK_EQ(norder, N);
    for (int i = 0; i < N; i++)
        CHECK_EQ(order[i], expect[i]);
    /* Never early: the 30 ms timer ran at least 30 ms after start. */
    CHECK_INT(rx_now(loop), >=, t0 + 30);

    /* Restarting an active timer moves it (and re-sequences it). */
    norder = 0;
    for (int i = 0; i < 3; i++) {
        r[i].stop_after = 3;
        rx_timer_start(loop, &r[i].t, 0);
    }
    rx_timer_start(loop, &r[0].t, 0); /* now after 1 and 2 */
    run_loop(loop, "timer restart order");
    CHECK_EQ(norder, 3);
    CHECK_EQ(order[0], 1);
    CHECK_EQ(order[1], 2);
    CHECK_EQ(order[2], 0);
    rx_loop_destroy(&loop);
    CHECK(loop == NULL);
}

/* Heap stress: many timers, some stopped or restarted before the run and
 * some stopped by other timers' callbacks; the ones that fire do so in
 * (due, seq) order, each once, and stopped ones never. */
enum { STRESS_N = 1500 };
typedef struct stress {
    rx_loop_t *loop;
    rx_timer_t t[STRESS_N];
    int fired[STRESS_N];
    int killed[STRESS_N];
    uint64_t last_due, last_seq;
    int nfired, remaining;
    uint32_t rng;
} stress_t;

static uint32_t stress_rand(stress_t *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 17;
    s->rng ^= s->rng << 5;
    return s->rng;
}

static void stress_cb(rx_timer_t *t)
{
    stress_t *s = t->data;
    int i = (int)(t - s->t);
    CHECK(!s->killed[i]);
    CHECK(!s->fired[i]);
    s->fired[i] = 1;
    s->nfired++;
    s->remaining--;
    if (s->nfired > 1)
        CHECK(t->due > s->last_due || (t->due == s->last_due && t->seq > s->last_seq));
    s->last_due = t->due;
    s->last_seq = t->seq;

    /* Every fifth callback stops some other still-pending timer. */
    if (s->nfired % 5 == 0) {
        int j = (int)(stress_rand(s) % STRESS_N);
        if (rx_timer_active(&s->t[j])) {
            rx_timer_stop(s->loop, &s->t[j]);
            CHECK(!rx_timer_active(&s->t[j]));
            s->killed[j] = 1;
            s->remaining--;
        }
    }
    if (s->remaining == 0)
        rx_loop_stop(s->loop);
}

static void test_timer_heap_stress(void)
{
    static stress_t s;
    memset(&s, 0, sizeof s);
    s.loop = new_loop();
    s.rng = 0x9e3779b9u;
    for (int i = 0; i < STRESS_N; i++) {
        rx_timer_init(&s.t[i], stress_cb, &s);
        rx_timer_start(s.loop, &s.t[i], stress_rand(&s) % 12);
    }
    s.remaining = STRESS_N;
    for (int i = 0; i < STRESS_N; i += 7) {
        rx_timer_stop(s.loop, &s.t[i]);
        rx_timer_stop(s.loop, &s.t[i]); /* twice: a no-op */
        s.killed[i] = 1;
        s.remaining--;
    }
    for (int i = 3; i < STRESS_N; i += 11)
        if (!s.killed[i])
            rx_timer_start(s.loop, &s.t[i], stress_rand(&s) % 12);

    run_loop(s.loop, "timer heap stress");
    CHECK_EQ(s.remaining, 0);
    for (int i = 0; i < STRESS_N; i++) {
        CHECK_EQ(s.fired[i] + s.killed[i], 1);
        CHECK(!rx_timer_active(&s.t[i]));
    }
    rx_loop_destroy(&s.loop);
}

typedef struct cb_timers {
    rx_loop_t *loop;
    rx_timer_t a, b, c, d;
    int na, nb, nc, nd;
} cb_timers_t;

static void cbt_a(rx_timer_t *t)
{
    cb_timers_t *x = t->data;
    x->na++;
    /* b is due in this same phase but was not run yet: stopping it wins. */
    rx_timer_stop(x->loop, &x->b);
    rx_timer_stop(x->loop, t); /* own timer, already inactive: no-op */
    if (x->na == 1)
        rx_timer_start(x->loop, t, 1);
}

static void cbt_b(rx_timer_t *t)
{
    cb_timers_t *x = t->data;
    x->nb++;
}

static void cbt_c(rx_timer_t *t)
{
    cb_timers_t *x = t->data;
    if (++x->nc < 4)
        rx_timer_start(x->loop, t, 2);
    else
        rx_timer_stop(x->loop, &x->d); /* d would fire much later */
}

static void cbt_d(rx_timer_t *t)
{
    cb_timers_t *x = t->data;
    x->nd++;
}

static void stop_when_done(ticker_t *tk, int tick)
{
    cb_timers_t *x = tk->arg;
    if (x->na == 2 && x->nc == 4)
        tk->stop_at = tick;
}

/* Stop and restart from inside callbacks. */
static void test_timer_callbacks(void)
{
    cb_timers_t x = {.loop = new_loop()};
    rx_timer_init(&x.a, cbt_a, &x);
    rx_timer_init(&x.b, cbt_b, &x);
    rx_timer_init(&x.c, cbt_c, &x);
    rx_timer_init(&x.d, cbt_d, &x);
    rx_timer_start(x.loop, &x.a, 0);
    rx_timer_start(x.loop, &x.b, 0);
    rx_timer_start(x.loop, &x.c, 0);
    rx_timer_start(x.loop, &x.d, 5000);
    ticker_t tk;
    ticker_start(&tk, x.loop, 1000000);
    tk.hook = stop_when_done;
    tk.arg = &x;
    run_loop(x.loop, "timer callbacks");
    CHECK_EQ(x.na, 2);
    CHECK_EQ(x.nb, 0);
    CHECK_EQ(x.nc, 4);
    CHECK_EQ(x.nd, 0);
    CHECK(!rx_timer_active(&x.a) && !rx_timer_active(&x.b));
    CHECK(!rx_timer_active(&x.c) && !rx_timer_active(&x.d));
    rx_loop_destroy(&x.loop);
}

/* A 0 ms timer restarted from its callback runs once per iteration, and
 * the other phases keep running meanwhile. Iterations are counted by a
 * work item that re-posts itself (work posted from work runs next
 * iteration). */
typedef struct zero {
    rx_loop_t *loop;
    rx_timer_t t;
    rx_work_t w;
    rx_io_t io;
    int iter;
    int last_iter_seen;
    int calls;
    int io_calls;
} zero_t;

static void zero_work(rx_work_t *w)
{
    zero_t *z = w->data;
    z->iter++;
    rx_post(z->loop, w);
}

static void zero_timer(rx_timer_t *t)
{
    zero_t *z = t->data;
    /* A second call within one iteration means the timer phase spins. */
    CHECK_INT(z->iter, >, z->last_iter_seen);
    z->last_iter_seen = z->iter;
    if (++z->calls == 200)
        rx_loop_stop(z->loop);
    else
        rx_timer_start(z->loop, t, 0);
}

static void zero_io(rx_io_t *io, unsigned revents)
{
    zero_t *z = io->data;
    CHECK_EQ(revents, RX_READ);
    z->io_calls++;
}

static void test_timer_zero_restart(void)
{
    zero_t z = {.loop = new_loop(), .last_iter_seen = -1};
    int fds[2];
    make_pipe(fds);
    put_byte(fds[1]);
    rx_io_init(&z.io, fds[0], 0, zero_io, &z);
    CHECK_EQ(rx_io_start(z.loop, &z.io, RX_READ), 0);
    rx_timer_init(&z.t, zero_timer, &z);
    rx_timer_start(z.loop, &z.t, 0);
    z.w = (rx_work_t){.cb = zero_work, .data = &z};
    rx_post(z.loop, &z.w);
    run_loop(z.loop, "zero ms restart");
    CHECK_EQ(z.calls, 200);
    /* One work run per iteration, including the last one (a stop ends the
     * loop after the iteration, not inside it); the level-triggered watcher
     * ran in each wait in between. */
    CHECK_EQ(z.iter, 200);
    CHECK_INT(z.io_calls, >=, 199);
    rx_io_close(z.loop, &z.io);
    close(fds[0]);
    close(fds[1]);
    rx_loop_destroy(&z.loop); /* the re-posted work item is dropped */
}

/* ---- I/O --------------------------------------------------------------- */

typedef struct iow {
    rx_loop_t *loop;
    rx_io_t io;
    int fd;
    int calls;
    unsigned last;
    int drain;  /* read everything on each call */
    int fill;   /* write until EAGAIN on each call */
    int closes; /* rx_io_close itself on call */
} iow_t;

static void iow_cb(rx_io_t *io, unsigned revents)
{
    iow_t *w = io->data;
    w->calls++;
    w->last = revents;
    char buf[4096];
    if (w->drain)
        while (read(w->fd, buf, sizeof buf) > 0)
            ;
    if (w->fill) {
        memset(buf, 'f', sizeof buf);
        while (write(w->fd, buf, sizeof buf) > 0)
            ;
    }
    if (w->closes)
        rx_io_close(w->loop, io);
}

static void iow_init(iow_t *w, rx_loop_t *loop, int fd, unsigned flags)
{
    memset(w, 0, sizeof *w);
    w->loop = loop;
    w->fd = fd;
    rx_io_init(&w->io, fd, flags, iow_cb, w);
}

/* Read readiness on a pipe: reported with RX_READ while data is there,
 * not once it is drained, again when more comes. */
static void io_read_hook(ticker_t *tk, int tick)
{
    iow_t *w = tk->arg;
    if (tick == 5) {
        CHECK_EQ(w->calls, 1);
        put_byte(((int *)(w + 1))[0]);
    }
}

static void test_io_read(void)
{
    rx_loop_t *loop = new_loop();
    int fds[2];
    make_pipe(fds);
    struct {
        iow_t w;
        int wfd;
    } s;
    iow_init(&s.w, loop, fds[0], 0);
    s.wfd = fds[1];
    s.w.drain = 1;
    CHECK_EQ(rx_io_start(loop, &s.w.io, RX_READ), 0);
    CHECK(s.w.io.registered);
    put_byte(fds[1]);

    ticker_t tk;
    ticker_start(&tk, loop, 10);
    tk.hook = io_read_hook;
    tk.arg = &s.w;
    run_loop(loop, "io read");
    CHECK_EQ(s.w.calls, 2);
    CHECK_EQ(s.w.last, RX_READ);

    /* Stopped: not reported even with data waiting. */
    CHECK_EQ(rx_io_stop(loop, &s.w.io, RX_READ), 0);
    put_byte(fds[1]);
    ticker_start(&tk, loop, 5);
    run_loop(loop, "io read stopped");
    CHECK_EQ(s.w.calls, 2);
    CHECK(!s.w.io.registered); /* nothing wanted: out of the epoll set */

    /* Started again: reported. */
    CHECK_EQ(rx_io_start(loop, &s.w.io, RX_READ), 0);
    ticker_start(&tk, loop, 5);
    run_loop(loop, "io read restarted");
    CHECK_EQ(s.w.calls, 3);

    rx_io_close(loop, &s.w.io);
    close(fds[0]);
    close(fds[1]);
    rx_loop_destroy(&loop);
}

/* Level-triggered (default) vs edge-triggered with an undrained pipe. */
static void io_edge_hook(ticker_t *tk, int tick)
{
    iow_t *w = tk->arg;
    if (tick == 10) {
        CHECK_EQ(w->calls, 1); /* one edge, however many iterations */
        put_byte(((int *)(w + 1))[0]);
    }
}

static void test_io_level_and_edge(void)
{
    rx_loop_t *loop = new_loop();
    int fds[2];
    make_pipe(fds);
    put_byte(fds[1]);
    ticker_t tk;

    struct {
        iow_t w;
        int wfd;
    } s;
    iow_init(&s.w, loop, fds[0], 0);
    CHECK_EQ(rx_io_start(loop, &s.w.io, RX_READ), 0);
    ticker_start(&tk, loop, 20);
    run_loop(loop, "io level");
    /* Every wait reports it; the ticker's last tick stops before the
     * 20th wait. */
    CHECK_INT(s.w.calls, >=, 19);
    rx_io_close(loop, &s.w.io);
    rx_io_close(loop, &s.w.io); /* twice: a no-op */

    iow_init(&s.w, loop, fds[0], RX_EDGE);
    s.wfd = fds[1];
    CHECK_EQ(rx_io_start(loop, &s.w.io, RX_READ), 0);
    ticker_start(&tk, loop, 20);
    tk.hook = io_edge_hook;
    tk.arg = &s.w;
    run_loop(loop, "io edge");
    CHECK_EQ(s.w.calls, 2);
    CHECK_EQ(s.w.last, RX_READ);

    rx_io_close(loop, &s.w.io);
    close(fds[0]);
    close(fds[1]);
    rx_loop_destroy(&loop);
}

/* Write readiness on a socketpair: reported while there is room, not once
 * the buffer is full, again after the peer drains it. */
typedef struct wr {
    iow_t w;
    int peer;
    int calls_when_full;
} wr_t;

static void io_write_hook(ticker_t *tk, int tick)
{
    wr_t *s = tk->arg;
    if (tick == 5) {
        CHECK_EQ(s->w.calls, 1);
        s->calls_when_full = s->w.calls;
        char buf[65536];
        while (read(s->peer, buf, sizeof buf) > 0)
            ;
        s->w.fill = 0;
    }
}

static void test_io_write(void)
{
    rx_loop_t *loop = new_loop();
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    wr_t s;
    iow_init(&s.w, loop, sv[0], 0);
    s.peer = sv[1];
    s.w.fill = 1;
    CHECK_EQ(rx_io_start(loop, &s.w.io, RX_WRITE), 0);
    ticker_t tk;
    ticker_start(&tk, loop, 10);
    tk.hook = io_write_hook;
    tk.arg = &s;
    run_loop(loop, "io write");
    CHECK_EQ(s.calls_when_full, 1);
    CHECK_INT(s.w.calls, >=, 2);
    CHECK_EQ(s.w.last, RX_WRITE);

    /* Read and write wanted, only write ready: only RX_WRITE reported. */
    CHECK_EQ(rx_io_start(loop, &s.w.io, RX_READ), 0);
    s.w.calls = 0;
    ticker_start(&tk, loop, 3);
    run_loop(loop, "io read+write");
    CHECK_INT(s.w.calls, >=, 1);
    CHECK_EQ(s.w.last, RX_WRITE);

    /* Both ready: both reported. */
    CHECK_EQ(write(sv[1], "y", 1), 1);
    ticker_start(&tk, loop, 3);
    run_loop(loop, "io read+write ready");
    CHECK_EQ(s.w.last, RX_READ | RX_WRITE);

    /* Stop write only: READ still reported, WRITE no longer. */
    CHECK_EQ(rx_io_stop(loop, &s.w.io, RX_WRITE), 0);
    ticker_start(&tk, loop, 3);
    run_loop(loop, "io read only");
    CHECK_EQ(s.w.last, RX_READ);
    CHECK_EQ(s.w.io.armed, RX_READ);

    rx_io_close(loop, &s.w.io);
    close(sv[0]);
    close(sv[1]);
    rx_loop_destroy(&loop);
}

/* Hang up is reported as RX_READ | RX_WRITE, even for a read-only
 * watcher, and closing the watcher from its own callback ends it. */
static void test_io_hangup(void)
{
    rx_loop_t *loop = new_loop();
    int fds[2];
    make_pipe(fds);
    iow_t w;
    iow_init(&w, loop, fds[0], 0);
    w.closes = 1;
    CHECK_EQ(rx_io_start(loop, &w.io, RX_READ), 0);
    close(fds[1]);
    ticker_t tk;
    ticker_start(&tk, loop, 5);
    run_loop(loop, "io hangup");
    CHECK_EQ(w.calls, 1);
    CHECK_EQ(w.last, RX_READ | RX_WRITE);
    CHECK(!w.io.registered);
    close(fds[0]);
    rx_loop_destroy(&loop);
}

/* Several watchers ready in the same batch; the first to run closes (and
 * frees) all the others, or stops them, or re-uses one for another fd.
 * None of them may be called afterwards in that batch. ASan catches any
 * access to the freed ones. */
enum { BATCH_N = 6 };
typedef struct batch {
    rx_loop_t *loop;
    struct bw {
        rx_io_t io;
        struct batch *b;
        int idx;
        int fds[2];
        int calls;
    } * w[BATCH_N];
    int calls;
    int mode; /* 0 close+free, 1 stop, 2 close and re-use */
    int spare[2];
} batch_t;

static void batch_cb(rx_io_t *io, unsigned revents)
{
    struct bw *me = io->data;
    batch_t *b = me->b;
    CHECK_EQ(revents, RX_READ);
    char c;
    CHECK_EQ(read(me->fds[0], &c, 1), 1);
    me->calls++;
    b->calls++;
    if (b->calls > 1)
        return;
    for (int i = 0; i < BATCH_N; i++) {
        struct bw *o = b->w[i];
        if (o == NULL || o == me)
            continue;
        if (b->mode == 0) {
            rx_io_close(b->loop, &o->io);
            close(o->fds[0]);
            close(o->fds[1]);
            free(o);
            b->w[i] = NULL;
        } else if (b->mode == 1) {
            CHECK_EQ(rx_io_stop(b->loop, &o->io, RX_READ), 0);
        } else {
            /* Same struct, a different (idle) fd: the old batch entry must
             * not reach it. */
            rx_io_close(b->loop, &o->io);
            close(o->fds[0]);
            close(o->fds[1]);
            make_pipe(o->fds);
            rx_io_init(&o->io, o->fds[0], 0, batch_cb, o);
            CHECK_EQ(rx_io_start(b->loop, &o->io, RX_READ), 0);
        }
    }
}

static void test_io_close_in_batch(void)
{
    for (int mode = 0; mode < 3; mode++) {
        batch_t b = {.loop = new_loop(), .mode = mode};
        for (int i = 0; i < BATCH_N; i++) {
            struct bw *w = calloc(1, sizeof *w);
            CHECK(w != NULL);
            w->b = &b;
            w->idx = i;
            make_pipe(w->fds);
            put_byte(w->fds[1]);
            rx_io_init(&w->io, w->fds[0], 0, batch_cb, w);
            CHECK_EQ(rx_io_start(b.loop, &w->io, RX_READ), 0);
            b.w[i] = w;
        }
        ticker_t tk;
        ticker_start(&tk, b.loop, 5);
        run_loop(b.loop, "close in batch");
        CHECK_EQ(b.calls, 1);
        for (int i = 0; i < BATCH_N; i++) {
            if (b.w[i] == NULL)
                continue;
            rx_io_close(b.loop, &b.w[i]->io);
            close(b.w[i]->fds[0]);
            close(b.w[i]->fds[1]);
            free(b.w[i]);
        }
        rx_loop_destroy(&b.loop);
    }
}

/* Partial and full stops of watchers later in the same batch: two
 * sockets readable and writable, one pipe hung up. Whichever callback runs
 * first stops WRITE on the sockets and everything on the pipe; later
 * callbacks in the batch see only what is still wanted. */
typedef struct pstop {
    rx_loop_t *loop;
    struct psw {
        rx_io_t io;
        struct pstop *p;
        int fd;
        int is_pipe;
        int calls;
        unsigned revents;
    } w[3];
    int calls;
    int first;
} pstop_t;

static void pstop_cb(rx_io_t *io, unsigned revents)
{
    struct psw *me = io->data;
    pstop_t *p = me->p;
    me->calls++;
    me->revents = revents;
    if (p->calls++ > 0)
        return;
    p->first = (int)(me - p->w);
    for (int i = 0; i < 3; i++) {
        if (&p->w[i] == me)
            continue;
        CHECK_EQ(rx_io_stop(p->loop, &p->w[i].io, p->w[i].is_pipe ? RX_READ : RX_WRITE),
                 0);
    }
}

static void test_io_stop_in_batch(void)
{
    pstop_t p = {.loop = new_loop()};
    int sv[2][2], pp[2];
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv[i]), 0);
        put_byte(sv[i][1]);
        p.w[i] = (struct psw){.p = &p, .fd = sv[i][0]};
    }
    make_pipe(pp);
    close(pp[1]);
    p.w[2] = (struct psw){.p = &p, .fd = pp[0], .is_pipe = 1};
    for (int i = 0; i < 3; i++) {
        rx_io_init(&p.w[i].io, p.w[i].fd, 0, pstop_cb, &p.w[i]);
        CHECK_EQ(rx_io_start(p.loop, &p.w[i].io,
                             p.w[i].is_pipe ? RX_READ : RX_READ | RX_WRITE),
                 0);
    }
    /* One iteration: the ticker stops the loop before its only wait. */
    ticker_t tk;
    ticker_start(&tk, p.loop, 1);
    run_loop(p.loop, "stop in batch");

    CHECK_EQ(p.w[p.first].calls, 1);
    CHECK_EQ(p.w[p.first].revents, RX_READ | RX_WRITE);
    for (int i = 0; i < 3; i++) {
        if (i == p.first)
            continue;
        if (p.w[i].is_pipe) {
            CHECK_EQ(p.w[i].calls, 0);
        } else {
            CHECK_EQ(p.w[i].calls, 1);
            CHECK_EQ(p.w[i].revents, RX_READ);
        }
    }
    for (int i = 0; i < 3; i++)
        rx_io_close(p.loop, &p.w[i].io);
    for (int i = 0; i < 2; i++) {
        close(sv[i][0]);
        close(sv[i][1]);
    }
    close(pp[0]);
    rx_loop_destroy(&p.loop);
}

/* rx_io_start reports what epoll refuses on first registration. */
static void test_io_start_errors(void)
{
    rx_loop_t *loop = new_loop();
    iow_t a, b;

    iow_init(&a, loop, -1, 0);
    CHECK_EQ(rx_io_start(loop, &a.io, RX_READ), -EINVAL);

    int fds[2];
    make_pipe(fds);
    iow_init(&a, loop, fds[0], 0);
    CHECK_EQ(rx_io_start(loop, &a.io, 0x80), -EINVAL);
    CHECK_EQ(rx_io_start(loop, &a.io, 0), 0);
    CHECK(!a.io.registered);

    /* Same fd in two watchers. */
    CHECK_EQ(rx_io_start(loop, &a.io, RX_READ), 0);
    iow_init(&b, loop, fds[0], 0);
    CHECK_EQ(rx_io_start(loop, &b.io, RX_READ), -EEXIST);
    CHECK_EQ(b.io.wanted, 0);
    CHECK(!b.io.registered);
    rx_io_close(loop, &b.io); /* never started: fine */
    rx_io_close(loop, &a.io);

    /* A closed fd number. */
    int dead = dup(fds[0]);
    CHECK(dead >= 0);
    close(dead);
    iow_init(&a, loop, dead, 0);
    CHECK_EQ(rx_io_start(loop, &a.io, RX_READ), -EBADF);

    /* A regular file: epoll cannot watch it. */
    char path[] = "/tmp/zmtls_reactor_XXXXXX";
    int ffd = mkstemp(path);
    CHECK(ffd >= 0);
    unlink(path);
    iow_init(&a, loop, ffd, 0);
    CHECK_EQ(rx_io_start(loop, &a.io, RX_READ), -EPERM);
    close(ffd);

    CHECK_EQ(rx_loop_run(NULL), -EINVAL);
    close(fds[0]);
    close(fds[1]);
    rx_loop_destroy(&loop);
}

/* A deferred change that epoll refuses is reported through the callback
 * as RX_READ | RX_WRITE. Provoked by closing the fd behind the loop's back
 * (which owners must not do). */
static void test_io_deferred_failure(void)
{
    rx_loop_t *loop = new_loop();
    int fds[2];
    make_pipe(fds);
    int fd2 = dup(fds[1]);
    CHECK(fd2 >= 0);
    iow_t w;
    iow_init(&w, loop, fd2, 0);
    w.closes = 1;
    CHECK_EQ(rx_io_start(loop, &w.io, RX_READ), 0);
    close(fd2);
    CHECK_EQ(rx_io_start(loop, &w.io, RX_WRITE), 0); /* applied later: fails */
    ticker_t tk;
    ticker_start(&tk, loop, 5);
    run_loop(loop, "deferred failure");
    CHECK_EQ(w.calls, 1);
    CHECK_EQ(w.last, RX_READ | RX_WRITE);
    close(fds[0]);
    close(fds[1]);
    rx_loop_destroy(&loop);
}

/* ---- posted work ------------------------------------------------------- */

enum { POST_THREADS = 4, POST_PER_THREAD = 1000 };

typedef struct item {
    rx_work_t w; /* first: the callback gets the item back by a cast */
    int tid, seq;
} item_t;

typedef struct posters {
    rx_loop_t *loop;
    item_t items[POST_THREADS][POST_PER_THREAD];
    int next[POST_THREADS];
    int ran[POST_THREADS][POST_PER_THREAD];
    int total;
} posters_t;

typedef struct poster_arg {
    posters_t *p;
    int tid;
} poster_arg_t;

static void item_cb(rx_work_t *w)
{
    item_t *it = (item_t *)w;
    posters_t *p = w->data;
    CHECK_EQ(it->seq, p->next[it->tid]);
    p->next[it->tid]++;
    CHECK_EQ(p->ran[it->tid][it->seq], 0);
    p->ran[it->tid][it->seq]++;
    if (++p->total == POST_THREADS * POST_PER_THREAD)
        rx_loop_stop(p->loop);
}

static void *poster_main(void *arg)
{
    poster_arg_t *a = arg;
    for (int i = 0; i < POST_PER_THREAD; i++) {
        item_t *it = &a->p->items[a->tid][i];
        it->w.cb = item_cb;
        it->w.data = a->p;
        it->tid = a->tid;
        it->seq = i;
        rx_post(a->p->loop, &it->w);
    }
    return NULL;
}

/* 4 threads x 1000 posts: each runs exactly once, in per-thread order, on
 * the loop thread, and the loop wakes for them from a blocking wait. */
static void test_post_threads(void)
{
    static posters_t p;
    memset(&p, 0, sizeof p);
    p.loop = new_loop();
    pthread_t th[POST_THREADS];
    poster_arg_t args[POST_THREADS];
    for (int i = 0; i < POST_THREADS; i++) {
        args[i] = (poster_arg_t){&p, i};
        CHECK_EQ(pthread_create(&th[i], NULL, poster_main, &args[i]), 0);
    }
    run_loop(p.loop, "post threads");
    for (int i = 0; i < POST_THREADS; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
    CHECK_EQ(p.total, POST_THREADS * POST_PER_THREAD);
    for (int t = 0; t < POST_THREADS; t++) {
        CHECK_EQ(p.next[t], POST_PER_THREAD);
        for (int i = 0; i < POST_PER_THREAD; i++)
            CHECK_EQ(p.ran[t][i], 1);
    }
    rx_loop_destroy(&p.loop);
}

/* Posting from the loop thread: FIFO, and work posted by work runs in the
 * next iteration rather than extending the current one. */
typedef struct chain {
    rx_loop_t *loop;
    rx_work_t w[4];
    int order[8], n;
    int tick_at[8];
    ticker_t tk;
} chain_t;

static void chain_cb(rx_work_t *w)
{
    chain_t *c = w->data;
    int idx = (int)(w - c->w);
    c->tick_at[c->n] = c->tk.ticks;
    c->order[c->n++] = idx;
    if (idx == 0)
        rx_post(c->loop, &c->w[3]);
    if (idx == 3)
        rx_loop_stop(c->loop);
}

static void test_post_order(void)
{
    static chain_t c;
    memset(&c, 0, sizeof c);
    c.loop = new_loop();
    for (int i = 0; i < 4; i++)
        c.w[i] = (rx_work_t){.cb = chain_cb, .data = &c};
    ticker_start(&c.tk, c.loop, 1000000);
    rx_post(c.loop, &c.w[0]);
    rx_post(c.loop, &c.w[1]);
    rx_post(c.loop, &c.w[2]);
    run_loop(c.loop, "post order");
    CHECK_EQ(c.n, 4);
    CHECK_EQ(c.order[0], 0);
    CHECK_EQ(c.order[1], 1);
    CHECK_EQ(c.order[2], 2);
    CHECK_EQ(c.order[3], 3);
    CHECK_EQ(c.tick_at[0], c.tick_at[2]);
    CHECK_EQ(c.tick_at[3], c.tick_at[2] + 1);
    rx_loop_destroy(&c.loop);
}

/* ---- loop -------------------------------------------------------------- */

typedef struct stopper {
    rx_loop_t *loop;
    int pipe[2];
    rx_timer_t t;
} stopper_t;

static void stopper_started(rx_timer_t *t)
{
    stopper_t *s = t->data;
    put_byte(s->pipe[1]);
}

static void *stopper_main(void *arg)
{
    stopper_t *s = arg;
    struct pollfd pfd = {.fd = s->pipe[0], .events = POLLIN};
    /* Wait (bounded) until the loop runs, then stop it from here. */
    CHECK_EQ(poll(&pfd, 1, WATCHDOG_MS), 1);
    rx_loop_stop(s->loop);
    return NULL;
}

/* rx_loop_stop from another thread ends a loop blocked in epoll_wait (the
 * only other timer is the watchdog, seconds away). */
static void test_stop_from_thread(void)
{
    stopper_t s = {.loop = new_loop()};
    make_pipe(s.pipe);
    rx_timer_init(&s.t, stopper_started, &s);
    rx_timer_start(s.loop, &s.t, 0);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, stopper_main, &s), 0);
    uint64_t t0 = rx_clock_ms();
    run_loop(s.loop, "stop from thread");
    CHECK_INT(rx_clock_ms() - t0, <, WATCHDOG_MS);
    CHECK_EQ(pthread_join(th, NULL), 0);
    close(s.pipe[0]);
    close(s.pipe[1]);
    rx_loop_destroy(&s.loop);
}

static int nested_rc = 1;
static void nested_cb(rx_timer_t *t)
{
    rx_loop_t *loop = t->data;
    nested_rc = rx_loop_run(loop);
}

/* A stop asked for before the run is kept: one non-blocking iteration. A
 * nested run is refused. */
static void test_stop_before_run(void)
{
    rx_loop_t *loop = new_loop();
    ticker_t tk;
    ticker_start(&tk, loop, 1000000);
    rx_timer_t nested;
    rx_timer_init(&nested, nested_cb, loop);
    rx_timer_start(loop, &nested, 0);
    rx_loop_stop(loop);
    run_loop(loop, "stop before run");
    CHECK_EQ(tk.ticks, 1);
    CHECK_EQ(nested_rc, -EBUSY);

    /* The stop was consumed: the next run goes on until stopped again. */
    tk.stop_at = 4;
    run_loop(loop, "run after stop");
    CHECK_EQ(tk.ticks, 4);
    rx_loop_destroy(&loop);
}

static void must_not_run(rx_work_t *w)
{
    (void)w;
    fprintf(stderr, "dropped work ran\n");
    exit(1);
}

/* Destroy drops posted work without calling it, and forgets watchers with
 * pending changes. */
static void test_destroy_pending(void)
{
    rx_loop_t *loop = new_loop();
    rx_work_t w[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (rx_work_t){.cb = must_not_run};
        rx_post(loop, &w[i]);
    }
    int fds[2];
    make_pipe(fds);
    iow_t io;
    iow_init(&io, loop, fds[0], 0);
    CHECK_EQ(rx_io_start(loop, &io.io, RX_READ), 0);
    CHECK_EQ(rx_io_start(loop, &io.io, RX_WRITE), 0); /* queued change */
    rx_timer_t t;
    rx_timer_init(&t, NULL, NULL);
    rx_timer_start(loop, &t, 1000);
    rx_loop_destroy(&loop);
    CHECK(loop == NULL);
    CHECK(io.io.change.next == NULL);
    rx_loop_destroy(&loop);
    rx_loop_destroy(NULL);

    /* Work posted from other threads, loop never run. */
    static posters_t p;
    memset(&p, 0, sizeof p);
    p.loop = new_loop();
    pthread_t th[POST_THREADS];
    poster_arg_t args[POST_THREADS];
    for (int i = 0; i < POST_THREADS; i++) {
        args[i] = (poster_arg_t){&p, i};
        CHECK_EQ(pthread_create(&th[i], NULL, poster_main, &args[i]), 0);
    }
    for (int i = 0; i < POST_THREADS; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
    rx_loop_destroy(&p.loop);
    CHECK_EQ(p.total, 0);
    close(fds[0]);
    close(fds[1]);
}

typedef struct late {
    rx_loop_t *loop;
    rx_work_t w[3];
    int ran[3];
} late_t;

/* w[0] stops the loop and posts w[1], which posts w[2]. */
static void late_cb(rx_work_t *w)
{
    late_t *l = w->data;
    int idx = (int)(w - l->w);
    l->ran[idx]++;
    if (idx == 0) {
        rx_loop_stop(l->loop);
        rx_post(l->loop, &l->w[1]);
    } else if (idx == 1) {
        rx_post(l->loop, &l->w[2]);
    }
}

/* Work posted once the loop stopped runs in rx_loop_run_posted, with what
 * it posts; an empty queue is a no-op. */
static void test_run_posted(void)
{
    static late_t l;
    memset(&l, 0, sizeof l);
    l.loop = new_loop();
    rx_loop_run_posted(l.loop);
    for (int i = 0; i < 3; i++)
        l.w[i] = (rx_work_t){.cb = late_cb, .data = &l};
    rx_post(l.loop, &l.w[0]);
    run_loop(l.loop, "run posted");
    CHECK_EQ(l.ran[0], 1);
    CHECK_EQ(l.ran[1], 0);
    rx_loop_run_posted(l.loop);
    CHECK_EQ(l.ran[1], 1);
    CHECK_EQ(l.ran[2], 1);
    rx_loop_run_posted(l.loop);
    CHECK_EQ(l.ran[2], 1);
    rx_loop_destroy(&l.loop);
}

static void test_clock(void)
{
    uint64_t a = rx_clock_ms();
    uint64_t b = rx_clock_ms();
    CHECK_INT(b, >=, a);
    CHECK_INT(a, >, 0);
    rx_loop_t *loop = new_loop();
    CHECK_INT(rx_now(loop), >=, a);
    CHECK_INT(rx_now(loop), <=, rx_clock_ms());
    rx_loop_destroy(&loop);
}

int main(void)
{
    test_clock();
    test_timer_order();
    test_timer_heap_stress();
    test_timer_callbacks();
    test_timer_zero_restart();
    test_io_read();
    test_io_level_and_edge();
    test_io_write();
    test_io_hangup();
    test_io_close_in_batch();
    test_io_stop_in_batch();
    test_io_start_errors();
    test_io_deferred_failure();
    test_post_threads();
    test_post_order();
    test_stop_from_thread();
    test_stop_before_run();
    test_destroy_pending();
    test_run_posted();
    puts("reactor: ok");
    return 0;
}

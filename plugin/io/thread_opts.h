/*
 * libzmq's ZMQ_THREAD_* context options, applied to zmtls's I/O thread.
 *
 * libzmq applies a context's ZMQ_THREAD_AFFINITY_CPU_ADD/REMOVE,
 * ZMQ_THREAD_SCHED_POLICY, ZMQ_THREAD_PRIORITY and ZMQ_THREAD_NAME_PREFIX to
 * its own I/O threads. zmtls runs one I/O thread per process for every
 * context, so it takes them from the context of the first tls:// endpoint
 * it serves after starting (it starts with the first tls:// endpoint and
 * stops when none is left). An application that sets them, sets them before
 * its first socket, as libzmq asks.
 *
 * Threading: io_thread_opts_set runs on application threads (under the shim's
 * registry lock); io_thread_opts_apply on the I/O thread, to itself.
 */
#ifndef ZMTLS_IO_THREAD_OPTS_H
#define ZMTLS_IO_THREAD_OPTS_H

#include <sched.h>

typedef struct thread_opts {
    int has_cpus;    /* 1 once an affinity option was set */
    cpu_set_t cpus;  /* ZMQ_THREAD_AFFINITY_CPU_ADD minus _REMOVE */
    int policy;      /* ZMQ_THREAD_SCHED_POLICY, -1: unchanged */
    int priority;    /* ZMQ_THREAD_PRIORITY, -1: unchanged */
    char prefix[16]; /* ZMQ_THREAD_NAME_PREFIX, "" when unset */
} io_thread_opts_t;

void io_thread_opts_init(io_thread_opts_t *o);

/* 1 when `option` is one of the ZMQ_THREAD_* options above. */
int io_thread_opts_is_option(int option);

/* Records one option libzmq has accepted (zmq_ctx_set returned 0). */
void io_thread_opts_set(io_thread_opts_t *o, int option, int value);

/* Applies `o` to the calling thread, as libzmq does to its I/O threads:
 * CPU affinity, scheduling policy and priority (for policies without
 * priorities, any priority asks for the lowest nice value), and with a
 * prefix the name "<prefix>/zmtls/IO" (the thread starts as "zmtls/IO").
 * Best effort: what the system refuses (an
 * unprivileged process asking for a real-time policy or a lower nice
 * value) is left as it was, where libzmq would abort. The name keeps the
 * prefix's first 6 characters (Linux allows 15 in all). */
void io_thread_opts_apply(const io_thread_opts_t *o);

#endif

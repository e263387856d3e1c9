/* ZMQ_THREAD_* context options for the I/O thread: see thread_opts.h. */
#include "io/thread_opts.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zmq.h>

void io_thread_opts_init(io_thread_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    CPU_ZERO(&o->cpus);
    o->policy = -1;
    o->priority = -1;
}

int io_thread_opts_is_option(int option)
{
    return option == ZMQ_THREAD_AFFINITY_CPU_ADD ||
           option == ZMQ_THREAD_AFFINITY_CPU_REMOVE ||
           option == ZMQ_THREAD_SCHED_POLICY || option == ZMQ_THREAD_PRIORITY ||
           option == ZMQ_THREAD_NAME_PREFIX;
}

void io_thread_opts_set(io_thread_opts_t *o, int option, int value)
{
    switch (option) {
    case ZMQ_THREAD_AFFINITY_CPU_ADD:
    case ZMQ_THREAD_AFFINITY_CPU_REMOVE:
        if (value < 0 || value >= CPU_SETSIZE)
            return;
        o->has_cpus = 1;
        if (option == ZMQ_THREAD_AFFINITY_CPU_ADD)
            CPU_SET(value, &o->cpus);
        else
            CPU_CLR(value, &o->cpus);
        break;
    case ZMQ_THREAD_SCHED_POLICY:
        o->policy = value;
        break;
    case ZMQ_THREAD_PRIORITY:
        o->priority = value;
        break;
    case ZMQ_THREAD_NAME_PREFIX:
        /* libzmq 4.3 takes the prefix as an int and prints it. */
        snprintf(o->prefix, sizeof(o->prefix), "%d", value);
        break;
    default:
        break;
    }
}

void io_thread_opts_apply(const io_thread_opts_t *o)
{
    pthread_t self = pthread_self();
    if (o->has_cpus && CPU_COUNT(&o->cpus) > 0)
        (void)pthread_setaffinity_np(self, sizeof(o->cpus), &o->cpus);
    if (o->policy >= 0 || o->priority >= 0) {
        int policy;
        struct sched_param sp;
        if (pthread_getschedparam(self, &policy, &sp) == 0) {
            if (o->policy >= 0)
                policy = o->policy;
            int rt = policy == SCHED_FIFO || policy == SCHED_RR;
            if (o->priority >= 0)
                sp.sched_priority = rt ? o->priority : 0;
            else if (!rt)
                sp.sched_priority = 0;
            (void)pthread_setschedparam(self, policy, &sp);
            /* libzmq: a priority with a policy that has none means "run
             * first": the lowest nice value, for this thread only. */
            if (!rt && o->priority >= 0)
                (void)setpriority(PRIO_PROCESS, (id_t)gettid(), -20);
        }
    }
    /* Without a prefix the thread keeps the name it started with. */
    if (o->prefix[0] != '\0') {
        char name[16]; /* Linux's limit, NUL included */
        snprintf(name, sizeof(name), "%.6s/zmtls/IO", o->prefix);
        pthread_setname_np(self, name);
    }
}

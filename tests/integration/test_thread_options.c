/*
 * libzmq's ZMQ_THREAD_* context options reach zmtls's I/O thread, as they
 * reach libzmq's own I/O threads: the context of the first tls:// endpoint
 * sets its CPU affinity, scheduling policy and name prefix; a later
 * context does not change them; once every context has ended, the next
 * thread starts from the defaults again.
 */
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "check.h"
#include "testutil.h"

typedef struct io_thread {
    int tid;
    char comm[32];
    char cpus[64]; /* Cpus_allowed_list */
    int policy;
} io_thread_t;

static int read_line(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    int ok = fgets(buf, (int)cap, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

static void thread_facts(int tid, io_thread_t *t)
{
    char path[96], line[512];
    t->tid = tid;
    snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    t->cpus[0] = '\0';
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
            snprintf(t->cpus, sizeof(t->cpus), "%s",
                     line + 18 + strspn(line + 18, " \t"));
            t->cpus[strcspn(t->cpus, "\n")] = '\0';
        }
    }
    fclose(f);
    /* stat: "tid (comm) state ..."; policy is field 41. */
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
    char stat[1024];
    CHECK_EQ(read_line(path, stat, sizeof(stat)), 0);
    char *p = strrchr(stat, ')');
    CHECK(p != NULL);
    p += 2;
    int field = 3;
    while (field < 41 && p != NULL) {
        p = strchr(p, ' ');
        if (p != NULL)
            p++;
        field++;
    }
    CHECK(p != NULL);
    t->policy = atoi(p);
}

/* The process's zmtls I/O thread (its name ends in "zmtls/IO"): 0 and its
 * facts, or -1 when there is none. */
static int find_io_thread(io_thread_t *t)
{
    DIR *d = opendir("/proc/self/task");
    CHECK(d != NULL);
    int found = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], comm[32];
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        if (read_line(path, comm, sizeof(comm)) != 0)
            continue;
        size_t n = strlen(comm);
        if (n >= 8 && strcmp(comm + n - 8, "zmtls/IO") == 0) {
            CHECK_EQ(found, -1); /* one per process */
            thread_facts(atoi(e->d_name), t);
            snprintf(t->comm, sizeof(t->comm), "%s", comm);
            found = 0;
        }
    }
    closedir(d);
    return found;
}

/* Whether the I/O thread is gone, within a deadline: a joined thread can
 * linger in /proc/self/task for a moment. */
static int io_thread_gone(void)
{
    int64_t deadline = tu_now_ms() + TU_TIMEOUT_MS;
    io_thread_t t;
    while (find_io_thread(&t) == 0) {
        if (tu_now_ms() > deadline)
            return 0;
        sched_yield();
    }
    return 1;
}

/* A tls:// REP bound on ctx; returns once zmtls's I/O thread has started
 * serving it (LISTENING). */
static void *bind_server(void *ctx)
{
    void *s = tu_socket(ctx, ZMQ_REP);
    tu_set_creds(s, "server.pem", "server.key", "ca.pem");
    void *mon = tu_monitor(ctx, s, ZMQ_EVENT_LISTENING);
    char ep[TU_EP_MAX];
    tu_bind_ephemeral(s, "tls://127.0.0.1:*", ep);
    CHECK_EQ(tu_expect_event(mon, NULL, ZMQ_EVENT_LISTENING, TU_TIMEOUT_MS, NULL), 0);
    CHECK_EQ(zmq_close(mon), 0);
    return s;
}

int main(void)
{
    tu_watchdog(TU_WATCHDOG_S);
    io_thread_t t;
    CHECK_EQ(find_io_thread(&t), -1); /* nothing started yet */

    /* The first CPU this process may use (not necessarily CPU 0). */
    cpu_set_t allowed;
    CHECK_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
    int cpu = 0;
    while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &allowed))
        cpu++;
    CHECK(cpu < CPU_SETSIZE);
    char cpu_list[16];
    snprintf(cpu_list, sizeof(cpu_list), "%d", cpu);

    void *a = zmq_ctx_new();
    CHECK(a != NULL);
    CHECK_EQ(zmq_ctx_set(a, ZMQ_THREAD_AFFINITY_CPU_ADD, cpu), 0);
    CHECK_EQ(zmq_ctx_set(a, ZMQ_THREAD_NAME_PREFIX, 42), 0);
    CHECK_EQ(zmq_ctx_set(a, ZMQ_THREAD_SCHED_POLICY, SCHED_BATCH), 0);
    void *sa = bind_server(a);
    CHECK_EQ(find_io_thread(&t), 0);
    printf("first context: thread %d \"%s\", CPUs %s, policy %d\n", t.tid, t.comm, t.cpus,
           t.policy);
    CHECK_STR(t.comm, "42/zmtls/IO");
    CHECK_STR(t.cpus, cpu_list);
    CHECK_EQ(t.policy, SCHED_BATCH);

    /* Another context with other wishes: the running thread keeps its own. */
    void *b = zmq_ctx_new();
    CHECK(b != NULL);
    CHECK_EQ(zmq_ctx_set(b, ZMQ_THREAD_NAME_PREFIX, 7), 0);
    void *sb = bind_server(b);
    io_thread_t t2;
    CHECK_EQ(find_io_thread(&t2), 0);
    CHECK_EQ(t2.tid, t.tid);
    CHECK_STR(t2.comm, "42/zmtls/IO");

    CHECK_EQ(zmq_close(sa), 0);
    CHECK_EQ(zmq_close(sb), 0);
    CHECK_EQ(zmq_ctx_term(a), 0);
    CHECK_EQ(zmq_ctx_term(b), 0);
    CHECK(io_thread_gone()); /* stopped with the last context */

    /* A fresh thread for a context that set nothing: the defaults. */
    void *c = zmq_ctx_new();
    CHECK(c != NULL);
    void *sc = bind_server(c);
    CHECK_EQ(find_io_thread(&t2), 0);
    printf("later context: thread %d \"%s\", CPUs %s, policy %d\n", t2.tid, t2.comm,
           t2.cpus, t2.policy);
    CHECK_STR(t2.comm, "zmtls/IO");
    CHECK_EQ(t2.policy, SCHED_OTHER);
    CHECK_EQ(zmq_close(sc), 0);
    CHECK_EQ(zmq_ctx_term(c), 0);
    return 0;
}

/*
 * Child processes and their line protocol on stdin/stdout.
 *
 * A registry of the running children serves the ways out: atexit, and a
 * fatal signal, whose handler may only use reg_pid (sig_atomic_t) and
 * async-signal-safe calls.
 */
#include "common/tool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

extern char **environ;

static tool_child_t *reg[TOOL_CHILD_MAX];
static volatile sig_atomic_t reg_pid[TOOL_CHILD_MAX];

static void reg_add(tool_child_t *c)
{
    for (int i = 0; i < TOOL_CHILD_MAX; i++) {
        if (reg[i] == NULL) {
            reg[i] = c;
            reg_pid[i] = c->pid;
            return;
        }
    }
}

static void reg_del(tool_child_t *c)
{
    for (int i = 0; i < TOOL_CHILD_MAX; i++) {
        if (reg[i] == c) {
            reg[i] = NULL;
            reg_pid[i] = 0;
        }
    }
}

static void close_fds(tool_child_t *c)
{
    int *fds[3] = {&c->in, &c->out, &c->pidfd};
    for (int i = 0; i < 3; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

static int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 255;
}

static void reaped(tool_child_t *c, int status)
{
    c->status = status;
    c->pid = 0;
    close_fds(c);
    reg_del(c);
}

/* Our environment with env's entries added, env first and shadowing ours:
 * built before fork, as the child of a threaded process may only call
 * async-signal-safe functions. The strings stay theirs. */
static char **env_merge(char *const env[])
{
    size_t nenv = 0, nextra = 0;
    while (environ[nenv] != NULL)
        nenv++;
    while (env != NULL && env[nextra] != NULL)
        nextra++;
    char **envp = calloc(nenv + nextra + 1, sizeof(*envp));
    if (envp == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < nextra; i++)
        envp[k++] = env[i];
    for (size_t i = 0; i < nenv; i++) {
        size_t klen = strcspn(environ[i], "=");
        int shadowed = 0;
        for (size_t j = 0; j < nextra && !shadowed; j++)
            shadowed = strncmp(env[j], environ[i], klen + 1) == 0;
        if (!shadowed)
            envp[k++] = environ[i];
    }
    return envp;
}

int tool_child_spawn(tool_child_t *c, const char *name, char *const argv[],
                     char *const env[], int cpu, unsigned flags)
{
    memset(c, 0, sizeof(*c));
    tool_fmt(c->name, sizeof(c->name), "%s", name);
    c->in = c->out = c->pidfd = -1;
    c->status = -1;
    int capture = !(flags & TOOL_CHILD_STDOUT_NULL);
    char **envp = env_merge(env);
    if (envp == NULL)
        return -ENOMEM;
    int in[2] = {-1, -1}, out[2] = {-1, -1}, devnull = -1;
    pid_t parent = getpid();
    pid_t pid = -1;
    if (pipe2(in, O_CLOEXEC) == 0 &&
        (capture ? pipe2(out, O_CLOEXEC) == 0
                 : (devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0))
        pid = fork();
    if (pid < 0) {
        int err = errno;
        int fds[5] = {devnull, in[0], in[1], out[0], out[1]};
        for (int i = 0; i < 5; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        free(envp);
        return -err;
    }
    if (pid == 0) {
        /* Own group, so one kill reaches whatever it starts; dies with us
         * even if we are SIGKILLed (and if we already were, goes now). */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (tool_pin(cpu) != 0 && (flags & TOOL_CHILD_PIN_OR_FAIL))
            _exit(126);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGALRM, SIG_DFL);
        dup2(in[0], 0);
        dup2(capture ? out[1] : devnull, 1);
        close_range(3, ~0u, 0);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    free(envp);
    /* Also here, so that a kill of the group cannot race the child's own
     * setpgid. */
    setpgid(pid, pid);
    close(in[0]);
    c->in = in[1];
    if (capture) {
        close(out[1]);
        c->out = out[0];
        fcntl(c->out, F_SETFL, O_NONBLOCK);
    } else {
        close(devnull);
    }
    c->pid = pid;
    c->pidfd = pidfd_open(pid, 0);
    reg_add(c);
    return 0;
}

int tool_child_line(tool_child_t *c, char *line, size_t cap, int timeout_ms)
{
    int64_t deadline = tool_now_ms() + timeout_ms;
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl != NULL || c->len == sizeof(c->buf)) {
            size_t n = nl != NULL ? (size_t)(nl - c->buf) : c->len;
            size_t k = n < cap - 1 ? n : cap - 1;
            memcpy(line, c->buf, k);
            line[k] = '\0';
            size_t used = nl != NULL ? n + 1 : n;
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            return 0;
        }
        if (c->out < 0)
            return -2;
        int64_t left = deadline - tool_now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {c->out, POLLIN, 0};
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        ssize_t n = read(c->out, c->buf + c->len, sizeof(c->buf) - c->len);
        if (n > 0)
            c->len += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            close(c->out);
            c->out = -1;
        }
    }
}

void tool_child_say(tool_child_t *c, const char *line)
{
    if (c->in < 0)
        return;
    size_t n = strlen(line);
    /* Short lines to a pipe nobody fills: written whole or not at all. */
    if (write(c->in, line, n) != (ssize_t)n || write(c->in, "\n", 1) != 1)
        tool_child_close_stdin(c);
}

void tool_child_close_stdin(tool_child_t *c)
{
    if (c->in >= 0)
        close(c->in);
    c->in = -1;
}

int tool_child_exited(tool_child_t *c)
{
    if (c->pid <= 0)
        return 1;
    int st;
    if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
        reaped(c, decode_status(st));
        return 1;
    }
    return 0;
}

int tool_child_stop(tool_child_t *c, int timeout_ms)
{
    tool_child_close_stdin(c);
    int64_t deadline = tool_now_ms() + timeout_ms;
    while (!tool_child_exited(c)) {
        int64_t left = deadline - tool_now_ms();
        if (left <= 0) {
            tool_child_kill(c);
            return -1;
        }
        if (c->pidfd >= 0) {
            struct pollfd p = {c->pidfd, POLLIN, 0};
            poll(&p, 1, (int)left);
        } else {
            tool_sleep_ms(left < 10 ? left : 10); /* no pidfd: look again soon */
        }
    }
    return c->status;
}

void tool_child_kill(tool_child_t *c)
{
    if (c->pid > 0) {
        kill(-c->pid, SIGKILL);
        kill(c->pid, SIGKILL);
        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        c->pid = 0;
        c->status = -1;
    }
    close_fds(c);
    reg_del(c);
}

void tool_child_kill_all(void)
{
    for (int i = 0; i < TOOL_CHILD_MAX; i++)
        if (reg[i] != NULL)
            tool_child_kill(reg[i]);
}

void tool_child_kill_all_async(void)
{
    for (int i = 0; i < TOOL_CHILD_MAX; i++) {
        if (reg_pid[i] > 0) {
            kill(-(pid_t)reg_pid[i], SIGKILL);
            kill((pid_t)reg_pid[i], SIGKILL);
        }
    }
    for (int i = 0; i < TOOL_CHILD_MAX; i++)
        if (reg_pid[i] > 0)
            waitpid((pid_t)reg_pid[i], NULL, 0);
}

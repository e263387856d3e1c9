/*
 * Log lines (log/log.h): the fixed fields, quoting that keeps a value
 * inside its field, a line cut at LOG_LINE_MAX with its marker, one write
 * per line. fd 2 is a pipe here; ZMTLS_LOG is set before the first check.
 */
#include "check.h"
#include "log/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rd;

/* What the last lines wrote (the pipe never blocks: lines are short). */
static size_t take(char *out, size_t cap)
{
    ssize_t n = read(rd, out, cap - 1);
    CHECK(n > 0);
    out[n] = '\0';
    return (size_t)n;
}

static void test_fields_and_quoting(void)
{
    char out[4096];
    log_line_t l;
    log_begin(&l, "tls://h:1", "refused", NULL);
    log_add(&l, "alert=%d", 48);
    log_add_quoted(&l, "subject", "CN=a \"b\"\\c\nd");
    log_end(&l);
    take(out, sizeof(out));
    CHECK_STR(out,
              "zmtls: tls://h:1 refused - alert=48 subject=\"CN=a \\\"b\\\"\\\\c?d\"\n");
}

static void test_long_line_is_cut(void)
{
    char out[4096];
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_line_t l;
    log_begin(&l, "tls://h:1", "accepted", "1.2.3.4:5");
    log_add_quoted(&l, "subject", big);
    log_add(&l, "resumed=%d", 0); /* after the cut: dropped */
    log_end(&l);
    size_t n = take(out, sizeof(out));
    CHECK_EQ(n, LOG_LINE_MAX);
    CHECK(strstr(out, "resumed") == NULL);
    const char *tail = LOG_CUT_MARK "\n";
    CHECK_STR(out + n - strlen(tail), tail);

    /* The same through log_add's formatted path. */
    log_begin(&l, "tls://h:1", "accepted", "1.2.3.4:5");
    log_add(&l, "san=%s", big);
    log_end(&l);
    n = take(out, sizeof(out));
    CHECK_EQ(n, LOG_LINE_MAX);
    CHECK_STR(out + n - strlen(tail), tail);
}

static void test_peer_address_of_nothing(void)
{
    char a[64];
    log_peer_address(-1, a, sizeof(a));
    CHECK_STR(a, "-");
}

int main(void)
{
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    CHECK_EQ(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
    rd = p[0];
    setenv("ZMTLS_LOG", "debug", 1);
    CHECK(log_on(LOG_DEBUG));
    /* Read once: a later change of the environment is not seen. */
    setenv("ZMTLS_LOG", "", 1);
    CHECK(log_on(LOG_INFO));
    int saved = dup(STDERR_FILENO);
    CHECK(saved >= 0);
    CHECK_EQ(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
    test_fields_and_quoting();
    test_long_line_is_cut();
    test_peer_address_of_nothing();
    dup2(saved, STDERR_FILENO);
    printf("log: ok\n");
    return 0;
}

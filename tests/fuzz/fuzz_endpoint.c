/*
 * Fuzz target for tls:// endpoint parsing: any input must be either
 * rejected with -EINVAL or accepted, and an accepted endpoint must format
 * and parse back to the same thing, its source address (SRC;HOST:PORT,
 * connect only) included.
 */
#include "endpoint/endpoint.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() rather than a test macro so libFuzzer records the input. */
static void fz_require(int cond)
{
    if (!cond)
        abort();
}

static void fz_check_one(const char *s, int for_bind)
{
    endpoint_t ep;
    int rc = endpoint_parse(s, for_bind, &ep);
    fz_require(rc == 0 || rc == -EINVAL);
    if (rc != 0)
        return;

    fz_require(memchr(ep.host, '\0', sizeof ep.host) != NULL);
    fz_require(ep.host[0] != '\0');
    fz_require(ep.port >= 0 && ep.port <= 65535);
    fz_require(for_bind || ep.port != 0);
    fz_require(for_bind || strcmp(ep.host, "*") != 0);
    fz_require(endpoint_is_tls(s));
    /* A source only on a connect, and only with the ';' that names it. */
    fz_require(!ep.has_src || (!for_bind && strchr(s, ';') != NULL));
    if (ep.has_src) {
        fz_require(memchr(ep.src_host, '\0', sizeof ep.src_host) != NULL);
        fz_require(ep.src_host[0] != '\0' && strcmp(ep.src_host, "*") != 0);
        fz_require(ep.src_port >= 0 && ep.src_port <= 65535);
    }

    char buf[ENDPOINT_URI_MAX];
    int n = endpoint_format(&ep, buf, sizeof buf);
    fz_require(n > 0 && (size_t)n == strlen(buf));

    endpoint_t again;
    fz_require(endpoint_parse(buf, for_bind, &again) == 0);
    fz_require(strcmp(ep.host, again.host) == 0);
    fz_require(ep.port == again.port);
    fz_require(ep.is_ipv6_literal == again.is_ipv6_literal);
    fz_require(ep.is_ip_literal == again.is_ip_literal);
    fz_require(ep.has_src == again.has_src);
    if (ep.has_src) {
        fz_require(strcmp(ep.src_host, again.src_host) == 0);
        fz_require(ep.src_port == again.src_port);
        fz_require(ep.src_is_ipv6_literal == again.src_is_ipv6_literal);
        fz_require(ep.src_is_ip_literal == again.src_is_ip_literal);
    }

    /* Whatever connect accepts, bind accepts too, but for a source. */
    if (!for_bind && ep.has_src)
        fz_require(endpoint_parse(s, 1, &again) == -EINVAL);
    if (!for_bind && !ep.has_src) {
        fz_require(endpoint_parse(s, 1, &again) == 0);
        fz_require(strcmp(ep.host, again.host) == 0 && ep.port == again.port);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    fz_check_one(s, 1);
    fz_check_one(s, 0);
    free(s);
    return 0;
}

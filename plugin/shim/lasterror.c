#include "shim/lasterror.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[512];

int shim_fail(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    errno = err;
    return -1;
}

void shim_clear_error(void)
{
    last_error[0] = '\0';
}

const char *shim_last_error(void)
{
    return last_error;
}

/*
 * The thread-local message behind zmtls_last_error(). Any thread.
 */
#ifndef ZMTLS_LASTERROR_H
#define ZMTLS_LASTERROR_H

/* Sets the message (printf format) and errno = err; returns -1 so an
 * interposer can `return shim_fail(...)`. */
int shim_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void shim_clear_error(void);
const char *shim_last_error(void);

#endif

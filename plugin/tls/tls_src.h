/*
 * Where a credential context came from, so it can be built again when its
 * files change: the credentials (copied), the policy, and the identity of
 * each file the context read (device, inode, size, modification time, as
 * stat(2) sees them through symlinks). A file renamed into place, a
 * symlink swapped (how Kubernetes updates a mounted secret) and a file
 * rewritten in place all change that identity. PEM text is not a file and
 * is not watched.
 *
 * Two sets of identities are kept: the files as they were when the context
 * in use was built, and as they were at the last attempt. A failed attempt
 * is therefore not repeated (nor reported again) until a file changes
 * again, and the context in use stays what it was.
 *
 * Threading: a tls_src_t belongs to one thread at a time (its endpoint's, the
 * I/O thread, once handed over). tls_src_new and tls_src_build read files
 * and run OpenSSL: wherever tls_ctx_new may run.
 */
#ifndef ZMTLS_TLS_SRC_H
#define ZMTLS_TLS_SRC_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "tls/tls.h"

typedef struct tls_src tls_src_t;

/* Builds a context as tls_ctx_new does and the source it came from. Each
 * file's identity is taken before it is read, so a file that changes while
 * it is read is seen as changed at the next check. Returns 0 with *ctx (one
 * reference) and *src, or tls_ctx_new's errors (nothing is returned). */
int tls_src_new(tls_src_t **src, SSL_CTX **ctx, int is_server, const tls_creds_t *creds,
                const tls_policy_t *policy, char *err, size_t errlen);

/* A copy with the same origin (see tls_src_origin); NULL without memory. */
tls_src_t *tls_src_clone(const tls_src_t *src);

/* Frees and NULLs *src (the key's PEM text, if any, is wiped first). */
void tls_src_destroy(tls_src_t **src);

/* Process-unique number of the build a source descends from (tls_src_new,
 * or the last successful tls_src_build): the endpoints of one socket side
 * share it, so one rebuild serves them all. */
uint64_t tls_src_origin(const tls_src_t *src);

/* 1 when the context reads at least one file. */
int tls_src_watched(const tls_src_t *src);

/* 1 when some file's identity differs from the last attempt's (a file that
 * disappeared counts as changed). stat(2) only. */
int tls_src_changed(const tls_src_t *src);

/* Builds a new context from the files as they are now, whatever their
 * identities. 0 and *ctx (one reference); or tls_ctx_new's errors, with the
 * reason in err and, in files, the files that changed since the context in
 * use was built (all of them when none did), comma-separated. Either way
 * the attempt's identities are recorded. */
int tls_src_build(tls_src_t *src, SSL_CTX **ctx, char *files, size_t fileslen, char *err,
                  size_t errlen);

/* dst takes src's identities (both sets) and origin: a sibling of the same
 * origin that was rebuilt, or failed to be, on dst's behalf. */
void tls_src_adopt(tls_src_t *dst, const tls_src_t *src);

#endif

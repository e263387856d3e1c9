/*
 * zmtls-certs: certificates for developing and testing zmtls (a CA, server
 * and client certificates, intermediates, CRLs), made with OpenSSL 3's API
 * alone. Nothing of libzmtls is linked.
 *
 * The tool is single-threaded; nothing here is meant for another thread.
 *
 * Errors: every function that can fail returns 0 or a negative errno and has
 * already printed why on stderr (certs_fail), so callers only pass the code
 * up. -EEXIST means "a file is there and --force was not given" (exit
 * status 3); -EINVAL a bad argument or unusable input; -EIO an OpenSSL
 * failure; others come from the system call that failed.
 *
 * Ownership: a function that returns an object through a pointer hands it
 * to the caller, who frees it with the matching OpenSSL _free or the
 * _free below. Inputs are borrowed.
 */
#ifndef ZMTLS_CERTS_H
#define ZMTLS_CERTS_H

#include <stdarg.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define CERTS_PROG "zmtls-certs"

/* ---- errors (main.c) ------------------------------------------------------- */

/* Prints "zmtls-certs: message" on stderr, followed by OpenSSL's reason
 * when its error queue holds one (the queue is then emptied), and returns
 * err (a negative errno), so a caller can write `return certs_fail(...)`. */
int certs_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "zmtls-certs: note: message" on stderr, for what succeeded but deserves a
 * word (a key below OpenSSL security level 2). */
void certs_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- keys (key.c) ---------------------------------------------------------- */

typedef enum { CERTS_KEY_EC, CERTS_KEY_RSA, CERTS_KEY_ED25519 } certs_key_type_t;

typedef struct {
    certs_key_type_t type;
    int bits;          /* RSA modulus size */
    const char *curve; /* EC group name, a static string */
} certs_key_spec_t;

/* The default: EC P-256. */
void certs_key_spec_default(certs_key_spec_t *spec);
/* Parses "ec", "ec:P-256", "ec:P-384", "ec:P-521", "rsa", "rsa:BITS"
 * (1024..16384; "rsa" is 3072) or "ed25519". -EINVAL with a message. */
int certs_key_spec_parse(const char *text, certs_key_spec_t *spec);
/* A fresh key. A key below OpenSSL security level 2 (RSA under 2048 bits)
 * is made with a note: zmtls refuses it, which is what tests want of it. */
int certs_key_new(const certs_key_spec_t *spec, EVP_PKEY **out);

/* ---- subject alternative names (san.c) ------------------------------------- */

/* Parses a comma-separated list of dns:NAME, ip:ADDRESS (IPv4 or IPv6),
 * uri:URI (spiffe://trust-domain/path among others) and email:ADDRESS and
 * appends the names to *out, which it creates when NULL (free with
 * GENERAL_NAMES_free). -EINVAL naming the entry that is wrong; *out may
 * then hold the entries before it. */
int certs_san_parse(const char *list, GENERAL_NAMES **out);
/* The default names of a leaf called `name`: ip:name when it is an IP
 * address, dns:name when it is a host name, else -EINVAL (the caller must
 * then be given --san). */
int certs_san_default(const char *name, GENERAL_NAMES **out);

/* ---- certificates (issue.c) ------------------------------------------------ */

#define CERTS_EKU_SERVER 1u
#define CERTS_EKU_CLIENT 2u

/* What a certificate says about itself. */
typedef struct {
    const char *cn; /* subject: this single commonName */
    int ca;         /* an issuing CA: CA:TRUE, keyCertSign, cRLSign */
    int pathlen;    /* for a CA: pathLenConstraint, -1 for none */
    int ca_flag;    /* a leaf that also says CA:TRUE (digitalSignature, keyCertSign) */
    unsigned eku;   /* leaves: CERTS_EKU_* (0: no extendedKeyUsage) */
    GENERAL_NAMES *san; /* leaves: subjectAltName, NULL or empty for none; borrowed */
    time_t not_before;  /* validity, seconds since the epoch */
    time_t not_after;
} certs_profile_t;

/* Who signs: a CA's certificate and key, and the certificates a file of a
 * certificate it signs carries after that certificate (the CA itself unless
 * it is self-signed, then the CA's own chain): what a peer presents so
 * that the other side can build the path to the root it trusts. */
typedef struct {
    X509 *cert;
    EVP_PKEY *key;
    STACK_OF(X509) * chain;
} certs_issuer_t;

void certs_issuer_free(certs_issuer_t *issuer);

/* A certificate for `key` described by `p`, signed by `issuer`, or
 * self-signed with `key` when issuer is NULL. SHA-256 signatures (none for
 * Ed25519, which has its own), a random 127-bit serial, subject and
 * authority key identifiers. */
int certs_issue(const certs_profile_t *p, EVP_PKEY *key, const certs_issuer_t *issuer,
                X509 **out);

/* Parses "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SSZ" to seconds
 * since the epoch. -EINVAL with a message naming `what`. */
int certs_time_parse(const char *text, const char *what, time_t *out);

/* ---- files (store.c) ------------------------------------------------------- */

/* A file name for NAME in DIR: NAME must be [A-Za-z0-9._-]+ and not start
 * with a dot, so it can name nothing outside DIR. */
int certs_name_check(const char *name);
/* mkdir -p DIR (mode 0777 less the umask). */
int certs_dir_make(const char *dir);
/* -EEXIST with a message when DIR/NAME.pem or DIR/NAME.key exists and
 * force is 0. */
int certs_check_free(const char *dir, const char *name, int force);
/* Loads DIR/NAME.pem (first certificate: the CA; the rest: its chain) and
 * DIR/NAME.key, and checks that they match and that the certificate may
 * sign certificates (CA:TRUE and keyCertSign). */
int certs_issuer_load(const char *dir, const char *name, certs_issuer_t *out);
/* Loads the first certificate of a PEM file. */
int certs_cert_load(const char *path, X509 **out);
/* Writes DIR/NAME.key (mode 0600) and DIR/NAME.pem (0644: cert, then
 * chain, which may be NULL), each through a temporary file renamed into
 * place, so a reader never sees half a file. Without force an existing
 * file is never replaced: -EEXIST. */
int certs_write_pair(const char *dir, const char *name, EVP_PKEY *key, X509 *cert,
                     STACK_OF(X509) * chain, int force);
/* Writes PEM text made by `emit` into `path` (mode 0644) through a
 * temporary file renamed into place, replacing what was there. */
int certs_write_replace(const char *path, int (*emit)(BIO *, void *), void *arg);

/* ---- revocation (crl.c) ---------------------------------------------------- */

/* Adds the certificate at cert_path to DIR/ISSUER.revoked, the list the
 * issuer's CRLs are made from, after checking that the issuer signed it.
 * Revoking a certificate twice is not an error. */
int certs_revoke(const char *dir, const char *issuer_name, const char *cert_path);
/* Writes the issuer's CRL revoking what DIR/ISSUER.revoked lists (no list:
 * nothing), valid for `days` days from now, to out_path. */
int certs_crl(const char *dir, const char *issuer_name, long days, const char *out_path);
/* Removes DIR/NAME.revoked, whose serials belong to a CA just replaced. */
int certs_revoked_reset(const char *dir, const char *name);

#endif

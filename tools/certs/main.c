/* zmtls-certs: the command line (see usage() below and certs.h). */
#include "certs.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#ifndef ZMTLS_CERTS_VERSION
#define ZMTLS_CERTS_VERSION "unknown"
#endif

/* Exit statuses, written in the help text. */
#define EXIT_FAILED 1
#define EXIT_USAGE  2
#define EXIT_EXISTS 3

#define DAY_S          86400L
#define LEAF_DAYS      825L /* what public CAs may issue at most, long enough to forget */
#define CA_DAYS        3650L
#define CRL_DAYS       30L
#define MAX_DAYS       36500L
#define INIT_CA_CN     "zmtls development CA"
#define DEFAULT_ISSUER "ca"

/* In parts: C11 promises string literals of 4095 bytes only. */
static const char *const usage_text[] = {
    "usage: zmtls-certs COMMAND DIR [NAME|CERT] [OPTIONS]\n"
    "\n"
    "Makes certificates for developing and testing zmtls (tls:// for libzmq): a CA,\n"
    "server and client certificates with DNS, IP and URI (SPIFFE) names,\n"
    "intermediate CAs, revocations and CRLs. A certificate NAME is two files in\n"
    "DIR: NAME.pem (the certificate, then the intermediate CAs a peer presents with\n"
    "it) and NAME.key (its private key: unencrypted PKCS#8 PEM, mode 0600). DIR is\n"
    "made when missing. Nothing is replaced without --force. These are keys for\n"
    "development and tests: a production CA's key belongs somewhere safer than a\n"
    "directory of files.\n"
    "\n",
    "Commands:\n"
    "  init DIR         a CA (ca.pem, ca.key), a server certificate for localhost,\n"
    "                   127.0.0.1 and ::1 (server.pem, server.key; CN localhost)\n"
    "                   and a client certificate (client.pem, client.key; CN\n"
    "                   client, dns:client). Options: --cn (the CA's), --key (all\n"
    "                   three), --pathlen (the CA's), --force. Refuses to touch a\n"
    "                   DIR that has any of the six files, unless --force.\n"
    "  ca DIR NAME      a root CA, self-signed; with --issuer, an intermediate CA\n"
    "                   signed by that CA.\n"
    "  server DIR NAME  a server certificate (extendedKeyUsage serverAuth) signed\n"
    "                   by the CA (--issuer, default ca).\n"
    "  client DIR NAME  a client certificate (extendedKeyUsage clientAuth) signed\n"
    "                   by the CA (--issuer, default ca).\n"
    "  revoke DIR CERT  adds CERT to the revocation list of the CA that signed it\n"
    "                   (--issuer, default ca), after checking its signature. CERT\n"
    "                   is a NAME in DIR (DIR/NAME.pem) or, with a '/' or ending in\n"
    "                   .pem, a path. The list is DIR/ISSUER.revoked, plain text, a\n"
    "                   line per certificate (serial, time, subject); delete it to\n"
    "                   start over.\n"
    "  crl DIR          writes the CRL of a CA (--issuer, default ca) revoking what\n"
    "                   its list holds (nothing, without a list) to\n"
    "                   DIR/ISSUER-crl.pem or --out FILE, replacing it. Make it\n"
    "                   again after each revoke and before nextUpdate: zmtls\n"
    "                   refuses every peer checked against an expired CRL. zmtls\n"
    "                   checks the whole chain, so give it the CRL of every CA in\n"
    "                   it (concatenate the files).\n"
    "  help             this text.\n"
    "\n",
    "Options:\n"
    "  --issuer NAME       the CA that signs: DIR/NAME.pem and DIR/NAME.key\n"
    "                      (default ca). Its NAME.pem is its certificate then its\n"
    "                      own intermediates, as this tool writes it.\n"
    "  --cn TEXT           the subject's common name, the whole subject (default:\n"
    "                      NAME; init: \"zmtls development CA\").\n"
    "  --san LIST          server, client: subject alternative names,\n"
    "                      comma-separated; repeat to add more: dns:HOST\n"
    "                      (dns:*.HOST for a wildcard), ip:ADDRESS (IPv4 or IPv6:\n"
    "                      ip:::1), uri:URI (a SPIFFE ID is\n"
    "                      uri:spiffe://trust-domain/path), email:ADDRESS. Default:\n"
    "                      ip:NAME when NAME is an address, else dns:NAME. zmtls\n"
    "                      checks a server's dns: and ip: names against the\n"
    "                      endpoint's host; ZMTLS_ALLOW matches any of them.\n"
    "  --eku LIST          server, client: the extended key usages, server and/or\n"
    "                      client (default: the command's). server,client makes one\n"
    "                      certificate for a peer that binds and connects.\n"
    "  --days N            validity from --not-before, in days (1 to 36500; default\n"
    "                      825, CAs 3650). crl: from now to nextUpdate (default\n"
    "                      30).\n"
    "  --not-before DATE   start of validity, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ,\n"
    "                      UTC (default: now).\n"
    "  --not-after DATE    end of validity, instead of --days. Both dates in the\n"
    "                      past make an expired certificate, for tests.\n"
    "  --key TYPE          the new key: ec (P-256, the default), ec:P-384,\n"
    "                      ec:P-521, rsa (3072 bits), rsa:BITS (1024 to 16384) or\n"
    "                      ed25519. RSA under 2048 bits is below OpenSSL security\n"
    "                      level 2, which zmtls requires of every key: for tests of\n"
    "                      that refusal.\n",
    "  --pathlen N|none    ca, init: how many CAs may follow below this one in a\n"
    "                      chain (default 0: it signs certificates of peers only;\n"
    "                      none: no limit). An intermediate needs an issuer with a\n"
    "                      pathlen above its own, or none.\n"
    "  --self-signed       server, client: signed with its own key, no CA; marked\n"
    "                      CA:TRUE with keyCertSign so that it can be its own trust\n"
    "                      anchor: the other side pins it by taking NAME.pem as its\n"
    "                      CA file.\n"
    "  --ca-flag           server, client: mark the certificate CA:TRUE with\n"
    "                      keyCertSign; zmtls refuses it as a peer's own (alert\n"
    "                      43), for tests of that refusal.\n"
    "  --out FILE          crl: where to write (default DIR/ISSUER-crl.pem).\n"
    "  --force             replace NAME.pem and NAME.key. A CA replaced leaves what\n"
    "                      it signed unverifiable, and its revocation list is\n"
    "                      deleted.\n"
    "  -h, --help          this text.\n"
    "  --version           the version.\n"
    "\n",
    "What the certificates say:\n"
    "  every one   X.509 v3, subject CN=TEXT only, a random serial, SHA-256\n"
    "              signatures (an Ed25519 CA signs with Ed25519), subject and\n"
    "              authority key identifiers.\n"
    "  CA          basicConstraints critical CA:TRUE (pathlen); keyUsage critical\n"
    "              keyCertSign, cRLSign.\n"
    "  server and  basicConstraints critical CA:FALSE; keyUsage critical\n"
    "  client      digitalSignature; extendedKeyUsage serverAuth, clientAuth or\n"
    "              both; subjectAltName. --self-signed and --ca-flag: CA:TRUE,\n"
    "              keyUsage critical digitalSignature, keyCertSign.\n"
    "  CRL         v2, authority key identifier, CRL number (the time it was made).\n"
    "\n",
    "Exit status: 0 done; 1 failed, the message says why; 2 a bad command line; 3 a\n"
    "file is there and --force was not given (nothing was written).\n"
    "\n"
    "Examples:\n"
    "  zmtls-certs init certs\n"
    "  zmtls-certs server certs node1 --san dns:node1.example,ip:10.0.0.5\n"
    "  zmtls-certs client certs worker --san uri:spiffe://example.org/worker\n"
    "  zmtls-certs ca certs root --cn \"Test root\" --pathlen 1\n"
    "  zmtls-certs ca certs issuing --issuer root\n"
    "  zmtls-certs client certs w2 --issuer issuing\n"
    "  zmtls-certs client certs old --not-before 2020-01-01 --not-after 2020-02-01\n"
    "  zmtls-certs revoke certs worker && zmtls-certs crl certs --out certs/crl.pem\n"
    "  ZMTLS_CERT=certs/client.pem ZMTLS_KEY=certs/client.key \\\n"
    "      ZMTLS_CA=certs/ca.pem ZMTLS_CRL=certs/crl.pem \\\n"
    "      LD_PRELOAD=libzmtls.so ./my_zmq_client tls://localhost:5555\n",
};

static void usage(FILE *f)
{
    for (size_t i = 0; i < sizeof usage_text / sizeof usage_text[0]; i++)
        fputs(usage_text[i], f);
}

int certs_fail(int err, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned long e = ERR_peek_last_error();
    const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;
    if (why != NULL)
        fprintf(stderr, "%s: %s (OpenSSL: %s)\n", CERTS_PROG, msg, why);
    else
        fprintf(stderr, "%s: %s\n", CERTS_PROG, msg);
    ERR_clear_error();
    return err;
}

void certs_note(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: note: %s\n", CERTS_PROG, msg);
}

/* ---- the command line ------------------------------------------------------ */

enum {
    OPT_ISSUER = 1 << 0,
    OPT_CN = 1 << 1,
    OPT_SAN = 1 << 2,
    OPT_EKU = 1 << 3,
    OPT_DAYS = 1 << 4,
    OPT_NOT_BEFORE = 1 << 5,
    OPT_NOT_AFTER = 1 << 6,
    OPT_KEY = 1 << 7,
    OPT_PATHLEN = 1 << 8,
    OPT_SELF_SIGNED = 1 << 9,
    OPT_CA_FLAG = 1 << 10,
    OPT_OUT = 1 << 11,
    OPT_FORCE = 1 << 12,
    OPT_HELP = 1 << 13,
    OPT_VERSION = 1 << 14,
};

#define OPT_VALIDITY (OPT_DAYS | OPT_NOT_BEFORE | OPT_NOT_AFTER)

typedef enum { CMD_INIT, CMD_CA, CMD_SERVER, CMD_CLIENT, CMD_REVOKE, CMD_CRL } cmd_t;

static const struct {
    const char *name;
    cmd_t cmd;
    int npos; /* DIR, then NAME or CERT */
    unsigned allowed;
} commands[] = {
    {"init", CMD_INIT, 1, OPT_CN | OPT_KEY | OPT_PATHLEN | OPT_FORCE},
    {"ca", CMD_CA, 2,
     OPT_ISSUER | OPT_CN | OPT_VALIDITY | OPT_KEY | OPT_PATHLEN | OPT_FORCE},
    {"server", CMD_SERVER, 2,
     OPT_ISSUER | OPT_CN | OPT_SAN | OPT_EKU | OPT_VALIDITY | OPT_KEY | OPT_SELF_SIGNED |
         OPT_CA_FLAG | OPT_FORCE},
    {"client", CMD_CLIENT, 2,
     OPT_ISSUER | OPT_CN | OPT_SAN | OPT_EKU | OPT_VALIDITY | OPT_KEY | OPT_SELF_SIGNED |
         OPT_CA_FLAG | OPT_FORCE},
    {"revoke", CMD_REVOKE, 2, OPT_ISSUER},
    {"crl", CMD_CRL, 1, OPT_ISSUER | OPT_DAYS | OPT_OUT},
};

static const struct option long_opts[] = {
    {"issuer", required_argument, NULL, OPT_ISSUER},
    {"cn", required_argument, NULL, OPT_CN},
    {"san", required_argument, NULL, OPT_SAN},
    {"eku", required_argument, NULL, OPT_EKU},
    {"days", required_argument, NULL, OPT_DAYS},
    {"not-before", required_argument, NULL, OPT_NOT_BEFORE},
    {"not-after", required_argument, NULL, OPT_NOT_AFTER},
    {"key", required_argument, NULL, OPT_KEY},
    {"pathlen", required_argument, NULL, OPT_PATHLEN},
    {"self-signed", no_argument, NULL, OPT_SELF_SIGNED},
    {"ca-flag", no_argument, NULL, OPT_CA_FLAG},
    {"out", required_argument, NULL, OPT_OUT},
    {"force", no_argument, NULL, OPT_FORCE},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

typedef struct {
    cmd_t cmd;
    unsigned given; /* OPT_* seen */
    const char *dir;
    const char *name; /* NAME, or CERT for revoke */
    const char *issuer;
    const char *cn;
    GENERAL_NAMES *san;
    unsigned eku;
    long days;
    time_t not_before, not_after;
    certs_key_spec_t key;
    int pathlen;
    const char *out;
} args_t;

static const char *opt_name(unsigned bit)
{
    for (const struct option *o = long_opts; o->name != NULL; o++) {
        if ((unsigned)o->val == bit)
            return o->name;
    }
    return "?";
}

static int parse_long(const char *text, const char *what, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi)
        return certs_fail(-EINVAL, "--%s %s: expected a number from %ld to %ld", what,
                          text, lo, hi);
    *out = v;
    return 0;
}

static int parse_eku(const char *list, unsigned *out)
{
    char *copy = strdup(list), *save = NULL;
    if (copy == NULL)
        return certs_fail(-ENOMEM, "out of memory");
    int rc = 0;
    *out = 0;
    for (char *e = strtok_r(copy, ",", &save); e != NULL;
         e = strtok_r(NULL, ",", &save)) {
        if (strcmp(e, "server") == 0)
            *out |= CERTS_EKU_SERVER;
        else if (strcmp(e, "client") == 0)
            *out |= CERTS_EKU_CLIENT;
        else
            rc = certs_fail(-EINVAL, "--eku %s: the usages are server and client", list);
    }
    if (rc == 0 && *out == 0)
        rc = certs_fail(-EINVAL, "--eku: name server, client or both");
    free(copy);
    return rc;
}

static int parse_option(args_t *a, int opt, const char *val)
{
    long n;
    int rc = 0;
    switch (opt) {
    case OPT_ISSUER:
        a->issuer = val;
        return certs_name_check(val);
    case OPT_CN:
        a->cn = val;
        return 0;
    case OPT_SAN:
        return certs_san_parse(val, &a->san);
    case OPT_EKU:
        return parse_eku(val, &a->eku);
    case OPT_DAYS:
        rc = parse_long(val, "days", 1, MAX_DAYS, &n);
        a->days = n;
        return rc;
    case OPT_NOT_BEFORE:
        return certs_time_parse(val, "--not-before", &a->not_before);
    case OPT_NOT_AFTER:
        return certs_time_parse(val, "--not-after", &a->not_after);
    case OPT_KEY:
        return certs_key_spec_parse(val, &a->key);
    case OPT_PATHLEN:
        if (strcmp(val, "none") == 0) {
            a->pathlen = -1;
            return 0;
        }
        rc = parse_long(val, "pathlen", 0, 100, &n);
        a->pathlen = (int)n;
        return rc;
    case OPT_OUT:
        a->out = val;
        return 0;
    default:
        return 0;
    }
}

/* Fills a from argv; -EINVAL (message printed) for a bad command line, 1
 * when --help or --version was answered. */
static int parse_args(int argc, char **argv, args_t *a)
{
    memset(a, 0, sizeof *a);
    certs_key_spec_default(&a->key);
    a->issuer = DEFAULT_ISSUER;
    if (argc < 2)
        return certs_fail(-EINVAL, "no command given");
    const char *word = argv[1];
    if (strcmp(word, "help") == 0 || strcmp(word, "-h") == 0 ||
        strcmp(word, "--help") == 0) {
        usage(stdout);
        return 1;
    }
    if (strcmp(word, "--version") == 0) {
        printf("%s %s\n", CERTS_PROG, ZMTLS_CERTS_VERSION);
        return 1;
    }
    size_t c = 0;
    while (c < sizeof commands / sizeof commands[0] &&
           strcmp(commands[c].name, word) != 0)
        c++;
    if (c == sizeof commands / sizeof commands[0])
        return certs_fail(
            -EINVAL,
            "unknown command \"%s\" (init, ca, server, client, revoke, crl, help)", word);
    a->cmd = commands[c].cmd;

    /* The command's words: options may come before, between or after the
     * positional arguments (getopt_long permutes them to the end). */
    int cargc = argc - 1;
    char **cargv = argv + 1;
    const char *pos[2] = {NULL, NULL};
    int npos = 0;
    opterr = 0;
    optind = 1;
    int opt;
    while ((opt = getopt_long(cargc, cargv, ":h", long_opts, NULL)) != -1) {
        if (opt == 'h')
            opt = OPT_HELP;
        if (opt == '?')
            return certs_fail(-EINVAL, "%s: unknown option %s", word, cargv[optind - 1]);
        if (opt == ':')
            return certs_fail(-EINVAL, "%s: %s needs a value", word, cargv[optind - 1]);
        if (opt == OPT_HELP) {
            usage(stdout);
            return 1;
        }
        if (opt == OPT_VERSION) {
            printf("%s %s\n", CERTS_PROG, ZMTLS_CERTS_VERSION);
            return 1;
        }
        if ((commands[c].allowed & (unsigned)opt) == 0)
            return certs_fail(-EINVAL, "%s: --%s does not apply to this command", word,
                              opt_name((unsigned)opt));
        if ((a->given & (unsigned)opt) != 0 && opt != OPT_SAN)
            return certs_fail(-EINVAL, "%s: --%s given twice", word,
                              opt_name((unsigned)opt));
        a->given |= (unsigned)opt;
        int rc = parse_option(a, opt, optarg);
        if (rc != 0)
            return rc;
    }
    for (int i = optind; i < cargc; i++) {
        if (npos == commands[c].npos)
            return certs_fail(-EINVAL, "%s: unexpected argument %s", word, cargv[i]);
        pos[npos++] = cargv[i];
    }
    if (npos < commands[c].npos)
        return certs_fail(-EINVAL, "%s: expected %s", word,
                          commands[c].npos == 1  ? "DIR"
                          : a->cmd == CMD_REVOKE ? "DIR CERT"
                                                 : "DIR NAME");
    a->dir = pos[0];
    a->name = pos[1];
    if (a->dir[0] == '\0')
        return certs_fail(-EINVAL, "%s: DIR is empty", word);
    if (a->name != NULL && a->cmd != CMD_REVOKE) {
        int rc = certs_name_check(a->name);
        if (rc != 0)
            return rc;
    }
    if ((a->given & OPT_DAYS) && (a->given & OPT_NOT_AFTER))
        return certs_fail(
            -EINVAL, "%s: --days and --not-after both say when it ends: give one", word);
    if ((a->given & OPT_NOT_BEFORE) && (a->given & OPT_NOT_AFTER) &&
        a->not_after <= a->not_before)
        return certs_fail(-EINVAL, "%s: --not-after must come after --not-before", word);
    if ((a->given & OPT_SELF_SIGNED) && (a->given & OPT_ISSUER))
        return certs_fail(-EINVAL, "%s: --self-signed has no --issuer", word);
    return 0;
}

/* ---- the commands ---------------------------------------------------------- */

/* The validity the options ask for, `days` when they name no end. */
static int validity(const args_t *a, long days, certs_profile_t *p)
{
    p->not_before = (a->given & OPT_NOT_BEFORE) ? a->not_before : time(NULL);
    if (a->given & OPT_NOT_AFTER)
        p->not_after = a->not_after;
    else
        p->not_after = p->not_before + ((a->given & OPT_DAYS) ? a->days : days) * DAY_S;
    if (p->not_after <= p->not_before)
        return certs_fail(-EINVAL,
                          "--not-after must come after --not-before (default: now)");
    return 0;
}

/* Loads the issuer, with a hint when there is no CA yet. */
static int issuer_load(const args_t *a, certs_issuer_t *is)
{
    int rc = certs_issuer_load(a->dir, a->issuer, is);
    if (rc == -ENOENT && strcmp(a->issuer, DEFAULT_ISSUER) == 0)
        certs_note("no CA in %s yet: `%s init %s` makes one", a->dir, CERTS_PROG, a->dir);
    return rc;
}

/* Makes key and certificate NAME in DIR from profile p, signed by the
 * issuer (NULL: self-signed), and writes them. */
static int make_pair(const args_t *a, const char *name, const certs_profile_t *p,
                     const certs_issuer_t *is)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc = certs_key_new(&a->key, &key);
    if (rc == 0)
        rc = certs_issue(p, key, is, &cert);
    if (rc == 0)
        rc = certs_write_pair(a->dir, name, key, cert, is != NULL ? is->chain : NULL,
                              (a->given & OPT_FORCE) != 0);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

/* An intermediate's pathlen must fit under its issuer's (RFC 5280 4.2.1.9),
 * or verifiers refuse every chain through it. */
static int pathlen_fits(const args_t *a, const certs_issuer_t *is, int want)
{
    long have = X509_get_pathlen(is->cert);
    if (have < 0)
        return 0;
    if (have == 0)
        return certs_fail(-EINVAL,
                          "%s/%s.pem has pathlen 0: it may sign no CA (make it with "
                          "--pathlen 1 or more)",
                          a->dir, a->issuer);
    if (want < 0 || want > have - 1)
        return certs_fail(-EINVAL, "--pathlen: %s/%s.pem allows at most %ld below it",
                          a->dir, a->issuer, have - 1);
    return 0;
}

static int cmd_ca(const args_t *a)
{
    certs_issuer_t is = {0};
    certs_profile_t p = {0};
    p.cn = a->cn != NULL ? a->cn : a->name;
    p.ca = 1;
    p.pathlen = (a->given & OPT_PATHLEN) ? a->pathlen : 0;
    int rc = validity(a, CA_DAYS, &p);
    if (rc == 0)
        rc = certs_dir_make(a->dir);
    if (rc == 0)
        rc = certs_check_free(a->dir, a->name, (a->given & OPT_FORCE) != 0);
    int signed_by = (a->given & OPT_ISSUER) != 0;
    if (rc == 0 && signed_by) {
        rc = issuer_load(a, &is);
        if (rc == 0)
            rc = pathlen_fits(a, &is, p.pathlen);
    }
    if (rc == 0)
        rc = make_pair(a, a->name, &p, signed_by ? &is : NULL);
    if (rc == 0 && (a->given & OPT_FORCE))
        rc = certs_revoked_reset(a->dir, a->name);
    certs_issuer_free(&is);
    return rc;
}

static int cmd_leaf(const args_t *a)
{
    certs_issuer_t is = {0};
    certs_profile_t p = {0};
    GENERAL_NAMES *def = NULL;
    int self = (a->given & OPT_SELF_SIGNED) != 0;
    p.cn = a->cn != NULL ? a->cn : a->name;
    p.ca_flag = self || (a->given & OPT_CA_FLAG) != 0;
    p.eku = (a->given & OPT_EKU)   ? a->eku
            : a->cmd == CMD_SERVER ? CERTS_EKU_SERVER
                                   : CERTS_EKU_CLIENT;
    int rc = 0;
    if (a->given & OPT_SAN)
        p.san = a->san;
    else if ((rc = certs_san_default(a->name, &def)) == 0)
        p.san = def;
    if (rc == 0)
        rc = validity(a, LEAF_DAYS, &p);
    if (rc == 0)
        rc = certs_dir_make(a->dir);
    if (rc == 0)
        rc = certs_check_free(a->dir, a->name, (a->given & OPT_FORCE) != 0);
    if (rc == 0 && !self)
        rc = issuer_load(a, &is);
    if (rc == 0)
        rc = make_pair(a, a->name, &p, self ? NULL : &is);
    GENERAL_NAMES_free(def);
    certs_issuer_free(&is);
    return rc;
}

static int cmd_init(const args_t *a)
{
    static const char *const names[] = {"ca", "server", "client"};
    int force = (a->given & OPT_FORCE) != 0;
    int rc = certs_dir_make(a->dir);
    /* All or nothing: a new CA beside old leaves would leave them orphaned. */
    for (size_t i = 0; rc == 0 && i < sizeof names / sizeof names[0]; i++)
        rc = certs_check_free(a->dir, names[i], force);
    if (rc != 0)
        return rc;

    certs_profile_t ca = {0};
    ca.cn = a->cn != NULL ? a->cn : INIT_CA_CN;
    ca.ca = 1;
    ca.pathlen = (a->given & OPT_PATHLEN) ? a->pathlen : 0;
    ca.not_before = time(NULL);
    ca.not_after = ca.not_before + CA_DAYS * DAY_S;
    if ((rc = make_pair(a, "ca", &ca, NULL)) != 0 ||
        (rc = certs_revoked_reset(a->dir, "ca")) != 0)
        return rc;

    certs_issuer_t is = {0};
    if ((rc = certs_issuer_load(a->dir, "ca", &is)) != 0)
        return rc;
    GENERAL_NAMES *server_san = NULL, *client_san = NULL;
    certs_profile_t server = {0}, client = {0};
    server.cn = "localhost";
    server.eku = CERTS_EKU_SERVER;
    server.not_before = ca.not_before;
    server.not_after = ca.not_before + LEAF_DAYS * DAY_S;
    client = server;
    client.cn = "client";
    client.eku = CERTS_EKU_CLIENT;
    if ((rc = certs_san_parse("dns:localhost,ip:127.0.0.1,ip:::1", &server_san)) == 0 &&
        (rc = certs_san_parse("dns:client", &client_san)) == 0) {
        server.san = server_san;
        client.san = client_san;
        rc = make_pair(a, "server", &server, &is);
        if (rc == 0)
            rc = make_pair(a, "client", &client, &is);
    }
    GENERAL_NAMES_free(server_san);
    GENERAL_NAMES_free(client_san);
    certs_issuer_free(&is);
    return rc;
}

static int cmd_revoke(const args_t *a)
{
    char path[PATH_MAX];
    size_t len = strlen(a->name);
    int is_path = strchr(a->name, '/') != NULL ||
                  (len > 4 && strcmp(a->name + len - 4, ".pem") == 0);
    if (is_path)
        snprintf(path, sizeof path, "%s", a->name);
    else if (certs_name_check(a->name) != 0)
        return -EINVAL;
    else if (snprintf(path, sizeof path, "%s/%s.pem", a->dir, a->name) >=
             (int)sizeof path)
        return certs_fail(-ENAMETOOLONG, "%s/%s.pem: path too long", a->dir, a->name);
    return certs_revoke(a->dir, a->issuer, path);
}

static int cmd_crl(const args_t *a)
{
    char path[PATH_MAX];
    const char *out = a->out;
    if (out == NULL) {
        if (snprintf(path, sizeof path, "%s/%s-crl.pem", a->dir, a->issuer) >=
            (int)sizeof path)
            return certs_fail(-ENAMETOOLONG, "%s/%s-crl.pem: path too long", a->dir,
                              a->issuer);
        out = path;
    }
    return certs_crl(a->dir, a->issuer, (a->given & OPT_DAYS) ? a->days : CRL_DAYS, out);
}

int main(int argc, char **argv)
{
    args_t a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        GENERAL_NAMES_free(a.san);
        if (rc > 0)
            return 0;
        fprintf(stderr, "Try '%s --help'.\n", CERTS_PROG);
        return EXIT_USAGE;
    }
    switch (a.cmd) {
    case CMD_INIT:
        rc = cmd_init(&a);
        break;
    case CMD_CA:
        rc = cmd_ca(&a);
        break;
    case CMD_SERVER:
    case CMD_CLIENT:
        rc = cmd_leaf(&a);
        break;
    case CMD_REVOKE:
        rc = cmd_revoke(&a);
        break;
    case CMD_CRL:
        rc = cmd_crl(&a);
        break;
    }
    GENERAL_NAMES_free(a.san);
    if (rc == -EEXIST)
        return EXIT_EXISTS;
    return rc == 0 ? 0 : EXIT_FAILED;
}

/*
 * zmtls-certs (tools/certs) checked from outside: the program is run as a
 * user runs it, and what it writes is read back with OpenSSL. Asserts:
 *  - init: ca/server/client verify (X509_verify_cert, with the TLS server
 *    and client purposes), EC P-256 keys, ECDSA-SHA256 signatures, the
 *    CA's CA:TRUE pathlen 0 and keyCertSign+cRLSign, the leaves'
 *    digitalSignature and serverAuth or clientAuth, the server's SANs
 *    (localhost, 127.0.0.1, ::1), key files 0600 and certificates 0644;
 *  - init again refuses (exit 3) and leaves the CA as it was; --force
 *    makes a new one;
 *  - --san dns:,ip:,uri: (SPIFFE), --days, --eku server,client, default
 *    SANs from NAME;
 *  - an intermediate (--issuer): the leaf's file carries it and verifies
 *    against the root alone; a CA with pathlen 0 refuses to sign a CA;
 *  - revoke + crl: the leaf verifies under empty CRLs of both CAs and is
 *    revoked (X509_V_ERR_CERT_REVOKED) under the new one; revoking a
 *    certificate of another CA is refused;
 *  - --not-before/--not-after in the past: expired; --key rsa:1024: refused
 *    at security level 2; --self-signed verifies as its own anchor;
 *    --ca-flag: a leaf marked CA:TRUE;
 *  - bad command lines exit 2 with a message naming the problem; a
 *    command without a CA exits 1 saying so; --help names every command
 *    and option.
 * Usage: tools_certs PATH-OF-zmtls-certs
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"

/* Nothing here takes long: a hung tool ends the test (SIGALRM) well before
 * ctest's timeout. */
#define WATCHDOG_S 90
#define MAX_ARGS   32
#define OUT_MAX    16384

static const char *tool;
static char dir[256];
static char out_text[OUT_MAX], err_text[OUT_MAX];

extern char **environ;

static void slurp(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs the tool with the arguments given (NULL-terminated); its exit status,
 * stdout and stderr in out_text and err_text. */
static int run(const char *arg, ...)
{
    char *argv[MAX_ARGS];
    int n = 0;
    argv[n++] = (char *)tool;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL; a = va_arg(ap, const char *)) {
        CHECK(n < MAX_ARGS - 1);
        argv[n++] = (char *)a;
    }
    va_end(ap);
    argv[n] = NULL;
    char out_path[300], err_path[300];
    snprintf(out_path, sizeof out_path, "%s.out", dir);
    snprintf(err_path, sizeof err_path, "%s.err", dir);
    posix_spawn_file_actions_t fa;
    CHECK_EQ(posix_spawn_file_actions_init(&fa), 0);
    CHECK_EQ(posix_spawn_file_actions_addopen(&fa, 1, out_path,
                                              O_WRONLY | O_CREAT | O_TRUNC, 0644),
             0);
    CHECK_EQ(posix_spawn_file_actions_addopen(&fa, 2, err_path,
                                              O_WRONLY | O_CREAT | O_TRUNC, 0644),
             0);
    pid_t pid;
    CHECK_EQ(posix_spawn(&pid, tool, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    slurp(out_path, out_text, sizeof out_text);
    slurp(err_path, err_text, sizeof err_text);
    unlink(out_path);
    unlink(err_path);
    return WEXITSTATUS(status);
}

#define RUN_OK(...)                                                                      \
    do {                                                                                 \
        int run_rc_ = run(__VA_ARGS__, NULL);                                            \
        if (run_rc_ != 0)                                                                \
            fprintf(stderr, "zmtls-certs said: %s", err_text);                           \
        CHECK_EQ(run_rc_, 0);                                                            \
    } while (0)

/* The command exits `status` and says `words` on stderr. */
#define RUN_FAILS(status, words, ...)                                                    \
    do {                                                                                 \
        CHECK_EQ(run(__VA_ARGS__, NULL), status);                                        \
        if (strstr(err_text, words) == NULL) {                                           \
            fprintf(stderr, "expected \"%s\" in: %s", words, err_text);                  \
            CHECK(0);                                                                    \
        }                                                                                \
    } while (0)

/* DIR/name, in one of 4 rotating buffers: copy what must outlive 3 more calls. */
static const char *in_dir(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

/* Every certificate of DIR/NAME.pem: the first is the certificate. */
static STACK_OF(X509) * load_all(const char *name)
{
    char file[128];
    snprintf(file, sizeof file, "%s.pem", name);
    FILE *f = fopen(in_dir(file), "r");
    CHECK(f != NULL);
    STACK_OF(X509) *all = sk_X509_new_null();
    X509 *x;
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
        CHECK(sk_X509_push(all, x) > 0);
    fclose(f);
    CHECK(sk_X509_num(all) > 0);
    return all;
}

static X509 *load(const char *name)
{
    STACK_OF(X509) *all = load_all(name);
    X509 *x = sk_X509_shift(all);
    sk_X509_pop_free(all, X509_free);
    return x;
}

static X509_CRL *load_crl(const char *path)
{
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    X509_CRL *crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
    fclose(f);
    CHECK(crl != NULL);
    return crl;
}

static EVP_PKEY *load_key(const char *name)
{
    char file[128];
    snprintf(file, sizeof file, "%s.key", name);
    FILE *f = fopen(in_dir(file), "r");
    CHECK(f != NULL);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    CHECK(k != NULL);
    return k;
}

static mode_t mode_of(const char *file)
{
    struct stat st;
    CHECK_EQ(stat(in_dir(file), &st), 0);
    return st.st_mode & 07777;
}

/* X509_verify_cert of DIR/leaf.pem (its file's other certificates as
 * untrusted intermediates) against the trusted certificates named, with
 * CRL files (NULL-terminated) checked for the whole chain when any. */
static int verify(const char *leaf, int purpose, int level, const char *const *trusted,
                  const char *const *crls)
{
    STACK_OF(X509) *chain = load_all(leaf);
    X509 *x = sk_X509_shift(chain);
    X509_STORE *store = X509_STORE_new();
    CHECK(store != NULL);
    for (const char *const *t = trusted; *t != NULL; t++) {
        X509 *ca = load(*t);
        CHECK_EQ(X509_STORE_add_cert(store, ca), 1);
        X509_free(ca);
    }
    int have_crls = 0;
    for (const char *const *c = crls; c != NULL && *c != NULL; c++) {
        X509_CRL *crl = load_crl(*c);
        CHECK_EQ(X509_STORE_add_crl(store, crl), 1);
        X509_CRL_free(crl);
        have_crls = 1;
    }
    if (have_crls)
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    CHECK(ctx != NULL);
    CHECK_EQ(X509_STORE_CTX_init(ctx, store, x, chain), 1);
    if (purpose != 0)
        CHECK_EQ(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
    X509_VERIFY_PARAM_set_auth_level(X509_STORE_CTX_get0_param(ctx), level);
    int ok = X509_verify_cert(ctx);
    int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(x);
    sk_X509_pop_free(chain, X509_free);
    return err;
}

static const char *const only_ca[] = {"ca", NULL};

/* The SAN entries of x as "DNS:a,IP:b,URI:c" in order. */
static void san_text(X509 *x, char *buf, size_t len)
{
    buf[0] = '\0';
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        char one[128] = "";
        if (g->type == GEN_DNS || g->type == GEN_URI) {
            snprintf(one, sizeof one, "%s:%.*s", g->type == GEN_DNS ? "DNS" : "URI",
                     ASN1_STRING_length(g->d.ia5), ASN1_STRING_get0_data(g->d.ia5));
        } else if (g->type == GEN_IPADD) {
            char *ip = i2s_ASN1_OCTET_STRING(NULL, g->d.ip); /* hex: enough to compare */
            snprintf(one, sizeof one, "IP:%d", ASN1_STRING_length(g->d.ip));
            OPENSSL_free(ip);
        }
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", used > 0 ? "," : "", one);
    }
    GENERAL_NAMES_free(names);
}

static void check_leaf(X509 *x, uint32_t xku)
{
    CHECK_EQ(X509_check_ca(x), 0);
    CHECK_EQ(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
    CHECK_EQ(X509_get_extended_key_usage(x), xku);
}

static void test_init(void)
{
    RUN_OK("init", dir);
    X509 *ca = load("ca"), *server = load("server"), *client = load("client");
    CHECK_EQ(X509_check_ca(ca), 1);
    CHECK_EQ(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    CHECK_EQ(X509_get_pathlen(ca), 0);
    CHECK_EQ(X509_check_issued(ca, ca), X509_V_OK);
    check_leaf(server, XKU_SSL_SERVER);
    check_leaf(client, XKU_SSL_CLIENT);
    CHECK_EQ(X509_check_host(server, "localhost", 0, 0, NULL), 1);
    CHECK_EQ(X509_check_ip_asc(server, "127.0.0.1", 0), 1);
    CHECK_EQ(X509_check_ip_asc(server, "::1", 0), 1);
    CHECK_EQ(X509_check_host(client, "client", 0, 0, NULL), 1);
    X509 *all[] = {ca, server, client};
    const char *names[] = {"ca", "server", "client"};
    for (int i = 0; i < 3; i++) {
        EVP_PKEY *key = load_key(names[i]);
        CHECK(EVP_PKEY_is_a(key, "EC"));
        CHECK_EQ(EVP_PKEY_get_bits(key), 256);
        CHECK_EQ(X509_check_private_key(all[i], key), 1);
        CHECK_EQ(X509_get_signature_nid(all[i]), NID_ecdsa_with_SHA256);
        EVP_PKEY_free(key);
        char f[64];
        snprintf(f, sizeof f, "%s.key", names[i]);
        CHECK_EQ(mode_of(f), 0600);
        snprintf(f, sizeof f, "%s.pem", names[i]);
        CHECK_EQ(mode_of(f), 0644);
    }
    char cn[64];
    X509_NAME_get_text_by_NID(X509_get_subject_name(server), NID_commonName, cn,
                              sizeof cn);
    CHECK_STR(cn, "localhost");
    CHECK_EQ(verify("server", X509_PURPOSE_SSL_SERVER, 2, only_ca, NULL), X509_V_OK);
    CHECK_EQ(verify("client", X509_PURPOSE_SSL_CLIENT, 2, only_ca, NULL), X509_V_OK);
    /* The purposes are told apart. */
    CHECK_EQ(verify("client", X509_PURPOSE_SSL_SERVER, 2, only_ca, NULL),
             X509_V_ERR_INVALID_PURPOSE);

    /* Never a second CA over the first without --force. */
    RUN_FAILS(3, "exists", "init", dir);
    X509 *again = load("ca");
    CHECK_EQ(X509_cmp(again, ca), 0);
    X509_free(again);
    RUN_FAILS(3, "--force", "ca", dir, "ca");
    RUN_OK("init", dir, "--force", "--cn", "zmtls test CA", "--pathlen", "2");
    again = load("ca");
    CHECK(X509_cmp(again, ca) != 0);
    CHECK_EQ(X509_get_pathlen(again), 2);
    X509_NAME_get_text_by_NID(X509_get_subject_name(again), NID_commonName, cn,
                              sizeof cn);
    CHECK_STR(cn, "zmtls test CA");
    CHECK_EQ(verify("server", X509_PURPOSE_SSL_SERVER, 2, only_ca, NULL), X509_V_OK);
    X509_free(again);
    X509_free(ca);
    X509_free(server);
    X509_free(client);
}

static void test_names(void)
{
    char sans[512];
    RUN_OK("server", dir, "node", "--san", "dns:x.example,ip:1.2.3.4", "--san",
           "uri:spiffe://td/x", "--days", "10");
    X509 *x = load("node");
    san_text(x, sans, sizeof sans);
    CHECK_STR(sans, "DNS:x.example,IP:4,URI:spiffe://td/x");
    CHECK_EQ(X509_check_host(x, "x.example", 0, 0, NULL), 1);
    CHECK_EQ(X509_check_ip_asc(x, "1.2.3.4", 0), 1);
    int days, secs;
    CHECK_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)),
             1);
    CHECK_EQ(days, 10);
    CHECK_EQ(secs, 0);
    check_leaf(x, XKU_SSL_SERVER);
    X509_free(x);

    RUN_OK("client", dir, "worker");
    x = load("worker");
    san_text(x, sans, sizeof sans);
    CHECK_STR(sans, "DNS:worker");
    check_leaf(x, XKU_SSL_CLIENT);
    X509_free(x);

    RUN_OK("server", dir, "10.1.2.3", "--eku", "server,client");
    x = load("10.1.2.3");
    san_text(x, sans, sizeof sans);
    CHECK_STR(sans, "IP:4");
    check_leaf(x, XKU_SSL_SERVER | XKU_SSL_CLIENT);
    X509_free(x);
    CHECK_EQ(verify("10.1.2.3", X509_PURPOSE_SSL_CLIENT, 2, only_ca, NULL), X509_V_OK);
}

static void test_chain_and_crl(void)
{
    RUN_OK("ca", dir, "root", "--cn", "root", "--pathlen", "1");
    RUN_OK("ca", dir, "mid", "--issuer", "root");
    X509 *mid = load("mid");
    CHECK_EQ(X509_get_pathlen(mid), 0);
    X509_free(mid);
    RUN_FAILS(1, "pathlen 0", "ca", dir, "deeper", "--issuer", "mid");
    RUN_OK("client", dir, "leaf", "--issuer", "mid");
    STACK_OF(X509) *file = load_all("leaf");
    CHECK_EQ(sk_X509_num(file), 2);
    sk_X509_pop_free(file, X509_free);
    const char *const root[] = {"root", NULL};
    CHECK_EQ(verify("leaf", X509_PURPOSE_SSL_CLIENT, 2, root, NULL), X509_V_OK);

    char root_crl[512], mid_crl[512];
    snprintf(root_crl, sizeof root_crl, "%s", in_dir("root-crl.pem"));
    snprintf(mid_crl, sizeof mid_crl, "%s", in_dir("mid-crl.pem"));
    const char *const crls[] = {root_crl, mid_crl, NULL};
    RUN_OK("crl", dir, "--issuer", "root");
    RUN_OK("crl", dir, "--issuer", "mid");
    CHECK_EQ(verify("leaf", X509_PURPOSE_SSL_CLIENT, 2, root, crls), X509_V_OK);
    RUN_OK("revoke", dir, "leaf", "--issuer", "mid");
    RUN_OK("revoke", dir, "leaf", "--issuer", "mid"); /* twice: a note, not an error */
    CHECK(strstr(err_text, "already revoked") != NULL);
    RUN_OK("crl", dir, "--issuer", "mid", "--days", "7");
    CHECK_EQ(verify("leaf", X509_PURPOSE_SSL_CLIENT, 2, root, crls),
             X509_V_ERR_CERT_REVOKED);
    X509_CRL *crl = load_crl(crls[1]);
    CHECK_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
    int days, secs;
    CHECK_EQ(ASN1_TIME_diff(&days, &secs, X509_CRL_get0_lastUpdate(crl),
                            X509_CRL_get0_nextUpdate(crl)),
             1);
    CHECK_EQ(days, 7);
    X509_CRL_free(crl);
    RUN_FAILS(1, "was not issued by", "revoke", dir, "leaf");
    RUN_FAILS(1, "was not issued by", "revoke", dir, in_dir("worker.pem"), "--issuer",
              "mid");
}

static void test_odd_certificates(void)
{
    RUN_OK("client", dir, "expired", "--not-before", "2020-01-01", "--not-after",
           "2020-02-01T00:00:00Z");
    CHECK_EQ(verify("expired", X509_PURPOSE_SSL_CLIENT, 2, only_ca, NULL),
             X509_V_ERR_CERT_HAS_EXPIRED);

    RUN_OK("client", dir, "weak", "--key", "rsa:1024");
    CHECK(strstr(err_text, "security level 2") != NULL);
    EVP_PKEY *key = load_key("weak");
    CHECK(EVP_PKEY_is_a(key, "RSA"));
    CHECK_EQ(EVP_PKEY_get_bits(key), 1024);
    EVP_PKEY_free(key);
    CHECK_EQ(verify("weak", X509_PURPOSE_SSL_CLIENT, 1, only_ca, NULL), X509_V_OK);
    CHECK_EQ(verify("weak", X509_PURPOSE_SSL_CLIENT, 2, only_ca, NULL),
             X509_V_ERR_EE_KEY_TOO_SMALL);

    RUN_OK("server", dir, "pinned", "--self-signed", "--san", "dns:localhost");
    X509 *x = load("pinned");
    CHECK_EQ(X509_check_issued(x, x), X509_V_OK);
    CHECK_EQ(X509_check_ca(x), 1);
    CHECK_EQ(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN);
    X509_free(x);
    const char *const self[] = {"pinned", NULL};
    CHECK_EQ(verify("pinned", X509_PURPOSE_SSL_SERVER, 2, self, NULL), X509_V_OK);

    RUN_OK("server", dir, "caleaf", "--ca-flag", "--san", "dns:localhost");
    x = load("caleaf");
    CHECK_EQ(X509_check_ca(x), 1);
    CHECK(X509_check_issued(x, x) != X509_V_OK);
    X509_free(x);

    RUN_OK("client", dir, "ed", "--key", "ed25519");
    key = load_key("ed");
    CHECK(EVP_PKEY_is_a(key, "ED25519"));
    EVP_PKEY_free(key);
    CHECK_EQ(verify("ed", X509_PURPOSE_SSL_CLIENT, 2, only_ca, NULL), X509_V_OK);
}

static void test_refusals(void)
{
    RUN_FAILS(2, "no command", NULL);
    RUN_FAILS(2, "unknown command", "mint", dir);
    RUN_FAILS(2, "expected DIR NAME", "server", dir);
    RUN_FAILS(2, "unexpected argument", "server", dir, "a", "b");
    RUN_FAILS(2, "unknown option", "server", dir, "a", "--colour");
    RUN_FAILS(2, "needs a value", "server", dir, "a", "--san");
    RUN_FAILS(2, "does not apply", "crl", dir, "--san", "dns:x");
    RUN_FAILS(2, "name ../x", "server", dir, "../x");
    RUN_FAILS(2, "unknown type", "server", dir, "a", "--san", "dn:x");
    RUN_FAILS(2, "not an IPv4 or IPv6", "server", dir, "a", "--san", "ip:1.2.3");
    RUN_FAILS(2, "not a host name", "server", dir, "a", "--san", "dns:a b");
    RUN_FAILS(2, "trust domain", "client", dir, "a", "--san", "uri:spiffe:///x");
    RUN_FAILS(2, "no such date", "client", dir, "a", "--not-before", "2021-02-30");
    RUN_FAILS(2, "--days and --not-after", "client", dir, "a", "--days", "3",
              "--not-after", "2030-01-01");
    RUN_FAILS(2, "--key rsa:512", "client", dir, "a", "--key", "rsa:512");
    RUN_FAILS(2, "--days 0", "client", dir, "a", "--days", "0");
    RUN_FAILS(2, "server and client", "client", dir, "a", "--eku", "email");
    RUN_FAILS(2, "--self-signed has no --issuer", "client", dir, "a", "--self-signed",
              "--issuer", "ca");
    RUN_FAILS(2, "must come after", "client", dir, "a", "--not-before", "2030-01-01",
              "--not-after", "2029-01-01");
    /* No CA where one is needed: exit 1 and a hint. */
    RUN_FAILS(1, "init", "server", in_dir("empty"), "a");
    RUN_FAILS(1, "not a CA", "client", dir, "a", "--issuer", "worker");
    CHECK(access(in_dir("a.pem"), F_OK) != 0);
    CHECK(access(in_dir("a.key"), F_OK) != 0);

    RUN_OK("--help");
    static const char *const words[] = {
        "init DIR",        "ca DIR NAME", "server DIR NAME", "client DIR NAME",
        "revoke DIR CERT", "crl DIR",     "--issuer",        "--cn",
        "--san",           "--eku",       "--days",          "--not-before",
        "--not-after",     "--key",       "--pathlen",       "--self-signed",
        "--ca-flag",       "--out",       "--force",         "--version",
        "Exit status"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strstr(out_text, words[i]) == NULL) {
            fprintf(stderr, "--help does not mention %s\n", words[i]);
            CHECK(0);
        }
    }
    RUN_OK("server", "--help");
    RUN_OK("--version");
    CHECK(strncmp(out_text, "zmtls-certs ", 12) == 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

int main(int argc, char **argv)
{
    alarm(WATCHDOG_S);
    CHECK(argc == 2);
    tool = argv[1];
    snprintf(dir, sizeof dir, "/tmp/zmtls-certs-test-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    test_init();
    test_names();
    test_chain_and_crl();
    test_odd_certificates();
    test_refusals();
    CHECK_EQ(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
    printf("tools.certs: init verifies, names/usages/keys as asked, chains, CRLs, odd "
           "certificates and refusals all held\n");
    return 0;
}

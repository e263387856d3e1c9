/*
 * Certificates made at run time, for tests whose point is a validity period
 * that must be near whatever the age of the certificates scripts/make-certs.sh
 * made: signed by the test CA (ca.pem, ca.key in ZMTLS_TEST_CERTS).
 */
#ifndef ZMTLS_TEST_MINT_H
#define ZMTLS_TEST_MINT_H

/* A client certificate (CN "short-lived client", clientAuth, EC P-256)
 * valid from an hour ago until `seconds` from now, and its key, as PEM text
 * (free both). CHECK-fails on any OpenSSL error. */
void tu_mint_client(long seconds, char **cert_pem, char **key_pem);
/* The same for either side: server 1 gives a serverAuth certificate for
 * 127.0.0.1 and localhost (CN "short-lived server"). */
void tu_mint(int server, long seconds, char **cert_pem, char **key_pem);
/* The same with the subjectAltName given in OpenSSL's config form
 * ("DNS:a,URI:spiffe://x/y"; NULL: the default above) and ou_count OU
 * entries of about 50 bytes each added to the subject after the CN. */
void tu_mint_named(int server, long seconds, const char *san, int ou_count,
                   char **cert_pem, char **key_pem);

#endif

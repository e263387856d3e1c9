/*
 * ZMQ_TCP_ACCEPT_FILTER for tls:// binds: the list of "address/mask"
 * entries that source addresses must match, with libzmq 4.3's syntax and
 * matching rules, so an allow-list written for tcp:// means the same over
 * tls://.
 *
 * Syntax of one entry (as libzmq's tcp_address_mask_t reads it): an IP
 * literal, optionally in brackets and with a "%zone" suffix (accepted and
 * ignored for matching), then optionally "/MASK". MASK is "0" or a number
 * from 1 up to 32 (IPv4) or 128 (IPv6), read as strtol does (leading
 * blanks, trailing junk ignored); an empty MASK after "/" is an error, no
 * "/" means the whole address. The literal is read by getaddrinfo with
 * AI_NUMERICHOST in one family: AF_INET6 with AI_V4MAPPED when ZMQ_IPV6
 * was set on the socket when the entry was added, else AF_INET. So with
 * ZMQ_IPV6 "127.0.0.1" is ::ffff:127.0.0.1, and without it "::1" is an
 * error.
 *
 * Matching (libzmq's): a peer matches an entry when their families are the
 * same and the first MASK bits of the addresses are equal; an empty list
 * lets every peer in. A listener of a socket with ZMQ_IPV6 set sees IPv4
 * peers as IPv4-mapped IPv6 addresses, because libzmq's listener is then
 * an IPv6 socket; policy_accept_match takes that into account.
 *
 * Threading: a list belongs to one thread at a time (the socket's
 * application thread, then a copy on the I/O thread); no locks.
 */
#ifndef ZMTLS_POLICY_ACCEPT_FILTER_H
#define ZMTLS_POLICY_ACCEPT_FILTER_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/* libzmq refuses longer option values (UCHAR_MAX). */
#define POLICY_ACCEPT_TEXT_MAX 255

typedef struct policy_accept_entry {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* 4 bytes used for AF_INET */
    int mask;         /* leading bits compared, 0..32 or 0..128 */
} policy_accept_entry_t;

typedef struct policy_accept_list {
    policy_accept_entry_t *entry; /* owned; NULL when empty */
    size_t count;
    size_t cap;
} policy_accept_list_t;

/* Parses one entry from `text` (len bytes; like libzmq, the text ends at
 * the first NUL within them). ipv6: ZMQ_IPV6 of the socket now. Returns 0
 * or -EINVAL. Pure apart from getaddrinfo (numeric only: no DNS) and
 * if_nametoindex for a named zone. */
int policy_accept_parse(const void *text, size_t len, int ipv6,
                        policy_accept_entry_t *out);

/* Appends an entry. 0 or -ENOMEM (the list is unchanged). */
int policy_accept_add(policy_accept_list_t *l, const policy_accept_entry_t *e);

/* Empties the list and frees its memory; the list stays usable. */
void policy_accept_clear(policy_accept_list_t *l);

/* Makes *dst a copy of src (dst's old entries freed). 0 or -ENOMEM (dst
 * then empty). */
int policy_accept_copy(policy_accept_list_t *dst, const policy_accept_list_t *src);

/* 1 when a connection from `peer` (AF_INET or AF_INET6) may be accepted:
 * the list is empty or an entry matches. as_ipv6: the listening socket had
 * ZMQ_IPV6, so an AF_INET peer is compared as its IPv4-mapped IPv6
 * address, as libzmq's IPv6 listener would see it. Any other family never
 * matches a non-empty list. */
int policy_accept_match(const policy_accept_list_t *l, const struct sockaddr *peer,
                        int as_ipv6);

#endif

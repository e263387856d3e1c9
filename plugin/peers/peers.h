/*
 * Who is on the other end: the certificate of every authenticated tls://
 * peer, for zmtls_peer_property() and zmtls_endpoint_peer_property().
 *
 * Records are added and removed by the I/O thread (a conn's handshake
 * succeeded / it ended) and read by application threads, hence the lock
 * inside. Lookups copy out under the lock.
 */
#ifndef ZMTLS_PEERS_H
#define ZMTLS_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "tls/tls.h"

typedef struct peer_key {
    uint32_t sock_id;
    uint32_t ep_id;
    const uint8_t *routing_id; /* as the application socket sees the peer */
    size_t routing_id_len;
} peer_key_t;

/* Records a peer under `owner` (the conn); what info holds moves into the
 * record (freed here on failure). user_id: what a ZAP handler named the
 * peer, "" without ZAP. -ENOMEM leaves the peer unknown. */
int peers_add(const void *owner, const peer_key_t *key, tls_peer_info_t *info,
              const char *address, const char *user_id);
void peers_remove(const void *owner);

/* Properties: "Subject", "Issuer", "SAN" (every entry, joined with ','),
 * "SAN-Count", "SAN.<i>" (entry i, from 0, decimal without leading zeros),
 * "SPIFFE-ID" ("" when none), "Serial", "Peer-Address", "Resumed",
 * "User-Id" (the ZAP handler's, "" without ZAP).
 * Copies property `name` of the peer with this routing id (or, when
 * routing_id is NULL, the newest peer of endpoint ep_id) into buf,
 * NUL-terminated and truncated to len. Returns the value's full length, or
 * -ENOENT (no such peer), -EINVAL (unknown property). */
int peers_get(uint32_t sock_id, uint32_t ep_id, const uint8_t *routing_id,
              size_t routing_id_len, const char *name, char *buf, size_t len);

#endif

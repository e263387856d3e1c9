/* Authenticated peers' certificates: see peers.h. */
#include "peers/peers.h"

#include "io/io.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct peer_rec {
    const void *owner;
    uint32_t sock_id;
    uint32_t ep_id;
    uint8_t rid[255];
    size_t rid_len;
    tls_peer_info_t info;
    char address[64];
    struct peer_rec *next; /* newest first */
} peer_rec_t;

static io_shared_lock_t peers_table_lock = IO_SHARED_LOCK_INIT;
static peer_rec_t *peers_list;

int peers_add(const void *owner, const peer_key_t *key, const tls_peer_info_t *info,
              const char *address)
{
    peer_rec_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    r->owner = owner;
    r->sock_id = key->sock_id;
    r->ep_id = key->ep_id;
    r->rid_len = key->routing_id_len <= sizeof(r->rid) ? key->routing_id_len : 0;
    if (r->rid_len > 0)
        memcpy(r->rid, key->routing_id, r->rid_len);
    r->info = *info;
    snprintf(r->address, sizeof(r->address), "%s", address);
    io_shared_lock(&peers_table_lock);
    r->next = peers_list;
    peers_list = r;
    io_shared_unlock(&peers_table_lock);
    return 0;
}

void peers_remove(const void *owner)
{
    io_shared_lock(&peers_table_lock);
    for (peer_rec_t **pp = &peers_list; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->owner == owner) {
            peer_rec_t *r = *pp;
            *pp = r->next;
            free(r);
            break;
        }
    }
    io_shared_unlock(&peers_table_lock);
}

static const char *peers_prop(const peer_rec_t *r, const char *name)
{
    if (strcmp(name, "Subject") == 0)
        return r->info.subject;
    if (strcmp(name, "Issuer") == 0)
        return r->info.issuer;
    if (strcmp(name, "SAN") == 0)
        return r->info.san;
    if (strcmp(name, "Serial") == 0)
        return r->info.serial;
    if (strcmp(name, "Peer-Address") == 0)
        return r->address;
    if (strcmp(name, "Resumed") == 0)
        return r->info.resumed ? "1" : "0";
    return NULL;
}

int peers_get(uint32_t sock_id, uint32_t ep_id, const uint8_t *routing_id,
              size_t routing_id_len, const char *name, char *buf, size_t len)
{
    int rc = -ENOENT;
    io_shared_lock(&peers_table_lock);
    for (peer_rec_t *r = peers_list; r != NULL; r = r->next) {
        if (r->sock_id != sock_id)
            continue;
        if (routing_id != NULL ? r->rid_len != routing_id_len ||
                                     memcmp(r->rid, routing_id, routing_id_len) != 0
                               : r->ep_id != ep_id)
            continue;
        const char *v = peers_prop(r, name);
        if (v == NULL) {
            rc = -EINVAL;
            break;
        }
        if (len > 0)
            snprintf(buf, len, "%s", v);
        rc = (int)strlen(v);
        break;
    }
    io_shared_unlock(&peers_table_lock);
    return rc;
}

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
    char user_id[256];
    struct peer_rec *next; /* newest first */
} peer_rec_t;

static io_shared_lock_t peers_table_lock = IO_SHARED_LOCK_INIT;
static peer_rec_t *peers_list;

int peers_add(const void *owner, const peer_key_t *key, tls_peer_info_t *info,
              const char *address, const char *user_id)
{
    peer_rec_t *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        tls_peer_info_free(info);
        return -ENOMEM;
    }
    r->owner = owner;
    r->sock_id = key->sock_id;
    r->ep_id = key->ep_id;
    r->rid_len = key->routing_id_len <= sizeof(r->rid) ? key->routing_id_len : 0;
    if (r->rid_len > 0)
        memcpy(r->rid, key->routing_id, r->rid_len);
    r->info = *info; /* moves */
    memset(info, 0, sizeof(*info));
    snprintf(r->address, sizeof(r->address), "%s", address);
    snprintf(r->user_id, sizeof(r->user_id), "%s", user_id);
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
            tls_peer_info_free(&r->info);
            free(r);
            break;
        }
    }
    io_shared_unlock(&peers_table_lock);
}

/* "SAN.<i>": entry i, or NULL (unknown property) for anything else. */
static const char *peers_san_entry(const peer_rec_t *r, const char *name)
{
    const char *d = name + 4;
    if (*d < '0' || *d > '9' || (d[0] == '0' && d[1] != '\0'))
        return NULL;
    size_t i = 0;
    for (; *d >= '0' && *d <= '9'; d++) {
        if (i > (SIZE_MAX - 9) / 10)
            return NULL;
        i = i * 10 + (size_t)(*d - '0');
    }
    if (*d != '\0' || i >= r->info.san_count)
        return NULL;
    return r->info.san_entry[i];
}

/* The value, or NULL for an unknown property; count is a buffer for the
 * one value made on the fly. */
static const char *peers_prop(const peer_rec_t *r, const char *name, char count[24])
{
    if (strcmp(name, "Subject") == 0)
        return r->info.subject;
    if (strcmp(name, "Issuer") == 0)
        return r->info.issuer;
    if (strcmp(name, "SAN") == 0)
        return r->info.san;
    if (strcmp(name, "SAN-Count") == 0) {
        snprintf(count, 24, "%zu", r->info.san_count);
        return count;
    }
    if (strncmp(name, "SAN.", 4) == 0)
        return peers_san_entry(r, name);
    if (strcmp(name, "SPIFFE-ID") == 0)
        return r->info.spiffe_id;
    if (strcmp(name, "Serial") == 0)
        return r->info.serial;
    if (strcmp(name, "Peer-Address") == 0)
        return r->address;
    if (strcmp(name, "Resumed") == 0)
        return r->info.resumed ? "1" : "0";
    if (strcmp(name, "User-Id") == 0)
        return r->user_id;
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
        char count[24];
        const char *v = peers_prop(r, name, count);
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

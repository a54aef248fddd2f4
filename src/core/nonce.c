/* nonce.c: the per-address nonce tracker of pc_rpc (see rpc.h,
 * pc_rpc_next_nonce).
 *
 * One entry per address, created on first use and kept until the client is
 * destroyed. The table lock guards only the list; each entry has its own
 * lock, held while its first nonce is read from the node, so that senders
 * of one address queue behind that read while other addresses go on. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/rpc_internal.h"

typedef struct nonce_entry {
    pc_address addr;
    pthread_mutex_t lock;
    int known;     /* 0: read the node before handing out the next nonce */
    uint64_t next; /* valid if known */
    struct nonce_entry *next_entry;
} nonce_entry;

struct pc_nonce_table {
    pthread_mutex_t lock;
    nonce_entry *entries;
};

pc_nonce_table *pc_nonce_table_new(void)
{
    pc_nonce_table *t = calloc(1, sizeof *t);
    if (t && pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

void pc_nonce_table_free(pc_nonce_table *t)
{
    if (!t)
        return;
    nonce_entry *e = t->entries;
    while (e) {
        nonce_entry *next = e->next_entry;
        pthread_mutex_destroy(&e->lock);
        free(e);
        e = next;
    }
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* The entry of addr, created if `create` and missing; NULL if not found or
 * out of memory. Entries are never freed before the table, so the pointer
 * stays valid without the table lock. */
static nonce_entry *find_entry(pc_nonce_table *t, const pc_address *addr, int create)
{
    pthread_mutex_lock(&t->lock);
    nonce_entry *e = t->entries;
    while (e && !pc_address_equal(&e->addr, addr))
        e = e->next_entry;
    if (!e && create) {
        e = calloc(1, sizeof *e);
        if (e && pthread_mutex_init(&e->lock, NULL) != 0) {
            free(e);
            e = NULL;
        }
        if (e) {
            e->addr = *addr;
            e->next_entry = t->entries;
            t->entries = e;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return e;
}

int pc_rpc_next_nonce(pc_rpc *rpc, const pc_address *addr, uint64_t *nonce, pc_error *err)
{
    nonce_entry *e = find_entry(pc_rpc_nonce_table(rpc), addr, 1);
    if (!e)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    int ret = 0;
    pthread_mutex_lock(&e->lock);
    if (!e->known) {
        /* "pending" counts this sender's transactions still in the pool. */
        ret = pc_rpc_get_transaction_count(rpc, addr, "pending", &e->next, err);
        e->known = ret == 0;
    }
    if (ret == 0) {
        *nonce = e->next++;
    }
    pthread_mutex_unlock(&e->lock);
    return ret;
}

void pc_rpc_nonce_resync(pc_rpc *rpc, const pc_address *addr)
{
    nonce_entry *e = find_entry(pc_rpc_nonce_table(rpc), addr, 0);
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    e->known = 0;
    pthread_mutex_unlock(&e->lock);
}

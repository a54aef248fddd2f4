/* nonce.c: the per-address nonce tracker of pc_rpc (see rpc.h,
 * pc_rpc_nonce_reserve).
 *
 * One entry per address, created on first use and kept until the client is
 * destroyed. The table lock guards only the list; each entry has its own
 * lock, held from reserve to release: while one transaction of an address
 * is being signed and sent, the address's other senders wait, and other
 * addresses go on. So a nonce is handed out again only when the node did
 * not take it, and a re-read of the node's count never races with a
 * reserved nonce that is still on its way (which could hand it out twice). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/chain/rpc_internal.h"

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

int pc_rpc_nonce_reserve(pc_rpc *rpc, const pc_address *addr, uint64_t *nonce, pc_error *err)
{
    nonce_entry *e = find_entry(pc_rpc_nonce_table(rpc), addr, 1);
    if (!e)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    pthread_mutex_lock(&e->lock);
    if (!e->known) {
        /* "pending" counts this sender's transactions still in the pool. */
        if (pc_rpc_get_transaction_count(rpc, addr, "pending", &e->next, err) != 0) {
            pthread_mutex_unlock(&e->lock);
            return -1;
        }
        e->known = 1;
    }
    *nonce = e->next;
    return 0; /* e->lock stays held until pc_rpc_nonce_release */
}

void pc_rpc_nonce_release(pc_rpc *rpc, const pc_address *addr, int sent)
{
    nonce_entry *e = find_entry(pc_rpc_nonce_table(rpc), addr, 0);
    if (!e)
        return; /* no reserve came first: nothing is held */
    if (sent)
        e->next++;
    else
        e->known = 0; /* not taken: read the node again (another sender may have used it) */
    pthread_mutex_unlock(&e->lock);
}

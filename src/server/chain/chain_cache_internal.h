/* chain_cache_internal.h: shared by chain_cache.c (entries, reads on
 * demand, refresh ahead) and chain_follow.c (following the Mediators' events
 * block by block, and the node's health for /status). Not for other modules.
 *
 * Lock order: follow_lock -> map_lock -> an entry's lock. Nobody waits on
 * the node while holding map_lock or an entry's lock. */
#ifndef PAYCHAN_SERVER_CHAIN_CACHE_INTERNAL_H
#define PAYCHAN_SERVER_CHAIN_CACHE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "server/chain/chain_cache.h"
#include "core/runtime/ticker.h"

#define CACHE_BUCKETS 4096

typedef struct entry {
    pc_address mediator;
    struct entry *next; /* bucket chain, under the cache's map_lock */
    unsigned refs;      /* under map_lock; the map itself holds one while linked */
    int linked;         /* under map_lock */
    uint64_t last_used_ms;
    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t done_loading;
    int loading, has_terms, has_state;
    int want_refresh;      /* our own transaction changed it: read before serving */
    int followed;          /* the follower applies its events after at_block */
    uint64_t at_block;     /* the block the state was read at (or caught up to) */
    unsigned load_gen;     /* +1 at the end of every read, so waiters see its outcome */
    uint64_t load_started_ms; /* wall clock when the read in flight (or the last one) began */
    int last_rc;           /* outcome of the last read: 0 or -1 (then last_err) */
    pc_error last_err;
    uint64_t failed_at_ms; /* when the last read failed (0: it did not) */
    pc_mediator_view view;
} entry;

/* What the follower last learnt about the node, for /status. */
typedef struct follow_status {
    pc_node_status node;
    pc_u256 *balances;     /* [n_balance_accounts]; valid where balance_known */
    int *balance_known;
    uint64_t balances_at_ms;
} follow_status;

struct pc_chain_cache {
    pc_rpc *rpc;
    pc_chain_cache_options opts;
    pthread_mutex_t map_lock;
    entry *buckets[CACHE_BUCKETS];
    size_t n_entries;
    uint64_t loads; /* under map_lock */
    pc_ticker *refresher;

    /* following (chain_follow.c) */
    pthread_mutex_t follow_lock;  /* held while events are applied and while a read is installed */
    int following;                /* under follow_lock; 0 until the first head was seen */
    uint64_t followed_block;      /* under follow_lock: events up to it are applied */
    atomic_uint_fast64_t followed_at_ms; /* wall clock when followed_block was the head */
    uint64_t follow_range;        /* blocks per eth_getLogs: halved after a failure (follower only) */
    pc_ticker *follower;
    pthread_mutex_t status_lock;  /* guards status */
    follow_status status;
    pc_address *balance_accounts;
    size_t n_balance_accounts;
};

/* Wall clock in ms. */
uint64_t cache_now_ms(void);

/* Finds (or, with create, creates) the entry of `mediator` and takes a
 * reference; NULL when there is none (or no memory). */
entry *cache_find(pc_chain_cache *c, const pc_address *mediator, int create);

/* Drops a reference taken by cache_find. */
void cache_release(pc_chain_cache *c, entry *e);

/* Calls fn on every linked entry with map_lock held (fn must not wait). */
void cache_for_each(pc_chain_cache *c, void (*fn)(entry *e, void *ctx), void *ctx);

/* Starts following (and watching the node) / stops it. */
int follow_start(pc_chain_cache *c, pc_error *err);
void follow_stop(pc_chain_cache *c);

/* Installs a state just read for e (its lock not held) as e's view:
 * catches it up with the events of the blocks the follower has passed
 * since, then takes e->lock and stores it. Returns 0 with e->lock held, or
 * -1 (lock not held) when catching up failed. */
int follow_install(pc_chain_cache *c, entry *e, pc_mediator_view *view, pc_error *err);

#endif

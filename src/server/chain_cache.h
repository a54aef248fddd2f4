/* chain_cache.h: what the Payment Server knows about Mediators on chain,
 * kept off the request path (docs/protocol.md §5).
 *
 * Terms are immutable: read once, checked to be our genuine contract
 * (pc_mediator_verify_code) and kept for good. Mutable state (active and
 * soon-expiring token id, funds, termination) is cached for at most
 * min(tokenRedemptionTimeout / 2, terminationTimeout / 4), the bound
 * docs/protocol.md §5 allows because every change on a Mediator takes
 * effect only after a grace period. A refresher thread re-reads each entry when half of that
 * age has passed, so in the steady state no request waits on the node; a
 * request waits only on a Mediator's first use or when refreshing failed.
 * Concurrent misses for one Mediator make one node call, not many.
 *
 * The cache holds at most `max_entries` Mediators; the least recently used
 * one is dropped to make room. */
#ifndef PAYCHAN_SERVER_CHAIN_CACHE_H
#define PAYCHAN_SERVER_CHAIN_CACHE_H

#include <stdint.h>

#include "core/error.h"
#include "core/rpc.h"
#include "mediator/mediator.h"

typedef struct pc_chain_cache pc_chain_cache;

typedef struct pc_chain_cache_options {
    size_t max_entries;      /* default 100000 */
    uint64_t max_age_cap_ms; /* upper bound on any state age; default 30000 */
    uint64_t min_age_ms;     /* lower bound (very short timeouts); default 200 */
} pc_chain_cache_options;

/* One Mediator as the cache sees it. */
typedef struct pc_mediator_view {
    pc_mediator_terms terms;
    pc_mediator_state state;
    uint64_t fetched_at_ms; /* wall clock (ms) when state was read */
} pc_mediator_view;

/* Creates the cache and starts its refresher thread. opts may be NULL. */
pc_chain_cache *pc_chain_cache_create(pc_rpc *rpc, const pc_chain_cache_options *opts,
                                      pc_error *err);

/* Stops the refresher and frees everything. NULL is a no-op. */
void pc_chain_cache_destroy(pc_chain_cache *c);

/* The view of `mediator`, no older than its bound. Reads the chain only on
 * first use or when the cached state is too old. Fails with
 * PC_ERR_INVALID_ARGUMENT when the address holds no genuine Mediator, and
 * PC_ERR_NODE when the node cannot be asked. */
int pc_chain_cache_get(pc_chain_cache *c, const pc_address *mediator, pc_mediator_view *out,
                       pc_error *err);

/* The cached view of `mediator` if it is within its bound, without ever
 * waiting (no node read, no waiting on a lock): 1 with *out filled, else 0
 * (then pc_chain_cache_get is the way). For event loops. */
int pc_chain_cache_peek(pc_chain_cache *c, const pc_address *mediator, pc_mediator_view *out);

/* Marks the state of `mediator` stale, so the next get reads the chain
 * (call after a transaction of ours changed it). Terms stay. */
void pc_chain_cache_invalidate(pc_chain_cache *c, const pc_address *mediator);

/* Drops `mediator` entirely (e.g. after it terminated and was forgotten). */
void pc_chain_cache_forget(pc_chain_cache *c, const pc_address *mediator);

/* The longest age state of these terms may be served with, in ms. */
uint64_t pc_chain_cache_max_age_ms(const pc_chain_cache *c, const pc_mediator_terms *terms);

/* Number of node reads made so far (terms + state loads), for tests. */
uint64_t pc_chain_cache_loads(const pc_chain_cache *c);

#endif

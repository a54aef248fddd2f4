/* chain_cache.h: what the Payment Server knows about Mediators on chain,
 * kept off the request path (docs/protocol.md §5).
 *
 * Terms are immutable: read once, checked to be our genuine contract
 * (pc_mediator_verify_code) and kept for good. Mutable state (active and
 * soon-expiring token id, funds, termination) is served for at most
 * min(tokenRedemptionTimeout / 2, terminationTimeout / 4) after it was last
 * known to be current, the bound docs/protocol.md §5 allows because every change on a
 * Mediator takes effect only after a grace period.
 *
 * A state is read once (all reads pinned to one block hash) and then
 * followed from the contract's events: a follower thread asks the node for
 * the head block once per interval and, when blocks were added, for the
 * Mediator events in them with one eth_getLogs (by topic, for every
 * Mediator; ours are picked out locally), so idle node traffic does not grow
 * with the number of Mediators. Each block it passes makes every followed
 * state current again. If the node cannot be asked, states age and are read
 * again (refresh ahead, by a second thread) once half their bound is over.
 *
 * A request waits on the node only for a Mediator's first use, after our own
 * transaction changed it (pc_chain_cache_invalidate), when its state is
 * past its bound, or when it must be judged on a state read after it
 * arrived (pc_chain_cache_get_read_since: a token of an id the cache does
 * not know, which may have become active a moment ago). Concurrent readers of one Mediator share one read and its
 * outcome (no one retries after another's failure), and a failed read never
 * discards a state still within its bound: that state is served instead.
 * After a failed read, a Mediator without a usable state fails at once for a
 * second (PC_ERR_NODE) rather than asking a broken node again per request.
 *
 * The follower also keeps the node's health and the served accounts'
 * balances for /status, which must never wait on the node.
 *
 * The cache holds at most `max_entries` Mediators; the least recently used
 * one is dropped to make room. */
#ifndef PAYCHAN_SERVER_CHAIN_CACHE_H
#define PAYCHAN_SERVER_CHAIN_CACHE_H

#include <stdint.h>

#include "core/runtime/error.h"
#include "core/chain/rpc.h"
#include "mediator/mediator.h"

typedef struct pc_chain_cache pc_chain_cache;

typedef struct pc_chain_cache_options {
    size_t max_entries;      /* default 100000 */
    uint64_t max_age_cap_ms; /* upper bound on any state age; default 30000 */
    uint64_t min_age_ms;     /* lower bound (very short timeouts); default 200 */
    long follow_interval_ms; /* how often the follower asks for the head block; default 1000 */
    long read_deadline_ms;   /* longest a read of one Mediator may take as a whole; 0 = none */
    const pc_address *balance_accounts; /* accounts whose balances /status shows (copied) */
    size_t n_balance_accounts;
    /* Called on the follower thread for every Mediator event it sees in new
     * blocks (any Mediator's, cached or not), without the cache's locks
     * held, so it may use the cache; NULL: none. */
    void (*on_event)(void *ctx, const pc_mediator_event *ev);
    void *on_event_ctx;
} pc_chain_cache_options;

/* The node as the follower last saw it. */
typedef struct pc_node_status {
    int checked;            /* 0 until the first answer or failure */
    int reachable;          /* the last question was answered */
    uint64_t block;         /* the newest head block seen (0 if none) */
    uint64_t checked_at_ms; /* wall clock of the last question */
    char error[256];        /* why the last question failed ("" when reachable) */
} pc_node_status;

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
 * first use, after pc_chain_cache_invalidate, or when the cached state is
 * too old; if that read fails, a cached state still within its bound is
 * returned. Fails with
 * PC_ERR_INVALID_ARGUMENT when the address holds no genuine Mediator, and
 * PC_ERR_NODE when the node cannot be asked. */
int pc_chain_cache_get(pc_chain_cache *c, const pc_address *mediator, pc_mediator_view *out,
                       pc_error *err);

/* The view of `mediator` read from the node now, for answers that report
 * its state. Concurrent callers share one read and its outcome. Fails with
 * PC_ERR_NODE when the node cannot be asked (at once if a read failed less
 * than a second ago); the cached state stays either way. */
int pc_chain_cache_get_current(pc_chain_cache *c, const pc_address *mediator,
                               pc_mediator_view *out, pc_error *err);

/* The view of `mediator` as read from the node at or after since_ms (wall
 * clock, ms): the cached one if its read began then or later, else one read
 * now (a read in flight is shared only if it began then or later). For
 * deciding about something that arrived at since_ms and that a change on
 * chain made just before could make valid: a new token id is active the
 * moment its startTokenRedemption is mined, and the consumer may have seen
 * that block before us. Fails as pc_chain_cache_get_current. */
int pc_chain_cache_get_read_since(pc_chain_cache *c, const pc_address *mediator,
                                  uint64_t since_ms, pc_mediator_view *out, pc_error *err);

/* The cached view of `mediator` if it is within its bound, without ever
 * waiting (no node read, no waiting on a lock): 1 with *out filled, else 0
 * (then pc_chain_cache_get is the way). For event loops. */
int pc_chain_cache_peek(pc_chain_cache *c, const pc_address *mediator, pc_mediator_view *out);

/* Asks for the state of `mediator` to be read again before it is next
 * served (call after a transaction of ours changed it, or to report state
 * that must be current). The cached state stays: if that read fails, it is
 * still served within its bound. Terms stay. */
void pc_chain_cache_invalidate(pc_chain_cache *c, const pc_address *mediator);

/* Drops `mediator` entirely (e.g. after it terminated and was forgotten). */
void pc_chain_cache_forget(pc_chain_cache *c, const pc_address *mediator);

/* The longest age state of these terms may be served with, in ms. */
uint64_t pc_chain_cache_max_age_ms(const pc_chain_cache *c, const pc_mediator_terms *terms);

/* The node's health as last seen by the follower; never waits on the node. */
void pc_chain_cache_node_status(pc_chain_cache *c, pc_node_status *out);

/* The last balance read of opts->balance_accounts[index]: 1 with *wei, or 0
 * when none is known (not read yet, or the node failed). Never waits. */
int pc_chain_cache_balance(pc_chain_cache *c, size_t index, pc_u256 *wei);

/* Number of node reads made so far (terms + state loads), for tests. */
uint64_t pc_chain_cache_loads(const pc_chain_cache *c);

#endif

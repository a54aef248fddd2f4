/* readiness.h: how a started paychand becomes ready, and what it lacks.
 *
 * paychand serves HTTP before it has a node: /health, /status and /ready
 * answer at once, while a starter thread asks the node (retrying with
 * backoff, logged) until it answers, then checks the chain id (against
 * --chain-id if configured) and the store's chain identity (chain id +
 * genesis hash), makes the accounts' wallets if the chain id was not
 * configured, loads the stored Mediators, starts the chain cache and the
 * duties, and only then lets the endpoints that need the chain or the keys
 * run (until then they answer 503, code 101). A node of another chain, or
 * a store of another chain, found in the background is fatal: the starter
 * logs it as start-up always did and makes the process stop and exit 1
 * (main.c), since a server serving the wrong chain must not pretend.
 *
 * Ready (/ready 200) means: the chain side is up and the node answered the
 * follower's last question ("node"), the store takes writes ("store"), and
 * the accounts' keys can sign ("keys"). */
#ifndef PAYCHAN_SERVER_READINESS_H
#define PAYCHAN_SERVER_READINESS_H

#include <stddef.h>

#include "core/runtime/error.h"
#include "server/chain/chain_cache.h"

typedef struct pc_server pc_server;
typedef struct pc_readiness pc_readiness;

/* Starts the starter for s (its store open, accounts unlocked, and bound
 * already if cfg->chain_id is set): a ticker thread that makes the first
 * attempt at once, then retries with backoff from 250 ms doubling to 5 s.
 * NULL + *err if no thread. */
pc_readiness *pc_readiness_start(pc_server *s, pc_error *err);

/* Stops the starter, letting an attempt in progress finish (each node
 * request is bounded by --node-timeout), and frees. NULL is a no-op. */
void pc_readiness_stop(pc_readiness *r);

/* 1 once the chain side runs (cache, duties, wallets, s->chain_id final):
 * from then on the other threads may use them. Never waits. */
int pc_readiness_chain_up(const pc_readiness *r);

/* 1 when the starter met a fatal mismatch (the process is then asked to stop). */
int pc_readiness_failed(const pc_readiness *r);

/* The node as last seen: by the starter until the chain side is up, then
 * by the chain cache's follower. */
void pc_readiness_node_status(pc_readiness *r, pc_node_status *out);

/* What the server lacks now, for /ready and /status. */
#define PC_READY_MAX_MISSING 3
typedef struct pc_ready_report {
    size_t n_missing;
    const char *missing[PC_READY_MAX_MISSING]; /* "node", "store", "keys" (static strings) */
    char reason[PC_READY_MAX_MISSING][256];    /* why, one per missing item */
} pc_ready_report;

/* Fills *out; 1 when nothing is missing. Never waits on the node or the store. */
int pc_readiness_check(pc_readiness *r, pc_ready_report *out);

#endif

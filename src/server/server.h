/* server.h: the Payment Server's parts, wired together. One pc_server per
 * paychand process; every module receives it instead of reaching for
 * globals. Start-up order: node (chain id check) -> accounts -> store ->
 * the store's chain identity (chain id + genesis hash) against the node's
 * -> chain cache -> duties -> HTTP; shutdown is the reverse. */
#ifndef PAYCHAN_SERVER_SERVER_H
#define PAYCHAN_SERVER_SERVER_H

#include <pthread.h>

#include "core/ecdsa.h"
#include "core/rpc.h"
#include "server/accounts.h"
#include "server/address_set.h"
#include "server/chain_cache.h"
#include "server/config.h"
#include "server/nonce_cache.h"
#include "server/store.h"

typedef struct pc_duties pc_duties;
typedef struct pc_http pc_http;

typedef struct pc_server {
    const pc_config *cfg;
    pc_secp *secp;
    pc_rpc *rpc;
    uint64_t chain_id;
    pc_accounts *accounts;
    pc_store *store;
    pc_chain_cache *cache;
    pc_duties *duties;
    pc_http *http;
    /* Used request signatures (auth.c), unless the store is shared (Redis). */
    pc_nonce_cache *nonces;
    uint64_t started_at_us; /* unix time in µs: earlier request stamps are refused (auth.c) */
    /* Mediators already registered in the store as ours, one set per role
     * (index role - 1: one server may serve both ends; see payments.c). */
    pthread_mutex_t known_lock;
    pc_address_set known[2];
} pc_server;

/* Connects to the node (refusing a chain id other than cfg->chain_id),
 * unlocks the accounts, opens the store (refusing one whose data belongs to
 * another chain, see pc_store_check_chain_identity), starts the cache, the duties
 * timer and the HTTP listener. On failure everything started is stopped
 * again and *err says why. */
int pc_server_start(pc_server *s, const pc_config *cfg, pc_error *err);

/* Stops accepting requests, finishes those in flight, stops the duties,
 * flushes and closes the store. Safe on a partly started server. */
void pc_server_stop(pc_server *s);

#endif

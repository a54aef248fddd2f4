/* server.h: the Payment Server's parts, wired together. One pc_server per
 * paychand process; every module receives it instead of reaching for
 * globals. Start-up order: node client (nothing asked yet) -> accounts
 * unlocked (wallets too with --chain-id) -> store -> the starter thread
 * (readiness.h) -> HTTP, serving at once; in the background, once the node
 * answers: its chain id, the store's chain identity (chain id + genesis
 * hash) against the node's -> wallets -> stored Mediators -> chain cache
 * -> duties. Shutdown is the reverse. */
#ifndef PAYCHAN_SERVER_SERVER_H
#define PAYCHAN_SERVER_SERVER_H

#include <pthread.h>

#include "core/crypto/ecdsa.h"
#include "core/chain/rpc.h"
#include "server/accounts.h"
#include "server/address_set.h"
#include "server/chain/chain_cache.h"
#include "server/config.h"
#include "server/nonce_cache.h"
#include "server/readiness.h"
#include "server/store/store.h"
#include "server/money/unredeemed.h"

typedef struct pc_duties pc_duties;
typedef struct pc_http pc_http;
typedef struct pc_metrics pc_metrics;

typedef struct pc_server {
    const pc_config *cfg;
    pc_secp *secp;
    pc_rpc *rpc;
    uint64_t chain_id; /* --chain-id, else the node's once the chain side is up */
    pc_accounts *accounts;
    pc_store *store;
    pc_readiness *readiness; /* brings up what follows; says when it is up */
    pc_chain_cache *cache;   /* these two only once pc_readiness_chain_up */
    pc_duties *duties;
    pc_http *http;
    pc_metrics *metrics; /* counters for GET /metrics (never NULL once started) */
    pc_unredeemed *unredeemed; /* value validated, not yet redeemed (never NULL once started) */
    /* Used request signatures (auth.c), unless the store is shared (Redis). */
    pc_nonce_cache *nonces;
    char *admin_token;      /* --admin-token-file's content, or NULL (api.c) */
    uint64_t started_at_us; /* unix time in µs: earlier request stamps are refused (auth.c) */
    /* Mediators already registered in the store as ours, one set per role
     * (index role - 1: one server may serve both ends; see payments.c). */
    pthread_mutex_t known_lock;
    pc_address_set known[2];
} pc_server;

/* Unlocks the accounts, opens the store, starts the starter thread and the
 * HTTP listener, without waiting for the node: the starter connects to it
 * (refusing a chain id other than cfg->chain_id, and a store whose data
 * belongs to another chain, see pc_store_check_chain_identity) and starts
 * the cache and the duties timer (readiness.h). On failure everything
 * started is stopped again and *err says why. */
int pc_server_start(pc_server *s, const pc_config *cfg, pc_error *err);

/* 1 when the starter met a fatal mismatch in the background (logged; it
 * then sent the process SIGTERM): main exits non-zero. */
int pc_server_failed(const pc_server *s);

/* Stops accepting requests, finishes those in flight, stops the duties,
 * flushes and closes the store. Safe on a partly started server. */
void pc_server_stop(pc_server *s);

#endif

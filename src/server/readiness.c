/* readiness.c: the starter thread that brings up paychand's chain side
 * once the node answers, and the readiness report; see readiness.h. */
#include "server/readiness.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/runtime/logger.h"
#include "server/money/gas_ledger.h"
#include "server/money/money_ledger.h"
#include "server/money/duties.h"
#include "server/server.h"
#include "core/runtime/ticker.h"

#define FIRST_RETRY_MS 250L /* also how often the starter looks */
#define MAX_RETRY_MS 5000L /* a node that comes back is found within this */

enum step { UP, RETRY, FATAL };

struct pc_readiness {
    pc_server *s;
    pc_ticker *starter;
    pthread_mutex_t lock; /* guards node */
    pc_node_status node;  /* the starter's view of the node until chain_up */
    int chain_up;         /* atomic: see pc_readiness_chain_up */
    int failed;           /* atomic */
    /* the starter's own (its thread only) */
    int identified; /* the node's chain and the store's checked */
    int finished;   /* up or failed: nothing more to try */
    unsigned attempts;
    long delay_ms;            /* the next backoff */
    uint64_t next_attempt_ms; /* monotonic */
    int last_code;            /* the code of the last failure logged (0: none yet) */
};

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void note_node(pc_readiness *r, const pc_error *err)
{
    pthread_mutex_lock(&r->lock);
    r->node.checked = 1;
    r->node.checked_at_ms = wall_ms();
    r->node.reachable = err == NULL;
    snprintf(r->node.error, sizeof r->node.error, "%s", err ? err->message : "");
    pthread_mutex_unlock(&r->lock);
}

/* ---- the chain side, step by step --------------------------------------------------- */

/* Says, after a chain identity mismatch, whose data the store holds and
 * the ways out (the message of pc_store_check_chain_identity is short). */
static void explain_other_chain(const pc_server *s, const pc_chain_identity *stored,
                                const uint8_t genesis[32])
{
    const pc_config *cfg = s->cfg;
    int redis = cfg->store == PC_STORE_REDIS;
    char was[67], is[67], where[4200];
    pc_hex_encode(stored->genesis_hash, 32, was);
    pc_hex_encode(genesis, 32, is);
    if (redis)
        snprintf(where, sizeof where, "the keys %s* on Redis %s:%d", cfg->redis_prefix,
                 cfg->redis_host, cfg->redis_port);
    else
        snprintf(where, sizeof where, "%s/paychan.sqlite*", cfg->data_dir);
    PC_LOG_E("the data in %s belongs to chain %llu with genesis block %s; the node %s is chain "
             "%llu with genesis block %s: another chain (e.g. a dev chain started afresh), on "
             "which the stored Mediators do not exist",
             pc_store_describe(s->store), (unsigned long long)stored->chain_id, was, cfg->node_url,
             (unsigned long long)s->chain_id, is);
    PC_LOG_E("what to do: point --node-url at a node of chain %llu with that genesis block; or "
             "give this chain its own store (another %s); or, if the old chain is gone for good, "
             "remove %s (its Mediators and unredeemed tokens are then forgotten)",
             (unsigned long long)stored->chain_id, redis ? "--redis-prefix" : "--data-dir", where);
}

/* The node's chain id (against --chain-id) and genesis block, then the
 * store's chain identity: a store whose data belongs to another chain is
 * refused, an empty one adopts the node's chain. */
static enum step identify_chain(pc_readiness *r, pc_error *err)
{
    pc_server *s = r->s;
    uint64_t chain_id;
    uint8_t genesis[32];
    pc_chain_identity stored;
    int adopted = 0;
    if (pc_rpc_chain_id(s->rpc, &chain_id, err) != 0 ||
        pc_rpc_get_block_hash(s->rpc, 0, genesis, err) != 0) {
        note_node(r, err);
        return RETRY;
    }
    note_node(r, NULL);
    if (s->cfg->chain_id && s->cfg->chain_id != chain_id) {
        pc_error_set(err, PC_ERR_NODE,
                     "the node at %s is on chain %llu, but chain %llu is configured",
                     s->cfg->node_url, (unsigned long long)chain_id,
                     (unsigned long long)s->cfg->chain_id);
        return FATAL;
    }
    if (!s->cfg->chain_id) {
        PC_LOG_W("no chain id configured: using the node's (%llu)", (unsigned long long)chain_id);
        s->chain_id = chain_id; /* others read it once chain_up is published */
    }
    pc_error e = {0};
    if (pc_store_check_chain_identity(s->store, chain_id, genesis, &stored, &adopted, &e) != 0) {
        *err = e;
        if (e.code != PC_ERR_NODE) /* a storage fault, not a mismatch */
            return RETRY;
        explain_other_chain(s, &stored, genesis);
        return FATAL;
    }
    if (adopted)
        PC_LOG_I("storage %s: recorded as the data of chain %llu", pc_store_describe(s->store),
                 (unsigned long long)chain_id);
    r->identified = 1;
    return UP;
}

/* The Mediators of an earlier run: the duties resume them from here. */
static int load_known(pc_server *s, pc_error *err)
{
    pc_mediator_record *recs = NULL;
    size_t n = 0;
    if (pc_store_list_mediators(s->store, &recs, &n, err) != 0)
        return -1;
    pthread_mutex_lock(&s->known_lock); /* /status counts them meanwhile */
    for (size_t i = 0; i < n; i++)
        pc_address_set_add(&s->known[recs[i].role - 1], &recs[i].mediator);
    pthread_mutex_unlock(&s->known_lock);
    free(recs);
    PC_LOG_I("storage %s: %zu Mediators to resume", pc_store_describe(s->store), n);
    return 0;
}

/* The chain cache follows the Mediators and watches the node and the
 * served accounts' balances for /status. */
static int start_cache(pc_server *s, pc_error *err)
{
    size_t n = pc_accounts_count(s->accounts);
    pc_address *accounts = calloc(n + 1, sizeof *accounts);
    if (!accounts)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++)
        accounts[i] = *pc_accounts_address(s->accounts, i);
    pc_chain_cache_options o = {.follow_interval_ms = s->cfg->follow_interval_ms,
                                .read_deadline_ms = s->cfg->node_timeout_ms,
                                .balance_accounts = accounts,
                                .n_balance_accounts = n,
                                .on_event = pc_money_ledger_event,
                                .on_event_ctx = s};
    s->cache = pc_chain_cache_create(s->rpc, &o, err);
    free(accounts);
    return s->cache ? 0 : -1;
}

/* One attempt at the whole chain side; steps done stay done. */
static enum step bring_up(pc_readiness *r, pc_error *err)
{
    pc_server *s = r->s;
    enum step st = r->identified ? UP : identify_chain(r, err);
    if (st != UP)
        return st;
    if (!pc_accounts_at(s->accounts, 0)) { /* not bound at start (no --chain-id) */
        if (pc_accounts_bind(s->accounts, s->cfg, s->rpc, s->chain_id, err) != 0)
            return FATAL;
        pc_gas_ledger_attach(s); /* the new wallets' transactions are accounted too */
    }
    if (load_known(s, err) != 0)
        return RETRY;
    if (start_cache(s, err) != 0 || !(s->duties = pc_duties_start(s, err)))
        return FATAL;
    return UP;
}

/* ---- the starter ---------------------------------------------------------------------- */

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Logs a failed attempt: the first ones, then each time the number of
 * attempts doubles or the kind of failure (its code) changes, so a node
 * down for hours does not flood the log. The code, not the message: curl's
 * messages carry timings ("after 1 ms") that differ every time. */
static void log_retry(pc_readiness *r, long delay_ms, const pc_error *err)
{
    unsigned n = r->attempts;
    int changed = r->last_code != err->code;
    if (!changed && (n & (n - 1)) != 0)
        return;
    r->last_code = err->code;
    PC_LOG_W("not ready (attempt %u): %s (code %d); serving /health, /ready and /status, "
             "retrying in %ld ms", n, err->message, err->code, delay_ms);
}

/* A fatal mismatch: said as a failed start always was, then the process
 * is asked to stop (main.c exits 1 after a clean shutdown). */
static void fail(pc_readiness *r, const pc_error *err)
{
    PC_LOG_E("cannot start: %s (code %d)", err->message, err->code);
    __atomic_store_n(&r->failed, 1, __ATOMIC_RELEASE);
    kill(getpid(), SIGTERM); /* to the process: main's sigwait takes it */
}

/* The ticker's job (every FIRST_RETRY_MS): an attempt when the backoff
 * since the last one is over, until the chain side is up or failed. */
static void tick(void *arg)
{
    pc_readiness *r = arg;
    if (r->finished || monotonic_ms() < r->next_attempt_ms)
        return;
    pc_error err = {0};
    enum step st = bring_up(r, &err);
    r->attempts++;
    r->finished = st != RETRY;
    if (st == FATAL) {
        fail(r, &err);
    } else if (st == UP) {
        __atomic_store_n(&r->chain_up, 1, __ATOMIC_RELEASE);
        PC_LOG_I("ready: node %s (chain %llu)", r->s->cfg->node_url,
                 (unsigned long long)r->s->chain_id);
    } else {
        log_retry(r, r->delay_ms, &err);
        r->next_attempt_ms = monotonic_ms() + (uint64_t)r->delay_ms;
        r->delay_ms = r->delay_ms * 2 > MAX_RETRY_MS ? MAX_RETRY_MS : r->delay_ms * 2;
    }
}

pc_readiness *pc_readiness_start(pc_server *s, pc_error *err)
{
    pc_readiness *r = calloc(1, sizeof *r);
    if (!r) {
        pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    r->s = s;
    r->delay_ms = FIRST_RETRY_MS;
    pthread_mutex_init(&r->lock, NULL);
    if (!(r->starter = pc_ticker_start(tick, r, FIRST_RETRY_MS, err))) {
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
    }
    return r;
}

void pc_readiness_stop(pc_readiness *r)
{
    if (!r)
        return;
    pc_ticker_stop(r->starter);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int pc_readiness_chain_up(const pc_readiness *r)
{
    return r && __atomic_load_n(&r->chain_up, __ATOMIC_ACQUIRE);
}

int pc_readiness_failed(const pc_readiness *r)
{
    return r && __atomic_load_n(&r->failed, __ATOMIC_ACQUIRE);
}

/* ---- the report ---------------------------------------------------------------------- */

void pc_readiness_node_status(pc_readiness *r, pc_node_status *out)
{
    if (pc_readiness_chain_up(r)) {
        pc_chain_cache_node_status(r->s->cache, out);
        return;
    }
    pthread_mutex_lock(&r->lock);
    *out = r->node;
    pthread_mutex_unlock(&r->lock);
}

static void add_missing(pc_ready_report *out, const char *what, const char *reason)
{
    out->missing[out->n_missing] = what;
    snprintf(out->reason[out->n_missing], sizeof out->reason[0], "%s", reason);
    out->n_missing++;
}

int pc_readiness_check(pc_readiness *r, pc_ready_report *out)
{
    pc_node_status node;
    char why[256] = "";
    int up = pc_readiness_chain_up(r);
    memset(out, 0, sizeof *out);
    pc_readiness_node_status(r, &node);
    if (!node.checked)
        add_missing(out, "node", "the Ethereum node has not been asked yet");
    else if (!node.reachable)
        add_missing(out, "node", node.error);
    else if (!up)
        add_missing(out, "node", "the node answered: checking its chain and loading the store");
    if (!pc_store_writable(r->s->store, why, sizeof why))
        add_missing(out, "store", why);
    if (!up && !r->s->cfg->chain_id)
        add_missing(out, "keys", "the accounts' wallets wait for the node's chain id "
                                 "(--chain-id makes them at start)");
    return out->n_missing == 0;
}

/* server.c: see server.h. */
#include "server/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/logger.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/gas_ledger.h"
#include "server/duties.h"
#include "server/http.h"

static int connect_node(pc_server *s, pc_error *err)
{
    /* Every node request is bounded: a call that needs a slow or hung node
     * fails after node-timeout instead of tying up its thread. */
    pc_rpc_options o = {.request_timeout_ms = s->cfg->node_timeout_ms,
                        .max_response_bytes = (size_t)s->cfg->node_max_answer};
    if (!(s->secp = pc_secp_create()))
        return pc_error_set(err, PC_ERR_INTERNAL, "cannot create the secp256k1 context");
    if (!(s->rpc = pc_rpc_create(s->cfg->node_url, &o, err)))
        return -1;
    if (pc_rpc_chain_id(s->rpc, &s->chain_id, err) != 0)
        return -1;
    if (s->cfg->chain_id && s->cfg->chain_id != s->chain_id)
        return pc_error_set(err, PC_ERR_NODE,
                            "the node at %s is on chain %llu, but chain %llu is configured",
                            s->cfg->node_url, (unsigned long long)s->chain_id,
                            (unsigned long long)s->cfg->chain_id);
    if (!s->cfg->chain_id)
        PC_LOG_W("no chain id configured: using the node's (%llu)",
                 (unsigned long long)s->chain_id);
    return 0;
}

/* mkdir -p with mode 0700 for every directory it creates (existing ones are
 * left as they are): a fresh machine's --data-dir /var/lib/x/y should not
 * need a separate mkdir. */
static int make_dirs(const char *dir, pc_error *err)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path))
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "--data-dir: empty or too long");
    memcpy(path, dir, n + 1);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                                "cannot create the data directory %s (at %s): %s", dir, path,
                                strerror(errno));
        *p = c;
        if (!c)
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "--data-dir %s is not a directory", dir);
    return 0;
}

/* --visualizer names a directory that exists: a typo would otherwise only
 * show up as 404s at /visualizer/. */
static int check_visualizer(const pc_config *cfg, pc_error *err)
{
    struct stat st;
    if (!cfg->visualizer_dir)
        return 0;
    if (stat(cfg->visualizer_dir, &st) != 0)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "--visualizer %s: %s",
                            cfg->visualizer_dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "--visualizer %s: not a directory",
                            cfg->visualizer_dir);
    return 0;
}

static int open_store(pc_server *s, pc_error *err)
{
    char path[4096];
    pc_store_options o = {.backend = s->cfg->store,
                          .redis_host = s->cfg->redis_host,
                          .redis_port = s->cfg->redis_port,
                          .redis_prefix = s->cfg->redis_prefix,
                          .redis_accept_data_loss = s->cfg->redis_accept_data_loss};
    if (s->cfg->store == PC_STORE_SQLITE) {
        if (make_dirs(s->cfg->data_dir, err) != 0)
            return -1;
        snprintf(path, sizeof(path), "%s/paychan.sqlite", s->cfg->data_dir);
        o.sqlite_path = path;
    }
    s->store = pc_store_open(&o, err);
    if (s->store)
        pc_gas_ledger_attach(s); /* every transaction's gas is accounted from now on */
    return s->store ? 0 : -1;
}

/* The Mediators of an earlier run: the duties resume them from here. */
static int load_known(pc_server *s, pc_error *err)
{
    pc_mediator_record *recs = NULL;
    size_t n = 0;
    if (pc_store_list_mediators(s->store, &recs, &n, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        pc_address_set_add(&s->known[recs[i].role - 1], &recs[i].mediator);
    free(recs);
    PC_LOG_I("storage %s: %zu Mediators to resume", pc_store_describe(s->store), n);
    return 0;
}

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

/* Refuses a store whose data belongs to another chain than the node's; an
 * empty store adopts the node's chain. Needs the node to answer (genesis
 * block) and the store to be open. */
static int check_chain_identity(pc_server *s, pc_error *err)
{
    uint8_t genesis[32];
    pc_chain_identity stored;
    int adopted = 0;
    pc_error e = {0};
    if (pc_rpc_get_block_hash(s->rpc, 0, genesis, err) != 0)
        return -1;
    if (pc_store_check_chain_identity(s->store, s->chain_id, genesis, &stored, &adopted, &e) != 0) {
        if (e.code == PC_ERR_NODE) /* a mismatch, not a storage fault */
            explain_other_chain(s, &stored, genesis);
        if (err)
            *err = e;
        return -1;
    }
    if (adopted)
        PC_LOG_I("storage %s: recorded as the data of chain %llu", pc_store_describe(s->store),
                 (unsigned long long)s->chain_id);
    return 0;
}

/* Used request signatures live in memory unless instances share a Redis. */
static int open_nonces(pc_server *s, pc_error *err)
{
    if (s->cfg->store == PC_STORE_REDIS)
        return 0;
    if (!(s->nonces = pc_nonce_cache_create()))
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
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
        accounts[i] = *pc_wallet_address(pc_accounts_at(s->accounts, i));
    pc_chain_cache_options o = {.follow_interval_ms = s->cfg->follow_interval_ms,
                                .read_deadline_ms = s->cfg->node_timeout_ms,
                                .balance_accounts = accounts,
                                .n_balance_accounts = n};
    s->cache = pc_chain_cache_create(s->rpc, &o, err);
    free(accounts);
    return s->cache ? 0 : -1;
}

static int start_http(pc_server *s, pc_error *err)
{
    const pc_config *cfg = s->cfg;
    pc_http_options o = {.mode = cfg->http_mode, .loops = cfg->http_loops, .workers = cfg->http_workers,
                         .limits = cfg->http_limits};
    s->http = pc_http_start(cfg->listen_address, cfg->port, &o, pc_api_handle, s, err);
    return s->http ? 0 : -1;
}

int pc_server_start(pc_server *s, const pc_config *cfg, pc_error *err)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    s->started_at_us = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
    pthread_mutex_init(&s->known_lock, NULL);
    if (check_visualizer(cfg, err) != 0 || connect_node(s, err) != 0 ||
        !(s->accounts = pc_accounts_load(cfg, s->rpc, s->secp, s->chain_id, err)) ||
        open_store(s, err) != 0 || check_chain_identity(s, err) != 0 ||
        load_known(s, err) != 0 || open_nonces(s, err) != 0 || start_cache(s, err) != 0 ||
        !(s->duties = pc_duties_start(s, err)) ||
        start_http(s, err) != 0) {
        pc_server_stop(s);
        return -1;
    }
    for (size_t i = 0; i < pc_accounts_count(s->accounts); i++) {
        char addr[PC_ADDRESS_TEXT_LEN];
        pc_address_format_checksum(pc_wallet_address(pc_accounts_at(s->accounts, i)), addr);
        PC_LOG_I("serving account %s", addr);
    }
    PC_LOG_I("paychand listening on http://%s:%d, node %s (chain %llu)", cfg->listen_address,
             pc_http_port(s->http), cfg->node_url, (unsigned long long)s->chain_id);
    if (pc_auth_unstamped_warning(cfg))
        PC_LOG_W("%s", pc_auth_unstamped_warning(cfg));
    return 0;
}

void pc_server_stop(pc_server *s)
{
    pc_http_stop(s->http); /* first: no new requests; those in flight finish */
    pc_duties_stop(s->duties);
    pc_chain_cache_destroy(s->cache);
    pc_store_close(s->store);
    pc_nonce_cache_destroy(s->nonces);
    s->nonces = NULL;
    pc_accounts_free(s->accounts);
    pc_rpc_destroy(s->rpc);
    pc_secp_destroy(s->secp);
    pc_address_set_free(&s->known[0]);
    pc_address_set_free(&s->known[1]);
    pthread_mutex_destroy(&s->known_lock);
    s->http = NULL;
    s->duties = NULL;
    s->cache = NULL;
    s->store = NULL;
    s->accounts = NULL;
    s->rpc = NULL;
    s->secp = NULL;
}

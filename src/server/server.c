/* server.c: see server.h. */
#include "server/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/crypto/keystore.h"
#include "core/runtime/logger.h"
#include "server/api/api.h"
#include "server/auth.h"
#include "server/money/gas_ledger.h"
#include "server/api/metrics.h"
#include "server/money/duties.h"
#include "http/http.h"

/* The node client and the secp256k1 context: nothing is asked yet. */
static void observe_node_call(void *ctx, const char *method, int ok, uint64_t micros)
{
    (void)method;
    pc_metrics_node_call(ctx, ok, micros);
}

static void observe_durable_write(void *ctx, uint64_t micros)
{
    pc_metrics_durable_write(ctx, micros);
}

static int make_clients(pc_server *s, pc_error *err)
{
    /* Every node request is bounded: a call that needs a slow or hung node
     * fails after node-timeout instead of tying up its thread. */
    pc_rpc_options o = {.request_timeout_ms = s->cfg->node_timeout_ms,
                        .max_response_bytes = (size_t)s->cfg->node_max_answer};
    if (!(s->secp = pc_secp_create()))
        return pc_error_set(err, PC_ERR_INTERNAL, "cannot create the secp256k1 context");
    if (!(s->metrics = pc_metrics_create(pc_api_route_count())))
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    s->rpc = pc_rpc_create(s->cfg->node_url, &o, err);
    if (s->rpc)
        pc_rpc_set_observer(s->rpc, observe_node_call, s->metrics);
    return s->rpc ? 0 : -1;
}

/* Unlocks the keystores now (a wrong password stops the start at once);
 * with --chain-id the wallets too, so the keys are ready before the node. */
static int load_accounts(pc_server *s, pc_error *err)
{
    if (!(s->accounts = pc_accounts_unlock(s->cfg, s->secp, err)))
        return -1;
    s->chain_id = s->cfg->chain_id;
    if (s->cfg->chain_id &&
        pc_accounts_bind(s->accounts, s->cfg, s->rpc, s->cfg->chain_id, err) != 0)
        return -1;
    for (size_t i = 0; i < pc_accounts_count(s->accounts); i++) {
        char addr[PC_ADDRESS_TEXT_LEN];
        pc_address_format_checksum(pc_accounts_address(s->accounts, i), addr);
        PC_LOG_I("serving account %s", addr);
    }
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

/* The admin bearer token, read once at start (a file: a secret stays out
 * of argv and the environment). An empty file would admit everyone. */
static int read_admin_token(pc_server *s, pc_error *err)
{
    size_t len;
    if (!s->cfg->admin_token_file)
        return 0;
    if (!(s->admin_token = pc_keystore_read_secret_file(s->cfg->admin_token_file, &len, err)))
        return -1;
    if (len < 16)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                            "--admin-token-file %s: the token must have at least 16 characters",
                            s->cfg->admin_token_file);
    return 0;
}

static int open_store(pc_server *s, pc_error *err)
{
    char path[4096];
    pc_store_options o = {.backend = s->cfg->store,
                          .redis_host = s->cfg->redis_host,
                          .redis_port = s->cfg->redis_port,
                          .redis_prefix = s->cfg->redis_prefix,
                          .redis_accept_data_loss = s->cfg->redis_accept_data_loss,
                          .redis_sentinels = s->cfg->redis_sentinels,
                          .redis_master_name = s->cfg->redis_master_name,
                          .redis_wait_replicas = s->cfg->redis_wait_replicas,
                          .redis_wait_timeout_ms = s->cfg->redis_wait_timeout_ms,
                          .redis_command_timeout_ms = s->cfg->redis_command_timeout_ms,
                          .redis_start_wait_ms = s->cfg->redis_start_timeout_ms,
                          .count_sync_delay_ms = s->cfg->count_sync_delay_ms};
    if (s->cfg->store == PC_STORE_SQLITE) {
        if (make_dirs(s->cfg->data_dir, err) != 0)
            return -1;
        snprintf(path, sizeof(path), "%s/paychan.sqlite", s->cfg->data_dir);
        o.sqlite_path = path;
    }
    s->store = pc_store_open(&o, err);
    if (s->store)
        pc_store_set_observer(s->store, observe_durable_write, s->metrics);
    if (s->store)
        pc_gas_ledger_attach(s); /* every transaction's gas is accounted from now on */
    return s->store ? 0 : -1;
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

static int start_http(pc_server *s, pc_error *err)
{
    const pc_config *cfg = s->cfg;
    pc_http_options o = {.mode = cfg->http_mode, .loops = cfg->http_loops, .workers = cfg->http_workers,
                         .limits = cfg->http_limits, .observe = pc_api_observe, .observe_ctx = s,
                         .structured_params = pc_api_structured_params};
    /* requests are served (/metrics reads s->http) before pc_http_start returns */
    pc_http *http = pc_http_start(cfg->listen_address, cfg->port, &o, pc_api_handle, s, err);
    __atomic_store_n(&s->http, http, __ATOMIC_RELEASE);
    return http ? 0 : -1;
}

int pc_server_start(pc_server *s, const pc_config *cfg, pc_error *err)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    s->started_at_us = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
    pthread_mutex_init(&s->known_lock, NULL);
    /* Everything that needs no node; the rest comes up in the background
     * (readiness.h) while HTTP already serves. */
    if (check_visualizer(cfg, err) != 0 || read_admin_token(s, err) != 0 || make_clients(s, err) != 0 ||
        load_accounts(s, err) != 0 || open_store(s, err) != 0 || open_nonces(s, err) != 0 ||
        !(s->unredeemed = pc_unredeemed_new()) ||
        !(s->readiness = pc_readiness_start(s, err)) || start_http(s, err) != 0) {
        pc_server_stop(s);
        return -1;
    }
    PC_LOG_I("paychand listening on http://%s:%d, node %s (/ready says when it serves payments)",
             cfg->listen_address, pc_http_port(s->http), cfg->node_url);
    if (pc_auth_unstamped_warning(cfg))
        PC_LOG_W("%s", pc_auth_unstamped_warning(cfg));
    return 0;
}

int pc_server_failed(const pc_server *s)
{
    return pc_readiness_failed(s->readiness);
}

void pc_server_stop(pc_server *s)
{
    pc_http_stop(s->http); /* first: no new requests; those in flight finish */
    pc_readiness_stop(s->readiness); /* then nothing more is started */
    pc_duties_stop(s->duties);
    pc_chain_cache_destroy(s->cache);
    pc_store_close(s->store);
    pc_nonce_cache_destroy(s->nonces);
    s->nonces = NULL;
    pc_accounts_free(s->accounts);
    pc_rpc_destroy(s->rpc);
    pc_secp_destroy(s->secp);
    pc_metrics_free(s->metrics);
    s->metrics = NULL;
    pc_unredeemed_free(s->unredeemed);
    s->unredeemed = NULL;
    pc_address_set_free(&s->known[0]);
    pc_address_set_free(&s->known[1]);
    pthread_mutex_destroy(&s->known_lock);
    s->http = NULL;
    s->readiness = NULL;
    s->duties = NULL;
    s->cache = NULL;
    s->store = NULL;
    s->accounts = NULL;
    s->rpc = NULL;
    s->secp = NULL;
    pc_keystore_free_secret(s->admin_token);
    s->admin_token = NULL;
}

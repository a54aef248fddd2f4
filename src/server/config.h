/* config.h: paychand's configuration, from (in increasing precedence)
 * built-in defaults, a config file, environment variables and the command
 * line. The file has one `key = value` per line (`#` starts a comment); its
 * keys are the long option names without dashes' leading "--", e.g.
 *
 *     node-url = http://127.0.0.1:8545
 *     chain-id = 31337
 *     port = 3001
 *     store = sqlite
 *     data-dir = /var/lib/paychan
 *     account = /etc/paychan/persistence.json:/etc/paychan/persistence.pass
 *     account = /etc/paychan/random.json:/etc/paychan/random.pass
 *
 * Environment (the seed's names are honoured): ETH_NODE_URL, REDIS_HOST,
 * REDIS_PORT, PORT, and PAYCHAN_<KEY> for every key (dashes as underscores,
 * upper case: PAYCHAN_CHAIN_ID, PAYCHAN_STORE, ...; PAYCHAN_CONFIG names the
 * file). `pc_config_usage` prints every option with its default. */
#ifndef PAYCHAN_SERVER_CONFIG_H
#define PAYCHAN_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/runtime/error.h"
#include "core/runtime/logger.h"
#include "http/http.h"
#include "server/store/store.h"

#define PC_CONFIG_MAX_ACCOUNTS 32

/* One served account: a V3 keystore with its password file, or (only with
 * dev_mode) a raw hex key. */
typedef struct pc_account_config {
    char *keystore_path;
    char *password_path;
    char *dev_key_hex; /* "0x" + 64 hex digits; NULL unless dev mode */
} pc_account_config;

typedef struct pc_config {
    char *config_path;          /* --config FILE, or NULL */
    char *node_url;             /* --node-url / ETH_NODE_URL; default http://127.0.0.1:8545 */
    uint64_t chain_id;          /* --chain-id; 0 = accept the node's (logged) */
    char *listen_address;       /* --listen; default 127.0.0.1 */
    int port;                   /* --port / PORT; default 3000 */
    pc_store_backend store;     /* --store sqlite|redis|memory; default sqlite */
    char *data_dir;             /* --data-dir; default ./paychan-data (SQLite file inside) */
    char *redis_host;           /* --redis-host / REDIS_HOST; default 127.0.0.1 */
    int redis_port;             /* --redis-port / REDIS_PORT; default 6379 */
    char *redis_prefix;         /* --redis-prefix; default paychan: */
    int redis_accept_data_loss; /* --redis-accept-data-loss: run on a Redis that may lose writes */
    char *redis_sentinels;      /* --redis-sentinels HOST:PORT,...; NULL = no Sentinel */
    char *redis_master_name;    /* --redis-master-name; default mymaster */
    int redis_wait_replicas;    /* --redis-wait-replicas N; -1 (unset) = 1 if replicas exist */
    int redis_wait_timeout_ms;  /* --redis-wait-timeout MS; default 1000 */
    int redis_command_timeout_ms; /* --redis-command-timeout MS; default 10000 */
    int redis_start_timeout_ms;   /* --redis-start-timeout MS; default 30000 */
    int count_sync_delay_ms;      /* --count-sync-delay MS; default 20 (store.h) */
    pc_account_config accounts[PC_CONFIG_MAX_ACCOUNTS]; /* --account KEYSTORE:PASSWORDFILE */
    size_t n_accounts;
    int dev_mode;               /* --dev: allows --dev-key HEX (raw keys) */
    int allow_unstamped_auth;   /* --allow-unstamped-auth: the original scheme (protocol §3) */
    int auth_window_s;          /* --auth-window SECONDS; default 60 */
    int duty_interval_ms;       /* --duty-interval MS; default 2000 */
    uint64_t redeem_after_s;    /* --redeem-after SECONDS: redeem tokens older than this; default 3600 */
    /* when redemption pays for itself (redeem_policy.h) */
    uint64_t redeem_gas_multiple; /* --redeem-gas-multiple N; default 10; 0 = do not weigh gas */
    uint64_t redemption_gas;      /* --redemption-gas GAS: a cycle: start, then redeem and pay out in one call; default 150000 */
    uint64_t max_fee_per_gas;     /* --max-fee-per-gas WEI: only deadline-forced above it; 0 = none */
    int receipt_timeout_ms;     /* --receipt-timeout MS; default 60000 */
    pc_log_level log_level;     /* --log-level error|warn|info|debug; default info */
    int log_json;               /* --log-format json: 1; text (default): 0 */
    int access_log_every;       /* --access-log N: a line per Nth request; 0 = none */
    char *metrics_token;        /* --metrics-token: bearer token for /metrics (NULL = open) */
    char *admin_token_file;     /* --admin-token-file: a bearer token that reads /admin (NULL = none) */
    char *visualizer_dir;       /* --visualizer DIR: serve it at /visualizer/ (NULL = off) */
    pc_http_mode http_mode;     /* --http-mode threads|pool; default threads (see http.h) */
    int http_workers;           /* --http-workers: pool mode's worker threads; default 0 = 4 per core */
    int http_loops;             /* --http-loops; pool mode: event loops, 0 = one per core */
    pc_http_limits http_limits; /* --http-max-connections, --http-max-per-client,
                                   --http-idle-timeout, --http-header-timeout,
                                   --http-body-timeout (see http_guard.h) */
    int node_timeout_ms;        /* --node-timeout MS: longest wait on one node request (and one
                                   Mediator read as a whole); default 3000 */
    uint64_t node_max_answer;   /* --node-max-answer BYTES: larger node answers fail; default 4 MiB */
    int follow_interval_ms;     /* --follow-interval MS: how often the head block is asked; default 1000 */
} pc_config;

/* Fills *cfg from defaults, the file, the environment and argv (in that
 * order). Returns 0; 1 when --help or --version was handled (usage printed
 * to stdout: the caller exits 0); -1 on any invalid value, unknown key or
 * option, unreadable file (*err says which and where, e.g. "file:line").
 * envp-style lookups use getenv.
 * On 0 and 1 the caller frees *cfg with pc_config_free; on -1 *cfg is left
 * empty (freeing it is harmless). A repeatable key (account, dev-key) given
 * by a source replaces the list of lower sources; in the environment it is
 * a comma-separated list. Empty environment variables count as unset. argv
 * is not modified. Uses getopt_long, whose state is global: call it from
 * one thread at a time. */
int pc_config_load(pc_config *cfg, int argc, char **argv, pc_error *err);

/* Whether the long option `name` (without "--") takes a value: 1 yes, 0 a
 * flag, -1 no such option (for programs such as the paychan CLI that pass
 * paychand's options through to pc_config_load). */
int pc_config_option_takes_value(const char *name);

/* Prints the usage text with every option, its environment variable and default. */
void pc_config_usage(FILE *out);

/* Frees the strings held by *cfg. */
void pc_config_free(pc_config *cfg);

#endif
